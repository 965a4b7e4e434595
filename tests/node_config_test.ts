import { test } from "node:test";
import assert from "node:assert/strict";
import { generateClusterKey } from "../src/runtime/keyring.ts";
import { spawnChitchat } from "../mod.ts";
import { type NodeConfig, validateNodeConfig } from "../src/runtime/node_config.ts";
import { ManualClock } from "../src/testing/manual_clock.ts";
import { MemoryNetwork } from "../src/testing/memory_network.ts";

function setup(): { clock: ManualClock; network: MemoryNetwork } {
  const clock = new ManualClock();
  return { clock, network: new MemoryNetwork({ clock, seed: 1 }) };
}

/** Asserts spawning a node with `config` rejects with a TypeError whose message matches `pattern`. */
async function assertSpawnRefused(config: Record<string, unknown>, pattern: RegExp): Promise<void> {
  const { clock, network } = setup();
  const full = { nodeId: "a", listenAddr: "127.0.0.1:1", socket: network.opener, clock, ...config };
  await assert.rejects(spawnChitchat(full as unknown as NodeConfig), (error: unknown) => {
    assert.ok(error instanceof TypeError, `expected a TypeError, got ${String(error)}`);
    assert.match(error.message, pattern);
    return true;
  });
}

test("spawnChitchat() refuses an unknown failure detector field, naming its path and the near miss", async () => {
  await assertSpawnRefused(
    { failureDetector: { phiTreshold: 5 } },
    /^Invalid config "failureDetector\.phiTreshold": unknown option; did you mean "phiThreshold"\? \(got 5\)$/,
  );
});

test("spawnChitchat() refuses an unknown limit, naming its path and the near miss", async () => {
  await assertSpawnRefused(
    { limits: { maxValueByte: 10 } },
    /"limits\.maxValueByte": unknown option; did you mean "maxValueBytes"\?/,
  );
});

test("validateNodeConfig() refuses nested typos itself, before spawnChitchat() opens a socket", () => {
  const base = { nodeId: "a", listenAddr: "127.0.0.1:1" };
  assert.throws(
    () =>
      validateNodeConfig({ ...base, failureDetector: { phiTreshold: 5 } } as unknown as NodeConfig),
    /"failureDetector\.phiTreshold": unknown option; did you mean "phiThreshold"\?/,
  );
  assert.throws(
    () => validateNodeConfig({ ...base, limits: "small" } as unknown as NodeConfig),
    /"limits": expected an object/,
  );
});

test("spawnChitchat() refuses a nested setting that is not an object", async () => {
  for (const bad of ["fast", 5, null, [1], true]) {
    await assertSpawnRefused({ failureDetector: bad }, /"failureDetector": expected an object/);
    await assertSpawnRefused({ limits: bad }, /"limits": expected an object/);
    await assertSpawnRefused({ receiveLimits: bad }, /"receiveLimits": expected an object/);
  }
});

test("validateNodeConfig() hints at the known name of a mistyped top-level or receive-limit field", () => {
  const base = { nodeId: "a", listenAddr: "127.0.0.1:1" };
  assert.throws(
    () => validateNodeConfig({ ...base, seed: ["127.0.0.1:2"] } as unknown as NodeConfig),
    /"seed": unknown option; did you mean "seeds"\?/,
  );
  assert.throws(
    () => validateNodeConfig({ ...base, receiveLimits: { perSendr: 3 } } as unknown as NodeConfig),
    /"receiveLimits\.perSendr": unknown option; did you mean "perSender"\?/,
  );
  // A far miss gets no guess.
  assert.throws(
    () => validateNodeConfig({ ...base, colour: "blue" } as unknown as NodeConfig),
    (error: unknown) =>
      error instanceof TypeError && /"colour": unknown option \(got "blue"\)$/.test(error.message),
  );
});

test("spawnChitchat() refuses reserved keys in initialKeyValues, naming the key", async () => {
  await assertSpawnRefused(
    { initialKeyValues: { "__chitchat.left": "1" } },
    /"initialKeyValues".*"__chitchat\.left".*reserved prefix "__chitchat\."/,
  );
  await assertSpawnRefused(
    { initialKeyValues: [["role", "api"], ["__chitchat.anything", "x"]] },
    /"initialKeyValues".*"__chitchat\.anything"/,
  );
});

