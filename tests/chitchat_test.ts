import { test } from "node:test";
import assert from "node:assert/strict";
import { type Chitchat, LEFT_KEY } from "../src/core/chitchat.ts";
import { type ChitchatId, chitchatIdFingerprint } from "../src/core/chitchat_id.ts";
import { decodeMessage, encodeMessage } from "../src/core/codec.ts";
import type {
  AckMessage,
  Message,
  NodeDelta,
  SynAckMessage,
  SynMessage,
} from "../src/core/messages.ts";
import {
  allEqual,
  makeId,
  createNode,
  gossipRound,
  gossipRounds,
  testCluster,
  handshake,
  knowledge,
  recordingLogger,
  storedEntries,
  answer,
  synOf,
  recordEvents,
  recordKeyChanges,
  recordLiveViews,
  recordMembership,
  soloRound,
} from "./_helpers.ts";

const MTU = 65_507;
const ROUND_MS = 1000;
/** Fast failure detection for scenarios: the prior matches the round length. */
const FAST_FD = { initialIntervalMs: ROUND_MS, deadNodeGracePeriodMs: 60_000 };

/** True when `syn` lists `id`, by id or by fingerprint. */
function lists(syn: SynMessage, id: ChitchatId): boolean {
  const fp = chitchatIdFingerprint(id);
  return syn.digest.some((e) => e.id.nodeId === id.nodeId) || (syn.compactDigest ?? []).some((e) => e.fingerprint === fp);
}

function ids(list: readonly { id: ChitchatId }[] | readonly ChitchatId[]): string[] {
  return list.map((x) => ("id" in x ? x.id : x).nodeId).sort();
}

function liveIds(node: Chitchat): string[] {
  return ids(node.liveNodes());
}

test("Chitchat.handleMessage() exchanges what each side lacks in one Syn, SynAck and Ack", () => {
  const a = createNode("a", 1, { initialKeyValues: { role: "indexer" } });
  const b = createNode("b", 2, { initialKeyValues: { role: "searcher" } });
  const seen: string[] = [];
  handshake(a, b, 0, { mtu: MTU, onMessage: (m) => seen.push(m.type) });
  assert.deepEqual(seen, ["syn", "synAck", "ack"]);
  assert.equal(a.nodeState(b.id)?.get("role"), "searcher");
  assert.equal(b.nodeState(a.id)?.get("role"), "indexer");
  assert.deepEqual(knowledge(a), knowledge(b));
});

test("Chitchat.handleMessage() returns nothing for an Ack and for a BadCluster", () => {
  const a = createNode("a", 1);
  assert.equal(answer(a, { type: "ack", delta: [] }, 0), undefined);
  assert.equal(answer(a, { type: "badCluster" }, 0), undefined);
});

test("Chitchat.handleMessage() answers a Syn of another cluster with BadCluster and applies nothing", () => {
  const logger = recordingLogger();
  const a = createNode("a", 1, { logger });
  const stranger = createNode("x", 2, { clusterId: "other", initialKeyValues: { k: "v" } });
  const strangerLogger = recordingLogger();
  const b = createNode("b", 3, { clusterId: "other", logger: strangerLogger });
  answer(b, synOf(stranger), 0); // make the Syn carry two nodes
  const reply = answer(a, decodeMessage(encodeMessage(synOf(b))), 0);
  assert.deepEqual(reply, { type: "badCluster" });
  assert.equal(a.nodeCount, 1);
  assert.equal(a.nodeState(b.id), undefined);
  assert.equal(logger.warnings.length, 1);
  assert.match(logger.warnings[0], /other/);
  assert.equal(answer(b, decodeMessage(encodeMessage(reply!)), 0), undefined);
  assert.equal(strangerLogger.warnings.length, 1);
  assert.equal(b.nodeCount, 2);
});

test("Chitchat.handleMessage() never takes this node's own state from gossip", () => {
  const a = createNode("a", 1, { initialKeyValues: { k: "mine" } });
  const forged: NodeDelta = {
    id: a.id,
    fromVersionExcluded: 0,
    lastGcVersion: 0,
    maxVersion: 50,
    keyValues: [{ key: "k", value: "forged", version: 50, status: "set" }],
  };
  answer(a, decodeMessage(encodeMessage({ type: "ack", delta: [forged] })), 0);
  answer(a, {
    type: "syn",
    clusterId: "test",
    digest: [{ id: a.id, heartbeat: 999, lastGcVersion: 0, maxVersion: 50 }],
  }, 0);
  assert.equal(a.self.get("k"), "mine");
  assert.equal(a.self.maxVersion, 1);
  // 1 at start, one more per handled message (as in Rust); never the forged 999.
  assert.equal(a.self.heartbeat, 3);
});

test("Chitchat.handleMessage() makes two nodes equal and live to each other within a few rounds", () => {
  const nodes = testCluster(2, { failureDetector: FAST_FD });
  nodes[0].self.set("a", "1");
  nodes[1].self.set("b", "2");
  gossipRounds(nodes, 0, 4);
  assert.ok(allEqual(nodes));
  for (const node of nodes) assert.deepEqual(liveIds(node), ["n0", "n1"]);
});

