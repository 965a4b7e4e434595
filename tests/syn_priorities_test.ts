import { test } from "node:test";
import assert from "node:assert/strict";
import { ClusterState } from "../src/core/cluster_state.ts";
import { FailureDetector } from "../src/core/failure_detector.ts";
import { Membership } from "../src/core/membership.ts";
import type { NodeState } from "../src/core/node_state.ts";
import { SynPriorities } from "../src/core/syn_priorities.ts";

/** A Syn's digest budget at MTU 1 200: about 25 entries asked about, 50 lagged behind on. */
const BUDGET = 1_200;
const ASKED = 25;

function setUp(count: number): { states: NodeState[]; fd: FailureDetector; membership: Membership; first: SynPriorities } {
  const state = new ClusterState();
  const fd = new FailureDetector({ initialIntervalMs: 1_000 });
  const membership = new Membership(fd);
  const states = Array.from(
    { length: count },
    (_, i) => state.getOrCreate({ nodeId: `m${i}`, generationId: 1, gossipAdvertiseAddr: `10.0.0.${i % 250}:${7000 + i}` })!,
  );
  for (const s of states) membership.evaluate(s.key, s.id, 0); // known, never seen live
  return { states, fd, membership, first: new SynPriorities(state, membership) };
}

test("SynPriorities.take() asks about every node never seen live once a pass, even when some turn live meanwhile", () => {
  const { states, fd, membership, first } = setUp(100);
  const asked: string[] = [];
  let keys = first.take(BUDGET);
  assert.equal(keys.length, ASKED);
  first.listed(keys.length);
  asked.push(...keys);
  // Ten nodes asked about and ten not yet asked about turn live: a cursor
  // into the shrinking list would now skip some of the others.
  for (const s of [...states.slice(0, 10), ...states.slice(30, 40)]) {
    for (let t = 0; t <= 3_000; t += 1_000) fd.reportHeartbeat(s.key, t);
    assert.equal(membership.evaluate(s.key, s.id, 3_000)?.type, "joined");
  }
  while (asked.length < 100 - 10) {
    keys = first.take(BUDGET);
    first.listed(keys.length);
    asked.push(...keys);
  }
  const stillJoining = [...membership.keysWithStatus("joining")];
  assert.equal(stillJoining.length, 80);
  for (const key of stillJoining) assert.ok(asked.includes(key), `${key} was never asked about in the pass`);
  // Within the pass nobody was asked about twice.
  assert.equal(new Set(asked.slice(0, 25 + 65)).size, 90);
});

test("SynPriorities.listed(): a node the page had no room for is asked about by the next Syn", () => {
  const { first } = setUp(60);
  const keys = first.take(BUDGET);
  first.listed(10); // the page took only the first 10
  const next = first.take(BUDGET);
  assert.deepEqual(next.slice(0, 15), keys.slice(10, 25));
});

test("SynPriorities.take() lists at most half a Syn of nodes lagged behind on, largest lag first, so the page still goes round the ring", () => {
  const { states, first } = setUp(300);
  for (const [i, s] of states.entries()) first.noteAhead(s.key, i + 1, s.maxVersion);
  const keys = first.take(BUDGET);
  assert.equal(keys.length, 50 + ASKED);
  assert.deepEqual(keys.slice(0, 50), states.slice(250).reverse().map((s) => s.key), "the 50 largest lags, largest first");
});
