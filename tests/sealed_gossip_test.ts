import { test } from "node:test";
import assert from "node:assert/strict";
import { encodeMessage } from "../src/core/codec.ts";
import { generateClusterKey, SEAL_OVERHEAD } from "../src/runtime/keyring.ts";
import { spawnChitchat } from "../mod.ts";
import type { NodeConfig } from "../src/runtime/node_config.ts";
import { ManualClock } from "../src/testing/manual_clock.ts";
import { MemoryNetwork } from "../src/testing/memory_network.ts";
import { SimulatedCluster } from "../src/testing/simulated_cluster.ts";

const K1 = generateClusterKey();
const K2 = generateClusterKey();
const FAST = { failureDetector: { initialIntervalMs: 1000 } };

/** A node sealed with K1 listening on 127.0.0.1:1 of a fresh memory network. */
async function sealedNode(seed: number, extra: Partial<NodeConfig> = {}) {
  const clock = new ManualClock();
  const network = new MemoryNetwork({ clock, seed });
  const node = await spawnChitchat({
    nodeId: "a",
    listenAddr: "127.0.0.1:1",
    socket: network.opener,
    clock,
    clusterKeys: [K1],
    ...extra,
  });
  return { clock, network, node };
}

test("nodes sharing a cluster key converge and replicate keys", async () => {
  const cluster = new SimulatedCluster({ seed: 31, nodeDefaults: { clusterKeys: [K1], ...FAST } });
  try {
    for (const id of ["a", "b", "c"]) await cluster.addNode(id, { initialKeyValues: { role: `r-${id}` } });
    await cluster.runUntil(() => cluster.converged() && cluster.keyEverywhere("c", "role", "r-c"), {
      maxMs: 30_000,
    });
    for (const id of cluster.nodeIds) {
      const stats = cluster.node(id).stats();
      assert.equal(stats.authFailures, 0);
      assert.equal(stats.decodeErrors, 0);
      assert.ok(stats.messagesIn.syn > 0);
    }
  } finally {
    await cluster.close();
  }
});

test("a node with keys and a node without do not talk", async () => {
  const cluster = new SimulatedCluster({ seed: 32, nodeDefaults: FAST });
  try {
    await cluster.addNode("sealed", { clusterKeys: [K1] });
    await cluster.addNode("plain");
    cluster.node("sealed").gossip(cluster.address("plain"));
    await cluster.advance(20_000);
    assert.deepEqual(cluster.liveView("sealed"), ["sealed"]);
    assert.deepEqual(cluster.liveView("plain"), ["plain"]);
    assert.equal(cluster.node("sealed").snapshot().nodes.length, 1);
    assert.equal(cluster.node("plain").snapshot().nodes.length, 1);
    const sealed = cluster.node("sealed").stats();
    assert.ok(sealed.authFailures > 0);
    assert.equal(sealed.decodeErrors, 0, "nothing of an unopened datagram is decoded");
    assert.deepEqual(sealed.messagesIn, { syn: 0, synAck: 0, ack: 0, badCluster: 0 });
    assert.ok(cluster.node("plain").stats().decodeErrors > 0, "sealed bytes do not decode as a message");
  } finally {
    await cluster.close();
  }
});

test("nodes with different keys do not talk", async () => {
  const cluster = new SimulatedCluster({ seed: 33, nodeDefaults: FAST });
  try {
    await cluster.addNode("a", { clusterKeys: [K1] });
    await cluster.addNode("b", { clusterKeys: [K2] });
    await cluster.advance(20_000);
    assert.deepEqual(cluster.liveView("a"), ["a"]);
    assert.deepEqual(cluster.liveView("b"), ["b"]);
    assert.ok(cluster.node("a").stats().authFailures > 0);
  } finally {
    await cluster.close();
  }
});

