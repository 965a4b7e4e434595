/**
 * Notices two live nodes claiming one node id (two processes started with
 * the same `nodeId`, at two addresses or as two generations) and warns once
 * per such pair. A restart is not a conflict: the old generation stops
 * heartbeating, so only a pair whose heartbeats both keep growing counts.
 * @module
 */

import type { MembershipEvent } from "../core/chitchat.ts";
import { type ChitchatId, chitchatIdKey } from "../core/chitchat_id.ts";
import type { Logger } from "../core/logger.ts";

/**
 * Times both heartbeats of a pair must grow, each time past the values seen
 * the time before, while both stay live. A generation that was restarted
 * away gains a heartbeat only from late gossip, not this often.
 */
const CONFIRMATIONS = 3;

interface Pair {
  readonly a: ChitchatId;
  readonly b: ChitchatId;
  heartbeatA: number;
  heartbeatB: number;
  confirmations: number;
}

/**
 * Tracks live nodes by node id. Feed it every membership event with
 * `observe`, and call `check` once per round, after liveness was updated.
 *
 * @example Two live nodes named "a" that both keep heartbeating
 * ```ts
 * import { DuplicateIdWatch } from "./duplicate_ids.ts";
 * import assert from "node:assert/strict";
 * const warnings: string[] = [];
 * const logger = { debug() {}, info() {}, error() {}, warn: (msg: string) => void warnings.push(msg) };
 * const self = { nodeId: "a", generationId: 1, gossipAdvertiseAddr: "127.0.0.1:1" };
 * const other = { nodeId: "a", generationId: 2, gossipAdvertiseAddr: "127.0.0.1:2" };
 * const watch = new DuplicateIdWatch(self, logger);
 * watch.observe({ type: "joined", node: other });
 * for (let heartbeat = 1; heartbeat <= 10; heartbeat++) watch.check(() => heartbeat);
 * assert.equal(warnings.length, 1);
 * ```
 */
export class DuplicateIdWatch {
  #logger: Logger;
  #self: ChitchatId;
  /** Live nodes by node id, then by id key. */
  #live = new Map<string, Map<string, ChitchatId>>();
  /** Node ids with more than one live node. */
  #contested = new Set<string>();
  #pairs = new Map<string, Pair>();
  #warned = new Set<string>();

  /** Starts with `self` live; warnings go to `logger`. */
  constructor(self: ChitchatId, logger: Logger) {
    this.#self = self;
    this.#logger = logger;
    this.#add(self);
  }

  /** Follows the live set: joined and revived nodes are live, died, left and removed ones are not. */
  observe(event: MembershipEvent): void {
    if (event.type === "joined" || event.type === "revived") this.#add(event.node);
    else this.#delete(event.node);
  }

  /** Advances every contested pair by the heartbeats known now; warns once for each pair confirmed. */
  check(heartbeatOf: (id: ChitchatId) => number | undefined): void {
    for (const nodeId of this.#contested) {
      const ids = [...this.#live.get(nodeId)!.entries()];
      for (let i = 0; i < ids.length; i++) {
        for (let j = i + 1; j < ids.length; j++) {
          const [keyA, a] = ids[i];
          const [keyB, b] = ids[j];
          const pairKey = keyA < keyB ? `${keyA}\n${keyB}` : `${keyB}\n${keyA}`;
          if (this.#warned.has(pairKey)) continue;
          this.#advance(pairKey, a, b, heartbeatOf);
        }
      }
    }
  }

  #advance(pairKey: string, a: ChitchatId, b: ChitchatId, heartbeatOf: (id: ChitchatId) => number | undefined): void {
    const heartbeatA = heartbeatOf(a);
    const heartbeatB = heartbeatOf(b);
    if (heartbeatA === undefined || heartbeatB === undefined) return;
    const pair = this.#pairs.get(pairKey);
    if (pair === undefined) {
      this.#pairs.set(pairKey, { a, b, heartbeatA, heartbeatB, confirmations: 0 });
      return;
    }
    if (heartbeatA <= pair.heartbeatA || heartbeatB <= pair.heartbeatB) return;
    pair.heartbeatA = heartbeatA;
    pair.heartbeatB = heartbeatB;
    if (++pair.confirmations < CONFIRMATIONS) return;
    this.#pairs.delete(pairKey);
    this.#warned.add(pairKey);
    this.#logger.warn(this.#message(a, b), {
      event: "duplicate_node_id",
      peer: a.nodeId,
      addrs: [a.gossipAdvertiseAddr, b.gossipAdvertiseAddr],
      generationIds: [a.generationId, b.generationId],
    });
  }

  #message(a: ChitchatId, b: ChitchatId): string {
    const describe = (id: ChitchatId): string => {
      const self = chitchatIdKey(id) === chitchatIdKey(this.#self) ? " (this node)" : "";
      return `generation ${id.generationId} at ${id.gossipAdvertiseAddr}${self}`;
    };
    const where = a.gossipAdvertiseAddr === b.gossipAdvertiseAddr ? "two live generations" : "two live nodes at two addresses";
    return `Node id "${a.nodeId}" is claimed by ${where}: ${describe(a)} and ${describe(b)}; ` +
      "give each process its own nodeId";
  }

  #add(id: ChitchatId): void {
    let group = this.#live.get(id.nodeId);
    if (group === undefined) {
      group = new Map();
      this.#live.set(id.nodeId, group);
    }
    group.set(chitchatIdKey(id), id);
    if (group.size > 1) this.#contested.add(id.nodeId);
  }

  #delete(id: ChitchatId): void {
    const group = this.#live.get(id.nodeId);
    const key = chitchatIdKey(id);
    if (group === undefined || !group.delete(key)) return;
    if (group.size < 2) this.#contested.delete(id.nodeId);
    if (group.size === 0) this.#live.delete(id.nodeId);
    for (const pairKey of this.#pairs.keys()) {
      if (pairKey.split("\n").includes(key)) this.#pairs.delete(pairKey);
    }
  }
}
