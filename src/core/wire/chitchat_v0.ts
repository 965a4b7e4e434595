/**
 * The Rust chitchat crate's binary wire, protocol version 0 (chitchat 0.10,
 * and Quickwit's default), as a second wire format for this library's
 * messages. One message per datagram: magic `53 B0`, version 0, a type byte,
 * then a digest and cluster id (Syn), a digest and delta (SynAck), a delta
 * (Ack) or nothing (BadCluster); little-endian fixed-width integers, strings
 * with a `u16` length, a delta as blocks of raw or zstd bytes holding ops.
 * Decoding is all-or-nothing: any malformed datagram throws `SyntaxError`.
 *
 * How the fields map:
 * - Ids, digest entries, key mutations and statuses map one to one. Numbers
 *   are `u64` on the wire: one above 2^53 - 1 cannot be held. Encoding it is
 *   refused; a digest entry or node delta holding one is decoded and left out
 *   (the rest of the datagram stands, `onUnrepresentable` hears of it), since
 *   a Rust peer that took such a node keeps naming it.
 *   Addresses are IP literals with a port: a host name or an IPv6 zone cannot
 *   be sent (the Rust side keeps no zone), and an address must be in the
 *   canonical form decoding gives back (`normalizeAddress`).
 * - A node delta's `maxVersion` is not a field: a Rust receiver takes the last
 *   key's version, or a SetMaxVersion op sent only when there are no keys. So
 *   a delta with keys must have `maxVersion` equal to its last key's version
 *   (keys ahead of `maxVersion`, as priority prefixes make, would crash Rust
 *   peers, see the negative vector); without keys, `maxVersion` 0 is a lone
 *   Node op (a Rust sender cut short right after it writes that, with any
 *   `fromVersionExcluded`, so decoding can give `maxVersion` below it).
 * - Ours has and v0 lacks: `partialDigest`, `compactDigest` and `range` on a
 *   Syn or SynAck, and the extra `digest` of an Ack. The encoder refuses any
 *   of them that says something (a `TypeError`); decoding never sets them.
 * - v0 has and ours lacks: nothing is dropped. The digest's order and the
 *   zstd-or-raw choice per block are not kept (order is kept as given).
 * - Stricter than the Rust decoder, on things a Rust sender never writes:
 *   bytes after the message, two digest entries or node deltas for one node,
 *   a key not above its node delta's from version, a SetMaxVersion not alone
 *   right after its Node op, empty blocks, zstd frames with a checksum, a
 *   dictionary or no content size.
 * @module
 */

import type { Digest, DigestEntry, Message } from "../messages.ts";
import { chitchatIdKey, formatChitchatId } from "../chitchat_id.ts";
import { checkU64, V0Reader, V0Writer } from "./v0_bytes.ts";
import { deltaOpStream, readDelta, writeBlocks } from "./v0_delta.ts";
import { noZstd, type ZstdCompressor, type ZstdDecompressor } from "./zstd.ts";

/** The magic number opening every v0 datagram (`53 B0` on the wire). */
export const CHITCHAT_V0_MAGIC = 0xb053;

/** The largest datagram a Rust node receives whole (its receive buffer). */
export const CHITCHAT_V0_MAX_DATAGRAM = 65_507;

const TYPES = ["syn", "synAck", "ack", "badCluster"] as const;
const TYPE_CODES: Readonly<Record<Message["type"], number>> = { syn: 0, synAck: 1, ack: 2, badCluster: 3 };

/** Options of {@linkcode encodeChitchatV0}. */
export interface EncodeChitchatV0Options {
  /** Compresses each delta block when that makes it shorter; without it every block is raw. */
  readonly compressor?: ZstdCompressor;
}

/** Options of {@linkcode decodeChitchatV0}. */
export interface DecodeChitchatV0Options {
  /**
   * Decompresses zstd delta blocks (Rust peers send them); without it a
   * datagram with a compressed block is refused. `loadZstd()` gives one.
   */
  readonly decompressor?: ZstdDecompressor;
  /**
   * Called once for each digest entry or node delta left out because one of
   * its numbers (generation id, heartbeat, a version) is above 2^53 - 1, which
   * a JavaScript number cannot hold exactly. The rest of the datagram is
   * decoded and used: a Rust peer that has taken such a node repeats it in
   * every digest, and refusing those datagrams whole would cut this node off
   * from it. `what` names the entry.
   */
  readonly onUnrepresentable?: (what: string) => void;
}

