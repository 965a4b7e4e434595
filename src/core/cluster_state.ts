/**
 * Every known node's state, and the scuttlebutt reconciliation over them:
 * digests, deltas cut to a byte budget, delta application with the reset rule,
 * and a bounded memory of removed nodes so stale gossip cannot revive them.
 * A facade over the node map, the fingerprint ring, the digest pages and the
 * delta builder; the algorithm is explained in docs/ALGORITHM.md.
 * @module
 */

import { type ChitchatId, chitchatIdKey } from "./chitchat_id.ts";
import { buildDelta, type SizedDelta } from "./delta_builder.ts";
import { type DigestPage, fullDigest, pageDigest, partialDigest } from "./digest_pages.ts";
import { FingerprintRing, inRange, lowerBound } from "./fingerprint_ring.ts";
import type { Logger } from "./logger.ts";
import { NodeMap } from "./node_map.ts";
import { NodeState, type NodeStateLimits } from "./node_state.ts";
import { stalenessHead, type StaleNode, staleNode } from "./stale_nodes.ts";
import type {
  Digest,
  DigestEntry,
  DigestRange,
  KeyChange,
  NodeDelta,
  NodeDigest,
} from "./types.ts";
import type { WireSizes } from "./wire_format.ts";
import { cborWireSizes, MAX_UINT_SIZE } from "./wire_size.ts";

export type { DigestPage } from "./digest_pages.ts";
export type { SizedDelta } from "./delta_builder.ts";
export { inRange } from "./fingerprint_ring.ts";

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
  /** The sizes digests and deltas are budgeted with: the wire format's. Default: the CBOR format's. */
  readonly sizes?: WireSizes;
  /** Whether an unknown node (by id key) may be created; refused ones are left out. Default: every one. */
  readonly admit?: (key: string) => boolean;
  /**
   * Node keys left out of every delta built here, as if excluded, though
   * deltas of them are still applied and digests still list them (so that
   * peers do not send them again). Read at each call: pass a set that
   * changes. Default: none.
   */
  readonly withheld?: ReadonlySet<string>;
  /**
   * Digests leave the withheld nodes out too: needed where a digest entry
   * creates the node at the receiver (the Rust profile), or the digests
   * would hand them on. Default false.
   */
  readonly withheldFromDigests?: boolean;
}

/**
 * Which nodes a peer's digest speaks for: every node it knows (`all`), only
 * the nodes it lists (`listed`), or the listed ones plus every node in a part
 * of the fingerprint ring (a {@linkcode DigestRange}). A node the digest
 * speaks for but does not list is unknown to the peer.
 */
export type DigestScope = "all" | "listed" | DigestRange;

