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
import type {
  CompactDigestEntry,
  Digest,
  DigestEntry,
  DigestRange,
  KeyStatus,
  KeyValueMutation,
  Message,
  NodeDelta,
} from "./types.ts";
import { MAX_DATAGRAM_SIZE, PROTOCOL_VERSION } from "./wire_constants.ts";
import { check, chitchatId, fingerprint, name, uint } from "./wire_fields.ts";

// Where they were first defined; the wire's constants live in wire_constants.ts.
export { MAX_DATAGRAM_SIZE, MAX_WIRE_NAME_BYTES, MESSAGE_OVERHEAD, PROTOCOL_VERSION } from "./wire_constants.ts";

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
 * import { decodeMessage, encodeMessage } from "@scope/chitchat/core";
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
 * import { decodeMessage } from "@scope/chitchat/core";
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

function compactFromWire(value: unknown): CompactDigestEntry[] {
  if (!Array.isArray(value) || value.length % 5 !== 0) {
    throw new SyntaxError("Bad compact digest: expected a flat list of 5 items per node");
  }
  const digest: CompactDigestEntry[] = new Array(value.length / 5);
  for (let i = 0, j = 0; i < value.length; i += 5, j++) {
    const checkHash = check(value[i + 1]); // read before the fingerprint, as it always was
    digest[j] = {
      fingerprint: fingerprint(value[i]),
      check: checkHash,
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
