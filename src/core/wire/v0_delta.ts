/**
 * The delta of the chitchat v0 wire, in two layers: blocks (raw, or zstd
 * frames) whose contents join into one op stream, and the ops (Node,
 * KeyValue, SetMaxVersion) that make node deltas. Both directions hold the
 * rules a Rust sender keeps, so whatever is decoded can be applied and
 * whatever is encoded is what a Rust receiver expects.
 * @module
 */

import { chitchatIdKey, formatChitchatId } from "../chitchat_id.ts";
import type { Delta, KeyValueMutation, NodeDelta } from "../messages.ts";
import type { KeyStatus } from "../node_state.ts";
import { checkU64, MAX_U16, V0Reader, V0Writer } from "./v0_bytes.ts";
import { checkZstdFrame, type ZstdCompressor, type ZstdDecompressor } from "./zstd.ts";

/** The op stream is cut into chunks of this many bytes (the Rust sender's block threshold). */
export const V0_BLOCK_SIZE = 16_384;

/**
 * Most bytes the blocks of one delta may expand to (and zstd windows may
 * claim). The Rust sender has no such cap, but it counts compressed blocks at
 * their compressed size against the datagram, so only a ratio above 64:1
 * over a whole datagram could reach it; without it, a few kilobytes of
 * frames could ask for hundreds of megabytes.
 */
export const MAX_V0_STREAM_BYTES = 4 * 1024 * 1024;

const BLOCK_END = 0;
const BLOCK_ZSTD = 1;
const BLOCK_RAW = 2;

const OP_NODE = 0;
const OP_KEY_VALUE = 1;
const OP_SET_MAX_VERSION = 2;

const STATUSES: readonly KeyStatus[] = ["set", "deleted", "deleteAfterTtl"];
const STATUS_CODES: Readonly<Record<KeyStatus, number>> = { set: 0, deleted: 1, deleteAfterTtl: 2 };

/** Reads the blocks of a delta and parses the ops they hold. */
export function readDelta(
  reader: V0Reader,
  decompressor: ZstdDecompressor,
  skipped: (what: string) => void = () => {},
): NodeDelta[] {
  const chunks: Uint8Array[] = [];
  let total = 0;
  let budget = MAX_V0_STREAM_BYTES;
  for (let block = 0;; block++) {
    const at = reader.offset;
    const tag = reader.u8("delta block tag");
    if (tag === BLOCK_END) break;
    if (tag !== BLOCK_ZSTD && tag !== BLOCK_RAW) {
      throw new SyntaxError(`Unknown delta block tag ${tag} at offset ${at}`);
    }
    const length = reader.u16("delta block length");
    const body = reader.bytes(length, `delta block ${block}`);
    if (length === 0) throw new SyntaxError(`Empty delta block ${block} at offset ${at}`);
    let content = body;
    if (tag === BLOCK_ZSTD) {
      let frame;
      try {
        frame = checkZstdFrame(body);
      } catch (error) {
        throw new SyntaxError(`Bad delta block ${block} at offset ${at}: ${(error as Error).message}`);
      }
      budget -= frame.memory;
      if (budget < 0) throw new SyntaxError(`Delta blocks expand past ${MAX_V0_STREAM_BYTES} bytes`);
      content = inflate(decompressor, body, frame.contentSize, block, at);
    } else {
      budget -= length;
      if (budget < 0) throw new SyntaxError(`Delta blocks expand past ${MAX_V0_STREAM_BYTES} bytes`);
    }
    chunks.push(content);
    total += content.byteLength;
  }
  let stream: Uint8Array;
  if (chunks.length === 1) {
    stream = chunks[0];
  } else {
    stream = new Uint8Array(total);
    let at = 0;
    for (const chunk of chunks) {
      stream.set(chunk, at);
      at += chunk.byteLength;
    }
  }
  return readOps(new V0Reader(stream, "delta op stream"), skipped);
}

function inflate(decompressor: ZstdDecompressor, frame: Uint8Array, size: number, block: number, at: number): Uint8Array {
  let out: Uint8Array;
  try {
    out = decompressor.decompress(frame, size);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new SyntaxError(`Bad zstd frame in delta block ${block} at offset ${at}: ${reason}`);
  }
  if (!(out instanceof Uint8Array) || out.byteLength !== size) {
    throw new SyntaxError(`Bad zstd frame in delta block ${block} at offset ${at}: not ${size} bytes of content`);
  }
  return out;
}

interface Building {
  readonly id: NodeDelta["id"];
  readonly fromVersionExcluded: number;
  readonly lastGcVersion: number;
  maxVersion: number;
  readonly keyValues: KeyValueMutation[];
  setMaxVersion: boolean;
  /** A number above 2^53 - 1 was met: the node delta is read to its end and left out. */
  unrepresentable: boolean;
}