/**
 * The cluster as one node sees it.
 *
 * @example Two nodes reconcile through a digest and a delta
 * ```ts
 * import { ClusterState } from "@scope/chitchat/core";
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
  #nodes: NodeMap;
  #ring = new FingerprintRing();
  #sizes: WireSizes;
  #options: ClusterStateOptions;

  /** Creates an empty cluster view. */
  constructor(options: ClusterStateOptions = {}) {
    this.#options = options;
    this.#nodes = new NodeMap(options.removedNodeMemory ?? 500);
    this.#sizes = options.sizes ?? cborWireSizes;
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
    return this.#nodes.states();
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
    if (!this.#nodes.admit(key, heartbeat)) return undefined;
    const options = this.#options;
    if (options.admit !== undefined && !options.admit(key)) return undefined;
    const state = new NodeState(id, {
      logger: options.logger,
      limits: options.limits,
      onKeyChange: options.onKeyChange,
      onRefused: options.onRefused === undefined
        ? undefined
        : (reason) => options.onRefused!(id, reason),
    });
    this.#nodes.add(state);
    this.#ring.add(state);
    return state;
  }

  /**
   * The known node a compact entry names: the one whose fingerprint and
   * check both match, unless none (or, against all odds, several) do. A node
   * known to the sender but not to us never resolves to another node that
   * merely shares its fingerprint.
   */
  resolveCompact(fp: number, check: number): NodeState | undefined {
    return this.#ring.resolve(fp, check);
  }

  /** True when several known nodes share the fingerprint `fp`. */
  isAmbiguous(fp: number): boolean {
    return this.#ring.isAmbiguous(fp);
  }

  /**
   * Removes a node, remembering its heartbeat so older gossip cannot
   * recreate it (unless `remember` is false: a node evicted to make room).
   */
  remove(key: string, remember = true): NodeState | undefined {
    const state = this.#nodes.remove(key, remember);
    if (state !== undefined) this.#ring.remove(state);
    return state;
  }

  /** The heartbeat a removed node had, while it is remembered. */
  removedHeartbeat(key: string): number | undefined {
    return this.#nodes.removedHeartbeat(key);
  }

  /** The full digest, leaving out the `excluded` node keys. */
  digest(excluded: ReadonlySet<string>): DigestEntry[] {
    return fullDigest(this.#nodes, this.#digestOutbound(excluded));
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
    return partialDigest(this.#nodes, this.#digestOutbound(excluded), { ...options, sizes: this.#sizes });
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
    return pageDigest(
      { nodes: this.#nodes, ring: this.#ring, sizes: this.#sizes },
      this.#digestOutbound(excluded),
      options,
    );
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
      /** Priority keys may go ahead of their turn (default true); false: exact version prefixes. */
      keysAhead?: boolean;
    },
  ): SizedDelta {
    const prefixes = options.priorityPrefixes ?? [];
    const excluded = this.#outbound(options.excluded);
    const judge = { prefixes, introduce: options.introduce === true, random: options.random };
    const stale: StaleNode[] = [];
    const consider = (key: string, state: NodeState): void => {
      if (excluded?.has(key)) return;
      const node = staleNode(state, listed.get(key), judge);
      if (node !== undefined) stale.push(node);
    };
    const scope = options.scope;
    if (scope === "all") {
      for (const [key, state] of this.#nodes.entries()) consider(key, state);
    } else {
      for (const key of listed.keys()) {
        const state = this.#nodes.get(key);
        if (state !== undefined) consider(key, state);
      }
      if (scope !== "listed") {
        // Nodes of the range the peer does not list: it does not know them.
        const ring = this.#ring.sorted();
        const n = ring.length;
        const start = lowerBound(ring, scope.start);
        for (let i = 0; i < n; i++) {
          const state = ring[(start + i) % n];
          if (!inRange(state.fingerprint, scope)) break;
          if (!listed.has(state.key)) consider(state.key, state);
        }
      }
    }
    // Only the head that can fit is ordered: a flood of invented nodes makes
    // `stale` every node the peer lacks, thousands, for a datagram's worth.
    const head = stalenessHead(stale, {
      budget: options.budget,
      first: options.first,
      headerSize: (node) =>
        this.#sizes.nodeDeltaHeaderSize({
          id: node.state.id,
          fromVersionExcluded: node.from,
          lastGcVersion: node.state.lastGcVersion,
          maxVersion: node.state.maxVersion,
        }),
    });
    return buildDelta(head, {
      budget: options.budget,
      prefixes,
      sizes: this.#sizes,
      keysAhead: options.keysAhead,
    });
  }

  /**
   * Applies a received delta. Nodes that are unknown (and not recently
   * removed) are created, unless `create` is false (the Rust crate's rule:
   * nodes come only from digests, a delta of an unknown node is ignored);
   * `excluded` nodes are ignored. Returns the ids of the nodes that were reset.
   */
  applyDelta(
    delta: readonly NodeDelta[],
    options: {
      now: number;
      excluded: ReadonlySet<string>;
      /** The heartbeat the same message gives a node: a removed node with a higher one is recreated. */
      heartbeatOf?: (id: ChitchatId) => number | undefined;
      /** Create unknown nodes (default true). */
      create?: boolean;
    },
  ): ChitchatId[] {
    const create = options.create ?? true;
    const resets: ChitchatId[] = [];
    for (const nodeDelta of delta) {
      const key = chitchatIdKey(nodeDelta.id);
      if (options.excluded.has(key)) continue;
      const state = this.#nodes.get(key) ?? (!create ? undefined : this.getOrCreate(
        nodeDelta.id,
        this.#nodes.removedHeartbeat(key) !== undefined
          ? options.heartbeatOf?.(nodeDelta.id)
          : undefined,
      ));
      if (state === undefined) continue;
      if (state.applyDelta(nodeDelta, options.now) === "reset") resets.push(state.id);
    }
    return resets;
  }

  /** What digests leave out: `excluded`, and the withheld nodes where `withheldFromDigests` says so. */
  #digestOutbound(excluded: ReadonlySet<string>): ReadonlySet<string> {
    return this.#options.withheldFromDigests === true ? this.#outbound(excluded) : excluded;
  }

  /** `excluded` and the withheld nodes: what deltas leave out. */
  #outbound<T extends ReadonlySet<string> | undefined>(excluded: T): T | ReadonlySet<string> {
    const withheld = this.#options.withheld;
    if (withheld === undefined || withheld.size === 0) return excluded;
    if (excluded === undefined || excluded.size === 0) return withheld;
    return new Set([...excluded, ...withheld]);
  }

  /** Garbage-collects tombstones older than `graceMs` in every node. */
  collectGarbage(now: number, graceMs: number): void {
    for (const state of this.#nodes.states()) state.collectGarbage(now, graceMs);
  }
}

/** Bytes a node delta header may take beyond its id fields, for budget planning. */
export const NODE_DELTA_FIXED_OVERHEAD: number = 1 + 3 * MAX_UINT_SIZE + 5;
