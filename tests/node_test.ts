import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnChitchat } from "../mod.ts";
import { ManualClock } from "../src/testing/manual_clock.ts";
import { MemoryNetwork } from "../src/testing/memory_network.ts";
import { createRandom } from "../src/testing/random.ts";
import { SimulatedCluster } from "../src/testing/simulated_cluster.ts";
import type { NodeConfig } from "../src/runtime/node_config.ts";
import { stateJson } from "../examples/node/http_api.ts";
import { consoleLogger } from "../src/runtime/logger.ts";
import { recordingLogger } from "./_helpers.ts";

function setup(seed = 1): { clock: ManualClock; network: MemoryNetwork } {
  const clock = new ManualClock();
  return { clock, network: new MemoryNetwork({ clock, seed }) };
}

test("spawnChitchat() refuses a bad config with an error naming the field", async () => {
  const { clock, network } = setup();
  const base = { nodeId: "a", listenAddr: "127.0.0.1:1", socket: network.opener, clock };
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ nodeId: "" }, /"nodeId"/],
    [{ listenAddr: "localhost" }, /"listenAddr".*"localhost"/],
    [{ gossipIntervalMs: -5 }, /"gossipIntervalMs"/],
    [{ mtu: 100 }, /"mtu"/],
    [{ seeds: ["bad seed"] }, /"seeds"/],
    [{ colour: "blue" }, /"colour": unknown option/],
    [{ generationId: 1.5 }, /"generationId"/],
    [{ failureDetector: { phiThreshold: 0 } }, /"failureDetector.phiThreshold"/],
    [{ limits: { maxValueBytes: 1e9 } }, /"limits.maxValueBytes"/],
  ];
  for (const [override, pattern] of cases) {
    await assert.rejects(spawnChitchat({ ...base, ...override } as unknown as NodeConfig), pattern);
  }
});

test("spawnChitchat() refuses a wildcard listen address without an advertise address", async () => {
  const { clock, network } = setup();
  await assert.rejects(
    spawnChitchat({ nodeId: "a", listenAddr: "0.0.0.0:7000", socket: network.opener, clock }),
    /"advertiseAddr"/,
  );
  // The socket it opened was closed again: the address can be bound.
  const socket = await network.open("0.0.0.0:7000");
  await socket.close();
});

test("liveNodes() yields the current view at once and ends on abort", async () => {
  const { clock, network } = setup();
  const node = await spawnChitchat({ nodeId: "a", listenAddr: "127.0.0.1:1", socket: network.opener, clock });
  const controller = new AbortController();
  const feed = node.liveNodes({ signal: controller.signal });
  const first = await feed.next();
  assert.equal(first.done, false);
  assert.deepEqual(first.value!.map((s) => s.id.nodeId), ["a"]);
  const pending = feed.next();
  controller.abort();
  assert.equal((await pending).done, true);
  await node.shutdown();
});

test("liveNodes(), events() and keyChanges() with an aborted signal return ended feeds", async () => {
  const { clock, network } = setup();
  const node = await spawnChitchat({ nodeId: "a", listenAddr: "127.0.0.1:1", socket: network.opener, clock });
  const signal = AbortSignal.abort();
  const feeds = [node.liveNodes({ signal }), node.events({ signal }), node.keyChanges("x", { signal })];
  for (const feed of feeds) assert.deepEqual(await feed.next(), { done: true, value: undefined });
  const seen: unknown[] = [];
  for await (const item of node.events({ signal })) seen.push(item);
  assert.deepEqual(seen, []);
  // Nothing reaches them later either: they are not subscribed.
  node.set("x1", "1");
  for (const feed of feeds) assert.deepEqual(await feed.next(), { done: true, value: undefined });
  await node.shutdown();
});

