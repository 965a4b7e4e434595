import { test } from "node:test";
import assert from "node:assert/strict";
import type { NodeDelta } from "../src/core/messages.ts";
import { type KeyChange, NodeState, type NodeStateOptions, REPLICA_ENTRY_FACTOR } from "../src/core/node_state.ts";
import { makeId, recordingLogger } from "./_helpers.ts";

const ID = makeId("owner", 7001);

function owner(options: NodeStateOptions = {}): NodeState {
  return new NodeState(ID, options);
}

type Kv = [
  key: string,
  value: string,
  version: number,
  status?: "set" | "deleted" | "deleteAfterTtl",
];

function delta(from: number, lastGc: number, max: number, kvs: Kv[]): NodeDelta {
  return {
    id: ID,
    fromVersionExcluded: from,
    lastGcVersion: lastGc,
    maxVersion: max,
    keyValues: kvs.map(([key, value, version, status]) => ({
      key,
      value,
      version,
      status: status ?? "set",
    })),
  };
}

/** A replica holding exactly `kvs` (as `set`) at max version `max`. */
function replica(max: number, kvs: Kv[], options: NodeStateOptions = {}): NodeState {
  const state = new NodeState(ID, options);
  assert.equal(state.applyDelta(delta(0, 0, max, kvs), 0), "applied");
  return state;
}

function versions(state: NodeState): [number, number] {
  return [state.lastGcVersion, state.maxVersion];
}

test("NodeState.set() gives the first key version 1 and each change the next version", () => {
  const state = owner();
  assert.equal(state.maxVersion, 0);
  assert.equal(state.set("a", "1"), true);
  assert.equal(state.getVersioned("a")?.version, 1);
  state.set("b", "2");
  state.set("a", "3");
  assert.equal(state.getVersioned("a")?.version, 3);
  assert.equal(state.getVersioned("b")?.version, 2);
  assert.equal(state.maxVersion, 3);
  assert.equal(state.get("a"), "3");
});

test("NodeState.set() is a no-op when the key already has the value", () => {
  const changes: KeyChange[] = [];
  const state = owner({ onKeyChange: (change) => changes.push(change) });
  state.set("role", "indexer");
  assert.equal(state.set("role", "indexer"), false);
  assert.equal(state.maxVersion, 1);
  assert.equal(state.getVersioned("role")?.version, 1);
  assert.equal(changes.length, 1);
});

test("NodeState.set() writes a new version when a TTL key is set to its same value", () => {
  const state = owner();
  state.set("a", "v");
  state.deleteAfterTtl("a", 10);
  assert.equal(state.set("a", "v"), true);
  const vv = state.getVersioned("a");
  assert.equal(vv?.status, "set");
  assert.equal(vv?.statusSince, undefined);
  assert.equal(vv?.version, 3);
});

test("NodeState.set() revives a deleted key, even with the tombstone's empty value", () => {
  const state = owner();
  state.set("a", "v");
  state.delete("a", 0);
  assert.equal(state.set("a", ""), true);
  assert.equal(state.get("a"), "");
  assert.equal(state.getVersioned("a")?.status, "set");
  assert.equal(state.maxVersion, 3);
});

test("NodeState.delete() leaves a tombstone hidden from readers", () => {
  const state = owner();
  state.set("a", "1");
  state.set("b", "2");
  assert.equal(state.delete("a", 500), true);
  assert.equal(state.get("a"), undefined);
  assert.deepEqual(state.getVersioned("a"), {
    value: "",
    version: 3,
    status: "deleted",
    statusSince: 500,
  });
  assert.equal(state.keyCount, 1);
  assert.equal(state.entryCount, 2);
  assert.deepEqual([...state.entries()], [["b", "2"]]);
  assert.deepEqual([...state.entriesWithPrefix("")], [["b", "2"]]);
  assert.equal(state.maxVersion, 3);
});

test("NodeState.delete() of a missing key is a no-op that logs a warning", () => {
  const logger = recordingLogger();
  const state = owner({ logger });
  state.set("a", "1");
  assert.equal(state.delete("missing", 0), false);
  assert.equal(state.maxVersion, 1);
  assert.equal(state.entryCount, 1);
  assert.equal(logger.warnings.length, 1);
  assert.match(logger.warnings[0], /missing/);
});