test("a plain, valid Syn sent to a sealed node is dropped undecoded", async () => {
  const { clock, network, node } = await sealedNode(34);
  const outsider = await network.open("127.0.0.1:2");
  const syn = encodeMessage({ type: "syn", clusterId: "default", digest: [], partialDigest: false });
  await outsider.send(syn, "127.0.0.1:1");
  clock.advance(1);
  await node.whenIdle();
  const stats = node.stats();
  assert.equal(stats.authFailures, 1);
  assert.equal(stats.decodeErrors, 0);
  assert.equal(stats.messagesIn.syn, 0);
  assert.equal(network.stats("127.0.0.1:2").datagramsReceived, 0, "no reply to an outsider");
  await outsider.close();
  await node.shutdown();
});

test("a rolling key rotation loses no node and no key", async () => {
  const ids = ["a", "b", "c", "d", "e"];
  const cluster = new SimulatedCluster({ seed: 35, nodeDefaults: { clusterKeys: [K1], ...FAST } });
  try {
    for (const id of ids) await cluster.addNode(id);
    await cluster.runUntil(() => cluster.converged(), { maxMs: 60_000 });
    const all = ids.join(",");
    let checks = 0;
    const written = new Map<string, string>();
    for (const [phase, keys] of [[K1, K2], [K2, K1], [K2]].entries()) {
      for (const id of ids) {
        cluster.node(id).setClusterKeys(keys);
        const value = `phase-${phase}`;
        cluster.node(id).set("rotation", value);
        written.set(id, value);
        for (let i = 0; i < 20; i++) {
          await cluster.advance(100);
          for (const viewer of ids) {
            assert.equal(cluster.liveView(viewer).join(","), all, `${viewer} lost a node in phase ${phase}`);
          }
          checks++;
        }
      }
    }
    assert.equal(checks, 3 * ids.length * 20);
    await cluster.runUntil(() => ids.every((id) => cluster.keyEverywhere(id, "rotation", written.get(id)!)), {
      maxMs: 20_000,
    });
    for (const id of ids) assert.equal(cluster.node(id).stats().authFailures, 0, `${id} refused a datagram`);
    // The old key no longer gets in.
    await cluster.addNode("stale", { clusterKeys: [K1] });
    await cluster.advance(10_000);
    assert.deepEqual(cluster.liveView("stale"), ["stale"]);
    assert.ok(!cluster.liveView("a").includes("stale"));
    assert.ok(cluster.node("a").stats().authFailures > 0);
  } finally {
    await cluster.close();
  }
});

test("sealed datagrams never exceed the configured MTU", async () => {
  const mtu = 1400;
  let largest = 0;
  const cluster = new SimulatedCluster({
    seed: 36,
    mtu,
    nodeDefaults: { clusterKeys: [K1], ...FAST },
    onDatagram: (_from, _to, bytes) => void (largest = Math.max(largest, bytes.length)),
  });
  try {
    const values: Record<string, string> = {};
    for (let i = 0; i < 150; i++) values[`key-${i}`] = "v".repeat(80 + (i % 17));
    await cluster.addNode("a", { initialKeyValues: values });
    await cluster.addNode("b");
    await cluster.addNode("c");
    await cluster.runUntil(() => cluster.converged() && cluster.keyEverywhere("a", "key-149", values["key-149"]), {
      maxMs: 60_000,
    });
    assert.ok(largest <= mtu, `largest datagram ${largest} > ${mtu}`);
    assert.ok(largest > mtu - SEAL_OVERHEAD - 100, `largest datagram ${largest}: deltas should fill the MTU`);
    assert.equal(cluster.network.totals().dropped, 0);
  } finally {
    await cluster.close();
  }
});

test("at most receiveLimits.inFlight datagrams are opened at once; the rest are dropped and counted", async () => {
  const { clock, network, node } = await sealedNode(37, { receiveLimits: { inFlight: 8, perSender: 1000 } });
  const attacker = await network.open("127.0.0.1:2");
  for (let i = 0; i < 100; i++) await attacker.send(new Uint8Array(64).fill(i), "127.0.0.1:1");
  clock.advance(1);
  assert.equal(node.idle, false);
  await node.whenIdle();
  const stats = node.stats();
  assert.equal(stats.droppedBacklog, 92);
  assert.equal(stats.authFailures, 8);
  assert.equal(stats.datagramsIn, 100);
  await attacker.close();
  await node.shutdown();
});

