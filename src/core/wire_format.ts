/**
 * The seam between the protocol and its bytes: a wire format encodes and
 * decodes messages and says how many bytes each item takes, so that digests
 * and deltas are cut to the datagram while they are built. The core budgets
 * only through {@linkcode WireSizes}; a second format is one new file.
 * @module
 */

import type { ChitchatId } from "./chitchat_id.ts";
import type { ProtocolProfile } from "./protocol_profile.ts";
import type { CompactDigestEntry, KeyValueMutation, Message, NodeDelta, NodeDigest } from "./types.ts";

/**
 * The byte sizes a wire format gives the items the core budgets: each is
 * exact (or, where said, an upper bound) for the bytes the format's
 * `encode` writes, so a message built within a budget fits it.
 *
 * @example Budgeting a digest with the CBOR sizes
 * ```ts
 * import { cborWireSizes } from "./wire_size.ts";
 * import type { WireSizes } from "./wire_format.ts";
 * import assert from "node:assert/strict";
 * const sizes: WireSizes = cborWireSizes;
 * const id = { nodeId: "a", generationId: 1, gossipAdvertiseAddr: "10.0.0.1:7280" };
 * const entry = sizes.digestEntrySize(id, { heartbeat: 3, lastGcVersion: 0, maxVersion: 2 });
 * assert.equal(entry, 20); // "a" (2), generation (1), address (14), three versions (3)
 * assert.equal(Math.floor((1400 - sizes.messageOverhead) / entry), 68);
 * ```
 */
export interface WireSizes {
  /** Bytes a message takes besides its digest, compact digest and delta items. */
  readonly messageOverhead: number;
  /** Bytes a text field (such as the cluster id) takes. */
  textSize(text: string): number;
  /** Bytes one digest entry takes: the node's id and its versions. */
  digestEntrySize(id: ChitchatId, digest: NodeDigest): number;
  /** Bytes one compact digest entry takes (the node named by fingerprint and check). */
  compactEntrySize(entry: CompactDigestEntry): number;
  /** Bytes one key mutation of a node delta takes. */
  mutationSize(key: string, value: Pick<KeyValueMutation, "value" | "version" | "status">): number;
  /**
   * Bytes a node delta takes besides its mutations, at most: the head of
   * its mutation list is counted at its largest, since a budget counts the
   * header before it knows how many mutations fit.
   */
  nodeDeltaHeaderSize(header: Omit<NodeDelta, "keyValues">): number;
}

/**
 * A wire format: how messages become datagrams and back, and what each item
 * costs. `decode` validates everything and throws `SyntaxError` on anything
 * malformed, so a bad datagram is dropped whole.
 *
 * @example The CBOR format round-trips a message
 * ```ts
 * import { cborWireFormat } from "./wire/cbor.ts";
 * import type { WireFormat } from "./wire_format.ts";
 * import assert from "node:assert/strict";
 * const format: WireFormat = cborWireFormat;
 * const bytes = format.encode({ type: "syn", clusterId: "prod", digest: [] });
 * assert.deepEqual(format.decode(bytes), { type: "syn", clusterId: "prod", digest: [], partialDigest: false });
 * assert.equal(format.name, "cbor");
 * ```
 */
export interface WireFormat {
  /** A short name for logs and configuration, such as `"cbor"`. */
  readonly name: string;
  /** Encodes a message into a fresh byte array. */
  encode(message: Message): Uint8Array;
  /**
   * Decodes and validates one datagram; throws `SyntaxError` when it is
   * malformed. A format whose numbers can exceed what a JavaScript number
   * holds (chitchat-v0's `u64`) leaves out the digest entries and node deltas
   * holding such a number and calls `onUnrepresentable` once for each.
   */
  decode(bytes: Uint8Array, onUnrepresentable?: (what: string) => void): Message;
  /** The sizes the core budgets with; they match what `encode` writes. */
  readonly sizes: WireSizes;
  /** The handshake extensions this format carries; the core follows it (`ChitchatInit.profile`). */
  readonly profile: ProtocolProfile;
}
