/**
 * Which of this library's extensions to the scuttlebutt handshake a node
 * uses. The wire format chooses: CBOR carries them all, the Rust crate's v0
 * wire none, so a node speaking v0 behaves as a Rust chitchat peer would.
 * The rule kept here: a profile only removes extensions, never changes the
 * meaning of a message both profiles can send.
 * @module
 */

/**
 * The handshake extensions a node uses.
 *
 * @example
 * ```ts
 * import { RUST_V0_PROFILE, type ProtocolProfile } from "./protocol_profile.ts";
 * const profile: ProtocolProfile = RUST_V0_PROFILE;
 * console.assert(!profile.pagedDigests && !profile.keysAhead);
 * ```
 */
export interface ProtocolProfile {
  /**
   * Digests may name nodes by fingerprint (compact entries), and messages
   * may carry heartbeats of introduced or raised nodes that way. Off: every
   * digest entry carries the node's whole id.
   */
  readonly compactDigests: boolean;
  /**
   * A Syn may list part of the cluster and say so (`partialDigest`), going
   * round the ring page by page, and a SynAck names only the entries worth
   * answering. Off: every Syn and SynAck carries the full digest, which
   * must fit the datagram.
   */
  readonly pagedDigests: boolean;
  /**
   * A delta may carry priority keys ahead of the versions before them.
   * Off: a node delta is an exact version prefix (priority prefixes still
   * order the nodes).
   */
  readonly keysAhead: boolean;
  /**
   * A node unknown to the receiver is created from a delta naming it. Off:
   * nodes are created only from digests, deltas of unknown nodes are ignored,
   * and a SynAck's digest is taken in before its delta.
   */
  readonly nodesFromDeltas: boolean;
  /**
   * A `SynAck` whose delta had to be cut to the datagram is followed by a
   * few `Ack`s carrying more of what the requester lacks (a catch-up burst,
   * bounded as burst_budget.ts says). Off: one `SynAck` per `Syn`, as the
   * Rust crate answers.
   */
  readonly catchUpBursts: boolean;
  /**
   * A young node that knows many members not yet live to it sends more Syns
   * a round (see `catchUpFanout` in peer_selection.ts). Off: the fanout is
   * always 3, as in the Rust crate.
   */
  readonly catchUpFanout: boolean;
  /**
   * Seeds this node has heard from that are no known node now are contacted
   * now and then even in a round that reached another seed (see
   * `GossipTargetOptions.probeSeeds` in peer_selection.ts), so two sides of a
   * long partition that forgot each other find each other again. Off: the
   * Rust crate's seed rule alone.
   */
  readonly probeForgottenSeeds: boolean;
}

/**
 * Every extension on: the profile of the CBOR wire format (the default).
 *
 * @example
 * ```ts
 * import { FULL_PROFILE } from "./protocol_profile.ts";
 * console.assert(FULL_PROFILE.compactDigests && FULL_PROFILE.pagedDigests);
 * ```
 */
export const FULL_PROFILE: ProtocolProfile = Object.freeze({
  compactDigests: true,
  pagedDigests: true,
  keysAhead: true,
  nodesFromDeltas: true,
  catchUpBursts: true,
  catchUpFanout: true,
  probeForgottenSeeds: true,
});

/**
 * Every extension off: the Rust crate's semantics (chitchat 0.10, wire
 * protocol version 0), the profile of the `chitchat-v0` wire format.
 *
 * @example
 * ```ts
 * import { RUST_V0_PROFILE } from "./protocol_profile.ts";
 * console.assert(!RUST_V0_PROFILE.compactDigests && !RUST_V0_PROFILE.nodesFromDeltas);
 * ```
 */
export const RUST_V0_PROFILE: ProtocolProfile = Object.freeze({
  compactDigests: false,
  pagedDigests: false,
  keysAhead: false,
  nodesFromDeltas: false,
  catchUpBursts: false,
  catchUpFanout: false,
  probeForgottenSeeds: false,
});

/**
 * The smallest MTU a profile without paged digests accepts: the whole
 * digest has to fit one datagram, and a Rust peer receives at most this.
 */
export const FULL_DIGEST_MIN_MTU = 65_507;
