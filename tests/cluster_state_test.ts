import { test } from "node:test";
import assert from "node:assert/strict";
import { chitchatIdCheck, chitchatIdFingerprint, chitchatIdKey } from "../src/core/chitchat_id.ts";
import { ClusterState, inRange } from "../src/core/cluster_state.ts";
import type { DigestEntry, NodeDelta } from "../src/core/messages.ts";
import { compactEntrySize, mutationSize, nodeDeltaHeaderSize } from "../src/core/wire_size.ts";
import { createRandom, makeId } from "./_helpers.ts";

const A = makeId("a", 7001);
const B = makeId("b", 7002);
const C = makeId("c", 7003);
const NONE: ReadonlySet<string> = new Set();

function zero(): number {
  return 0;
}

function delta(from: ClusterState, digest: DigestEntry[], budget = 60_000): NodeDelta[] {
  return from.computeDelta(digest, { budget, random: zero }).delta;
}

function digestEntry(
  id: typeof A,
  maxVersion: number,
  lastGcVersion = 0,
  heartbeat = 1,
): DigestEntry {
  return { id, heartbeat, lastGcVersion, maxVersion };
}

test("ClusterState.getOrCreate() creates a node once and returns the same state after", () => {
  const cluster = new ClusterState();
  assert.equal(cluster.get(A), undefined);
  const state = cluster.getOrCreate(A)!;
  assert.equal(cluster.getOrCreate({ ...A }), state);
  assert.equal(cluster.get(A), state);
  assert.equal(cluster.getByKey(chitchatIdKey(A)), state);
  assert.equal(cluster.size, 1);
});

test("ClusterState.getOrCreate() tells generations and addresses of a node id apart", () => {
  const cluster = new ClusterState();
  cluster.getOrCreate(A);
  cluster.getOrCreate({ ...A, generationId: 2 });
  cluster.getOrCreate({ ...A, gossipAdvertiseAddr: "127.0.0.1:9999" });
  assert.equal(cluster.size, 3);
});

test("ClusterState.getOrCreate() recreates a removed node only with a higher heartbeat", () => {
  const cluster = new ClusterState();
  const state = cluster.getOrCreate(A)!;
  state.observeHeartbeat(7);
  assert.equal(cluster.remove(chitchatIdKey(A)), state);
  assert.equal(cluster.removedHeartbeat(chitchatIdKey(A)), 7);
  assert.equal(cluster.getOrCreate(A), undefined);
  assert.equal(cluster.getOrCreate(A, 6), undefined);
  assert.equal(cluster.getOrCreate(A, 7), undefined);
  assert.equal(cluster.size, 0);
  const revived = cluster.getOrCreate(A, 8);
  assert.ok(revived !== undefined && revived !== state);
  assert.equal(cluster.removedHeartbeat(chitchatIdKey(A)), undefined);
});

test("ClusterState.remove() remembers at most removedNodeMemory nodes, oldest forgotten first", () => {
  const cluster = new ClusterState({ removedNodeMemory: 2 });
  for (const id of [A, B, C]) cluster.getOrCreate(id);
  for (const id of [A, B, C]) cluster.remove(chitchatIdKey(id));
  assert.equal(cluster.removedHeartbeat(chitchatIdKey(A)), undefined);
  assert.equal(cluster.removedHeartbeat(chitchatIdKey(B)), 0);
  assert.equal(cluster.removedHeartbeat(chitchatIdKey(C)), 0);
  assert.notEqual(cluster.getOrCreate(A), undefined);
  assert.equal(cluster.remove("unknown"), undefined);
});

test("ClusterState.digest() lists every node but the excluded ones", () => {
  const cluster = new ClusterState();
  cluster.getOrCreate(A)!.set("k", "v");
  cluster.getOrCreate(B)!.incrementHeartbeat();
  cluster.getOrCreate(C);
  const digest = cluster.digest(new Set([chitchatIdKey(C)]));
  assert.deepEqual(digest, [
    { id: A, heartbeat: 0, lastGcVersion: 0, maxVersion: 1 },
    { id: B, heartbeat: 1, lastGcVersion: 0, maxVersion: 0 },
  ]);
});

