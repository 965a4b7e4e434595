/**
 * Builds the delta for a peer from its stale nodes, in three steps within a
 * byte budget: plan (priority entries reserved ahead of their turn), fill
 * (entries in version order, node by node, until one does not fit), emit
 * (the node deltas, a node cut short carrying the version of its last
 * in-order entry as max version). Sizes come from the node's wire format.
 * @module
 */

import type { NodeState } from "./node_state.ts";
import { priorityOf, type StaleNode } from "./stale_nodes.ts";
import type { KeyValueMutation, NodeDelta, VersionedValue } from "./types.ts";
import type { WireSizes } from "./wire_format.ts";

/**
 * A delta with the number of bytes it takes on the wire (an upper bound).
 *
 * @example
 * ```ts
 * import { ClusterState, type SizedDelta } from "@scope/chitchat/core";
 * import assert from "node:assert/strict";
 * const state = new ClusterState();
 * state.getOrCreate({ nodeId: "a", generationId: 1, gossipAdvertiseAddr: "10.0.0.1:1" })!.set("k", "v");
 * const sized: SizedDelta = state.computeDelta([], { budget: 1000, random: () => 0 });
 * assert.equal(sized.delta.length, 1);
 * assert.equal(sized.complete, true);
 * ```
 */
export interface SizedDelta {
  /** The node deltas, in the order they were chosen. */
  readonly delta: NodeDelta[];
  /** Bytes the delta's items take, excluding the list head. */
  readonly size: number;
  /** False when something stale was left out for lack of room. */
  readonly complete: boolean;
}

type Entry = [string, VersionedValue];

/** What goes in one node's delta. */
interface NodePlan {
  readonly node: StaleNode;
  /** The node's stale entries, in version order. */
  readonly entries: Entry[];
  /** Priority entries taken ahead of their turn. */
  readonly reserved: Set<Entry>;
  /** The max version the delta carries, once filled (not set: only planned for priority entries). */
  maxVersion?: number;
  /** Cut short for lack of room. */
  truncated?: boolean;
}

/** The node plans of one delta and the bytes they take so far. */
class DeltaPlan {
  readonly plans: NodePlan[] = [];
  readonly planOf: Map<StaleNode, NodePlan> = new Map();
  used = 0;
  complete = true;

  constructor(readonly budget: number, readonly sizes: WireSizes) {}

  /** A plan for `node`, its header counted; `undefined` when the header does not fit. */
  open(node: StaleNode): NodePlan | undefined {
    const header = this.headerSize(node);
    if (this.used + header > this.budget) return undefined;
    this.used += header;
    const plan = { node, entries: [...node.state.staleEntries(node.from)], reserved: new Set<Entry>() };
    this.plans.push(plan);
    this.planOf.set(node, plan);
    return plan;
  }

  headerSize(node: StaleNode): number {
    const state = node.state;
    return this.sizes.nodeDeltaHeaderSize({
      id: state.id,
      fromVersionExcluded: node.from,
      lastGcVersion: state.lastGcVersion,
      maxVersion: state.maxVersion,
    });
  }