/**
 * True when `bytes` starts like a v0 datagram (its magic number): a cheap
 * test to tell it from another wire format, not a check that it decodes.
 *
 * @example
 * ```ts
 * import { looksLikeChitchatV0 } from "./chitchat_v0.ts";
 * console.assert(looksLikeChitchatV0(new Uint8Array([0x53, 0xb0, 0, 3])));
 * console.assert(!looksLikeChitchatV0(new Uint8Array([0x82, 2, 3])));
 * ```
 */
export function looksLikeChitchatV0(bytes: Uint8Array): boolean {
  return bytes.byteLength >= 2 && bytes[0] === 0x53 && bytes[1] === 0xb0;
}

/**
 * Encodes a message as a v0 datagram. Throws `TypeError` for what v0 cannot
 * carry (see the module notes) and `RangeError` when the datagram would
 * exceed {@linkcode CHITCHAT_V0_MAX_DATAGRAM} bytes.
 *
 * @example
 * ```ts
 * import { decodeChitchatV0, encodeChitchatV0 } from "./chitchat_v0.ts";
 * import assert from "node:assert/strict";
 * const bytes = encodeChitchatV0({ type: "syn", clusterId: "c", digest: [] });
 * assert.deepEqual(bytes, new Uint8Array([0x53, 0xb0, 0, 0, 0, 0, 1, 0, 0x63]));
 * assert.deepEqual(decodeChitchatV0(bytes), { type: "syn", clusterId: "c", digest: [] });
 * ```
 */
export function encodeChitchatV0(message: Message, options: EncodeChitchatV0Options = {}): Uint8Array {
  const code = TYPE_CODES[message.type];
  if (code === undefined || !Object.hasOwn(TYPE_CODES, message.type)) {
    throw new TypeError(`Invalid message type ${JSON.stringify(String(message.type))}`);
  }
  refuseExtras(message);
  const out = new V0Writer();
  out.u16(CHITCHAT_V0_MAGIC);
  out.u8(0);
  out.u8(code);
  switch (message.type) {
    case "syn":
      writeDigest(out, message.digest);
      out.string(message.clusterId, "clusterId");
      break;
    case "synAck":
      writeDigest(out, message.digest);
      writeBlocks(out, deltaOpStream(message.delta), options.compressor);
      break;
    case "ack":
      writeBlocks(out, deltaOpStream(message.delta), options.compressor);
      break;
    case "badCluster":
      break;
  }
  if (out.length > CHITCHAT_V0_MAX_DATAGRAM) {
    throw new RangeError(`Message of ${out.length} bytes exceeds the ${CHITCHAT_V0_MAX_DATAGRAM}-byte datagram`);
  }
  return out.finish();
}

/** Refuses the fields of ours that v0 has no room for, when they say anything. */
function refuseExtras(message: Message): void {
  const refuse = (field: string): never => {
    throw new TypeError(`Invalid ${message.type} ${field}: chitchat v0 cannot express it`);
  };
  if (message.type === "syn" || message.type === "synAck") {
    if (message.partialDigest === true) refuse("partialDigest (v0 digests are complete)");
    if ((message.compactDigest?.length ?? 0) > 0) refuse("compactDigest");
  }
  if (message.type === "syn" && message.range !== undefined) refuse("range");
  if (message.type === "ack") {
    if ((message.digest?.length ?? 0) > 0) refuse("digest (a v0 Ack has none)");
    if ((message.compactDigest?.length ?? 0) > 0) refuse("compactDigest");
  }
}