test("Chitchat.handleMessage() makes many nodes equal when they start from a single seed", () => {
  const n = 24;
  const nodes = testCluster(n, { failureDetector: FAST_FD });
  nodes.forEach((node, i) => node.self.set("index", String(i)));
  let now = 0;
  let count = 0;
  while (!(allEqual(nodes) && nodes.every((node) => node.liveNodes().length === n))) {
    now = gossipRounds(nodes, now, 1, { mtu: MTU, checkMonotonic: true });
    count++;
    assert.ok(count <= 20, `not converged after ${count} rounds`);
  }
  for (const node of nodes) {
    for (let i = 0; i < n; i++) assert.equal(node.nodeState(nodes[i].id)?.get("index"), String(i));
  }
  // A later change reaches everyone within a few rounds (gossip spreads in O(log n)).
  nodes[17].self.set("shard", "7");
  let spread = 0;
  while (!nodes.every((node) => node.nodeState(nodes[17].id)?.get("shard") === "7")) {
    now = gossipRounds(nodes, now, 1);
    spread++;
    assert.ok(spread <= 10, `not spread after ${spread} rounds`);
  }
});

test("Chitchat.handleMessage() completes a delta truncated by the MTU in later rounds", () => {
  const mtu = 1200;
  const a = createNode("a", 1, { mtu });
  const b = createNode("b", 2, { mtu });
  for (let i = 0; i < 150; i++) {
    a.self.set(`key-${String(i).padStart(3, "0")}`, "v".repeat(80 + (i % 40)));
  }
  let largest = 0;
  let truncated = 0;
  const watch = (m: Message) => {
    largest = Math.max(largest, encodeMessage(m).length);
    if (m.type === "synAck" || m.type === "ack") {
      for (const d of m.delta) if (d.id.nodeId === "a" && d.maxVersion < 150) truncated++;
    }
  };
  let count = 0;
  while (b.nodeState(a.id)?.maxVersion !== 150) {
    handshake(b, a, count * ROUND_MS, { mtu, onMessage: watch, checkMonotonic: true });
    count++;
    assert.ok(count < 60);
  }
  assert.ok(largest <= mtu && largest > mtu / 2, `largest datagram ${largest}`);
  assert.ok(truncated >= 10, `${truncated} truncated deltas`);
  assert.ok(count >= 12, `completed in ${count} handshakes`);
  assert.deepEqual(storedEntries(b.nodeState(a.id)!), storedEntries(a.self));
});

test("Chitchat.handleTimeout() collects replicated, hidden tombstones after the grace period", () => {
  const grace = 10_000;
  const nodes = testCluster(2, { failureDetector: FAST_FD, tombstoneGracePeriodMs: grace });
  const [a, b] = nodes;
  a.self.set("gone", "soon");
  a.self.set("kept", "yes");
  let now = gossipRounds(nodes, 0, 3);
  assert.equal(b.nodeState(a.id)?.get("gone"), "soon");
  a.self.delete("gone", now);
  now = gossipRounds(nodes, now, 2);
  const replica = b.nodeState(a.id)!;
  assert.equal(replica.get("gone"), undefined);
  assert.equal(replica.getVersioned("gone")?.status, "deleted");
  assert.deepEqual([...replica.entries()], [["kept", "yes"]]);
  assert.equal(replica.keyCount, 1);
  assert.equal(replica.lastGcVersion, 0);
  now = gossipRounds(nodes, now, grace / ROUND_MS + 2);
  for (const state of [a.self, b.nodeState(a.id)!]) {
    assert.equal(state.getVersioned("gone"), undefined);
    assert.equal(state.lastGcVersion, 3);
    assert.equal(state.maxVersion, 3);
  }
  assert.deepEqual(liveIds(a), ["n0", "n1"]);
});

test("Chitchat.handleMessage() resets a node away longer than the grace period, with a catchUp event", () => {
  const grace = 10_000;
  const options = { failureDetector: FAST_FD, tombstoneGracePeriodMs: grace };
  const a = createNode("a", 1, options);
  const b = createNode("b", 2, options);
  const events = recordEvents(b);
  const caughtUp = { get ids() { return events.flatMap((e) => e.type === "catchUp" ? [e.node] : []); } };
  const nodes = [a, b];
  for (let i = 0; i < 5; i++) a.self.set(`k${i}`, "old");
  let now = gossipRounds(nodes, 0, 3);
  assert.equal(b.nodeState(a.id)?.maxVersion, 5);
  // b goes away; a deletes keys and, after the grace period, collects the tombstones.
  a.self.delete("k1", now);
  a.self.delete("k2", now);
  a.self.set("k3", "new");
  now = gossipRounds(nodes, now, grace / ROUND_MS + 2, { mtu: MTU, active: (node) => node === a });
  assert.equal(a.self.lastGcVersion, 7);
  let resetFrom: number | undefined;
  const watch = (m: Message) => {
    if (m.type === "synAck") {
      resetFrom = m.delta.find((d) => d.id.nodeId === "a")?.fromVersionExcluded;
    }
  };
  handshake(b, a, now, { mtu: MTU, onMessage: watch, checkMonotonic: true });
  assert.equal(resetFrom, 0);
  assert.deepEqual(caughtUp.ids, [a.id]);
  const replica = b.nodeState(a.id)!;
  assert.deepEqual([replica.lastGcVersion, replica.maxVersion], [7, 8]);
  assert.deepEqual(storedEntries(replica), storedEntries(a.self));
  assert.equal(replica.get("k1"), undefined);
  assert.equal(replica.get("k3"), "new");
  gossipRounds(nodes, now, 3);
  assert.deepEqual(caughtUp.ids, [a.id], "no further reset once caught up");
  assert.ok(allEqual(nodes));
});

