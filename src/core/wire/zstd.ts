/**
 * zstd for the compressed delta blocks of the chitchat v0 wire. The codec
 * checks each frame's structure itself (magic, header, block headers, exact
 * end, sequence count) before any decompressor sees it, so a backend only
 * ever gets a single frame of known content size, at most 65 535 bytes, and
 * must return exactly that many bytes. The backend is given by the caller
 * (`loadZstd()` in the runtime: the runtime's own libzstd, or libzstd built
 * to WebAssembly); this module holds no decoder, only the checks.
 * @module
 */

/**
 * Turns one checked zstd frame back into its content.
 *
 * @example
 * ```ts
 * import type { ZstdDecompressor } from "./zstd.ts";
 * // A stand-in for frames of one raw block (a real backend is libzstd).
 * const rawOnly: ZstdDecompressor = { decompress: (frame, size) => frame.slice(frame.length - size) };
 * console.assert(rawOnly.decompress(new Uint8Array([9, 1, 2]), 2)[0] === 1);
 * ```
 */
export interface ZstdDecompressor {
  /** Returns exactly `contentSize` bytes, or throws (any error: the codec reports it as a `SyntaxError`). */
  decompress(frame: Uint8Array, contentSize: number): Uint8Array;
}

/**
 * Turns bytes into one complete zstd frame. The frame must carry its content
 * size (the decoder requires it), and no checksum; a frame that does not pass
 * {@linkcode checkZstdFrame} is not used (the block goes out raw).
 *
 * @example
 * ```ts
 * import type { ZstdCompressor } from "./zstd.ts";
 * // A stand-in that never helps: the encoder then writes raw blocks.
 * const never: ZstdCompressor = { compress: (data) => new Uint8Array(data.length + 1) };
 * console.assert(never.compress(new Uint8Array(3)).length === 4);
 * ```
 */
export interface ZstdCompressor {
  /** Compresses `data` into one zstd frame. */
  compress(data: Uint8Array): Uint8Array;
}

/** The zstd frame magic number, `28 B5 2F FD` on the wire. */
const FRAME_MAGIC = 0xfd2f_b528;

/** Largest content of one frame: the Rust receiver decompresses into a buffer of this size. */
export const MAX_FRAME_CONTENT = 0xffff;

/** Largest block of a zstd frame (the format's own limit). */
const MAX_BLOCK_SIZE = 128 * 1024;

/** What the header of a checked frame says. */
export interface ZstdFrameInfo {
  /** The frame's content size from its header. */
  readonly contentSize: number;
  /** Bytes a decoder may allocate for the frame: its window, or the content size when it is one segment. */
  readonly memory: number;
}

/**
 * Checks that `frame` is exactly one zstd frame this codec accepts and
 * returns its content size: magic number, no reserved bit, no dictionary, a
 * content size present, from 1 to 65 535, no checksum, well-formed block
 * headers, and no byte after the last block. Throws `SyntaxError` otherwise.
 * It does not decompress: a frame that passes can still fail in the backend.
 *
 * @example
 * ```ts
 * import { checkZstdFrame } from "./zstd.ts";
 * import assert from "node:assert/strict";
 * // One raw block holding "hi": header 28 B5 2F FD, descriptor 0x20 (one segment), size 2.
 * const frame = new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 0x20, 2, 0x11, 0, 0, 0x68, 0x69]);
 * assert.equal(checkZstdFrame(frame).contentSize, 2);
 * assert.throws(() => checkZstdFrame(frame.subarray(0, 10)), SyntaxError);
 * ```
 */
