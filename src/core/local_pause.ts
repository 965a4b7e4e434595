/**
 * Telling a pause of this node from silence of the others. Every input of
 * the core (a round, a message, a leave) comes with the time; a round is due
 * every gossip interval, so a long gap with no input at all means this
 * process was suspended or starved (a stopped VM, a long GC, an overloaded
 * host), not that the cluster went quiet. Rule kept here: the part of such a
 * gap past one interval is the pause, to be discounted from every node's
 * silence (as Cassandra does), and a node cut off from the network, whose
 * rounds still run, never sees one.
 * @module
 */

/** A gap counts as a pause past this many gossip intervals... */
const PAUSE_INTERVALS = 2;
/** ...and past one second, whatever the interval: shorter gaps are scheduling noise. */
const PAUSE_MIN_MS = 1_000;

/**
 * Follows the time of the core's inputs and names the pauses among them.
 *
 * @example
 * ```ts
 * import { LocalPauses } from "./local_pause.ts";
 * import assert from "node:assert/strict";
 * const pauses = new LocalPauses(0, 1000);
 * assert.equal(pauses.observe(1000, true), 0); // a round on time
 * assert.equal(pauses.observe(31_000, true), 29_000); // 30 s with no input: 29 s of pause
 * assert.equal(pauses.count, 1);
 * ```
 */
export class LocalPauses {
  #last: number;
  #intervalMs: number;
  #count = 0;

  /** Starts at `now`, for a node that runs a round every `intervalMs`. */
  constructor(now: number, intervalMs: number) {
    this.#last = now;
    this.#intervalMs = intervalMs;
  }

  /** The latest input time seen. */
  get now(): number {
    return this.#last;
  }

  /** Pauses found so far. */
  get count(): number {
    return this.#count;
  }

  /**
   * An input at `now`. `roundsDue` is false while no round is due before a
   * later deadline (a leave under way), when a quiet wait is no pause.
   * Returns the milliseconds of pause to discount (0 for none).
   */
  observe(now: number, roundsDue: boolean): number {
    const gap = now - this.#last;
    this.#last = Math.max(this.#last, now);
    if (!roundsDue || gap <= Math.max(PAUSE_INTERVALS * this.#intervalMs, PAUSE_MIN_MS)) return 0;
    this.#count++;
    return gap - this.#intervalMs;
  }
}
