/**
 * The nodes a paged `Syn` lists before its page of the ring: those a peer
 * showed us behind on (the largest lag first), then those whose heartbeat we
 * most need (live nodes at risk, then nodes never seen live, in turn).
 * Listing a node asks the peer about it. Rules kept here: the nodes lagged
 * behind on take at most {@linkcode BEHIND_SHARE} of a Syn and the nodes
 * asked about at most {@linkcode ASKED_SHARE}, so the page still goes round
 * the ring; a node never seen live counts as asked about in a pass only
 * once a page has listed it.
 * @module
 */

import type { ClusterState } from "./cluster_state.ts";
import type { Membership } from "./membership.ts";

/** Bytes of a compact digest entry, to size the shares of a Syn listed first. */
const ENTRY_BYTES = 12;

/** A `Syn` gives at most this share of its page to the nodes it asks about. */
const ASKED_SHARE = 0.25;

/** A Syn lists at most this share of its page of nodes we lag behind on (the largest lags first). */
const BEHIND_SHARE = 0.5;

/**
 * What one node's Syns list first. Call order, for each Syn: `take(budget)`,
 * then `listed(n)` with how many of those keys the page went through.
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
 * first.listed(2);
 * ```
 */
export class SynPriorities {
  #state: ClusterState;
  #membership: Membership;
  /** Nodes a peer's digest showed ahead of us: node key -> the max version seen. */
  #behind = new Map<string, number>();
  /** Nodes never seen live asked about in this pass; a pass ends when every such node was. */
  #askedThisPass = new Set<string>();
  /** What the last `take` returned: where its nodes never seen live start, and the keys. */
  #lastTake: { readonly joiningFrom: number; readonly keys: readonly string[] } = { joiningFrom: 0, keys: [] };
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

  /**
   * The keys a Syn whose digest has `budget` bytes lists first: nodes we
   * lag behind on (at most {@linkcode BEHIND_SHARE} of it), then the nodes
   * asked about (at most {@linkcode ASKED_SHARE}), so the page still goes
   * round the ring.
   */
  take(budget: number): string[] {
    const behind = this.#mostBehind(Math.floor(budget * BEHIND_SHARE / ENTRY_BYTES));
    const cap = Math.floor(budget * ASKED_SHARE / ENTRY_BYTES);
    const atRisk = this.atRisk.slice(0, cap);
    const joining = this.#joining(cap - atRisk.length);
    const keys = [...behind, ...atRisk, ...joining];
    this.#lastTake = { joiningFrom: behind.length + atRisk.length, keys };
    return keys;
  }

  /**
   * The page went through the first `count` keys of the last `take`: the
   * nodes never seen live among them count as asked about in this pass;
   * the others are asked about by a later Syn.
   */
  listed(count: number): void {
    const { joiningFrom, keys } = this.#lastTake;
    for (let i = joiningFrom; i < Math.min(count, keys.length); i++) this.#askedThisPass.add(keys[i]);
    this.#lastTake = { joiningFrom: 0, keys: [] };
  }

  /**
   * Up to `room` nodes known but never seen live, those not yet asked about
   * in this pass first (in membership order), so the Syns of a round ask
   * about different ones and every such node is asked about once a pass.
   * Listing a node asks the peer for a fresher heartbeat: a new node turns
   * live sooner (as a live node at risk is not declared dead just because
   * no page happened to carry it). A node that really died has no fresher
   * heartbeat anywhere, so detection is not delayed.
   */
  #joining(room: number): string[] {
    if (room <= 0) return [];
    const fresh: string[] = [];
    const again: string[] = [];
    for (const key of this.#membership.keysWithStatus("joining")) {
      if (!this.#askedThisPass.has(key)) {
        fresh.push(key);
        if (fresh.length >= room) return fresh;
      } else if (again.length < room) again.push(key);
    }
    // Every node never seen live has been asked about: a new pass begins
    // (nodes that turned live or went away leave the set with it).
    this.#askedThisPass.clear();
    return fresh.concat(again.slice(0, room - fresh.length));
  }

  /** Up to `cap` keys of the nodes we lag behind on, the largest lag first; forgets caught-up ones. */
  #mostBehind(cap: number): string[] {
    const lags: Array<[string, number]> = [];
    for (const [key, theirs] of this.#behind) {
      const ours = this.#state.getByKey(key)?.maxVersion;
      if (ours === undefined || ours >= theirs) this.#behind.delete(key);
      else lags.push([key, theirs - ours]);
    }
    return lags.sort((a, b) => b[1] - a[1]).slice(0, cap).map(([key]) => key);
  }
}