function writeDigest(out: V0Writer, digest: Digest): void {
  if (digest.length > 0xffff) throw new TypeError(`Invalid digest: ${digest.length} entries, at most 65535 fit`);
  out.u16(digest.length);
  const seen = new Set<string>();
  for (const [i, entry] of digest.entries()) {
    const key = chitchatIdKey(entry.id);
    if (seen.has(key)) throw new TypeError(`Invalid digest[${i}]: node ${formatChitchatId(entry.id)} appears twice`);
    seen.add(key);
    out.chitchatId(entry.id);
    out.u64(checkU64(entry.heartbeat, `digest[${i}].heartbeat`));
    out.u64(checkU64(entry.lastGcVersion, `digest[${i}].lastGcVersion`));
    out.u64(checkU64(entry.maxVersion, `digest[${i}].maxVersion`));
  }
}

/**
 * Decodes one v0 datagram, all or nothing: a `SyntaxError` names the first
 * problem (truncated, oversized, wrong magic or version, unknown type, tag or
 * status, bad UTF-8 or address, a bad zstd frame, duplicate nodes, versions
 * out of order, bytes left over).
 *
 * @example
 * ```ts
 * import { decodeChitchatV0 } from "./chitchat_v0.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(decodeChitchatV0(new Uint8Array([0x53, 0xb0, 0, 2, 0])), { type: "ack", delta: [] });
 * assert.throws(() => decodeChitchatV0(new Uint8Array([0x53, 0xb0, 0, 2])), SyntaxError);
 * ```
 */
export function decodeChitchatV0(bytes: Uint8Array, options: DecodeChitchatV0Options = {}): Message {
  if (!(bytes instanceof Uint8Array)) throw new SyntaxError("Datagram is not a byte array");
  if (bytes.byteLength > CHITCHAT_V0_MAX_DATAGRAM) {
    throw new SyntaxError(`Datagram of ${bytes.byteLength} bytes exceeds ${CHITCHAT_V0_MAX_DATAGRAM}`);
  }
  const reader = new V0Reader(bytes, "datagram");
  const magic = reader.u16("magic number");
  if (magic !== CHITCHAT_V0_MAGIC) {
    throw new SyntaxError(`Bad magic number 0x${magic.toString(16)}, expected 0x${CHITCHAT_V0_MAGIC.toString(16)}`);
  }
  const version = reader.u8("protocol version");
  if (version !== 0) throw new SyntaxError(`Unsupported chitchat protocol version ${version}`);
  const code = reader.u8("message type");
  const type = TYPES[code];
  if (type === undefined) throw new SyntaxError(`Unknown message type ${code}`);
  const decompressor = options.decompressor ?? noZstd;
  const skipped = options.onUnrepresentable ?? ignore;
  let message: Message;
  switch (type) {
    case "syn": {
      const digest = readDigest(reader, skipped);
      message = { type, clusterId: reader.string("cluster id"), digest };
      break;
    }
    case "synAck": {
      const digest = readDigest(reader, skipped);
      message = { type, digest, delta: readDelta(reader, decompressor, skipped) };
      break;
    }
    case "ack":
      message = { type, delta: readDelta(reader, decompressor, skipped) };
      break;
    case "badCluster":
      message = { type };
      break;
  }
  if (reader.remaining > 0) throw new SyntaxError(`${reader.remaining} bytes after the message`);
  return message;
}

function readDigest(reader: V0Reader, skipped: (what: string) => void): Digest {
  const count = reader.u16("digest entry count");
  // Each entry takes at least 41 bytes: a count beyond what is left is refused before any work.
  if (count * 41 > reader.remaining) {
    throw new SyntaxError(`Truncated datagram: ${count} digest entries need more than the ${reader.remaining} bytes left`);
  }
  const digest: DigestEntry[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < count; i++) {
    const id = reader.wideChitchatId();
    const heartbeat = reader.wideU64("heartbeat");
    const lastGcVersion = reader.wideU64("last GC version");
    const maxVersion = reader.wideU64("max version");
    if (id === undefined || heartbeat === undefined || lastGcVersion === undefined || maxVersion === undefined) {
      skipped(`digest entry ${i}`);
      continue;
    }
    const key = chitchatIdKey(id);
    if (seen.has(key)) throw new SyntaxError(`Bad digest: node ${formatChitchatId(id)} appears twice`);
    seen.add(key);
    digest.push({ id, heartbeat, lastGcVersion, maxVersion });
  }
  return digest;
}

function ignore(): void {}