function done(node: Building): NodeDelta {
  const { id, fromVersionExcluded, lastGcVersion, maxVersion, keyValues } = node;
  return { id, fromVersionExcluded, lastGcVersion, maxVersion, keyValues };
}

/**
 * Groups the ops into node deltas. Beyond what the Rust decoder checks
 * (a Node op first, distinct nodes, strictly increasing key versions), it
 * refuses what a Rust sender never writes: a key at or below the node delta's
 * `from_version_excluded`, and a SetMaxVersion anywhere but alone right after
 * its Node op, or not above `from_version_excluded` (after keys it is the
 * crash of the negative vector).
 */
function readOps(reader: V0Reader, skipped: (what: string) => void): NodeDelta[] {
  const delta: NodeDelta[] = [];
  const seen = new Set<string>();
  let node: Building | undefined;
  let nodes = 0;
  const finish = (current: Building): void => {
    if (current.unrepresentable) skipped(`node delta ${nodes - 1} (${JSON.stringify(current.id.nodeId)})`);
    else delta.push(done(current));
  };
  while (reader.remaining > 0) {
    const at = reader.offset;
    const tag = reader.u8("op tag");
    if (tag === OP_NODE) {
      const id = reader.wideChitchatId();
      const lastGcVersion = reader.wideU64("last GC version");
      const fromVersionExcluded = reader.wideU64("from version");
      if (node !== undefined) finish(node);
      nodes++;
      if (id === undefined || lastGcVersion === undefined || fromVersionExcluded === undefined) {
        node = unrepresentableNode(id);
        continue;
      }
      const key = chitchatIdKey(id);
      if (seen.has(key)) throw new SyntaxError(`Bad delta: node ${formatChitchatId(id)} appears twice`);
      seen.add(key);
      node = {
        id,
        fromVersionExcluded,
        lastGcVersion,
        maxVersion: 0,
        keyValues: [],
        setMaxVersion: false,
        unrepresentable: false,
      };
    } else if (tag === OP_KEY_VALUE) {
      const key = reader.string("key");
      const value = reader.string("value");
      const version = reader.wideU64("version");
      const code = reader.u8("key status");
      const where = `key ${JSON.stringify(key)} at stream offset ${at}`;
      if (node === undefined) throw new SyntaxError(`Bad delta: ${where} comes before any node`);
      const status = STATUSES[code];
      if (status === undefined) throw new SyntaxError(`Bad status ${code} for ${where}`);
      if (node.setMaxVersion) throw new SyntaxError(`Bad delta: ${where} follows a SetMaxVersion`);
      if (version === undefined) node.unrepresentable = true;
      if (node.unrepresentable) continue;
      if (version! <= node.maxVersion) {
        throw new SyntaxError(`Bad version ${version} for ${where}: not above ${node.maxVersion}`);
      }
      if (version! <= node.fromVersionExcluded) {
        throw new SyntaxError(`Bad version ${version} for ${where}: not above from version ${node.fromVersionExcluded}`);
      }
      node.keyValues.push({ key, value, version: version!, status });
      node.maxVersion = version!;
    } else if (tag === OP_SET_MAX_VERSION) {
      const maxVersion = reader.wideU64("max version");
      if (node === undefined) throw new SyntaxError(`Bad delta: SetMaxVersion at stream offset ${at} comes before any node`);
      const where = `SetMaxVersion ${maxVersion ?? "above 2^53 - 1"} at stream offset ${at} for node ${
        JSON.stringify(node.id.nodeId)
      }`;
      if (node.keyValues.length > 0) throw new SyntaxError(`Bad delta: ${where} follows key-value ops`);
      if (node.setMaxVersion) throw new SyntaxError(`Bad delta: ${where} is the second one`);
      node.setMaxVersion = true;
      if (maxVersion === undefined) node.unrepresentable = true;
      if (node.unrepresentable) continue;
      if (maxVersion! <= node.fromVersionExcluded) {
        throw new SyntaxError(`Bad delta: ${where} is not above from version ${node.fromVersionExcluded}`);
      }
      node.maxVersion = maxVersion!;
    } else {
      throw new SyntaxError(`Unknown delta op tag ${tag} at stream offset ${at}`);
    }
  }
  if (node !== undefined) finish(node);
  return delta;
}

/** The stand-in for a node delta whose header holds a number above 2^53 - 1: its ops are read and dropped. */
function unrepresentableNode(id: NodeDelta["id"] | undefined): Building {
  return {
    id: id ?? { nodeId: "(generation above 2^53 - 1)", generationId: 0, gossipAdvertiseAddr: "" },
    fromVersionExcluded: 0,
    lastGcVersion: 0,
    maxVersion: 0,
    keyValues: [],
    setMaxVersion: false,
    unrepresentable: true,
  };
}

