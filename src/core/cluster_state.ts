/**
 * Every known node's state, and the scuttlebutt reconciliation over them:
 * digests, deltas cut to a byte budget, delta application with the reset rule,
 * and a bounded memory of removed nodes so stale gossip cannot revive them.
 * The algorithm is explained in docs/ALGORITHM.md.
 * @module
 */

import { type ChitchatId, chitchatIdKey } from "./chitchat_id.ts";
import type { Logger } from "./logger.ts";
import type {
  CompactDigestEntry,
  Digest,
  DigestEntry,
  DigestRange,
  KeyValueMutation,
  NodeDelta,
  NodeDigest,
} from "./messages.ts";
import { type KeyChange, NodeState, type NodeStateLimits, type VersionedValue } from "./node_state.ts";
import { compactEntrySize, digestEntrySize, MAX_UINT_SIZE, mutationSize, nodeDeltaHeaderSize } from "./wire_size.ts";

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
  /** Called when a node's delta is refused because the replica would exceed its capacity. */
  readonly onRefused?: (node: ChitchatId, reason: string) => void;
}

/** A delta with the number of bytes it takes on the wire (an upper bound). */
export interface SizedDelta {
  /** The node deltas, in the order they were chosen. */
  readonly delta: NodeDelta[];
  /** Bytes the delta's items take, excluding the list head. */
  readonly size: number;
  /** False when something stale was left out for lack of room. */
  readonly complete: boolean;
}

/**
 * Which nodes a peer's digest speaks for: every node it knows (`all`), only
 * the nodes it lists (`listed`), or the listed ones plus every node in a part
 * of the fingerprint ring (a {@linkcode DigestRange}). A node the digest
 * speaks for but does not list is unknown to the peer.
 */
export type DigestScope = "all" | "listed" | DigestRange;

/** One page of this node's digest, as `pageDigest` cuts it. */
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
}

/** True when `fp` lies in the ring range `[start, end)`. */
export function inRange(fp: number, range: DigestRange): boolean {
  return range.start < range.end ? fp >= range.start && fp < range.end : fp >= range.start || fp < range.end;
}

function compareRing(a: NodeState, b: NodeState): number {
  return a.fingerprint - b.fingerprint || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}

/** Index of the first state of `ring` whose fingerprint is at least `fp`. */
function lowerBound(ring: readonly NodeState[], fp: number): number {
  let lo = 0;
  let hi = ring.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ring[mid].fingerprint < fp) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

interface StaleNode {
  readonly key: string;
  readonly state: NodeState;
  readonly from: number;
  readonly unknown: boolean;
  /** Sent even without entries: the peer does not know the node at all. */
  readonly intro: boolean;
  readonly staleCount: number;
  readonly hasPriority: boolean;
  readonly tieBreak: number;
}

