/**
 * The loop that drives a node's state machine: after every input, what the
 * core has to send goes to the datagram pipe, its events to the feeds (and
 * the duplicate-id watch, the counters, the catch-up callback, the log), and
 * one timer is set for its next wake-up. Rule kept here: the timer is only
 * re-armed when the core's wake-up time changes.
 * @module
 */

import type { Chitchat, CoreEvent } from "../core/chitchat.ts";
import { type ChitchatId, chitchatIdKey } from "../core/chitchat_id.ts";
import type { WireFormat } from "../core/wire_format.ts";
import type { Logger } from "../core/logger.ts";
import type { Message } from "../core/messages.ts";
import type { Clock } from "./clock.ts";
import type { DatagramPipe } from "./datagram_pipe.ts";
import type { DuplicateIdWatch } from "./duplicate_ids.ts";
import type { FeedHub } from "./feed_hub.ts";
import type { MutableStats } from "./node_stats.ts";

/** What the loop drives and where the outputs go. */
export interface NodeDriverParts {
  readonly core: Chitchat;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly pipe: DatagramPipe;
  /** The wire format messages are encoded with. */
  readonly format: WireFormat;
  readonly feeds: FeedHub;
  readonly duplicates: DuplicateIdWatch;
  readonly stats: MutableStats;
  readonly onCatchUp: ((node: ChitchatId) => void) | undefined;
  /** False once the node no longer runs (shut down, leave over): the timer is not re-armed. */
  readonly running: () => boolean;
  /** Called when the core says the graceful leave is over. */
  readonly onLeaveComplete: () => void;
}

/**
 * Drives one core. Call order: `drive()` after every input given to the
 * core (a message, an own write, a gossip call); `stop()` to cancel the timer.
 */
export class NodeDriver {
  #parts: NodeDriverParts;
  #selfKey: string;
  #cancelTimer: (() => void) | undefined;
  /** When the armed timer fires (the core's `pollTimeout()` it was set for). */
  #timerAt: number | undefined;
  #lastRound = 0;

  /** A driver over `parts`; nothing runs until `drive()`. */
  constructor(parts: NodeDriverParts) {
    this.#parts = parts;
    this.#selfKey = chitchatIdKey(parts.core.id);
  }

  /** Sends what the core has to send, hands out its events, sets the timer to its next wake-up. */
  drive(): void {
    const { core, pipe } = this.#parts;
    let last: Message | undefined;
    let bytes: Uint8Array | undefined;
    for (let t = core.pollTransmit(); t !== undefined; t = core.pollTransmit()) {
      // The same Syn goes to every target of a round: encoded once.
      if (t.message !== last) {
        last = t.message;
        try {
          bytes = this.#parts.format.encode(t.message);
        } catch (error) {
          // A message the format cannot carry is a bug to report, not a reason to stop the loop.
          bytes = undefined;
          this.#parts.stats.sendErrors++;
          this.#parts.logger.error(`Encoding a ${t.message.type} failed`, { event: "encode_error", error });
        }
      }
      if (bytes !== undefined) pipe.send(bytes, t.to, t.message.type);
    }
    for (let event = core.pollEvent(); event !== undefined; event = core.pollEvent()) this.#dispatch(event);
    this.#arm();
  }

  /** Cancels the timer. */
  stop(): void {
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
    this.#timerAt = undefined;
  }

  #dispatch(event: CoreEvent): void {
    const parts = this.#parts;
    try {
      switch (event.type) {
        case "liveView":
          return parts.feeds.liveView(event.view);
        case "keyChanged":
          if (chitchatIdKey(event.node) !== this.#selfKey) parts.stats.keyChangesApplied++;
          return parts.feeds.keyChanged(event);
        case "catchUp":
          parts.stats.resets++;
          return parts.onCatchUp?.(event.node);
        case "leaveComplete":
          return parts.onLeaveComplete();
        default: {
          parts.duplicates.observe(event);
          const { nodeId, generationId, gossipAdvertiseAddr } = event.node;
          const silence = event.silentMs === undefined ? "" : ` (nothing heard of it for ${Math.round(event.silentMs)} ms)`;
          parts.logger.info(`Node ${nodeId} (${gossipAdvertiseAddr}) ${event.type}${silence}`, {
            event: `node_${event.type}`,
            peer: nodeId,
            generationId,
            peerAddr: gossipAdvertiseAddr,
            ...(event.silentMs === undefined ? {} : { silentMs: event.silentMs }),
          });
          return parts.feeds.membership(event);
        }
      }
    } catch (error) {
      parts.logger.error(`Handling a ${event.type} event failed`, { event: "callback_failed", error });
    }
  }

  #arm(): void {
    if (!this.#parts.running()) return;
    const at = this.#parts.core.pollTimeout();
    if (at === this.#timerAt) return;
    this.#cancelTimer?.();
    this.#timerAt = at;
    if (at === undefined) return;
    const clock = this.#parts.clock;
    this.#cancelTimer = clock.setTimer(Math.max(0, at - clock.now()), () => this.#onTimer());
  }

  #onTimer(): void {
    this.#timerAt = undefined;
    this.#cancelTimer = undefined;
    const { core, clock, pipe, duplicates, logger } = this.#parts;
    try {
      core.handleTimeout(clock.now());
      if (core.rounds !== this.#lastRound) {
        this.#lastRound = core.rounds;
        pipe.newInterval();
        duplicates.check((id) => core.nodeState(id)?.heartbeat);
      }
    } catch (error) {
      logger.error("Gossip round failed", { event: "round_failed", error });
    }
    this.drive();
  }
}
