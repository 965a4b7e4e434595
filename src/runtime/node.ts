/**
 * A running node: the protocol state machine driven by a socket and a clock.
 * Each interval it bumps its heartbeat, gossips to a few peers and updates
 * liveness; it answers every datagram it receives. Nothing here is fatal:
 * bad datagrams and send errors are counted and logged.
 * @module
 */

import { type AddressInput, normalizeAddress } from "../core/address.ts";
import { Chitchat, type ClusterSnapshot, type MembershipEvent } from "../core/chitchat.ts";
import type { ChitchatId } from "../core/chitchat_id.ts";
import { decodeMessage, encodeMessage, MAX_DATAGRAM_SIZE } from "../core/codec.ts";
import type { ChitchatConfig, ReadonlyNodeStateLike } from "../core/config.ts";
import type { Logger } from "../core/logger.ts";
import type { AckMessage, Message } from "../core/messages.ts";
import type { KeyChange } from "../core/node_state.ts";
import { openUdpSocket } from "../adapters/open.ts";
import { type Clock, systemClock } from "./clock.ts";
import { type FeedOptions, type FeedOverflow, QueueFeed, type QueueFeedOptions, WatchFeed } from "./feed.ts";
import { type Resolver, SeedList, systemResolver } from "./seeds.ts";
import type { Socket, SocketOpener } from "./socket.ts";
import { type NodeConfig, validateNodeConfig } from "./node_config.ts";
import { Keyring } from "./keyring.ts";
import { ReceiveBudget } from "./receive_budget.ts";
import { consoleLogger, withoutRepeats } from "./logger.ts";
import { DuplicateIdWatch } from "./duplicate_ids.ts";
import { LEFT_KEY, RESERVED_KEY_PREFIX } from "../core/chitchat.ts";

export type { NodeConfig } from "./node_config.ts";

/** A key change, as the `events()` feed carries it. */
export interface KeyChangedEvent extends KeyChange {
  /** Discriminant. */
  readonly type: "keyChanged";
}

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
  /**
   * Received sealed datagrams that were authentic but dropped undecoded as
   * replays: opened before, or from a sender not remembered and sealed too
   * far from this node's clock (cluster keys only).
   */
  readonly replays: number;
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
}

interface MutableStats {
  datagramsIn: number;
  bytesIn: number;
  datagramsOut: number;
  bytesOut: number;
  decodeErrors: number;
  authFailures: number;
  replays: number;
  droppedOverBudget: number;
  droppedBacklog: number;
  sendErrors: number;
  rounds: number;
  messagesIn: Record<Message["type"], number>;
}

/** The default console logger prints a message repeated word for word at most once in this time. */
const REPEATED_WARNING_WINDOW_MS = 60_000;

