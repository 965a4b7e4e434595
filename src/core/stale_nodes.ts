/**
 * Which nodes a peer lags on, judged from its digest entry for each, and in
 * what order their deltas go: nodes with stale priority keys first, then
 * nodes the peer has never heard of, then unknown nodes by max version, then
 * known ones by number of stale entries; ties are shuffled.
 * @module
 */

import type { NodeState } from "./node_state.ts";
import type { NodeDigest } from "./types.ts";

/** A node a peer lags on, with what decides its place in the delta. */
export interface StaleNode {
  /** The node's id key. */
  readonly key: string;
  /** Our state of the node. */
  readonly state: NodeState;
  /** The peer has every mutation up to this version (0: it gets everything, a reset if need be). */
  readonly from: number;
  /** The peer gets the node from version 0. */
  readonly unknown: boolean;
  /** Sent even without entries: the peer does not know the node at all. */
  readonly intro: boolean;
  /** How many of our entries the peer lacks. */
  readonly staleCount: number;
  /** Some stale key starts with a priority prefix. */
  readonly hasPriority: boolean;
  /** Orders otherwise equal nodes. */
  readonly tieBreak: number;
}

/**
 * The node `state` as stale for a peer whose digest says `theirs` of it
 * (`undefined`: not listed), or `undefined` when the peer lacks nothing we
 * may send. With `introduce`, a node unknown to the peer is stale even
 * without keys, and an entry with every field 0 counts as unknown.
 *
 * @example
 * ```ts
 * import { NodeState } from "./node_state.ts";
 * import { staleNode } from "./stale_nodes.ts";
 * import assert from "node:assert/strict";
 * const state = new NodeState({ nodeId: "a", generationId: 1, gossipAdvertiseAddr: "10.0.0.1:1" });
 * state.set("k", "v");
 * const options = { prefixes: [], introduce: false, random: () => 0 };
 * assert.equal(staleNode(state, { heartbeat: 1, lastGcVersion: 0, maxVersion: 1 }, options), undefined);
 * assert.equal(staleNode(state, undefined, options)?.from, 0);
 * ```
 */
export function staleNode(
  state: NodeState,
  theirs: NodeDigest | undefined,
  options: { prefixes: readonly string[]; introduce: boolean; random: () => number },
): StaleNode | undefined {
  const theirMax = theirs?.maxVersion ?? 0;
  const theirGc = theirs?.lastGcVersion ?? 0;
  const unknown = theirs === undefined ||
    (theirs.heartbeat === 0 && theirMax === 0 && theirGc === 0);
  const intro = options.introduce && unknown;
  if (state.maxVersion <= theirMax && !intro) return undefined;
  // The peer is part-way through a reset from a node that collected more
  // tombstones than we did: it would refuse what we hold (NodeState.applyDelta).
  if (theirMax < theirGc && state.lastGcVersion < theirGc) return undefined;
  const reset = theirGc < state.lastGcVersion && theirMax < state.lastGcVersion;
  const from = reset ? 0 : theirMax;
  const prefixes = options.prefixes;
  return {
    key: state.key,
    state,
    from,
    unknown: from === 0,
    intro,
    staleCount: state.staleCount(from),
    hasPriority: prefixes.length > 0 && hasStalePriorityKey(state, from, prefixes),
    tieBreak: options.random(),
  };
}

function hasStalePriorityKey(state: NodeState, from: number, prefixes: readonly string[]): boolean {
  for (const [key] of state.staleEntries(from)) if (priorityOf(key, prefixes) >= 0) return true;
  return false;
}

/**
 * The delta order of two stale nodes, for `Array.prototype.sort`.
 *
 * @example
 * ```ts
 * import { compareStaleness, type StaleNode } from "./stale_nodes.ts";
 * import assert from "node:assert/strict";
 * const node = (staleCount: number) => ({ unknown: false, intro: false, hasPriority: false, staleCount, tieBreak: 0 });
 * const nodes = [node(1), node(5)] as unknown as StaleNode[];
 * assert.deepEqual(nodes.sort(compareStaleness).map((n) => n.staleCount), [5, 1]);
 * ```
 */