test("Chitchat.handleTimeout() reaps TTL keys that stayed visible everywhere until then", () => {
  const grace = 8000;
  const nodes = testCluster(2, { failureDetector: FAST_FD, tombstoneGracePeriodMs: grace });
  const [a, b] = nodes;
  const changes = recordKeyChanges(b);
  a.self.set("lease", "l1");
  a.self.set("plain", "p");
  let now = gossipRounds(nodes, 0, 2);
  a.self.setWithTtl("session", "s1", now);
  a.self.deleteAfterTtl("lease", now);
  const start = now;
  now = gossipRounds(nodes, now, 2);
  assert.equal(b.nodeState(a.id)?.get("session"), "s1");
  assert.equal(b.nodeState(a.id)?.get("lease"), "l1");
  assert.equal(b.nodeState(a.id)?.getVersioned("lease")?.status, "deleteAfterTtl");
  while (now < start + grace - ROUND_MS) {
    now = gossipRounds(nodes, now, 1);
    assert.equal(a.self.get("session"), "s1");
    assert.equal(b.nodeState(a.id)?.get("lease"), "l1");
  }
  now = gossipRounds(nodes, now, 4);
  for (const state of [a.self, b.nodeState(a.id)!]) {
    assert.equal(state.get("session"), undefined);
    assert.equal(state.get("lease"), undefined);
    assert.equal(state.get("plain"), "p");
    assert.equal(state.lastGcVersion, 4);
  }
  const reaped = changes.filter((c) => c.deleted).map((c) => c.key).sort();
  assert.deepEqual(reaped, ["lease", "session"]);
});

test("Chitchat.handleMessage() spreads heartbeats without any key change, through a third node", () => {
  const options = { failureDetector: FAST_FD };
  const a = createNode("a", 1, options);
  const b = createNode("b", 2, options);
  const c = createNode("c", 3, options);
  let now = 0;
  const round = () => {
    now += ROUND_MS;
    // Each round (heartbeat, liveness) alone; then only these two handshakes.
    for (const node of [a, b, c]) soloRound(node, now);
    handshake(a, b, now, { mtu: MTU });
    handshake(c, b, now, { mtu: MTU });
  };
  // a's heartbeat also rises with each message it handles, so c (hearing of
  // a through b only) may be a message or two behind.
  const close = () => {
    const seen = c.nodeState(a.id)!.heartbeat;
    return seen <= a.self.heartbeat && seen >= a.self.heartbeat - 2;
  };
  round();
  // The first heartbeat seen is not an increase.
  assert.ok(close());
  assert.equal(c.phi(a.id, now), undefined);
  assert.equal(c.status(a.id), "joining");
  const version = a.self.maxVersion;
  for (let i = 0; i < 3; i++) round();
  assert.equal(c.status(a.id), "live");
  assert.ok(close());
  assert.equal(c.nodeState(a.id)?.maxVersion, version);
  assert.ok(c.phi(a.id, now)! < 1);
  assert.deepEqual(liveIds(c), ["a", "b", "c"]);
});

test("Chitchat.phi() of a silent node rises until it dies, and heartbeats revive it", () => {
  const nodes = testCluster(3, { failureDetector: FAST_FD });
  const events = recordMembership(nodes[0]);
  let now = gossipRounds(nodes, 0, 6);
  assert.deepEqual(liveIds(nodes[0]), ["n0", "n1", "n2"]);
  const victim = nodes[2];
  const notVictim = (node: Chitchat) => node !== victim;
  let previous = nodes[0].phi(victim.id, now)!;
  let silence = 0;
  while (nodes[0].status(victim.id) === "live") {
    now = gossipRounds(nodes, now, 1, { mtu: MTU, active: notVictim });
    silence++;
    const phi = nodes[0].phi(victim.id, now);
    // (In the first rounds a peer may still pass on a heartbeat of the victim
    // fresher than ours: it bumped it answering that peer's last messages.)
    if (phi !== undefined && silence > 2) {
      assert.ok(phi > previous);
      previous = phi;
    }
    assert.ok(silence < 30);
  }
  assert.deepEqual(liveIds(nodes[0]), ["n0", "n1"]);
  assert.deepEqual(ids(nodes[0].deadNodes()), ["n2"]);
  assert.equal(nodes[0].phi(victim.id, now), undefined, "samples are cleared on death");
  now = gossipRounds(nodes, now, 4);
  assert.equal(nodes[0].status(victim.id), "live");
  assert.deepEqual(
    events.filter((e) => e.node.nodeId === "n2").map((e) => e.type),
    ["joined", "died", "revived"],
  );
});

