/**
 * A running node: the sans-I/O state machine (`src/core/chitchat.ts`) driven
 * over a socket and a clock. The loop is short: every input (a datagram, a
 * timer, an own write) goes to the state machine, then what it has to send
 * goes out through the datagram pipe, its events go to the feeds, and the
 * timer is set to its next wake-up. Nothing here is fatal: bad datagrams and
 * send errors are counted and logged.
 * @module
 */

import { type AddressInput, normalizeAddress } from "../core/address.ts";
import { Chitchat, type ClusterSnapshot, type MembershipEvent } from "../core/chitchat.ts";
import type { ChitchatId } from "../core/chitchat_id.ts";
import type { ChitchatConfig, ReadonlyNodeStateLike } from "../core/config.ts";
import type { Logger } from "../core/logger.ts";
import type { MemberStatus } from "../core/membership.ts";
import type { Message } from "../core/messages.ts";
import type { KeyChange } from "../core/node_state.ts";
import { type Clock, systemClock } from "./clock.ts";
import { DatagramPipe } from "./datagram_pipe.ts";
import { DuplicateIdWatch } from "./duplicate_ids.ts";
import type { FeedOptions, FeedOverflow, QueueFeed, QueueFeedOptions, WatchFeed } from "./feed.ts";
import { FeedHub } from "./feed_hub.ts";
import { consoleLogger, withoutRepeats } from "./logger.ts";
import { MemberAddresses } from "./member_addresses.ts";
import { type NodeConfig, validateNodeConfig } from "./node_config.ts";
import { NodeDriver } from "./node_driver.ts";
import { type MutableStats, type NodeStats, zeroNodeStats } from "./node_stats.ts";
import { type Resolver, SeedList, systemResolver } from "./seeds.ts";
import type { Socket, SocketOpener } from "./socket.ts";
import { loadWireFormat } from "./wire_formats.ts";
import type { WireFormat } from "../core/wire_format.ts";
import type { NodeStateSnapshot } from "../core/node_snapshot.ts";
import { cborWireFormat } from "../core/wire/cbor.ts";
import { chitchatV0WireFormat } from "../core/wire/chitchat_v0_format.ts";
import type { KeyChangedEvent } from "../core/chitchat.ts";

export type { NodeConfig } from "./node_config.ts";
export type { NodeStats } from "./node_stats.ts";
export type { KeyChangedEvent } from "../core/chitchat.ts";

