/**
 * Replay protection for sealed gossip. Every sealer has a random 64-bit epoch
 * (new at each start) and counts the datagrams it seals; the receiver keeps,
 * per epoch, a sliding window of the counters it accepted (RFC 6479's ring of
 * bitmap blocks) and remembers at most `maxSenders` epochs, least recently
 * heard forgotten first. Rule kept here: while an epoch is remembered, each of
 * its counters is accepted at most once; an epoch not remembered is accepted
 * only when the datagram's timestamp is within `maxClockSkewMs` of ours.
 * @module
 */

/** Counters behind the newest one still accepted (out of order) per sender epoch. */
export const REPLAY_WINDOW = 1024;

/** Sender epochs a receiver remembers by default. */
export const DEFAULT_MAX_SENDERS = 4096;

/** Default largest distance between a new sender's timestamp and our clock (5 minutes). */
export const DEFAULT_MAX_CLOCK_SKEW_MS = 300_000;

const BLOCK_BITS = 32;
/** One block more than the window: the block being filled never overlaps the oldest. */
const BLOCKS = REPLAY_WINDOW / BLOCK_BITS + 1;

/** What {@linkcode ReplayGuard.check} says of a datagram. */
export type ReplayVerdict = "fresh" | "replayed" | "stale";

/** Options of {@linkcode ReplayGuard}. */
export interface ReplayGuardOptions {
  /** Sender epochs remembered at most (default 4096); the least recently heard is forgotten first. */
  readonly maxSenders?: number;
  /** Largest distance, in ms, between an unknown sender's timestamp and `now()` (default 5 minutes). */
  readonly maxClockSkewMs?: number;
  /** Wall-clock milliseconds (default `Date.now`). */
  readonly now?: () => number;
}

/**
 * The counters accepted from one sender epoch: the newest, and a bitmap of the
 * window behind it. It starts at the first counter heard, with the window
 * behind it open: datagrams sealed just before it may arrive after it (the
 * network, or WebCrypto finishing decryptions out of order, can swap them).
 */
class CounterWindow {
  #top: number;
  #bits = new Uint32Array(BLOCKS);

  constructor(first: number) {
    this.#top = first - 1;
    this.accept(first);
  }

  /** Records `counter` and returns true, or returns false when it was seen or is too old. */
  accept(counter: number): boolean {
    if (counter > this.#top) {
      const from = Math.floor(this.#top / BLOCK_BITS);
      const steps = Math.min(Math.floor(counter / BLOCK_BITS) - from, BLOCKS);
      for (let i = 1; i <= steps; i++) this.#bits[(from + i) % BLOCKS] = 0;
      this.#top = counter;
    } else if (this.#top - counter >= REPLAY_WINDOW) {
      return false;
    }
    const block = Math.floor(counter / BLOCK_BITS) % BLOCKS;
    const bit = 1 << (counter % BLOCK_BITS);
    if ((this.#bits[block] & bit) !== 0) return false;
    this.#bits[block] |= bit;
    return true;
  }
}

/**
 * The receiver's memory of sender epochs and their counters. Feed it only
 * datagrams that authenticated: it trusts the epoch, counter and timestamp it
 * is given.
 *
 * @example
 * ```ts
 * import { ReplayGuard } from "./replay_window.ts";
 * import assert from "node:assert/strict";
 * const guard = new ReplayGuard({ now: () => 1_000_000 });
 * assert.equal(guard.check("epoch-1", 7, 1_000_000), "fresh");
 * assert.equal(guard.check("epoch-1", 7, 1_000_000), "replayed");
 * assert.equal(guard.check("epoch-1", 9, 1_000_000), "fresh");
 * assert.equal(guard.check("epoch-1", 8, 1_000_000), "fresh", "out of order, within the window");
 * assert.equal(guard.check("epoch-1", 8, 1_000_000), "replayed");
 * assert.equal(guard.check("epoch-2", 0, 0), "stale", "an unknown sender far from our clock");
 * ```
 */
export class ReplayGuard {
  #senders = new Map<string, CounterWindow>();
  #maxSenders: number;
  #maxSkewMs: number;
  #now: () => number;

  /** Checks the options: `RangeError` naming a bound that is not a positive number. */
  constructor(options: ReplayGuardOptions = {}) {
    this.#maxSenders = options.maxSenders ?? DEFAULT_MAX_SENDERS;
    this.#maxSkewMs = options.maxClockSkewMs ?? DEFAULT_MAX_CLOCK_SKEW_MS;
    this.#now = options.now ?? Date.now;
    if (!Number.isSafeInteger(this.#maxSenders) || this.#maxSenders < 1) {
      throw new RangeError(
        `Replay option "maxSenders" must be a positive integer (got ${this.#maxSenders})`,
      );
    }
    if (!(this.#maxSkewMs > 0)) {
      throw new RangeError(
        `Replay option "maxClockSkewMs" must be a positive number (got ${this.#maxSkewMs})`,
      );
    }
  }

  /** Sender epochs remembered now (at most `maxSenders`). */
  get size(): number {
    return this.#senders.size;
  }

  /** The wall-clock time this guard compares timestamps with. */
  now(): number {
    return this.#now();
  }

  /**
   * Accepts (`"fresh"`, and remembers) or refuses the datagram numbered
   * `counter` of `epoch`, sealed at `sentAtMs` by its sender's clock:
   * `"replayed"` when that counter was accepted already or is more than
   * {@linkcode REPLAY_WINDOW} behind the newest; `"stale"` when the epoch is
   * not remembered and `sentAtMs` is more than `maxClockSkewMs` from `now()`.
   */
  check(epoch: string, counter: number, sentAtMs: number): ReplayVerdict {
    const window = this.#senders.get(epoch);
    if (window === undefined) {
      if (!(Math.abs(this.#now() - sentAtMs) <= this.#maxSkewMs)) return "stale";
      if (this.#senders.size >= this.#maxSenders) {
        this.#senders.delete(this.#senders.keys().next().value!);
      }
      this.#senders.set(epoch, new CounterWindow(counter));
      return "fresh";
    }
    this.#senders.delete(epoch);
    this.#senders.set(epoch, window);
    return window.accept(counter) ? "fresh" : "replayed";
  }
}
