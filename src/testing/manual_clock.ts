/**
 * A virtual clock for simulations and tests: time moves only when the test
 * says so, and due timers fire in (due time, scheduling order). Timers live
 * in a binary heap; cancelling is O(1) and lazy (the entry is skipped when it
 * surfaces, and the heap is compacted when cancelled entries dominate).
 * @module
 */

import type { Clock } from "../runtime/clock.ts";

/** Options for {@linkcode ManualClock}. */
export interface ManualClockOptions {
  /** The initial value of `now()`, in milliseconds. Defaults to 0. */
  start?: number;
}

interface TimerEntry {
  due: number;
  seq: number;
  /** The callback; null once fired or cancelled. */
  fn: (() => void) | null;
}

function before(a: TimerEntry, b: TimerEntry): boolean {
  return a.due < b.due || (a.due === b.due && a.seq < b.seq);
}

function checkSpan(value: number, what: string): number {
  if (!Number.isFinite(value) || value < 0) {
    throw new RangeError(`${what} ${value} is not a finite number of milliseconds >= 0`);
  }
  return value;
}

/**
 * A {@linkcode Clock} whose time only moves through {@linkcode ManualClock.advance}
 * and its siblings. Nothing ever fires on its own, so tests never sleep.
 *
 * Firing rules, for every method that moves time:
 * - due timers fire in order of due time; equal due times fire in the order
 *   they were scheduled;
 * - during a callback, `now()` equals that timer's due time;
 * - a timer scheduled by a callback fires in the same call when it falls due
 *   within the window being advanced (a zero delay fires after the timers
 *   already due at that instant);
 * - a callback that throws stops the call: the error propagates, `now()`
 *   stays at that timer's due time and later timers stay pending.
 *
 * Moving time from inside a callback throws an `Error`.
 *
 * @example Timers fire as time is advanced
 * ```ts
 * import { ManualClock } from "@scope/chitchat/testing";
 * import assert from "node:assert/strict";
 * const clock = new ManualClock();
 * const fired: number[] = [];
 * clock.setTimer(100, () => fired.push(clock.now()));
 * const cancel = clock.setTimer(50, () => fired.push(-1));
 * cancel();
 * clock.advance(99);
 * assert.deepEqual(fired, []);
 * clock.advance(1);
 * assert.deepEqual(fired, [100]);
 * assert.equal(clock.pendingTimers, 0);
 * ```
 */
export class ManualClock implements Clock {
  #now: number;
  #seq = 0;
  #heap: TimerEntry[] = [];
  #pending = 0;
  #cancelledInHeap = 0;
  #running = false;

  /** Creates a clock at `options.start` (default 0) with no timers. */
  constructor(options: ManualClockOptions = {}) {
    const start = options.start ?? 0;
    if (!Number.isFinite(start)) throw new RangeError(`Start time ${start} is not a finite number`);
    this.#now = start;
  }

  /** The current virtual time in milliseconds. */
  now(): number {
    return this.#now;
  }

  /** How many timers are scheduled and neither fired nor cancelled. */
  get pendingTimers(): number {
    return this.#pending;
  }

