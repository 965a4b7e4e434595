import { test } from "node:test";
import assert from "node:assert/strict";
import { ClusterState } from "../src/core/cluster_state.ts";
import { NodeState } from "../src/core/node_state.ts";
import type { AckMessage, SynAckMessage } from "../src/core/messages.ts";
import { answer, createNode, handshake, makeId, overTheWire, synOf } from "./_helpers.ts";

test("Chitchat.handleMessage() pushes what the peer lacks in the Ack when the MTU is 1200", () => {
  const mtu = 1200;
  const a = createNode("a", 1, { mtu, initialKeyValues: { role: "indexer" } });
  const b = createNode("b", 2, { mtu });
  const synAck = overTheWire(answer(b, overTheWire(synOf(a), mtu), 0)!, mtu) as SynAckMessage;
  assert.ok(synAck.digest.some((e) => e.id.nodeId === "a"), "the SynAck digest lists at least the requester");
  const ack = overTheWire(answer(a, synAck, 0)!, mtu) as AckMessage;
  answer(b, ack, 0);
  assert.equal(b.nodeState(a.id)?.get("role"), "indexer");
});

test("Chitchat replicates a largest key-value of a node with a long node id at MTU 1200", () => {
  const mtu = 1200;
  const name = "n".repeat(1000);
  const a = createNode(name, 1, { mtu });
  const b = createNode("b", 2, { mtu });
  const { maxKeyBytes, maxValueBytes } = a.config.limits;
  a.self.set("k".repeat(maxKeyBytes), "v".repeat(maxValueBytes));
  for (let i = 0; i < 5; i++) handshake(b, a, i * 1000, { mtu });
  assert.equal(b.nodeState(a.id)?.maxVersion, 1);
});

test("ClusterState.computeDelta() makes progress when priority keys fill the budget", () => {
  const id = makeId("owner", 7000);
  const owner = new ClusterState();
  const state = owner.getOrCreate(id)!;
  state.set("plain", "x".repeat(500)); // version 1, not a priority key
  state.set("prio", "p".repeat(500)); // version 2, a priority key
  const replica = new ClusterState();
  for (let round = 0; round < 5; round++) {
    const { delta } = owner.computeDelta(replica.digest(new Set()), { budget: 800, random: () => 0, priorityPrefixes: ["prio"] });
    replica.applyDelta(delta, { now: 0, excluded: new Set() });
  }
  assert.equal(replica.get(id)?.get("plain"), "x".repeat(500));
  assert.equal(replica.get(id)?.maxVersion, 2);
});

test("NodeState.entries() yields visible pairs in version order after a key received ahead", () => {
  const id = makeId("owner", 7000);
  const state = new NodeState(id);
  // A priority key at version 3 arrives ahead of versions 1 and 2.
  state.applyDelta({ id, fromVersionExcluded: 0, lastGcVersion: 0, maxVersion: 0, keyValues: [{ key: "c", value: "3", version: 3, status: "set" }] }, 0);
  state.applyDelta({ id, fromVersionExcluded: 0, lastGcVersion: 0, maxVersion: 3, keyValues: [{ key: "a", value: "1", version: 1, status: "set" }, { key: "b", value: "2", version: 2, status: "set" }] }, 0);
  assert.deepEqual([...state.entries()].map(([k]) => k), ["a", "b", "c"]);
});
