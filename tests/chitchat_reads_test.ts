// ChitchatReads: what a state machine answers about the cluster, read from
// its parts as they are at the call (Chitchat delegates here; chitchat_test.ts
// covers the same reads through Chitchat).
import { test } from "node:test";
import assert from "node:assert/strict";
import { ChitchatReads } from "../src/core/chitchat_reads.ts";
import { chitchatIdKey } from "../src/core/chitchat_id.ts";
import { ClusterState } from "../src/core/cluster_state.ts";
import { FailureDetector } from "../src/core/failure_detector.ts";
import { LiveView } from "../src/core/live_view.ts";
import { silentLogger } from "../src/core/logger.ts";
import { Membership } from "../src/core/membership.ts";
import { makeId } from "./_helpers.ts";

function parts() {
  const id = makeId("a", 1);
  const state = new ClusterState();
  const fd = new FailureDetector();
  const membership = new Membership(fd);
  const liveView = new LiveView(undefined, silentLogger);
  state.getOrCreate(id)!.set("role", "api");
  membership.setSelf(chitchatIdKey(id), false);
  return { id, clusterId: "c", state, membership, fd, liveView };
}

test("ChitchatReads.status() says joining for a node learned since the last round, undefined for an unknown one", () => {
  const p = parts();
  const reads = new ChitchatReads(p);
  const b = makeId("b", 2);
  assert.equal(reads.status(b), undefined);
  p.state.getOrCreate(b);
  assert.equal(reads.status(b), "joining");
  assert.equal(reads.status(p.id), "live");
  assert.equal(reads.phi(p.id, 0), undefined, "no phi for self");
});

test("ChitchatReads.snapshot() puts self first, hides reserved keys and reads the parts at the call", () => {
  const p = parts();
  const reads = new ChitchatReads(p);
  const b = makeId("b", 2);
  p.state.getOrCreate(b)!.set("__chitchat.left", "1");
  p.state.getByKey(chitchatIdKey(b))!.set("zone", "x");
  const snapshot = reads.snapshot(0);
  assert.deepEqual(snapshot.self, p.id);
  assert.deepEqual(snapshot.nodes.map((n) => [n.id.nodeId, n.status, n.keyValues]), [
    ["a", "live", { role: "api" }],
    ["b", "joining", { zone: "x" }],
  ]);
  p.liveView.refresh(p.state.entries(), p.membership);
  assert.deepEqual(reads.snapshot(0).nodes.map((n) => n.inLiveView), [true, false]);
});

test("ChitchatReads.peerSets() leaves out this node and its own address among the seeds", () => {
  const p = parts();
  const reads = new ChitchatReads(p);
  p.state.getOrCreate(makeId("b", 2));
  const sets = reads.peerSets([p.id.gossipAdvertiseAddr, "127.0.0.1:9"]);
  assert.deepEqual(sets, {
    peers: ["127.0.0.1:2"],
    live: [],
    dead: ["127.0.0.1:2"],
    seeds: ["127.0.0.1:9"],
  });
});
