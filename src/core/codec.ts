/**
 * The wire: messages as compact positional CBOR arrays (cbor-x), with the
 * protocol version first in every datagram. Decoding validates everything and
 * throws `SyntaxError` on anything malformed, so a bad datagram is dropped
 * whole and never applied half-way.
 *
 * Layout (a digest is flat: 6 items per node; mutations are flat: 4 per key;
 * a compact digest is flat: 5 items per node, [fingerprint, check, heartbeat, lastGc, max]):
 * - Syn:        [2, 0, clusterId, [nodeId, gen, addr, heartbeat, lastGc, max, ...], partial]
 *               or [2, 0, clusterId, digest, partial, compactDigest, [] | [rangeStart, rangeEnd]]
 * - SynAck:     [2, 1, digest, partial, [nodeDelta, ...]] or [..., compactDigest]
 * - Ack:        [2, 2, [nodeDelta, ...], digest] or [..., compactDigest]  (heartbeats only)
 * - BadCluster: [2, 3]
 * - nodeDelta:  [nodeId, gen, addr, fromExcluded, lastGc, max, [key, value, version, status, ...]]
 *   with versions strictly increasing and above `fromExcluded`; those above
 *   `max` are priority keys sent ahead of their turn.
 * @module
 */

import { Decoder } from "cbor-x/decode";
import { Encoder } from "cbor-x/encode";
import { isIPv4, isIPv6 } from "./address.ts";
import type { ChitchatId } from "./chitchat_id.ts";
import type {
  CompactDigestEntry,
  Digest,
  DigestEntry,
  DigestRange,
  KeyValueMutation,
  Message,
  NodeDelta,
} from "./messages.ts";
import type { KeyStatus } from "./node_state.ts";
import { utf8Length } from "./utf8.ts";

/**
 * The protocol version written first in every datagram. Version 2 added the
 * check hash to compact digest entries; a version-1 datagram is refused.
 */
export const PROTOCOL_VERSION = 2;

/** The largest UDP payload over IPv4, and the default MTU. */
export const MAX_DATAGRAM_SIZE = 65_507;

/**
 * Bytes a message takes besides its digest items, compact digest items and
 * delta items (heads, tags, flags, a digest range).
 */
export const MESSAGE_OVERHEAD = 32;

/** Largest fingerprint: they are 32-bit. */
const MAX_FINGERPRINT = 0xffff_ffff;

/** Longest accepted node id, cluster id or key on the wire, in UTF-8 bytes. */
export const MAX_WIRE_NAME_BYTES = 1024;

/** Deepest array nesting of a message: message, delta list, node delta, mutation list. */
const MAX_WIRE_DEPTH = 4;

const TYPE_SYN = 0;
const TYPE_SYN_ACK = 1;
const TYPE_ACK = 2;
const TYPE_BAD_CLUSTER = 3;
const STATUS_CODES: Record<KeyStatus, number> = { set: 0, deleted: 1, deleteAfterTtl: 2 };
const STATUSES: readonly KeyStatus[] = ["set", "deleted", "deleteAfterTtl"];

const encoder = new Encoder({ useRecords: false, variableMapSize: true } as never);
const decoder = new Decoder({ useRecords: false, mapsAsObjects: false } as never);

/**
 * Encodes a message into a fresh byte array.
 *
 * @example
 * ```ts
 * import { decodeMessage, encodeMessage } from "@scope/chitchat";
 * import assert from "node:assert/strict";
 * const bytes = encodeMessage({ type: "badCluster" });
 * assert.deepEqual(decodeMessage(bytes), { type: "badCluster" });
 * ```
 */