test("Chitchat.handleTimeout() schedules a dead node at half the grace period, removes it, and stale gossip does not revive it", () => {
  const grace = 40_000;
  const options = { failureDetector: { ...FAST_FD, deadNodeGracePeriodMs: grace } };
  const nodes = testCluster(3, options);
  const [a, b, c] = nodes;
  c.self.set("role", "victim");
  const events = recordMembership(a);
  let now = gossipRounds(nodes, 0, 6);
  assert.ok(allEqual(nodes));
  // Datagrams from b about c, delayed in the network until long after c is gone.
  const staleSyn = encodeMessage(synOf(b));
  const staleSynAck = encodeMessage(
    answer(b, { type: "syn", clusterId: "test", digest: [] }, now)!,
  );
  const alive = (node: Chitchat) => node !== c;
  while (a.status(c.id) !== "dead") now = gossipRounds(nodes, now, 1, { mtu: MTU, active: alive });
  const death = now;
  const cHeartbeatOnA = a.nodeState(c.id)!.heartbeat;
  while (now <= death + grace / 2) {
    assert.equal(a.status(c.id), "dead");
    assert.ok(lists(synOf(a), c.id), "a dead node is still gossiped");
    now = gossipRounds(nodes, now, 1, { mtu: MTU, active: alive });
  }
  assert.equal(a.status(c.id), "scheduled");
  assert.deepEqual(ids(a.scheduledForDeletionNodes()), ["n2"]);
  assert.deepEqual(ids(a.deadNodes()), []);
  assert.ok(!lists(synOf(a), c.id), "not in digests any more");
  const synAck = answer(a, { type: "syn", clusterId: "test", digest: [] }, now) as SynAckMessage;
  assert.ok(!synAck.delta.some((nd) => nd.id.nodeId === "n2"), "not in deltas any more");
  const update: NodeDelta = {
    id: c.id,
    fromVersionExcluded: 1,
    lastGcVersion: 0,
    maxVersion: 2,
    keyValues: [{ key: "late", value: "x", version: 2, status: "set" }],
  };
  answer(a, { type: "ack", delta: [update] }, now);
  assert.equal(a.nodeState(c.id)?.get("late"), undefined, "updates about it are ignored");
  // (b saw c die a round after a did: it evaluates before hearing this round's answers.)
  while (now < death + grace + 2 * ROUND_MS) now = gossipRounds(nodes, now, 1, { mtu: MTU, active: alive });
  assert.equal(a.nodeState(c.id), undefined);
  assert.equal(b.nodeState(c.id), undefined);
  assert.equal(a.status(c.id), undefined);
  assert.deepEqual(events.filter((e) => e.node.nodeId === "n2").map((e) => e.type), [
    "joined",
    "died",
    "removed",
  ]);
  // The delayed datagrams arrive, carrying c's old heartbeat: a must not resurrect c.
  answer(a, decodeMessage(staleSyn), now);
  answer(a, decodeMessage(staleSynAck), now);
  assert.equal(a.nodeState(c.id), undefined);
  assert.equal(a.nodeCount, 2);
  // c itself comes back with a higher heartbeat: it is recreated.
  c.self.incrementHeartbeat();
  handshake(c, a, now, { mtu: MTU });
  assert.equal(a.nodeState(c.id)?.get("role"), "victim");
  assert.ok(a.nodeState(c.id)!.heartbeat > cHeartbeatOnA);
});

test("Chitchat.handleTimeout() removes the old incarnation of a restarted node and keeps the new one", () => {
  const grace = 30_000;
  const options = { failureDetector: { ...FAST_FD, deadNodeGracePeriodMs: grace } };
  const nodes = testCluster(3, options);
  const [a, b, old] = nodes;
  old.self.set("version", "1");
  let now = gossipRounds(nodes, 0, 5);
  // The process restarts: same node id and address, new generation.
  const fresh = createNode("n2", 10_002, {
    ...options,
    generationId: 2,
    initialKeyValues: { version: "2" },
  });
  const restarted = [a, b, fresh];
  now = gossipRounds(restarted, now, 3);
  assert.equal(a.nodeState(old.id)?.get("version"), "1");
  assert.equal(a.nodeState(fresh.id)?.get("version"), "2");
  assert.equal(a.nodeCount, 4);
  while (a.status(old.id) === "live") now = gossipRounds(restarted, now, 1);
  const death = now;
  assert.equal(a.status(fresh.id), "live");
  while (now <= death + grace / 2) now = gossipRounds(restarted, now, 1);
  assert.equal(a.status(old.id), "scheduled");
  while (now < death + grace + ROUND_MS) now = gossipRounds(restarted, now, 1);
  for (const node of [a, b]) {
    assert.equal(node.nodeState(old.id), undefined);
    assert.equal(node.nodeState(fresh.id)?.get("version"), "2");
    assert.deepEqual(node.liveNodes().map((s) => s.id.generationId).sort(), [1, 1, 2]);
  }
  assert.equal(a.nodeCount, 3);
});

