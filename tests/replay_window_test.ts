import { test } from "node:test";
import assert from "node:assert/strict";
import {
  DEFAULT_MAX_CLOCK_SKEW_MS,
  DEFAULT_MAX_SENDERS,
  REPLAY_WINDOW,
  ReplayGuard,
} from "../src/runtime/replay_window.ts";
import { createRandom } from "../src/testing/random.ts";

const NOW = 1_700_000_000_000;

test("ReplayGuard.check() accepts each counter of an epoch once, in any order within the window", () => {
  const guard = new ReplayGuard({ now: () => NOW });
  for (let c = 0; c < 100; c++) assert.equal(guard.check("e", c, NOW), "fresh", `counter ${c}`);
  for (let c = 0; c < 100; c++) {
    assert.equal(guard.check("e", c, NOW), "replayed", `counter ${c} again`);
  }
  assert.equal(guard.check("e", 5000, NOW), "fresh", "a jump ahead");
  assert.equal(
    guard.check("e", 5000 - REPLAY_WINDOW + 1, NOW),
    "fresh",
    "the oldest counter still in the window",
  );
  assert.equal(guard.check("e", 5000 - REPLAY_WINDOW, NOW), "replayed", "one behind the window");
  assert.equal(guard.check("e", 99, NOW), "replayed", "far behind the window");
  assert.equal(guard.check("other", 0, NOW), "fresh", "epochs are counted apart");
  assert.equal(guard.check("late", 40, NOW), "fresh", "first contact at counter 40");
  assert.equal(guard.check("late", 39, NOW), "fresh", "sealed before it, arrived after it");
  assert.equal(guard.check("late", 39, NOW), "replayed");
  assert.equal(guard.check("edge", 31, NOW), "fresh", "first contact at the end of a bitmap block");
  assert.equal(guard.check("edge", 32, NOW), "fresh");
  assert.equal(guard.check("edge", 30, NOW), "fresh");
  assert.equal(guard.check("edge", 31, NOW), "replayed");
  assert.equal(guard.check("edge", 30, NOW), "replayed");
  const big = 2 ** 53 - 2;
  assert.equal(guard.check("e", big, NOW), "fresh");
  assert.equal(guard.check("e", big, NOW), "replayed");
  assert.equal(guard.check("e", big + 1, NOW), "fresh");
});

test("ReplayGuard.check() agrees with a set of every counter seen, for random arrival orders", () => {
  const random = createRandom(77);
  for (let run = 0; run < 20; run++) {
    const guard = new ReplayGuard({ now: () => NOW });
    const seen = new Set<number>();
    let top = -1;
    let base = Math.floor(random() * 100);
    for (let i = 0; i < 5_000; i++) {
      // Mostly in order with reordering and duplicates, now and then a long jump.
      const r = random();
      if (r < 0.01) base += Math.floor(random() * 3 * REPLAY_WINDOW);
      else base += Math.floor(random() * 3);
      const counter = Math.max(0, base - Math.floor(random() * random() * 1.5 * REPLAY_WINDOW));
      const expected = seen.has(counter) || top - counter >= REPLAY_WINDOW ? "replayed" : "fresh";
      assert.equal(
        guard.check("e", counter, NOW),
        expected,
        `run ${run}, arrival ${i}: counter ${counter}, top ${top}`,
      );
      if (expected === "fresh") {
        seen.add(counter);
        top = Math.max(top, counter);
      }
    }
  }
});

test("ReplayGuard judges only unknown epochs by their timestamp, and does not remember the stale", () => {
  let now = NOW;
  const guard = new ReplayGuard({ now: () => now });
  assert.equal(guard.check("a", 0, NOW - DEFAULT_MAX_CLOCK_SKEW_MS - 1), "stale");
  assert.equal(
    guard.check("a", 0, NOW + DEFAULT_MAX_CLOCK_SKEW_MS + 1),
    "stale",
    "from the future too",
  );
  assert.equal(guard.size, 0, "a stale datagram leaves no trace");
  assert.equal(guard.check("a", 0, NOW - DEFAULT_MAX_CLOCK_SKEW_MS), "fresh");
  now += 3_600_000;
  assert.equal(guard.check("a", 1, NOW), "fresh", "a known epoch is never judged by its clock");
  assert.equal(guard.check("b", 0, NOW), "stale");
});

test("ReplayGuard remembers at most maxSenders epochs, 10 000 senders or not, forgetting the least recently heard", () => {
  const guard = new ReplayGuard({ now: () => NOW });
  for (let s = 0; s < 10_000; s++) {
    assert.equal(guard.check(`sender-${s}`, 0, NOW), "fresh");
    // An active sender heard all along is never forgotten.
    assert.equal(guard.check("steady", s, NOW), "fresh");
    assert.ok(guard.size <= DEFAULT_MAX_SENDERS);
  }
  assert.equal(guard.size, DEFAULT_MAX_SENDERS);
  assert.equal(guard.check("steady", 9_999, NOW), "replayed");
  assert.equal(guard.check("sender-9999", 0, NOW), "replayed", "a recent sender is remembered");
  // A forgotten epoch is new again: only the clock bound stands between it and an old recording.
  assert.equal(guard.check("sender-0", 0, NOW - DEFAULT_MAX_CLOCK_SKEW_MS - 1), "stale");
  assert.equal(guard.check("sender-0", 0, NOW), "fresh");

  const small = new ReplayGuard({ maxSenders: 3, now: () => NOW });
  for (const s of ["a", "b", "c"]) small.check(s, 0, NOW);
  small.check("a", 1, NOW);
  small.check("d", 0, NOW);
  assert.equal(small.size, 3);
  assert.equal(small.check("a", 1, NOW), "replayed", "a was heard last but one: kept");
  assert.equal(small.check("b", 0, NOW), "fresh", "b was the least recently heard: forgotten");
});

test("new ReplayGuard() refuses bounds that are not positive with a RangeError naming them", () => {
  assert.throws(
    () => new ReplayGuard({ maxSenders: 0 }),
    /"maxSenders" must be a positive integer \(got 0\)/,
  );
  assert.throws(() => new ReplayGuard({ maxSenders: 1.5 }), RangeError);
  assert.throws(
    () => new ReplayGuard({ maxClockSkewMs: -1 }),
    /"maxClockSkewMs" must be a positive number \(got -1\)/,
  );
  assert.throws(() => new ReplayGuard({ maxClockSkewMs: Number.NaN }), RangeError);
  assert.equal(
    new ReplayGuard({ maxClockSkewMs: Infinity }).check("x", 0, 0),
    "fresh",
    "Infinity turns the bound off",
  );
});
