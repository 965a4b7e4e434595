/**
 * The way datagrams go in and out of a node: the receive budget, sealing
 * with the cluster keys (WebCrypto, so asynchronous), decoding, and the
 * counters. Rules kept here: received datagrams are handled in arrival
 * order and sealed ones leave in the order they were produced; a datagram
 * that fails (budget, seal, decode, send) is counted and costs only itself.
 * @module
 */

import type { WireFormat } from "../core/wire_format.ts";
import { ForeignFormatWatch } from "./wire_formats.ts";
import type { Logger } from "../core/logger.ts";
import type { Message } from "../core/messages.ts";
import { MAX_DATAGRAM_SIZE } from "../core/wire_constants.ts";
import type { Clock } from "./clock.ts";
import { Keyring } from "./keyring.ts";
import type { MutableStats } from "./node_stats.ts";
import { ReceiveBudget, type ReceiveLimits } from "./receive_budget.ts";
import type { Socket } from "./socket.ts";

/** What a {@linkcode DatagramPipe} needs of the node it serves. */
export interface DatagramPipeOptions {
  readonly socket: Socket;
  readonly logger: Logger;
  readonly stats: MutableStats;
  readonly limits: Readonly<Required<ReceiveLimits>>;
  /** Cluster keys (base64), or none for plain gossip. */
  readonly clusterKeys: readonly string[] | undefined;
  readonly clusterId: string;
  /** The wire format datagrams are decoded with. */
  readonly format: WireFormat;
  /** The node's clock: sealed datagrams carry its time, bounding replays from senders not remembered. */
  readonly clock: Clock;
  /**
   * Gets every decoded message, in arrival order, with the clock's time when
   * its datagram was taken in (read once per datagram, for the busy budget).
   */
  readonly deliver: (message: Message, from: string, now: number) => void;
  /** False once the node no longer takes datagrams in (shut down, leave over). */
  readonly accepting: () => boolean;
  /**
   * True when `from` is the gossip address of a member seen live (live or dead now). Once handling
   * datagrams has taken `busyLimitMs` of the current interval, datagrams from
   * other addresses are dropped unread until the next interval (a flood from
   * invented senders cannot starve the real peers). Without it, nothing is shed.
   */
  readonly isMember?: (from: string) => boolean;
  /** Handling time per interval past which non-members are shed (half the gossip interval, say). */
  readonly busyLimitMs?: number;
}

/**
 * The receive and send paths of one node.
 *
 * Call order: `receive(data, from)` for each datagram the socket delivers,
 * `send(data, to, type)` for each encoded message, `newInterval()` at each
 * gossip round; `whenIdle()` before closing the socket.
 */
export class DatagramPipe {
  #options: DatagramPipeOptions;
  #stats: MutableStats;
  #keyring: Keyring | undefined;
  #budget: ReceiveBudget;
  /** Datagrams being opened, handled or sealed (cluster keys only). */
  #inFlight = 0;
  #receiveChain: Promise<void> = Promise.resolve();
  #sendChain: Promise<void> = Promise.resolve();
  #idleWaiters: Array<() => void> = [];
  #foreign: ForeignFormatWatch;
  /** Milliseconds spent decoding and handling datagrams in this interval. */
  #busyMs = 0;
  /** The sender of the datagram being decoded, for `#onUnrepresentable`. */
  #decodingFrom = "";
  /** Made once, not per datagram: the decoder's report of an entry left out. */
  readonly #onUnrepresentable = (what: string): void => this.#unrepresentable(what, this.#decodingFrom);

  /** Wires the paths; throws `TypeError` on bad cluster keys. */
  constructor(options: DatagramPipeOptions) {
    this.#options = options;
    this.#stats = options.stats;
    this.#budget = new ReceiveBudget(options.limits);
    this.#foreign = new ForeignFormatWatch(options.format.name, options.logger);
    if (options.clusterKeys !== undefined) {
      this.#keyring = new Keyring(options.clusterKeys, { clusterId: options.clusterId, clock: options.clock });
    }
  }

  /** True when the node seals its gossip. */
  get sealed(): boolean {
    return this.#keyring !== undefined;
  }

