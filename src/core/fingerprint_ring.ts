/**
 * The fingerprint ring: every known node sorted by its 32-bit fingerprint,
 * so that digest pages go round it and a digest range names a part of it;
 * and the resolution of compact entries (fingerprint and check) to known
 * nodes, which never takes one node for another that merely shares a
 * fingerprint.
 * @module
 */

import type { NodeState } from "./node_state.ts";
import type { DigestRange } from "./types.ts";

/**
 * True when `fp` lies in the ring range `[start, end)`, which wraps after
 * 2³² - 1 when `end` is below `start`.
 *
 * @example
 * ```ts
 * import { inRange } from "./fingerprint_ring.ts";
 * import assert from "node:assert/strict";
 * assert.equal(inRange(5, { start: 2, end: 9 }), true);
 * assert.equal(inRange(1, { start: 0xffff_0000, end: 3 }), true); // wraps
 * assert.equal(inRange(9, { start: 2, end: 9 }), false);
 * ```
 */
export function inRange(fp: number, range: DigestRange): boolean {
  return range.start < range.end ? fp >= range.start && fp < range.end : fp >= range.start || fp < range.end;
}

/**
 * Index of the first state of `ring` (sorted by fingerprint) whose
 * fingerprint is at least `fp`; `ring.length` when there is none.
 *
 * @example
 * ```ts
 * import { lowerBound } from "./fingerprint_ring.ts";
 * import assert from "node:assert/strict";
 * const ring = [{ fingerprint: 3 }, { fingerprint: 8 }];
 * assert.equal(lowerBound(ring, 4), 1);
 * assert.equal(lowerBound(ring, 9), 2);
 * ```
 */
export function lowerBound(ring: readonly { readonly fingerprint: number }[], fp: number): number {
  let lo = 0;
  let hi = ring.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ring[mid].fingerprint < fp) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function compareRing(a: NodeState, b: NodeState): number {
  return a.fingerprint - b.fingerprint || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}

/**
 * The known nodes in fingerprint order (then by key), with an index from
 * fingerprint to node. Nodes added since the last read are merged in
 * lazily, when the order is next needed.
 *
 * @example
 * ```ts
 * import { FingerprintRing } from "./fingerprint_ring.ts";
 * import { NodeState } from "./node_state.ts";
 * import assert from "node:assert/strict";
 * const ring = new FingerprintRing();
 * const a = new NodeState({ nodeId: "a", generationId: 1, gossipAdvertiseAddr: "10.0.0.1:1" });
 * ring.add(a);
 * assert.equal(ring.resolve(a.fingerprint, a.check), a);
 * assert.equal(ring.resolve(a.fingerprint, a.check + 1), undefined);
 * ring.remove(a);
 * assert.equal(ring.sorted().length, 0);
 * ```
 */
export class FingerprintRing {
  /** Fingerprint -> the node, or null when several known nodes share it. */
  #byFingerprint = new Map<number, NodeState | null>();
  /** Nodes sorted by fingerprint (then key), once `#pending` is merged in. */
  #ring: NodeState[] = [];
  #pending: NodeState[] = [];

  /** Adds a node (one not on the ring yet). */
  add(state: NodeState): void {
    const fp = state.fingerprint;
    this.#byFingerprint.set(fp, this.#byFingerprint.has(fp) ? null : state);
    this.#pending.push(state);
  }

  /** Removes a node; the others sharing its fingerprint become unambiguous when one is left. */
  remove(state: NodeState): void {
    const ring = this.#merged();
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

  /**
   * The node a compact entry names: the one whose fingerprint and check both
   * match, unless none (or, against all odds, several) do.
   */
  resolve(fp: number, check: number): NodeState | undefined {
    const state = this.#byFingerprint.get(fp);
    if (state !== null) return state !== undefined && state.check === check ? state : undefined;
    // Several known nodes share the fingerprint: the check tells them apart.
    let found: NodeState | undefined;
    const ring = this.sorted();
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

  /** The nodes sorted by fingerprint, then key (the ring itself: do not modify it). */
  sorted(): readonly NodeState[] {
    return this.#merged();
  }

  #merged(): NodeState[] {
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
}
