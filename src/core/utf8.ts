/**
 * UTF-8 byte lengths without encoding, used for size limits and for exact
 * CBOR size accounting.
 * @module
 */

/**
 * The number of bytes `text` takes in UTF-8 (lone surrogates count as the
 * 3-byte replacement character, as `TextEncoder` writes them).
 *
 * @example
 * ```ts
 * import { utf8Length } from "./utf8.ts";
 * import assert from "node:assert/strict";
 * assert.equal(utf8Length("héllo"), 6);
 * assert.equal(utf8Length("😀"), 4);
 * ```
 */
export function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) continue;
    if (code < 0x800) {
      bytes += 1;
    } else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 2; // 4 bytes for 2 UTF-16 units
        i++;
      } else {
        bytes += 2;
      }
    } else {
      bytes += 2;
    }
  }
  return bytes;
}
