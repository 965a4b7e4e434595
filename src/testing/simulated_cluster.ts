/**
 * Cluster scenarios on the memory network: start, kill, stop and restart
 * nodes, cut and heal links, advance virtual time, and read every node's
 * view. Same seed, same run.
 * @module
 */

import type { ChitchatId } from "../core/chitchat_id.ts";
import { type ChitchatNode, spawnNode } from "../runtime/node.ts";
import type { NodeConfig } from "../runtime/node_config.ts";
import type { LinkSettings } from "./link_settings.ts";
import { ManualClock } from "./manual_clock.ts";
import { MemoryNetwork } from "./memory_network.ts";
import { NodeFreeze } from "./node_freeze.ts";
import { createRandom, type Random } from "./random.ts";

/** Options of {@linkcode SimulatedCluster}. */
export interface SimulatedClusterOptions extends LinkSettings {
  /** Seeds the network and every node's random source. */
  readonly seed: number;
  /** Gossip interval of every node. Default 1000 ms. */
  readonly gossipIntervalMs?: number;
  /** Largest datagram the network carries and every node's MTU. Default 65 507. */
  readonly mtu?: number;
  /** Settings given to every node (node-specific options win). */
  readonly nodeDefaults?: Partial<NodeConfig>;
  /** Observer of every datagram sent. */
  readonly onDatagram?: (from: string, to: string, bytes: Uint8Array) => void;
}

/** Options of {@linkcode SimulatedCluster.addNode}. */
export interface AddNodeOptions extends Partial<NodeConfig> {
  /** Seed node ids (their addresses are used); default: the first node added. */
  readonly seedIds?: readonly string[];
}

/**
 * A simulated cluster of real `ChitchatNode`s on a `MemoryNetwork` and a
 * `ManualClock`. Node `i` (in order of creation) listens on
 * `127.0.0.1:(10000 + i)`; a restarted node keeps its address.
 *
 * @example Three nodes converge within a few virtual seconds
 * ```ts
 * import { SimulatedCluster } from "@scope/chitchat/testing";
 * import assert from "node:assert/strict";
 * const cluster = new SimulatedCluster({ seed: 1 });
 * for (const id of ["a", "b", "c"]) await cluster.addNode(id);
 * const ms = await cluster.runUntil(() => cluster.converged(), { maxMs: 60_000 });
 * assert.ok(ms <= 60_000);
 * await cluster.close();
 * ```
 */
export class SimulatedCluster {
  /** The virtual clock driving every node and the network. */
  readonly clock: ManualClock;
  /** The simulated network. */
  readonly network: MemoryNetwork;
  #random: Random;
  #options: SimulatedClusterOptions;
  #nodes = new Map<string, ChitchatNode>();
  /** Per running node: its freeze switch (none when a `clock` or `socket` of its own bypasses it), and a pending thaw. */
  #freezes = new Map<string, { freeze?: NodeFreeze; cancelThaw?: () => void }>();
  #addresses = new Map<string, string>();
  #firstNodeId: string | undefined;
  #generation = 1;

  /** Creates an empty cluster. */
  constructor(options: SimulatedClusterOptions) {
    this.#options = options;
    this.clock = new ManualClock();
    this.#random = createRandom(options.seed);
    this.network = new MemoryNetwork({
      clock: this.clock,
      seed: options.seed,
      mtu: options.mtu,
      latencyMs: options.latencyMs,
      jitterMs: options.jitterMs,
      loss: options.loss,
      duplicate: options.duplicate,
      onDatagram: options.onDatagram,
    });
  }

