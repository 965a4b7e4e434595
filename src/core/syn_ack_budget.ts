/**
 * How a `SynAck` and an `Ack` share their datagram between digest entries and
 * the delta: pure functions, every share a named constant. The reasons for
 * each figure (and what other values measured) are in docs/ALGORITHM.md,
 * "Compact digests and the fingerprint ring".
 * @module
 */

/** The `SynAck`'s digest takes at most this share of the datagram before its delta. */
export const SYN_ACK_DIGEST_SHARE = 0.5;

/** Of that, fresher heartbeats take at most this share of the datagram (they also fill what the delta leaves). */
export const FRESHER_SHARE = 0.25;

/**
 * Share of the answers whose delta, when it does not fit beside the digest,
 * takes the whole datagram instead (so a value near the MTU is never starved).
 */
export const WHOLE_DATAGRAM_DELTA_SHARE = 0.25;

/** Free room below this is not worth filling with more heartbeats. */
export const DIGEST_TOP_UP_MIN_BYTES = 64;

/** A rough size of a `Syn`'s compact entry, to bound the top-up of an answer to it. */
export const SYN_COMPACT_ENTRY_ESTIMATE_BYTES = 10;

/** A rough size of a `Syn`'s entry by id, likewise. */
export const SYN_FULL_ENTRY_ESTIMATE_BYTES = 40;

/** The smallest compact entry, to bound how many raised heartbeats an `Ack` looks at. */
export const SMALLEST_ENTRY_BYTES = 8;

/** An `Ack` looks at up to this many times as many raised heartbeats as could fit. */
export const RAISED_CHECK_FACTOR = 2;

/**
 * Byte limits of a `SynAck`'s digest within `room` bytes: the entries it
 * needs (nodes the responder lacks or lags on) up to `needed`, then fresher
 * heartbeats up to `fresher` bytes more than what is already taken, never
 * beyond `needed`.
 *
 * @example
 * ```ts
 * import { synAckDigestLimits } from "@scope/chitchat/core";
 * import assert from "node:assert/strict";
 * assert.deepEqual(synAckDigestLimits(1000), { needed: 500, fresher: 250 });
 * ```
 */
export function synAckDigestLimits(room: number): { needed: number; fresher: number } {
  return { needed: Math.floor(room * SYN_ACK_DIGEST_SHARE), fresher: Math.floor(room * FRESHER_SHARE) };
}

/**
 * True when a `SynAck`'s delta, cut short beside its digest, should take the
 * whole datagram instead: always when nothing fit beside the digest, and on a
 * random share of the other answers (`draw` in [0, 1)).
 *
 * @example
 * ```ts
 * import { deltaTakesWholeDatagram } from "@scope/chitchat/core";
 * import assert from "node:assert/strict";
 * assert.equal(deltaTakesWholeDatagram({ complete: false, empty: true, digestBytes: 90 }, () => 0.9), true);
 * assert.equal(deltaTakesWholeDatagram({ complete: true, empty: false, digestBytes: 90 }, () => 0), false);
 * ```
 */
export function deltaTakesWholeDatagram(
  delta: { readonly complete: boolean; readonly empty: boolean; readonly digestBytes: number },
  draw: () => number,
): boolean {
  if (delta.complete || delta.digestBytes === 0) return false;
  return delta.empty || draw() < WHOLE_DATAGRAM_DELTA_SHARE;
}

/**
 * Bytes an answer to a partial `Syn` may spend on more of the responder's
 * heartbeats: what is free, at most about as much as the `Syn`'s own entries
 * took; 0 when that is too little to be worth it.
 *
 * @example
 * ```ts
 * import { digestTopUpBytes } from "@scope/chitchat/core";
 * import assert from "node:assert/strict";
 * assert.equal(digestTopUpBytes(1000, { compact: 20, full: 1 }), 240);
 * assert.equal(digestTopUpBytes(50, { compact: 20, full: 1 }), 0);
 * ```
 */
export function digestTopUpBytes(free: number, synEntries: { readonly compact: number; readonly full: number }): number {
  const synBytes = synEntries.compact * SYN_COMPACT_ENTRY_ESTIMATE_BYTES + synEntries.full * SYN_FULL_ENTRY_ESTIMATE_BYTES;
  const budget = Math.min(free, synBytes);
  return budget >= DIGEST_TOP_UP_MIN_BYTES ? budget : 0;
}

/**
 * How many raised heartbeats an `Ack` of `room` bytes looks at: a bound on
 * the work spent per `Ack` however many nodes rose this round.
 *
 * @example
 * ```ts
 * import { raisedHeartbeatChecks } from "@scope/chitchat/core";
 * import assert from "node:assert/strict";
 * assert.equal(raisedHeartbeatChecks(1200), 300);
 * ```
 */
export function raisedHeartbeatChecks(room: number): number {
  return RAISED_CHECK_FACTOR * Math.ceil(room / SMALLEST_ENTRY_BYTES);
}
