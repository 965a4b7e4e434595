/**
 * Hostile datagrams for the fuzz tests, from a seeded source so a failure
 * repeats: random bytes, mutations of valid messages (bit flips, interesting
 * bytes, truncations, splices, huge length headers), deep nesting, valid CBOR
 * of the wrong shape, and valid messages with absurd numbers. Imported by
 * `fuzz_test.ts`; not a test file itself.
 * @module
 */

import { Encoder } from "cbor-x/encode";
import { encodeMessage, PROTOCOL_VERSION } from "../src/core/codec.ts";
import type { ChitchatId } from "../src/core/chitchat_id.ts";
import type { DigestEntry, Message, NodeDelta } from "../src/core/messages.ts";
import type { KeyStatus } from "../src/core/node_state.ts";
import { createRandom, type Random } from "../src/testing/random.ts";
import { extend, flipBits, overwriteBytes, pickWeighted, splice, truncate } from "./fuzz_mutations.ts";

/** The kinds of input, in the order `FuzzInputs.next()` picks them by weight. */
export const KINDS = [
  "random",
  "bitFlip",
  "interestingByte",
  "truncate",
  "extend",
  "splice",
  "hugeLength",
  "deepNesting",
  "wrongShape",
  "absurdValid",
] as const;

/** One kind of input. */
export type Kind = typeof KINDS[number];

const WEIGHTS: Record<Kind, number> = {
  random: 12,
  bitFlip: 20,
  interestingByte: 12,
  truncate: 10,
  extend: 6,
  splice: 6,
  hugeLength: 8,
  deepNesting: 2,
  wrongShape: 12,
  absurdValid: 10,
};

const INTERESTING = [0x00, 0x01, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1f, 0x20, 0x3b, 0x40, 0x5b, 0x5f, 0x60, 0x7b,
  0x7f, 0x80, 0x9b, 0x9f, 0xa0, 0xbb, 0xbf, 0xc0, 0xc6, 0xd8, 0xd9, 0xda, 0xdb, 0xf4, 0xf5, 0xf6, 0xf7, 0xf9, 0xfa,
  0xfb, 0xff];

const ABSURD = [0, 1, 2 ** 31 - 1, 2 ** 32, 2 ** 32 + 1, 2 ** 52, Number.MAX_SAFE_INTEGER - 1, Number.MAX_SAFE_INTEGER];

const cbor = new Encoder({ useRecords: false } as never);

/** Seeded generator of hostile datagrams. */
export class FuzzInputs {
  readonly #random: Random;
  readonly #valid: Uint8Array[];
  readonly #ids: ChitchatId[];

  /** `ids` are node identities the valid messages talk about (besides invented ones). */
  constructor(seed: number, ids: readonly ChitchatId[] = []) {
    this.#random = createRandom(seed);
    this.#ids = [...ids];
    for (let i = 0; i < 8; i++) {
      this.#ids.push({ nodeId: `ghost-${i}`, generationId: this.#int(3), gossipAdvertiseAddr: `10.9.0.${i}:7000` });
    }
    this.#valid = Array.from({ length: 64 }, () => encodeMessage(this.message(false)));
  }

