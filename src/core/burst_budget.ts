/**
 * How much a node may send to peers that are far behind it, beyond the one
 * `SynAck` each of their `Syn`s gets: the catch-up burst. When the delta of a
 * `SynAck` had to be cut to the datagram, the responder follows it with a few
 * `Ack`s, each holding node deltas the `SynAck` did not carry (a node goes in
 * one datagram only, so each applies on its own and a lost one loses only its
 * nodes, which later rounds send again). The limits here bound that burst per
 * answer, per peer and per round, and per node and per round, so a node that
 * is behind catches up at the rate of its link rather than of its fanout, and
 * a node in step never sees one. Pure bookkeeping: the caller starts a round.
 * @module
 */

/**
 * The limits of catch-up bursts.
 *
 * @example
 * ```ts
 * import { BURST_LIMITS, type BurstLimits } from "@scope/chitchat/core";
 * const limits: BurstLimits = { ...BURST_LIMITS, piecesPerAnswer: 4 };
 * console.assert(limits.bytesPerPeerPerRound === BURST_LIMITS.bytesPerPeerPerRound);
 * ```
 */
export interface BurstLimits {
  /** Datagrams that may follow one `SynAck`. */
  readonly piecesPerAnswer: number;
  /** Bytes of bursts one peer may be sent in a round (the `SynAck`s themselves not counted). */
  readonly bytesPerPeerPerRound: number;
  /** Burst datagrams this node may send in a round, to all peers together. */
  readonly datagramsPerRound: number;
}

/**
 * The default limits: up to 8 datagrams after a `SynAck`, 12 000 bytes per
 * peer and 24 datagrams in all per round. At MTU 1 400 a peer that is behind
 * receives about 9 times what the `SynAck` alone carries; a node answering
 * many such peers at once sends at most 24 more datagrams a round (reasons and
 * measurements in docs/ALGORITHM.md, "Catch-up bursts").
 *
 * @example
 * ```ts
 * import { BURST_LIMITS } from "@scope/chitchat/core";
 * console.assert(BURST_LIMITS.piecesPerAnswer === 8);
 * ```
 */
export const BURST_LIMITS: BurstLimits = Object.freeze({
  piecesPerAnswer: 8,
  bytesPerPeerPerRound: 12_000,
  datagramsPerRound: 24,
});

/**
 * What is left of this round's burst allowance, per peer and in all. Call
 * `newRound()` at the start of each gossip round, `allows(peer, bytes)`
 * before sending a piece and `spend(peer, bytes)` after.
 *
 * @example
 * ```ts
 * import { BurstBudget } from "@scope/chitchat/core";
 * const budget = new BurstBudget({ piecesPerAnswer: 8, bytesPerPeerPerRound: 2_000, datagramsPerRound: 3 });
 * console.assert(budget.allows("10.0.0.1:7280", 1_400));
 * budget.spend("10.0.0.1:7280", 1_400);
 * console.assert(!budget.allows("10.0.0.1:7280", 1_400), "over the peer's 2 000 bytes");
 * budget.newRound();
 * console.assert(budget.allows("10.0.0.1:7280", 1_400));
 * ```
 */
export class BurstBudget {
  /** The limits this budget applies. */
  readonly limits: BurstLimits;
  #bytesTo = new Map<string, number>();
  #datagrams = 0;

  /**
   * A budget with `limits` (default {@linkcode BURST_LIMITS}), nothing spent.
   * Throws a `RangeError` naming the field when a limit is not a
   * non-negative integer.
   */
  constructor(limits: BurstLimits = BURST_LIMITS) {
    for (const field of ["piecesPerAnswer", "bytesPerPeerPerRound", "datagramsPerRound"] as const) {
      const value = limits[field];
      if (!Number.isSafeInteger(value) || value < 0) {
        throw new RangeError(`burstLimits.${field} must be a non-negative integer, got ${String(value)}`);
      }
    }
    this.limits = limits;
  }

  /** True when a piece of `bytes` may still go to `peer` this round. */
  allows(peer: string, bytes: number): boolean {
    if (this.#datagrams >= this.limits.datagramsPerRound) return false;
    return (this.#bytesTo.get(peer) ?? 0) + bytes <= this.limits.bytesPerPeerPerRound;
  }

  /** Counts a piece of `bytes` sent to `peer`. */
  spend(peer: string, bytes: number): void {
    this.#datagrams++;
    this.#bytesTo.set(peer, (this.#bytesTo.get(peer) ?? 0) + bytes);
  }

  /** Starts a round: every allowance is whole again. */
  newRound(): void {
    this.#datagrams = 0;
    this.#bytesTo.clear();
  }
}