export function encodeMessage(message: Message): Uint8Array {
  let wire: unknown[];
  switch (message.type) {
    case "syn":
      wire = [PROTOCOL_VERSION, TYPE_SYN, message.clusterId, flattenDigest(message.digest), 0];
      if ((message.compactDigest?.length ?? 0) > 0 || message.range !== undefined) {
        const range = message.range;
        wire.push(flattenCompact(message.compactDigest ?? []), range === undefined ? [] : [range.start, range.end]);
      }
      break;
    case "synAck":
      wire = [PROTOCOL_VERSION, TYPE_SYN_ACK, flattenDigest(message.digest), 0, message.delta.map(nodeDeltaToWire)];
      if ((message.compactDigest?.length ?? 0) > 0) wire.push(flattenCompact(message.compactDigest!));
      break;
    case "ack":
      wire = [PROTOCOL_VERSION, TYPE_ACK, message.delta.map(nodeDeltaToWire), flattenDigest(message.digest ?? [])];
      if ((message.compactDigest?.length ?? 0) > 0) wire.push(flattenCompact(message.compactDigest!));
      break;
    case "badCluster":
      wire = [PROTOCOL_VERSION, TYPE_BAD_CLUSTER];
      break;
  }
  if ((message.type === "syn" || message.type === "synAck") && message.partialDigest) {
    wire[message.type === "syn" ? 4 : 3] = 1;
  }
  const view = encoder.encode(wire) as Uint8Array;
  return new Uint8Array(view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength));
}

function flattenDigest(digest: Digest): unknown[] {
  const flat: unknown[] = new Array(digest.length * 6);
  let i = 0;
  for (const entry of digest) {
    flat[i++] = entry.id.nodeId;
    flat[i++] = entry.id.generationId;
    flat[i++] = entry.id.gossipAdvertiseAddr;
    flat[i++] = entry.heartbeat;
    flat[i++] = entry.lastGcVersion;
    flat[i++] = entry.maxVersion;
  }
  return flat;
}

function flattenCompact(digest: readonly CompactDigestEntry[]): number[] {
  const flat: number[] = new Array(digest.length * 5);
  let i = 0;
  for (const entry of digest) {
    flat[i++] = entry.fingerprint;
    flat[i++] = entry.check;
    flat[i++] = entry.heartbeat;
    flat[i++] = entry.lastGcVersion;
    flat[i++] = entry.maxVersion;
  }
  return flat;
}

function nodeDeltaToWire(delta: NodeDelta): unknown[] {
  const kvs: unknown[] = new Array(delta.keyValues.length * 4);
  let i = 0;
  for (const kv of delta.keyValues) {
    kvs[i++] = kv.key;
    kvs[i++] = kv.value;
    kvs[i++] = kv.version;
    kvs[i++] = STATUS_CODES[kv.status];
  }
  const id = delta.id;
  return [
    id.nodeId,
    id.generationId,
    id.gossipAdvertiseAddr,
    delta.fromVersionExcluded,
    delta.lastGcVersion,
    delta.maxVersion,
    kvs,
  ];
}

/**
 * Decodes and validates one datagram. Throws `SyntaxError` naming the first
 * problem found: wrong protocol version, unknown type, wrong shape, a value
 * out of range, a bad address, versions out of order.
 *
 * @example
 * ```ts
 * import { decodeMessage } from "@scope/chitchat";
 * import assert from "node:assert/strict";
 * assert.throws(() => decodeMessage(new Uint8Array([0xff])), SyntaxError);
 * ```
 */
