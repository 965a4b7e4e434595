/**
 * The UDP `Socket` every adapter shares: address checks, bind-error wording,
 * host-name resolution, the stale `ECONNREFUSED` retry, backpressure, and the
 * handler and close rules. An adapter only translates its runtime's socket
 * into a {@linkcode DatagramTransport}; nothing here touches a runtime global.
 * @module
 */

import {
  type AddressInput,
  formatAddress,
  isIPv4,
  isIPv6,
  parseAddress,
  type SocketAddress,
} from "../core/address.ts";
import type { DatagramHandler, Socket } from "../runtime/socket.ts";
import { bindError, errorCode } from "./bind_error.ts";

/**
 * How many times a send failing with `ECONNREFUSED` is retried. The error
 * never concerns the datagram being sent (UDP learns of a closed port only
 * later, by ICMP) but an earlier one: Bun turns on `IP_RECVERR`, so the
 * "port unreachable" of an earlier datagram fails a later, unrelated send
 * without sending it. Several stale errors may be queued.
 */
const STALE_ERROR_RETRIES = 16;

/** Addresses remembered by a socket's caches before they start afresh (a flood of spoofed senders cannot grow them). */
const MAX_CACHED_ADDRESSES = 4_096;

const SENT: Promise<void> = Promise.resolve();
const IGNORE = (): void => {};

/** What a transport calls for each datagram received: its bytes and the sender's IP literal and port. */
export type Receive = (data: Uint8Array, hostname: string, port: number) => void;

/**
 * A runtime's bound datagram socket as its adapter translates it. The
 * `Socket` built over it owns every rule; the transport only moves bytes.
 */
export interface DatagramTransport {
  /** The address bound: an IP literal and the real port. */
  readonly address: SocketAddress;
  /**
   * Hands one datagram to the runtime; `hostname` is an IP literal of the
   * socket's family. Returns (or resolves to) `false` when the runtime did
   * not take it for want of buffer space: it is sent again after `drained()`.
   */
  send(data: Uint8Array, hostname: string, port: number): boolean | Promise<unknown>;
  /** Resolves when a send that returned `false` may be tried again, or when the transport closed. */
  drained?(): Promise<void>;
  /** Releases the runtime's socket; once it resolves, `receive` is not called again. */
  close(): void | Promise<void>;
}

/**
 * Binds the runtime's socket to `at` (`hostname` as the user wrote it: an IP
 * literal or a host name) and delivers what arrives to `receive`. Throws the
 * runtime's own error; the caller words it.
 */
export type BindTransport = (
  at: SocketAddress,
  receive: Receive,
) => DatagramTransport | Promise<DatagramTransport>;

/** Options of {@linkcode openTransportSocket}. */
export interface OpenTransportOptions {
  /** Bind errors thrown as they are rather than as a `BindError` (a missing permission, say). */
  readonly rethrow?: (error: unknown) => boolean;
}

/**
 * Resolves `hostname` to an IP literal, of `family` when given, and tells
 * the literal's family. IP literals come back as they are; `node:dns` is
 * loaded on the first host name, so sockets that see only literals never
 * load it.
 *
 * @example
 * ```ts
 * import { resolveHost } from "./udp_socket.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(await resolveHost("::1"), { address: "::1", family: 6 });
 * ```
 */
export async function resolveHost(
  hostname: string,
  family?: 4 | 6,
): Promise<{ address: string; family: 4 | 6 }> {
  if (isIPv4(hostname)) return { address: hostname, family: 4 };
  if (isIPv6(hostname)) return { address: hostname, family: 6 };
  const { lookup } = await import("node:dns/promises");
  const found = await lookup(hostname, { family: family ?? 0 });
  return { address: found.address, family: found.family === 6 ? 6 : 4 };
}

/** The socket over a transport; `attach` gives it the transport once bound. */
class TransportSocket implements Socket {
  #localAddr = "";
  #transport: DatagramTransport | undefined;
  #family: 4 | 6 = 4;
  #handler: DatagramHandler | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;
  /** Destinations that are IP literals, parsed: `to` → what the transport takes. */
  #literals = new Map<string, SocketAddress>();
  /** Senders' canonical addresses by IP literal and port. */
  #senders = new Map<string, Map<number, string>>();

  attach(transport: DatagramTransport): void {
    this.#transport = transport;
    this.#family = isIPv6(transport.address.hostname) ? 6 : 4;
    this.#localAddr = formatAddress(transport.address);
  }

  get localAddr(): string {
    return this.#localAddr;
  }

