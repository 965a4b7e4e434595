/**
 * The socket half of the memory network: a thin handle onto a binding the
 * network owns (address, handler, closed flag). Internal to `src/testing`.
 * @module
 */

import type { DatagramHandler, Socket } from "../runtime/socket.ts";

/**
 * What the network keeps per bound address.
 *
 * @example
 * ```ts
 * import type { Binding } from "./memory_socket.ts";
 * const binding: Binding = { addr: "127.0.0.1:1", handler: null, closed: false };
 * void binding;
 * ```
 */
export interface Binding {
  /** The canonical bound address. */
  readonly addr: string;
  /** The receive handler, null before `listen` and after `close`. */
  handler: DatagramHandler | null;
  /** Whether the socket was closed. */
  closed: boolean;
}

/** How a memory socket hands a datagram to its network. */
export type SendToNetwork = (binding: Binding, data: Uint8Array, to: string) => Promise<void>;

/** The shared already-resolved promise memory sends and closes return. */
export const RESOLVED: Promise<void> = Promise.resolve();

/**
 * A socket of a `MemoryNetwork`; its state lives in the network's binding.
 * Get one from `MemoryNetwork.open`, not from this constructor.
 *
 * @example
 * ```ts
 * import { MemorySocket } from "./memory_socket.ts";
 * import assert from "node:assert/strict";
 * const binding = { addr: "127.0.0.1:1", handler: null, closed: false };
 * const socket = new MemorySocket(binding, () => Promise.resolve(), (b) => void (b.closed = true));
 * assert.equal(socket.localAddr, "127.0.0.1:1");
 * ```
 */
export class MemorySocket implements Socket {
  #binding: Binding;
  #send: SendToNetwork;
  #close: (binding: Binding) => void;

  /** Wraps `binding`; `send` and `close` are the network's handlers. */
  constructor(
    binding: Binding,
    send: SendToNetwork,
    close: (binding: Binding) => void,
  ) {
    this.#binding = binding;
    this.#send = send;
    this.#close = close;
  }

  /** The bound address in canonical form. */
  get localAddr(): string {
    return this.#binding.addr;
  }

  /** Sends through the network; resolves at once, delivery happens on the clock. */
  send(data: Uint8Array, to: string): Promise<void> {
    return this.#send(this.#binding, data, to);
  }

  /** Installs the handler; throws `TypeError` when called twice. */
  listen(handler: DatagramHandler): void {
    const binding = this.#binding;
    if (typeof handler !== "function") {
      throw new TypeError(`Handler ${String(handler)} is not a function`);
    }
    if (binding.handler !== null) {
      throw new TypeError(`Socket ${binding.addr} is already listening`);
    }
    if (!binding.closed) binding.handler = handler;
  }

  /** Frees the address; no handler call happens afterwards. Idempotent. */
  close(): Promise<void> {
    this.#close(this.#binding);
    return RESOLVED;
  }
}