test("cluster keys are checked at start and when replaced", async () => {
  const clock = new ManualClock();
  const network = new MemoryNetwork({ clock, seed: 38 });
  const base = { nodeId: "a", listenAddr: "127.0.0.1:1", socket: network.opener, clock };
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ clusterKeys: [] }, /"clusterKeys": .*non-empty/],
    [{ clusterKeys: [K1, "zz"] }, /"clusterKeys": Cluster key #2 of 2 is not valid base64/],
    [{ clusterKeys: "K1" }, /"clusterKeys"/],
    [{ clusterKeys: [K1], mtu: 1200 }, /"mtu": expected at least 1253 with clusterKeys/],
    [{ receiveLimits: { perSender: 0 } }, /"receiveLimits.perSender"/],
    [{ receiveLimits: { burst: 3 } }, /"receiveLimits.burst": unknown option/],
  ];
  for (const [override, pattern] of cases) {
    await assert.rejects(spawnChitchat({ ...base, ...override } as unknown as NodeConfig), pattern);
  }
  const sealed = await spawnChitchat({ ...base, clusterKeys: [K1], mtu: 1200 + SEAL_OVERHEAD });
  assert.throws(() => sealed.setClusterKeys([K2, "short"]), /key #2 of 2/);
  assert.throws(() => sealed.setClusterKeys([]), TypeError);
  sealed.setClusterKeys([K2, K1]);
  await sealed.shutdown();
  const plain = await spawnChitchat({ ...base, listenAddr: "127.0.0.1:3" });
  assert.throws(() => plain.setClusterKeys([K1]), /started without clusterKeys/);
  await plain.shutdown();
});

test("a sealed node leaves gracefully: peers drop it within a few rounds", async () => {
  const cluster = new SimulatedCluster({ seed: 39, nodeDefaults: { clusterKeys: [K1], ...FAST } });
  try {
    for (const id of ["a", "b", "c"]) await cluster.addNode(id);
    await cluster.runUntil(() => cluster.converged(), { maxMs: 30_000 });
    await cluster.stop("c");
    const ms = await cluster.runUntil(() => cluster.liveView("a").join() === "a,b", { maxMs: 10_000 });
    assert.ok(ms <= 3_000, `took ${ms} virtual ms`);
  } finally {
    await cluster.close();
  }
});

test("a send that throws costs a sealed node that one datagram, not the later ones", async () => {
  const clock = new ManualClock();
  const network = new MemoryNetwork({ clock, seed: 40 });
  const inner = await network.open("127.0.0.1:1");
  let throws = 1;
  const socket = {
    get localAddr() {
      return inner.localAddr;
    },
    send(data: Uint8Array, to: string): Promise<void> {
      if (throws-- > 0) throw new Error("socket broke once");
      return inner.send(data, to);
    },
    listen: (handler: (data: Uint8Array, from: string) => void) => inner.listen(handler),
    close: () => inner.close(),
  };
  const errors: string[] = [];
  const logger = { debug() {}, info() {}, warn() {}, error: (msg: string) => void errors.push(msg) };
  const a = await spawnChitchat({ nodeId: "a", listenAddr: "127.0.0.1:1", socket, clock, clusterKeys: [K1], ...FAST, logger });
  const b = await spawnChitchat({
    nodeId: "b",
    listenAddr: "127.0.0.1:2",
    socket: network.opener,
    clock,
    clusterKeys: [K1],
    seeds: ["127.0.0.1:1"],
    ...FAST,
  });
  for (let i = 0; i < 100; i++) {
    clock.advance(100);
    await a.whenIdle();
    await b.whenIdle();
  }
  assert.equal(a.stats().sendErrors, 1);
  assert.equal(errors.length, 1);
  assert.match(errors[0], /^Sealing \d+ bytes for 127\.0\.0\.1:2 failed$/);
  assert.deepEqual(a.liveNodeIds().map((id) => id.nodeId).sort(), ["a", "b"]);
  await a.shutdown({ leave: false });
  await b.shutdown({ leave: false });
});