test("NodeState.delete() of an already deleted key writes a new tombstone version and restarts its grace period", () => {
  const logger = recordingLogger();
  const state = owner({ logger });
  state.set("a", "1");
  state.delete("a", 0);
  assert.equal(state.delete("a", 5), true);
  assert.equal(state.maxVersion, 3);
  assert.deepEqual(state.getVersioned("a"), { value: "", version: 3, status: "deleted", statusSince: 5 });
  assert.equal(state.collectGarbage(10, 10), 0, "the grace period runs from the second delete");
  assert.equal(state.collectGarbage(15, 10), 1);
  assert.equal(logger.warnings.length, 0);
});

test("NodeState.setWithTtl() keeps the key visible until it is reaped", () => {
  const changes: KeyChange[] = [];
  const state = owner({ onKeyChange: (change) => changes.push(change) });
  state.setWithTtl("lease", "x", 1000);
  assert.equal(state.get("lease"), "x");
  assert.deepEqual(state.getVersioned("lease"), {
    value: "x",
    version: 1,
    status: "deleteAfterTtl",
    statusSince: 1000,
  });
  assert.equal(state.setWithTtl("lease", "x", 2000), false);
  assert.equal(state.collectGarbage(1000 + 4999, 5000), 0);
  assert.equal(state.get("lease"), "x");
  assert.equal(state.collectGarbage(1000 + 5000, 5000), 1);
  assert.equal(state.get("lease"), undefined);
  assert.equal(state.getVersioned("lease"), undefined);
  assert.equal(state.lastGcVersion, 1);
  assert.equal(state.maxVersion, 1);
  assert.deepEqual(changes.at(-1), {
    node: ID,
    key: "lease",
    value: undefined,
    version: 1,
    deleted: true,
  });
});

test("NodeState.setWithTtl() on a set key with the same value starts its TTL", () => {
  const state = owner();
  state.set("a", "v");
  assert.equal(state.setWithTtl("a", "v", 7), true);
  assert.equal(state.getVersioned("a")?.status, "deleteAfterTtl");
  assert.equal(state.maxVersion, 2);
});

test("NodeState.deleteAfterTtl() keeps the value visible and stamps the time", () => {
  const state = owner();
  state.set("a", "v");
  assert.equal(state.deleteAfterTtl("a", 300), true);
  assert.equal(state.get("a"), "v");
  assert.deepEqual(state.getVersioned("a"), {
    value: "v",
    version: 2,
    status: "deleteAfterTtl",
    statusSince: 300,
  });
  // A second deleteAfterTtl extends the TTL: a new version, the clock restarts.
  assert.equal(state.deleteAfterTtl("a", 400), true);
  assert.equal(state.maxVersion, 3);
  assert.equal(state.collectGarbage(300 + 100, 100), 0);
  assert.equal(state.get("a"), "v");
  state.collectGarbage(400 + 100, 100);
  assert.equal(state.get("a"), undefined);
  assert.equal(state.lastGcVersion, 3);
});

test("NodeState.deleteAfterTtl() of a missing key is a no-op that logs a warning", () => {
  const logger = recordingLogger();
  const state = owner({ logger });
  assert.equal(state.deleteAfterTtl("nope", 0), false);
  assert.equal(state.maxVersion, 0);
  assert.equal(logger.warnings.length, 1);
  assert.match(logger.warnings[0], /nope/);
});

test("NodeState.set() refuses a too-large value with a RangeError naming the key and both sizes", () => {
  const state = owner({ limits: { maxKeyBytes: 16, maxValueBytes: 100, maxKeys: 10 } });
  assert.throws(() => state.set("big", "x".repeat(101)), (error: unknown) => {
    assert.ok(error instanceof RangeError);
    assert.match(error.message, /"big"/);
    assert.match(error.message, /101/);
    assert.match(error.message, /100/);
    return true;
  });
  // UTF-8 bytes count, not characters: 51 "é" are 102 bytes.
  assert.throws(() => state.setWithTtl("big", "é".repeat(51), 0), /102 bytes.*100/);
  state.set("fits", "é".repeat(50));
  assert.equal(state.get("big"), undefined);
  assert.equal(state.maxVersion, 1);
});