export function decodeMessage(bytes: Uint8Array): Message {
  if (bytes.byteLength > MAX_DATAGRAM_SIZE) {
    throw new SyntaxError(`Datagram of ${bytes.byteLength} bytes exceeds ${MAX_DATAGRAM_SIZE}`);
  }
  checkWireSubset(bytes);
  let wire: unknown;
  try {
    wire = decoder.decode(bytes);
  } catch (error) {
    throw new SyntaxError(`Malformed CBOR: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!Array.isArray(wire) || wire.length < 2) throw new SyntaxError("Message is not an array");
  if (wire[0] !== PROTOCOL_VERSION) {
    throw new SyntaxError(`Unsupported protocol version ${String(wire[0])}`);
  }
  switch (wire[1]) {
    case TYPE_SYN: {
      if (wire.length !== 7) expectLength(wire, 5, "Syn");
      const syn = {
        type: "syn" as const,
        clusterId: name(wire[2], "cluster id"),
        digest: digestFromWire(wire[3]),
        partialDigest: flag(wire[4]),
      };
      if (wire.length === 5) return syn;
      const compactDigest = compactFromWire(wire[5]);
      const range = rangeFromWire(wire[6]);
      if (range !== undefined && !syn.partialDigest) throw new SyntaxError("Bad Syn: a range on a complete digest");
      return {
        ...syn,
        ...(compactDigest.length > 0 ? { compactDigest } : {}),
        ...(range !== undefined ? { range } : {}),
      };
    }
    case TYPE_SYN_ACK: {
      if (wire.length !== 6) expectLength(wire, 5, "SynAck");
      const synAck = {
        type: "synAck" as const,
        digest: digestFromWire(wire[2]),
        partialDigest: flag(wire[3]),
        delta: deltaFromWire(wire[4]),
      };
      if (wire.length === 5) return synAck;
      const compactDigest = compactFromWire(wire[5]);
      return compactDigest.length > 0 ? { ...synAck, compactDigest } : synAck;
    }
    case TYPE_ACK: {
      if (wire.length !== 5) expectLength(wire, 4, "Ack");
      const delta = deltaFromWire(wire[2]);
      const digest = digestFromWire(wire[3]);
      const compactDigest = wire.length === 5 ? compactFromWire(wire[4]) : [];
      return {
        type: "ack",
        delta,
        ...(digest.length > 0 ? { digest } : {}),
        ...(compactDigest.length > 0 ? { compactDigest } : {}),
      };
    }
    case TYPE_BAD_CLUSTER:
      expectLength(wire, 2, "BadCluster");
      return { type: "badCluster" };
    default:
      throw new SyntaxError(`Unknown message type ${String(wire[1])}`);
  }
}

/**
 * Walks the CBOR items without building them and refuses anything the
 * encoder never writes: only unsigned integers, 64-bit floats (integers of
 * 2^32 and more), definite text strings and definite arrays at most
 * {@linkcode MAX_WIRE_DEPTH} deep, each length within the bytes left, and
 * nothing after the message. So the decoder never meets tags, maps, deep
 * nesting or lengths that promise more than the datagram holds.
 */
function checkWireSubset(bytes: Uint8Array): void {
  const end = bytes.byteLength;
  const pending = [1];
  let pos = 0;
  while (pending.length > 0) {
    const top = pending.length - 1;
    if (pending[top] === 0) {
      pending.pop();
      continue;
    }
    pending[top]--;
    if (pos >= end) throw new SyntaxError(`Truncated CBOR: ${end} bytes`);
    const initial = bytes[pos++];
    const major = initial >> 5;
    const info = initial & 0x1f;
    if (initial === 0xfb) {
      if ((pos += 8) > end) throw new SyntaxError(`Truncated CBOR: ${end} bytes`);
      continue;
    }
    let length = info;
    if (info >= 24) {
      if (info > 27) throw new SyntaxError(`Unexpected CBOR item 0x${initial.toString(16)} at byte ${pos - 1}`);
      const size = 1 << (info - 24);
      if (pos + size > end) throw new SyntaxError(`Truncated CBOR: ${end} bytes`);
      length = 0;
      for (let i = 0; i < size; i++) length = length * 256 + bytes[pos + i];
      pos += size;
    }
    if (major === 0) continue;
    if (major === 3) {
      if (length > end - pos) throw new SyntaxError(`CBOR string of ${length} bytes exceeds the datagram`);
      pos += length;
    } else if (major === 4) {
      if (length > end - pos) throw new SyntaxError(`CBOR array of ${length} items exceeds the datagram`);
      if (pending.length > MAX_WIRE_DEPTH) throw new SyntaxError(`CBOR arrays nested deeper than ${MAX_WIRE_DEPTH}`);
      pending.push(length);
    } else {
      throw new SyntaxError(`Unexpected CBOR item 0x${initial.toString(16)} at byte ${pos - 1}`);
    }
  }
  if (pos !== end) throw new SyntaxError(`${end - pos} bytes after the message`);
}

function expectLength(wire: unknown[], length: number, what: string): void {
  if (wire.length !== length) {
    throw new SyntaxError(`${what} has ${wire.length} fields, expected ${length}`);
  }
}

function flag(value: unknown): boolean {
  if (value !== 0 && value !== 1) throw new SyntaxError(`Bad flag ${String(value)}`);
  return value === 1;
}

/** Strings of up to this many UTF-16 units cannot exceed the byte limit (3 bytes per unit at most). */
const SAFE_NAME_UNITS = Math.floor(MAX_WIRE_NAME_BYTES / 3);

function name(value: unknown, what: string): string {
  if (
    typeof value !== "string" || value.length === 0 ||
    (value.length > SAFE_NAME_UNITS && utf8Length(value) > MAX_WIRE_NAME_BYTES)
  ) {
    throw new SyntaxError(`Bad ${what}: expected a string of 1 to ${MAX_WIRE_NAME_BYTES} UTF-8 bytes`);
  }
  return value;
}

function uint(value: unknown, what: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new SyntaxError(`Bad ${what}: ${typeof value === "bigint" ? `${value}n` : String(value)}`);
  }
  return value;
}

const validAddresses = new Set<string>();

function address(value: unknown): string {
  if (typeof value !== "string") throw new SyntaxError("Bad gossip address: not a string");
  if (validAddresses.has(value)) return value;
  if (!isCanonicalIpAddress(value)) throw new SyntaxError(`Bad gossip address ${JSON.stringify(value.slice(0, 80))}`);
  if (validAddresses.size >= 10_000) validAddresses.clear();
  validAddresses.add(value);
  return value;
}

/** Gossip addresses on the wire are IP literals with a port, as sockets report them. */
function isCanonicalIpAddress(value: string): boolean {
  if (value.length > 64) return false;
  let host: string;
  let port: string;
  if (value.startsWith("[")) {
    const close = value.indexOf("]");
    if (close < 0 || value[close + 1] !== ":") return false;
    host = value.slice(1, close);
    port = value.slice(close + 2);
    if (!isIPv6(host)) return false;
  } else {
    const colon = value.lastIndexOf(":");
    if (colon < 0) return false;
    host = value.slice(0, colon);
    port = value.slice(colon + 1);
    if (!isIPv4(host)) return false;
  }
  return /^\d{1,5}$/.test(port) && Number(port) <= 65535 && String(Number(port)) === port;
}

/**
 * Decoded ids are interned: the same node always decodes to the same frozen
 * object, so its map key is computed once (see `chitchatIdKey`). Indexed by
 * node id, then matched on generation and address.
 */
const internedIds = new Map<string, ChitchatId[]>();
let internedCount = 0;
const MAX_INTERNED_IDS = 50_000;

function chitchatId(nodeId: unknown, generationId: unknown, addr: unknown): ChitchatId {
  const id = name(nodeId, "node id");
  const generation = uint(generationId, "generation id");
  const gossipAdvertiseAddr = address(addr);
  let incarnations = internedIds.get(id);
  if (incarnations !== undefined) {
    for (const known of incarnations) {
      if (known.generationId === generation && known.gossipAdvertiseAddr === gossipAdvertiseAddr) return known;
    }
  } else {
    if (internedCount >= MAX_INTERNED_IDS) {
      internedIds.clear();
      internedCount = 0;
    }
    incarnations = [];
    internedIds.set(id, incarnations);
  }
  if (incarnations.length >= 16) incarnations.shift();
  else internedCount++;
  const interned = Object.freeze({ nodeId: id, generationId: generation, gossipAdvertiseAddr });
  incarnations.push(interned);
  return interned;
}

function digestFromWire(value: unknown): Digest {
  if (!Array.isArray(value) || value.length % 6 !== 0) {
    throw new SyntaxError("Bad digest: expected a flat list of 6 items per node");
  }
  const digest: DigestEntry[] = new Array(value.length / 6);
  for (let i = 0, j = 0; i < value.length; i += 6, j++) {
    digest[j] = {
      id: chitchatId(value[i], value[i + 1], value[i + 2]),
      heartbeat: uint(value[i + 3], "heartbeat"),
      lastGcVersion: uint(value[i + 4], "last GC version"),
      maxVersion: uint(value[i + 5], "max version"),
    };
  }
  return digest;
}

function fingerprint(value: unknown): number {
  const fp = uint(value, "fingerprint");
  if (fp > MAX_FINGERPRINT) throw new SyntaxError(`Bad fingerprint: ${fp}`);
  return fp;
}

function compactFromWire(value: unknown): CompactDigestEntry[] {
  if (!Array.isArray(value) || value.length % 5 !== 0) {
    throw new SyntaxError("Bad compact digest: expected a flat list of 5 items per node");
  }
  const digest: CompactDigestEntry[] = new Array(value.length / 5);
  for (let i = 0, j = 0; i < value.length; i += 5, j++) {
    const check = uint(value[i + 1], "check");
    if (check > MAX_FINGERPRINT) throw new SyntaxError(`Bad check: ${check}`);
    digest[j] = {
      fingerprint: fingerprint(value[i]),
      check,
      heartbeat: uint(value[i + 2], "heartbeat"),
      lastGcVersion: uint(value[i + 3], "last GC version"),
      maxVersion: uint(value[i + 4], "max version"),
    };
  }
  return digest;
}

function rangeFromWire(value: unknown): DigestRange | undefined {
  if (!Array.isArray(value) || (value.length !== 0 && value.length !== 2)) {
    throw new SyntaxError("Bad digest range: expected [] or [start, end]");
  }
  if (value.length === 0) return undefined;
  const start = fingerprint(value[0]);
  const end = fingerprint(value[1]);
  if (start === end) throw new SyntaxError(`Bad digest range: empty (${start}, ${end})`);
  return { start, end };
}

function deltaFromWire(value: unknown): NodeDelta[] {
  if (!Array.isArray(value)) throw new SyntaxError("Bad delta: not a list");
  const seen = new Set<string>();
  return value.map((item) => {
    const nodeDelta = nodeDeltaFromWire(item);
    const key = `${nodeDelta.id.nodeId}\u0000${nodeDelta.id.generationId}\u0000${nodeDelta.id.gossipAdvertiseAddr}`;
    if (seen.has(key)) throw new SyntaxError(`Bad delta: node ${nodeDelta.id.nodeId} appears twice`);
    seen.add(key);
    return nodeDelta;
  });
}

function nodeDeltaFromWire(value: unknown): NodeDelta {
  if (!Array.isArray(value) || value.length !== 7) {
    throw new SyntaxError("Bad node delta: expected 7 fields");
  }
  const id = chitchatId(value[0], value[1], value[2]);
  const from = uint(value[3], "from version");
  const lastGc = uint(value[4], "last GC version");
  const max = uint(value[5], "max version");
  if (max < from) throw new SyntaxError(`Bad node delta: max version ${max} below from version ${from}`);
  const flat = value[6];
  if (!Array.isArray(flat) || flat.length % 4 !== 0) {
    throw new SyntaxError("Bad node delta: mutations must be a flat list of 4 items per key");
  }
  const keyValues: KeyValueMutation[] = new Array(flat.length / 4);
  let previous = from;
  for (let i = 0, j = 0; i < flat.length; i += 4, j++) {
    const key = name(flat[i], "key");
    const keyValue = flat[i + 1];
    if (typeof keyValue !== "string") throw new SyntaxError(`Bad value for key ${JSON.stringify(key)}`);
    const version = uint(flat[i + 2], "version");
    // Versions above `max` are priority keys sent ahead of their turn; all are increasing.
    if (version <= previous) {
      throw new SyntaxError(`Bad version ${version} for key ${JSON.stringify(key)}: not increasing`);
    }
    previous = version;
    const status = STATUSES[flat[i + 3] as number];
    if (status === undefined || typeof flat[i + 3] !== "number") {
      throw new SyntaxError(`Bad status ${String(flat[i + 3])} for key ${JSON.stringify(key)}`);
    }
    keyValues[j] = { key, value: keyValue, version, status };
  }
  return { id, fromVersionExcluded: from, lastGcVersion: lastGc, maxVersion: max, keyValues };
}