test("ClusterState.partialDigest() fits the budget, puts `first` first and goes round-robin", () => {
  const cluster = new ClusterState();
  const ids = Array.from({ length: 10 }, (_, i) => makeId(`n${i}`, 7100 + i));
  for (const id of ids) cluster.getOrCreate(id);
  const full = cluster.partialDigest(NONE, { budget: 100_000, cursor: 0 });
  assert.equal(full.complete, true);
  assert.equal(full.digest.length, 10);
  const entrySize = full.size / 10;
  const seen = new Set<string>();
  let cursor = 0;
  for (let call = 0; call < 4; call++) {
    const part = cluster.partialDigest(NONE, {
      budget: entrySize * 4,
      cursor,
      first: [chitchatIdKey(ids[9])],
    });
    assert.equal(part.complete, false);
    assert.equal(part.digest.length, 4);
    assert.equal(part.size, entrySize * 4);
    assert.equal(part.digest[0].id, ids[9]);
    for (const entry of part.digest) seen.add(entry.id.nodeId);
    cursor = part.cursor;
  }
  assert.equal(seen.size, 10, "every node is listed within a few calls");
});

test("ClusterState.partialDigest() leaves out excluded nodes even when listed first", () => {
  const cluster = new ClusterState();
  for (const id of [A, B, C]) cluster.getOrCreate(id);
  const part = cluster.partialDigest(new Set([chitchatIdKey(A)]), {
    budget: 10_000,
    cursor: 0,
    first: [chitchatIdKey(A), chitchatIdKey(C)],
  });
  assert.deepEqual(part.digest.map((e) => e.id.nodeId), ["c", "b"]);
  assert.equal(part.complete, true);
});

test("ClusterState.computeDelta() sends a node missing from the digest from version 0", () => {
  const a = new ClusterState();
  const state = a.getOrCreate(A)!;
  state.set("k1", "v1");
  state.set("k2", "v2");
  const out = delta(a, []);
  assert.equal(out.length, 1);
  assert.deepEqual(out[0], {
    id: A,
    fromVersionExcluded: 0,
    lastGcVersion: 0,
    maxVersion: 2,
    keyValues: [
      { key: "k1", value: "v1", version: 1, status: "set" },
      { key: "k2", value: "v2", version: 2, status: "set" },
    ],
  });
});

test("ClusterState.computeDelta() sends only the mutations above the peer's max version", () => {
  const a = new ClusterState();
  const state = a.getOrCreate(A)!;
  state.set("k1", "v1");
  state.set("k2", "v2");
  state.set("k1", "v3");
  state.delete("k2", 0);
  const out = delta(a, [digestEntry(A, 2)]);
  assert.deepEqual(out[0].keyValues.map((kv) => [kv.key, kv.version, kv.status]), [
    ["k1", 3, "set"],
    ["k2", 4, "deleted"],
  ]);
  assert.equal(out[0].fromVersionExcluded, 2);
  assert.equal(out[0].maxVersion, 4);
  assert.deepEqual(delta(a, [digestEntry(A, 4)]), []);
  assert.deepEqual(delta(a, [digestEntry(A, 9)]), []);
});

test("ClusterState.computeDelta() ignores excluded nodes and, for a partial digest, nodes it omits", () => {
  const a = new ClusterState();
  a.getOrCreate(A)!.set("k", "v");
  a.getOrCreate(B)!.set("k", "v");
  const excluded = a.computeDelta([], {
    budget: 10_000,
    random: zero,
    excluded: new Set([chitchatIdKey(A)]),
  });
  assert.deepEqual(excluded.delta.map((d) => d.id), [B]);
  const partial = a.computeDelta([digestEntry(A, 0)], {
    budget: 10_000,
    random: zero,
    partial: true,
  });
  assert.deepEqual(partial.delta.map((d) => d.id), [A]);
});

