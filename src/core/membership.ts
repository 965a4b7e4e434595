/**
 * The one owner of every node's membership status. Rules kept here: a node
 * is `joining` until first seen live and never `dead` before; a node dead (or
 * left) for half the dead-node grace period is `scheduled` for deletion, and
 * removable at the end of it; an incarnation superseded by a newer generation
 * of its node id is `scheduled` at once; a node learned from gossip is not
 * handed on before its heartbeat rose here (so a dead node that nodes
 * started later learn is not passed from one to the next forever); statuses
 * change only in `evaluate`.
 * @module
 */

import type { ChitchatId } from "./chitchat_id.ts";
import type { FailureDetector } from "./failure_detector.ts";

/**
 * A node's membership status: `joining` (known, never yet seen live), `live`,
 * `dead` (was live, no longer), `scheduled` (for deletion) or `left`.
 *
 * @example
 * ```ts
 * import type { MemberStatus } from "@scope/chitchat";
 * const isDown = (status: MemberStatus): boolean => status === "dead" || status === "scheduled";
 * console.assert(!isDown("joining"));
 * ```
 */
export type MemberStatus = "joining" | "live" | "dead" | "scheduled" | "left";

/**
 * A membership change of a node, as the failure detector and graceful leaves
 * see it (the liveness predicate does not produce events; it filters the
 * live view).
 *
 * @example
 * ```ts
 * import type { MembershipEvent } from "@scope/chitchat";
 * const event: MembershipEvent = {
 *   type: "joined",
 *   node: { nodeId: "a", generationId: 1, gossipAdvertiseAddr: "127.0.0.1:1" },
 * };
 * console.assert(event.type === "joined");
 * ```
 */
export interface MembershipEvent {
  /**
   * `joined`: first seen live; `died`: live to dead; `revived`: dead to live
   * again; `left`: announced a graceful leave; `removed`: forgotten after the
   * dead-node grace period.
   */
  readonly type: "joined" | "left" | "died" | "revived" | "removed";
  /** The node. */
  readonly node: ChitchatId;
  /**
   * On a `died` from failure detection: how long nothing new had been heard
   * of the node, in ms (the silence that took phi over its threshold; this
   * node's own pauses are not counted in it).
   */
  readonly silentMs?: number;
}

/**
 * What {@linkcode Membership.evaluate} is told about a node besides its
 * failure detector's phi.
 *
 * @example
 * ```ts
 * import type { MemberFacts } from "@scope/chitchat/core";
 * const facts: MemberFacts = { left: false, superseded: false, heartbeat: 12 };
 * console.assert(facts.heartbeat === 12);
 * ```
 */
export interface MemberFacts {
  /** The node announced a graceful leave. */
  readonly left?: boolean;
  /** A newer generation of its node id is known: this incarnation is over. */
  readonly superseded?: boolean;
  /**
   * Its heartbeat as known here. A node not yet seen live is withheld (not
   * gossiped) until its heartbeat rises above the first one evaluated.
   * Without it, a node is never withheld for that reason.
   */
  readonly heartbeat?: number;
}

interface Member {
  status: MemberStatus;
  everLive: boolean;
  /** The heartbeat at the first evaluation; `undefined` once it rose or the node was seen live. */
  firstHeartbeat: number | undefined;
  /** When it was first evaluated. */
  firstSeen: number;
  /** When it stopped being live (or was first seen not live); `undefined` while live. */
  downSince: number | undefined;
}

/**
 * Membership statuses by node key, computed from the failure detector's phi
 * and from graceful leaves.
 *
 * Call order: `evaluate(key, id, now, facts)` for every known node other
 * than this one, once per round; then `removable(now)` for the nodes to
 * forget, each passed to `remove(key)`.
 *
 * @example
 * ```ts
 * import { FailureDetector, Membership } from "@scope/chitchat/core";
 * import assert from "node:assert/strict";
 * const fd = new FailureDetector({ initialIntervalMs: 1000, deadNodeGracePeriodMs: 60_000 });
 * const members = new Membership(fd);
 * const id = { nodeId: "b", generationId: 1, gossipAdvertiseAddr: "127.0.0.1:2" };
 * assert.equal(members.evaluate("b", id, 0), undefined);
 * assert.equal(members.status("b"), "joining");
 * for (let t = 0; t <= 3000; t += 1000) fd.reportHeartbeat("b", t);
 * assert.equal(members.evaluate("b", id, 3000)?.type, "joined");
 * assert.equal(members.evaluate("b", id, 60_000)?.type, "died");
 * assert.equal(members.evaluate("b", id, 91_000), undefined);
 * assert.equal(members.status("b"), "scheduled");
 * assert.deepEqual(members.removable(120_000), ["b"]);
 * ```
 */
export class Membership {
  #fd: FailureDetector;
  #members = new Map<string, Member>();
  #scheduled = new Set<string>();
  #withheld = new Set<string>();

  #withholdAfterMs: number;