test("every feed ends when the node shuts down", async () => {
  const { clock, network } = setup();
  const node = await spawnChitchat({ nodeId: "a", listenAddr: "127.0.0.1:1", socket: network.opener, clock });
  const live = node.liveNodes();
  await live.next();
  const pendings = [live.next(), node.events().next(), node.keyChanges("x").next()];
  await node.shutdown();
  for (const result of await Promise.all(pendings)) assert.equal(result.done, true);
  assert.equal((await node.liveNodes().next()).done, true, "a feed opened after shutdown is done");
});

test("a node known but never yet seen live is joining, not dead, until it turns live", async () => {
  const { clock, network } = setup();
  const a = await spawnChitchat({ nodeId: "a", listenAddr: "127.0.0.1:1", socket: network.opener, clock });
  const events = a.events();
  const b = await spawnChitchat({
    nodeId: "b",
    listenAddr: "127.0.0.1:2",
    seeds: ["127.0.0.1:1"],
    socket: network.opener,
    clock,
  });
  const seen: string[] = [];
  for (let step = 0; step < 600; step++) {
    clock.advance(100);
    const fromSnapshot = a.snapshot().nodes.find((node) => node.id.nodeId === "b")?.status;
    if (fromSnapshot === undefined) continue;
    assert.equal(a.status(b.id), fromSnapshot, "status() agrees with snapshot()");
    assert.equal(stateJson(a).nodes.find((node) => node.nodeId === "b")?.status, fromSnapshot, "so does /api/state");
    seen.push(fromSnapshot);
    if (fromSnapshot === "live") break;
    assert.equal(fromSnapshot, "joining");
    assert.deepEqual(a.deadNodeIds(), []);
  }
  assert.equal(seen[0], "joining", `b is joining first: ${seen.join(",")}`);
  assert.equal(seen.at(-1), "live", `b turns live: ${seen.join(",")}`);
  const kinds: string[] = [];
  while (events.buffered > 0) {
    const { value } = await events.next();
    if (value !== undefined && value.type !== "keyChanged") kinds.push(value.type);
  }
  events.close();
  assert.deepEqual(kinds, ["joined"]);
  await b.shutdown({ leave: false });
  await a.shutdown({ leave: false });
});

test("a slow liveNodes() reader holds only the latest view", async () => {
  const { clock, network } = setup();
  const node = await spawnChitchat({ nodeId: "a", listenAddr: "127.0.0.1:1", socket: network.opener, clock });
  const feed = node.liveNodes();
  await feed.next();
  for (let i = 0; i < 500; i++) {
    node.set("counter", String(i));
    clock.advance(1000);
  }
  const latest = await feed.next();
  assert.equal(latest.value![0].get("counter"), "499");
  let settled = false;
  void feed.next().then(() => (settled = true));
  await Promise.resolve();
  await Promise.resolve();
  assert.equal(settled, false, "no backlog of older views remains");
  await node.shutdown();
});

test("events() reports joins and key changes; keyChanges() filters by prefix", async () => {
  const cluster = new SimulatedCluster({ seed: 11 });
  try {
    const a = await cluster.addNode("a");
    const events = a.events();
    const shards = a.keyChanges("shard/");
    await cluster.addNode("b");
    await cluster.runUntil(() => cluster.converged(), { maxMs: 60_000 });
    cluster.node("b").set("shard/7", "leader");
    cluster.node("b").set("role", "worker");
    await cluster.runUntil(() => cluster.keyEverywhere("b", "role", "worker"), { maxMs: 10_000 });
    events.close();
    shards.close();
    const seen: string[] = [];
    for await (const event of events) {
      if (event.type === "keyChanged") seen.push(`${event.node.nodeId}:${event.key}=${event.value}`);
      else if (event.type !== "overflow") seen.push(`${event.type}:${event.node.nodeId}`);
    }
    // The feed was closed before reading: a closed feed yields nothing more.
    assert.deepEqual(seen, []);
  } finally {
    await cluster.close();
  }
});

