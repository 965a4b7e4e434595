/**
 * Exact CBOR sizes of the wire items, so deltas and digests are cut to the
 * datagram budget while they are built instead of by trial encoding. The
 * codec test checks these figures against the bytes cbor-x writes. Bundled
 * as {@linkcode cborWireSizes}, the sizes the core budgets with by default;
 * nothing here loads cbor-x.
 * @module
 */

import type { ChitchatId } from "./chitchat_id.ts";
import type { CompactDigestEntry } from "./types.ts";
import { utf8Length } from "./utf8.ts";
import { MESSAGE_OVERHEAD } from "./wire_constants.ts";
import type { WireSizes } from "./wire_format.ts";

/** Size of a CBOR head (major type + argument) carrying `n`. */
export function headSize(n: number): number {
  if (n < 24) return 1;
  if (n < 0x100) return 2;
  if (n < 0x10000) return 3;
  if (n < 0x100000000) return 5;
  return 9;
}

/** Size of a non-negative integer. */
export function uintSize(n: number): number {
  return headSize(n);
}

/** Size of a text string. */
export function textSize(text: string): number {
  const bytes = utf8Length(text);
  return headSize(bytes) + bytes;
}

/** Size of the three id fields as written inline in digests and deltas. */
export function idFieldsSize(id: ChitchatId): number {
  return textSize(id.nodeId) + uintSize(id.generationId) + textSize(id.gossipAdvertiseAddr);
}

/** Size of one digest entry: 6 items of the flat digest list (id fields, heartbeat, lastGc, max). */
export function digestEntrySize(
  id: ChitchatId,
  heartbeat: number,
  lastGcVersion: number,
  maxVersion: number,
): number {
  return idFieldsSize(id) + uintSize(heartbeat) + uintSize(lastGcVersion) + uintSize(maxVersion);
}

/** Size of one compact digest entry: 5 items (fingerprint, check, heartbeat, lastGc, max). */
export function compactEntrySize(entry: CompactDigestEntry): number {
  return uintSize(entry.fingerprint) + uintSize(entry.check) + uintSize(entry.heartbeat) +
    uintSize(entry.lastGcVersion) + uintSize(entry.maxVersion);
}

/** Size of one key mutation in a node delta's flat list (key, value, version, status). */
export function mutationSize(key: string, value: string, version: number): number {
  return textSize(key) + textSize(value) + uintSize(version) + 1;
}

/**
 * Size of a node delta header (array of 7: id fields, from, lastGc, max, and
 * the head of the mutation list), given the mutation list's item count.
 */
export function nodeDeltaHeaderSize(
  id: ChitchatId,
  versions: { from: number; lastGc: number; max: number },
  mutationItems: number,
): number {
  return 1 + idFieldsSize(id) + uintSize(versions.from) + uintSize(versions.lastGc) +
    uintSize(versions.max) + headSize(mutationItems);
}

/** Worst-case size of the 9-byte integer fields of a node delta header, used for budgets. */
export const MAX_UINT_SIZE = 9;

/** The largest list length the codec writes: its head takes 5 bytes (a 9-byte head never occurs). */
const MAX_LIST_ITEMS = 0xffff_ffff;

/**
 * The CBOR format's sizes, as {@linkcode WireSizes}: what the core budgets
 * with unless a node is given another wire format.
 *
 * @example
 * ```ts
 * import { cborWireSizes, mutationSize } from "./wire_size.ts";
 * import assert from "node:assert/strict";
 * const size = cborWireSizes.mutationSize("role", { value: "indexer", version: 3, status: "set" });
 * assert.equal(size, mutationSize("role", "indexer", 3));
 * ```
 */
export const cborWireSizes: WireSizes = {
  messageOverhead: MESSAGE_OVERHEAD,
  textSize,
  digestEntrySize: (id, digest) => digestEntrySize(id, digest.heartbeat, digest.lastGcVersion, digest.maxVersion),
  compactEntrySize,
  mutationSize: (key, value) => mutationSize(key, value.value, value.version),
  nodeDeltaHeaderSize: (header) =>
    nodeDeltaHeaderSize(
      header.id,
      { from: header.fromVersionExcluded, lastGc: header.lastGcVersion, max: header.maxVersion },
      MAX_LIST_ITEMS,
    ),
};
