/**
 * Every known node's state, and the scuttlebutt reconciliation over them:
 * digests, deltas cut to a byte budget, delta application with the reset rule,
 * and a bounded memory of removed nodes so stale gossip cannot revive them.
 * The algorithm is explained in docs/ALGORITHM.md.
 * @module
 */

import { type ChitchatId, chitchatIdKey } from "./chitchat_id.ts";
import type { Logger } from "./logger.ts";
import type { Digest, DigestEntry, KeyValueMutation, NodeDelta, NodeDigest } from "./messages.ts";
import { type KeyChange, NodeState, type NodeStateLimits, type VersionedValue } from "./node_state.ts";
import { digestEntrySize, MAX_UINT_SIZE, mutationSize, nodeDeltaHeaderSize } from "./wire_size.ts";

/** Options for {@linkcode ClusterState}. */
export interface ClusterStateOptions {
  /** Logger handed to every node state. */
  readonly logger?: Logger;
  /** Write limits handed to every node state. */
  readonly limits?: NodeStateLimits;
  /** Called for every visible key change of any node. */
  readonly onKeyChange?: (change: KeyChange) => void;
  /** How many removed nodes are remembered. Default 500. */
  readonly removedNodeMemory?: number;
}

/** A delta with the number of bytes it takes on the wire (an upper bound). */
export interface SizedDelta {
  /** The node deltas, in the order they were chosen. */
  readonly delta: NodeDelta[];
  /** Bytes the delta's items take, excluding the list head. */
  readonly size: number;
}

interface StaleNode {
  readonly key: string;
  readonly state: NodeState;
  readonly from: number;
  readonly unknown: boolean;
  readonly staleCount: number;
  readonly hasPriority: boolean;
  readonly tieBreak: number;
}

/**
 * The cluster as one node sees it.
 *
 * @example Two nodes reconcile through a digest and a delta
 * ```ts
 * import { ClusterState } from "./cluster_state.ts";
 * import assert from "node:assert/strict";
 * const id = { nodeId: "a", generationId: 1, gossipAdvertiseAddr: "h:1" };
 * const a = new ClusterState();
 * a.getOrCreate(id)!.set("k", "v");
 * const b = new ClusterState();
 * b.getOrCreate(id);
 * const { delta } = a.computeDelta(b.digest(new Set()), { budget: 1000, random: () => 0 });
 * b.applyDelta(delta, { now: 0, excluded: new Set() });
 * assert.equal(b.get(id)?.get("k"), "v");
 * ```
 */
export class ClusterState {
  #nodes = new Map<string, NodeState>();
  #removed = new Map<string, number>();
  #removedLimit: number;
  #options: ClusterStateOptions;

  /** Creates an empty cluster view. */
  constructor(options: ClusterStateOptions = {}) {
    this.#options = options;
    this.#removedLimit = options.removedNodeMemory ?? 500;
  }

  /** Number of known nodes. */
  get size(): number {
    return this.#nodes.size;
  }

  /** The state of `id`, if known. */
  get(id: ChitchatId): NodeState | undefined {
    return this.#nodes.get(chitchatIdKey(id));
  }

  /** The state stored under an id key, if known. */
  getByKey(key: string): NodeState | undefined {
    return this.#nodes.get(key);
  }

  /** Every known node's `[key, state]`. */
  entries(): IterableIterator<[string, NodeState]> {
    return this.#nodes.entries();
  }

  /** Every known node state. */
  states(): IterableIterator<NodeState> {
    return this.#nodes.values();
  }

  /**
   * The state of `id`, created when unknown. A recently removed node is only
   * recreated when `heartbeat` is above the one it had at removal; otherwise
   * `undefined` is returned.
   */
  getOrCreate(id: ChitchatId, heartbeat?: number): NodeState | undefined {
    const key = chitchatIdKey(id);
    const existing = this.#nodes.get(key);
    if (existing !== undefined) return existing;
    const lastHeartbeat = this.#removed.get(key);
    if (lastHeartbeat !== undefined) {
      if (heartbeat === undefined || heartbeat <= lastHeartbeat) return undefined;
      this.#removed.delete(key);
    }
    const state = new NodeState(id, {
      logger: this.#options.logger,
      limits: this.#options.limits,
      onKeyChange: this.#options.onKeyChange,
    });
    this.#nodes.set(key, state);
    return state;
  }

  /** Removes a node, remembering its heartbeat so older gossip cannot recreate it. */
  remove(key: string): NodeState | undefined {
    const state = this.#nodes.get(key);
    if (state === undefined) return undefined;
    this.#nodes.delete(key);
    this.#removed.delete(key);
    this.#removed.set(key, state.heartbeat);
    if (this.#removed.size > this.#removedLimit) {
      this.#removed.delete(this.#removed.keys().next().value as string);
    }
    return state;
  }

  /** The heartbeat a removed node had, while it is remembered. */
  removedHeartbeat(key: string): number | undefined {
    return this.#removed.get(key);
  }

