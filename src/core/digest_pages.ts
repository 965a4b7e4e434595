/**
 * Digests of this node's view, cut to a byte budget: the full digest, a
 * partial one taken round-robin, and pages that go round the fingerprint
 * ring, listing most nodes by fingerprint and stating the part of the ring
 * a page covers completely. Sizes come from the node's wire format.
 * @module
 */

import { type FingerprintRing, lowerBound } from "./fingerprint_ring.ts";
import type { NodeMap } from "./node_map.ts";
import type { NodeState } from "./node_state.ts";
import type { CompactDigestEntry, DigestEntry, DigestRange } from "./types.ts";
import type { WireSizes } from "./wire_format.ts";

/**
 * One page of this node's digest, as `pageDigest` cuts it.
 *
 * @example
 * ```ts
 * import { ClusterState, type DigestPage } from "@scope/chitchat/core";
 * import assert from "node:assert/strict";
 * const state = new ClusterState();
 * state.getOrCreate({ nodeId: "a", generationId: 1, gossipAdvertiseAddr: "10.0.0.1:1" });
 * const page: DigestPage = state.pageDigest(new Set(), { budget: 1000, cursor: 0 });
 * assert.equal(page.compact.length, 1);
 * assert.equal(page.complete, true);
 * ```
 */
export interface DigestPage {
  /** Entries sent with the node's id (the `full` keys, and fingerprints that collide here). */
  readonly digest: DigestEntry[];
  /** Entries sent by fingerprint. */
  readonly compact: CompactDigestEntry[];
  /** Bytes the entries take. */
  readonly size: number;
  /** True when every node (but the excluded ones) is listed. */
  readonly complete: boolean;
  /** When not complete: the part of the ring listed completely, if any. */
  readonly range: DigestRange | undefined;
  /** Where the next page starts on the ring. */
  readonly cursor: number;
  /**
   * How many of the `first` nodes the page went through: those listed, and
   * those passed over as unknown, excluded or repeated; the rest did not fit.
   */
  readonly firstTaken: number;
}

/** What {@linkcode partialDigest} returns. */
export interface PartialDigest {
  /** The entries, the `first` nodes first. */
  readonly digest: DigestEntry[];
  /** Bytes the entries take. */
  readonly size: number;
  /** True when every node (but the excluded ones) fitted. */
  readonly complete: boolean;
  /** Where the next call starts. */
  readonly cursor: number;
}

/**
 * The full digest of `nodes`, leaving out the `excluded` node keys.
 *
 * @example
 * ```ts
 * import { fullDigest } from "./digest_pages.ts";
 * import { NodeMap } from "./node_map.ts";
 * import { NodeState } from "./node_state.ts";
 * import assert from "node:assert/strict";
 * const nodes = new NodeMap(500);
 * const state = new NodeState({ nodeId: "a", generationId: 1, gossipAdvertiseAddr: "10.0.0.1:1" });
 * nodes.add(state);
 * assert.deepEqual(fullDigest(nodes, new Set()), [{ id: state.id, heartbeat: 0, lastGcVersion: 0, maxVersion: 0 }]);
 * assert.deepEqual(fullDigest(nodes, new Set([state.key])), []);
 * ```
 */
export function fullDigest(nodes: NodeMap, excluded: ReadonlySet<string>): DigestEntry[] {
  const entries: DigestEntry[] = [];
  for (const [key, state] of nodes.entries()) {
    if (excluded.has(key)) continue;
    entries.push({ id: state.id, ...state.digest() });
  }
  return entries;
}

/**
 * A digest of at most `budget` bytes of entries: the `first` nodes (in
 * that order), then the others taken round-robin from `cursor`.
 *
 * @example
 * ```ts
 * import { partialDigest } from "./digest_pages.ts";
 * import { NodeMap } from "./node_map.ts";
 * import { NodeState } from "./node_state.ts";
 * import { cborWireSizes } from "./wire_size.ts";
 * import assert from "node:assert/strict";
 * const nodes = new NodeMap(500);
 * for (const nodeId of ["a", "b", "c"]) nodes.add(new NodeState({ nodeId, generationId: 1, gossipAdvertiseAddr: "10.0.0.1:1" }));
 * const page = partialDigest(nodes, new Set(), { budget: 40, cursor: 0, sizes: cborWireSizes });
 * assert.equal(page.digest.length, 2); // 17 bytes each
 * assert.equal(page.complete, false);
 * assert.equal(page.cursor, 2);
 * ```
 */
