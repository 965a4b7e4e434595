import { test } from "node:test";
import assert from "node:assert/strict";
import { Chitchat } from "../src/core/chitchat.ts";
import { ClusterState } from "../src/core/cluster_state.ts";
import { FULL_PROFILE, RUST_V0_PROFILE } from "../src/core/protocol_profile.ts";
import type { Message } from "../src/core/messages.ts";
import { chitchatV0WireFormat, chitchatV0WireSizes } from "../src/core/wire/chitchat_v0_format.ts";
import { CoreNetwork } from "../src/testing/core_network.ts";
import { createRandom } from "../src/testing/random.ts";
import { makeId } from "./_helpers.ts";

const V0 = chitchatV0WireFormat();

function v0Node(name: string, port: number, extra: { priorityKeyPrefixes?: string[] } = {}): Chitchat {
  return new Chitchat(
    { id: makeId(name, port), clusterId: "c", gossipIntervalMs: 100, ...extra },
    { now: 0, random: createRandom(port), sizes: V0.sizes, profile: V0.profile },
  );
}

test("a chitchat-v0 cluster of cores converges with every message in the v0 wire", () => {
  const seen: Message[] = [];
  const network = new CoreNetwork({ format: V0, onMessage: (m) => seen.push(m) });
  const nodes = [1, 2, 3, 4, 5].map((i) => v0Node(`n${i}`, i, { priorityKeyPrefixes: ["svc:"] }));
  for (const node of nodes) {
    node.setSeeds(["127.0.0.1:1"]);
    for (let k = 0; k < 20; k++) node.set(`k${k}`, `${node.id.nodeId}-${k}`);
    node.set("svc:port", "80");
    network.add(node);
  }
  network.runUntil(20_000);
  for (const node of nodes) {
    for (const other of nodes) {
      assert.equal(node.nodeState(other.id)?.get("svc:port"), "80");
      assert.equal(node.nodeState(other.id)?.get("k19"), `${other.id.nodeId}-19`);
    }
  }
  assert.ok(seen.length > 100);
  for (const m of seen) {
    if (m.type === "syn" || m.type === "synAck") {
      assert.equal(m.compactDigest, undefined);
      assert.notEqual(m.partialDigest, true);
    }
    if (m.type === "ack") assert.equal(m.compactDigest, undefined);
  }
});

test("Chitchat without paged digests sends its whole digest in every Syn and SynAck", () => {
  const a = v0Node("a", 1);
  const b = v0Node("b", 2);
  for (let i = 3; i < 40; i++) a.handleMessage(0, `127.0.0.1:${i}`, {
    type: "syn",
    clusterId: "c",
    digest: [{ id: makeId(`x${i}`, i), heartbeat: 5, lastGcVersion: 0, maxVersion: 0 }],
  });
  while (a.pollTransmit() !== undefined) { /* drain the SynAcks */ }
  a.gossip(1, b.id.gossipAdvertiseAddr);
  const syn = a.pollTransmit()!.message;
  assert.equal(syn.type, "syn");
  if (syn.type !== "syn") return;
  assert.equal(syn.digest.length, 38, "self and the 37 nodes learnt from digests");
  assert.equal(syn.digest[0].id.nodeId, "a");
  b.handleMessage(1, a.id.gossipAdvertiseAddr, syn);
  const synAck = b.pollTransmit()!.message;
  assert.equal(synAck.type, "synAck");
  if (synAck.type !== "synAck") return;
  assert.equal(synAck.digest.length, 39, "b answers with its whole digest: self and what the Syn taught it");
  assert.equal(synAck.compactDigest, undefined);
  assert.ok(V0.encode(synAck).length > 0);
});

test("Chitchat refuses an MTU below 65 507 without paged digests, naming the field", () => {
  assert.throws(
    () =>
      new Chitchat({ id: makeId("a", 1), clusterId: "c", mtu: 1400 }, {
        now: 0,
        random: Math.random,
        profile: RUST_V0_PROFILE,
      }),
    (error: Error) => error instanceof TypeError && /"mtu"/.test(error.message) && /65507/.test(error.message),
  );
  // The full profile pages its digests: a small MTU is fine.
  new Chitchat({ id: makeId("a", 1), clusterId: "c", mtu: 1400 }, { now: 0, random: Math.random, profile: FULL_PROFILE });
});

test("ClusterState.computeDeltaFor without keysAhead cuts an exact version prefix, priority keys included", () => {
  const state = new ClusterState({ sizes: chitchatV0WireSizes });
  const owner = state.getOrCreate(makeId("a", 1))!;
  for (let i = 1; i <= 10; i++) owner.set(`k${i}`, "x".repeat(40));
  owner.set("prio:late", "p"); // version 11
  const options = { random: () => 0, scope: "all", priorityPrefixes: ["prio:"] } as const;
  const budget = chitchatV0WireSizes.nodeDeltaHeaderSize({
    id: owner.id,
    fromVersionExcluded: 0,
    lastGcVersion: 0,
    maxVersion: 11,
  }) + 3 * chitchatV0WireSizes.mutationSize("k1", { value: "x".repeat(40), version: 1, status: "set" });
  const cut = state.computeDeltaFor(new Map(), { ...options, budget, keysAhead: false }).delta[0];
  assert.deepEqual(cut.keyValues.map((kv) => kv.version), [1, 2, 3]);
  assert.equal(cut.maxVersion, 3);
  assert.ok(V0.encode({ type: "ack", delta: [cut] }).length > 0, "v0 can carry it");
  // With keys ahead (the CBOR profile) the priority key jumps the queue.
  const ahead = state.computeDeltaFor(new Map(), { ...options, budget, keysAhead: true }).delta[0];
  assert.ok(ahead.keyValues.some((kv) => kv.key === "prio:late"));
  assert.throws(() => V0.encode({ type: "ack", delta: [ahead] }), TypeError, "v0 cannot carry keys ahead");
});

