/**
 * Time for the runtime: a monotonic `now()` and one-shot timers. The system
 * clock is the default; `ManualClock` in `src/testing` drives simulations.
 * @module
 */

/**
 * A source of monotonic time and one-shot timers.
 *
 * @example A fixed-time clock that never fires
 * ```ts
 * import type { Clock } from "@scope/chitchat";
 * const frozen: Clock = { now: () => 0, setTimer: () => () => {} };
 * console.assert(frozen.now() === 0);
 * ```
 */
export interface Clock {
  /** Monotonic milliseconds; only differences are meaningful. */
  now(): number;
  /** Calls `fn` once after `delayMs` milliseconds; returns a function that cancels it. */
  setTimer(delayMs: number, fn: () => void): () => void;
  /**
   * The clock this one reads its time from, when it wraps another (say, to
   * hold timers while a simulated node is paused). Clocks with the same
   * source share one wall-clock origin, so nodes on wrappers of one
   * simulation clock agree on sealed gossip's timestamps. Default: itself.
   */
  readonly source?: Clock;
}

/**
 * The real clock: `performance.now()` and `setTimeout`.
 *
 * @example
 * ```ts
 * import { systemClock } from "@scope/chitchat";
 * const cancel = systemClock.setTimer(10, () => {});
 * cancel();
 * ```
 */
export const systemClock: Clock = {
  now: (): number => performance.now(),
  setTimer(delayMs: number, fn: () => void): () => void {
    const handle = setTimeout(fn, Math.max(0, delayMs));
    return () => clearTimeout(handle);
  },
};