test("NodeState.set() refuses a too-long or empty key", () => {
  const state = owner({ limits: { maxKeyBytes: 4, maxValueBytes: 100, maxKeys: 10 } });
  assert.throws(() => state.set("abcde", "v"), RangeError);
  assert.throws(() => state.set("ééé", "v"), /6 bytes/);
  assert.throws(() => state.set("", "v"), TypeError);
  assert.throws(() => state.set(42 as unknown as string, "v"), TypeError);
  assert.throws(() => state.set("k", 42 as unknown as string), TypeError);
  state.set("abcd", "v");
  assert.equal(state.maxVersion, 1);
});

test("NodeState.set() refuses a new key beyond maxKeys visible keys, tombstones not counted, but updates existing keys", () => {
  const state = owner({ limits: { maxKeyBytes: 16, maxValueBytes: 100, maxKeys: 2 } });
  state.set("a", "1");
  state.set("b", "2");
  assert.throws(() => state.set("c", "3"), /maximum 2/);
  state.set("a", "changed");
  state.delete("b", 0);
  state.setWithTtl("c", "3", 0); // b's tombstone does not count
  assert.equal(state.keyCount, 2);
  assert.equal(state.entryCount, 3);
  assert.throws(() => state.set("b", "again"), /maximum 2/, "reviving a tombstone adds a visible key");
});

test("NodeState.set() bounds tombstones waiting for collection at REPLICA_ENTRY_FACTOR times maxKeys", () => {
  const state = owner({ limits: { maxKeyBytes: 16, maxValueBytes: 100, maxKeys: 1 } });
  for (let i = 0; i < REPLICA_ENTRY_FACTOR; i++) {
    state.set(`k${i}`, "v");
    if (i < REPLICA_ENTRY_FACTOR - 1) state.delete(`k${i}`, 0);
  }
  assert.equal(state.entryCount, REPLICA_ENTRY_FACTOR);
  state.delete(`k${REPLICA_ENTRY_FACTOR - 1}`, 0);
  assert.throws(() => state.set("new", "v"), /tombstones not yet collected/);
  state.collectGarbage(100, 10);
  state.set("new", "v");
  assert.equal(state.entryCount, 1);
});

test("NodeState.applyDelta() takes a churning owner's tombstones beyond twice maxKeys: only visible keys count", () => {
  const limits = { maxKeyBytes: 16, maxValueBytes: 100, maxKeys: 2 };
  const source = owner({ limits });
  for (let i = 0; i < 6; i++) {
    source.setWithTtl(`lease${i}`, "x", 0);
    source.delete(`lease${i}`, 0);
  }
  source.set("live", "1");
  const refusals: string[] = [];
  const copy = new NodeState(ID, { limits, onRefused: (reason) => refusals.push(reason) });
  const kvs = [...source.versionedEntries()].map(([key, vv]) => ({ key, value: vv.value, version: vv.version, status: vv.status }));
  assert.equal(copy.applyDelta({ id: ID, fromVersionExcluded: 0, lastGcVersion: 0, maxVersion: source.maxVersion, keyValues: kvs }, 0), "applied");
  assert.equal(copy.get("live"), "1");
  assert.equal(copy.entryCount, 7);
  assert.deepEqual(refusals, []);
});

test("NodeState.applyDelta() reports a refusal over capacity through onRefused", () => {
  const refusals: string[] = [];
  const copy = new NodeState(ID, { limits: { maxKeyBytes: 16, maxValueBytes: 100, maxKeys: 1 }, onRefused: (reason) => refusals.push(reason), logger: recordingLogger() });
  assert.equal(copy.applyDelta(delta(0, 0, 3, [["a", "1", 1], ["b", "2", 2], ["c", "3", 3]]), 0), "rejected");
  assert.equal(refusals.length, 1);
  assert.match(refusals[0], /would hold 3 visible keys, more than 2/);
  assert.equal(copy.maxVersion, 0);
});