test("ClusterState.computeDelta() asks for a reset when the peer missed collected tombstones", () => {
  const a = new ClusterState();
  const state = a.getOrCreate(A)!;
  state.set("keep", "1");
  state.set("gone", "2");
  state.delete("gone", 0);
  state.set("later", "4");
  state.collectGarbage(100, 100);
  assert.equal(state.lastGcVersion, 3);
  // The peer saw up to version 2: the tombstone at 3 is gone, so it must start over.
  const reset = delta(a, [digestEntry(A, 2)]);
  assert.equal(reset[0].fromVersionExcluded, 0);
  assert.equal(reset[0].lastGcVersion, 3);
  assert.deepEqual(reset[0].keyValues.map((kv) => kv.key), ["keep", "later"]);
  // A peer that saw version 3 (or collected as far itself) does not.
  assert.equal(delta(a, [digestEntry(A, 3)])[0].fromVersionExcluded, 3);
  assert.equal(delta(a, [digestEntry(A, 2, 3)])[0].fromVersionExcluded, 2);
});

test("ClusterState.computeDelta() sends an empty node delta to move the max version when every mutation was collected", () => {
  const a = new ClusterState();
  const state = a.getOrCreate(A)!;
  state.set("k", "v");
  state.delete("k", 0);
  state.collectGarbage(10, 10);
  assert.equal(state.entryCount, 0);
  const out = delta(a, [digestEntry(A, 1, 2)]);
  assert.deepEqual(out, [{
    id: A,
    fromVersionExcluded: 1,
    lastGcVersion: 2,
    maxVersion: 2,
    keyValues: [],
  }]);
  const b = new ClusterState();
  b.applyDelta(delta(a, []), { now: 0, excluded: NONE });
  assert.equal(b.get(A)?.maxVersion, 2);
  assert.equal(b.get(A)?.lastGcVersion, 2);
});

test("ClusterState.computeDelta() puts unknown nodes first, lowest max version first, then the stalest", () => {
  const a = new ClusterState();
  const big = makeId("big", 7010);
  const small = makeId("small", 7011);
  const stale3 = makeId("stale3", 7012);
  const stale1 = makeId("stale1", 7013);
  for (let i = 0; i < 5; i++) a.getOrCreate(big)!.set(`k${i}`, "v");
  a.getOrCreate(small)!.set("k", "v");
  for (let i = 0; i < 5; i++) a.getOrCreate(stale3)!.set(`k${i}`, "v");
  for (let i = 0; i < 5; i++) a.getOrCreate(stale1)!.set(`k${i}`, "v");
  const out = delta(a, [digestEntry(stale1, 4), digestEntry(stale3, 2)]);
  assert.deepEqual(out.map((d) => d.id.nodeId), ["small", "big", "stale3", "stale1"]);
});

test("ClusterState.computeDelta() shuffles equally stale nodes with the random source", () => {
  const a = new ClusterState();
  const ids = Array.from({ length: 6 }, (_, i) => makeId(`n${i}`, 7200 + i));
  for (const id of ids) a.getOrCreate(id)!.set("k", "v");
  const digest = ids.map((id) => digestEntry(id, 0, 0));
  const orders = new Set<string>();
  const random = createRandom(11);
  for (let i = 0; i < 20; i++) {
    const out = a.computeDelta(digest, { budget: 100_000, random }).delta;
    assert.equal(out.length, 6);
    orders.add(out.map((d) => d.id.nodeId).join());
  }
  assert.ok(orders.size > 10);
});

test("ClusterState.computeDelta() cuts a node short at the budget with its last carried version as max", () => {
  const a = new ClusterState();
  const state = a.getOrCreate(A)!;
  for (let i = 1; i <= 10; i++) state.set(`key${i}`, "x".repeat(20));
  const header = nodeDeltaHeaderSize(A, { from: 0, lastGc: 0, max: 10 }, 0) - 1 + 5;
  const item = mutationSize("key1", "x".repeat(20), 1);
  const { delta: cut, size } = a.computeDelta([], {
    budget: header + 3 * item + item - 1,
    random: zero,
  });
  assert.equal(cut.length, 1);
  assert.equal(cut[0].keyValues.length, 3);
  assert.equal(cut[0].maxVersion, 3);
  assert.equal(size, header + 3 * item);
  // The receiver applies it and asks for the rest in later rounds.
  const b = new ClusterState();
  b.applyDelta(cut, { now: 0, excluded: NONE });
  assert.equal(b.get(A)?.maxVersion, 3);
  let rounds = 1;
  while (b.get(A)!.maxVersion < 10) {
    const more = a.computeDelta(b.digest(NONE), { budget: header + 3 * item, random: zero }).delta;
    assert.ok(more.length === 1 && more[0].keyValues.length >= 1);
    b.applyDelta(more, { now: 0, excluded: NONE });
    rounds++;
  }
  assert.equal(rounds, 4);
  assert.deepEqual([...b.get(A)!.entries()], [...state.entries()]);
});