/** Anything the `events()` feed carries. */
export type ChitchatEvent = MembershipEvent | KeyChangedEvent | FeedOverflow;

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
    return new ChitchatNode(config, socket, await loadWireFormat(settings.wireFormat));
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
  #pipe: DatagramPipe;
  #feeds = new FeedHub();
  #seeds: SeedList;
  #seedRefreshMs: number;
  #leaveTimeoutMs: number;
  #stats: MutableStats = zeroNodeStats();
  #driver: NodeDriver;
  #cancelSeedRefresh: (() => void) | undefined;
  #stopped = false;
  /** True from the start of a graceful leave until the core says it is complete. */
  #leaving = false;
  #leaveDone: (() => void) | undefined;
  #shutdown: Promise<void> | undefined;

  /**
   * Use `spawnChitchat`; this wires a validated config to an open socket.
   * `format` defaults to the one `config.wireFormat` names (for
   * `chitchat-v0`, without zstd: `spawnChitchat` loads it).
   */
  constructor(config: NodeConfig, socket: Socket, format?: WireFormat) {
    const settings = validateNodeConfig(config);
    format ??= settings.wireFormat === "chitchat-v0" ? chitchatV0WireFormat() : cborWireFormat;
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
      throw new TypeError(`Invalid config "advertiseAddr": required when listening on the wildcard address ${advertise}`);
    }
    const { clusterKeys: _keys, receiveLimits: _limits, wireFormat: _format, onCatchUp, ...protocolConfig } = config;
    const coreConfig: ChitchatConfig = {
      ...protocolConfig,
      gossipIntervalMs: settings.gossipIntervalMs,
      mtu: settings.coreMtu,
      logger: this.#logger,
      id: { nodeId: config.nodeId, generationId: settings.generationId, gossipAdvertiseAddr: advertise },
      clusterId: settings.clusterId,
    };
    this.#core = new Chitchat(coreConfig, {
      now: this.#clock.now(),
      random: settings.random ?? Math.random,
      sizes: format.sizes,
      profile: format.profile,
    });
    this.id = this.#core.id;
    const members = new MemberAddresses(this.#core);
    this.#pipe = new DatagramPipe({
      socket,
      logger: this.#logger,
      stats: this.#stats,
      limits: settings.receiveLimits,
      clusterKeys: settings.clusterKeys,
      clusterId: this.#core.clusterId,
      format,
      clock: this.#clock,
      deliver: (message, from, now) => this.#onMessage(message, from, now),
      accepting: () => !this.#stopped || this.#leaving,
      isMember: (from) => members.has(from),
      busyLimitMs: settings.gossipIntervalMs / 2,
    });
    this.#driver = new NodeDriver({
      core: this.#core,
      clock: this.#clock,
      logger: this.#logger,
      pipe: this.#pipe,
      format,
      feeds: this.#feeds,
      duplicates: new DuplicateIdWatch(this.id, this.#logger),
      stats: this.#stats,
      onCatchUp,
      running: () => !this.#stopped || this.#leaving,
      onLeaveComplete: () => {
        this.#leaving = false;
        this.#leaveDone?.();
      },
    });
    this.#seeds = new SeedList(config.seeds ?? [], {
      resolver: settings.resolver ?? (systemResolver as Resolver),
      logger: this.#logger,
      clock: this.#clock,
    });
    socket.listen((data, from) => this.#pipe.receive(data, from));
    this.#core.setSeeds(this.#seeds.addresses);
    if (this.#seeds.needsResolution) this.#refreshSeeds();
    this.#driver.drive();
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

  /**
   * The state of `id` as this node holds it, whole (versions, tombstones),
   * for another node's {@linkcode ChitchatNode.resetNodeStateIfUpdate}.
   */
  nodeStateSnapshot(id: ChitchatId): NodeStateSnapshot | undefined {
    return this.#core.nodeStateSnapshot(id);
  }

  /**
   * Replaces a node's state with a snapshot obtained elsewhere when it is
   * newer (Rust's `reset_node_state_if_update`); true when it was replaced.
   */
  resetNodeStateIfUpdate(snapshot: NodeStateSnapshot): boolean {
    const replaced = this.#core.resetNodeStateIfUpdate(this.#clock.now(), snapshot);
    this.#driver.drive();
    return replaced;
  }

  /** Marks a key of this node to be reaped after the grace period; visible until then. */
  deleteAfterTtl(key: string): boolean {
    return this.#write(key, () => this.#core.deleteAfterTtl(key, this.#clock.now()));
  }

  #write(key: string, write: () => boolean): boolean {
    if (this.#stopped) throw new TypeError(`Node ${this.id.nodeId} is shut down; cannot write "${key}"`);
    const changed = write();
    this.#driver.drive();
    return changed;
  }

  // --- cluster view ---------------------------------------------------------

  /** The state of any known node. */
  nodeState(id: ChitchatId): ReadonlyNodeStateLike | undefined {
    return this.#core.nodeState(id);
  }

  /** Every known node's state, self included. */
  nodeStates(): ReadonlyNodeStateLike[] {
    return this.#core.nodeStates();
  }

  /** Every node's state and status, self first. */
  snapshot(): ClusterSnapshot {
    return this.#core.snapshot(this.#clock.now());
  }

  /** A node's membership status (`undefined` when unknown). */
  status(id: ChitchatId): MemberStatus | undefined {
    return this.#core.status(id);
  }

  /** Ids of the live view: the live nodes passing the liveness predicate (self included). */
  liveNodeIds(): ChitchatId[] {
    return this.#core.liveNodes().map((state) => state.id);
  }

  /** The states of the live view, now (see `liveNodes()` for a feed of it). */
  liveNodeStates(): readonly ReadonlyNodeStateLike[] {
    return this.#core.liveNodes();
  }

  /** Ids of dead nodes (seen live once, not yet scheduled for deletion). */
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
    if (!this.#pipe.sealed) {
      throw new TypeError(`Node ${this.id.nodeId} was started without clusterKeys; it cannot take keys now`);
    }
    this.#pipe.setClusterKeys(keys);
  }

  /** True when no datagram is being opened, handled or sealed (always, without cluster keys). */
  get idle(): boolean {
    return this.#pipe.idle;
  }

  /**
   * Resolves once {@linkcode ChitchatNode.idle} holds. WebCrypto completes
   * outside virtual time, so simulations await this between clock steps.
   */
  whenIdle(): Promise<void> {
    return this.#pipe.whenIdle();
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
      localPauses: this.#core.localPauses,
    };
  }

  // --- feeds ----------------------------------------------------------------

  /**
   * The live view: the current one at once, then each change (membership or
   * a live node's max version). A slow reader skips to the latest view.
   */
  liveNodes(options: FeedOptions = {}): WatchFeed<readonly ReadonlyNodeStateLike[]> {
    return this.#feeds.liveNodes(this.#core.liveNodes(), options);
  }

  /** Membership events and key changes of every node, in order, with a bounded buffer. */
  events(options: QueueFeedOptions = {}): QueueFeed<MembershipEvent | KeyChangedEvent> {
    return this.#feeds.events(options);
  }

  /** Visible key changes (sets, deletions, reaped TTL keys) whose key starts with `prefix`. */
  keyChanges(prefix: string, options: QueueFeedOptions = {}): QueueFeed<KeyChange> {
    if (typeof prefix !== "string") throw new TypeError(`Key prefix must be a string, got ${typeof prefix}`);
    return this.#feeds.keyChanges(prefix, options);
  }

  // --- the loop -------------------------------------------------------------

  /** Starts a handshake with `addr` now, outside the round schedule. */
  gossip(addr: AddressInput): void {
    const to = normalizeAddress(addr);
    if (this.#stopped) return;
    this.#core.gossip(this.#clock.now(), to);
    this.#driver.drive();
  }

  #onMessage(message: Message, from: string, now: number): void {
    try {
      this.#core.handleMessage(now, from, message);
    } catch (error) {
      this.#logger.error(`Handling a ${message.type} from ${from} failed`, {
        event: "handle_failed",
        from,
        messageType: message.type,
        error,
      });
    }
    this.#driver.drive();
  }

  #refreshSeeds(): void {
    if (this.#stopped) return;
    this.#seeds.refresh().finally(() => {
      if (this.#stopped) return;
      this.#core.setSeeds(this.#seeds.addresses);
      const delay = this.#seeds.nextRefreshMs(this.#seedRefreshMs);
      this.#cancelSeedRefresh = this.#clock.setTimer(delay, () => this.#refreshSeeds());
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
    this.#feeds.refuseNew();
    this.#cancelSeedRefresh?.();
    if (leave) {
      const done = new Promise<void>((resolve) => this.#leaveDone = resolve);
      this.#leaving = true;
      this.#core.leave(this.#clock.now(), this.#leaveTimeoutMs);
      this.#driver.drive();
      await done;
    }
    this.#driver.stop();
    await this.#pipe.whenIdle();
    this.#feeds.close();
    await this.#socket.close();
  }

  /** Same as `shutdown()`: graceful leave, then close. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }
}
