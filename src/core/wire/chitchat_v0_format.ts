/**
 * The Rust crate's v0 wire behind the {@linkcode WireFormat} seam: the codec
 * of chitchat_v0.ts, the exact sizes of v0_size.ts, and the protocol profile
 * a Rust peer follows (full digests, exact version prefixes, nodes created
 * only from digests). zstd arrives as an argument: the core loads nothing.
 * @module
 */

import type { ChitchatId } from "../chitchat_id.ts";
import { RUST_V0_PROFILE } from "../protocol_profile.ts";
import type { NodeDelta } from "../types.ts";
import type { WireFormat, WireSizes } from "../wire_format.ts";
import { CHITCHAT_V0_MAX_DATAGRAM, decodeChitchatV0, encodeChitchatV0 } from "./chitchat_v0.ts";
import { V0_BLOCK_SIZE } from "./v0_delta.ts";
import {
  V0_HEADER_SIZE,
  V0_SET_MAX_VERSION_OP_SIZE,
  v0DigestEntrySize,
  v0KeyValueOpSize,
  v0NodeOpSize,
  v0StringSize,
} from "./v0_size.ts";
import type { ZstdCompressor, ZstdDecompressor } from "./zstd.ts";

/**
 * The sizes of the v0 wire: exact per item; the message overhead counts the
 * header, the digest's entry count and the block headers of the largest
 * delta a datagram holds, with its end tag. Compact entries do not exist in
 * v0: they never fit.
 *
 * @example
 * ```ts
 * import { chitchatV0WireSizes } from "./chitchat_v0_format.ts";
 * import assert from "node:assert/strict";
 * const id = { nodeId: "node-id", generationId: 1, gossipAdvertiseAddr: "127.0.0.1:7280" };
 * assert.equal(chitchatV0WireSizes.digestEntrySize(id, { heartbeat: 1, lastGcVersion: 0, maxVersion: 0 }), 48);
 * assert.equal(chitchatV0WireSizes.messageOverhead, 19);
 * ```
 */
export const chitchatV0WireSizes: WireSizes = Object.freeze({
  messageOverhead: V0_HEADER_SIZE + 2 + 3 * Math.ceil(CHITCHAT_V0_MAX_DATAGRAM / V0_BLOCK_SIZE) + 1,
  textSize: v0StringSize,
  digestEntrySize: (id: ChitchatId): number => v0DigestEntrySize(id),
  compactEntrySize: (): number => Number.POSITIVE_INFINITY,
  mutationSize: (key: string, value: { readonly value: string }): number => v0KeyValueOpSize(key, value.value),
  nodeDeltaHeaderSize: (header: Omit<NodeDelta, "keyValues">): number =>
    v0NodeOpSize(header.id) + V0_SET_MAX_VERSION_OP_SIZE,
});

/** Options of {@linkcode chitchatV0WireFormat}. */
export interface ChitchatV0WireFormatOptions {
  /** Reads the zstd blocks Rust peers send; without it a datagram holding one is dropped. */
  readonly decompressor?: ZstdDecompressor;
  /** Compresses delta blocks when that makes them shorter; without it every block is raw. */
  readonly compressor?: ZstdCompressor;
}

/**
 * The `chitchat-v0` wire format: what Rust chitchat 0.10 (and Quickwit by
 * default) speaks. Pass a zstd decompressor (`loadZstd()` of the runtime
 * gives one) to read compressed blocks.
 *
 * @example
 * ```ts
 * import { chitchatV0WireFormat } from "./chitchat_v0_format.ts";
 * import assert from "node:assert/strict";
 * const format = chitchatV0WireFormat();
 * const bytes = format.encode({ type: "syn", clusterId: "c", digest: [], partialDigest: false });
 * assert.deepEqual(format.decode(bytes), { type: "syn", clusterId: "c", digest: [] });
 * assert.equal(format.profile.pagedDigests, false);
 * ```
 */
export function chitchatV0WireFormat(options: ChitchatV0WireFormatOptions = {}): WireFormat {
  const { decompressor, compressor } = options;
  return {
    name: "chitchat-v0",
    encode: (message) => encodeChitchatV0(message, { compressor }),
    decode: (bytes, onUnrepresentable) => decodeChitchatV0(bytes, { decompressor, onUnrepresentable }),
    sizes: chitchatV0WireSizes,
    profile: RUST_V0_PROFILE,
  };
}