test("ClusterState.computeDelta() returns nothing when not even a node header fits", () => {
  const a = new ClusterState();
  a.getOrCreate(A)!.set("k", "v");
  assert.deepEqual(a.computeDelta([], { budget: 10, random: zero }), { delta: [], size: 0, complete: false });
  // With room, the same delta is complete; with nothing stale, an empty delta is complete too.
  assert.equal(a.computeDelta([], { budget: 1_000, random: zero }).complete, true);
  assert.deepEqual(new ClusterState().computeDelta([], { budget: 10, random: zero }), { delta: [], size: 0, complete: true });
});

test("ClusterState.computeDelta() stops after the node that was cut short", () => {
  const a = new ClusterState();
  for (let i = 0; i < 3; i++) a.getOrCreate(B)!.set(`b${i}`, "y");
  for (let i = 0; i < 5; i++) a.getOrCreate(A)!.set(`a${i}`, "x".repeat(50));
  for (let i = 0; i < 7; i++) a.getOrCreate(C)!.set(`c${i}`, "");
  // B (max 3) goes first, then A (max 5) is cut short by its big values; C's
  // small entries would fit in what is left, but a delta never skips ahead.
  const { delta: out, complete } = a.computeDelta([], { budget: 200, random: zero });
  assert.deepEqual(out.map((d) => d.id), [B, A]);
  assert.equal(complete, false);
  assert.equal(out[0].maxVersion, 3);
  assert.ok(out[1].maxVersion < 5);
  assert.equal(out[1].maxVersion, out[1].keyValues.at(-1)?.version);
});

test("ClusterState.applyDelta() creates unknown nodes, skips excluded ones and reports resets", () => {
  const a = new ClusterState();
  a.getOrCreate(A)!.set("k", "a");
  a.getOrCreate(B)!.set("k", "b");
  const bState = a.getOrCreate(C)!;
  bState.set("x", "1");
  bState.delete("x", 0);
  bState.set("y", "2");
  bState.collectGarbage(1, 1);
  const b = new ClusterState();
  b.getOrCreate(C)!; // knows C at version 0: C's delta will be a reset
  const resets = b.applyDelta(delta(a, b.digest(NONE)), {
    now: 0,
    excluded: new Set([chitchatIdKey(B)]),
  });
  assert.deepEqual(resets, [C]);
  assert.equal(b.get(A)?.get("k"), "a");
  assert.equal(b.get(B), undefined);
  assert.equal(b.get(C)?.get("y"), "2");
  assert.deepEqual([b.get(C)!.lastGcVersion, b.get(C)!.maxVersion], [2, 3]);
});

test("ClusterState.applyDelta() does not resurrect a recently removed node", () => {
  const a = new ClusterState();
  a.getOrCreate(A)!.set("k", "v");
  const b = new ClusterState();
  b.getOrCreate(A);
  b.remove(chitchatIdKey(A));
  assert.deepEqual(b.applyDelta(delta(a, []), { now: 0, excluded: NONE }), []);
  assert.equal(b.get(A), undefined);
  assert.equal(b.size, 0);
});

test("ClusterState.collectGarbage() collects tombstones in every node", () => {
  const cluster = new ClusterState();
  for (const id of [A, B]) {
    const state = cluster.getOrCreate(id)!;
    state.set("k", "v");
    state.delete("k", 100);
  }
  cluster.collectGarbage(150, 100);
  assert.deepEqual([...cluster.states()].map((s) => s.entryCount), [1, 1]);
  cluster.collectGarbage(200, 100);
  assert.deepEqual([...cluster.states()].map((s) => [s.entryCount, s.lastGcVersion]), [[0, 2], [
    0,
    2,
  ]]);
});

