/**
 * A running node: the sans-I/O state machine (`src/core/chitchat.ts`) driven
 * over a socket and a clock. The loop is short: every input (a datagram, a
 * timer, an own write) goes to the state machine, then what it has to send
 * is sent, its events go to the feeds, and the timer is set to its next
 * wake-up. Nothing here is fatal: bad datagrams and send errors are counted
 * and logged.
 * @module
 */

import { type AddressInput, normalizeAddress } from "../core/address.ts";
import { Chitchat, type ClusterSnapshot, type CoreEvent, type MembershipEvent } from "../core/chitchat.ts";
import { type ChitchatId, chitchatIdKey } from "../core/chitchat_id.ts";
import { decodeMessage, encodeMessage, MAX_DATAGRAM_SIZE } from "../core/codec.ts";
import type { ChitchatConfig, ReadonlyNodeStateLike } from "../core/config.ts";
import type { Logger } from "../core/logger.ts";
import type { MemberStatus } from "../core/membership.ts";
import type { Message } from "../core/messages.ts";
import type { KeyChange } from "../core/node_state.ts";
import { type Clock, systemClock } from "./clock.ts";
import { type FeedOptions, type FeedOverflow, QueueFeed, type QueueFeedOptions, WatchFeed } from "./feed.ts";
import { type Resolver, SeedList, systemResolver } from "./seeds.ts";
import type { Socket, SocketOpener } from "./socket.ts";
import { type NodeConfig, validateNodeConfig } from "./node_config.ts";
import { Keyring } from "./keyring.ts";
import { ReceiveBudget } from "./receive_budget.ts";
import { consoleLogger, withoutRepeats } from "./logger.ts";
import { DuplicateIdWatch } from "./duplicate_ids.ts";

export type { NodeConfig } from "./node_config.ts";

export type { KeyChangedEvent } from "../core/chitchat.ts";
import type { KeyChangedEvent } from "../core/chitchat.ts";

/** Anything the `events()` feed carries. */
export type ChitchatEvent = MembershipEvent | KeyChangedEvent | FeedOverflow;

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
  /** Received datagrams dropped because they did not open with a cluster key (or were not sealed). */
  readonly authFailures: number;
  /** Received datagrams dropped because their sender or the interval was over the receive budget. */
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
}

interface MutableStats {
  datagramsIn: number;
  bytesIn: number;
  datagramsOut: number;
  bytesOut: number;
  decodeErrors: number;
  authFailures: number;
  droppedOverBudget: number;
  droppedBacklog: number;
  sendErrors: number;
  rounds: number;
  messagesIn: Record<Message["type"], number>;
  messagesOut: Record<Message["type"], number>;
  resets: number;
  keyChangesApplied: number;
}

/** The default console logger prints a message repeated word for word at most once in this time. */
const REPEATED_WARNING_WINDOW_MS = 60_000;


/** Options of `shutdown()`. */
export interface ShutdownOptions {
  /** Tell peers this node leaves (default true); false stops silently, like a crash. */
  readonly leave?: boolean;
}

/**
 * Starts a node: binds its socket, then gossips every interval until
 * `shutdown()`. Refuses an invalid config with a `TypeError` naming the field,
 * a taken address with `AddressInUseError`, and an address it cannot bind
 * otherwise with `BindError`. Without a `logger`, warnings and errors go to
 * the console (see {@linkcode consoleLogger}).
 * `openSocket` binds `listenAddr` unless `config.socket` is given (`spawnChitchat` passes the runtime's UDP opener).
 *
 * @example A node alone on loopback
 * ```ts
 * import { spawnChitchat } from "@scope/chitchat";
 * import assert from "node:assert/strict";
 * await using node = await spawnChitchat({ nodeId: "a", listenAddr: "127.0.0.1:0" });
 * node.set("role", "api");
 * assert.equal(node.get("role"), "api");
 * ```
 */