/**
 * Checks a node delta against what v0 can say and returns whether it needs a
 * SetMaxVersion op. With keys, `maxVersion` is the last key's version (the
 * format derives it); without keys it goes in a SetMaxVersion when above 0.
 */
function checkNodeDelta(nodeDelta: NodeDelta, index: number): boolean {
  const where = `delta[${index}] (node ${JSON.stringify(String(nodeDelta.id?.nodeId))})`;
  const from = checkU64(nodeDelta.fromVersionExcluded, `${where} fromVersionExcluded`);
  checkU64(nodeDelta.lastGcVersion, `${where} lastGcVersion`);
  const max = checkU64(nodeDelta.maxVersion, `${where} maxVersion`);
  let previous = from;
  for (const [i, kv] of nodeDelta.keyValues.entries()) {
    const version = checkU64(kv.version, `${where} keyValues[${i}].version`);
    if (version <= previous) {
      throw new TypeError(
        `Invalid ${where} keyValues[${i}].version ${version}: versions must increase and exceed fromVersionExcluded ${from}`,
      );
    }
    if (!Object.hasOwn(STATUS_CODES, kv.status)) {
      throw new TypeError(`Invalid ${where} keyValues[${i}].status ${JSON.stringify(kv.status)}`);
    }
    previous = version;
  }
  if (nodeDelta.keyValues.length > 0) {
    if (max !== previous) {
      throw new TypeError(
        `Invalid ${where} maxVersion ${max}: chitchat v0 sets it to the last key's version ${previous}` +
          (max < previous ? " (keys sent ahead of maxVersion would crash Rust peers)" : ""),
      );
    }
    return false;
  }
  if (max > 0 && max <= from) {
    throw new TypeError(`Invalid ${where} maxVersion ${max}: without keys it must be 0 or above fromVersionExcluded ${from}`);
  }
  return max > 0;
}

/** Serializes the ops of a delta into one stream, refusing what v0 cannot carry (`TypeError`). */
export function deltaOpStream(delta: Delta): Uint8Array {
  const ops = new V0Writer();
  const seen = new Set<string>();
  for (const [index, nodeDelta] of delta.entries()) {
    const setMax = checkNodeDelta(nodeDelta, index);
    ops.u8(OP_NODE);
    ops.chitchatId(nodeDelta.id);
    const key = chitchatIdKey(nodeDelta.id);
    if (seen.has(key)) throw new TypeError(`Invalid delta[${index}]: node ${formatChitchatId(nodeDelta.id)} appears twice`);
    seen.add(key);
    ops.u64(nodeDelta.lastGcVersion);
    ops.u64(nodeDelta.fromVersionExcluded);
    for (const [i, kv] of nodeDelta.keyValues.entries()) {
      ops.u8(OP_KEY_VALUE);
      ops.string(kv.key, `delta[${index}] keyValues[${i}].key`);
      ops.string(kv.value, `delta[${index}] keyValues[${i}].value`);
      ops.u64(kv.version);
      ops.u8(STATUS_CODES[kv.status]);
    }
    if (setMax) {
      ops.u8(OP_SET_MAX_VERSION);
      ops.u64(nodeDelta.maxVersion);
    }
  }
  return ops.finish();
}

/**
 * Writes an op stream as blocks of {@linkcode V0_BLOCK_SIZE} bytes and the end
 * tag. Each block is raw unless a compressor gives a frame no longer than the
 * chunk that passes the decoder's frame check (the Rust sender's rule).
 */
export function writeBlocks(out: V0Writer, stream: Uint8Array, compressor?: ZstdCompressor): void {
  for (let at = 0; at < stream.byteLength; at += V0_BLOCK_SIZE) {
    const chunk = stream.subarray(at, Math.min(stream.byteLength, at + V0_BLOCK_SIZE));
    const frame = compressor === undefined ? undefined : usableFrame(compressor.compress(chunk), chunk.byteLength);
    if (frame !== undefined) {
      out.u8(BLOCK_ZSTD);
      out.u16(frame.byteLength);
      out.bytes(frame);
    } else {
      out.u8(BLOCK_RAW);
      out.u16(chunk.byteLength);
      out.bytes(chunk);
    }
  }
  out.u8(BLOCK_END);
}

function usableFrame(frame: Uint8Array, size: number): Uint8Array | undefined {
  if (!(frame instanceof Uint8Array) || frame.byteLength > size || frame.byteLength > MAX_U16) return undefined;
  try {
    return checkZstdFrame(frame).contentSize === size ? frame : undefined;
  } catch {
    return undefined;
  }
}