export function checkZstdFrame(frame: Uint8Array): ZstdFrameInfo {
  const end = frame.byteLength;
  const need = (at: number, n: number, what: string): void => {
    if (at + n > end) throw new SyntaxError(`Truncated zstd frame: ${what} needs ${n} bytes at offset ${at} of ${end}`);
  };
  need(0, 5, "the frame header");
  const magic = (frame[0] | (frame[1] << 8) | (frame[2] << 16) | (frame[3] << 24)) >>> 0;
  if (magic !== FRAME_MAGIC) {
    throw new SyntaxError(`Bad zstd frame: magic number 0x${magic.toString(16)}, expected 0x${FRAME_MAGIC.toString(16)}`);
  }
  const descriptor = frame[4];
  const sizeFlag = descriptor >> 6;
  const singleSegment = (descriptor >> 5) & 1;
  const checksum = (descriptor >> 2) & 1;
  const dictionaryFlag = descriptor & 3;
  if (descriptor & 0x08) throw new SyntaxError("Bad zstd frame: reserved header bit set");
  if (checksum) throw new SyntaxError("Bad zstd frame: content checksums are not used on this wire");
  let at = 5;
  let window = 0;
  if (!singleSegment) {
    need(at, 1, "the window descriptor");
    const exponent = frame[at] >> 3;
    const base = 2 ** (10 + exponent);
    window = base + (base / 8) * (frame[at] & 7);
    at++;
  }
  const dictionaryBytes = [0, 1, 2, 4][dictionaryFlag];
  need(at, dictionaryBytes, "the dictionary id");
  for (let i = 0; i < dictionaryBytes; i++) {
    if (frame[at + i] !== 0) throw new SyntaxError("Bad zstd frame: a dictionary is required, none is used on this wire");
  }
  at += dictionaryBytes;
  const sizeBytes = sizeFlag === 0 ? singleSegment : 1 << sizeFlag;
  if (sizeBytes === 0) throw new SyntaxError("Bad zstd frame: no content size in the header");
  need(at, sizeBytes, "the content size");
  let contentSize = 0;
  for (let i = sizeBytes - 1; i >= 0; i--) contentSize = contentSize * 256 + frame[at + i];
  if (sizeBytes === 2) contentSize += 256;
  at += sizeBytes;
  if (contentSize === 0 || contentSize > MAX_FRAME_CONTENT) {
    throw new SyntaxError(`Bad zstd frame: content size ${contentSize}, expected 1 to ${MAX_FRAME_CONTENT}`);
  }
  if (singleSegment) window = contentSize;
  // Walk the block headers to find where the frame ends; raw and RLE sizes are exact.
  let known = 0;
  let sequences = 0;
  for (let last = 0; !last;) {
    need(at, 3, "a block header");
    const header = frame[at] | (frame[at + 1] << 8) | (frame[at + 2] << 16);
    last = header & 1;
    const type = (header >> 1) & 3;
    const size = header >>> 3;
    at += 3;
    if (type === 3) throw new SyntaxError(`Bad zstd frame: reserved block type at offset ${at - 3}`);
    if (size > MAX_BLOCK_SIZE) throw new SyntaxError(`Bad zstd frame: block of ${size} bytes at offset ${at - 3}`);
    if (type !== 2) known += size;
    if (known > contentSize) throw new SyntaxError(`Bad zstd frame: blocks exceed the content size ${contentSize}`);
    const stored = type === 1 ? 1 : size;
    need(at, stored, "a block");
    if (type === 2) sequences += countSequences(frame.subarray(at, at + size), at);
    // Every sequence ends with a match of at least 3 bytes: more cannot fit the content.
    if (sequences * 3 > contentSize) {
      throw new SyntaxError(`Bad zstd frame: ${sequences} sequences cannot fit ${contentSize} bytes`);
    }
    at += stored;
  }
  if (at !== end) throw new SyntaxError(`Bad zstd frame: ${end - at} bytes after its last block`);
  return { contentSize, memory: Math.max(window, contentSize) };
}

/**
 * The number of sequences a compressed block declares (RFC 8878, 3.1.1.3):
 * skips the literals section by its header, then reads the count. A count
 * the content cannot hold is refused before any decoder spends work on it.
 */
function countSequences(block: Uint8Array, offset: number): number {
  const bad = (): never => {
    throw new SyntaxError(`Bad zstd frame: compressed block at offset ${offset} is cut short`);
  };
  if (block.length < 1) bad();
  const b0 = block[0];
  const literalsType = b0 & 3;
  const sizeFormat = (b0 >> 2) & 3;
  let header: number;
  let stored: number;
  if (literalsType < 2) {
    header = sizeFormat === 1 ? 2 : sizeFormat === 3 ? 3 : 1;
    if (block.length < header) bad();
    const size = header === 1 ? b0 >> 3 : header === 2 ? (b0 >> 4) + (block[1] << 4) : (b0 >> 4) + (block[1] << 4) + (block[2] << 12);
    stored = literalsType === 0 ? size : 1;
  } else {
    header = sizeFormat < 2 ? 3 : sizeFormat === 2 ? 4 : 5;
    if (block.length < header) bad();
    let bits = 0;
    for (let i = header - 1; i >= 0; i--) bits = bits * 256 + block[i];
    const width = sizeFormat < 2 ? 10 : sizeFormat === 2 ? 14 : 18;
    stored = Math.floor(bits / 2 ** (4 + width)) % 2 ** width;
  }
  const at = header + stored;
  if (at >= block.length) return at === block.length ? 0 : bad();
  const first = block[at];
  if (first < 128) return first;
  if (first < 255) return at + 1 < block.length ? ((first - 128) << 8) + block[at + 1] : bad();
  return at + 2 < block.length ? block[at + 1] + (block[at + 2] << 8) + 0x7f00 : bad();
}

/**
 * The decompressor used when none is given: it refuses every frame, so a
 * compressed block fails to decode (`SyntaxError`) instead of being trusted
 * to a decoder nobody chose.
 *
 * @example
 * ```ts
 * import { noZstd } from "./zstd.ts";
 * import assert from "node:assert/strict";
 * assert.throws(() => noZstd.decompress(new Uint8Array(1), 1), /no zstd decompressor/);
 * ```
 */
export const noZstd: ZstdDecompressor = {
  decompress(): Uint8Array {
    throw new Error("no zstd decompressor was given to the codec (see loadZstd())");
  },
};