  /**
   * Schedules `fn` at `now() + delayMs` (a negative delay counts as 0, as with
   * `setTimeout`) and returns a function that cancels it; cancelling a fired
   * or cancelled timer does nothing.
   *
   * @throws {RangeError} When `delayMs` is NaN or infinite.
   */
  setTimer(delayMs: number, fn: () => void): () => void {
    if (!Number.isFinite(delayMs)) {
      throw new RangeError(`Timer delay ${delayMs} is not a finite number of milliseconds`);
    }
    const entry: TimerEntry = { due: this.#now + Math.max(0, delayMs), seq: this.#seq++, fn };
    this.#push(entry);
    this.#pending++;
    return () => {
      if (entry.fn === null) return;
      entry.fn = null;
      this.#pending--;
      this.#cancelledInHeap++;
      if (this.#cancelledInHeap > 1024 && this.#cancelledInHeap * 2 > this.#heap.length) {
        this.#compact();
      }
    };
  }

  /** The due time of the next pending timer, or `undefined` when none is pending. */
  nextTimerAt(): number | undefined {
    return this.#peek()?.due;
  }

  /**
   * Moves time forward by `ms`, firing every timer due up to the new time.
   *
   * @returns The number of timers fired.
   * @throws {RangeError} When `ms` is negative, NaN or infinite.
   */
  advance(ms: number): number {
    return this.advanceTo(this.#now + checkSpan(ms, "Advance of"));
  }

  /**
   * Moves time forward to `time`, firing every timer due up to it. A time in
   * the past fires the timers due now and leaves `now()` unchanged.
   *
   * @returns The number of timers fired.
   */
  advanceTo(time: number): number {
    if (!Number.isFinite(time)) throw new RangeError(`Target time ${time} is not a finite number`);
    const fired = this.#fireUntil(time);
    if (time > this.#now) this.#now = time;
    return fired;
  }

  /**
   * Jumps to the due time of the next pending timer and fires every timer due
   * at that instant (including zero-delay timers they schedule).
   *
   * @returns The number of timers fired; 0 (time unchanged) when none is pending.
   */
  advanceToNextTimer(): number {
    const next = this.#peek();
    return next === undefined ? 0 : this.advanceTo(next.due);
  }

  /**
   * Fires timers in order until none is pending or the next one is due after
   * `now() + limitMs`. When idle, `now()` is left at the last fired timer's
   * due time; when the limit stops it, at `now() + limitMs`. Periodic timers
   * (a gossip loop) never go idle, hence the mandatory limit.
   *
   * @returns The number of timers fired.
   * @throws {RangeError} When `limitMs` is negative, NaN or infinite.
   */
  runUntilIdle(limitMs: number): number {
    const limit = this.#now + checkSpan(limitMs, "Limit of");
    const fired = this.#fireUntil(limit);
    if (this.#pending > 0) this.#now = limit;
    return fired;
  }

  #fireUntil(time: number): number {
    if (this.#running) throw new Error("ManualClock cannot move time from inside a timer callback");
    this.#running = true;
    let fired = 0;
    try {
      for (let next = this.#peek(); next !== undefined && next.due <= time; next = this.#peek()) {
        this.#pop();
        const fn = next.fn as () => void;
        next.fn = null;
        this.#pending--;
        if (next.due > this.#now) this.#now = next.due;
        fired++;
        fn();
      }
    } finally {
      this.#running = false;
    }
    return fired;
  }

  /** The earliest live entry, dropping cancelled ones from the top. */
  #peek(): TimerEntry | undefined {
    const heap = this.#heap;
    while (heap.length > 0 && heap[0].fn === null) {
      this.#pop();
      this.#cancelledInHeap--;
    }
    return heap[0];
  }

  #push(entry: TimerEntry): void {
    const heap = this.#heap;
    let i = heap.length;
    heap.push(entry);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(entry, heap[parent])) break;
      heap[i] = heap[parent];
      i = parent;
    }
    heap[i] = entry;
  }

  #pop(): void {
    const heap = this.#heap;
    const last = heap.pop() as TimerEntry;
    if (heap.length > 0) {
      heap[0] = last;
      this.#siftDown(0);
    }
  }

  #siftDown(start: number): void {
    const heap = this.#heap;
    const n = heap.length;
    const entry = heap[start];
    let i = start;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && before(heap[right], heap[left]) ? right : left;
      if (!before(heap[child], entry)) break;
      heap[i] = heap[child];
      i = child;
    }
    heap[i] = entry;
  }

  /** Drops every cancelled entry and rebuilds the heap in O(n). */
  #compact(): void {
    this.#heap = this.#heap.filter((entry) => entry.fn !== null);
    this.#cancelledInHeap = 0;
    for (let i = (this.#heap.length >> 1) - 1; i >= 0; i--) this.#siftDown(i);
  }
}
