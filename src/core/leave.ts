/**
 * A graceful leave in progress: who was told, who answered, until when.
 * Rule kept here: the unsolicited `Ack` carries just the leave key, from the
 * version before it, so a peer that was up to date applies it at once.
 * @module
 */

import type { AckMessage } from "./messages.ts";
import type { NodeState } from "./node_state.ts";

/** The key a node sets when it leaves the cluster gracefully. */
export const LEFT_KEY = "__chitchat.left";

/** Peers told directly of a graceful leave; the rest learn it through gossip. */
export const MAX_LEAVE_NOTICES = 64;

/**
 * The peers told of a leave, until each answered or `deadline` passed.
 *
 * @example
 * ```ts
 * import { Leave } from "@scope/chitchat/core";
 * import assert from "node:assert/strict";
 * const leave = new Leave(["127.0.0.1:2", "127.0.0.1:3"], 1000);
 * assert.equal(leave.answered("127.0.0.1:2"), false);
 * assert.equal(leave.answered("127.0.0.1:3"), true, "everyone answered");
 * assert.equal(leave.acknowledged, 2);
 * ```
 */
export class Leave {
  /** When the leave is over even without every answer. */
  readonly deadline: number;
  /** How many peers were told. */
  readonly notified: number;
  #pending: Set<string>;

  /** A leave announced to `peers`, given up on at `deadline`. */
  constructor(peers: readonly string[], deadline: number) {
    this.deadline = deadline;
    this.notified = peers.length;
    this.#pending = new Set(peers);
  }

  /** Records an answer (a `SynAck`) from `peer`; true when it was the last one awaited. */
  answered(peer: string): boolean {
    return this.#pending.delete(peer) && this.#pending.size === 0;
  }

  /** How many of the peers told have answered. */
  get acknowledged(): number {
    return this.notified - this.#pending.size;
  }
}

/**
 * The unsolicited `Ack` announcing `self`'s leave: just the leave key, from
 * the version before it. (A `SynAck` to an earlier `Syn` may answer first,
 * and the `Ack` answering it need not carry the key.)
 *
 * @example
 * ```ts
 * import { LEFT_KEY, leaveNotice, NodeState } from "@scope/chitchat/core";
 * import assert from "node:assert/strict";
 * const self = new NodeState({ nodeId: "a", generationId: 1, gossipAdvertiseAddr: "127.0.0.1:1" });
 * self.set("role", "api");
 * self.set(LEFT_KEY, "1");
 * const notice = leaveNotice(self);
 * assert.equal(notice.delta[0].fromVersionExcluded, 1);
 * assert.deepEqual(notice.delta[0].keyValues.map((kv) => kv.key), [LEFT_KEY]);
 * ```
 */
export function leaveNotice(self: NodeState): AckMessage {
  const left = self.getVersioned(LEFT_KEY);
  if (left === undefined) throw new TypeError(`Node ${self.id.nodeId} has not set ${LEFT_KEY}`);
  return {
    type: "ack",
    delta: [{
      id: self.id,
      fromVersionExcluded: left.version - 1,
      lastGcVersion: self.lastGcVersion,
      maxVersion: self.maxVersion,
      keyValues: [{ key: LEFT_KEY, value: left.value, version: left.version, status: left.status }],
    }],
  };
}