  /** Ids of running nodes, in order of creation. */
  get nodeIds(): string[] {
    return [...this.#nodes.keys()];
  }

  /** The running node `nodeId`; throws `RangeError` when it is not running. */
  node(nodeId: string): ChitchatNode {
    const node = this.#nodes.get(nodeId);
    if (node === undefined) throw new RangeError(`No running node "${nodeId}" in the simulated cluster`);
    return node;
  }

  /** The address of `nodeId` (running or not). */
  address(nodeId: string): string {
    const addr = this.#addresses.get(nodeId);
    if (addr === undefined) throw new RangeError(`Unknown node "${nodeId}" in the simulated cluster`);
    return addr;
  }

  /** Starts a node; its generation grows with each start of any node. */
  async addNode(nodeId: string, options: AddNodeOptions = {}): Promise<ChitchatNode> {
    if (this.#nodes.has(nodeId)) throw new RangeError(`Node "${nodeId}" is already running`);
    let addr = this.#addresses.get(nodeId);
    if (addr === undefined) {
      addr = `127.0.0.1:${10_000 + this.#addresses.size}`;
      this.#addresses.set(nodeId, addr);
    }
    this.#firstNodeId ??= nodeId;
    const seedIds = options.seedIds ?? [this.#firstNodeId];
    const { seedIds: _ignored, ...overrides } = options;
    const seed = Math.floor(this.#random() * 2 ** 32);
    const freeze = new NodeFreeze(this.clock);
    // Every node opens its socket on the memory network unless `options.socket` says otherwise.
    const node = await spawnNode({
      gossipIntervalMs: this.#options.gossipIntervalMs ?? 1000,
      mtu: this.#options.mtu,
      ...this.#options.nodeDefaults,
      nodeId,
      generationId: this.#generation++,
      listenAddr: addr,
      seeds: seedIds.map((id) => this.address(id)),
      clock: freeze.clock,
      random: createRandom(seed),
      ...overrides,
    }, freeze.opener(this.network.opener));
    this.#nodes.set(nodeId, node);
    const own = options.clock !== undefined || options.socket !== undefined;
    this.#freezes.set(nodeId, own ? {} : { freeze });
    return node;
  }

  /**
   * Freezes the running node `nodeId` for `ms` virtual milliseconds, as a
   * stopped process is frozen (SIGSTOP, a stalled VM): it sends nothing, its
   * timers and the datagrams it receives wait, and when it thaws the timers
   * due run first, then up to 1 000 held datagrams in order of arrival (a
   * full receive buffer drops the rest). Returns at once; advance time to
   * let the pause pass. Killing the node ends the pause with it; stopping it
   * thaws it first (a frozen process cannot leave). Throws `RangeError` for
   * a node not running, one already paused, one started with a `clock` or
   * `socket` of its own (they bypass the freeze), or an `ms` that is not a
   * positive number.
   */
  pause(nodeId: string, ms: number): void {
    this.node(nodeId);
    const entry = this.#freezes.get(nodeId)!;
    const freeze = entry.freeze;
    if (freeze === undefined) {
      throw new RangeError(`Node "${nodeId}" was started with a clock or socket of its own, which cannot be paused`);
    }
    if (!Number.isFinite(ms) || ms <= 0) throw new RangeError(`pause: ms must be a positive number, got ${ms}`);
    if (freeze.frozen) throw new RangeError(`Node "${nodeId}" is already paused`);
    freeze.freeze();
    entry.cancelThaw = this.clock.setTimer(ms, () => {
      entry.cancelThaw = undefined;
      freeze.thaw();
    });
  }

  /** True while `nodeId` is paused (see {@linkcode SimulatedCluster.pause}). */
  paused(nodeId: string): boolean {
    return this.#freezes.get(nodeId)?.freeze?.frozen ?? false;
  }

  /** Ends the freeze of `nodeId` for good: thawed now (`thaw`), or its held work dropped. */
  #endFreeze(nodeId: string, thaw: boolean): void {
    const entry = this.#freezes.get(nodeId);
    this.#freezes.delete(nodeId);
    entry?.cancelThaw?.();
    if (thaw) entry?.freeze?.thaw();
    else entry?.freeze?.discard();
  }

  /** Stops a node without telling anyone, as a crash would. */
  async kill(nodeId: string): Promise<void> {
    const node = this.node(nodeId);
    this.#nodes.delete(nodeId);
    this.#endFreeze(nodeId, false);
    await node.shutdown({ leave: false });
  }

  /** Stops a node gracefully (it announces its leave), advancing time until it is done. */
  async stop(nodeId: string): Promise<void> {
    const node = this.node(nodeId);
    this.#nodes.delete(nodeId);
    this.#endFreeze(nodeId, true);
    let done = false;
    const shutdown = node.shutdown({ leave: true }).finally(() => (done = true));
    for (let i = 0; i < 10_000 && !done; i++) {
      await Promise.resolve();
      await this.#settle(node);
      if (!done) this.clock.advanceToNextTimer();
    }
    await shutdown;
  }

  /** Cuts every link between the two groups of node ids, both ways. */
  partition(groupA: readonly string[], groupB: readonly string[]): void {
    this.network.partition(groupA.map((id) => this.address(id)), groupB.map((id) => this.address(id)));
  }

  /** Restores every cut link. */
  heal(): void {
    this.network.heal();
  }

  /**
   * Advances virtual time by `ms` in steps of at most `stepMs` (default
   * 100), letting promise callbacks run between steps.
   */
  async advance(ms: number, stepMs = 100): Promise<void> {
    const end = this.clock.now() + ms;
    while (this.clock.now() < end) {
      this.clock.advance(Math.min(stepMs, end - this.clock.now()));
      await Promise.resolve();
      await this.#settle();
    }
  }

  /**
   * Waits for nodes with cluster keys to finish their WebCrypto work, which
   * completes outside virtual time; nodes without keys are always idle.
   */
  async #settle(extra?: ChitchatNode): Promise<void> {
    for (let pass = 0; pass < 100; pass++) {
      const busy = [...this.#nodes.values(), ...(extra === undefined ? [] : [extra])].filter((n) => !n.idle);
      if (busy.length === 0) return;
      await Promise.all(busy.map((n) => n.whenIdle()));
    }
  }

  /**
   * Advances time until `predicate()` holds, checking every `stepMs`
   * (default 100). Returns the virtual milliseconds it took; throws
   * `Error` when `maxMs` passes first.
   */
  async runUntil(predicate: () => boolean, options: { maxMs: number; stepMs?: number }): Promise<number> {
    const start = this.clock.now();
    const step = options.stepMs ?? 100;
    while (!predicate()) {
      if (this.clock.now() - start >= options.maxMs) {
        throw new Error(`Condition not reached within ${options.maxMs} virtual ms`);
      }
      await this.advance(step, step);
    }
    return this.clock.now() - start;
  }

  /** The sorted node ids in the live view of `nodeId`. */
  liveView(nodeId: string): string[] {
    return this.node(nodeId).liveNodeIds().map((id: ChitchatId) => id.nodeId).sort();
  }

  /** True when every running node's live view is exactly the running nodes. */
  converged(): boolean {
    const expected = this.nodeIds.sort().join(",");
    return this.nodeIds.every((id) => this.liveView(id).join(",") === expected);
  }

  /** True when every running node sees `key` of `ownerId` with `value`. */
  keyEverywhere(ownerId: string, key: string, value: string): boolean {
    const owner = this.node(ownerId).id;
    return this.nodeIds.every((id) => this.node(id).nodeState(owner)?.get(key) === value);
  }

  /** Stops every running node silently. */
  async close(): Promise<void> {
    for (const id of this.nodeIds) await this.kill(id);
  }
}