test("events() carries membership and key events in order while open", async () => {
  const cluster = new SimulatedCluster({ seed: 12 });
  try {
    const a = await cluster.addNode("a");
    const seen: string[] = [];
    const shardKeys: string[] = [];
    const events = a.events();
    const shards = a.keyChanges("shard/");
    const readers = [
      (async () => {
        for await (const event of events) {
          if (event.type === "keyChanged") seen.push(`${event.node.nodeId}:${event.key}=${event.value}`);
          else if (event.type !== "overflow") seen.push(`${event.type}:${event.node.nodeId}`);
        }
      })(),
      (async () => {
        for await (const change of shards) if ("key" in change) shardKeys.push(change.key);
      })(),
    ];
    await cluster.addNode("b");
    await cluster.runUntil(() => cluster.converged(), { maxMs: 60_000 });
    cluster.node("b").set("shard/7", "leader");
    cluster.node("b").set("role", "worker");
    await cluster.runUntil(() => cluster.keyEverywhere("b", "role", "worker"), { maxMs: 10_000 });
    await cluster.kill("b");
    await cluster.runUntil(() => seen.includes("died:b"), { maxMs: 120_000, stepMs: 1000 });
    events.close();
    shards.close();
    await Promise.all(readers);
    assert.ok(seen.includes("joined:b"));
    assert.ok(seen.includes("b:shard/7=leader"));
    assert.ok(seen.includes("b:role=worker"));
    assert.ok(seen.indexOf("joined:b") < seen.indexOf("died:b"));
    assert.deepEqual(shardKeys, ["shard/7"]);
  } finally {
    await cluster.close();
  }
});

test("hostile datagrams are counted and dropped while gossip goes on", async () => {
  const cluster = new SimulatedCluster({ seed: 13 });
  try {
    await cluster.addNode("a");
    await cluster.addNode("b");
    const attacker = await cluster.network.open("127.0.0.1:9999");
    const random = createRandom(99);
    for (let i = 0; i < 500; i++) {
      const junk = new Uint8Array(1 + Math.floor(random() * 200));
      for (let j = 0; j < junk.length; j++) junk[j] = Math.floor(random() * 256);
      await attacker.send(junk, cluster.address("a"));
    }
    await cluster.runUntil(() => cluster.converged(), { maxMs: 60_000 });
    const stats = cluster.node("a").stats();
    // Past 256 datagrams from one sender in an interval, the receive budget drops them undecoded.
    assert.ok(stats.decodeErrors + stats.droppedOverBudget >= 450, `decode errors: ${stats.decodeErrors}`);
    assert.ok(stats.decodeErrors >= 200 && stats.droppedOverBudget > 0);
    assert.ok(stats.messagesIn.syn + stats.messagesIn.synAck + stats.messagesIn.ack > 0);
    await attacker.close();
  } finally {
    await cluster.close();
  }
});

test("nodes of different clusters do not merge and count BadCluster replies", async () => {
  const cluster = new SimulatedCluster({ seed: 14 });
  const lines = await recordConsole(async () => {
    try {
      await cluster.addNode("a", { clusterId: "blue" });
      await cluster.addNode("b", { clusterId: "green" });
      await cluster.advance(30_000);
      assert.deepEqual(cluster.liveView("a"), ["a"]);
      assert.deepEqual(cluster.liveView("b"), ["b"]);
      assert.ok(cluster.node("b").stats().messagesIn.badCluster > 10);
      assert.equal(cluster.node("a").snapshot().nodes.length, 1);
    } finally {
      await cluster.close();
    }
  });
  // The default console logger says it, once a minute rather than every round.
  assert.deepEqual(lines.warn.sort(), [
    '[chitchat a] Ignoring a Syn for cluster "green"; this node is in "blue"',
    '[chitchat b] A peer rejected our Syn: it is not in cluster "green"',
  ]);
});

