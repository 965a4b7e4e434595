/**
 * The byte mutations both fuzz input generators share (`fuzz_inputs.ts` for
 * the CBOR wire, `chitchat_v0_fuzz_inputs.ts` for the v0 wire): a weighted
 * pick of the next kind, bit flips, interesting bytes, truncation, extension
 * and splicing. Each draws from the seeded source it is given, in a fixed
 * order, so a seed replays the same inputs. Not a test file itself.
 * @module
 */

import type { Random } from "../src/testing/random.ts";

/** A uniform integer in `[0, n)` (0 when `n` is 0). */
export function int(random: Random, n: number): number {
  return Math.floor(random() * n);
}

/** One of `items`, uniformly. */
export function pick<T>(random: Random, items: readonly T[]): T {
  return items[int(random, items.length)];
}

/** One of `kinds`, each as likely as its weight; the first when the weights run out. */
export function pickWeighted<K extends string>(
  random: Random,
  kinds: readonly K[],
  weights: Record<K, number>,
): K {
  let roll = random() * kinds.reduce((sum, kind) => sum + weights[kind], 0);
  for (const kind of kinds) {
    roll -= weights[kind];
    if (roll < 0) return kind;
  }
  return kinds[0];
}

/** `bytes` (copied) with 1 to `maxFlips` bits flipped. */
export function flipBits(random: Random, bytes: Uint8Array, maxFlips: number): Uint8Array {
  const out = bytes.slice();
  for (let n = 1 + int(random, maxFlips); n > 0; n--) {
    out[int(random, out.length)] ^= 1 << int(random, 8);
  }
  return out;
}

/** `bytes` (copied) with one to three bytes overwritten by values from `interesting`. */
export function overwriteBytes(
  random: Random,
  bytes: Uint8Array,
  interesting: readonly number[],
): Uint8Array {
  const out = bytes.slice();
  for (let n = 1 + int(random, 3); n > 0; n--) {
    out[int(random, out.length)] = pick(random, interesting);
  }
  return out;
}

/** A prefix of `bytes`, shorter than the whole. */
export function truncate(random: Random, bytes: Uint8Array): Uint8Array {
  return bytes.slice(0, int(random, bytes.length));
}

/** `bytes` followed by 1 to `maxExtra` random bytes. */
export function extend(random: Random, bytes: Uint8Array, maxExtra: number): Uint8Array {
  const out = new Uint8Array(bytes.length + 1 + int(random, maxExtra));
  out.set(bytes);
  for (let i = bytes.length; i < out.length; i++) out[i] = int(random, 256);
  return out;
}

/** The head of `a` joined to the tail of `b`, each cut at a random point. */
export function splice(random: Random, a: Uint8Array, b: Uint8Array): Uint8Array {
  const cut = int(random, a.length);
  const from = int(random, b.length);
  const out = new Uint8Array(cut + b.length - from);
  out.set(a.subarray(0, cut));
  out.set(b.subarray(from), cut);
  return out;
}
