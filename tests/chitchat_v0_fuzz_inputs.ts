/**
 * Hostile datagrams for fuzzing the chitchat v0 codec, from a seeded source
 * so a failure repeats: mutations of the golden vectors (bit flips,
 * interesting bytes, truncations, extensions, splices, length fields set to
 * extremes, damage inside zstd frames), random bytes behind a valid header,
 * hand-built op streams breaking the grouping rules, and valid messages with
 * absurd numbers. Imported by `chitchat_v0_test.ts` and `bench/fuzz_v0.ts`.
 * @module
 */

import { readFileSync } from "node:fs";
import { encodeChitchatV0 } from "../src/core/wire/chitchat_v0.ts";
import type { Message, NodeDelta } from "../src/core/messages.ts";
import { createRandom, type Random } from "../src/testing/random.ts";
import { extend, flipBits, overwriteBytes, pickWeighted, splice, truncate } from "./fuzz_mutations.ts";

/** One golden vector as stored in the fixtures. */
export interface Vector {
  readonly name: string;
  readonly description: string;
  readonly hex: string;
  readonly length: number;
  readonly expect?: "reject";
  // deno-lint-ignore no-explicit-any
  readonly fields?: any;
  readonly delta_offset?: number;
  readonly delta_op_stream_hex?: string;
  readonly delta_blocks?: readonly { kind: string; tag: number; wire_len?: number; decompressed_len?: number }[];
}

const FIXTURES = new URL("./fixtures/chitchat_v0/", import.meta.url);

/** Every vector listed in the fixtures' `vectors.json`, with its bytes. */
export function loadVectors(): (Vector & { bytes: Uint8Array })[] {
  const list = JSON.parse(readFileSync(new URL("vectors.json", FIXTURES), "utf8")) as { file: string }[];
  return list.map(({ file }) => {
    const vector = JSON.parse(readFileSync(new URL(file, FIXTURES), "utf8")) as Vector;
    return { ...vector, bytes: fromHex(vector.hex) };
  });
}

