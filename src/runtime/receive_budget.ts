/**
 * Bounds on the work received datagrams may cause a node between two gossip
 * rounds: per sender, in total, and (with cluster keys) in flight through
 * WebCrypto. Rule kept here: a datagram over budget is dropped before it
 * costs a decryption or a decode; the round resets the budget.
 * @module
 */

import { defaultsOf } from "../core/settings_table.ts";
import { RECEIVE_LIMIT_SETTINGS } from "./node_settings.ts";

/**
 * Limits on received datagrams; excess datagrams are dropped and counted.
 * The defaults and descriptions come from `RECEIVE_LIMIT_SETTINGS`
 * (node_settings.ts); a test keeps this JSDoc equal to them.
 */
export interface ReceiveLimits {
  /** Datagrams handled per gossip interval from one sender address. Default: 256. */
  readonly perSender?: number;
  /** Datagrams handled per gossip interval from all senders together. Default: 50 000. */
  readonly perInterval?: number;
  /** Datagrams being opened or sealed at once (cluster keys only). Default: 256. */
  readonly inFlight?: number;
}

/** The defaults of {@linkcode ReceiveLimits}. */
export const DEFAULT_RECEIVE_LIMITS: Readonly<Required<ReceiveLimits>> = defaultsOf(RECEIVE_LIMIT_SETTINGS);

/** Senders tracked per interval; beyond that, new senders only count against the total. */
const MAX_TRACKED_SENDERS = 65_536;

/**
 * Counts datagrams per sender and in total until `reset()`.
 *
 * @example
 * ```ts
 * import { ReceiveBudget } from "./receive_budget.ts";
 * import assert from "node:assert/strict";
 * const budget = new ReceiveBudget({ perSender: 2, perInterval: 100 });
 * assert.deepEqual([1, 2, 3].map(() => budget.admit("10.0.0.1:7000")), [true, true, false]);
 * assert.equal(budget.admit("10.0.0.2:7000"), true);
 * budget.reset();
 * assert.equal(budget.admit("10.0.0.1:7000"), true);
 * ```
 */
export class ReceiveBudget {
  #perSender: number;
  #perInterval: number;
  #total = 0;
  #bySender = new Map<string, number>();

  /** A budget with the given limits (missing ones take their defaults). */
  constructor(limits: ReceiveLimits = {}) {
    this.#perSender = limits.perSender ?? DEFAULT_RECEIVE_LIMITS.perSender;
    this.#perInterval = limits.perInterval ?? DEFAULT_RECEIVE_LIMITS.perInterval;
  }

  /** Whether a datagram from `from` may be handled; counts it when so. */
  admit(from: string): boolean {
    if (this.#total >= this.#perInterval) return false;
    const count = this.#bySender.get(from);
    if (count === undefined) {
      if (this.#bySender.size < MAX_TRACKED_SENDERS) this.#bySender.set(from, 1);
    } else if (count >= this.#perSender) {
      return false;
    } else {
      this.#bySender.set(from, count + 1);
    }
    this.#total++;
    return true;
  }

  /** Starts a new interval. */
  reset(): void {
    this.#total = 0;
    this.#bySender.clear();
  }
}