  /** The full digest, leaving out the `excluded` node keys. */
  digest(excluded: ReadonlySet<string>): DigestEntry[] {
    const entries: DigestEntry[] = [];
    for (const [key, state] of this.#nodes) {
      if (excluded.has(key)) continue;
      entries.push({ id: state.id, ...state.digest() });
    }
    return entries;
  }

  /**
   * A digest of at most `budget` bytes of entries: the `first` nodes (in
   * that order), then the others taken round-robin from `cursor`. Returns
   * the entries, their size, whether every node fitted, and the cursor for
   * the next call.
   */
  partialDigest(
    excluded: ReadonlySet<string>,
    options: { budget: number; cursor: number; first?: readonly string[] },
  ): { digest: DigestEntry[]; size: number; complete: boolean; cursor: number } {
    const digest: DigestEntry[] = [];
    const taken = new Set<string>();
    let size = 0;
    const add = (key: string, state: NodeState): boolean => {
      const d = state.digest();
      const entrySize = digestEntrySize(state.id, d.heartbeat, d.lastGcVersion, d.maxVersion);
      if (size + entrySize > options.budget) return false;
      size += entrySize;
      taken.add(key);
      digest.push({ id: state.id, ...d });
      return true;
    };
    for (const key of options.first ?? []) {
      const state = this.#nodes.get(key);
      if (state === undefined || excluded.has(key) || taken.has(key)) continue;
      if (!add(key, state)) break;
    }
    const keys = [...this.#nodes.keys()];
    const n = keys.length;
    const start = n === 0 ? 0 : options.cursor % n;
    let complete = true;
    let i = 0;
    for (; i < n; i++) {
      const key = keys[(start + i) % n];
      if (taken.has(key) || excluded.has(key)) continue;
      if (!add(key, this.#nodes.get(key)!)) {
        complete = false;
        break;
      }
    }
    return { digest, size, complete, cursor: n === 0 ? 0 : (start + i) % n };
  }

  /**
   * What a peer with `digest` lacks, cut so that its items fit in `budget`
   * bytes. Nodes holding stale keys under `priorityPrefixes` go first, then
   * unknown nodes (lowest max version first), then nodes by number of stale
   * entries; ties are shuffled with `random`. Priority keys go first within
   * their node too. A node cut
   * short carries the version of its last mutation as max version, so the
   * delta is safe to apply. When `digest` is partial, nodes missing from it
   * are not offered.
   */
  computeDelta(
    digest: Digest,
    options: {
      budget: number;
      random: () => number;
      excluded?: ReadonlySet<string>;
      partial?: boolean;
      priorityPrefixes?: readonly string[];
    },
  ): SizedDelta {
    const prefixes = options.priorityPrefixes ?? [];
    const known = new Map<string, NodeDigest>();
    for (const entry of digest) known.set(chitchatIdKey(entry.id), entry);
    const stale: StaleNode[] = [];
    // A partial digest only asks about the nodes it lists: visit just those.
    const candidates: Iterable<[string, NodeState]> = options.partial
      ? [...known.keys()].flatMap((key): Array<[string, NodeState]> => {
        const state = this.#nodes.get(key);
        return state === undefined ? [] : [[key, state]];
      })
      : this.#nodes;
    for (const [key, state] of candidates) {
      if (options.excluded?.has(key)) continue;
      const theirs = known.get(key);
      const theirMax = theirs?.maxVersion ?? 0;
      const theirGc = theirs?.lastGcVersion ?? 0;
      if (state.maxVersion <= theirMax) continue;
      const reset = theirGc < state.lastGcVersion && theirMax < state.lastGcVersion;
      const from = reset ? 0 : theirMax;
      stale.push({
        key,
        state,
        from,
        unknown: from === 0,
        staleCount: state.staleCount(from),
        hasPriority: prefixes.length > 0 && hasStalePriorityKey(state, from, prefixes),
        tieBreak: options.random(),
      });
    }
    stale.sort(compareStaleness);
    return buildDelta(stale, options.budget, prefixes);
  }

  /**
   * Applies a received delta. Nodes that are unknown (and not recently
   * removed) are created; `excluded` nodes are ignored. Returns the ids of
   * the nodes that were reset.
   */
  applyDelta(
    delta: readonly NodeDelta[],
    options: { now: number; excluded: ReadonlySet<string> },
  ): ChitchatId[] {
    const resets: ChitchatId[] = [];
    for (const nodeDelta of delta) {
      const key = chitchatIdKey(nodeDelta.id);
      if (options.excluded.has(key)) continue;
      const state = this.#nodes.get(key) ?? this.getOrCreate(nodeDelta.id);
      if (state === undefined) continue;
      if (state.applyDelta(nodeDelta, options.now) === "reset") resets.push(state.id);
    }
    return resets;
  }

  /** Garbage-collects tombstones older than `graceMs` in every node. */
  collectGarbage(now: number, graceMs: number): void {
    for (const state of this.#nodes.values()) state.collectGarbage(now, graceMs);
  }
}

function hasStalePriorityKey(state: NodeState, from: number, prefixes: readonly string[]): boolean {
  for (const [key] of state.staleEntries(from)) if (priorityOf(key, prefixes) >= 0) return true;
  return false;
}

function compareStaleness(a: StaleNode, b: StaleNode): number {
  if (a.hasPriority !== b.hasPriority) return a.hasPriority ? -1 : 1;
  if (a.unknown !== b.unknown) return a.unknown ? -1 : 1;
  if (a.unknown && a.state.maxVersion !== b.state.maxVersion) {
    return a.state.maxVersion - b.state.maxVersion;
  }
  if (!a.unknown && a.staleCount !== b.staleCount) return b.staleCount - a.staleCount;
  return a.tieBreak - b.tieBreak;
}

/** Index of the first prefix `key` starts with, or -1. */
function priorityOf(key: string, prefixes: readonly string[]): number {
  for (let i = 0; i < prefixes.length; i++) if (key.startsWith(prefixes[i])) return i;
  return -1;
}

type Entry = [string, VersionedValue];

function toMutation([key, vv]: Entry): KeyValueMutation {
  return { key, value: vv.value, version: vv.version, status: vv.status };
}

/**
 * Fills node deltas in staleness order until the next item would exceed
 * `budget`. Within a node, entries matching a priority prefix are reserved
 * first (in prefix order); then entries go in version order. A node cut
 * short gets the version of its last in-order entry as max version; reserved
 * entries above it travel as "ahead" mutations the receiver keeps without
 * moving its max version.
 */
function buildDelta(stale: readonly StaleNode[], budget: number, prefixes: readonly string[]): SizedDelta {
  const delta: NodeDelta[] = [];
  let size = 0;
  for (const node of stale) {
    const state = node.state;
    const versions = { from: node.from, lastGc: state.lastGcVersion, max: state.maxVersion };
    // The mutation list head is counted at its largest (a 9-byte count never occurs).
    const header = nodeDeltaHeaderSize(state.id, versions, 0) - 1 + 5;
    if (size + header > budget) break;
    let used = size + header;
    const entries = [...state.staleEntries(node.from)];
    const reserved = new Set<Entry>();
    if (node.hasPriority) {
      const candidates = entries
        .map((entry) => ({ entry, rank: priorityOf(entry[0], prefixes) }))
        .filter((c) => c.rank >= 0 && c.entry[1].version <= state.maxVersion)
        .sort((x, y) => x.rank - y.rank || x.entry[1].version - y.entry[1].version);
      const order: Entry[] = [];
      for (const { entry } of candidates) {
        const itemSize = mutationSize(entry[0], entry[1].value, entry[1].version);
        if (used + itemSize > budget) break;
        used += itemSize;
        reserved.add(entry);
        order.push(entry);
      }
      // Reservations must leave room for the next in-order entry, or the node
      // would never move forward: give back the least important ones.
      const next = entries.find((entry) => entry[1].version <= state.maxVersion && !reserved.has(entry));
      if (next !== undefined) {
        const nextSize = mutationSize(next[0], next[1].value, next[1].version);
        while (order.length > 0 && used + nextSize > budget) {
          const dropped = order.pop()!;
          reserved.delete(dropped);
          used -= mutationSize(dropped[0], dropped[1].value, dropped[1].version);
        }
      }
    }
    const inOrder: Entry[] = [];
    let truncated = false;
    for (const entry of entries) {
      if (entry[1].version > state.maxVersion) break;
      if (reserved.has(entry)) {
        inOrder.push(entry);
        continue;
      }
      const itemSize = mutationSize(entry[0], entry[1].value, entry[1].version);
      if (used + itemSize > budget) {
        truncated = true;
        break;
      }
      used += itemSize;
      inOrder.push(entry);
    }
    const maxVersion = truncated
      ? (inOrder.length === 0 ? node.from : inOrder[inOrder.length - 1][1].version)
      : state.maxVersion;
    const ahead = [...reserved].filter((entry) => entry[1].version > maxVersion);
    if (!truncated) {
      // Entries we hold above our own max version (received ahead) go along if they fit.
      for (const entry of entries) {
        if (entry[1].version <= state.maxVersion) continue;
        const itemSize = mutationSize(entry[0], entry[1].value, entry[1].version);
        if (used + itemSize > budget) break;
        used += itemSize;
        ahead.push(entry);
      }
    }
    const kept = inOrder.filter((entry) => entry[1].version <= maxVersion);
    if (kept.length === 0 && ahead.length === 0) {
      if (truncated) break;
      if (maxVersion <= node.from) continue;
    }
    ahead.sort((x, y) => x[1].version - y[1].version);
    delta.push({
      id: state.id,
      fromVersionExcluded: node.from,
      lastGcVersion: state.lastGcVersion,
      maxVersion,
      keyValues: [...kept, ...ahead].map(toMutation),
    });
    size = used;
    if (truncated) break;
  }
  return { delta, size };
}

/** Bytes a node delta header may take beyond its id fields, for budget planning. */
export const NODE_DELTA_FIXED_OVERHEAD: number = 1 + 3 * MAX_UINT_SIZE + 5;
