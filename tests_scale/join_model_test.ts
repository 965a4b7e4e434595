/**
 * The join model of `bench/join.ts` (one real joiner against a one-machine
 * model of the cluster) at 1 000 nodes: seconds of CPU, kept beside the
 * other scale runs. Run with `bash scripts/test.sh tests_scale/`.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { modelJoin } from "../bench/join.ts";

test("a node joining a converged 1 000-node cluster at MTU 1 400 sees every member live within 60 rounds (join model)", { timeout: 600_000 }, () => {
  const figures = modelJoin(1_000, 1_400);
  // 44 rounds and 428 KB when this was written; 166 rounds and 1.5 MB when
  // digests left withheld nodes out, so that peers sent them again and again.
  assert.ok(figures.liveRounds !== undefined && figures.liveRounds <= 60, `all live after ${figures.liveRounds} rounds`);
  assert.ok(figures.bytesIn <= 600_000, `${figures.bytesIn} bytes received until all live`);
  assert.equal(figures.seenRounds !== undefined && figures.seenRounds <= 10, true, `cluster saw the joiner after ${figures.seenRounds} rounds`);
});
