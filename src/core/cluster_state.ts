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
import { type KeyChange, NodeState, type NodeStateLimits } from "./node_state.ts";
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
   * A digest of at most `budget` bytes of entries: `first` (if given) and
   * then nodes taken round-robin from `cursor`. Returns the entries, their
   * size, whether every node fitted, and the cursor for the next call.
   */
  partialDigest(
    excluded: ReadonlySet<string>,
    options: { budget: number; cursor: number; first?: string },
  ): { digest: DigestEntry[]; size: number; complete: boolean; cursor: number } {
    const states = [...this.#nodes].filter(([key]) => !excluded.has(key));
    const digest: DigestEntry[] = [];
    let size = 0;
    const add = (state: NodeState): boolean => {
      const d = state.digest();
      const entrySize = digestEntrySize(state.id, d.heartbeat, d.lastGcVersion, d.maxVersion);
      if (size + entrySize > options.budget) return false;
      size += entrySize;
      digest.push({ id: state.id, ...d });
      return true;
    };
    const first = options.first === undefined ? undefined : this.#nodes.get(options.first);
    if (first !== undefined && !excluded.has(options.first!)) add(first);
    const n = states.length;
    const start = n === 0 ? 0 : options.cursor % n;
    let taken = 0;
    for (; taken < n; taken++) {
      const [key, state] = states[(start + taken) % n];
      if (key === options.first) continue;
      if (!add(state)) break;
    }
    return { digest, size, complete: taken === n, cursor: n === 0 ? 0 : (start + taken) % n };
  }

  /**
   * What a peer with `digest` lacks, cut so that its items fit in `budget`
   * bytes. Unknown nodes go first (lowest max version first), then nodes by
   * number of stale entries; ties are shuffled with `random`. A node cut
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
    },
  ): SizedDelta {
    const known = new Map<string, NodeDigest>();
    for (const entry of digest) known.set(chitchatIdKey(entry.id), entry);
    const stale: StaleNode[] = [];
    for (const [key, state] of this.#nodes) {
      if (options.excluded?.has(key)) continue;
      const theirs = known.get(key);
      if (theirs === undefined && options.partial) continue;
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
        tieBreak: options.random(),
      });
    }
    stale.sort(compareStaleness);
    return buildDelta(stale, options.budget);
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

function compareStaleness(a: StaleNode, b: StaleNode): number {
  if (a.unknown !== b.unknown) return a.unknown ? -1 : 1;
  if (a.unknown && a.state.maxVersion !== b.state.maxVersion) {
    return a.state.maxVersion - b.state.maxVersion;
  }
  if (!a.unknown && a.staleCount !== b.staleCount) return b.staleCount - a.staleCount;
  return a.tieBreak - b.tieBreak;
}

/** Fills node deltas in staleness order until the next item would exceed `budget`. */
function buildDelta(stale: readonly StaleNode[], budget: number): SizedDelta {
  const delta: NodeDelta[] = [];
  let size = 0;
  for (const node of stale) {
    const state = node.state;
    const versions = { from: node.from, lastGc: state.lastGcVersion, max: state.maxVersion };
    // The mutation list head is counted at its largest (a 9-byte count never occurs).
    const header = nodeDeltaHeaderSize(state.id, versions, 0) - 1 + 5;
    if (size + header > budget) break;
    let nodeSize = header;
    const keyValues: KeyValueMutation[] = [];
    let truncated = false;
    for (const [key, vv] of state.staleEntries(node.from)) {
      const itemSize = mutationSize(key, vv.value, vv.version);
      if (size + nodeSize + itemSize > budget) {
        truncated = true;
        break;
      }
      nodeSize += itemSize;
      keyValues.push({ key, value: vv.value, version: vv.version, status: vv.status });
    }
    if (truncated && keyValues.length === 0) break;
    const maxVersion = truncated ? keyValues[keyValues.length - 1].version : state.maxVersion;
    delta.push({
      id: state.id,
      fromVersionExcluded: node.from,
      lastGcVersion: state.lastGcVersion,
      maxVersion,
      keyValues,
    });
    size += nodeSize;
    if (truncated) break;
  }
  return { delta, size };
}

/** Bytes a node delta header may take beyond its id fields, for budget planning. */
export const NODE_DELTA_FIXED_OVERHEAD: number = 1 + 3 * MAX_UINT_SIZE + 5;