export async function spawnNode(config: NodeConfig, openSocket: SocketOpener): Promise<ChitchatNode> {
  const settings = validateNodeConfig(config);
  const socket = typeof settings.socket === "object"
    ? settings.socket
    : await (settings.socket ?? openSocket)(settings.listenAddr);
  try {
    return new ChitchatNode(config, socket);
  } catch (error) {
    await socket.close();
    throw error;
  }
}

/**
 * The handle of a running node: its own keys, the cluster view, feeds, and
 * shutdown. Dispose it (`await using`) or call `shutdown()` to close the
 * socket and end every feed.
 */
export class ChitchatNode implements AsyncDisposable {
  /** This node's identity. */
  readonly id: ChitchatId;
  /** The address the socket is bound to. */
  readonly localAddr: string;
  #core: Chitchat;
  #socket: Socket;
  #clock: Clock;
  #logger: Logger;
  #seeds: SeedList;
  #seedRefreshMs: number;
  #leaveTimeoutMs: number;
  #cancelTimer: (() => void) | undefined;
  /** When the armed timer fires (the core's `pollTimeout()` it was set for). */
  #timerAt: number | undefined;
  #cancelSeedRefresh: (() => void) | undefined;
  #stopped = false;
  /** True from the start of a graceful leave until the core says it is complete. */
  #leaving = false;
  #leaveDone: (() => void) | undefined;
  #shutdown: Promise<void> | undefined;
  #onCatchUp: ((node: ChitchatId) => void) | undefined;
  #feeds = new Set<{ close(): void }>();
  #viewListeners = new Set<(view: readonly ReadonlyNodeStateLike[]) => void>();
  #eventListeners = new Set<(event: MembershipEvent | KeyChangedEvent) => void>();
  #keyListeners = new Set<{ prefix: string; fn: (change: KeyChange) => void }>();
  #lastRound = 0;
  #keyring: Keyring | undefined;
  #budget: ReceiveBudget;
  #duplicates: DuplicateIdWatch;
  #maxInFlight: number;
  /** Datagrams being opened, handled or sealed (cluster keys only). */
  #inFlight = 0;
  /** Received datagrams are handled in arrival order, each after the one before. */
  #receiveChain: Promise<void> = Promise.resolve();
  /** Sealed datagrams leave in the order they were produced. */
  #sendChain: Promise<void> = Promise.resolve();
  #idleWaiters: Array<() => void> = [];
  #stats: MutableStats = {
    datagramsIn: 0,
    bytesIn: 0,
    datagramsOut: 0,
    bytesOut: 0,
    decodeErrors: 0,
    authFailures: 0,
    droppedOverBudget: 0,
    droppedBacklog: 0,
    sendErrors: 0,
    rounds: 0,
    messagesIn: { syn: 0, synAck: 0, ack: 0, badCluster: 0 },
    messagesOut: { syn: 0, synAck: 0, ack: 0, badCluster: 0 },
    resets: 0,
    keyChangesApplied: 0,
  };
  #selfKey: string;

  /** Use {@linkcode spawnChitchat}; this wires a validated config to an open socket. */
  constructor(config: NodeConfig, socket: Socket) {
    const settings = validateNodeConfig(config);
    this.#socket = socket;
    this.localAddr = socket.localAddr;
    this.#clock = settings.clock ?? systemClock;
    this.#logger = config.logger ?? withoutRepeats(
      consoleLogger({ level: "warn", prefix: `[chitchat ${config.nodeId}]` }),
      () => this.#clock.now(),
      REPEATED_WARNING_WINDOW_MS,
    );
    this.#seedRefreshMs = settings.seedRefreshIntervalMs;
    this.#leaveTimeoutMs = settings.leaveTimeoutMs;
    const advertise = settings.advertiseAddr ?? socket.localAddr;
    if (/^(0\.0\.0\.0|\[::\]):/.test(advertise)) {
      throw new TypeError(
        `Invalid config "advertiseAddr": required when listening on the wildcard address ${advertise}`,
      );
    }
    const { clusterKeys: _keys, receiveLimits: _limits, onCatchUp, ...protocolConfig } = config;
    this.#onCatchUp = onCatchUp;
    const coreConfig: ChitchatConfig = {
      ...protocolConfig,
      gossipIntervalMs: settings.gossipIntervalMs,
      mtu: settings.coreMtu,
      logger: this.#logger,
      id: { nodeId: config.nodeId, generationId: settings.generationId, gossipAdvertiseAddr: advertise },
      clusterId: settings.clusterId,
    };
    this.#core = new Chitchat(coreConfig, { now: this.#clock.now(), random: settings.random ?? Math.random });
    this.id = this.#core.id;
    this.#selfKey = chitchatIdKey(this.id);
    this.#duplicates = new DuplicateIdWatch(this.id, this.#logger);
    if (settings.clusterKeys !== undefined) {
      this.#keyring = new Keyring(settings.clusterKeys, { clusterId: this.#core.clusterId });
    }
    this.#budget = new ReceiveBudget(settings.receiveLimits);
    this.#maxInFlight = settings.receiveLimits.inFlight;
    this.#seeds = new SeedList(config.seeds ?? [], {
      resolver: settings.resolver ?? (systemResolver as Resolver),
      logger: this.#logger,
    });
    socket.listen((data, from) => this.#onDatagram(data, from));
    this.#core.setSeeds(this.#seeds.addresses);
    if (this.#seeds.needsResolution) this.#refreshSeeds();
    this.#drive();
  }

  /** The cluster id. */
  get clusterId(): string {
    return this.#core.clusterId;
  }

  /** The underlying state machine, for advanced reads (drive it only through this handle). */
  get chitchat(): Chitchat {
    return this.#core;
  }

  /** The write limits in force (`limits` as resolved against the MTU). */
  get limits(): Chitchat["config"]["limits"] {
    return this.#core.config.limits;
  }

  /** True once `shutdown()` has begun. */
  get stopped(): boolean {
    return this.#stopped;
  }

  // --- own keys -------------------------------------------------------------

  /** This node's visible value for `key`. */
  get(key: string): string | undefined {
    return this.#core.self.get(key);
  }

  /** Sets a key of this node; returns false when the value was already set. */
  set(key: string, value: string): boolean {
    return this.#write(key, () => this.#core.set(key, value));
  }

  /** Sets a key that is reaped after the tombstone grace period. */
  setWithTtl(key: string, value: string): boolean {
    return this.#write(key, () => this.#core.setWithTtl(key, value, this.#clock.now()));
  }

  /** Deletes a key of this node; returns false (and logs) when it did not exist. */
  delete(key: string): boolean {
    return this.#write(key, () => this.#core.delete(key, this.#clock.now()));
  }

  /** Marks a key of this node to be reaped after the grace period; visible until then. */
  deleteAfterTtl(key: string): boolean {
    return this.#write(key, () => this.#core.deleteAfterTtl(key, this.#clock.now()));
  }

  #write(key: string, write: () => boolean): boolean {
    if (this.#stopped) throw new TypeError(`Node ${this.id.nodeId} is shut down; cannot write "${key}"`);
    const changed = write();
    this.#drive();
    return changed;
  }

  // --- cluster view ---------------------------------------------------------

  /** The state of any known node. */
  nodeState(id: ChitchatId): ReadonlyNodeStateLike | undefined {
    return this.#core.nodeState(id);
  }

  /** Every node's state and status, self first. */
  snapshot(): ClusterSnapshot {
    return this.#core.snapshot(this.#clock.now());
  }

  /** Ids of the live view: self and live nodes passing the liveness predicate. */
  liveNodeIds(): ChitchatId[] {
    return this.#core.liveNodes().map((state) => state.id);
  }

  /** Ids of dead nodes (not yet scheduled for deletion). */
  deadNodeIds(): ChitchatId[] {
    return this.#core.deadNodes();
  }

  /** Ids of nodes scheduled for deletion. */
  scheduledForDeletionNodeIds(): ChitchatId[] {
    return this.#core.scheduledForDeletionNodes();
  }

  /** The states of the live view, now (see `liveNodes()` for a feed of it). */
  liveNodeStates(): readonly ReadonlyNodeStateLike[] {
    return this.#core.liveNodes();
  }

  /** Every known node's state, self included. */
  nodeStates(): ReadonlyNodeStateLike[] {
    return this.#core.nodeStates();
  }

  /** A node's membership status (`undefined` when unknown). */
  status(id: ChitchatId): MemberStatus | undefined {
    return this.#core.status(id);
  }

  /** The resolved seed addresses in use. */
  seedAddresses(): readonly string[] {
    return this.#seeds.addresses;
  }

  /**
   * Replaces the cluster keys of a running node (the first seals, all open);
   * datagrams already received are opened with the keys they met. Only a
   * node started with `clusterKeys` takes new ones: its MTU already makes
   * room for the seal. Throws `TypeError` naming a bad key by position.
   */
  setClusterKeys(keys: readonly string[]): void {
    if (this.#keyring === undefined) {
      throw new TypeError(`Node ${this.id.nodeId} was started without clusterKeys; it cannot take keys now`);
    }
    try {
      this.#keyring = new Keyring(keys, { clusterId: this.#core.clusterId });
    } catch (error) {
      throw new TypeError(`Invalid cluster keys: ${(error as Error).message}`);
    }
  }

  /**
   * True when no datagram is being opened, handled or sealed. Always true
   * without cluster keys, where everything happens synchronously.
   */
  get idle(): boolean {
    return this.#inFlight === 0;
  }

  /**
   * Resolves once {@linkcode ChitchatNode.idle} holds. WebCrypto completes
   * outside virtual time, so simulations await this between clock steps.
   */
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

  /** A copy of the counters. */
  stats(): NodeStats {
    return {
      ...this.#stats,
      rounds: this.#core.rounds,
      messagesIn: { ...this.#stats.messagesIn },
      messagesOut: { ...this.#stats.messagesOut },
      refusedDeltas: this.#core.refusedDeltas,
      refusedMembers: this.#core.refusedMembers,
    };
  }

  #logMembership(event: MembershipEvent): void {
    const { nodeId, generationId, gossipAdvertiseAddr } = event.node;
    this.#logger.info(`Node ${nodeId} (${gossipAdvertiseAddr}) ${event.type}`, {
      event: `node_${event.type}`,
      peer: nodeId,
      generationId,
      peerAddr: gossipAdvertiseAddr,
    });
  }

  // --- feeds ----------------------------------------------------------------

  /**
   * The live view: the current one at once, then each change (membership or
   * a live node's max version). A slow reader skips to the latest view.
   */
  liveNodes(options: FeedOptions = {}): WatchFeed<readonly ReadonlyNodeStateLike[]> {
    return this.#openFeed(
      (onClose) => new WatchFeed<readonly ReadonlyNodeStateLike[]>(this.#core.liveNodes(), onClose, options),
      (feed) => this.#listen(this.#viewListeners, (view) => feed.publish(view)),
    );
  }

  /** Membership events and key changes of every node, in order, with a bounded buffer. */
  events(options: QueueFeedOptions = {}): QueueFeed<MembershipEvent | KeyChangedEvent> {
    return this.#openFeed(
      (onClose) => new QueueFeed<MembershipEvent | KeyChangedEvent>(onClose, options),
      (feed) => this.#listen(this.#eventListeners, (event) => feed.push(event)),
    );
  }

  /** Visible key changes (sets, deletions, reaped TTL keys) whose key starts with `prefix`. */
  keyChanges(prefix: string, options: QueueFeedOptions = {}): QueueFeed<KeyChange> {
    if (typeof prefix !== "string") throw new TypeError(`Key prefix must be a string, got ${typeof prefix}`);
    return this.#openFeed(
      (onClose) => new QueueFeed<KeyChange>(onClose, options),
      (feed) => this.#listen(this.#keyListeners, { prefix, fn: (change: KeyChange) => feed.push(change) }),
    );
  }

  /**
   * Builds a feed and subscribes it, unless it ended at once (an aborted
   * signal) or the node is shut down. The close callback may run inside the
   * feed's constructor, so it refers to the feed only once it exists.
   */
  #openFeed<F extends { close(): void; readonly closed: boolean }>(
    create: (onClose: () => void) => F,
    subscribe: (feed: F) => () => void,
  ): F {
    const opened: { feed?: F } = {};
    let unsubscribe: (() => void) | undefined;
    const onClose = (): void => {
      unsubscribe?.();
      unsubscribe = undefined;
      if (opened.feed !== undefined) this.#feeds.delete(opened.feed);
    };
    const feed = create(onClose);
    opened.feed = feed;
    if (this.#stopped) feed.close();
    if (feed.closed) return feed;
    unsubscribe = subscribe(feed);
    this.#feeds.add(feed);
    return feed;
  }

  #listen<T>(listeners: Set<T>, listener: T): () => void {
    listeners.add(listener);
    return () => listeners.delete(listener);
  }

  // --- the loop -------------------------------------------------------------

  /** Starts a handshake with `addr` now, outside the round schedule. */
  gossip(addr: AddressInput): void {
    const to = normalizeAddress(addr);
    if (this.#stopped) return;
    this.#core.gossip(this.#clock.now(), to);
    this.#drive();
  }

  /**
   * After every input: sends what the core has to send, hands its events to
   * the feeds, and sets the timer to its next wake-up.
   */
  #drive(): void {
    let last: Message | undefined;
    let bytes: Uint8Array | undefined;
    for (let t = this.#core.pollTransmit(); t !== undefined; t = this.#core.pollTransmit()) {
      // The same Syn goes to every target of a round: encoded once.
      if (t.message !== last) {
        last = t.message;
        bytes = encodeMessage(t.message);
      }
      this.#send(bytes!, t.to, t.message.type);
    }
    for (let event = this.#core.pollEvent(); event !== undefined; event = this.#core.pollEvent()) {
      this.#dispatch(event);
    }
    this.#arm();
  }

  #dispatch(event: CoreEvent): void {
    try {
      switch (event.type) {
        case "liveView":
          for (const listener of this.#viewListeners) listener(event.view);
          return;
        case "keyChanged": {
          if (chitchatIdKey(event.node) !== this.#selfKey) this.#stats.keyChangesApplied++;
          for (const listener of this.#eventListeners) listener(event);
          if (this.#keyListeners.size === 0) return;
          const { type: _type, ...change } = event;
          for (const { prefix, fn } of this.#keyListeners) if (change.key.startsWith(prefix)) fn(change);
          return;
        }
        case "catchUp":
          this.#stats.resets++;
          this.#onCatchUp?.(event.node);
          return;
        case "leaveComplete":
          this.#leaving = false;
          this.#leaveDone?.();
          return;
        default:
          this.#duplicates.observe(event);
          this.#logMembership(event);
          for (const listener of this.#eventListeners) listener(event);
      }
    } catch (error) {
      this.#logger.error(`Handling a ${event.type} event failed`, { event: "callback_failed", error });
    }
  }

  /** Sets the timer to the core's next wake-up, unless it is already set for it. */
  #arm(): void {
    if (this.#stopped && !this.#leaving) return;
    const at = this.#core.pollTimeout();
    if (at === this.#timerAt) return;
    this.#cancelTimer?.();
    this.#timerAt = at;
    if (at === undefined) return;
    this.#cancelTimer = this.#clock.setTimer(Math.max(0, at - this.#clock.now()), () => this.#onTimer());
  }

  #onTimer(): void {
    this.#timerAt = undefined;
    this.#cancelTimer = undefined;
    try {
      this.#core.handleTimeout(this.#clock.now());
      if (this.#core.rounds !== this.#lastRound) {
        this.#lastRound = this.#core.rounds;
        this.#budget.reset();
        this.#duplicates.check((id) => this.#core.nodeState(id)?.heartbeat);
      }
    } catch (error) {
      this.#logger.error("Gossip round failed", { event: "round_failed", error });
    }
    this.#drive();
  }

  #refreshSeeds(): void {
    if (this.#stopped) return;
    this.#seeds.refresh().finally(() => {
      if (this.#stopped) return;
      this.#core.setSeeds(this.#seeds.addresses);
      this.#cancelSeedRefresh = this.#clock.setTimer(this.#seedRefreshMs, () => this.#refreshSeeds());
    });
  }

  #onDatagram(data: Uint8Array, from: string): void {
    if (this.#stopped && !this.#leaving) return;
    this.#stats.datagramsIn++;
    this.#stats.bytesIn += data.byteLength;
    if (!this.#budget.admit(from)) {
      this.#stats.droppedOverBudget++;
      return;
    }
    const keyring = this.#keyring;
    if (keyring === undefined) {
      this.#handleDatagram(data, from);
      return;
    }
    if (data.byteLength > MAX_DATAGRAM_SIZE) {
      this.#stats.authFailures++;
      return;
    }
    if (this.#inFlight >= this.#maxInFlight) {
      this.#stats.droppedBacklog++;
      return;
    }
    this.#inFlight++;
    const opened = keyring.open(data);
    this.#receiveChain = this.#receiveChain
      .then(() => opened)
      .then((plain) => {
        if (plain === undefined) {
          this.#stats.authFailures++;
          this.#logger.debug(`Dropped a datagram from ${from}: it does not open with the cluster keys`, {
            event: "auth_failure",
            from,
          });
        } else if (!this.#stopped || this.#leaving) {
          this.#handleDatagram(plain, from);
        }
      })
      .catch((error) => {
        this.#logger.error(`Handling a datagram from ${from} failed`, { event: "handle_failed", from, error });
      })
      .finally(() => this.#settled());
  }

  /** Decodes a plain datagram and answers it; counts and drops what does not decode. */
  #handleDatagram(data: Uint8Array, from: string): void {
    let message: Message;
    try {
      message = decodeMessage(data);
    } catch (error) {
      this.#stats.decodeErrors++;
      const reason = (error as Error).message;
      this.#logger.debug(`Dropped a datagram from ${from}: ${reason}`, { event: "decode_error", from, reason });
      return;
    }
    this.#stats.messagesIn[message.type]++;
    try {
      this.#core.handleMessage(this.#clock.now(), from, message);
    } catch (error) {
      this.#logger.error(`Handling a ${message.type} from ${from} failed`, {
        event: "handle_failed",
        from,
        messageType: message.type,
        error,
      });
    }
    this.#drive();
  }

  #send(data: Uint8Array, to: string, type: Message["type"]): void {
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
        this.#logger.error(`Sealing ${data.byteLength} bytes for ${to} failed`, { event: "send_error", to, error });
      })
      .finally(() => this.#settled());
  }

  #transmit(data: Uint8Array, to: string): void {
    this.#stats.datagramsOut++;
    this.#stats.bytesOut += data.byteLength;
    this.#socket.send(data, to).catch((error) => {
      this.#stats.sendErrors++;
      this.#logger.warn(`Sending ${data.byteLength} bytes to ${to} failed`, { event: "send_error", to, error });
    });
  }

  // --- shutdown -------------------------------------------------------------

  /**
   * Stops the node: by default announces a graceful leave to live peers and
   * waits (at most `leaveTimeoutMs`) for them to take it; then stops timers,
   * closes the socket and ends every feed. Idempotent.
   */
  shutdown(options: ShutdownOptions = {}): Promise<void> {
    this.#shutdown ??= this.#doShutdown(options.leave ?? true);
    return this.#shutdown;
  }

  async #doShutdown(leave: boolean): Promise<void> {
    this.#stopped = true;
    this.#cancelSeedRefresh?.();
    if (leave) {
      const done = new Promise<void>((resolve) => this.#leaveDone = resolve);
      this.#leaving = true;
      this.#core.leave(this.#clock.now(), this.#leaveTimeoutMs);
      this.#drive();
      await done;
    }
    this.#cancelTimer?.();
    this.#timerAt = undefined;
    await this.whenIdle();
    for (const feed of [...this.#feeds]) feed.close();
    this.#feeds.clear();
    await this.#socket.close();
  }

  /** Same as `shutdown()`: graceful leave, then close. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }
}