test("gossip() reaches a peer that is not a seed", async () => {
  const cluster = new SimulatedCluster({ seed: 15 });
  try {
    await cluster.addNode("a", { seedIds: [] });
    await cluster.addNode("b", { seedIds: [] });
    await cluster.advance(5_000);
    assert.equal(cluster.node("a").snapshot().nodes.length, 1);
    cluster.node("a").gossip(cluster.address("b"));
    await cluster.advance(100);
    assert.equal(cluster.node("a").snapshot().nodes.length, 2);
    assert.equal(cluster.node("b").snapshot().nodes.length, 2);
  } finally {
    await cluster.close();
  }
});

test("writes to reserved keys or after shutdown are refused", async () => {
  const { clock, network } = setup();
  const logger = recordingLogger();
  const node = await spawnChitchat({ nodeId: "a", listenAddr: "127.0.0.1:1", socket: network.opener, clock, logger });
  assert.throws(() => node.set("__chitchat.left", "1"), /reserved prefix/);
  assert.equal(node.delete("missing"), false);
  assert.match(logger.warnings.join("\n"), /"missing" does not exist/);
  await node.shutdown();
  assert.throws(() => node.set("k", "v"), /shut down/);
  // The socket is closed: the address is free again.
  const again = await network.open("127.0.0.1:1");
  await again.close();
});

test("shutdown() is idempotent", async () => {
  const { clock, network } = setup();
  const node = await spawnChitchat({ nodeId: "a", listenAddr: "127.0.0.1:1", socket: network.opener, clock });
  await Promise.all([node.shutdown(), node.shutdown()]);
  await node.shutdown();
  assert.equal(node.stopped, true);
});

/** Replaces console.debug/info/warn/error with recorders while `body` runs. */
async function recordConsole(body: () => Promise<void>): Promise<Record<"debug" | "info" | "warn" | "error", string[]>> {
  const lines = { debug: [] as string[], info: [] as string[], warn: [] as string[], error: [] as string[] };
  const saved = { debug: console.debug, info: console.info, warn: console.warn, error: console.error };
  for (const level of ["debug", "info", "warn", "error"] as const) {
    console[level] = (...args: unknown[]) => void lines[level].push(args.map(String).join(" "));
  }
  try {
    await body();
  } finally {
    Object.assign(console, saved);
  }
  return lines;
}