test("NodeState.applyDelta() refuses a stale sender's entries while a reset cut short is being filled (no resurrected key)", () => {
  // The owner wrote a@1, b@2, p/x@3, c@4, deleted p/x (@5), collected the
  // tombstone (lastGcVersion 5) and wrote d@6.
  const copy = new NodeState(ID);
  // A reset cut short by the datagram: only a@1 fit.
  assert.equal(copy.applyDelta(delta(0, 5, 1, [["a", "1", 1]]), 0), "reset");
  assert.deepEqual(versions(copy), [5, 1]);
  // A peer that never saw the delete (lastGcVersion 0) offers versions 2..4, p/x among them.
  assert.equal(copy.applyDelta(delta(1, 0, 4, [["b", "2", 2], ["p/x", "x", 3], ["c", "4", 4]]), 0), "rejected");
  // Nor through an entry sent ahead of its turn.
  assert.equal(copy.applyDelta(delta(1, 0, 1, [["p/x", "x", 3]]), 0), "rejected");
  assert.equal(copy.get("p/x"), undefined);
  // A sender that collected as much fills the gap.
  assert.equal(copy.applyDelta(delta(1, 5, 6, [["b", "2", 2], ["c", "4", 4], ["d", "6", 6]]), 0), "applied");
  assert.deepEqual([...copy.entries()], [["a", "1"], ["b", "2"], ["c", "4"], ["d", "6"]]);
  // Once caught up past its lastGcVersion, ordinary deltas are taken again.
  assert.equal(copy.applyDelta(delta(6, 0, 7, [["e", "7", 7]]), 0), "applied");
  assert.equal(copy.get("e"), "7");
});

test("NodeState.applyDelta() reports a reset only as the keys whose visible value changed", () => {
  const changes: KeyChange[] = [];
  const copy = replica(3, [["same", "1", 1], ["gone", "2", 2], ["changed", "old", 3]], {
    onKeyChange: (change) => changes.push(change),
  });
  changes.length = 0;
  const status = copy.applyDelta(delta(0, 5, 7, [["same", "1", 1], ["changed", "new", 6], ["added", "x", 7]]), 0);
  assert.equal(status, "reset");
  assert.deepEqual(
    changes.map((c) => [c.key, c.value ?? null]).sort(),
    [["added", "x"], ["changed", "new"], ["gone", null]],
  );
});

test("NodeState.observeHeartbeat() records the first heartbeat without reporting an increase", () => {
  const state = owner();
  assert.equal(state.observeHeartbeat(10), false);
  assert.equal(state.heartbeat, 10);
  assert.equal(state.observeHeartbeat(10), false);
  assert.equal(state.observeHeartbeat(9), false);
  assert.equal(state.heartbeat, 10);
  assert.equal(state.observeHeartbeat(11), true);
  assert.equal(state.heartbeat, 11);
});

test("NodeState.incrementHeartbeat() bumps the digest heartbeat only", () => {
  const state = owner();
  state.set("a", "1");
  state.incrementHeartbeat();
  state.incrementHeartbeat();
  assert.deepEqual(state.digest(), { heartbeat: 2, lastGcVersion: 0, maxVersion: 1 });
});

test("NodeState.staleEntries() yields entries above the floor in version order", () => {
  const state = owner();
  state.set("a", "1");
  state.set("b", "2");
  state.set("c", "3");
  state.set("a", "4");
  state.delete("b", 0);
  const stale = [...state.staleEntries(2)].map(([key, vv]) => [key, vv.version]);
  assert.deepEqual(stale, [["c", 3], ["a", 4], ["b", 5]]);
  assert.equal(state.staleCount(2), 3);
  assert.equal(state.staleCount(0), 3);
  assert.equal(state.staleCount(5), 0);
  assert.deepEqual([...state.staleEntries(5)], []);
});

test("NodeState.collectGarbage() removes tombstones after the grace period and raises lastGcVersion", () => {
  const state = owner();
  state.set("keep", "1");
  state.set("a", "2");
  state.set("b", "3");
  state.delete("a", 100);
  state.delete("b", 200);
  assert.equal(state.collectGarbage(100 + 999, 1000), 0);
  assert.equal(state.collectGarbage(100 + 1000, 1000), 1);
  assert.deepEqual(versions(state), [4, 5]);
  assert.equal(state.getVersioned("a"), undefined);
  assert.equal(state.getVersioned("b")?.status, "deleted");
  assert.equal(state.collectGarbage(200 + 1000, 1000), 1);
  assert.deepEqual(versions(state), [5, 5]);
  assert.equal(state.get("keep"), "1");
  assert.equal(state.entryCount, 1);
});