test("Chitchat.liveNodes() leaves out nodes failing the liveness predicate and publishes changes", () => {
  const options = {
    failureDetector: FAST_FD,
    livenessPredicate: (s: { get(k: string): string | undefined }) => s.get("ready") === "1",
  };
  const nodes = testCluster(2, options);
  const [a, b] = nodes;
  const viewsSeen = recordLiveViews(a);
  const views = { at: (i: number) => viewsSeen.map((view) => ids(view)).at(i) };
  let now = gossipRounds(nodes, 0, 5);
  assert.equal(a.status(b.id), "live");
  assert.deepEqual(liveIds(a), [], "the predicate holds for this node too, as in Rust");
  a.self.set("ready", "1");
  now = gossipRounds(nodes, now, 1);
  assert.deepEqual(liveIds(a), ["n0"]);
  b.self.set("ready", "1");
  now = gossipRounds(nodes, now, 2);
  assert.deepEqual(liveIds(a), ["n0", "n1"]);
  assert.deepEqual(views.at(-1), ["n0", "n1"]);
  const version = a.liveViewVersion;
  b.self.set("load", "0.5");
  gossipRounds(nodes, now, 2);
  assert.ok(a.liveViewVersion > version, "a live node's new max version is published");
});

test("Chitchat.leave() takes a node out of its peers' live view", () => {
  const nodes = testCluster(3, { failureDetector: FAST_FD });
  const events = recordMembership(nodes[0]);
  let now = gossipRounds(nodes, 0, 5);
  nodes[2].leave(now, 1000);
  assert.equal(nodes[2].self.get(LEFT_KEY), "1");
  now = gossipRounds(nodes, now, 3);
  assert.deepEqual(liveIds(nodes[0]), ["n0", "n1"]);
  assert.deepEqual(ids(nodes[0].leftNodes()), ["n2"]);
  assert.equal(events.filter((e) => e.type === "left").length, 1);
  assert.ok(now > 0);
});

test("Chitchat.pollEvent() reports key changes, remote and local, but no reserved key", () => {
  const nodes = testCluster(2, { failureDetector: FAST_FD });
  const [a, b] = nodes;
  const changes = recordKeyChanges(a, "app.");
  const reserved = recordKeyChanges(a, "__chitchat.");
  a.set("app.local", "1");
  a.set("other", "x");
  b.set("app.remote", "2");
  b.self.set(LEFT_KEY, "1"); // (as leave() does, without ending b's rounds)
  let now = gossipRounds(nodes, 0, 2);
  b.delete("app.remote", now);
  now = gossipRounds(nodes, now, 2);
  const seen = changes.map((c) => `${c.node.nodeId}:${c.key}=${c.value}`);
  assert.deepEqual(seen, ["n0:app.local=1", "n1:app.remote=2", "n1:app.remote=undefined"]);
  assert.deepEqual(reserved, []);
  assert.ok(now > 0);
});

test("synOf(Chitchat) sends a partial digest that fits the MTU and covers every node over a few rounds", () => {
  const mtu = 1200;
  const a = createNode("a", 1, { mtu });
  const b = createNode("b", 2, { mtu });
  for (let i = 0; i < 300; i++) {
    const peer = createNode(`peer-with-a-long-name-${i}`, 20_000 + i, { mtu });
    answer(b, synOf(peer), 0);
  }
  assert.equal(b.nodeCount, 301);
  const byFingerprint = new Map(b.nodeStates().map((state) => [chitchatIdFingerprint(state.id), state.id.nodeId]));
  const listed = new Set<string>();
  for (let i = 0; i < 6; i++) {
    const syn = decodeMessage(encodeMessage(synOf(b))) as SynMessage;
    assert.ok(encodeMessage(syn).length <= mtu);
    assert.equal(syn.partialDigest, true);
    assert.ok(syn.range !== undefined, "a partial Syn says which part of the ring it covers");
    assert.equal(syn.digest[0].id.nodeId, "b", "self goes first, by id");
    for (const entry of syn.digest) listed.add(entry.id.nodeId);
    for (const entry of syn.compactDigest ?? []) listed.add(byFingerprint.get(entry.fingerprint)!);
  }
  assert.equal(listed.size, 301);
  // The SynAck to a partial Syn fits too and does not offer nodes the Syn left out.
  const reply = answer(a, synOf(b), 0) as SynAckMessage;
  assert.ok(encodeMessage(reply).length <= mtu);
  const ack = answer(b, reply, 0) as AckMessage;
  assert.ok(encodeMessage(ack).length <= mtu);
});

test("Chitchat.handleMessage() passes on, in its Ack, heartbeats another peer's SynAck raised since its Syn", () => {
  const [a, b, c, x] = testCluster(4, { failureDetector: FAST_FD });
  // Everyone learns everyone.
  let now = gossipRounds([a, b, c, x], 0, 4);
  // x beats twice more and only c hears of it.
  x.self.incrementHeartbeat();
  x.self.incrementHeartbeat();
  handshake(x, c, now, { mtu: MTU });
  const fresh = c.nodeState(x.id)!.heartbeat;
  assert.ok(a.nodeState(x.id)!.heartbeat < fresh && b.nodeState(x.id)!.heartbeat < fresh);
  now += 10;
  const syn = synOf(a);
  const fromC = answer(c, syn, now) as SynAckMessage;
  const fromB = answer(b, syn, now) as SynAckMessage;
  answer(a, fromC, now);
  assert.equal(a.nodeState(x.id)!.heartbeat, fresh, "c's SynAck told a");
  const ack = decodeMessage(encodeMessage(answer(a, fromB, now)!)) as AckMessage;
  assert.ok(
    (ack.compactDigest ?? []).some((e) => e.fingerprint === chitchatIdFingerprint(x.id) && e.heartbeat === fresh),
    "the Ack to b carries x's fresher heartbeat",
  );
  answer(b, ack, now);
  assert.equal(b.nodeState(x.id)!.heartbeat, fresh);
});

