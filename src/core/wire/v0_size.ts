/**
 * Exact sizes on the chitchat v0 wire, so digests and deltas can be cut to a
 * datagram budget while they are built (as `wire_size.ts` does for CBOR).
 * Every field has a fixed width, so sizes are exact for raw blocks; a
 * compressed block is used only when it is no longer than the raw one, so
 * with compression these are upper bounds.
 * @module
 */

import type { ChitchatId } from "../chitchat_id.ts";
import type { Delta, Message, NodeDelta } from "../messages.ts";
import { utf8Length } from "../utf8.ts";
import { V0_BLOCK_SIZE } from "./v0_delta.ts";

/** Magic number (2), protocol version (1), message type (1). */
export const V0_HEADER_SIZE = 4;

/** A SetMaxVersion op: tag and `u64`. */
export const V0_SET_MAX_VERSION_OP_SIZE = 9;

/**
 * Size of a string field: a `u16` length and the UTF-8 bytes.
 *
 * @example
 * ```ts
 * import { v0StringSize } from "./v0_size.ts";
 * console.assert(v0StringSize("héllo") === 8);
 * ```
 */
export function v0StringSize(text: string): number {
  return 2 + utf8Length(text);
}

/**
 * Size of a node id: name, `u64` generation, then 7 bytes of IPv4 address
 * and port or 19 of IPv6.
 *
 * @example
 * ```ts
 * import { v0ChitchatIdSize } from "./v0_size.ts";
 * const id = { nodeId: "node-id", generationId: 1, gossipAdvertiseAddr: "127.0.0.1:7280" };
 * console.assert(v0ChitchatIdSize(id) === 24);
 * ```
 */
export function v0ChitchatIdSize(id: ChitchatId): number {
  return v0StringSize(id.nodeId) + 8 + (id.gossipAdvertiseAddr.startsWith("[") ? 19 : 7);
}

/**
 * Size of one digest entry: the id, then heartbeat, last GC version and max version.
 *
 * @example
 * ```ts
 * import { v0DigestEntrySize } from "./v0_size.ts";
 * const id = { nodeId: "node-id", generationId: 1, gossipAdvertiseAddr: "127.0.0.1:7280" };
 * console.assert(v0DigestEntrySize(id) === 48);
 * ```
 */
export function v0DigestEntrySize(id: ChitchatId): number {
  return v0ChitchatIdSize(id) + 24;
}

/**
 * Size of a Node op: tag, id, last GC version, from version.
 *
 * @example
 * ```ts
 * import { v0NodeOpSize } from "./v0_size.ts";
 * const id = { nodeId: "node-a", generationId: 1, gossipAdvertiseAddr: "127.0.0.1:7280" };
 * console.assert(v0NodeOpSize(id) === 40);
 * ```
 */
export function v0NodeOpSize(id: ChitchatId): number {
  return 1 + v0ChitchatIdSize(id) + 16;
}

/**
 * Size of a KeyValue op: tag, key, value, version, status.
 *
 * @example
 * ```ts
 * import { v0KeyValueOpSize } from "./v0_size.ts";
 * console.assert(v0KeyValueOpSize("k", "v") === 16);
 * ```
 */
export function v0KeyValueOpSize(key: string, value: string): number {
  return 14 + utf8Length(key) + utf8Length(value);
}

/**
 * Size of the ops of one node delta (with its SetMaxVersion when it has no keys).
 *
 * @example
 * ```ts
 * import { v0NodeDeltaOpsSize } from "./v0_size.ts";
 * const id = { nodeId: "node-a", generationId: 1, gossipAdvertiseAddr: "127.0.0.1:7280" };
 * const kv = { key: "k", value: "v", version: 6, status: "set" as const };
 * const size = v0NodeDeltaOpsSize({ id, fromVersionExcluded: 5, lastGcVersion: 0, maxVersion: 6, keyValues: [kv] });
 * console.assert(size === 56);
 * ```
 */
export function v0NodeDeltaOpsSize(nodeDelta: NodeDelta): number {
  let size = v0NodeOpSize(nodeDelta.id);
  for (const kv of nodeDelta.keyValues) size += v0KeyValueOpSize(kv.key, kv.value);
  if (nodeDelta.keyValues.length === 0 && nodeDelta.maxVersion > 0) size += V0_SET_MAX_VERSION_OP_SIZE;
  return size;
}

/**
 * Size of a delta written as raw blocks, from the length of its op stream:
 * 3 bytes of block header per started {@linkcode V0_BLOCK_SIZE} bytes, and the end tag.
 *
 * @example
 * ```ts
 * import { v0BlocksSize } from "./v0_size.ts";
 * console.assert(v0BlocksSize(0) === 1);
 * console.assert(v0BlocksSize(56) === 60);
 * console.assert(v0BlocksSize(16_385) === 16_385 + 6 + 1);
 * ```
 */
export function v0BlocksSize(streamLength: number): number {
  return streamLength + 3 * Math.ceil(streamLength / V0_BLOCK_SIZE) + 1;
}

/**
 * Size of a delta written as raw blocks.
 *
 * @example
 * ```ts
 * import { v0DeltaSize } from "./v0_size.ts";
 * console.assert(v0DeltaSize([]) === 1);
 * ```
 */
export function v0DeltaSize(delta: Delta): number {
  let stream = 0;
  for (const nodeDelta of delta) stream += v0NodeDeltaOpsSize(nodeDelta);
  return v0BlocksSize(stream);
}

/**
 * Size of a digest: a `u16` count and the entries.
 *
 * @example
 * ```ts
 * import { v0DigestSize } from "./v0_size.ts";
 * console.assert(v0DigestSize([]) === 2);
 * ```
 */
export function v0DigestSize(digest: readonly { readonly id: ChitchatId }[]): number {
  let size = 2;
  for (const entry of digest) size += v0DigestEntrySize(entry.id);
  return size;
}

/**
 * Exact size of `encodeChitchatV0(message)` without compression (an upper
 * bound with it). It does not check that the message can be encoded.
 *
 * @example
 * ```ts
 * import { chitchatV0Size } from "./v0_size.ts";
 * import assert from "node:assert/strict";
 * assert.equal(chitchatV0Size({ type: "badCluster" }), 4);
 * assert.equal(chitchatV0Size({ type: "syn", clusterId: "c", digest: [] }), 9);
 * assert.equal(chitchatV0Size({ type: "ack", delta: [] }), 5);
 * ```
 */
export function chitchatV0Size(message: Message): number {
  switch (message.type) {
    case "syn":
      return V0_HEADER_SIZE + v0DigestSize(message.digest) + v0StringSize(message.clusterId);
    case "synAck":
      return V0_HEADER_SIZE + v0DigestSize(message.digest) + v0DeltaSize(message.delta);
    case "ack":
      return V0_HEADER_SIZE + v0DeltaSize(message.delta);
    case "badCluster":
      return V0_HEADER_SIZE;
  }
}