export function compareStaleness(a: StaleNode, b: StaleNode): number {
  if (a.hasPriority !== b.hasPriority) return a.hasPriority ? -1 : 1;
  // Nodes the peer has never heard of before nodes it knows without their keys.
  if (a.intro !== b.intro) return a.intro ? -1 : 1;
  if (a.unknown !== b.unknown) return a.unknown ? -1 : 1;
  if (a.unknown && a.state.maxVersion !== b.state.maxVersion) {
    return a.state.maxVersion - b.state.maxVersion;
  }
  if (!a.unknown && a.staleCount !== b.staleCount) return b.staleCount - a.staleCount;
  return a.tieBreak - b.tieBreak;
}

/**
 * Index of the first prefix `key` starts with, or -1.
 *
 * @example
 * ```ts
 * import { priorityOf } from "./stale_nodes.ts";
 * console.assert(priorityOf("svc:port", ["role", "svc:"]) === 1);
 * ```
 */
export function priorityOf(key: string, prefixes: readonly string[]): number {
  for (let i = 0; i < prefixes.length; i++) if (key.startsWith(prefixes[i])) return i;
  return -1;
}

/**
 * The head of `stale` in delta order, as `buildDelta` (delta_builder.ts) reads it:
 * `first` (when stale) in front, then the others by
 * {@linkcode compareStaleness} (ties in input order, as a stable sort keeps
 * them), only as many as a delta of `budget` bytes could open: up to and
 * including the node whose header (`headerSize`) takes the headers' sum past
 * the budget, since the builder stops at the first node it cannot open.
 * A heap: O(n + k log n) instead of sorting all n, which matters when a flood
 * of invented nodes makes n (every node unknown to the peer) large and k
 * (what fits in a datagram) small.
 *
 * @example
 * ```ts
 * import { stalenessHead, type StaleNode } from "./stale_nodes.ts";
 * import assert from "node:assert/strict";
 * const node = (key: string, staleCount: number) =>
 *   ({ key, unknown: false, intro: false, hasPriority: false, staleCount, tieBreak: 0 }) as unknown as StaleNode;
 * const stale = [node("a", 1), node("b", 5), node("c", 3), node("d", 4)];
 * const head = stalenessHead(stale, { budget: 25, headerSize: () => 10, first: "a" });
 * assert.deepEqual(head.map((n) => n.key), ["a", "b", "d"]);
 * ```
 */
export function stalenessHead(
  stale: readonly StaleNode[],
  options: { budget: number; headerSize: (node: StaleNode) => number; first?: string },
): StaleNode[] {
  const head: StaleNode[] = [];
  let used = 0;
  const firstAt = options.first === undefined
    ? -1
    : stale.findIndex((node) => node.key === options.first);
  if (firstAt >= 0) {
    head.push(stale[firstAt]);
    used += options.headerSize(stale[firstAt]);
  }
  const heap: number[] = [];
  for (let i = 0; i < stale.length; i++) if (i !== firstAt) heap.push(i);
  const before = (i: number, j: number): boolean => {
    const order = compareStaleness(stale[i], stale[j]);
    return order < 0 || (order === 0 && i < j);
  };
  const siftDown = (at: number): void => {
    for (;;) {
      const left = 2 * at + 1;
      if (left >= heap.length) return;
      const child = left + 1 < heap.length && before(heap[left + 1], heap[left]) ? left + 1 : left;
      if (!before(heap[child], heap[at])) return;
      [heap[at], heap[child]] = [heap[child], heap[at]];
      at = child;
    }
  };
  for (let at = (heap.length >> 1) - 1; at >= 0; at--) siftDown(at);
  while (heap.length > 0 && used <= options.budget) {
    const node = stale[heap[0]];
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      siftDown(0);
    }
    head.push(node);
    used += options.headerSize(node);
  }
  return head;
}