test("a Syn that cannot list everyone lists nodes never seen live first, and its pages still go round the ring", () => {
  const node = createNode("observer", 9000, { mtu: 1_200, failureDetector: { initialIntervalMs: 1_000 } });
  const ids: ChitchatId[] = Array.from({ length: 400 }, (_, i) => ({
    nodeId: `member-${i}`,
    generationId: 1,
    gossipAdvertiseAddr: `10.0.${i >> 8}.${i & 255}:7000`,
  }));
  const young = new Set(ids.slice(380).map((id) => chitchatIdFingerprint(id)));
  // Members 0..379 show three heartbeat values (live); 380..399 only one.
  for (let beat = 1; beat <= 3; beat++) {
    const digest = ids.slice(0, beat === 1 ? 400 : 380).map((id) => ({ id, heartbeat: beat, lastGcVersion: 0, maxVersion: 0 }));
    answer(node, { type: "synAck", digest, partialDigest: true, delta: [] }, beat * 1000);
  }
  soloRound(node, 3_100);
  assert.equal(node.liveNodes().length, 381);
  const listed = new Set<number>();
  let youngInFirst = 0;
  for (let i = 0; i < 12; i++) {
    const syn = decodeMessage(encodeMessage(synOf(node))) as SynMessage;
    assert.equal(syn.partialDigest, true);
    const fps = (syn.compactDigest ?? []).map((entry) => entry.fingerprint);
    if (i === 0) youngInFirst = fps.filter((fp) => young.has(fp)).length;
    for (const fp of fps) listed.add(fp);
  }
  // A page of ~100 of 400 entries would hold ~5 of the 20 young nodes; up to a quarter of the Syn goes to them.
  assert.equal(youngInFirst, 20, "every never-live node is in the first Syn");
  assert.equal(listed.size, 400, "every member is listed within 12 Syns");
});

test("successive Syns ask about different nodes never seen live: every one is listed within a pass of the asked share", () => {
  const node = createNode("observer", 9000, { mtu: 1_200, failureDetector: { initialIntervalMs: 1_000 } });
  const ids: ChitchatId[] = Array.from({ length: 2_000 }, (_, i) => ({
    nodeId: `member-${i}`,
    generationId: 1,
    gossipAdvertiseAddr: `10.1.${i >> 8}.${i & 255}:7000`,
  }));
  const young = new Set(ids.slice(1_800).map((id) => chitchatIdFingerprint(id)));
  // Members 0..1 799 show three heartbeat values (live); 1 800..1 999 only
  // one. Fed 400 at a time from the members' own addresses (one sender may
  // name 500 new nodes a round).
  for (let beat = 1; beat <= 3; beat++) {
    const shown = ids.slice(0, beat === 1 ? 2_000 : 1_800);
    for (let start = 0; start < shown.length; start += 400) {
      const digest = shown.slice(start, start + 400).map((id) => ({ id, heartbeat: beat, lastGcVersion: 0, maxVersion: 0 }));
      node.handleMessage(beat * 1000, shown[start].gossipAdvertiseAddr, { type: "synAck", digest, partialDigest: true, delta: [] });
    }
  }
  soloRound(node, 3_100);
  assert.equal(node.liveNodes().length, 1_801);
  const asked = new Set<number>();
  const first = new Set<number>();
  const syns = 9;
  for (let i = 0; i < syns; i++) {
    const syn = decodeMessage(encodeMessage(synOf(node, 3_200))) as SynMessage;
    const fps = (syn.compactDigest ?? []).map((entry) => entry.fingerprint).filter((fp) => young.has(fp));
    if (i === 0) for (const fp of fps) first.add(fp);
    for (const fp of fps) asked.add(fp);
  }
  // Up to a quarter of a Syn of 1 200 bytes (about 24 entries) asks about
  // them, and a page of the ring of 2 000 holds only a few of the 200; drawn
  // at random afresh for each Syn, 9 Syns would leave about a fifth unlisted.
  assert.ok(first.size >= 20 && first.size < 200, `the first Syn lists ${first.size} of the 200`);
  assert.equal(asked.size, 200, `every never-live node is listed within ${syns} Syns`);
});

/** `count` members, each seen with heartbeats 1..`beats` (fed through SynAck digests). */
function feedMembers(node: Chitchat, count: number, beats: number): ChitchatId[] {
  const ids: ChitchatId[] = Array.from({ length: count }, (_, i) => ({
    nodeId: `member-${i}`,
    generationId: 1,
    gossipAdvertiseAddr: `10.1.${i >> 8}.${i & 255}:7000`,
  }));
  for (let beat = 1; beat <= beats; beat++) {
    const digest = ids.map((id) => ({ id, heartbeat: beat, lastGcVersion: 0, maxVersion: 0 }));
    answer(node, { type: "synAck", digest, partialDigest: true, delta: [] }, beat * 100);
  }
  return ids;
}