test("NodeState.applyDelta() applies new mutations and moves the max version", () => {
  const changes: KeyChange[] = [];
  const state = replica(2, [["key_a", "val_a", 1], ["key_b", "val_a", 2]], {
    onKeyChange: (c) => changes.push(c),
  });
  const status = state.applyDelta(
    delta(2, 0, 4, [["key_b", "val_b2", 3], ["key_c", "val_c", 4]]),
    0,
  );
  assert.equal(status, "applied");
  assert.equal(state.keyCount, 3);
  assert.deepEqual(versions(state), [0, 4]);
  assert.equal(state.get("key_a"), "val_a");
  assert.equal(state.get("key_b"), "val_b2");
  assert.equal(state.get("key_c"), "val_c");
  assert.deepEqual(changes.slice(2).map((c) => [c.key, c.value, c.version]), [[
    "key_b",
    "val_b2",
    3,
  ], ["key_c", "val_c", 4]]);
});

test("NodeState.applyDelta() takes a new version of an unchanged value", () => {
  const state = replica(1, [["key_a", "val_a", 1]]);
  state.applyDelta(delta(1, 0, 3, [["key_a", "val_a", 3]]), 0);
  assert.deepEqual(state.getVersioned("key_a"), {
    value: "val_a",
    version: 3,
    status: "set",
    statusSince: undefined,
  });
  assert.equal(state.maxVersion, 3);
});

test("NodeState.applyDelta() rejects a delta from the future", () => {
  const state = replica(5, [["key_a", "val_a", 5]]);
  assert.equal(state.applyDelta(delta(6, 0, 7, [["key_a", "new_val", 7]]), 0), "rejected");
  assert.equal(state.get("key_a"), "val_a");
  assert.equal(state.getVersioned("key_a")?.version, 5);
  assert.deepEqual(versions(state), [0, 5]);
});

test("NodeState.applyDelta() rejects a delta that brings nothing new", () => {
  const state = replica(5, [["a", "1", 5]]);
  assert.equal(state.applyDelta(delta(3, 0, 5, [["a", "1", 5]]), 0), "rejected");
  assert.equal(state.applyDelta(delta(0, 0, 4, [["a", "old", 4]]), 0), "rejected");
  assert.equal(state.get("a"), "1");
  assert.deepEqual(versions(state), [0, 5]);
});

test("NodeState.applyDelta() accepts a higher lastGcVersion that is not above the max version", () => {
  const state = replica(17, [["key_a", "val_a", 17]]);
  state.applyDelta(delta(17, 0, 18, [["key_a", "", 18, "deleted"]]), 0);
  state.collectGarbage(10, 10);
  assert.deepEqual(versions(state), [18, 18]);
  state.applyDelta(delta(18, 0, 31, [["key_a", "val_a", 31]]), 0);
  assert.equal(state.applyDelta(delta(31, 30, 32, [["key_a", "new_val", 32]]), 0), "applied");
  assert.equal(state.get("key_a"), "new_val");
  assert.deepEqual(versions(state), [18, 32]);
});

test("NodeState.applyDelta() resets the state when the sender collected tombstones we never saw", () => {
  const changes: KeyChange[] = [];
  const state = replica(17, [["key_a", "val_a", 17]], {
    onKeyChange: (change) => changes.push(change),
  });
  assert.equal(state.applyDelta(delta(0, 30, 32, [["key_b", "val_b", 32]]), 0), "reset");
  assert.equal(state.getVersioned("key_a"), undefined);
  assert.equal(state.getVersioned("key_b")?.version, 32);
  assert.deepEqual(versions(state), [30, 32]);
  // Readers learn that key_a vanished.
  assert.ok(changes.some((c) => c.key === "key_a" && c.deleted && c.value === undefined));
});

test("NodeState.applyDelta() refuses an incompatible delta that is not a reset", () => {
  const state = replica(17, [["key_a", "val_a", 17]]);
  assert.equal(state.applyDelta(delta(17, 30, 32, [["key_b", "val_b", 32]]), 0), "rejected");
  assert.equal(state.get("key_a"), "val_a");
  assert.deepEqual(versions(state), [0, 17]);
});

