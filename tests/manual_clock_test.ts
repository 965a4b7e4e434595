import { test } from "node:test";
import assert from "node:assert/strict";
import { ManualClock } from "../src/testing/manual_clock.ts";
import { createRandom, randomInt } from "../src/testing/random.ts";

test("ManualClock starts at 0 or at the given start", () => {
  assert.equal(new ManualClock().now(), 0);
  assert.equal(new ManualClock({ start: 1000 }).now(), 1000);
  assert.throws(() => new ManualClock({ start: Number.NaN }), RangeError);
});

test("advance() fires due timers in time order with now() at each due time", () => {
  const clock = new ManualClock();
  const fired: [string, number][] = [];
  clock.setTimer(30, () => fired.push(["c", clock.now()]));
  clock.setTimer(10, () => fired.push(["a", clock.now()]));
  clock.setTimer(20, () => fired.push(["b", clock.now()]));
  assert.equal(clock.advance(25), 2);
  assert.deepEqual(fired, [["a", 10], ["b", 20]]);
  assert.equal(clock.now(), 25);
  assert.equal(clock.pendingTimers, 1);
  clock.advance(5);
  assert.deepEqual(fired.at(-1), ["c", 30]);
});

test("advance() fires equal due times in scheduling order", () => {
  const clock = new ManualClock();
  const fired: number[] = [];
  for (let i = 0; i < 50; i++) clock.setTimer(i % 2 === 0 ? 5 : 3 + 2, () => fired.push(i));
  clock.advance(5);
  assert.deepEqual(fired, Array.from({ length: 50 }, (_, i) => i));
});

test("advance() fires timers scheduled by callbacks inside the window", () => {
  const clock = new ManualClock();
  const fired: [string, number][] = [];
  clock.setTimer(10, () => {
    fired.push(["first", clock.now()]);
    clock.setTimer(0, () => fired.push(["zero", clock.now()]));
    clock.setTimer(5, () => fired.push(["inside", clock.now()]));
    clock.setTimer(50, () => fired.push(["outside", clock.now()]));
  });
  clock.setTimer(10, () => fired.push(["second", clock.now()]));
  assert.equal(clock.advance(20), 4);
  assert.deepEqual(fired, [["first", 10], ["second", 10], ["zero", 10], ["inside", 15]]);
  assert.equal(clock.pendingTimers, 1);
  assert.equal(clock.nextTimerAt(), 60);
});

test("advance(0) fires timers due now, including zero delays", () => {
  const clock = new ManualClock();
  let fired = 0;
  clock.setTimer(0, () => fired++);
  clock.setTimer(-5, () => fired++);
  assert.equal(fired, 0);
  clock.advance(0);
  assert.equal(fired, 2);
});

test("cancel() stops a timer, is idempotent and does nothing after firing", () => {
  const clock = new ManualClock();
  let fired = 0;
  const cancel = clock.setTimer(10, () => fired++);
  const other = clock.setTimer(10, () => fired++);
  assert.equal(clock.pendingTimers, 2);
  cancel();
  cancel();
  assert.equal(clock.pendingTimers, 1);
  clock.advance(10);
  assert.equal(fired, 1);
  other();
  assert.equal(clock.pendingTimers, 0);
  assert.equal(clock.nextTimerAt(), undefined);
});

test("cancel() from inside a callback prevents a timer due at the same time", () => {
  const clock = new ManualClock();
  const fired: string[] = [];
  let cancelB = (): void => {};
  clock.setTimer(5, () => {
    fired.push("a");
    cancelB();
  });
  cancelB = clock.setTimer(5, () => fired.push("b"));
  clock.advance(5);
  assert.deepEqual(fired, ["a"]);
});

