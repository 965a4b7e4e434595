/**
 * The byte-level datagram socket the node runs on. Adapters for Deno, Bun and
 * Node (and the memory network in `src/testing`) implement it; nothing else
 * in the runtime knows which one it has.
 * @module
 */

/**
 * Called once per received datagram with its bytes and the sender's address
 * in canonical `host:port` form (`[v6]:port` for IPv6). The handler must not
 * throw; the socket ignores what it returns.
 */
export type DatagramHandler = (data: Uint8Array, from: string) => void;

/**
 * A bound UDP-like socket.
 *
 * Call order: `listen(handler)` once, then any number of `send`s, then
 * `close()`. Datagrams that arrive before `listen` is called are dropped.
 *
 * @example An in-memory echo through the testing network
 * ```ts
 * import type { Socket } from "@scope/chitchat";
 * function echo(socket: Socket): void {
 *   socket.listen((data, from) => void socket.send(data, from));
 * }
 * void echo;
 * ```
 */
export interface Socket {
  /** The bound local address in canonical `host:port` form, with the real port when 0 was asked for. */
  readonly localAddr: string;
  /**
   * Sends one datagram to `to` (canonical `host:port`). Resolves when handed
   * to the OS; rejects on a send error (the caller counts and logs it).
   */
  send(data: Uint8Array, to: string): Promise<void>;
  /** Installs the receive handler. Throws `TypeError` when called twice. */
  listen(handler: DatagramHandler): void;
  /** Closes the socket; idempotent. After it resolves no handler call happens. */
  close(): Promise<void>;
}

/** Opens a socket bound to an address (`host:port`; port 0 picks a free port). */
export type SocketOpener = (addr: string) => Promise<Socket>;

/**
 * Thrown when a socket cannot be bound to its address: an IP address that is
 * not one of this machine's, a host name that does not resolve, a port the
 * process may not use. The message names the address and the reason in the
 * same words on Deno, Bun and Node; `cause` is the runtime's own error.
 *
 * @example Catching a bind failure
 * ```ts
 * import { BindError } from "@scope/chitchat";
 * import assert from "node:assert/strict";
 * const error = new BindError("192.0.2.1:7000", { reason: "192.0.2.1 is not an address of this machine" });
 * assert.equal(error.message, "Cannot bind 192.0.2.1:7000: 192.0.2.1 is not an address of this machine");
 * assert.equal(error.addr, "192.0.2.1:7000");
 * ```
 */
export class BindError extends Error {
  /** The address that could not be bound. */
  readonly addr: string;
  /** Builds the error for `addr`; `reason` defaults to the message of `cause`, the runtime's own error. */
  constructor(addr: string, options: { reason?: string; cause?: unknown } = {}) {
    const reason = options.reason ??
      (options.cause instanceof Error ? options.cause.message : "the runtime refused it");
    super(`Cannot bind ${addr}: ${reason}`, { cause: options.cause });
    this.name = "BindError";
    this.addr = addr;
  }
}

/**
 * Thrown when binding fails because the address is already in use; a
 * {@linkcode BindError}, so one `instanceof BindError` catches every bind
 * failure.
 *
 * @example
 * ```ts
 * import { AddressInUseError, BindError } from "@scope/chitchat";
 * const error = new AddressInUseError("127.0.0.1:10000");
 * console.assert(error.message.includes("127.0.0.1:10000"));
 * console.assert(error instanceof BindError);
 * ```
 */
export class AddressInUseError extends BindError {
  /** Builds the error for `addr`; `cause` is the runtime's own error. */
  constructor(addr: string, options?: { cause?: unknown }) {
    super(addr, { reason: "the address is already in use", cause: options?.cause });
    this.message = `Address ${addr} is already in use`;
    this.name = "AddressInUseError";
  }
}
