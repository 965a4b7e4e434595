/**
 * Who may become a member: gossip names new nodes, and without cluster keys
 * anyone who reaches the port can invent them. Rules kept here: at most
 * `limits.maxNodes` nodes are known; one sender introduces at most
 * `limits.newNodesPerSender` new ones per gossip interval; a node is only
 * dropped to make room when it came from gossip and has never been seen
 * live for {@linkcode EVICTABLE_AFTER_ROUNDS} rounds, so no live member is
 * ever evicted. What is refused is counted and warned about once per sender.
 * @module
 */

import type { Logger } from "./logger.ts";
import type { NodeStateLimits } from "./node_limits.ts";

/**
 * Bounds on the membership gossip may grow. The defaults, ranges and
 * descriptions come from `MEMBER_LIMIT_SETTINGS` (settings_table.ts); a test
 * keeps this JSDoc equal to them.
 */
export interface MemberLimits {
  /** Largest number of known nodes, this one included; new ones beyond are refused. Default: 20 000. */
  readonly maxNodes: number;
  /** New nodes one sender may introduce per gossip interval; more are refused. Default: 500. */
  readonly newNodesPerSender: number;
}

/**
 * Every limit of `limits.*`: a node's write limits and the membership bounds.
 *
 * @example
 * ```ts
 * import type { ChitchatLimits } from "@scope/chitchat/core";
 * const limits: ChitchatLimits = { maxKeyBytes: 256, maxValueBytes: 32_768, maxKeys: 10_000, maxNodes: 20_000, newNodesPerSender: 500 };
 * console.assert(limits.maxNodes > limits.newNodesPerSender);
 * ```
 */
export interface ChitchatLimits extends NodeStateLimits, MemberLimits {}

/**
 * A node learned from gossip and never seen live for this many gossip
 * intervals may be dropped to make room for a new one when the cap is
 * reached. A real node turns live within a few rounds of being heard of.
 *
 * @example
 * ```ts
 * import { EVICTABLE_AFTER_ROUNDS } from "@scope/chitchat/core";
 * const gossipIntervalMs = 1000;
 * console.assert(EVICTABLE_AFTER_ROUNDS * gossipIntervalMs === 30_000);
 * ```
 */
export const EVICTABLE_AFTER_ROUNDS = 30;

/** Senders whose budget is tracked apart in one round; the others share one budget. */
const TRACKED_SENDERS = 1024;

/** Senders warned about; past this many, refusals are only counted. */
const WARNED_SENDERS = 1024;

/** Oldest admitted nodes looked at to make room for one new node. */
const EVICTION_LOOKS = 8;

/** What the admission needs of the node it guards. */
export interface MemberAdmissionContext {
  /** The membership bounds. */
  readonly limits: MemberLimits;
  /** Where the once-per-sender warning goes. */
  readonly logger: Logger;
  /** Time between rounds: a never-live node is evictable after {@linkcode EVICTABLE_AFTER_ROUNDS} of them. */
  readonly gossipIntervalMs: number;
  /** Number of known nodes. */
  readonly size: () => number;
  /** True when `key` is known and has never been seen live (status `joining`). */
  readonly neverLive: (key: string) => boolean;
  /** Forgets `key` to make room (no removed-node memory, no event: it was never announced). */
  readonly evict: (key: string) => void;
}

/**
 * Decides whether an unknown node named by the message being handled may
 * be created.
 *
 * Call order: `newRound()` at each gossip round; `begin(from, now)` before
 * handling a message, `admit(key)` for each new node it names, `end()`
 * after; `forget(key)` when a node is removed. Outside `begin`/`end` (own
 * state, direct use) every node is admitted.
 *
 * @example A sender may introduce `newNodesPerSender` nodes per round
 * ```ts
 * import { MemberAdmission } from "@scope/chitchat/core";
 * import assert from "node:assert/strict";
 * const known = new Set<string>();
 * const admission = new MemberAdmission({
 *   limits: { maxNodes: 100, newNodesPerSender: 2 },
 *   logger: { debug() {}, info() {}, warn() {}, error() {} },
 *   gossipIntervalMs: 1000,
 *   size: () => known.size,
 *   neverLive: (key) => known.has(key),
 *   evict: (key) => known.delete(key),
 * });
 * admission.begin("10.0.0.9:7000", 0);
 * const admitted = ["a", "b", "c"].filter((key) => admission.admit(key) && known.add(key));
 * admission.end();
 * assert.deepEqual(admitted, ["a", "b"]);
 * assert.equal(admission.refused, 1);
 * ```
 */
