/**
 * Seeded randomness for simulations: a small fast PRNG (sfc32, seeded through
 * splitmix32) that yields the same sequence on Deno, Bun and Node, plus the
 * few helpers the simulator needs. Never use it for anything secret.
 * @module
 */

/** A source of uniform floats in `[0, 1)`, shaped like `Math.random`. */
export type Random = () => number;

const TWO_POW_32 = 4294967296;

/** One step of splitmix32 over `state`; returns the new state and a mixed output. */
function splitmix32(state: number): [number, number] {
  const next = (state + 0x9e3779b9) | 0;
  let z = next;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  z ^= z >>> 16;
  return [next, z | 0];
}

/**
 * Creates a deterministic random source from an integer seed. Two sources
 * made from the same seed produce the same sequence on every runtime; nearby
 * seeds produce unrelated sequences.
 *
 * The generator is sfc32 (32-bit "small fast chaotic"), its 128-bit state
 * filled from the seed's low and high 32 bits by splitmix32.
 *
 * @param seed Any safe integer (negative values are fine).
 * @returns A function returning floats in `[0, 1)`.
 * @throws {RangeError} When `seed` is not a safe integer.
 *
 * @example Same seed, same sequence
 * ```ts
 * import { createRandom } from "@scope/chitchat/testing";
 * import assert from "node:assert/strict";
 * const a = createRandom(42);
 * const b = createRandom(42);
 * const first = a();
 * assert.equal(first, b());
 * assert.ok(first >= 0 && first < 1);
 * ```
 */
export function createRandom(seed: number): Random {
  if (!Number.isSafeInteger(seed)) {
    throw new RangeError(`Seed ${seed} is not a safe integer`);
  }
  let state = (seed >>> 0) ^ Math.imul(Math.floor(seed / TWO_POW_32) | 0, 0x27d4eb2d);
  let a: number;
  let b: number;
  let c: number;
  [state, a] = splitmix32(state);
  [state, b] = splitmix32(state);
  [state, c] = splitmix32(state);
  let d = 1;
  const next = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / TWO_POW_32;
  };
  for (let i = 0; i < 12; i++) next();
  return next;
}

/**
 * Returns a uniform integer in `[0, n)`.
 *
 * @param random The source to draw from (one draw).
 * @param n The exclusive upper bound, a positive safe integer.
 * @throws {RangeError} When `n` is not a positive safe integer.
 *
 * @example Roll a die
 * ```ts
 * import { createRandom, randomInt } from "@scope/chitchat/testing";
 * import assert from "node:assert/strict";
 * const roll = randomInt(createRandom(7), 6) + 1;
 * assert.ok(roll >= 1 && roll <= 6);
 * ```
 */
export function randomInt(random: Random, n: number): number {
  if (!Number.isSafeInteger(n) || n <= 0) {
    throw new RangeError(`Upper bound ${n} is not a positive safe integer`);
  }
  return Math.floor(random() * n);
}

/**
 * Shuffles `items` in place (Fisher–Yates) and returns it.
 *
 * @param random The source to draw from (`items.length - 1` draws).
 * @param items The array to shuffle; it is modified.
 *
 * @example
 * ```ts
 * import { createRandom, shuffle } from "@scope/chitchat/testing";
 * import assert from "node:assert/strict";
 * const deck = shuffle(createRandom(1), [1, 2, 3, 4, 5]);
 * assert.deepEqual([...deck].sort(), [1, 2, 3, 4, 5]);
 * ```
 */
export function shuffle<T>(random: Random, items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const held = items[i];
    items[i] = items[j];
    items[j] = held;
  }
  return items;
}