/**
 * The cluster as one node sees it.
 *
 * @example Two nodes reconcile through a digest and a delta
 * ```ts
 * import { ClusterState } from "@scope/chitchat";
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
  /** Fingerprint -> the node, or null when several known nodes share it. */
  #byFingerprint = new Map<number, NodeState | null>();
  /** Nodes sorted by fingerprint (then key), once `#pending` is merged in. */
  #ring: NodeState[] = [];
  #pending: NodeState[] = [];
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
      onRefused: this.#options.onRefused === undefined ? undefined : (reason) => this.#options.onRefused!(id, reason),
    });
    this.#nodes.set(key, state);
    const fp = state.fingerprint;
    this.#byFingerprint.set(fp, this.#byFingerprint.has(fp) ? null : state);
    this.#pending.push(state);
    return state;
  }

  /**
   * The known node a compact entry names: the one whose fingerprint and
   * check both match, unless none (or, against all odds, several) do. A node
   * known to the sender but not to us never resolves to another node that
   * merely shares its fingerprint.
   */
  resolveCompact(fp: number, check: number): NodeState | undefined {
    const state = this.#byFingerprint.get(fp);
    if (state !== null) return state !== undefined && state.check === check ? state : undefined;
    // Several known nodes share the fingerprint: the check tells them apart.
    let found: NodeState | undefined;
    const ring = this.#sortedRing();
    for (let i = lowerBound(ring, fp); i < ring.length && ring[i].fingerprint === fp; i++) {
      if (ring[i].check !== check) continue;
      if (found !== undefined) return undefined;
      found = ring[i];
    }
    return found;
  }

  /** True when several known nodes share the fingerprint `fp`. */
  isAmbiguous(fp: number): boolean {
    return this.#byFingerprint.get(fp) === null;
  }

  /** The nodes sorted by fingerprint. */
  #sortedRing(): NodeState[] {
    const pending = this.#pending;
    if (pending.length === 0) return this.#ring;
    const ring = this.#ring;
    if (pending.length < 16) {
      for (const state of pending) {
        let i = lowerBound(ring, state.fingerprint);
        while (i < ring.length && compareRing(ring[i], state) < 0) i++;
        ring.splice(i, 0, state);
      }
    } else {
      for (const state of pending) ring.push(state);
      ring.sort(compareRing);
    }
    this.#pending = [];
    return ring;
  }

  #forgetFingerprint(state: NodeState): void {
    const ring = this.#sortedRing();
    const fp = state.fingerprint;
    let i = lowerBound(ring, fp);
    while (i < ring.length && ring[i] !== state) i++;
    if (i < ring.length) ring.splice(i, 1);
    if (this.#byFingerprint.get(fp) !== null) {
      this.#byFingerprint.delete(fp);
      return;
    }
    const same = [];
    for (let j = lowerBound(ring, fp); j < ring.length && ring[j].fingerprint === fp; j++) same.push(ring[j]);
    this.#byFingerprint.set(fp, same.length === 1 ? same[0] : null);
    if (same.length === 0) this.#byFingerprint.delete(fp);
  }

  /** Removes a node, remembering its heartbeat so older gossip cannot recreate it. */
  remove(key: string): NodeState | undefined {
    const state = this.#nodes.get(key);
    if (state === undefined) return undefined;
    this.#nodes.delete(key);
    this.#forgetFingerprint(state);
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
   * One page of the digest in at most `budget` bytes: the `first` nodes (in
   * that order), then the others in fingerprint order from `cursor`, so that
   * successive pages go round the ring. Nodes in `full`, and nodes whose
   * fingerprint collides here, are listed with their id; the others by
   * fingerprint. When not everything fits, the page states the part of the
   * ring it lists completely, `[cursor, first fingerprint left out)`, and
   * the next cursor is that end.
   */
  pageDigest(
    excluded: ReadonlySet<string>,
    options: {
      budget: number;
      cursor: number;
      first?: readonly string[];
      full?: ReadonlySet<string>;
      /** Nodes to leave out as if excluded. */
      skip?: ReadonlyMap<string, unknown>;
    },
  ): DigestPage {
    const digest: DigestEntry[] = [];
    const compact: CompactDigestEntry[] = [];
    const taken = new Set<string>();
    const full = options.full;
    let size = 0;
    const add = (state: NodeState): boolean => {
      const hb = state.heartbeat;
      const gc = state.lastGcVersion;
      const max = state.maxVersion;
      const fp = state.fingerprint;
      if (full?.has(state.key) || this.#byFingerprint.get(fp) === null) {
        const entrySize = digestEntrySize(state.id, hb, gc, max);
        if (size + entrySize > options.budget) return false;
        size += entrySize;
        digest.push({ id: state.id, heartbeat: hb, lastGcVersion: gc, maxVersion: max });
      } else {
        const entry = state.compactDigest();
        const entrySize = compactEntrySize(entry);
        if (size + entrySize > options.budget) return false;
        size += entrySize;
        compact.push(entry);
      }
      return true;
    };
    for (const key of options.first ?? []) {
      const state = this.#nodes.get(key);
      if (state === undefined || excluded.has(key) || taken.has(key)) continue;
      if (!add(state)) break;
      taken.add(key);
    }
    const ring = this.#sortedRing();
    const n = ring.length;
    const cursor = options.cursor;
    const start = lowerBound(ring, cursor);
    for (let i = 0; i < n; i++) {
      const state = ring[(start + i) % n];
      if (taken.has(state.key) || excluded.has(state.key) || options.skip?.has(state.key)) continue;
      if (!add(state)) {
        const end = state.fingerprint;
        const range = end === cursor ? undefined : { start: cursor, end };
        return { digest, compact, size, complete: false, range, cursor: end };
      }
    }
    return { digest, compact, size, complete: true, range: undefined, cursor };
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
    const known = new Map<string, NodeDigest>();
    for (const entry of digest) known.set(chitchatIdKey(entry.id), entry);
    return this.computeDeltaFor(known, { ...options, scope: options.partial ? "listed" : "all" });
  }

  /**
   * What a peer lacks, from its digest resolved to our node keys (`listed`)
   * and what that digest speaks for (`scope`): nodes it lists with a lower
   * max version, and nodes in scope it does not list (unknown to it, sent
   * from version 0). With `introduce`, a node unknown to the peer goes even
   * when it has no keys (a header naming it), and a listed entry with every
   * field 0 counts as unknown. Cut to `budget` and ordered as
   * {@linkcode ClusterState.computeDelta} says.
   */
  computeDeltaFor(
    listed: ReadonlyMap<string, NodeDigest>,
    options: {
      budget: number;
      random: () => number;
      scope: DigestScope;
      excluded?: ReadonlySet<string>;
      priorityPrefixes?: readonly string[];
      introduce?: boolean;
      /** A node that goes before all others when stale (the sender itself: a peer must learn who answers it). */
      first?: string;
    },
  ): SizedDelta {
    const prefixes = options.priorityPrefixes ?? [];
    const excluded = options.excluded;
    const introduce = options.introduce === true;
    const stale: StaleNode[] = [];
    const consider = (key: string, state: NodeState): void => {
      if (excluded?.has(key)) return;
      const theirs = listed.get(key);
      const theirMax = theirs?.maxVersion ?? 0;
      const theirGc = theirs?.lastGcVersion ?? 0;
      const unknown = theirs === undefined || (theirs.heartbeat === 0 && theirMax === 0 && theirGc === 0);
      const intro = introduce && unknown;
      if (state.maxVersion <= theirMax && !intro) return;
      // The peer is part-way through a reset from a node that collected more
      // tombstones than we did: it would refuse what we hold (NodeState.applyDelta).
      if (theirMax < theirGc && state.lastGcVersion < theirGc) return;
      const reset = theirGc < state.lastGcVersion && theirMax < state.lastGcVersion;
      const from = reset ? 0 : theirMax;
      stale.push({
        key,
        state,
        from,
        unknown: from === 0,
        intro,
        staleCount: state.staleCount(from),
        hasPriority: prefixes.length > 0 && hasStalePriorityKey(state, from, prefixes),
        tieBreak: options.random(),
      });
    };
    const scope = options.scope;
    if (scope === "all") {
      for (const [key, state] of this.#nodes) consider(key, state);
    } else {
      for (const key of listed.keys()) {
        const state = this.#nodes.get(key);
        if (state !== undefined) consider(key, state);
      }
      if (scope !== "listed") {
        // Nodes of the range the peer does not list: it does not know them.
        const ring = this.#sortedRing();
        const n = ring.length;
        const start = lowerBound(ring, scope.start);
        for (let i = 0; i < n; i++) {
          const state = ring[(start + i) % n];
          if (!inRange(state.fingerprint, scope)) break;
          if (!listed.has(state.key)) consider(state.key, state);
        }
      }
    }
    stale.sort(compareStaleness);
    const first = options.first === undefined ? -1 : stale.findIndex((node) => node.key === options.first);
    if (first > 0) stale.unshift(...stale.splice(first, 1));
    return buildDelta(stale, options.budget, prefixes);
  }

  /**
   * Applies a received delta. Nodes that are unknown (and not recently
   * removed) are created; `excluded` nodes are ignored. Returns the ids of
   * the nodes that were reset.
   */
  applyDelta(
    delta: readonly NodeDelta[],
    options: {
      now: number;
      excluded: ReadonlySet<string>;
      /** The heartbeat the same message gives a node: a removed node with a higher one is recreated. */
      heartbeatOf?: (id: ChitchatId) => number | undefined;
    },
  ): ChitchatId[] {
    const resets: ChitchatId[] = [];
    for (const nodeDelta of delta) {
      const key = chitchatIdKey(nodeDelta.id);
      if (options.excluded.has(key)) continue;
      const state = this.#nodes.get(key) ??
        this.getOrCreate(
          nodeDelta.id,
          this.#removed.has(key) ? options.heartbeatOf?.(nodeDelta.id) : undefined,
        );
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
  // Nodes the peer has never heard of before nodes it knows without their keys.
  if (a.intro !== b.intro) return a.intro ? -1 : 1;
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

interface NodePlan {
  readonly node: StaleNode;
  /** The node's stale entries, in version order. */
  readonly entries: Entry[];
  /** Priority entries taken ahead of their turn. */
  readonly reserved: Set<Entry>;
}

/**
 * Fills node deltas in staleness order until the next item would exceed
 * `budget`. First, the priority entries (in prefix order) of every node that
 * has some: all of the first such node's if they leave room for its next
 * in-order entry, then other nodes' within half of the budget, so that a
 * joining node gets every node's priority keys early while ordinary
 * entries still make progress. Then entries go in version order, node by
 * node. A node cut short gets the version of its last in-order entry as max
 * version; reserved entries above it travel as "ahead" mutations the
 * receiver keeps without moving its max version.
 */
function buildDelta(stale: readonly StaleNode[], budget: number, prefixes: readonly string[]): SizedDelta {
  let used = 0;
  const plans: NodePlan[] = [];
  const planOf = new Map<StaleNode, NodePlan>();
  const open = (node: StaleNode): NodePlan | undefined => {
    const state = node.state;
    const versions = { from: node.from, lastGc: state.lastGcVersion, max: state.maxVersion };
    // The mutation list head is counted at its largest (a 9-byte count never occurs).
    const header = nodeDeltaHeaderSize(state.id, versions, 0) - 1 + 5;
    if (used + header > budget) return undefined;
    used += header;
    const plan = { node, entries: [...state.staleEntries(node.from)], reserved: new Set<Entry>() };
    plans.push(plan);
    planOf.set(node, plan);
    return plan;
  };
  const entrySize = (entry: Entry): number => mutationSize(entry[0], entry[1].value, entry[1].version);
  for (const node of stale) {
    if (!node.hasPriority) break; // they come first
    const first = plans.length === 0;
    const limit = first ? budget : Math.floor(budget / 2);
    if (!first && used >= limit) break;
    const plan = open(node);
    if (plan === undefined) break;
    const max = node.state.maxVersion;
    const candidates = plan.entries
      .map((entry) => ({ entry, rank: priorityOf(entry[0], prefixes) }))
      .filter((c) => c.rank >= 0 && c.entry[1].version <= max)
      .sort((x, y) => x.rank - y.rank || x.entry[1].version - y.entry[1].version);
    const order: Entry[] = [];
    for (const { entry } of candidates) {
      const size = entrySize(entry);
      if (used + size > limit) break;
      used += size;
      plan.reserved.add(entry);
      order.push(entry);
    }
    if (first) {
      // Reservations must leave room for the next in-order entry, or the node
      // would never move forward: give back the least important ones.
      const next = plan.entries.find((entry) => entry[1].version <= max && !plan.reserved.has(entry));
      if (next !== undefined) {
        const nextSize = entrySize(next);
        while (order.length > 0 && used + nextSize > budget) {
          const dropped = order.pop()!;
          plan.reserved.delete(dropped);
          used -= entrySize(dropped);
        }
      }
    }
  }
  // In version order, node by node, until something does not fit.
  const maxVersions = new Map<NodePlan, number>();
  let truncatedPlan: NodePlan | undefined;
  let complete = true;
  for (const node of stale) {
    const plan = planOf.get(node) ?? open(node);
    if (plan === undefined) {
      complete = false;
      break;
    }
    const state = node.state;
    let last: number | undefined;
    let truncated = false;
    for (const entry of plan.entries) {
      if (entry[1].version > state.maxVersion) break;
      if (!plan.reserved.has(entry)) {
        const size = entrySize(entry);
        if (used + size > budget) {
          truncated = true;
          break;
        }
        used += size;
      }
      last = entry[1].version;
    }
    maxVersions.set(plan, truncated ? (last ?? node.from) : state.maxVersion);
    if (truncated) {
      truncatedPlan = plan;
      complete = false;
      break;
    }
  }
  const delta: NodeDelta[] = [];
  for (const plan of plans) {
    const { node, entries, reserved } = plan;
    const state = node.state;
    // Nodes only planned for their priority entries stay at their `from`.
    const maxVersion = maxVersions.get(plan) ?? node.from;
    const kept = entries.filter((entry) => entry[1].version <= maxVersion);
    const ahead = [...reserved].filter((entry) => entry[1].version > maxVersion);
    if (maxVersion === state.maxVersion && plan !== truncatedPlan) {
      // Entries we hold above our own max version (received ahead) go along if they fit.
      for (const entry of entries) {
        if (entry[1].version <= state.maxVersion) continue;
        const size = entrySize(entry);
        if (used + size > budget) break;
        used += size;
        ahead.push(entry);
      }
    }
    if (kept.length === 0 && ahead.length === 0 && maxVersion <= node.from && !node.intro) {
      used -= nodeDeltaHeaderSize(state.id, { from: node.from, lastGc: state.lastGcVersion, max: state.maxVersion }, 0) -
        1 + 5;
      continue;
    }
    ahead.sort((x, y) => x[1].version - y[1].version);
    delta.push({
      id: state.id,
      fromVersionExcluded: node.from,
      lastGcVersion: state.lastGcVersion,
      maxVersion,
      keyValues: [...kept, ...ahead].map(toMutation),
    });
  }
  return { delta, size: used, complete };
}

/** Bytes a node delta header may take beyond its id fields, for budget planning. */
export const NODE_DELTA_FIXED_OVERHEAD: number = 1 + 3 * MAX_UINT_SIZE + 5;
