/**
 * UDP sockets for Bun over `Bun.udpSocket`. Bun's `send` takes IP literals
 * only, so host names are resolved here before sending.
 * @module
 */

import { lookup } from "node:dns/promises";
import { formatAddress, isIPv4, isIPv6, normalizeAddress, parseAddress } from "../core/address.ts";
import type { DatagramHandler, Socket } from "../runtime/socket.ts";
import { bindError } from "./bind_error.ts";

// The interface the socket implements, so this entry point documents on its own.
export type { DatagramHandler, Socket } from "../runtime/socket.ts";

/**
 * How many times a send is retried when it fails with `ECONNREFUSED`. Bun
 * turns on `IP_RECVERR`, so the ICMP "port unreachable" earned by an earlier
 * datagram to a closed port surfaces as an error of a later, unrelated
 * `send`, and that datagram is not sent. Retrying sends it; several stale
 * errors may be queued.
 */
const STALE_ERROR_RETRIES = 16;

/** The part of Bun's unconnected `udp.Socket` used here. */
interface BunRawSocket {
  readonly address: { readonly address: string; readonly port: number; readonly family: string };
  send(data: Uint8Array, port: number, address: string): boolean;
  close(): void;
}

/** The socket handlers given to `Bun.udpSocket`. */
interface BunHandlers {
  data(socket: BunRawSocket, data: Uint8Array, port: number, address: string): void;
  drain(socket: BunRawSocket): void;
  error(...args: unknown[]): void;
}

/** The part of the `Bun` namespace used here, typed structurally (no bun-types). */
interface BunNamespace {
  udpSocket(options: {
    hostname: string;
    port: number;
    binaryType: "uint8array";
    socket: BunHandlers;
  }): Promise<BunRawSocket>;
}

function bunNamespace(): BunNamespace {
  const bun = (globalThis as { Bun?: BunNamespace }).Bun;
  if (bun === undefined) {
    throw new TypeError("The Bun adapter needs the Bun runtime; globalThis.Bun is missing");
  }
  return bun;
}

function errorCode(error: unknown): unknown {
  return typeof error === "object" && error !== null
    ? (error as { code?: unknown }).code
    : undefined;
}

class BunUdpSocket implements Socket {
  #raw: BunRawSocket | undefined;
  #localAddr = "";
  #family: 4 | 6 = 4;
  #handler: DatagramHandler | undefined;
  #closed = false;
  #drainWaiters: Array<() => void> = [];

  /** The handlers to bind with; they forward to this object. */
  readonly handlers: BunHandlers = {
    data: (_socket, data, port, address) => this.#receive(data, port, address),
    drain: () => this.#wakeSenders(),
    // ICMP errors for earlier datagrams (ECONNREFUSED from the error queue):
    // UDP on Deno and Node never reports them, so they are dropped here too.
    error: () => {},
  };

  get localAddr(): string {
    return this.#localAddr;
  }

  attach(raw: BunRawSocket): void {
    this.#raw = raw;
    this.#family = raw.address.family === "IPv6" ? 6 : 4;
    this.#localAddr = formatAddress({ hostname: raw.address.address, port: raw.address.port });
  }

  #receive(data: Uint8Array, port: number, address: string): void {
    const handler = this.#handler;
    if (this.#closed || handler === undefined) return;
    const bytes = data.constructor === Uint8Array
      ? data
      : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    handler(bytes, formatAddress({ hostname: address, port }));
  }

  #wakeSenders(): void {
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const wake of waiters) wake();
  }

  #checkOpen(to: string): BunRawSocket {
    if (this.#closed || this.#raw === undefined) {
      throw new Error(`Cannot send to ${to}: socket ${this.#localAddr} is closed`);
    }
    return this.#raw;
  }

  /** Sends once; false means the OS buffer is full and `drain` will follow. */
  #trySend(data: Uint8Array, port: number, host: string, to: string): boolean {
    for (let attempt = 0;; attempt++) {
      try {
        return this.#checkOpen(to).send(data, port, host);
      } catch (error) {
        if (errorCode(error) === "ECONNREFUSED" && attempt < STALE_ERROR_RETRIES) continue;
        throw error;
      }
    }
  }

  /**
   * Sends one datagram. When Bun reports backpressure (`send` returns false,
   * the datagram was not queued), waits for the `drain` callback and retries;
   * `close()` rejects the waiting sends. Host names are resolved with the
   * socket's address family.
   */
  async send(data: Uint8Array, to: string): Promise<void> {
    const { hostname, port } = parseAddress(to);
    this.#checkOpen(to);
    const host = isIPv4(hostname) || isIPv6(hostname)
      ? hostname
      : (await lookup(hostname, { family: this.#family })).address;
    while (!this.#trySend(data, port, host, to)) {
      await new Promise<void>((resolve) => this.#drainWaiters.push(resolve));
    }
  }

  listen(handler: DatagramHandler): void {
    if (this.#handler !== undefined) {
      throw new TypeError(`Socket ${this.#localAddr} already has a handler`);
    }
    this.#handler = handler;
  }

  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#handler = undefined;
      this.#raw?.close();
      this.#wakeSenders();
    }
    return Promise.resolve();
  }
}

/**
 * Binds a UDP socket on Bun. `addr` is `host:port`; port 0 takes a free port,
 * which {@linkcode Socket.localAddr} then reports. A host name such as
 * `localhost` is resolved by Bun and `localAddr` shows the literal bound.
 *
 * Rejects with `AddressInUseError` when the address is taken, `TypeError`
 * when it is malformed, and a `BindError` naming the address (Bun's error
 * as its `cause`) when it cannot be bound otherwise: not an address of this
 * machine, a host name that does not resolve.
 *
 * Quirks absorbed here: `send` returning false (backpressure) makes the send
 * wait for `drain` and retry; a stale `ECONNREFUSED` left by an earlier
 * datagram is retried past; received bytes are plain `Uint8Array`s.
 *
 * @example Two sockets on loopback (Bun only)
 * ```ts ignore
 * import { openBunUdpSocket } from "@scope/chitchat/bun";
 * import assert from "node:assert/strict";
 * const a = await openBunUdpSocket("127.0.0.1:0");
 * const b = await openBunUdpSocket("127.0.0.1:0");
 * const got = new Promise<string>((resolve) => b.listen((_data, from) => resolve(from)));
 * await a.send(new Uint8Array([1, 2, 3]), b.localAddr);
 * assert.equal(await got, a.localAddr);
 * await a.close();
 * await b.close();
 * ```
 */
export async function openBunUdpSocket(addr: string): Promise<Socket> {
  const canonical = normalizeAddress(addr);
  const { hostname, port } = parseAddress(canonical);
  const bun = bunNamespace();
  const socket = new BunUdpSocket();
  let raw: BunRawSocket;
  try {
    raw = await bun.udpSocket({
      hostname,
      port,
      binaryType: "uint8array",
      socket: socket.handlers,
    });
  } catch (error) {
    throw bindError(canonical, hostname, error);
  }
  socket.attach(raw);
  return socket;
}