test("ClusterState.applyDelta() makes two replicas equal when deltas flow both ways", () => {
  const a = new ClusterState();
  const b = new ClusterState();
  a.getOrCreate(A)!.set("from", "a");
  b.getOrCreate(B)!.set("from", "b");
  b.getOrCreate(B)!.set("more", "b");
  const toA = b.computeDelta(a.digest(NONE), { budget: 10_000, random: zero }).delta;
  const toB = a.computeDelta(b.digest(NONE), { budget: 10_000, random: zero }).delta;
  a.applyDelta(toA, { now: 0, excluded: NONE });
  b.applyDelta(toB, { now: 0, excluded: NONE });
  for (const id of [A, B]) {
    assert.deepEqual([...a.get(id)!.entries()], [...b.get(id)!.entries()]);
    assert.equal(a.get(id)!.maxVersion, b.get(id)!.maxVersion);
  }
});

/** Two ids whose fingerprints collide (found by search; checked below). */
const TWIN_A = { nodeId: "n128971", generationId: 1, gossipAdvertiseAddr: "127.0.0.1:7000" };
const TWIN_B = { nodeId: "n1083220", generationId: 1, gossipAdvertiseAddr: "127.0.0.1:7000" };

test("ClusterState.resolveCompact() finds a node only when fingerprint and check both match", () => {
  assert.equal(chitchatIdFingerprint(TWIN_A), chitchatIdFingerprint(TWIN_B));
  const fp = chitchatIdFingerprint(TWIN_A);
  const checkA = chitchatIdCheck(TWIN_A);
  const checkB = chitchatIdCheck(TWIN_B);
  assert.notEqual(checkA, checkB);
  const cluster = new ClusterState();
  const a = cluster.getOrCreate(TWIN_A)!;
  assert.equal(a.fingerprint, fp);
  assert.equal(cluster.resolveCompact(fp, checkA), a);
  // The twin, known to the sender only, is not taken for a.
  assert.equal(cluster.resolveCompact(fp, checkB), undefined);
  assert.equal(cluster.isAmbiguous(fp), false);
  const b = cluster.getOrCreate(TWIN_B)!;
  assert.equal(cluster.isAmbiguous(fp), true);
  assert.equal(cluster.resolveCompact(fp, checkA), a, "the check tells twins apart");
  assert.equal(cluster.resolveCompact(fp, checkB), b);
  cluster.remove(a.key);
  assert.equal(cluster.resolveCompact(fp, checkB), b);
  assert.equal(cluster.resolveCompact(fp, checkA), undefined);
  cluster.remove(b.key);
  assert.equal(cluster.resolveCompact(fp, checkB), undefined);
  assert.equal(cluster.isAmbiguous(fp), false);
});

test("ClusterState.pageDigest() lists by fingerprint, `full` and colliding nodes by id", () => {
  const cluster = new ClusterState();
  for (const id of [A, B, TWIN_A, TWIN_B]) cluster.getOrCreate(id)!.incrementHeartbeat();
  const page = cluster.pageDigest(NONE, { budget: 10_000, cursor: 0, first: [chitchatIdKey(A)], full: new Set([chitchatIdKey(A)]) });
  assert.equal(page.complete, true);
  assert.equal(page.range, undefined);
  assert.deepEqual(page.digest.map((e) => e.id.nodeId).sort(), ["a", "n1083220", "n128971"]);
  assert.equal(page.digest[0].id, A, "`first` goes first");
  assert.deepEqual(page.compact, [{ fingerprint: chitchatIdFingerprint(B), check: chitchatIdCheck(B), heartbeat: 1, lastGcVersion: 0, maxVersion: 0 }]);
});

test("ClusterState.pageDigest() goes round the ring in arcs that each list every node of the arc", () => {
  const cluster = new ClusterState();
  const ids = Array.from({ length: 50 }, (_, i) => makeId(`n${i}`, 7100 + i));
  const states = ids.map((id) => cluster.getOrCreate(id)!);
  const excluded = new Set([chitchatIdKey(ids[3])]);
  const fps = ids.map((id) => chitchatIdFingerprint(id));
  const entry = Math.max(...states.map((state) => compactEntrySize(state.compactDigest())));
  let cursor = 0;
  const seen = new Set<number>();
  for (let page = 0; page < 8; page++) {
    const part = cluster.pageDigest(excluded, { budget: 10 * entry, cursor });
    assert.equal(part.complete, false);
    assert.ok(part.size <= 10 * entry);
    const listed = new Set(part.compact.map((e) => e.fingerprint));
    assert.ok(part.range !== undefined && part.range.start === cursor && part.range.end === part.cursor);
    fps.forEach((fp, i) => {
      // Every node of the arc is listed, but the excluded one; none outside it.
      if (i === 3) assert.ok(!listed.has(fp));
      else assert.equal(listed.has(fp), inRange(fp, part.range!), `node ${i} on page ${page}`);
    });
    for (const fp of listed) seen.add(fp);
    cursor = part.cursor;
  }
  assert.equal(seen.size, 49, "every node but the excluded one within a few pages");
});