  /**
   * Creates an empty membership over `fd`, whose config gives the grace
   * period. A node learned from gossip whose heartbeat has not risen is
   * withheld once it has been known for `withholdAfterMs` (default 0: at
   * once); a running node's heartbeat rises within a round or two, so a
   * few rounds spare new members any delay.
   */
  constructor(fd: FailureDetector, options: { withholdAfterMs?: number } = {}) {
    this.#fd = fd;
    this.#withholdAfterMs = options.withholdAfterMs ?? 0;
  }

  /** The status of `key` as of its last evaluation; `undefined` if never evaluated. */
  status(key: string): MemberStatus | undefined {
    return this.#members.get(key)?.status;
  }

  /** True once `key` has been seen live. */
  everLive(key: string): boolean {
    return this.#members.get(key)?.everLive === true;
  }

  /** Keys scheduled for deletion, as of their last evaluation. */
  get scheduled(): ReadonlySet<string> {
    return this.#scheduled;
  }

  /**
   * Keys not handed on (left out of the deltas this node sends, and of its
   * digests where those create nodes; updated from what it receives), as of their
   * last evaluation: nodes learned from gossip, never seen live here, whose
   * heartbeat has not risen since (once known for the constructor's
   * `withholdAfterMs`). A dead node that nodes started later learn is so
   * not passed from one to the next forever.
   */
  get withheld(): ReadonlySet<string> {
    return this.#withheld;
  }

  /** Keys whose status is `status`. */
  *keysWithStatus(status: MemberStatus): IterableIterator<string> {
    for (const [key, member] of this.#members) if (member.status === status) yield key;
  }

  /** Records this node itself: live, or left once it has announced its leave. */
  setSelf(key: string, left: boolean): void {
    this.#members.set(key, {
      status: left ? "left" : "live",
      everLive: true,
      firstHeartbeat: undefined,
      firstSeen: 0,
      downSince: undefined,
    });
  }

  /**
   * Re-evaluates `key` at `now` from its failure detector and `facts`;
   * returns the membership event this causes, if any.
   */
  evaluate(
    key: string,
    id: ChitchatId,
    now: number,
    facts: MemberFacts = {},
  ): MembershipEvent | undefined {
    let member = this.#members.get(key);
    if (member === undefined) {
      member = {
        status: "joining",
        everLive: false,
        firstHeartbeat: facts.heartbeat,
        firstSeen: now,
        downSince: undefined,
      };
      this.#members.set(key, member);
    }
    const before = member.status;
    const left = facts.left === true;
    let event: MembershipEvent["type"] | undefined;
    if (facts.superseded === true) {
      // The process restarted: the old incarnation is down from now on and is
      // not handed on; it is removed at the end of the grace period as usual.
      this.#goDown(key, member, now);
      member.status = "scheduled";
      if (before === "live") event = "died";
    } else if (left) {
      this.#goDown(key, member, now);
      member.status = this.#pastHalfGrace(member, now) ? "scheduled" : "left";
      if (before !== "left" && before !== "scheduled") event = "left";
    } else if (this.#fd.isAlive(key, now)) {
      member.status = "live";
      member.downSince = undefined;
      if (before !== "live") event = member.everLive ? "revived" : "joined";
      member.everLive = true;
    } else {
      this.#goDown(key, member, now);
      member.status = this.#pastHalfGrace(member, now)
        ? "scheduled"
        : member.everLive
        ? "dead"
        : "joining";
      if (before === "live") event = "died";
    }
    if (member.everLive || (facts.heartbeat ?? Infinity) > (member.firstHeartbeat ?? -1)) {
      member.firstHeartbeat = undefined;
    }
    if (member.status === "scheduled") this.#scheduled.add(key);
    else this.#scheduled.delete(key);
    if (member.firstHeartbeat !== undefined && now - member.firstSeen >= this.#withholdAfterMs) {
      this.#withheld.add(key);
    } else this.#withheld.delete(key);
    return event === undefined ? undefined : { type: event, node: id };
  }

  /** Not live: the time it went down is kept (the first one), its samples cleared. */
  #goDown(key: string, member: Member, now: number): void {
    member.downSince ??= now;
    this.#fd.clearSamples(key);
  }

  #pastHalfGrace(member: Member, now: number): boolean {
    return member.downSince !== undefined &&
      member.downSince + this.#fd.config.deadNodeGracePeriodMs / 2 < now;
  }

  /** Keys down (dead, joining or left) for the whole dead-node grace period at `now`. */
  removable(now: number): string[] {
    const grace = this.#fd.config.deadNodeGracePeriodMs;
    const keys: string[] = [];
    for (const [key, member] of this.#members) {
      if (member.downSince !== undefined && now >= member.downSince + grace) keys.push(key);
    }
    return keys;
  }

  /** Forgets `key` (and its failure detector samples). */
  remove(key: string): void {
    this.#members.delete(key);
    this.#scheduled.delete(key);
    this.#withheld.delete(key);
    this.#fd.forget(key);
  }
}