  receive(data: Uint8Array, hostname: string, port: number): void {
    const handler = this.#handler;
    if (this.#closed || handler === undefined) return;
    // A Buffer or another subclass: hand out a plain view of the same bytes.
    const bytes = data.constructor === Uint8Array
      ? data
      : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    handler(bytes, this.#senderAddress(hostname, port));
  }

  /** The canonical `host:port` of a sender, formatted once per sender (peers are few and come back every round). */
  #senderAddress(hostname: string, port: number): string {
    let ports = this.#senders.get(hostname);
    if (ports === undefined) {
      if (this.#senders.size >= MAX_CACHED_ADDRESSES) this.#senders.clear();
      ports = new Map();
      this.#senders.set(hostname, ports);
    }
    let address = ports.get(port);
    if (address === undefined) {
      if (ports.size >= MAX_CACHED_ADDRESSES) ports.clear();
      address = formatAddress({ hostname, port });
      ports.set(port, address);
    }
    return address;
  }

  #checkOpen(to: string): DatagramTransport {
    if (this.#closed || this.#transport === undefined) {
      throw new Error(`Cannot send to ${to}: socket ${this.localAddr} is closed`);
    }
    return this.#transport;
  }

  send(data: Uint8Array, to: string): Promise<void> {
    // The common case, an IP literal already seen: one call into the runtime,
    // and no promise of our own when it takes the datagram at once.
    const literal = this.#literals.get(to);
    const transport = this.#transport;
    if (literal === undefined || this.#closed || transport === undefined) {
      return this.#sendSlowly(data, to, 0);
    }
    let sent: unknown;
    try {
      sent = transport.send(data, literal.hostname, literal.port);
    } catch (error) {
      return this.#retry(error, data, to);
    }
    if (sent === true) return SENT;
    if (sent === false) return this.#afterDrain(data, to);
    return (sent as Promise<unknown>).then(IGNORE, (error) => this.#retry(error, data, to));
  }

  /** A failed send is tried again only past a stale `ECONNREFUSED`. */
  #retry(error: unknown, data: Uint8Array, to: string): Promise<void> {
    return errorCode(error) === "ECONNREFUSED"
      ? this.#sendSlowly(data, to, 1)
      : Promise.reject(error);
  }

  async #afterDrain(data: Uint8Array, to: string): Promise<void> {
    await this.#transport?.drained?.();
    return this.#sendSlowly(data, to, 0);
  }

  /** Every rule of a send: address checks, resolution, the stale-error retry, backpressure. */
  async #sendSlowly(data: Uint8Array, to: string, staleErrorsSoFar: number): Promise<void> {
    const { hostname, port } = parseAddress(to);
    this.#checkOpen(to);
    // Resolved here with the socket's family: a runtime may take the first
    // address of any family, which fails where `localhost` gives `::1` first.
    const { address } = await resolveHost(hostname, this.#family);
    if (address === hostname && !this.#literals.has(to)) {
      if (this.#literals.size >= MAX_CACHED_ADDRESSES) this.#literals.clear();
      this.#literals.set(to, { hostname, port });
    }
    for (let staleErrors = staleErrorsSoFar;;) {
      const transport = this.#checkOpen(to);
      let sent: unknown;
      try {
        sent = await transport.send(data, address, port);
      } catch (error) {
        if (errorCode(error) === "ECONNREFUSED" && staleErrors++ < STALE_ERROR_RETRIES) continue;
        throw error;
      }
      if (sent !== false) return;
      await transport.drained?.();
    }
  }

  listen(handler: DatagramHandler): void {
    if (this.#handler !== undefined) {
      throw new TypeError(`Socket ${this.localAddr} already has a handler`);
    }
    this.#handler = handler;
  }

  close(): Promise<void> {
    if (this.#closing === undefined) {
      this.#closed = true;
      this.#handler = undefined;
      this.#closing = (async () => await this.#transport?.close())();
    }
    return this.#closing;
  }
}

/**
 * Binds a `Socket` over the transport `bind` makes. `addr` is checked first
 * (a malformed one rejects with a `TypeError` quoting it); a failed bind
 * rejects with `AddressInUseError` or a `BindError` worded alike on every
 * runtime, the runtime's error as its `cause`. A `TypeError` from `bind`
 * (the runtime lacks the API) and what `rethrow` picks are thrown as they are.
 *
 * @example A transport that loops every datagram back to its sender
 * ```ts
 * import { type DatagramTransport, openTransportSocket } from "./udp_socket.ts";
 * import assert from "node:assert/strict";
 * const socket = await openTransportSocket("127.0.0.1:0", (_at, receive): DatagramTransport => ({
 *   address: { hostname: "127.0.0.1", port: 4000 },
 *   send: (data, hostname, port) => Promise.resolve(receive(data, hostname, port)),
 *   close: () => {},
 * }));
 * const got = new Promise<string>((resolve) => socket.listen((_data, from) => resolve(from)));
 * await socket.send(new Uint8Array([1]), "127.0.0.1:4000");
 * assert.equal(await got, "127.0.0.1:4000");
 * await socket.close();
 * ```
 */
export async function openTransportSocket(
  addr: AddressInput,
  bind: BindTransport,
  options: OpenTransportOptions = {},
): Promise<Socket> {
  const at = parseAddress(addr);
  const canonical = formatAddress(at);
  const socket = new TransportSocket();
  try {
    socket.attach(await bind(at, (data, hostname, port) => socket.receive(data, hostname, port)));
  } catch (error) {
    if (error instanceof TypeError || options.rethrow?.(error)) throw error;
    throw bindError(canonical, at.hostname, error);
  }
  return socket;
}