/** Lets pending callbacks (a rejected DNS lookup) run once; not a wait for correctness. */
function turn(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

const unresolvable: NodeConfig["resolver"] = (host) => Promise.reject(new Error(`getaddrinfo ENOTFOUND ${host}`));

test("without a logger, warnings and errors reach the console and nothing below them does", async () => {
  const { clock, network } = setup();
  const lines = await recordConsole(async () => {
    const node = await spawnChitchat({
      nodeId: "a",
      listenAddr: "127.0.0.1:1",
      seeds: ["seed.invalid:7000"],
      resolver: unresolvable,
      socket: network.opener,
      clock,
    });
    await turn();
    const junk = await network.open("127.0.0.1:9");
    await junk.send(new Uint8Array([1, 2, 3]), "127.0.0.1:1"); // dropped with a debug line
    clock.advance(1000);
    await junk.close();
    await node.shutdown();
  });
  assert.equal(lines.warn.length, 1, lines.warn.join("\n"));
  assert.match(lines.warn[0], /^\[chitchat a\] Seed seed\.invalid:7000 did not resolve/);
  assert.deepEqual([lines.debug, lines.info, lines.error], [[], [], []]);
});

test("a given logger replaces the console one", async () => {
  const { clock, network } = setup();
  const logger = recordingLogger();
  const lines = await recordConsole(async () => {
    const node = await spawnChitchat({
      nodeId: "a",
      listenAddr: "127.0.0.1:1",
      seeds: ["seed.invalid:7000"],
      resolver: unresolvable,
      socket: network.opener,
      clock,
      logger,
    });
    await turn();
    node.delete("missing");
    await node.shutdown();
  });
  assert.equal(logger.warnings.length, 2, logger.warnings.join("\n"));
  assert.deepEqual(lines, { debug: [], info: [], warn: [], error: [] });
});

test("consoleLogger() prints from its level up and refuses an unknown level", async () => {
  const lines = await recordConsole(() => {
    const logger = consoleLogger({ level: "info", prefix: "[svc]" });
    logger.debug("d");
    logger.info("i");
    logger.error("e", 42);
    consoleLogger().info("dropped");
    return Promise.resolve();
  });
  assert.deepEqual(lines, { debug: [], info: ["[svc] i"], warn: [], error: ["[svc] e 42"] });
  assert.throws(() => consoleLogger({ level: "loud" as "warn" }), /Invalid log level "loud"/);
});

const DUPLICATE = /Node id "a" is claimed by/;

test("two live nodes with one nodeId at two addresses are warned about once per pair", async () => {
  const { clock, network } = setup();
  const loggers = { a1: recordingLogger(), b: recordingLogger(), a3: recordingLogger() };
  const base = { socket: network.opener, clock, generationId: 7, seeds: ["127.0.0.1:2"] };
  const nodes = [
    await spawnChitchat({ ...base, nodeId: "a", listenAddr: "127.0.0.1:1", logger: loggers.a1 }),
    await spawnChitchat({ ...base, nodeId: "b", listenAddr: "127.0.0.1:2", logger: loggers.b }),
    await spawnChitchat({ ...base, nodeId: "a", listenAddr: "127.0.0.1:3", logger: loggers.a3 }),
  ];
  for (let i = 0; i < 1200; i++) clock.advance(100);
  for (const [name, logger] of Object.entries(loggers)) {
    const duplicates = logger.warnings.filter((msg) => DUPLICATE.test(msg));
    assert.equal(duplicates.length, 1, `${name}: ${logger.warnings.join("\n")}`);
    assert.match(duplicates[0], /127\.0\.0\.1:1\b.*127\.0\.0\.1:3\b|127\.0\.0\.1:3\b.*127\.0\.0\.1:1\b/);
    assert.match(duplicates[0], /give each process its own nodeId/);
  }
  assert.match(loggers.a1.warnings.find((msg) => DUPLICATE.test(msg))!, /127\.0\.0\.1:1 \(this node\)/);
  for (const node of nodes) await node.shutdown({ leave: false });
});

test("a node restarted as a new generation is not taken for a duplicate id", async () => {
  const { clock, network } = setup();
  const logger = recordingLogger();
  const base = { socket: network.opener, clock, logger: recordingLogger() };
  const b = await spawnChitchat({ ...base, nodeId: "b", listenAddr: "127.0.0.1:2", logger });
  const first = await spawnChitchat({ ...base, nodeId: "a", generationId: 1, listenAddr: "127.0.0.1:1", seeds: ["127.0.0.1:2"] });
  for (let i = 0; i < 300; i++) clock.advance(100);
  assert.equal(b.status(first.id), "live");
  // A crash, then a restart at once, on another address (a new ephemeral port) and on the same one.
  await first.shutdown({ leave: false });
  const moved = await spawnChitchat({ ...base, nodeId: "a", generationId: 2, listenAddr: "127.0.0.1:3", seeds: ["127.0.0.1:2"] });
  for (let i = 0; i < 1200; i++) clock.advance(100);
  assert.equal(b.status(first.id), "scheduled", "the old generation is over once the new one is known");
  assert.equal(b.status(moved.id), "live");
  await moved.shutdown({ leave: false });
  const again = await spawnChitchat({ ...base, nodeId: "a", generationId: 3, listenAddr: "127.0.0.1:3", seeds: ["127.0.0.1:2"] });
  for (let i = 0; i < 1200; i++) clock.advance(100);
  assert.equal(b.status(again.id), "live");
  assert.deepEqual(logger.warnings.filter((msg) => DUPLICATE.test(msg)), []);
  await again.shutdown({ leave: false });
  await b.shutdown({ leave: false });
});
