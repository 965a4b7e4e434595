import { test } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_FAILURE_DETECTOR_CONFIG, FailureDetector } from "../src/core/failure_detector.ts";

/** Reports heartbeats of `key` at `start`, `start + step`, ... up to `end` included; returns the last time. */
function beat(fd: FailureDetector, key: string, start: number, step: number, end: number): number {
  let t = start;
  for (; t <= end; t += step) fd.reportHeartbeat(key, t);
  return t - step;
}

test("FailureDetector.isAlive() is false after a single heartbeat and for an unknown node", () => {
  const fd = new FailureDetector();
  fd.reportHeartbeat("a", 1000);
  assert.equal(fd.phi("a", 1000), undefined);
  assert.equal(fd.isAlive("a", 1000), false);
  assert.equal(fd.phi("ghost", 0), undefined);
  assert.equal(fd.isAlive("ghost", 5), false);
});

test("FailureDetector.phi() rises linearly over silence and falls back to 0 with a heartbeat", () => {
  const fd = new FailureDetector({ initialIntervalMs: 1000 });
  const last = beat(fd, "a", 0, 1000, 20_000);
  // Every interval is 1000 ms and so is the prior: the mean is exactly 1000 ms.
  assert.equal(fd.phi("a", last), 0);
  assert.equal(fd.phi("a", last + 1000), 1);
  assert.equal(fd.phi("a", last + 4000), 4);
  assert.equal(fd.phi("a", last + 8000), 8);
  assert.ok(fd.phi("a", last + 8001)! > 8);
  fd.reportHeartbeat("a", last + 1000);
  assert.equal(fd.phi("a", last + 1000), 0);
  assert.equal(fd.phi("a", last + 1500), 0.5);
});

test("FailureDetector.isAlive() turns false once phi passes the threshold", () => {
  const fd = new FailureDetector({ initialIntervalMs: 1000, phiThreshold: 8 });
  const last = beat(fd, "a", 0, 1000, 10_000);
  assert.equal(fd.isAlive("a", last + 8000), true);
  assert.equal(fd.isAlive("a", last + 8001), false);
});

test("FailureDetector.phi() uses the prior interval so a new node does not flap", () => {
  const fd = new FailureDetector(); // prior 5 000 ms weighted as 5 samples
  fd.reportHeartbeat("a", 0);
  fd.reportHeartbeat("a", 100);
  // Mean (100 + 5 * 5000) / 6; without the prior it would be 100 ms and 2 s of silence would kill.
  const mean = (100 + 5 * 5000) / 6;
  assert.equal(fd.phi("a", 100 + 2000), 2000 / mean);
  assert.equal(fd.isAlive("a", 100 + 20_000), true);
  assert.equal(fd.isAlive("a", 100 + Math.ceil(8 * mean) + 1), false);
});

test("FailureDetector.phi() lets the prior fade as samples accumulate", () => {
  const fd = new FailureDetector();
  const last = beat(fd, "a", 0, 100, 100_000); // 1000 intervals of 100 ms
  const mean = (1000 * 100 + 5 * 5000) / 1005;
  assert.ok(Math.abs(fd.phi("a", last + 1000)! - 1000 / mean) < 1e-9);
  assert.ok(mean < 125);
  assert.equal(fd.isAlive("a", last + 1100), false);
});

test("FailureDetector.reportHeartbeat() ignores intervals above maxIntervalMs", () => {
  const fd = new FailureDetector({ maxIntervalMs: 10_000, initialIntervalMs: 1000 });
  fd.reportHeartbeat("a", 0);
  fd.reportHeartbeat("a", 20_000);
  assert.equal(fd.phi("a", 20_000), undefined);
  fd.reportHeartbeat("a", 20_500);
  // One sample of 500 ms: the 20 s gap did not count.
  assert.equal(fd.phi("a", 21_500), 1000 / ((500 + 5 * 1000) / 6));
});

test("FailureDetector.reportHeartbeat() keeps an interval equal to maxIntervalMs", () => {
  const fd = new FailureDetector({ maxIntervalMs: 3000, initialIntervalMs: 3000 });
  fd.reportHeartbeat("a", 0);
  fd.reportHeartbeat("a", 3000);
  assert.equal(fd.phi("a", 6000), 1);
});

test("FailureDetector.reportHeartbeat() keeps only the last samplingWindowSize intervals", () => {
  const fd = new FailureDetector({ samplingWindowSize: 3, initialIntervalMs: 1000 });
  let t = beat(fd, "a", 0, 1000, 3000); // three intervals of 1000 ms
  t = beat(fd, "a", t + 100, 100, t + 300); // three intervals of 100 ms push them out
  assert.equal(fd.phi("a", t + 1000), 1000 / ((300 + 5 * 1000) / 8));
});

test("FailureDetector.clearSamples() makes a revived node start afresh", () => {
  const fd = new FailureDetector({ initialIntervalMs: 1000 });
  const last = beat(fd, "a", 0, 100, 10_000); // many 100 ms intervals
  fd.clearSamples("a");
  assert.equal(fd.phi("a", last + 60_000), undefined);
  // The first heartbeat after death is 60 s late: above maxIntervalMs, no sample.
  fd.reportHeartbeat("a", last + 60_000);
  assert.equal(fd.phi("a", last + 60_000), undefined);
  assert.equal(fd.isAlive("a", last + 60_500), false);
  fd.reportHeartbeat("a", last + 62_000);
  // Only the new 2000 ms interval and the prior count; the old 100 ms ones are gone.
  assert.equal(fd.phi("a", last + 63_000), 1000 / ((2000 + 5 * 1000) / 6));
  assert.equal(fd.isAlive("a", last + 63_000), true);
});

test("FailureDetector.forget() drops a node's samples", () => {
  const fd = new FailureDetector();
  beat(fd, "a", 0, 1000, 5000);
  assert.notEqual(fd.phi("a", 5000), undefined);
  fd.forget("a");
  assert.equal(fd.phi("a", 5000), undefined);
  fd.reportHeartbeat("a", 6000);
  assert.equal(fd.phi("a", 6000), undefined);
});

test("FailureDetector() fills missing settings with the defaults", () => {
  const fd = new FailureDetector({ phiThreshold: 3 });
  assert.deepEqual(fd.config, { ...DEFAULT_FAILURE_DETECTOR_CONFIG, phiThreshold: 3 });
  assert.equal(DEFAULT_FAILURE_DETECTOR_CONFIG.deadNodeGracePeriodMs, 86_400_000);
});

test("FailureDetector with minMeanMs never divides by a mean below it: heartbeats seen several times a round do not make a few lost rounds a death", () => {
  const floored = new FailureDetector({ initialIntervalMs: 500 }, { minMeanMs: 500 });
  const bare = new FailureDetector({ initialIntervalMs: 500 });
  // Seen every 100 ms (raised per message, passed on by every peer), 20 s long.
  for (let t = 0; t <= 20_000; t += 100) {
    floored.reportHeartbeat("a", t);
    bare.reportHeartbeat("a", t);
  }
  // Two seconds of silence: four rounds of 500 ms.
  assert.equal(bare.isAlive("a", 22_000), false, "without the floor the mean is ~100 ms");
  assert.equal(floored.isAlive("a", 22_000), true);
  assert.equal(floored.phi("a", 22_000), 4);
  // A node that really stopped is still declared dead: after 8 rounds.
  assert.equal(floored.isAlive("a", 24_100), false);
  assert.throws(() => new FailureDetector({}, { minMeanMs: -1 }), /minMeanMs must be a number of at least 0, got -1/);
});
