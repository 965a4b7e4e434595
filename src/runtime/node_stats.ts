/**
 * The counters of a running node, as `ChitchatNode.stats()` gives them. The
 * driver counts datagrams, messages and drops; the core's own counts (rounds,
 * refused deltas) are filled in when a copy is made.
 * @module
 */

import type { Message } from "../core/messages.ts";

/** Counters of a running node. */
export interface NodeStats {
  /** Datagrams received (valid or not). */
  readonly datagramsIn: number;
  /** Bytes received. */
  readonly bytesIn: number;
  /** Datagrams handed to the socket. */
  readonly datagramsOut: number;
  /** Bytes handed to the socket. */
  readonly bytesOut: number;
  /** Received datagrams dropped because they did not decode. */
  readonly decodeErrors: number;
  /**
   * Of `decodeErrors`, the datagrams in the other wire format (CBOR at a
   * `chitchat-v0` node or the reverse): a mixed cluster. Each sender is warned about once.
   */
  readonly foreignFormat: number;
  /**
   * Digest entries and node deltas left out of datagrams that were otherwise
   * used, because a number in them (generation id, heartbeat, version) is
   * above 2^53 - 1 (chitchat-v0 only: a Rust peer can hold such a node).
   */
  readonly unrepresentable: number;
  /** Received datagrams dropped because they did not open with a cluster key (or were not sealed). */
  readonly authFailures: number;
  /**
   * Received sealed datagrams that were authentic but dropped undecoded as
   * replays: opened before, or from a sender not remembered and sealed too
   * far from this node's clock (cluster keys only).
   */
  readonly replays: number;
  /**
   * Received datagrams dropped unread because their sender or the interval
   * was over the receive budget, or because handling had already taken half
   * the gossip interval and the sender is no member seen live (load shedding
   * under a flood).
   */
  readonly droppedOverBudget: number;
  /** Received datagrams dropped because too many were being opened or sealed already. */
  readonly droppedBacklog: number;
  /** Sends that failed. */
  readonly sendErrors: number;
  /** Gossip rounds run. */
  readonly rounds: number;
  /** Messages received, by type. */
  readonly messagesIn: Readonly<Record<Message["type"], number>>;
  /** Messages handed to the send path, by type (a Syn sent to three peers counts three). */
  readonly messagesOut: Readonly<Record<Message["type"], number>>;
  /** Nodes rebuilt from version 0 because a peer had collected tombstones we had not seen (catch-ups). */
  readonly resets: number;
  /** Visible key changes of other nodes applied from gossip (sets, deletions, reaped TTL keys). */
  readonly keyChangesApplied: number;
  /** Node deltas refused because this replica would exceed `limits.maxKeys` (see `Chitchat.refusedDeltas`). */
  readonly refusedDeltas: number;
  /** New nodes refused by `limits.maxNodes` or `limits.newNodesPerSender` (see `Chitchat.refusedMembers`). */
  readonly refusedMembers: number;
  /** Times this node had itself been paused and did not count the pause as the others' silence (see `Chitchat.localPauses`). */
  readonly localPauses: number;
}

/** The counters the driver updates in place. */
export interface MutableStats {
  datagramsIn: number;
  bytesIn: number;
  datagramsOut: number;
  bytesOut: number;
  decodeErrors: number;
  foreignFormat: number;
  unrepresentable: number;
  authFailures: number;
  replays: number;
  droppedOverBudget: number;
  droppedBacklog: number;
  sendErrors: number;
  rounds: number;
  messagesIn: Record<Message["type"], number>;
  messagesOut: Record<Message["type"], number>;
  resets: number;
  keyChangesApplied: number;
}

/** Fresh counters, all 0. */
export function zeroNodeStats(): MutableStats {
  return {
    datagramsIn: 0,
    bytesIn: 0,
    datagramsOut: 0,
    bytesOut: 0,
    decodeErrors: 0,
    foreignFormat: 0,
    unrepresentable: 0,
    authFailures: 0,
    replays: 0,
    droppedOverBudget: 0,
    droppedBacklog: 0,
    sendErrors: 0,
    rounds: 0,
    messagesIn: { syn: 0, synAck: 0, ack: 0, badCluster: 0 },
    messagesOut: { syn: 0, synAck: 0, ack: 0, badCluster: 0 },
    resets: 0,
    keyChangesApplied: 0,
  };
}
