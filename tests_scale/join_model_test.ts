/**
 * The join model of `bench/join.ts` (one real joiner against a one-machine
 * model of the cluster): seconds of CPU, kept beside the other scale runs.
 * Run with `bash scripts/test.sh tests_scale/`.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { modelJoin } from "../bench/join.ts";

test("a node joining a converged 1 000-node cluster at MTU 1 400 sees every member live and has every key within 2 log2 N + 5 rounds (join model)", { timeout: 600_000 }, () => {
  const figures = modelJoin(1_000, 1_400);
  // 12 rounds, all keys after 6, 161 KB with the catch-up fanout; 17, 8 and
  // 187 KB with catch-up bursts alone; 19 rounds without bursts; 166 rounds and 1.5 MB when digests
  // left withheld nodes out, so that peers sent them again and again.
  assert.ok(figures.liveRounds !== undefined && figures.liveRounds <= 25, `all live after ${figures.liveRounds} rounds`);
  assert.ok(figures.stateRounds !== undefined && figures.stateRounds <= 25, `all keys after ${figures.stateRounds} rounds`);
  assert.ok(figures.bytesIn <= 250_000, `${figures.bytesIn} bytes received until all live`);
  // A member seen live and then not is a false death (all are alive): 0 here,
  // 6 972 at N = 10 000, MTU 1 400 with a prior of one interval, where
  // heartbeats arrive too sparsely for that prior.
  assert.equal(figures.falseDeaths, 0, `${figures.falseDeaths} false deaths in the joiner's view`);
  assert.equal(figures.seenRounds !== undefined && figures.seenRounds <= 10, true, `cluster saw the joiner after ${figures.seenRounds} rounds`);
});

test("a node joining a converged 10 000-node cluster at MTU 65 507 sees every member live and has every key within 32 rounds (join model)", { timeout: 600_000 }, () => {
  const figures = modelJoin(10_000, 65_507);
  // 9 rounds, all keys after 6 when this was written. Before the model fed
  // each member's state from its own address, only 501 members arrived with
  // keys (limits.newNodesPerSender) and this never completed.
  assert.ok(figures.liveRounds !== undefined && figures.liveRounds <= 32, `all live after ${figures.liveRounds} rounds`);
  assert.ok(figures.stateRounds !== undefined && figures.stateRounds <= 32, `all keys after ${figures.stateRounds} rounds`);
  assert.equal(figures.falseDeaths, 0, `${figures.falseDeaths} false deaths in the joiner's view`);
});