  /** A valid message: plausible numbers, or absurd ones (up to 2^53 - 1) when `absurd`. */
  message(absurd: boolean): Message {
    const number = (): number => absurd ? this.#pick(ABSURD) : this.#int(50);
    const digest = (): DigestEntry[] =>
      Array.from({ length: this.#int(absurd ? 12 : 4) }, () => ({
        id: this.#pick(this.#ids),
        heartbeat: number(),
        lastGcVersion: number(),
        maxVersion: number(),
      }));
    const delta = (): NodeDelta[] => {
      const ids = [...new Set(Array.from({ length: this.#int(4) }, () => this.#pick(this.#ids)))];
      return ids.map((id) => {
        const from = number();
        let version = from;
        const keyValues = Array.from({ length: this.#int(absurd ? 30 : 5) }, (_, i) => {
          version = Math.min(Number.MAX_SAFE_INTEGER, version + 1 + this.#int(3));
          return { key: `k${i}`, value: "v".repeat(this.#int(40)), version, status: this.#status() };
        }).filter((kv, i, all) => i === 0 || kv.version > all[i - 1].version);
        return { id, fromVersionExcluded: from, lastGcVersion: number(), maxVersion: version, keyValues };
      });
    };
    switch (this.#int(4)) {
      case 0:
        return { type: "syn", clusterId: this.#random() < 0.8 ? "default" : "other", digest: digest(), partialDigest: this.#random() < 0.3 };
      case 1:
        return { type: "synAck", digest: digest(), partialDigest: this.#random() < 0.3, delta: delta() };
      case 2:
        return { type: "ack", delta: delta() };
      default:
        return { type: "badCluster" };
    }
  }

  /** The next input and its kind. */
  next(): { kind: Kind; bytes: Uint8Array } {
    const kind = pickWeighted(this.#random, KINDS, WEIGHTS);
    return { kind, bytes: this.#make(kind) };
  }

  #make(kind: Kind): Uint8Array {
    switch (kind) {
      case "random": {
        const bytes = new Uint8Array(this.#random() < 0.9 ? this.#int(300) : this.#int(4000));
        for (let i = 0; i < bytes.length; i++) bytes[i] = this.#int(256);
        if (bytes.length > 1 && this.#random() < 0.5) bytes[0] = 0x80 | this.#int(8); // looks like an array
        return bytes;
      }
      case "bitFlip":
        return flipBits(this.#random, this.#pick(this.#valid), 8);
      case "interestingByte":
        return overwriteBytes(this.#random, this.#pick(this.#valid), INTERESTING);
      case "truncate":
        return truncate(this.#random, this.#pick(this.#valid));
      case "extend":
        return extend(this.#random, this.#pick(this.#valid), 64);
      case "splice":
        return splice(this.#random, this.#pick(this.#valid), this.#pick(this.#valid));
      case "hugeLength": {
        const bytes = this.#pick(this.#valid);
        const at = this.#int(bytes.length);
        const header = this.#pick([[0x9b], [0x7b], [0x5b], [0xbb], [0x9a], [0x7a]]);
        const size = header[0] & 0x1f ? (header[0] & 0x1f) === 0x1b ? 8 : 4 : 0;
        const length = new Uint8Array(size).fill(this.#random() < 0.5 ? 0xff : 0x7f);
        const out = new Uint8Array(bytes.length + 1 + size);
        out.set(bytes.subarray(0, at));
        out.set(header, at);
        out.set(length, at + 1);
        out.set(bytes.subarray(at), at + 1 + size);
        return out;
      }
      case "deepNesting": {
        const roll = this.#random();
        const depth = roll < 0.5 ? 5 + this.#int(100) : roll < 0.98 ? 1000 + this.#int(4000) : 100_000;
        const opener = this.#pick([0x81, 0x9f, 0xa1, 0xd8]);
        const bytes = new Uint8Array(depth + 4);
        bytes[0] = 0x85;
        bytes[1] = PROTOCOL_VERSION;
        bytes[2] = 2;
        for (let i = 3; i < bytes.length - 1; i++) {
          bytes[i] = opener === 0xa1 && i % 2 === 0 ? 0x01 : opener === 0xd8 && i % 2 === 0 ? 0x1b : opener;
        }
        bytes[bytes.length - 1] = 0x01;
        return bytes;
      }
      case "wrongShape":
        return cbor.encode(this.#wrongShape()) as Uint8Array;
      case "absurdValid":
        return encodeMessage(this.message(true));
    }
  }

  /** Valid CBOR that is not a valid message: right head, wrong fields, or anything at all. */
  #wrongShape(): unknown {
    const value = (depth: number): unknown => {
      switch (this.#int(depth > 2 ? 9 : 11)) {
        case 0: return -1 - this.#int(1000);
        case 1: return this.#random() * 1e6;
        case 2: return this.#random() < 0.5 ? null : undefined;
        case 3: return this.#random() < 0.5;
        case 4: return "s".repeat(this.#int(20));
        case 5: return BigInt(this.#int(1000)) * 2n ** 60n;
        case 6: return new Uint8Array(this.#int(16));
        case 7: return this.#pick(ABSURD);
        case 8: return new Map([[this.#int(5), "x"]]);
        case 9: return Array.from({ length: this.#int(7) }, () => value(depth + 1));
        default: return JSON.parse(`{"__proto__": {"polluted": true}, "n": ${this.#int(9)}}`);
      }
    };
    switch (this.#int(5)) {
      case 0: // right version and type, wrong number or kind of fields
        return [PROTOCOL_VERSION, this.#int(5), ...Array.from({ length: this.#int(6) }, () => value(1))];
      case 1: // a digest with items of the wrong type
        return [PROTOCOL_VERSION, 0, "default", Array.from({ length: 6 }, () => value(1)), 0];
      case 2: // a node delta with wrong mutations
        return [PROTOCOL_VERSION, 2, [["n", 1, "10.0.0.1:1", 0, 0, 5, Array.from({ length: 4 }, () => value(1))]]];
      case 3: // a wrong protocol version
        return [this.#pick([0, 2, 255, -1, "1", 1.0000001]), 3];
      default:
        return value(0);
    }
  }

  #status(): KeyStatus {
    return this.#pick(["set", "set", "deleted", "deleteAfterTtl"] as const);
  }

  #int(n: number): number {
    return Math.floor(this.#random() * n);
  }

  #pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.#random() * items.length)];
  }
}
