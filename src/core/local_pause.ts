/**
 * Telling a pause of this node from silence of the others. Every input of
 * the core (a round, a message, a leave) comes with the time; a round is due
 * every gossip interval, so a gap of several intervals with no input at all
 * means this process was suspended or starved (a stopped VM, a long GC, an
 * overloaded host), not that the cluster went quiet. Rule kept here: the part
 * of such a gap past one interval is the pause, to be discounted from every
 * node's silence; a node cut off from the network, whose rounds still run,
 * never sees one.
 * @module
 */

/** A gap without input counts as a pause past this many gossip intervals. */
const PAUSE_INTERVALS = 2;
/** At most one warning per this many ms: a starved host pauses over and over. */
const WARNING_EVERY_MS = 60_000;

/**
 * Follows the time of the core's inputs and names the pauses among them.
 * The first input only sets the baseline: a core built long before it is
 * first driven has not been paused.
 *
 * @example
 * ```ts
 * import { LocalPauses } from "./local_pause.ts";
 * import assert from "node:assert/strict";
 * const pauses = new LocalPauses(1000);
 * assert.equal(pauses.observe(0, true), 0); // the baseline
 * assert.equal(pauses.observe(1000, true), 0); // a round on time
 * assert.equal(pauses.observe(31_000, true), 29_000); // 30 s with no input: 29 s of pause
 * assert.equal(pauses.count, 1);
 * ```
 */
export class LocalPauses {
  #last: number | undefined = undefined;
  #intervalMs: number;
  #count = 0;
  #unwarned = 0;
  #warnedAt: number | undefined = undefined;

  /** For a node that runs a round every `intervalMs` (a positive number). */
  constructor(intervalMs: number) {
    if (!(intervalMs > 0)) throw new RangeError(`LocalPauses: intervalMs must be a positive number, got ${intervalMs}`);
    this.#intervalMs = intervalMs;
  }

  /** Pauses found so far. */
  get count(): number {
    return this.#count;
  }

  /**
   * An input at `now` (times that go back are taken as no gap).
   * `roundsDue` is false while no round is due before a later deadline (a
   * leave under way): a quiet wait then is no pause. Returns the
   * milliseconds of pause to discount, the gap less one interval (0 for
   * none).
   */
  observe(now: number, roundsDue: boolean): number {
    const last = this.#last;
    this.#last = last === undefined ? now : Math.max(last, now);
    if (last === undefined || !roundsDue) return 0;
    const gap = now - last;
    if (gap <= PAUSE_INTERVALS * this.#intervalMs) return 0;
    this.#count++;
    this.#unwarned++;
    return gap - this.#intervalMs;
  }

  /**
   * Whether to warn about the pause just observed at `now`: at most once a
   * minute. Returns the number of earlier pauses not warned about, or
   * `undefined` when this one is to be counted silently.
   */
  takeWarning(now: number): number | undefined {
    if (this.#unwarned === 0) return undefined;
    if (this.#warnedAt !== undefined && now - this.#warnedAt < WARNING_EVERY_MS) return undefined;
    const earlier = this.#unwarned - 1;
    this.#unwarned = 0;
    this.#warnedAt = now;
    return earlier;
  }
}