test("a SynAck keeps half the datagram for its digest while a backlog of deltas is waiting", () => {
  const mtu = 1_200;
  const a = createNode("a", 9101, { mtu });
  const b = createNode("b", 9102, { mtu });
  feedMembers(a, 150, 2);
  feedMembers(b, 150, 6); // b's heartbeats of every member are fresher than a's
  for (let i = 0; i < 80; i++) b.self.set(`key-${i}`, "v".repeat(40)); // a lacks ~5 KB of b's keys
  const synAck = decodeMessage(encodeMessage(answer(b, synOf(a), 1_000)!)) as SynAckMessage;
  const entries = synAck.digest.length + (synAck.compactDigest?.length ?? 0);
  assert.ok(synAck.delta.length > 0 && synAck.delta[0].keyValues.length > 0, "the delta carries b's keys");
  // (A compact entry takes 12 to 14 bytes here: FRESHER_SHARE, a quarter of the datagram, holds ~22.)
  assert.ok(entries >= 20, `the digest still answers with fresher heartbeats (${entries} entries)`);
  assert.ok(encodeMessage(synAck).length <= mtu);
});

/** Feeds `node` heartbeat `beat` of every member in `ids` at `now`. */
function raise(node: Chitchat, ids: readonly ChitchatId[], beat: number, now: number): void {
  const digest = ids.map((id) => ({ id, heartbeat: beat, lastGcVersion: 0, maxVersion: 0 }));
  answer(node, { type: "synAck", digest, partialDigest: true, delta: [] }, now);
}

test("a value as large as the MTU allows still goes out in a SynAck whose digest share is busy", () => {
  const mtu = 1_200;
  const a = createNode("a", 9103, { mtu });
  const b = createNode("b", 9104, { mtu });
  // 70 members: a's Syn lists them all, and b always has fresher heartbeats for ~700 bytes of answer.
  const ids = feedMembers(a, 70, 2);
  feedMembers(b, 70, 2);
  const largest = b.config.limits.maxValueBytes;
  assert.ok(largest > mtu / 2);
  b.self.set("big", "x".repeat(largest));
  for (let round = 0; round < 3 && a.nodeState(b.id)?.get("big") === undefined; round++) {
    raise(b, ids, 10 + round, 1_000 + round * 100);
    handshake(a, b, 1_000 + round * 100, { mtu });
  }
  assert.equal(a.nodeState(b.id)?.get("big")?.length, largest);
});

test("a large value reaches a peer while small updates keep coming", () => {
  const mtu = 1_200;
  const a = createNode("a", 9105, { mtu });
  const b = createNode("b", 9106, { mtu });
  const c = createNode("c", 9107, { mtu });
  const ids = feedMembers(a, 70, 2);
  feedMembers(b, 70, 2);
  handshake(a, c, 900, { mtu });
  b.self.set("big", "x".repeat(b.config.limits.maxValueBytes));
  let rounds = 0;
  for (; rounds < 60 && a.nodeState(b.id)?.get("big") === undefined; rounds++) {
    const now = 1_000 + rounds * 100;
    raise(b, ids, 10 + rounds, now);
    // c keeps changing and b hears of it before a does: b always has something small for a too.
    for (let k = 0; k < 4; k++) c.self.set(`tick-${k}`, `${rounds}`);
    handshake(b, c, now, { mtu });
    handshake(a, b, now + 50, { mtu });
  }
  assert.ok(rounds < 60, "the large value reached a");
  assert.equal(a.nodeState(b.id)?.get("big")?.length, b.config.limits.maxValueBytes);
});

test("a Syn asks about live nodes not heard of for a while, and a node that really died is still declared dead on time", () => {
  // Heartbeats every 100 ms and a 100 ms prior: phi = silence / 100 ms, dead above 8.
  const node = createNode("observer", 9200, { mtu: 1_200, gossipIntervalMs: 100, failureDetector: { initialIntervalMs: 100 } });
  const ids = feedMembers(node, 400, 3); // heartbeats at 100, 200, 300 ms: all live
  const quiet = ids.slice(0, 20);
  const quietFps = new Set(quiet.map((id) => chitchatIdFingerprint(id)));
  // Everyone but the first 20 keeps beating every 100 ms until 1 s; the 20 are then at phi 7.
  let now = 300;
  for (let beat = 4; now < 1_000; beat++) {
    now += 100;
    raise(node, ids.slice(20), beat, now);
  }
  soloRound(node, now);
  assert.equal(node.liveNodes().length, 401);
  const syn = decodeMessage(encodeMessage(synOf(node))) as SynMessage;
  const asked = (syn.compactDigest ?? []).filter((entry) => quietFps.has(entry.fingerprint)).length;
  // A first page of ~100 of 400 would hold ~5 of them.
  assert.equal(asked, 20, "every quiet live node is in the Syn");
  // Nobody has news of them: they still die as soon as phi crosses 8 (silence over 800 ms).
  const events = recordMembership(node);
  for (let beat = 20; now < 1_200; beat++) {
    now += 100;
    raise(node, ids.slice(20), beat, now);
    soloRound(node, now);
  }
  const died = events.filter((event) => event.type === "died" && quietFps.has(chitchatIdFingerprint(event.node))).length;
  assert.equal(died, 20);
});