test("NodeState.applyDelta() does not reset when already ahead of the reset's max version", () => {
  const state = replica(32, [["key_a", "val_a", 31], ["key_b", "val_b2", 32]]);
  assert.equal(state.applyDelta(delta(0, 17, 30, [["key_b", "val_b", 30]]), 0), "rejected");
  assert.deepEqual(versions(state), [0, 32]);
  assert.equal(state.getVersioned("key_b")?.value, "val_b2");
});

test("NodeState.applyDelta() keeps the monotonic property through a reset with a lower max version", () => {
  // Receiver (gc 50, max 70); sender collected up to 120 but its delta was cut at 80.
  const state = new NodeState(ID);
  assert.equal(
    state.applyDelta(delta(0, 50, 70, [["key_a", "val_a", 60], ["key_b", "val_b", 70]]), 0),
    "reset",
  );
  assert.deepEqual(versions(state), [50, 70]);
  assert.equal(state.applyDelta(delta(0, 120, 80, [["key_c", "val_c", 80]]), 0), "reset");
  assert.deepEqual(versions(state), [120, 80]);
  assert.equal(state.get("key_a"), undefined);
  assert.equal(state.get("key_b"), undefined);
  assert.equal(state.get("key_c"), "val_c");
});

test("NodeState.applyDelta() accepts a delta whose lastGcVersion equals our max version", () => {
  const state = new NodeState(ID);
  state.applyDelta(delta(0, 50, 70, [["key_a", "val_a", 70]]), 0);
  assert.equal(state.applyDelta(delta(70, 70, 100, [["key_b", "val_b", 100]]), 0), "applied");
  assert.deepEqual(versions(state), [50, 100]);
  assert.equal(state.get("key_b"), "val_b");
});

test("NodeState.applyDelta() does not reset when the delta's lastGcVersion equals our max version", () => {
  const state = replica(20, [["key_a", "val_a", 20]]);
  assert.equal(state.applyDelta(delta(0, 20, 18, [["key_b", "val_b", 18]]), 0), "rejected");
  assert.deepEqual(versions(state), [0, 20]);
  assert.equal(state.get("key_a"), "val_a");
  assert.equal(state.get("key_b"), undefined);
});

test("NodeState.applyDelta() skips tombstones at or below lastGcVersion in a reset", () => {
  const state = new NodeState(ID);
  const status = state.applyDelta(
    delta(0, 30, 32, [["gone", "", 25, "deleted"], ["ttl", "x", 29, "deleteAfterTtl"], [
      "b",
      "v",
      32,
    ]]),
    0,
  );
  assert.equal(status, "reset");
  assert.equal(state.getVersioned("gone"), undefined);
  assert.equal(state.getVersioned("ttl"), undefined);
  assert.equal(state.get("b"), "v");
  assert.equal(state.entryCount, 1);
});

test("NodeState.applyDelta() stamps received tombstones and TTL keys with the local time", () => {
  const state = new NodeState(ID);
  state.applyDelta(
    delta(0, 0, 2, [["t", "", 1, "deleted"], ["l", "x", 2, "deleteAfterTtl"]]),
    1234,
  );
  assert.equal(state.getVersioned("t")?.statusSince, 1234);
  assert.equal(state.getVersioned("l")?.statusSince, 1234);
  assert.equal(state.get("l"), "x");
  assert.equal(state.collectGarbage(1234 + 99, 100), 0);
  assert.equal(state.collectGarbage(1234 + 100, 100), 2);
  assert.deepEqual(versions(state), [2, 2]);
});

test("NodeState.applyDelta() with a cut-short max version leaves the rest for later", () => {
  const state = new NodeState(ID);
  assert.equal(state.applyDelta(delta(0, 0, 2, [["a", "1", 1], ["b", "2", 2]]), 0), "applied");
  assert.equal(state.maxVersion, 2);
  assert.equal(state.applyDelta(delta(2, 0, 4, [["c", "3", 3], ["d", "4", 4]]), 0), "applied");
  assert.deepEqual([...state.entries()], [["a", "1"], ["b", "2"], ["c", "3"], ["d", "4"]]);
});