  /** Replaces the cluster keys (keeping the epoch, counter and replay memory); throws `TypeError` naming a bad key by position. */
  setClusterKeys(keys: readonly string[]): void {
    try {
      this.#keyring = this.#keyring === undefined
        ? new Keyring(keys, { clusterId: this.#options.clusterId, clock: this.#options.clock })
        : this.#keyring.withKeys(keys);
    } catch (error) {
      throw new TypeError(`Invalid cluster keys: ${(error as Error).message}`);
    }
  }

  /** A new gossip interval: the receive budget starts again. */
  newInterval(): void {
    this.#budget.reset();
    this.#busyMs = 0;
  }

  /** True when no datagram is being opened, handled or sealed. */
  get idle(): boolean {
    return this.#inFlight === 0;
  }

  /** Resolves once {@linkcode DatagramPipe.idle} holds. */
  whenIdle(): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #settled(): void {
    if (--this.#inFlight > 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /** Takes in a datagram from `from`: budget, then (sealed) opening, then decoding. */
  receive(data: Uint8Array, from: string): void {
    if (!this.#options.accepting()) return;
    const stats = this.#stats;
    stats.datagramsIn++;
    stats.bytesIn += data.byteLength;
    if (!this.#budget.admit(from) || this.#shed(from)) {
      stats.droppedOverBudget++;
      return;
    }
    const keyring = this.#keyring;
    if (keyring === undefined) {
      this.#decode(data, from);
      return;
    }
    if (data.byteLength > MAX_DATAGRAM_SIZE) {
      stats.authFailures++;
      return;
    }
    if (this.#inFlight >= this.#options.limits.inFlight) {
      stats.droppedBacklog++;
      return;
    }
    this.#inFlight++;
    const opened = keyring.unseal(data);
    const logger = this.#options.logger;
    this.#receiveChain = this.#receiveChain
      .then(() => opened)
      .then((result) => {
        if (result.status === "unauthenticated") {
          stats.authFailures++;
          logger.debug(`Dropped a datagram from ${from}: it does not open with the cluster keys`, {
            event: "auth_failure",
            from,
          });
        } else if (result.status !== "opened") {
          stats.replays++;
          if (result.status === "replayed") {
            logger.debug(`Dropped a replayed datagram from ${from}`, { event: "replay", from });
          } else {
            // Word for word the same per sender, so the default logger prints it once a minute at most.
            logger.warn(
              `Dropped a datagram from ${from}: sealed by a sender this node does not know, too far from ` +
                `its clock (a replay, or clocks too far apart)`,
              { event: "replay", from, reason: "stale", skewMs: result.skewMs },
            );
          }
        } else if (this.#options.accepting()) {
          this.#decode(result.plaintext, from);
        }
      })
      .catch((error) => {
        logger.error(`Handling a datagram from ${from} failed`, { event: "handle_failed", from, error });
      })
      .finally(() => this.#settled());
  }

  /** True when the interval's handling time is spent and `from` is no live member. */
  #shed(from: string): boolean {
    const { isMember, busyLimitMs } = this.#options;
    return isMember !== undefined && busyLimitMs !== undefined && this.#busyMs >= busyLimitMs && !isMember(from);
  }

  /** Decodes a plain datagram and delivers it, adding the time taken to the interval's. */
  #decode(data: Uint8Array, from: string): void {
    const clock = this.#options.clock;
    const started = clock.now();
    try {
      this.#decodeAndDeliver(data, from, started);
    } finally {
      this.#busyMs += clock.now() - started;
    }
  }

  /** Decodes a plain datagram and delivers it; counts and drops what does not decode. */
  #decodeAndDeliver(data: Uint8Array, from: string, now: number): void {
    let message: Message;
    try {
      this.#decodingFrom = from;
      message = this.#options.format.decode(data, this.#onUnrepresentable);
    } catch (error) {
      this.#stats.decodeErrors++;
      if (this.#foreign.check(data, from)) {
        this.#stats.foreignFormat++;
        return;
      }
      const reason = (error as Error).message;
      this.#options.logger.debug(`Dropped a datagram from ${from}: ${reason}`, { event: "decode_error", from, reason });
      return;
    }
    this.#stats.messagesIn[message.type]++;
    this.#options.deliver(message, from, now);
  }

  /** Counts a digest entry or node delta that decoding left out (a number above 2^53 - 1). */
  #unrepresentable(what: string, from: string): void {
    this.#stats.unrepresentable++;
    this.#options.logger.warn(
      `Left out ${what} of a datagram from ${from}: a number in it is above 2^53 - 1, which this node cannot hold`,
      { event: "unrepresentable", from, what },
    );
  }

  /** Sends an encoded message of `type` to `to` (sealed first when the node has keys). */
  send(data: Uint8Array, to: string, type: Message["type"]): void {
    this.#stats.messagesOut[type]++;
    const keyring = this.#keyring;
    if (keyring === undefined) {
      this.#transmit(data, to);
      return;
    }
    this.#inFlight++;
    const sealed = keyring.seal(data);
    this.#sendChain = this.#sendChain
      .then(() => sealed)
      .then((bytes) => this.#transmit(bytes, to))
      .catch((error) => {
        // The chain never stays rejected: a failed seal or send costs this datagram only.
        this.#stats.sendErrors++;
        this.#options.logger.error(`Sealing ${data.byteLength} bytes for ${to} failed`, { event: "send_error", to, error });
      })
      .finally(() => this.#settled());
  }

  #transmit(data: Uint8Array, to: string): void {
    this.#stats.datagramsOut++;
    this.#stats.bytesOut += data.byteLength;
    this.#options.socket.send(data, to).catch((error) => {
      this.#stats.sendErrors++;
      this.#options.logger.warn(`Sending ${data.byteLength} bytes to ${to} failed`, { event: "send_error", to, error });
    });
  }
}