/** Bytes from a hex string. */
export function fromHex(hex: string): Uint8Array {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

/** The kinds of input. */
export const V0_KINDS = [
  "random",
  "bitFlip",
  "interestingByte",
  "truncate",
  "extend",
  "splice",
  "extremeLength",
  "zstdDamage",
  "opStream",
  "absurdValid",
] as const;

/** One kind of input. */
export type V0Kind = typeof V0_KINDS[number];

const WEIGHTS: Record<V0Kind, number> = {
  random: 6,
  bitFlip: 20,
  interestingByte: 12,
  truncate: 8,
  extend: 4,
  splice: 6,
  extremeLength: 10,
  zstdDamage: 12,
  opStream: 12,
  absurdValid: 10,
};

const INTERESTING = [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x0f, 0x10, 0x20, 0x40, 0x7f, 0x80, 0xb0, 0x53,
  0xc0, 0xed, 0xef, 0xf0, 0xf4, 0xf8, 0xfe, 0xff];
const ABSURD = [0, 1, 2 ** 31 - 1, 2 ** 32 - 1, 2 ** 32, 2 ** 52, Number.MAX_SAFE_INTEGER - 1, Number.MAX_SAFE_INTEGER];
const HEADER = [0x53, 0xb0, 0];

/** A zstd block inside a vector: where its frame lies. */
interface FrameSpan {
  readonly vector: Uint8Array;
  readonly start: number;
  readonly end: number;
}

/** Seeded generator of hostile v0 datagrams. */
export class V0FuzzInputs {
  readonly #random: Random;
  readonly #pool: Uint8Array[];
  readonly #frames: FrameSpan[] = [];

  /**
   * `pool`, when given, replaces the golden vectors as the datagrams that
   * bit flips, truncations, splices and the like start from (datagrams
   * captured from live nodes, say); zstd damage still works on the vectors'
   * frames.
   */
  constructor(seed: number, pool?: readonly Uint8Array[]) {
    this.#random = createRandom(seed);
    const vectors = loadVectors();
    this.#pool = pool === undefined ? vectors.map((v) => v.bytes) : pool.map((bytes) => bytes.slice());
    for (const vector of vectors) {
      let at = vector.delta_offset;
      if (at === undefined) continue;
      for (const block of vector.delta_blocks ?? []) {
        if (block.kind === "end") break;
        if (block.kind === "zstd") this.#frames.push({ vector: vector.bytes, start: at + 3, end: at + 3 + block.wire_len! });
        at += 3 + block.wire_len!;
      }
    }
    if (pool === undefined) {
      for (let i = 0; i < 24; i++) this.#pool.push(encodeChitchatV0(this.message(false)));
    }
  }

  #int(n: number): number {
    return Math.floor(this.#random() * n);
  }

  #pick<T>(items: readonly T[]): T {
    return items[this.#int(items.length)];
  }

  /** A valid message: small numbers, or absurd ones (up to 2^53 - 1). */
  message(absurd: boolean): Message {
    const number = (): number => absurd ? this.#pick(ABSURD) : this.#int(50);
    const id = (i: number) => ({
      nodeId: this.#random() < 0.1 ? `nœud-${i}-😀` : `node-${i}`,
      generationId: number(),
      gossipAdvertiseAddr: this.#random() < 0.3 ? `[fd00::${i + 1}]:${this.#int(65536)}` : `10.0.0.${i}:7280`,
    });
    const digest = () =>
      Array.from({ length: this.#int(absurd ? 10 : 4) }, (_, i) => ({
        id: id(i),
        heartbeat: number(),
        lastGcVersion: number(),
        maxVersion: number(),
      }));
    const delta = (): NodeDelta[] =>
      Array.from({ length: this.#int(4) }, (_, i) => {
        const from = Math.min(number(), Number.MAX_SAFE_INTEGER - 100);
        let version = from;
        const keyValues = Array.from({ length: this.#int(absurd ? 20 : 5) }, (_, k) => {
          version += 1 + this.#int(3);
          return {
            key: `key-${k}`,
            value: "v".repeat(this.#int(40)),
            version,
            status: this.#pick(["set", "deleted", "deleteAfterTtl"] as const),
          };
        });
        const maxVersion = keyValues.length > 0 ? version : this.#random() < 0.3 ? 0 : from + 1 + this.#int(5);
        return { id: id(i), fromVersionExcluded: from, lastGcVersion: number(), maxVersion, keyValues };
      });
    switch (this.#int(4)) {
      case 0:
        return { type: "syn", clusterId: this.#random() < 0.8 ? "golden-cluster" : "", digest: digest() };
      case 1:
        return { type: "synAck", digest: digest(), delta: delta() };
      case 2:
        return { type: "ack", delta: delta() };
      default:
        return { type: "badCluster" };
    }
  }

  /** The next input and its kind. */
  next(): { kind: V0Kind; bytes: Uint8Array } {
    const kind = pickWeighted(this.#random, V0_KINDS, WEIGHTS);
    return { kind, bytes: this.#make(kind) };
  }

  #make(kind: V0Kind): Uint8Array {
    switch (kind) {
      case "random": {
        const bytes = new Uint8Array(this.#int(this.#random() < 0.9 ? 200 : 3000));
        for (let i = 0; i < bytes.length; i++) bytes[i] = this.#int(256);
        if (bytes.length >= 4 && this.#random() < 0.7) {
          bytes.set(HEADER);
          bytes[3] = this.#int(5);
        }
        return bytes;
      }
      case "bitFlip":
        return flipBits(this.#random, this.#pick(this.#pool), 6);
      case "interestingByte":
        return overwriteBytes(this.#random, this.#pick(this.#pool), INTERESTING);
      case "truncate":
        return truncate(this.#random, this.#pick(this.#pool));
      case "extend":
        return extend(this.#random, this.#pick(this.#pool), 40);
      case "splice":
        return splice(this.#random, this.#pick(this.#pool), this.#pick(this.#pool));
      case "extremeLength": {
        // Overwrite two bytes, as a u16 count or length would be: the extremes and off-by-ones.
        const bytes = this.#pick(this.#pool).slice();
        if (bytes.length < 6) return bytes;
        const at = 4 + this.#int(bytes.length - 5);
        const value = this.#pick([0, 1, 0xffff, 0xfffe, 0x8000, bytes.length - at, bytes.length - at - 2, this.#int(65536)]);
        bytes[at] = value & 0xff;
        bytes[at + 1] = (value >> 8) & 0xff;
        return bytes;
      }
      case "zstdDamage": {
        const span = this.#pick(this.#frames);
        const bytes = span.vector.slice();
        const length = span.end - span.start;
        for (let n = 1 + this.#int(4); n > 0; n--) {
          const at = span.start + (this.#random() < 0.3 ? this.#int(Math.min(12, length)) : this.#int(length));
          if (this.#random() < 0.5) bytes[at] ^= 1 << this.#int(8);
          else bytes[at] = this.#pick(INTERESTING);
        }
        return bytes;
      }
      case "opStream":
        return this.#opStream();
      case "absurdValid":
        return encodeChitchatV0(this.message(true));
    }
  }

  /** An Ack whose raw block holds a random sequence of well-formed ops: the grouping rules decide. */
  #opStream(): Uint8Array {
    const ops: number[] = [];
    const u64 = (value: number) => {
      for (let i = 0; i < 8; i++) ops.push(Math.floor(value / 2 ** (8 * i)) & 0xff);
    };
    const str = (text: string) => {
      ops.push(text.length & 0xff, text.length >> 8);
      for (let i = 0; i < text.length; i++) ops.push(text.charCodeAt(i));
    };
    const version = () => this.#pick([0, 1, 2, 3, 5, 8, 9, 10]);
    for (let n = this.#int(8); n > 0; n--) {
      const roll = this.#int(10);
      if (roll < 3) {
        ops.push(0);
        str(`n${this.#int(3)}`);
        u64(this.#int(2));
        ops.push(4, 127, 0, 0, 1, 0x70, 0x1c);
        u64(version());
        u64(version());
      } else if (roll < 8) {
        ops.push(1);
        str(`k${this.#int(4)}`);
        str("v");
        u64(version());
        ops.push(this.#pick([0, 1, 2, 2, 3]));
      } else {
        ops.push(2);
        u64(version());
      }
    }
    return new Uint8Array([...HEADER, 2, 2, ops.length & 0xff, ops.length >> 8, ...ops, 0]);
  }
}
