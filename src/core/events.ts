/**
 * What the state machine gives out: the events of `pollEvent()`, the
 * messages of `pollTransmit()`, and snapshots of the cluster view. Types
 * only.
 * @module
 */

import type { ChitchatId } from "./chitchat_id.ts";
import type { ReadonlyNodeStateLike } from "./config.ts";
import type { MembershipEvent, MemberStatus } from "./membership.ts";
import type { Message } from "./messages.ts";
import type { KeyChange } from "./node_state.ts";

/** One node in a {@linkcode ClusterSnapshot}. */
export interface NodeSnapshot {
  /** The node. */
  readonly id: ChitchatId;
  /** Its membership status (self is always `live` unless it left). */
  readonly status: MemberStatus;
  /** True when the node is in the live view (status live and predicate holds). */
  readonly inLiveView: boolean;
  /** Last known heartbeat. */
  readonly heartbeat: number;
  /** Max version known. */
  readonly maxVersion: number;
  /** Last garbage-collected version known. */
  readonly lastGcVersion: number;
  /** Current phi, `undefined` for self or before any interval was sampled. */
  readonly phi: number | undefined;
  /** Visible keys and values, the library's reserved keys excepted. */
  readonly keyValues: Readonly<Record<string, string>>;
}

/** The whole cluster as this node sees it at one instant. */
export interface ClusterSnapshot {
  /** The cluster id. */
  readonly clusterId: string;
  /** This node. */
  readonly self: ChitchatId;
  /** Every known node, self first. */
  readonly nodes: readonly NodeSnapshot[];
}

/** A visible key change of any node, as an event. */
export interface KeyChangedEvent extends KeyChange {
  /** Discriminant. */
  readonly type: "keyChanged";
}

/** The live view changed (membership, or a live node's max version). */
export interface LiveViewEvent {
  /** Discriminant. */
  readonly type: "liveView";
  /** The new live view. */
  readonly view: readonly ReadonlyNodeStateLike[];
}

/** A node's state was rebuilt from version 0 (a reset: tombstones had been collected). */
export interface CatchUpEvent {
  /** Discriminant. */
  readonly type: "catchUp";
  /** The node reset. */
  readonly node: ChitchatId;
}

/** The graceful leave is over: every peer told answered, or the time ran out. */
export interface LeaveCompleteEvent {
  /** Discriminant. */
  readonly type: "leaveComplete";
  /** Peers told directly. */
  readonly notified: number;
  /** Of those, how many answered. */
  readonly acknowledged: number;
}

/** Everything {@linkcode Chitchat.pollEvent} gives. */
export type CoreEvent = MembershipEvent | KeyChangedEvent | LiveViewEvent | CatchUpEvent | LeaveCompleteEvent;

/** A message to send, from {@linkcode Chitchat.pollTransmit}. */
export interface Transmit {
  /** The destination address (`host:port`). */
  readonly to: string;
  /** The message; the same object for every target of a round's unpaged `Syn`. */
  readonly message: Message;
}

