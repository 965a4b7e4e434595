/**
 * The shared plain-data types of the core: a node's versioned values and key
 * changes, digests, deltas and the four messages of the handshake. A leaf:
 * it imports nothing but the id type, so every other module may import it.
 * @module
 */

import type { ChitchatId } from "./chitchat_id.ts";

/** `set`: visible; `deleted`: tombstone, invisible; `deleteAfterTtl`: visible until reaped. */
export type KeyStatus = "set" | "deleted" | "deleteAfterTtl";

/**
 * A value with the owner's version and its deletion status.
 *
 * @example
 * ```ts
 * import type { VersionedValue } from "@scope/chitchat";
 * const v: VersionedValue = { value: "x", version: 1, status: "set", statusSince: undefined };
 * console.assert(v.version === 1);
 * ```
 */
export interface VersionedValue {
  /** The value; `""` for a tombstone. */
  readonly value: string;
  /** The owner's version of this mutation. */
  readonly version: number;
  /** Whether the key is set, deleted or set to expire. */
  readonly status: KeyStatus;
  /** Local time (ms) the tombstone or TTL started; `undefined` when `status` is `set`. */
  readonly statusSince: number | undefined;
}

/**
 * A change of a key, as reported to key-change listeners.
 *
 * @example
 * ```ts
 * import type { KeyChange } from "@scope/chitchat";
 * const change: KeyChange = {
 *   node: { nodeId: "a", generationId: 1, gossipAdvertiseAddr: "h:1" },
 *   key: "role", value: "indexer", version: 3, deleted: false,
 * };
 * console.assert(!change.deleted);
 * ```
 */
export interface KeyChange {
  /** The node owning the key. */
  readonly node: ChitchatId;
  /** The full key. */
  readonly key: string;
  /** The new value; `undefined` when the key became invisible. */
  readonly value: string | undefined;
  /** The version of the change (for a reaped TTL key, the version it had). */
  readonly version: number;
  /** True when the key was deleted or reaped. */
  readonly deleted: boolean;
}

/** What a digest says about one node. */
export interface NodeDigest {
  /** The node's heartbeat as known by the sender. */
  readonly heartbeat: number;
  /** The node's last garbage-collected version as known by the sender. */
  readonly lastGcVersion: number;
  /** The node's max version as known by the sender. */
  readonly maxVersion: number;
}

/** One digest entry: an id with its versions. */
export interface DigestEntry extends NodeDigest {
  /** The node the entry is about. */
  readonly id: ChitchatId;
}

/** A digest: what the sender knows, per node (possibly a part of it). */
export type Digest = readonly DigestEntry[];

/**
 * A digest entry naming its node by fingerprint (`chitchatIdFingerprint`)
 * and check (`chitchatIdCheck`) instead of its id: a third of the bytes.
 * Only meaningful to a receiver that knows the node, and taken for a node
 * only when both hashes match; see docs/ALGORITHM.md.
 *
 * @example
 * ```ts
 * import type { CompactDigestEntry } from "@scope/chitchat/core";
 * const entry: CompactDigestEntry = { fingerprint: 7, check: 9, heartbeat: 3, lastGcVersion: 0, maxVersion: 2 };
 * console.assert(entry.heartbeat === 3);
 * ```
 */
export interface CompactDigestEntry extends NodeDigest {
  /** The node's 32-bit fingerprint: its place on the ring of digest pages. */
  readonly fingerprint: number;
  /** A second, independent 32-bit hash of the node's id. */
  readonly check: number;
}

/**
 * A part of the fingerprint ring, `[start, end)` going up and wrapping after
 * 2³² - 1. A digest with a range lists every node the sender knows (and does
 * not exclude) whose fingerprint lies in it.
 */
export interface DigestRange {
  /** First fingerprint covered. */
  readonly start: number;
  /** First fingerprint not covered (different from `start`). */
  readonly end: number;
}

/** One key mutation carried by a delta: always the newest version of the key. */
export interface KeyValueMutation {
  /** The key. */
  readonly key: string;
  /** The value (`""` for a tombstone). */
  readonly value: string;
  /** The owner's version of the mutation. */
  readonly version: number;
  /** The key's status at that version. */
  readonly status: KeyStatus;
}

/** The part of one node's state a receiver lacks. */
export interface NodeDelta {
  /** The node. */
  readonly id: ChitchatId;
  /** Mutations are those with a version above this; 0 asks for a reset when GC requires it. */
  readonly fromVersionExcluded: number;
  /** The sender's `lastGcVersion` for the node. */
  readonly lastGcVersion: number;
  /** The max version the receiver reaches once applied (the last carried version when truncated). */
  readonly maxVersion: number;
  /** The mutations, in strictly increasing version order. */
  readonly keyValues: readonly KeyValueMutation[];
}

/** A delta: node deltas, stalest first. */
export type Delta = readonly NodeDelta[];

/** Opens a handshake: the sender's cluster id and digest. */
export interface SynMessage {
  /** Discriminant. */
  readonly type: "syn";
  /** The sender's cluster id; a mismatch is answered with `BadCluster`. */
  readonly clusterId: string;
  /** What the sender knows. */
  readonly digest: Digest;
  /** True when the digest leaves nodes out (it did not fit the datagram). */
  readonly partialDigest?: boolean;
  /** More of the digest, by fingerprint. */
  readonly compactDigest?: readonly CompactDigestEntry[];
  /** With `partialDigest`: the part of the ring the digest covers completely. */
  readonly range?: DigestRange;
}

/** Answers a `Syn`: the responder's digest and what the requester lacks. */
export interface SynAckMessage {
  /** Discriminant. */
  readonly type: "synAck";
  /** What the responder knows. */
  readonly digest: Digest;
  /** True when the digest leaves nodes out (it did not fit the datagram). */
  readonly partialDigest?: boolean;
  /** More of the digest, by fingerprint (nodes the requester's `Syn` listed). */
  readonly compactDigest?: readonly CompactDigestEntry[];
  /** What the requester lacks. */
  readonly delta: Delta;
}

/** Closes a handshake: what the responder lacks. */
export interface AckMessage {
  /** Discriminant. */
  readonly type: "ack";
  /** What the responder lacks. */
  readonly delta: Delta;
  /** Extra digest entries filling unused room: only their heartbeats are read. */
  readonly digest?: Digest;
  /** More of those, by fingerprint. */
  readonly compactDigest?: readonly CompactDigestEntry[];
}

/** Answers a `Syn` from another cluster; nothing else is exchanged. */
export interface BadClusterMessage {
  /** Discriminant. */
  readonly type: "badCluster";
}

/**
 * Any protocol message.
 *
 * @example
 * ```ts
 * import type { Message } from "@scope/chitchat/core";
 * const message: Message = { type: "syn", clusterId: "prod", digest: [] };
 * console.assert(message.type === "syn");
 * ```
 */
export type Message = SynMessage | SynAckMessage | AckMessage | BadClusterMessage;
