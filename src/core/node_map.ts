/**
 * The known nodes by id key, and a bounded memory of removed ones: a removed
 * node is recreated only by a heartbeat above the one it had at removal, so
 * stale gossip cannot revive it.
 * @module
 */

import type { NodeState } from "./node_state.ts";

/**
 * The known node states by id key, with the memory of removed nodes.
 *
 * @example
 * ```ts
 * import { NodeMap } from "./node_map.ts";
 * import { NodeState } from "./node_state.ts";
 * import assert from "node:assert/strict";
 * const nodes = new NodeMap(500);
 * const state = new NodeState({ nodeId: "a", generationId: 1, gossipAdvertiseAddr: "10.0.0.1:1" });
 * state.observeHeartbeat(4);
 * nodes.add(state);
 * nodes.remove(state.key);
 * assert.equal(nodes.admit(state.key, 4), false); // no newer heartbeat: stays removed
 * assert.equal(nodes.admit(state.key, 5), true);
 * ```
 */
export class NodeMap {
  #nodes = new Map<string, NodeState>();
  /** Removed node key -> its heartbeat at removal, oldest removal first. */
  #removed = new Map<string, number>();
  #removedLimit: number;

  /** An empty map remembering up to `removedLimit` removed nodes. */
  constructor(removedLimit: number) {
    this.#removedLimit = removedLimit;
  }

  /** Number of known nodes. */
  get size(): number {
    return this.#nodes.size;
  }

  /** The state stored under an id key, if known. */
  get(key: string): NodeState | undefined {
    return this.#nodes.get(key);
  }

  /** Every known node's `[key, state]`, in the order they became known. */
  entries(): IterableIterator<[string, NodeState]> {
    return this.#nodes.entries();
  }

  /** Every known node's key, in the order they became known. */
  keys(): IterableIterator<string> {
    return this.#nodes.keys();
  }

  /** Every known node state, in the order they became known. */
  states(): IterableIterator<NodeState> {
    return this.#nodes.values();
  }

  /**
   * Whether a state may be created for the unknown node `key`: always,
   * unless it was recently removed, in which case only for a `heartbeat`
   * above the one it had then (the memory of its removal is then dropped).
   */
  admit(key: string, heartbeat: number | undefined): boolean {
    const lastHeartbeat = this.#removed.get(key);
    if (lastHeartbeat === undefined) return true;
    if (heartbeat === undefined || heartbeat <= lastHeartbeat) return false;
    this.#removed.delete(key);
    return true;
  }

  /** Adds the state of a node not known yet. */
  add(state: NodeState): void {
    this.#nodes.set(state.key, state);
  }

  /**
   * Removes a node, remembering its heartbeat unless `remember` is false
   * (the oldest memory goes past the limit).
   */
  remove(key: string, remember = true): NodeState | undefined {
    const state = this.#nodes.get(key);
    if (state === undefined) return undefined;
    this.#nodes.delete(key);
    this.#removed.delete(key);
    if (!remember) return state;
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
}
