/**
 * The runtime's own zstd, where it has one, behind the interfaces the
 * chitchat v0 codec takes: `node:zlib` has zstd in Deno 2, Bun 1.2 and
 * Node 22.15 or later, not in Node 20. Loaded on demand, so importing this
 * module touches nothing.
 * @module
 */

import type { ZstdCompressor, ZstdDecompressor } from "../core/wire/zstd.ts";

/** A zstd backend that both compresses and decompresses. */
export type ZstdCodec = ZstdCompressor & ZstdDecompressor;

/** The parts of `node:zlib` used here (absent on runtimes without zstd). */
interface ZlibZstd {
  zstdCompressSync?: (data: Uint8Array, options: object) => Uint8Array;
  zstdDecompressSync?: (data: Uint8Array, options: object) => Uint8Array;
  constants: Record<string, number>;
}

/** zstd's default level, the one the Rust crate uses (it asks for level 0, which means 3). */
const LEVEL = 3;

/**
 * Returns the runtime's zstd, or `undefined` when it has none (Node 20, or a
 * runtime without `node:zlib`). Compressed frames carry their content size
 * and no checksum, as the Rust crate writes them.
 *
 * @example
 * ```ts
 * import { nativeZstd } from "./zstd_native.ts";
 * import { pureZstd } from "../core/wire/zstd.ts";
 * import assert from "node:assert/strict";
 * const zstd = await nativeZstd();
 * if (zstd !== undefined) {
 *   const data = new TextEncoder().encode("chitchat ".repeat(100));
 *   const frame = zstd.compress(data);
 *   assert.ok(frame.length < data.length);
 *   assert.deepEqual(pureZstd.decompress(frame, data.length), data);
 *   assert.deepEqual(zstd.decompress(frame, data.length), data);
 * }
 * ```
 */
export async function nativeZstd(): Promise<ZstdCodec | undefined> {
  let zlib: ZlibZstd;
  try {
    zlib = await import("node:zlib") as unknown as ZlibZstd;
  } catch {
    return undefined;
  }
  const { zstdCompressSync: compress, zstdDecompressSync: decompress, constants } = zlib;
  if (typeof compress !== "function" || typeof decompress !== "function") return undefined;
  const levelParam = constants.ZSTD_c_compressionLevel;
  const checksumParam = constants.ZSTD_c_checksumFlag;
  return {
    compress(data: Uint8Array): Uint8Array {
      const params = { [levelParam]: LEVEL, [checksumParam]: 0 };
      return plain(compress(data, { params, pledgedSrcSize: data.byteLength }));
    },
    decompress(frame: Uint8Array, contentSize: number): Uint8Array {
      return plain(decompress(frame, { maxOutputLength: Math.max(1, contentSize) }));
    },
  };
}

/** A plain `Uint8Array` over the bytes of a `Buffer`. */
function plain(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
