/**
 * The wire formats a node can speak, by the name its config gives
 * (`wireFormat`), and how to tell a datagram of one from the other: a node
 * that receives the other format counts it and warns once per sender, so a
 * mixed cluster shows up instead of partitioning silently.
 * @module
 */

import { looksLikeChitchatV0 } from "../core/wire/chitchat_v0.ts";
import { chitchatV0WireFormat } from "../core/wire/chitchat_v0_format.ts";
import { cborWireFormat } from "../core/wire/cbor.ts";
import { PROTOCOL_VERSION } from "../core/wire_constants.ts";
import type { Logger } from "../core/logger.ts";
import type { WireFormat } from "../core/wire_format.ts";
import { loadZstd } from "./zstd.ts";

/** The names `wireFormat` accepts. */
export type WireFormatName = "cbor" | "chitchat-v0";

/**
 * The names `wireFormat` accepts, the default first.
 *
 * @example
 * ```ts
 * import { WIRE_FORMAT_NAMES } from "./wire_formats.ts";
 * console.assert(WIRE_FORMAT_NAMES.includes("chitchat-v0"));
 * ```
 */
export const WIRE_FORMAT_NAMES: readonly WireFormatName[] = Object.freeze(["cbor", "chitchat-v0"] as const);

/**
 * The wire format called `name`, ready to use: for `chitchat-v0`, with the
 * runtime's zstd (native where there is one, which also compresses; else
 * WebAssembly, which only reads). Blocks are written raw: a raw block is
 * always valid, and a Rust peer sends compressed ones only when smaller.
 *
 * @example
 * ```ts
 * import { loadWireFormat } from "./wire_formats.ts";
 * import assert from "node:assert/strict";
 * const format = await loadWireFormat("chitchat-v0");
 * assert.equal(format.name, "chitchat-v0");
 * assert.equal((await loadWireFormat("cbor")).name, "cbor");
 * ```
 */
export async function loadWireFormat(name: WireFormatName): Promise<WireFormat> {
  if (name === "cbor") return cborWireFormat;
  return chitchatV0WireFormat({ decompressor: await loadZstd() });
}

/**
 * The format a datagram looks like (`"cbor"` when it opens with a CBOR array
 * head and this library's protocol version, `"chitchat-v0"` on the Rust
 * crate's magic number), or `undefined`: a hint for a datagram that did not
 * decode, not a check that it would.
 *
 * @example
 * ```ts
 * import { sniffWireFormat } from "./wire_formats.ts";
 * import assert from "node:assert/strict";
 * assert.equal(sniffWireFormat(new Uint8Array([0x53, 0xb0, 0, 3])), "chitchat-v0");
 * assert.equal(sniffWireFormat(new Uint8Array([0x82, 2, 3])), "cbor");
 * assert.equal(sniffWireFormat(new Uint8Array([1, 2, 3])), undefined);
 * ```
 */
export function sniffWireFormat(bytes: Uint8Array): WireFormatName | undefined {
  if (looksLikeChitchatV0(bytes)) return "chitchat-v0";
  // A CBOR array of 2 to 23 items, then the protocol version as a small integer.
  if (bytes.byteLength >= 2 && bytes[0] >= 0x82 && bytes[0] <= 0x97 && bytes[1] === PROTOCOL_VERSION) return "cbor";
  return undefined;
}

/** Senders remembered as speaking another format; beyond that, warnings stop (the count goes on). */
const MAX_WARNED_SENDERS = 1024;

/**
 * Counts datagrams of another wire format than the node's and warns once
 * per sender address, naming the format seen.
 *
 * @example
 * ```ts
 * import { ForeignFormatWatch } from "./wire_formats.ts";
 * import assert from "node:assert/strict";
 * const warnings: string[] = [];
 * const logger = { debug() {}, info() {}, warn: (m: string) => warnings.push(m), error() {} };
 * const watch = new ForeignFormatWatch("cbor", logger);
 * const v0 = new Uint8Array([0x53, 0xb0, 0, 3]);
 * assert.equal(watch.check(v0, "127.0.0.1:1"), true);
 * assert.equal(watch.check(v0, "127.0.0.1:1"), true);
 * assert.equal(watch.count, 2);
 * assert.equal(warnings.length, 1);
 * ```
 */
export class ForeignFormatWatch {
  /** Datagrams of another format seen so far. */
  count = 0;
  #own: string;
  #logger: Logger;
  #warned = new Set<string>();

  /** A watch for a node speaking the format called `own`. */
  constructor(own: string, logger: Logger) {
    this.#own = own;
    this.#logger = logger;
  }

  /** True (and counted, with a warning the first time for `from`) when `bytes` look like another format. */
  check(bytes: Uint8Array, from: string): boolean {
    const seen = sniffWireFormat(bytes);
    if (seen === undefined || seen === this.#own) return false;
    this.count++;
    if (!this.#warned.has(from) && this.#warned.size < MAX_WARNED_SENDERS) {
      this.#warned.add(from);
      this.#logger.warn(
        `Dropped a datagram from ${from} in the ${seen} wire format; this node speaks ${this.#own} ` +
          `(set wireFormat to "${seen}" on one side to let them talk)`,
        { event: "foreign_wire_format", from, format: seen, own: this.#own },
      );
    }
    return true;
  }
}