test("ClusterState.computeDeltaFor without keysAhead ends at the last key when the top version was collected", () => {
  const state = new ClusterState({ sizes: chitchatV0WireSizes });
  const owner = state.getOrCreate(makeId("a", 1))!;
  owner.set("k", "v"); // 1
  owner.set("gone", "v"); // 2
  owner.delete("gone", 0); // 3
  owner.collectGarbage(10_000, 1);
  assert.equal(owner.lastGcVersion, 3);
  const options = { random: () => 0, scope: "all", budget: 60_000, keysAhead: false } as const;
  const delta = state.computeDeltaFor(new Map(), options).delta;
  assert.equal(delta[0].maxVersion, 1, "as a Rust receiver reads it: the last key's version");
  assert.doesNotThrow(() => V0.encode({ type: "ack", delta }));
  // The next round sends the rest: a node delta with no key and the max version.
  const next = state.computeDeltaFor(
    new Map([[owner.key, { heartbeat: 1, lastGcVersion: 3, maxVersion: 1 }]]),
    options,
  ).delta;
  assert.deepEqual([next[0].keyValues.length, next[0].maxVersion], [0, 3]);
  assert.doesNotThrow(() => V0.encode({ type: "ack", delta: next }));
});

test("Chitchat without nodesFromDeltas ignores a delta for a node no digest named", () => {
  const stranger = makeId("stranger", 9);
  const ack: Message = {
    type: "ack",
    delta: [{
      id: stranger,
      fromVersionExcluded: 0,
      lastGcVersion: 0,
      maxVersion: 1,
      keyValues: [{ key: "k", value: "v", version: 1, status: "set" }],
    }],
  };
  const v0 = v0Node("a", 1);
  v0.handleMessage(0, "127.0.0.1:9", ack);
  assert.equal(v0.nodeState(stranger), undefined);
  const full = new Chitchat({ id: makeId("b", 2), clusterId: "c" }, { now: 0, random: Math.random });
  full.handleMessage(0, "127.0.0.1:9", ack);
  assert.equal(full.nodeState(stranger)?.get("k"), "v", "the full profile creates it");
  // Named in a SynAck's digest, the node is created first and its delta applies.
  v0.handleMessage(1, "127.0.0.1:9", {
    type: "synAck",
    digest: [{ id: stranger, heartbeat: 3, lastGcVersion: 0, maxVersion: 1 }],
    delta: ack.delta,
  });
  assert.equal(v0.nodeState(stranger)?.get("k"), "v");
});

test("Chitchat.resetNodeStateIfUpdate replaces a replica with a newer snapshot and refuses an older one", () => {
  const owner = v0Node("owner", 1);
  owner.set("a", "1");
  owner.set("b", "2");
  owner.delete("b", 0);
  owner.set("c", "3");
  const replica = v0Node("replica", 2);
  const snapshot = owner.nodeStateSnapshot(owner.id)!;
  assert.deepEqual(snapshot.keyValues.map((kv) => [kv.key, kv.version, kv.status]), [
    ["a", 1, "set"],
    ["b", 3, "deleted"],
    ["c", 4, "set"],
  ]);
  assert.equal(replica.resetNodeStateIfUpdate(0, JSON.parse(JSON.stringify(snapshot))), true);
  const state = replica.nodeState(owner.id)!;
  assert.deepEqual([state.get("a"), state.get("b"), state.get("c"), state.maxVersion], ["1", undefined, "3", 4]);
  assert.equal(state.getVersioned("b")?.status, "deleted", "tombstones travel");
  assert.equal(replica.resetNodeStateIfUpdate(0, snapshot), false, "not newer");
  // A snapshot with a higher last GC version wipes keys it no longer has.
  assert.equal(
    replica.resetNodeStateIfUpdate(0, { ...snapshot, maxVersion: 6, lastGcVersion: 5, keyValues: [snapshot.keyValues[2]] }),
    true,
  );
  assert.deepEqual([state.get("a"), state.lastGcVersion, state.maxVersion], [undefined, 5, 6]);
  assert.equal(
    replica.resetNodeStateIfUpdate(0, { ...snapshot, maxVersion: 4, lastGcVersion: 0 }),
    false,
    "obsolete: below what we have",
  );
  assert.equal(replica.resetNodeStateIfUpdate(0, { ...replica.nodeStateSnapshot(replica.id)!, maxVersion: 99 }), false, "never self");
});