/** Peers told directly of a graceful leave; the rest learn it through gossip. */
const MAX_LEAVE_NOTICES = 64;

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
export async function spawnChitchat(config: NodeConfig): Promise<ChitchatNode> {
  const settings = validateNodeConfig(config);
  const socket = typeof settings.socket === "object"
    ? settings.socket
    : await (settings.socket ?? (openUdpSocket as SocketOpener))(settings.listenAddr);
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
  #intervalMs: number;
  #seeds: SeedList;
  #seedRefreshMs: number;
  #leaveTimeoutMs: number;
  #cancelRound: (() => void) | undefined;
  #cancelSeedRefresh: (() => void) | undefined;
  #stopped = false;
  #shutdown: Promise<void> | undefined;
  #feeds = new Set<{ close(): void }>();
  #leaveWaiters = new Map<string, () => void>();
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
    replays: 0,
    droppedOverBudget: 0,
    droppedBacklog: 0,
    sendErrors: 0,
    rounds: 0,
    messagesIn: { syn: 0, synAck: 0, ack: 0, badCluster: 0 },
  };

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
    this.#intervalMs = settings.gossipIntervalMs;
    this.#seedRefreshMs = settings.seedRefreshIntervalMs;
    this.#leaveTimeoutMs = settings.leaveTimeoutMs;
    const advertise = settings.advertiseAddr ?? socket.localAddr;
    if (/^(0\.0\.0\.0|\[::\]):/.test(advertise)) {
      throw new TypeError(
        `Invalid config "advertiseAddr": required when listening on the wildcard address ${advertise}`,
      );
    }
    const { clusterKeys: _keys, receiveLimits: _limits, ...protocolConfig } = config;
    const coreConfig: ChitchatConfig = {
      ...protocolConfig,
      mtu: settings.coreMtu,
      logger: this.#logger,
      id: { nodeId: config.nodeId, generationId: settings.generationId, gossipAdvertiseAddr: advertise },
      clusterId: config.clusterId ?? "default",
    };
    this.#core = new Chitchat(coreConfig, { now: this.#clock.now(), random: settings.random ?? Math.random });
    this.id = this.#core.id;
    this.#duplicates = new DuplicateIdWatch(this.id, this.#logger);
    this.#core.subscribeMembership((event) => this.#duplicates.observe(event));
    if (settings.clusterKeys !== undefined) {
      this.#keyring = new Keyring(settings.clusterKeys, { clusterId: this.#core.clusterId, clock: this.#clock });
    }
    this.#budget = new ReceiveBudget(settings.receiveLimits);
    this.#maxInFlight = settings.receiveLimits.inFlight;
    this.#seeds = new SeedList(config.seeds ?? [], {
      resolver: settings.resolver ?? (systemResolver as Resolver),
      logger: this.#logger,
      clock: this.#clock,
    });
    socket.listen((data, from) => this.#onDatagram(data, from));
    if (this.#seeds.needsResolution) this.#refreshSeeds();
    this.#cancelRound = this.#clock.setTimer(0, () => this.#round());
  }

  /** The cluster id. */
  get clusterId(): string {
    return this.#core.clusterId;
  }

  /** The underlying state machine, for advanced reads. */
  get chitchat(): Chitchat {
    return this.#core;
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
    this.#checkUserKey(key);
    return this.#core.self.set(key, value);
  }

  /** Sets a key that is reaped after the tombstone grace period. */
  setWithTtl(key: string, value: string): boolean {
    this.#checkUserKey(key);
    return this.#core.self.setWithTtl(key, value, this.#clock.now());
  }

  /** Deletes a key of this node; returns false (and logs) when it did not exist. */
  delete(key: string): boolean {
    this.#checkUserKey(key);
    return this.#core.self.delete(key, this.#clock.now());
  }

  /** Marks a key of this node to be reaped after the grace period; visible until then. */
  deleteAfterTtl(key: string): boolean {
    this.#checkUserKey(key);
    return this.#core.self.deleteAfterTtl(key, this.#clock.now());
  }

  #checkUserKey(key: string): void {
    if (this.#stopped) throw new TypeError(`Node ${this.id.nodeId} is shut down; cannot write "${key}"`);
    if (typeof key === "string" && key.startsWith(RESERVED_KEY_PREFIX)) {
      throw new TypeError(`Key "${key}" uses the reserved prefix "${RESERVED_KEY_PREFIX}"`);
    }
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
      // The same epoch, counter and replay memory under the new keys.
      this.#keyring = this.#keyring.withKeys(keys);
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
    return { ...this.#stats, messagesIn: { ...this.#stats.messagesIn } };
  }

  // --- feeds ----------------------------------------------------------------

  /**
   * The live view: the current one at once, then each change (membership or
   * a live node's max version). A slow reader skips to the latest view.
   */
  liveNodes(options: FeedOptions = {}): WatchFeed<readonly ReadonlyNodeStateLike[]> {
    return this.#openFeed(
      (onClose) => new WatchFeed<readonly ReadonlyNodeStateLike[]>(this.#core.liveNodes(), onClose, options),
      (feed) => this.#core.subscribeLiveView((view) => feed.publish(view)),
    );
  }

  /** Membership events and key changes of every node, in order, with a bounded buffer. */
  events(options: QueueFeedOptions = {}): QueueFeed<MembershipEvent | KeyChangedEvent> {
    return this.#openFeed(
      (onClose) => new QueueFeed<MembershipEvent | KeyChangedEvent>(onClose, options),
      (feed) => {
        const offMembership = this.#core.subscribeMembership((event) => feed.push(event));
        const offKeys = this.#core.subscribeKeyChanges("", (change) => feed.push({ type: "keyChanged", ...change }));
        return () => {
          offMembership();
          offKeys();
        };
      },
    );
  }

  /** Visible key changes (sets, deletions, reaped TTL keys) whose key starts with `prefix`. */
  keyChanges(prefix: string, options: QueueFeedOptions = {}): QueueFeed<KeyChange> {
    if (typeof prefix !== "string") throw new TypeError(`Key prefix must be a string, got ${typeof prefix}`);
    return this.#openFeed(
      (onClose) => new QueueFeed<KeyChange>(onClose, options),
      (feed) => this.#core.subscribeKeyChanges(prefix, (change) => feed.push(change)),
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

  // --- gossip ---------------------------------------------------------------

  /** Starts a handshake with `addr` now, outside the round schedule. */
  gossip(addr: AddressInput): void {
    const to = normalizeAddress(addr);
    if (this.#stopped) return;
    this.#send(encodeMessage(this.#core.createSyn()), to);
  }

  #round(): void {
    if (this.#stopped) return;
    const now = this.#clock.now();
    this.#stats.rounds++;
    this.#budget.reset();
    try {
      this.#core.startRound();
      const targets = this.#core.gossipTargets(this.#seeds.addresses);
      let syn: Message | undefined;
      let bytes: Uint8Array | undefined;
      for (const target of targets) {
        // A partial digest goes on round the ring from one target to the next.
        if (bytes === undefined || (syn?.type === "syn" && syn.partialDigest === true)) {
          syn = this.#core.createSyn();
          bytes = encodeMessage(syn);
        }
        this.#send(bytes, target);
      }
      this.#core.updateLiveness(now);
      this.#duplicates.check((id) => this.#core.nodeState(id)?.heartbeat);
    } catch (error) {
      this.#logger.error("Gossip round failed", error);
    }
    this.#cancelRound = this.#clock.setTimer(this.#intervalMs, () => this.#round());
  }

  #refreshSeeds(): void {
    if (this.#stopped) return;
    this.#seeds.refresh().finally(() => {
      if (this.#stopped) return;
      const delay = this.#seeds.nextRefreshMs(this.#seedRefreshMs);
      this.#cancelSeedRefresh = this.#clock.setTimer(delay, () => this.#refreshSeeds());
    });
  }

  #onDatagram(data: Uint8Array, from: string): void {
    if (this.#stopped && this.#leaveWaiters.size === 0) return;
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
    const opened = keyring.unseal(data);
    this.#receiveChain = this.#receiveChain
      .then(() => opened)
      .then((result) => {
        if (result.status === "unauthenticated") {
          this.#stats.authFailures++;
          this.#logger.debug(`Dropped a datagram from ${from}: it does not open with the cluster keys`);
        } else if (result.status !== "opened") {
          this.#stats.replays++;
          if (result.status === "replayed") this.#logger.debug(`Dropped a replayed datagram from ${from}`);
          else {
            // Word for word the same per sender, so the default logger prints it once a minute at most.
            this.#logger.warn(
              `Dropped a datagram from ${from}: sealed by a sender this node does not know, too far from ` +
                `its clock (a replay, or clocks too far apart)`,
              { skewMs: result.skewMs },
            );
          }
        } else if (!this.#stopped || this.#leaveWaiters.size > 0) {
          this.#handleDatagram(result.plaintext, from);
        }
      })
      .catch((error) => {
        this.#logger.error(`Handling a datagram from ${from} failed`, error);
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
      this.#logger.debug(`Dropped a datagram from ${from}: ${(error as Error).message}`);
      return;
    }
    this.#stats.messagesIn[message.type]++;
    try {
      const reply = this.#core.handleMessage(message, this.#clock.now());
      if (reply !== undefined) this.#send(encodeMessage(reply), from);
    } catch (error) {
      this.#logger.error(`Handling a ${message.type} from ${from} failed`, error);
    }
    if (message.type === "synAck") {
      const waiter = this.#leaveWaiters.get(from);
      if (waiter !== undefined) waiter();
    }
  }

  #send(data: Uint8Array, to: string): void {
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
        this.#logger.error(`Sealing ${data.byteLength} bytes for ${to} failed`, error);
      })
      .finally(() => this.#settled());
  }

  #transmit(data: Uint8Array, to: string): void {
    this.#stats.datagramsOut++;
    this.#stats.bytesOut += data.byteLength;
    this.#socket.send(data, to).catch((error) => {
      this.#stats.sendErrors++;
      this.#logger.warn(`Sending ${data.byteLength} bytes to ${to} failed`, error);
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
    this.#cancelRound?.();
    this.#cancelSeedRefresh?.();
    if (leave) await this.#announceLeave();
    await this.whenIdle();
    for (const feed of [...this.#feeds]) feed.close();
    this.#feeds.clear();
    await this.#socket.close();
  }

  async #announceLeave(): Promise<void> {
    this.#core.leave();
    const self = this.id.gossipAdvertiseAddr;
    const peers = this.#core.liveNodes()
      .map((state) => state.id.gossipAdvertiseAddr)
      .filter((addr) => addr !== self)
      .slice(0, MAX_LEAVE_NOTICES);
    if (peers.length === 0) return;
    const syn = encodeMessage(this.#core.createSyn());
    const notice = encodeMessage(this.#leaveNotice());
    let cancelTimer = (): void => {};
    await new Promise<void>((resolve) => {
      let pending = peers.length;
      const done = (): void => {
        cancelTimer();
        this.#leaveWaiters.clear();
        resolve();
      };
      for (const peer of peers) {
        this.#leaveWaiters.set(peer, () => {
          if (!this.#leaveWaiters.delete(peer)) return;
          if (--pending === 0) done();
        });
        this.#send(notice, peer);
        this.#send(syn, peer);
      }
      cancelTimer = this.#clock.setTimer(this.#leaveTimeoutMs, done);
    });
  }

  /**
   * An unsolicited `Ack` carrying just the leave key, from the version before
   * it: a peer that was up to date with this node applies it at once. The
   * `Syn` sent with it covers peers that were behind (their `SynAck` gets the
   * whole delta in our `Ack`), but a `SynAck` to an earlier `Syn` may answer
   * first, and its `Ack` would not carry the leave.
   */
  #leaveNotice(): AckMessage {
    const self = this.#core.self;
    const left = self.getVersioned(LEFT_KEY)!;
    return {
      type: "ack",
      delta: [{
        id: this.id,
        fromVersionExcluded: left.version - 1,
        lastGcVersion: self.lastGcVersion,
        maxVersion: self.maxVersion,
        keyValues: [{ key: LEFT_KEY, value: left.value, version: left.version, status: left.status }],
      }],
    };
  }

  /** Same as `shutdown()`: graceful leave, then close. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }
}