test("a node with a reserved-looking but allowed key starts live", async () => {
  const { clock, network } = setup();
  await using node = await spawnChitchat({
    nodeId: "a",
    listenAddr: "127.0.0.1:1",
    socket: network.opener,
    clock,
    initialKeyValues: { "__chitchat": "1", "chitchat.left": "1" },
  });
  assert.equal(node.get("chitchat.left"), "1");
  assert.deepEqual(node.liveNodeIds().map((id) => id.nodeId), ["a"]);
});

test("validateNodeConfig() accepts zoned IPv6 listen, advertise and seed addresses", () => {
  const settings = validateNodeConfig({
    nodeId: "a",
    listenAddr: "[fe80::1%eth0]:7000",
    advertiseAddr: { hostname: "FE80::1%eth0", port: 7000 },
    seeds: ["[fe80::2%eth0]:7000"],
  });
  assert.equal(settings.listenAddr, "[fe80::1%eth0]:7000");
  assert.equal(settings.advertiseAddr, "[fe80::1%eth0]:7000");
});

test("two nodes on zoned IPv6 addresses start and see each other", async () => {
  const { clock, network } = setup();
  const common = { socket: network.opener, clock, gossipIntervalMs: 100 };
  const a = await spawnChitchat({ ...common, nodeId: "a", listenAddr: "[fe80::1%eth0]:7000" });
  const b = await spawnChitchat({
    ...common,
    nodeId: "b",
    listenAddr: "[fe80::2%eth0]:7000",
    advertiseAddr: "[fe80::2%eth0]:7000",
    seeds: ["[fe80::1%eth0]:7000"],
  });
  assert.equal(a.id.gossipAdvertiseAddr, "[fe80::1%eth0]:7000");
  for (let i = 0; i < 20; i++) clock.advance(100);
  assert.deepEqual(a.liveNodeIds().map((id) => id.gossipAdvertiseAddr).sort(), [
    "[fe80::1%eth0]:7000",
    "[fe80::2%eth0]:7000",
  ]);
  assert.equal(b.liveNodeIds().length, 2);
  // The clock stands still: a graceful leave would wait for it.
  await Promise.all([a.shutdown({ leave: false }), b.shutdown({ leave: false })]);
});

test("a bad advertise address is refused naming advertiseAddr, before any socket opens", async () => {
  let opened = 0;
  const config = {
    nodeId: "a",
    listenAddr: "127.0.0.1:1",
    socket: () => {
      opened++;
      throw new Error("no socket expected");
    },
  };
  for (const advertiseAddr of ["myhost:1", "127.0.0.1:0", { hostname: "myhost", port: 1 }]) {
    await assert.rejects(
      spawnChitchat({ ...config, advertiseAddr }),
      (error: unknown) => {
        assert.ok(error instanceof TypeError);
        assert.match(
          error.message,
          /^Invalid config "advertiseAddr": expected an IP address with a non-zero port/,
        );
        assert.doesNotMatch(error.message, /gossipAdvertiseAddr/);
        return true;
      },
    );
  }
  assert.equal(opened, 0);
});

test("config errors name the field as the user wrote it, with the value given", async () => {
  await assertSpawnRefused({ nodeId: "n".repeat(1025) }, /^Invalid config "nodeId": /);
  await assertSpawnRefused({ nodeId: 7 }, /^Invalid config "nodeId": /);
  await assertSpawnRefused({ generationId: -1 }, /^Invalid config "generationId": /);
  const clusterKeys = [generateClusterKey()];
  // With cluster keys the core gets a smaller MTU; the error still shows the one given.
  await assertSpawnRefused(
    { clusterKeys, mtu: 1500.5 },
    /^Invalid config "mtu": .*\(got 1500\.5\)$/,
  );
  await assertSpawnRefused({ clusterKeys, mtu: 70_000 }, /^Invalid config "mtu": .*\(got 70000\)$/);
  await assertSpawnRefused(
    { clusterKeys, mtu: "1500" },
    /^Invalid config "mtu": .*\(got "1500"\)$/,
  );
  await assertSpawnRefused({ clusterId: "" }, /^Invalid config "clusterId": /);
});