test("advanceToNextTimer() jumps to the next due time only", () => {
  const clock = new ManualClock();
  const fired: number[] = [];
  clock.setTimer(7, () => fired.push(1));
  clock.setTimer(7, () => fired.push(2));
  clock.setTimer(9, () => fired.push(3));
  assert.equal(clock.advanceToNextTimer(), 2);
  assert.equal(clock.now(), 7);
  assert.deepEqual(fired, [1, 2]);
  assert.equal(clock.advanceToNextTimer(), 1);
  assert.equal(clock.now(), 9);
  assert.equal(clock.advanceToNextTimer(), 0);
  assert.equal(clock.now(), 9);
});

test("runUntilIdle() stops at the last timer or at the limit", () => {
  const clock = new ManualClock();
  let count = 0;
  clock.setTimer(10, () => {
    count++;
    clock.setTimer(10, () => count++);
  });
  assert.equal(clock.runUntilIdle(1000), 2);
  assert.equal(clock.now(), 20);
  const tick = (): void => {
    count++;
    clock.setTimer(100, tick);
  };
  clock.setTimer(100, tick);
  assert.equal(clock.runUntilIdle(1050), 10);
  assert.equal(clock.now(), 1070);
  assert.equal(clock.pendingTimers, 1);
});

test("advanceTo() moves to an absolute time and never backwards", () => {
  const clock = new ManualClock({ start: 100 });
  let fired = 0;
  clock.setTimer(50, () => fired++);
  clock.advanceTo(150);
  assert.equal(fired, 1);
  clock.advanceTo(120);
  assert.equal(clock.now(), 150);
});

test("a throwing callback propagates and leaves later timers pending", () => {
  const clock = new ManualClock();
  let later = 0;
  clock.setTimer(5, () => {
    throw new Error("boom");
  });
  clock.setTimer(8, () => later++);
  assert.throws(() => clock.advance(10), /boom/);
  assert.equal(clock.now(), 5);
  assert.equal(clock.pendingTimers, 1);
  clock.advance(5);
  assert.equal(later, 1);
});

test("moving time from inside a callback throws", () => {
  const clock = new ManualClock();
  let caught: unknown;
  clock.setTimer(1, () => {
    try {
      clock.advance(1);
    } catch (error) {
      caught = error;
    }
  });
  clock.advance(1);
  assert.ok(caught instanceof Error);
  assert.match(caught.message, /inside a timer callback/);
});

test("invalid spans and delays are refused with RangeError naming the value", () => {
  const clock = new ManualClock();
  assert.throws(() => clock.advance(-1), { name: "RangeError", message: /-1/ });
  assert.throws(() => clock.advance(Number.POSITIVE_INFINITY), RangeError);
  assert.throws(() => clock.setTimer(Number.NaN, () => {}), { name: "RangeError", message: /NaN/ });
  assert.throws(() => clock.runUntilIdle(-3), RangeError);
});

test("the heap orders 100 000 random timers and survives compaction after mass cancellation", () => {
  const clock = new ManualClock();
  const random = createRandom(11);
  const fired: [number, number][] = [];
  const cancels: (() => void)[] = [];
  const cancelled = new Set<number>();
  for (let i = 0; i < 100_000; i++) {
    const due = randomInt(random, 10_000);
    cancels.push(clock.setTimer(due, () => fired.push([clock.now(), i])));
  }
  for (let i = 0; i < 100_000; i++) {
    if (i % 3 === 0) continue;
    cancels[i]();
    cancelled.add(i);
  }
  assert.equal(clock.pendingTimers, 100_000 - cancelled.size);
  assert.equal(clock.advance(10_000), 100_000 - cancelled.size);
  for (let k = 1; k < fired.length; k++) {
    const [t0, i0] = fired[k - 1];
    const [t1, i1] = fired[k];
    assert.ok(t0 < t1 || (t0 === t1 && i0 < i1), `order broken at ${k}`);
  }
  assert.ok(fired.every(([, i]) => !cancelled.has(i)));
  assert.equal(clock.pendingTimers, 0);
});