export class MemberAdmission {
  #ctx: MemberAdmissionContext;
  #sender: string | undefined;
  #now = 0;
  /** New nodes each sender introduced this round. */
  #spent = new Map<string, number>();
  /** New nodes introduced this round by senders past {@linkcode TRACKED_SENDERS}. */
  #overflowSpent = 0;
  #warned = new Set<string>();
  /** Nodes admitted from gossip, oldest first, with when: the only ones that may be evicted. */
  #admitted = new Map<string, number>();
  #refused = 0;

  /** Creates the admission of the node `ctx` describes. */
  constructor(ctx: MemberAdmissionContext) {
    this.#ctx = ctx;
  }

  /** New nodes refused so far (a node named again is counted again). */
  get refused(): number {
    return this.#refused;
  }

  /** A gossip round starts: every sender's budget is full again. */
  newRound(): void {
    this.#spent.clear();
    this.#overflowSpent = 0;
  }

  /** A message from `from` is being handled at `now`. */
  begin(from: string, now: number): void {
    this.#sender = from;
    this.#now = now;
  }

  /** The message is handled. */
  end(): void {
    this.#sender = undefined;
  }

  /** `key` was removed: it is no longer a candidate for eviction. */
  forget(key: string): void {
    this.#admitted.delete(key);
  }

  /** Whether the unknown node `key`, named by the message being handled, may be created. */
  admit(key: string): boolean {
    const from = this.#sender;
    if (from === undefined) return true;
    const { maxNodes, newNodesPerSender } = this.#ctx.limits;
    const tracked = this.#spent.has(from) || this.#spent.size < TRACKED_SENDERS;
    const spent = tracked ? (this.#spent.get(from) ?? 0) : this.#overflowSpent;
    if (spent >= newNodesPerSender) return this.#refuse(from, "limits.newNodesPerSender");
    if (this.#ctx.size() >= maxNodes && !this.#makeRoom()) return this.#refuse(from, "limits.maxNodes");
    if (tracked) this.#spent.set(from, spent + 1);
    else this.#overflowSpent++;
    this.#admitted.set(key, this.#now);
    return true;
  }

  /**
   * Evicts the oldest node admitted from gossip if it has never been seen
   * live for long enough; nodes seen live meanwhile are no longer
   * candidates. Looks at a few nodes only, so a flood costs little.
   */
  #makeRoom(): boolean {
    const minAge = EVICTABLE_AFTER_ROUNDS * this.#ctx.gossipIntervalMs;
    for (let looks = 0; looks < EVICTION_LOOKS; looks++) {
      const oldest = this.#admitted.entries().next();
      if (oldest.done === true) return false;
      const [key, since] = oldest.value;
      if (!this.#ctx.neverLive(key)) {
        this.#admitted.delete(key);
        continue;
      }
      if (this.#now - since < minAge) return false;
      this.#admitted.delete(key);
      this.#ctx.evict(key);
      return true;
    }
    return false;
  }

  #refuse(from: string, reason: string): false {
    this.#refused++;
    if (this.#warned.has(from) || this.#warned.size >= WARNED_SENDERS) return false;
    this.#warned.add(from);
    const what = reason === "limits.maxNodes"
      ? `this node knows ${this.#ctx.size()} nodes (limits.maxNodes ${this.#ctx.limits.maxNodes})`
      : `it named more than ${this.#ctx.limits.newNodesPerSender} new nodes this round (limits.newNodesPerSender)`;
    this.#ctx.logger.warn(`Refusing new members named by ${from}: ${what}; further refusals are only counted`, {
      event: "refused_members",
      from,
      reason,
    });
    return false;
  }
}