test("ClusterState.computeDeltaFor() offers the arc's unlisted nodes, introduces keyless ones, and nothing outside", () => {
  const a = new ClusterState();
  const ids = Array.from({ length: 40 }, (_, i) => makeId(`n${i}`, 7200 + i));
  for (const [i, id] of ids.entries()) if (i % 2 === 0) a.getOrCreate(id)!.set("k", "v");
  else a.getOrCreate(id);
  const sorted = [...ids].sort((x, y) => chitchatIdFingerprint(x) - chitchatIdFingerprint(y));
  const range = { start: chitchatIdFingerprint(sorted[10]), end: chitchatIdFingerprint(sorted[20]) };
  const listed = new Map([[chitchatIdKey(sorted[10]), { heartbeat: 3, lastGcVersion: 0, maxVersion: 0 }]]);
  const offered = (introduce: boolean) =>
    a.computeDeltaFor(listed, { budget: 60_000, random: zero, scope: range, introduce }).delta
      .map((d) => d.id.nodeId).sort();
  const inArc = sorted.slice(11, 20);
  const withKeys = (id: typeof A) => Number(id.nodeId.slice(1)) % 2 === 0;
  const expected = inArc.filter(withKeys).map((id) => id.nodeId);
  if (withKeys(sorted[10])) expected.push(sorted[10].nodeId);
  assert.deepEqual(offered(false), expected.sort());
  assert.deepEqual(offered(true), [...inArc.map((id) => id.nodeId), ...(withKeys(sorted[10]) ? [sorted[10].nodeId] : [])].sort());
  // A listed entry of zeros is "unknown": with introductions, even a keyless node is named.
  const keyless = ids[1];
  const zeros = new Map([[chitchatIdKey(keyless), { heartbeat: 0, lastGcVersion: 0, maxVersion: 0 }]]);
  const intro = a.computeDeltaFor(zeros, { budget: 60_000, random: zero, scope: "listed", introduce: true }).delta;
  assert.deepEqual(intro, [{ id: keyless, fromVersionExcluded: 0, lastGcVersion: 0, maxVersion: 0, keyValues: [] }]);
  assert.deepEqual(a.computeDeltaFor(zeros, { budget: 60_000, random: zero, scope: "listed" }).delta, []);
});

test("ClusterState: withheld nodes stay out of deltas; digests list them unless withheldFromDigests", () => {
  const withheld = new Set<string>();
  for (const fromDigests of [false, true]) {
    const cluster = new ClusterState({ withheld, withheldFromDigests: fromDigests });
    cluster.getOrCreate(A)!.set("k", "a");
    cluster.getOrCreate(B)!.set("k", "b");
    withheld.clear();
    withheld.add(chitchatIdKey(B));
    const listed = (entries: DigestEntry[]) => entries.map((e) => e.id.nodeId).sort().join(",");
    assert.equal(listed(cluster.digest(NONE)), fromDigests ? "a" : "a,b");
    assert.equal(listed(cluster.partialDigest(NONE, { budget: 10_000, cursor: 0 }).digest), fromDigests ? "a" : "a,b");
    const page = cluster.pageDigest(NONE, { budget: 10_000, cursor: 0, full: new Set([chitchatIdKey(A), chitchatIdKey(B)]) });
    assert.equal(listed(page.digest.filter((e): e is DigestEntry => "id" in e)), fromDigests ? "a" : "a,b");
    // A peer that knows nothing gets A only, whatever the digests say.
    assert.deepEqual(delta(cluster, []).map((d) => d.id.nodeId), ["a"]);
    withheld.clear();
    assert.deepEqual(delta(cluster, []).map((d) => d.id.nodeId).sort(), ["a", "b"], "handed on once no longer withheld");
  }
});