  entrySize(entry: Entry): number {
    return this.sizes.mutationSize(entry[0], entry[1]);
  }
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
 *
 * @example
 * ```ts
 * import { buildDelta } from "./delta_builder.ts";
 * import { NodeState } from "./node_state.ts";
 * import { staleNode } from "./stale_nodes.ts";
 * import { cborWireSizes } from "./wire_size.ts";
 * import assert from "node:assert/strict";
 * const state = new NodeState({ nodeId: "a", generationId: 1, gossipAdvertiseAddr: "10.0.0.1:1" });
 * state.set("k1", "v");
 * state.set("k2", "v");
 * const stale = staleNode(state, undefined, { prefixes: [], introduce: false, random: () => 0 })!;
 * const { delta, complete } = buildDelta([stale], { budget: 30, prefixes: [], sizes: cborWireSizes });
 * assert.equal(delta[0].maxVersion, 1); // room for one mutation: cut short after version 1
 * assert.equal(complete, false);
 * ```
 */
export function buildDelta(
  stale: readonly StaleNode[],
  options: {
    budget: number;
    prefixes: readonly string[];
    sizes: WireSizes;
    /** Priority keys may go ahead of their turn (default true); false: exact version prefixes. */
    keysAhead?: boolean;
  },
): SizedDelta {
  const plan = new DeltaPlan(options.budget, options.sizes);
  const keysAhead = options.keysAhead ?? true;
  if (keysAhead) reservePriorityEntries(plan, stale, options.prefixes);
  fillInVersionOrder(plan, stale);
  return emit(plan, keysAhead);
}

/** Plan: every node with stale priority keys, and the priority entries reserved for it. */
function reservePriorityEntries(plan: DeltaPlan, stale: readonly StaleNode[], prefixes: readonly string[]): void {
  const budget = plan.budget;
  for (const node of stale) {
    if (!node.hasPriority) break; // they come first
    const first = plan.plans.length === 0;
    const limit = first ? budget : Math.floor(budget / 2);
    if (!first && plan.used >= limit) break;
    const nodePlan = plan.open(node);
    if (nodePlan === undefined) break;
    const max = node.state.maxVersion;
    const candidates = nodePlan.entries
      .map((entry) => ({ entry, rank: priorityOf(entry[0], prefixes) }))
      .filter((c) => c.rank >= 0 && c.entry[1].version <= max)
      .sort((x, y) => x.rank - y.rank || x.entry[1].version - y.entry[1].version);
    const order: Entry[] = [];
    for (const { entry } of candidates) {
      const size = plan.entrySize(entry);
      if (plan.used + size > limit) break;
      plan.used += size;
      nodePlan.reserved.add(entry);
      order.push(entry);
    }
    if (first) leaveRoomForNext(plan, nodePlan, order);
  }
}

/**
 * Reservations must leave room for the next in-order entry, or the node
 * would never move forward: gives back the least important ones.
 */
function leaveRoomForNext(plan: DeltaPlan, nodePlan: NodePlan, order: Entry[]): void {
  const max = nodePlan.node.state.maxVersion;
  const next = nodePlan.entries.find((entry) => entry[1].version <= max && !nodePlan.reserved.has(entry));
  if (next === undefined) return;
  const nextSize = plan.entrySize(next);
  while (order.length > 0 && plan.used + nextSize > plan.budget) {
    const dropped = order.pop()!;
    nodePlan.reserved.delete(dropped);
    plan.used -= plan.entrySize(dropped);
  }
}

/** Fill: entries in version order, node by node, until something does not fit. */
function fillInVersionOrder(plan: DeltaPlan, stale: readonly StaleNode[]): void {
  for (const node of stale) {
    const nodePlan = plan.planOf.get(node) ?? plan.open(node);
    if (nodePlan === undefined) {
      plan.complete = false;
      return;
    }
    const state = node.state;
    let last: number | undefined;
    let truncated = false;
    for (const entry of nodePlan.entries) {
      if (entry[1].version > state.maxVersion) break;
      if (!nodePlan.reserved.has(entry)) {
        const size = plan.entrySize(entry);
        if (plan.used + size > plan.budget) {
          truncated = true;
          break;
        }
        plan.used += size;
      }
      last = entry[1].version;
    }
    nodePlan.maxVersion = truncated ? (last ?? node.from) : state.maxVersion;
    if (truncated) {
      nodePlan.truncated = true;
      plan.complete = false;
      return;
    }
  }
}

/**
 * Emit: the node deltas, in plan order; a node that ends up carrying nothing
 * is dropped. Without `keysAhead`, a node delta with keys ends at its last
 * key's version (as the Rust crate's receiver reads it), even when the node's
 * max version is a collected tombstone above it: the next round sends that.
 */
function emit(plan: DeltaPlan, keysAhead: boolean): SizedDelta {
  const delta: NodeDelta[] = [];
  for (const nodePlan of plan.plans) {
    const { node, entries, reserved } = nodePlan;
    const state = node.state;
    // Nodes only planned for their priority entries stay at their `from`.
    let maxVersion = nodePlan.maxVersion ?? node.from;
    const kept = entries.filter((entry) => entry[1].version <= maxVersion);
    const ahead = [...reserved].filter((entry) => entry[1].version > maxVersion);
    if (!keysAhead && kept.length > 0) maxVersion = kept[kept.length - 1][1].version;
    if (keysAhead && maxVersion === state.maxVersion && nodePlan.truncated !== true) {
      takeHeldAhead(plan, state, entries, ahead);
    }
    if (kept.length === 0 && ahead.length === 0 && maxVersion <= node.from && !node.intro) {
      plan.used -= plan.headerSize(node);
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
  return { delta, size: plan.used, complete: plan.complete };
}

/** Entries we hold above our own max version (received ahead) go along if they fit. */
function takeHeldAhead(plan: DeltaPlan, state: NodeState, entries: readonly Entry[], ahead: Entry[]): void {
  for (const entry of entries) {
    if (entry[1].version <= state.maxVersion) continue;
    const size = plan.entrySize(entry);
    if (plan.used + size > plan.budget) break;
    plan.used += size;
    ahead.push(entry);
  }
}

function toMutation([key, vv]: Entry): KeyValueMutation {
  return { key, value: vv.value, version: vv.version, status: vv.status };
}
