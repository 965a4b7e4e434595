/**
 * zstd backends for the chitchat v0 codec, behind its `ZstdDecompressor` and
 * `ZstdCompressor` interfaces: the runtime's own libzstd through `node:zlib`
 * (Deno 2, Bun 1.2, Node 22.15 and later), else libzstd built to WebAssembly
 * (`zstddec`, decoding only: Node 20). Both are loaded on demand, so
 * importing this module touches nothing.
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
 * The runtime's libzstd, or `undefined` when it has none (Node 20, or no
 * `node:zlib`). Frames it writes carry their content size and no checksum,
 * as the Rust crate writes them.
 *
 * @example
 * ```ts
 * import { nativeZstd, wasmZstd } from "./zstd.ts";
 * import assert from "node:assert/strict";
 * const zstd = await nativeZstd();
 * if (zstd !== undefined) {
 *   const data = new TextEncoder().encode("chitchat ".repeat(100));
 *   const frame = zstd.compress(data);
 *   assert.ok(frame.length < data.length);
 *   assert.deepEqual(zstd.decompress(frame, data.length), data);
 *   assert.deepEqual((await wasmZstd()).decompress(frame, data.length), data);
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
  const params = { [constants.ZSTD_c_compressionLevel]: LEVEL, [constants.ZSTD_c_checksumFlag]: 0 };
  return {
    compress(data: Uint8Array): Uint8Array {
      return plain(compress(data, { params, pledgedSrcSize: data.byteLength }));
    },
    decompress(frame: Uint8Array, contentSize: number): Uint8Array {
      return plain(decompress(frame, { maxOutputLength: Math.max(1, contentSize) }));
    },
  };
}

let wasm: Promise<ZstdDecompressor> | undefined;

/**
 * libzstd's decoder built to WebAssembly (`zstddec`): the same on every
 * runtime, needing no permission and no FFI. Decoding only.
 *
 * @example
 * ```ts
 * import { wasmZstd } from "./zstd.ts";
 * import assert from "node:assert/strict";
 * // One frame holding one raw block, "hi".
 * const frame = new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 0x20, 2, 0x11, 0, 0, 0x68, 0x69]);
 * assert.deepEqual((await wasmZstd()).decompress(frame, 2), new Uint8Array([0x68, 0x69]));
 * ```
 */
export function wasmZstd(): Promise<ZstdDecompressor> {
  wasm ??= (async () => {
    const { ZSTDDecoder } = await import("zstddec");
    const decoder = new ZSTDDecoder();
    await decoder.init();
    return {
      decompress(frame: Uint8Array, contentSize: number): Uint8Array {
        // On a zstd error the returned view is shorter than the content size; the codec refuses it.
        return decoder.decode(frame, contentSize);
      },
    };
  })();
  return wasm;
}

/**
 * The best zstd this runtime has: its own libzstd when there is one (which
 * also compresses), else the WebAssembly decoder (no `compress`).
 *
 * @example
 * ```ts
 * import { loadZstd } from "./zstd.ts";
 * import assert from "node:assert/strict";
 * const zstd = await loadZstd();
 * assert.equal(typeof zstd.decompress, "function");
 * ```
 */
export async function loadZstd(): Promise<ZstdDecompressor & Partial<ZstdCompressor>> {
  return (await nativeZstd()) ?? (await wasmZstd());
}

/** A plain `Uint8Array` over the bytes of a `Buffer`. */
function plain(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
