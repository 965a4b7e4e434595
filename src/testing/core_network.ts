/**
 * State machines wired together in memory, the way the runtime drives one:
 * every message goes through the codec and is checked against the MTU, time
 * is an argument and jumps to the next wake-up. The core tests, the
 * benchmarks and the scale tests drive the core through this, so there is
 * one definition of a round in the tree (the one in `Chitchat.handleTimeout`).
 * @module
 */

import type { Chitchat, CoreEvent } from "../core/chitchat.ts";
import { MAX_DATAGRAM_SIZE } from "../core/codec.ts";
import { cborWireFormat } from "../core/wire/cbor.ts";
import type { WireFormat } from "../core/wire_format.ts";
import type { Message } from "../core/messages.ts";

/** Options of {@linkcode CoreNetwork}. */
export interface CoreNetworkOptions {
  /** Every message must encode within this many bytes, or delivery throws a `RangeError`. Default 65 507. */
  readonly mtu?: number;
  /** Return false to drop a message (a loss, a cut link); called before it is encoded. */
  readonly admit?: (message: Message, from: string, to: string) => boolean;
  /** Sees each message as its receiver decodes it, before it is handled. */
  readonly onMessage?: (message: Message, from: string, to: Chitchat) => void;
  /** Called right after a node handled a message. */
  readonly onHandled?: (message: Message, from: string, to: Chitchat) => void;
  /** Sees each delivered datagram's size. */
  readonly onDatagram?: (from: string, to: string, bytes: number) => void;
  /** The wire format every message goes through (the nodes must budget with its sizes). Default: CBOR. */
  readonly format?: WireFormat;
  /** Gets every event of every node; without it events are drained and dropped. */
  readonly onEvent?: (node: Chitchat, event: CoreEvent) => void;
}

/**
 * State machines on an in-memory network with instant delivery.
 *
 * Call order: `add` each node; then `tick(now)` (every node's timeout,
 * each followed by the messages it causes) or `runUntil(time)`; a message
 * a test injects with a node's `handleMessage` is followed by `flush(now)`.
 *
 * @example Two nodes converge in a few rounds of virtual time
 * ```ts
 * import { Chitchat } from "@scope/chitchat/core";
 * import { CoreNetwork } from "@scope/chitchat/testing";
 * import assert from "node:assert/strict";
 * const make = (name: string, port: number) =>
 *   new Chitchat(
 *     { id: { nodeId: name, generationId: 1, gossipAdvertiseAddr: `127.0.0.1:${port}` }, clusterId: "c" },
 *     { now: 0, random: Math.random },
 *   );
 * const a = make("a", 1);
 * const b = make("b", 2);
 * b.setSeeds(["127.0.0.1:1"]);
 * b.set("role", "api");
 * const network = new CoreNetwork();
 * network.add(a);
 * network.add(b);
 * network.runUntil(10_000);
 * assert.equal(a.nodeState(b.id)?.get("role"), "api");
 * ```
 */
export class CoreNetwork {
  #options: CoreNetworkOptions;
  #mtu: number;
  #format: WireFormat;
  #nodes = new Map<string, Chitchat>();
  #now = 0;

  /** Creates an empty network. */
  constructor(options: CoreNetworkOptions = {}) {
    this.#options = options;
    this.#mtu = options.mtu ?? MAX_DATAGRAM_SIZE;
    this.#format = options.format ?? cborWireFormat;
  }

  /** The nodes, in the order they were added. */
  get nodes(): Chitchat[] {
    return [...this.#nodes.values()];
  }

  /** The virtual time reached. */
  get now(): number {
    return this.#now;
  }

  /** Adds `node`, reachable at its gossip address. */
  add(node: Chitchat): void {
    this.#nodes.set(node.id.gossipAdvertiseAddr, node);
  }

  /** Removes `node`: messages to it are dropped from now on. */
  remove(node: Chitchat): void {
    this.#nodes.delete(node.id.gossipAdvertiseAddr);
  }

  /**
   * Runs `handleTimeout(now)` on each of `nodes` (default all) in turn, each
   * followed by every message it causes among `nodes`; a message to any
   * other node is dropped. Returns the number of messages delivered.
   */
  tick(now: number, nodes: readonly Chitchat[] = this.nodes): number {
    this.#now = Math.max(this.#now, now);
    const among = new Set(nodes);
    let delivered = 0;
    for (const node of nodes) {
      node.handleTimeout(now);
      delivered += this.flush(now, among);
    }
    return delivered;
  }

  /**
   * Delivers every queued message at `now`, and the answers they cause,
   * until none is left; only among `among` (default all). Returns the number
   * of messages delivered.
   */
  flush(now: number, among?: ReadonlySet<Chitchat>): number {
    this.#now = Math.max(this.#now, now);
    let delivered = 0;
    let moved = true;
    while (moved) {
      moved = false;
      for (const [from, node] of this.#nodes) {
        this.#drainEvents(node);
        for (let t = node.pollTransmit(); t !== undefined; t = node.pollTransmit()) {
          moved = true;
          if (among !== undefined && !among.has(node)) continue;
          const to = this.#nodes.get(t.to);
          if (to === undefined || (among !== undefined && !among.has(to))) continue;
          if (this.#options.admit?.(t.message, from, t.to) === false) continue;
          const bytes = this.#format.encode(t.message);
          if (bytes.length > this.#mtu) {
            throw new RangeError(`A ${t.message.type} of ${bytes.length} bytes from ${from} exceeds the MTU of ${this.#mtu}`);
          }
          this.#options.onDatagram?.(from, t.to, bytes.length);
          const message = this.#format.decode(bytes);
          this.#options.onMessage?.(message, from, to);
          to.handleMessage(now, from, message);
          this.#options.onHandled?.(message, from, to);
          this.#drainEvents(to);
          delivered++;
        }
      }
    }
    return delivered;
  }

  /**
   * Runs every node until virtual time `until`: jumps to the earliest
   * wake-up, ticks the nodes due then, and so on. Returns the time reached.
   */
  runUntil(until: number): number {
    for (let guard = 0; guard < 10_000_000; guard++) {
      let next = Infinity;
      for (const node of this.#nodes.values()) next = Math.min(next, node.pollTimeout() ?? Infinity);
      if (next > until) break;
      const now = Math.max(this.#now, next);
      const due = this.nodes.filter((node) => (node.pollTimeout() ?? Infinity) <= now);
      for (const node of due) {
        node.handleTimeout(now);
        this.flush(now);
      }
      this.#now = now;
    }
    this.#now = Math.max(this.#now, until);
    return this.#now;
  }

  #drainEvents(node: Chitchat): void {
    const onEvent = this.#options.onEvent;
    for (let event = node.pollEvent(); event !== undefined; event = node.pollEvent()) onEvent?.(node, event);
  }
}
