/**
 * The nodes a paged `Syn` lists before its page of the ring: those a peer
 * showed us behind on (the largest lag first), then those whose heartbeat we
 * most need (live nodes at risk, then nodes never seen live, in turn).
 * Listing a node asks the peer about it. Rule kept here: the nodes asked
 * about take at most {@linkcode ASKED_SHARE} of a Syn, so the page still goes
 * round the ring.
 * @module
 */

import type { ClusterState } from "./cluster_state.ts";
import type { Membership } from "./membership.ts";

/** Bytes of a compact digest entry, to size the share of a Syn that asks about chosen nodes. */
const ASKED_ENTRY_BYTES = 12;

/** A `Syn` gives at most this share of its page to the nodes it asks about. */
const ASKED_SHARE = 0.25;

/**
 * What one node's Syns list first.
 *
 * @example A node never seen live is asked about; one we lag behind on comes first
 * ```ts
 * import { SynPriorities } from "./syn_priorities.ts";
 * import { ClusterState } from "./cluster_state.ts";
 * import { FailureDetector } from "./failure_detector.ts";
 * import { Membership } from "./membership.ts";
 * import assert from "node:assert/strict";
 * const state = new ClusterState();
 * const a = state.getOrCreate({ nodeId: "a", generationId: 1, gossipAdvertiseAddr: "10.0.0.1:1" })!;
 * const b = state.getOrCreate({ nodeId: "b", generationId: 1, gossipAdvertiseAddr: "10.0.0.2:1" })!;
 * const membership = new Membership(new FailureDetector());
 * membership.evaluate(b.key, b.id, 0); // known, never seen live: "joining"
 * const first = new SynPriorities(state, membership);
 * first.noteAhead(a.key, 5, a.maxVersion);
 * assert.deepEqual(first.take(1_200), [a.key, b.key]);
 * ```
 */
export class SynPriorities {
  #state: ClusterState;
  #membership: Membership;
  /** Nodes a peer's digest showed ahead of us: node key -> the max version seen. */
  #behind = new Map<string, number>();
  /** Where the next Syn's nodes never seen live start, in membership order. */
  #askCursor = 0;
  /** Live nodes not heard of for a while, highest phi first (set after each liveness pass). */
  atRisk: readonly string[] = [];

  /** For the node whose view is `state`, with the statuses of `membership`. */
  constructor(state: ClusterState, membership: Membership) {
    this.#state = state;
    this.#membership = membership;
  }

  /** A peer's digest listed node `key` at `maxVersion`; ours is `ours`. */
  noteAhead(key: string, maxVersion: number, ours: number): void {
    if (maxVersion > ours && maxVersion > (this.#behind.get(key) ?? 0)) this.#behind.set(key, maxVersion);
  }

  /** The keys a Syn whose digest has `budget` bytes lists first: behind on, then asked about. */
  take(budget: number): string[] {
    return [...this.#mostBehind(), ...this.#askAbout(budget)];
  }

  /**
   * Nodes whose heartbeat we most need, up to {@linkcode ASKED_SHARE} of a
   * Syn: live nodes not heard of for a while (highest phi first), then nodes
   * known but never seen live, taken in turn from where the last Syn stopped
   * (so the Syns of a round ask about different ones, and every such node is
   * asked about once in each pass). Listing a node asks the peer for a
   * fresher heartbeat: a live node is not declared dead just because no page
   * happened to carry it, and a new node turns live sooner. A node that
   * really died has no fresher heartbeat anywhere, so detection is not
   * delayed.
   */
  #askAbout(budget: number): string[] {
    const cap = Math.floor(budget * ASKED_SHARE / ASKED_ENTRY_BYTES);
    const picked = this.atRisk.slice(0, cap);
    const room = cap - picked.length;
    if (room <= 0) return picked;
    const joining = [...this.#membership.keysWithStatus("joining")];
    if (joining.length === 0) return picked;
    const start = this.#askCursor % joining.length;
    const count = Math.min(room, joining.length);
    for (let i = 0; i < count; i++) picked.push(joining[(start + i) % joining.length]);
    this.#askCursor = start + count;
    return picked;
  }

  /** Keys of the nodes we lag behind on, the largest lag first; forgets caught-up ones. */
  #mostBehind(): string[] {
    const lags: Array<[string, number]> = [];
    for (const [key, theirs] of this.#behind) {
      const ours = this.#state.getByKey(key)?.maxVersion;
      if (ours === undefined || ours >= theirs) this.#behind.delete(key);
      else lags.push([key, theirs - ours]);
    }
    return lags.sort((a, b) => b[1] - a[1]).map(([key]) => key);
  }
}