export function partialDigest(
  nodes: NodeMap,
  excluded: ReadonlySet<string>,
  options: { budget: number; cursor: number; first?: readonly string[]; sizes: WireSizes },
): PartialDigest {
  const digest: DigestEntry[] = [];
  const taken = new Set<string>();
  const sizes = options.sizes;
  let size = 0;
  const add = (key: string, state: NodeState): boolean => {
    const d = state.digest();
    const entrySize = sizes.digestEntrySize(state.id, d);
    if (size + entrySize > options.budget) return false;
    size += entrySize;
    taken.add(key);
    digest.push({ id: state.id, ...d });
    return true;
  };
  for (const key of options.first ?? []) {
    const state = nodes.get(key);
    if (state === undefined || excluded.has(key) || taken.has(key)) continue;
    if (!add(key, state)) break;
  }
  const keys = [...nodes.keys()];
  const n = keys.length;
  const start = n === 0 ? 0 : options.cursor % n;
  let complete = true;
  let i = 0;
  for (; i < n; i++) {
    const key = keys[(start + i) % n];
    if (taken.has(key) || excluded.has(key)) continue;
    if (!add(key, nodes.get(key)!)) {
      complete = false;
      break;
    }
  }
  return { digest, size, complete, cursor: n === 0 ? 0 : (start + i) % n };
}

/** Options of {@linkcode pageDigest}. */
export interface PageOptions {
  /** Bytes the page's entries may take. */
  readonly budget: number;
  /** Where on the ring the page starts. */
  readonly cursor: number;
  /** Nodes listed first, in this order. */
  readonly first?: readonly string[];
  /** Nodes listed with their id rather than by fingerprint. */
  readonly full?: ReadonlySet<string>;
  /** Nodes to leave out as if excluded. */
  readonly skip?: ReadonlyMap<string, unknown>;
}

/**
 * One page of the digest in at most `budget` bytes: the `first` nodes (in
 * that order), then the others in fingerprint order from `cursor`. Nodes in
 * `full`, and nodes whose fingerprint collides here, are listed with their
 * id; the others by fingerprint. When not everything fits, the page states
 * the part of the ring it lists completely, `[cursor, first fingerprint
 * left out)`, and the next cursor is that end.
 *
 * @example
 * ```ts
 * import { pageDigest } from "./digest_pages.ts";
 * import { FingerprintRing } from "./fingerprint_ring.ts";
 * import { NodeMap } from "./node_map.ts";
 * import { NodeState } from "./node_state.ts";
 * import { cborWireSizes } from "./wire_size.ts";
 * import assert from "node:assert/strict";
 * const nodes = new NodeMap(500);
 * const ring = new FingerprintRing();
 * for (const nodeId of ["a", "b", "c"]) {
 *   const state = new NodeState({ nodeId, generationId: 1, gossipAdvertiseAddr: "10.0.0.1:1" });
 *   nodes.add(state);
 *   ring.add(state);
 * }
 * const view = { nodes, ring, sizes: cborWireSizes };
 * const page = pageDigest(view, new Set(), { budget: 1000, cursor: 0, full: new Set([ring.sorted()[0].key]) });
 * assert.equal(page.digest.length, 1); // listed with its id
 * assert.equal(page.compact.length, 2); // listed by fingerprint
 * ```
 */
export function pageDigest(
  view: { readonly nodes: NodeMap; readonly ring: FingerprintRing; readonly sizes: WireSizes },
  excluded: ReadonlySet<string>,
  options: PageOptions,
): DigestPage {
  const { nodes, ring: fingerprints, sizes } = view;
  const digest: DigestEntry[] = [];
  const compact: CompactDigestEntry[] = [];
  const taken = new Set<string>();
  const full = options.full;
  let size = 0;
  const add = (state: NodeState): boolean => {
    if (full?.has(state.key) || fingerprints.isAmbiguous(state.fingerprint)) {
      const entrySize = sizes.digestEntrySize(state.id, state);
      if (size + entrySize > options.budget) return false;
      size += entrySize;
      digest.push({ id: state.id, ...state.digest() });
    } else {
      const entry = state.compactDigest();
      const entrySize = sizes.compactEntrySize(entry);
      if (size + entrySize > options.budget) return false;
      size += entrySize;
      compact.push(entry);
    }
    return true;
  };
  const first = options.first ?? [];
  let firstTaken = 0;
  for (; firstTaken < first.length; firstTaken++) {
    const key = first[firstTaken];
    const state = nodes.get(key);
    if (state === undefined || excluded.has(key) || taken.has(key)) continue;
    if (!add(state)) break;
    taken.add(key);
  }
  const ring = fingerprints.sorted();
  const n = ring.length;
  const cursor = options.cursor;
  const start = lowerBound(ring, cursor);
  for (let i = 0; i < n; i++) {
    const state = ring[(start + i) % n];
    if (taken.has(state.key) || excluded.has(state.key) || options.skip?.has(state.key)) continue;
    if (!add(state)) {
      const end = state.fingerprint;
      const range = end === cursor ? undefined : { start: cursor, end };
      return { digest, compact, size, complete: false, range, cursor: end, firstTaken };
    }
  }
  return { digest, compact, size, complete: true, range: undefined, cursor, firstTaken };
}
