/**
 * The live view: the live nodes (this one included) that pass the optional
 * liveness predicate, in a stable order. Rule kept here: the view counts as
 * changed when its members change or a member's max version does, and only
 * then.
 * @module
 */

import type { ReadonlyNodeStateLike } from "./config.ts";
import type { Logger } from "./logger.ts";
import type { Membership } from "./membership.ts";
import type { NodeState } from "./node_state.ts";

/**
 * The live view of one node, refreshed after each liveness pass.
 *
 * @example
 * ```ts
 * import { FailureDetector, LiveView, Membership, NodeState } from "@scope/chitchat/core";
 * import { silentLogger } from "@scope/chitchat";
 * import assert from "node:assert/strict";
 * const members = new Membership(new FailureDetector());
 * const self = new NodeState({ nodeId: "a", generationId: 1, gossipAdvertiseAddr: "127.0.0.1:1" });
 * members.setSelf(self.key, false);
 * const view = new LiveView(undefined, silentLogger);
 * assert.equal(view.refresh([[self.key, self]], members)?.length, 1);
 * assert.equal(view.refresh([[self.key, self]], members), undefined, "unchanged");
 * ```
 */
export class LiveView {
  #predicate: ((state: ReadonlyNodeStateLike) => boolean) | undefined;
  #logger: Logger;
  #view: NodeState[] = [];
  /** The max version of each node of the view when it was made. */
  #versions: number[] = [];
  #version = 0;

  /** A view filtered by `predicate` (none: every live node); a throwing predicate counts as false and is logged. */
  constructor(predicate: ((state: ReadonlyNodeStateLike) => boolean) | undefined, logger: Logger) {
    this.#predicate = predicate;
    this.#logger = logger;
  }

  /** The current view. */
  get nodes(): readonly NodeState[] {
    return this.#view;
  }

  /** Grows by one each time the view changes. */
  get version(): number {
    return this.#version;
  }

  /**
   * Recomputes the view over `states` (node key and state, in a stable
   * order); returns the new view when it changed, else `undefined`.
   */
  refresh(states: Iterable<[string, NodeState]>, membership: Membership): readonly NodeState[] | undefined {
    const view: NodeState[] = [];
    const versions: number[] = [];
    const previous = this.#view;
    const previousVersions = this.#versions;
    let changed = false;
    for (const [key, state] of states) {
      if (membership.status(key) !== "live") continue;
      // As in the Rust crate, the predicate holds for this node too.
      if (this.#predicate !== undefined && !this.#holds(state)) continue;
      // The nodes come in the same order each time: compare position by position.
      const i = view.length;
      if (!changed && (previous[i] !== state || previousVersions[i] !== state.maxVersion)) changed = true;
      view.push(state);
      versions.push(state.maxVersion);
    }
    if (!changed && view.length === previous.length) return undefined;
    this.#versions = versions;
    this.#view = view;
    this.#version++;
    return view;
  }

  #holds(state: NodeState): boolean {
    try {
      return this.#predicate!(state) === true;
    } catch (error) {
      this.#logger.error(`The liveness predicate threw for node ${state.id.nodeId}`, error);
      return false;
    }
  }
}
