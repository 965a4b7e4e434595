/**
 * Node identity: `(nodeId, generationId, gossipAdvertiseAddr)`. A restarted
 * process takes a higher generation and so is a new member; the key form is
 * what every map of the core is indexed by.
 * @module
 */

/**
 * The identity of one incarnation of a node.
 *
 * @example
 * ```ts
 * import type { ChitchatId } from "@scope/chitchat";
 * const id: ChitchatId = { nodeId: "a", generationId: 1, gossipAdvertiseAddr: "127.0.0.1:10000" };
 * console.assert(id.nodeId === "a");
 * ```
 */
export interface ChitchatId {
  /** Unique name of the node in the cluster. */
  readonly nodeId: string;
  /** Grows on every restart of the node (startup time in ms by default). */
  readonly generationId: number;
  /** The `host:port` peers gossip to. */
  readonly gossipAdvertiseAddr: string;
}

/**
 * The stable string form of an id, unambiguous whatever characters the node
 * id holds; equal ids give equal keys.
 *
 * @example
 * ```ts
 * import { chitchatIdKey } from "@scope/chitchat";
 * import assert from "node:assert/strict";
 * const key = chitchatIdKey({ nodeId: "a", generationId: 2, gossipAdvertiseAddr: "127.0.0.1:1" });
 * assert.equal(key, '["a",2,"127.0.0.1:1"]');
 * ```
 */
export function chitchatIdKey(id: ChitchatId): string {
  let key = keyCache.get(id);
  if (key === undefined) {
    key = JSON.stringify([id.nodeId, id.generationId, id.gossipAdvertiseAddr]);
    keyCache.set(id, key);
  }
  return key;
}

/** Keys of id objects already seen; ids are immutable, so a key never goes stale. */
const keyCache = new WeakMap<ChitchatId, string>();

/**
 * A 32-bit fingerprint of an id (FNV-1a over its key, then the murmur3
 * finalizer), the same on every runtime. Compact digest entries name nodes by
 * it; equal ids give equal fingerprints, and distinct ids rarely collide
 * (about N² / 2³³ pairs among N nodes), a case the protocol handles.
 *
 * @example
 * ```ts
 * import { chitchatIdFingerprint } from "./chitchat_id.ts";
 * import assert from "node:assert/strict";
 * const id = { nodeId: "a", generationId: 2, gossipAdvertiseAddr: "127.0.0.1:1" };
 * const fp = chitchatIdFingerprint(id);
 * assert.ok(Number.isInteger(fp) && fp >= 0 && fp < 2 ** 32);
 * assert.equal(chitchatIdFingerprint({ ...id }), fp);
 * ```
 */
export function chitchatIdFingerprint(id: ChitchatId): number {
  let fp = fingerprintCache.get(id);
  if (fp === undefined) {
    const key = chitchatIdKey(id);
    let h = 0x811c9dc5;
    for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    fp = (h ^ (h >>> 16)) >>> 0;
    fingerprintCache.set(id, fp);
  }
  return fp;
}

const fingerprintCache = new WeakMap<ChitchatId, number>();

/**
 * A second 32-bit hash of an id, independent of its fingerprint (another
 * mixing of its key). Compact digest entries carry both: a receiver takes an
 * entry for one of its nodes only when both match, so two ids whose
 * fingerprints collide, each known on one side only, are never taken for one
 * another (both would have to collide: about N² / 2⁶⁵ pairs among N nodes).
 *
 * @example
 * ```ts
 * import { chitchatIdCheck, chitchatIdFingerprint } from "./chitchat_id.ts";
 * import assert from "node:assert/strict";
 * const id = { nodeId: "a", generationId: 2, gossipAdvertiseAddr: "127.0.0.1:1" };
 * const check = chitchatIdCheck(id);
 * assert.ok(Number.isInteger(check) && check >= 0 && check < 2 ** 32);
 * assert.notEqual(check, chitchatIdFingerprint(id));
 * ```
 */
export function chitchatIdCheck(id: ChitchatId): number {
  let check = checkCache.get(id);
  if (check === undefined) {
    const key = chitchatIdKey(id);
    // Another multiplicative hash over the key, then the 64-bit murmur3
    // finalizer's constants folded to 32 bits: unrelated to the fingerprint's.
    let h = 0x9e3779b9 ^ key.length;
    for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x5bd1e995) ^ (h >>> 15);
    h = Math.imul(h ^ (h >>> 15), 0xff51afd7);
    h = Math.imul(h ^ (h >>> 13), 0xc4ceb9fe);
    check = (h ^ (h >>> 16)) >>> 0;
    checkCache.set(id, check);
  }
  return check;
}

const checkCache = new WeakMap<ChitchatId, number>();

/**
 * Orders ids by node id, then generation, then address (a total order).
 *
 * @example
 * ```ts
 * import { compareChitchatIds } from "@scope/chitchat";
 * const a = { nodeId: "a", generationId: 1, gossipAdvertiseAddr: "h:1" };
 * const b = { nodeId: "a", generationId: 2, gossipAdvertiseAddr: "h:1" };
 * console.assert(compareChitchatIds(a, b) < 0);
 * ```
 */
export function compareChitchatIds(a: ChitchatId, b: ChitchatId): number {
  if (a.nodeId !== b.nodeId) return a.nodeId < b.nodeId ? -1 : 1;
  if (a.generationId !== b.generationId) return a.generationId < b.generationId ? -1 : 1;
  if (a.gossipAdvertiseAddr !== b.gossipAdvertiseAddr) {
    return a.gossipAdvertiseAddr < b.gossipAdvertiseAddr ? -1 : 1;
  }
  return 0;
}

/**
 * A readable form for logs: `nodeId (generation G, addr)`.
 *
 * @example
 * ```ts
 * import { formatChitchatId } from "@scope/chitchat";
 * import assert from "node:assert/strict";
 * const text = formatChitchatId({ nodeId: "a", generationId: 1, gossipAdvertiseAddr: "h:1" });
 * assert.equal(text, "a (generation 1, h:1)");
 * ```
 */
export function formatChitchatId(id: ChitchatId): string {
  return `${id.nodeId} (generation ${id.generationId}, ${id.gossipAdvertiseAddr})`;
}
