/**
 * Freezing one simulated node as a stopped process is frozen (SIGSTOP, a
 * stalled VM, a long GC): its timers and the datagrams it receives wait,
 * then run when it thaws, timers first. Internal to `src/testing`.
 * @module
 */

import type { Clock } from "../runtime/clock.ts";
import type { Socket, SocketOpener } from "../runtime/socket.ts";

/**
 * A freeze switch for one node, and the clock and socket opener that obey
 * it. While frozen, a timer that comes due, a datagram that arrives and a
 * send are held; on thawing the held sends leave, the held timers run, then
 * the held datagrams are delivered in order of arrival, at most `bufferDatagrams` of them (a full receive buffer drops
 * the rest, which are counted).
 *
 * @example
 * ```ts
 * import { NodeFreeze } from "./node_freeze.ts";
 * import { ManualClock } from "./manual_clock.ts";
 * import assert from "node:assert/strict";
 * const base = new ManualClock();
 * const freeze = new NodeFreeze(base);
 * let fired = 0;
 * freeze.clock.setTimer(100, () => fired++);
 * freeze.freeze();
 * base.advance(200);
 * assert.equal(fired, 0);
 * freeze.thaw();
 * assert.equal(fired, 1);
 * ```
 */
export class NodeFreeze {
  /** The node's clock: the base clock's time, with timers held while frozen. */
  readonly clock: Clock;
  #frozen = false;
  #bufferDatagrams: number;
  #timers: Array<{ fn: () => void; cancelled: boolean }> = [];
  #datagrams: Array<() => void> = [];
  /** Sends started while frozen (by a promise settling): they leave on thawing, before anything else. */
  #sends: Array<() => void> = [];
  #dropped = 0;

  /** Over `base`; at most `bufferDatagrams` (default 1 000) datagrams are held. */
  constructor(base: Clock, bufferDatagrams = 1_000) {
    if (!Number.isInteger(bufferDatagrams) || bufferDatagrams < 0) {
      throw new RangeError(`NodeFreeze: bufferDatagrams must be an integer of at least 0, got ${bufferDatagrams}`);
    }
    this.#bufferDatagrams = bufferDatagrams;
    this.clock = {
      // The same wall-clock origin as every other node on `base` (sealed gossip's timestamps).
      source: base.source ?? base,
      now: () => base.now(),
      setTimer: (delayMs, fn) => {
        const timer = { fn, cancelled: false };
        const cancel = base.setTimer(delayMs, () => {
          if (timer.cancelled) return;
          if (this.#frozen) this.#timers.push(timer);
          else fn();
        });
        return () => {
          timer.cancelled = true;
          cancel();
        };
      },
    };
  }

  /** True while frozen. */
  get frozen(): boolean {
    return this.#frozen;
  }

  /** Datagrams dropped because the receive buffer was full while frozen. */
  get droppedDatagrams(): number {
    return this.#dropped;
  }

  /** Freezes the node; nothing it holds runs until {@linkcode NodeFreeze.thaw}. */
  freeze(): void {
    this.#frozen = true;
  }

  /** Thaws the node: the timers held run, then the datagrams held. */
  thaw(): void {
    if (!this.#frozen) return;
    this.#frozen = false;
    const { sends, timers, datagrams } = { sends: this.#sends, timers: this.#timers, datagrams: this.#datagrams };
    this.#sends = [];
    this.#timers = [];
    this.#datagrams = [];
    for (const send of sends) send();
    for (const timer of timers) if (!timer.cancelled) timer.fn();
    for (const deliver of datagrams) deliver();
  }

  /** Forgets what is held (the node was killed while frozen). */
  discard(): void {
    this.#frozen = false;
    this.#sends = [];
    this.#timers = [];
    this.#datagrams = [];
  }

  /** The opener of sockets whose received datagrams are held while frozen. */
  opener(base: SocketOpener): SocketOpener {
    return async (addr: string): Promise<Socket> => {
      const socket = await base(addr);
      return {
        get localAddr(): string {
          return socket.localAddr;
        },
        send: (data, to) => {
          if (!this.#frozen) return socket.send(data, to);
          this.#sends.push(() => void socket.send(data, to).catch(() => {}));
          return Promise.resolve();
        },
        listen: (handler) =>
          socket.listen((data, from) => {
            if (!this.#frozen) return handler(data, from);
            if (this.#datagrams.length >= this.#bufferDatagrams) this.#dropped++;
            else this.#datagrams.push(() => handler(data, from));
          }),
        close: () => socket.close(),
      };
    };
  }
}