test("Chitchat.handleTimeout() revives a node scheduled for deletion as soon as a newer heartbeat of it arrives", () => {
  // Grace 60 s: scheduled for deletion after 30 s dead. Cut off for 46 s.
  const nodes = testCluster(2, { failureDetector: FAST_FD });
  const [a, b] = nodes;
  let now = gossipRounds(nodes, 0, 5);
  assert.equal(a.status(b.id), "live");
  for (let i = 0; i < 46; i++) {
    now += ROUND_MS;
    for (const node of nodes) soloRound(node, now);
  }
  assert.equal(a.status(b.id), "scheduled");
  assert.equal(b.status(a.id), "scheduled");
  // Healed: live again on both sides within a few rounds, not when the grace period ends.
  now = gossipRounds(nodes, now, 3);
  assert.equal(a.status(b.id), "live");
  assert.equal(b.status(a.id), "live");
});

test("Chitchat.gossipTargets() now and then picks a node that left, so a restarted incarnation with no reachable seed is found", () => {
  // A 1 ms interval, so that the 200 rounds below fit in the grace period.
  const nodes = testCluster(3, { failureDetector: FAST_FD, gossipIntervalMs: 1 });
  gossipRounds(nodes, 0, 5);
  nodes[2].leave(5_000, 1000);
  let now = gossipRounds(nodes, 5_000, 3);
  const [a] = nodes;
  assert.deepEqual(ids(a.leftNodes()), ["n2"]);
  let picked = 0;
  for (let i = 0; i < 200; i++) {
    a.handleTimeout(++now);
    const targets = new Set<string>();
    for (let t = a.pollTransmit(); t !== undefined; t = a.pollTransmit()) targets.add(t.to);
    if (targets.has(nodes[2].id.gossipAdvertiseAddr)) picked++;
  }
  // One dead-or-left target with probability dead / (live + 1) = 1 / 3.
  assert.ok(picked > 20 && picked < 140, `picked ${picked} times of 200`);
});

test("Chitchat.refusedDeltas counts node deltas over this replica's capacity and warns once per node", () => {
  const logger = recordingLogger();
  const big = createNode("big", 9001, { limits: { maxKeyBytes: 64, maxValueBytes: 64, maxKeys: 10 } });
  const small = createNode("small", 9002, { logger, limits: { maxKeyBytes: 64, maxValueBytes: 64, maxKeys: 2 } });
  for (let i = 0; i < 6; i++) big.self.set(`k${i}`, "v");
  let now = 0;
  for (let i = 0; i < 3; i++) {
    now += ROUND_MS;
    handshake(small, big, now, { mtu: MTU });
  }
  assert.equal(small.nodeState(big.id)?.get("k0"), undefined);
  assert.ok(small.refusedDeltas >= 2, `refused ${small.refusedDeltas}`);
  const warned = logger.warnings.filter((w) => /big publishes more than this node's limits.maxKeys/.test(w));
  assert.equal(warned.length, 1);
});

/** Two ids on ports 10002 and 10003 whose 32-bit fingerprints collide (a birthday search). */
function collidingIds(): [ChitchatId, ChitchatId] {
  const byFingerprint = new Map<number, ChitchatId>();
  for (let i = 0; i < 1 << 17; i++) {
    const id = makeId(`x${i}`, 10_002);
    byFingerprint.set(chitchatIdFingerprint(id), id);
  }
  for (let j = 0; j < 1 << 22; j++) {
    const id = makeId(`y${j}`, 10_003);
    const twin = byFingerprint.get(chitchatIdFingerprint(id));
    if (twin !== undefined) return [twin, id];
  }
  throw new Error("no collision found");
}

test("two live nodes whose fingerprints collide, each first known on one side of a partition, are never taken for one another", () => {
  const [xId, yId] = collidingIds();
  assert.equal(chitchatIdFingerprint(xId), chitchatIdFingerprint(yId));
  const options = { failureDetector: FAST_FD };
  const a = createNode("a", 10_000, options);
  const b = createNode("b", 10_001, options);
  const x = createNode(xId.nodeId, 10_002, options);
  const y = createNode(yId.nodeId, 10_003, options);
  const nodes = [a, b, x, y];
  const sides = [[a, x], [b, y]];
  let now = 0;
  const checkHeartbeats = () => {
    for (const observer of nodes) {
      for (const owner of nodes) {
        const seen = observer.nodeState(owner.id)?.heartbeat ?? 0;
        assert.ok(seen <= owner.self.heartbeat, `${observer.id.nodeId} sees ${owner.id.nodeId} at ${seen}, ahead of its own ${owner.self.heartbeat}`);
      }
    }
  };
  // Partitioned: y beats far ahead of x.
  for (let i = 0; i < 10; i++) {
    now += ROUND_MS;
    for (const side of sides) gossipRound(side, now, { mtu: MTU, seeds: side.map((n) => n.id.gossipAdvertiseAddr) });
    for (let k = 0; k < 5; k++) y.self.incrementHeartbeat();
    checkHeartbeats();
  }
  assert.equal(a.nodeState(y.id), undefined);
  assert.equal(b.nodeState(x.id), undefined);
  // Healed.
  for (let i = 0; i < 12; i++) {
    now += ROUND_MS;
    gossipRound(nodes, now, { mtu: MTU, seeds: [a.id.gossipAdvertiseAddr, b.id.gossipAdvertiseAddr] });
    checkHeartbeats();
  }
  for (const node of nodes) assert.deepEqual(liveIds(node), [...nodes.map((n) => n.id.nodeId)].sort(), `live on ${node.id.nodeId}`);
});
