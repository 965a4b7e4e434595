/**
 * UDP sockets for Deno over `Deno.listenDatagram`, which needs `--unstable-net`
 * or `"unstable": ["net"]` in deno.json, and `--allow-net`. Nothing else.
 * @module
 */

import { formatAddress, isIPv4, isIPv6, normalizeAddress, parseAddress } from "../core/address.ts";
import { AddressInUseError, type DatagramHandler, type Socket } from "../runtime/socket.ts";
import { bindError } from "./bind_error.ts";

// The interface the socket implements, so this entry point documents on its own.
export type { DatagramHandler, Socket } from "../runtime/socket.ts";

/** Larger than any UDP payload (65 507 bytes over IPv4, 65 527 over IPv6): receives never truncate. */
const MAX_DATAGRAM = 65_536;

/** The part of `Deno.NetAddr` used here. */
interface DenoNetAddr {
  transport: "udp";
  hostname: string;
  port: number;
}

/** The part of `Deno.DatagramConn` used here. */
interface DenoDatagramConn {
  readonly addr: DenoNetAddr;
  receive(buffer?: Uint8Array): Promise<[Uint8Array, DenoNetAddr]>;
  send(data: Uint8Array, to: DenoNetAddr): Promise<number>;
  close(): void;
}

/** The part of the `Deno` namespace used here, typed structurally so any checker accepts the file. */
interface DenoNamespace {
  listenDatagram?: (options: DenoNetAddr) => DenoDatagramConn;
  errors:
    & Record<"AddrInUse" | "BadResource" | "Interrupted" | "ConnectionReset", new (...args: never[]) => Error>
    & Partial<Record<"NotCapable", new (...args: never[]) => Error>>;
}

function denoNamespace(): DenoNamespace {
  const deno = (globalThis as unknown as { Deno?: DenoNamespace }).Deno;
  if (deno === undefined) {
    throw new TypeError("The Deno adapter needs the Deno runtime; globalThis.Deno is missing");
  }
  return deno;
}

/** Rethrows outside any promise chain so an unexpected failure is reported, not swallowed. */
function reportUncaught(error: unknown): void {
  queueMicrotask(() => {
    throw error;
  });
}

class DenoUdpSocket implements Socket {
  readonly localAddr: string;
  #deno: DenoNamespace;
  #conn: DenoDatagramConn;
  #handler: DatagramHandler | undefined;
  #closed = false;
  #loop: Promise<void>;

  constructor(deno: DenoNamespace, conn: DenoDatagramConn) {
    this.#deno = deno;
    this.#conn = conn;
    this.localAddr = formatAddress(conn.addr);
    this.#loop = this.#receiveLoop().catch(reportUncaught);
  }

  async #receiveLoop(): Promise<void> {
    const { errors } = this.#deno;
    const buffer = new Uint8Array(MAX_DATAGRAM);
    while (!this.#closed) {
      let received: [Uint8Array, DenoNetAddr];
      try {
        received = await this.#conn.receive(buffer);
      } catch (error) {
        if (
          this.#closed || error instanceof errors.BadResource || error instanceof errors.Interrupted
        ) return;
        // Windows reports an ICMP "port unreachable" for an earlier send on the next receive.
        if (error instanceof errors.ConnectionReset) continue;
        throw error;
      }
      const handler = this.#handler;
      if (this.#closed || handler === undefined) continue;
      // The buffer is reused, so the handler gets its own copy of exactly the datagram.
      handler(received[0].slice(), formatAddress(received[1]));
    }
  }

  /**
   * Sends one datagram. A host name is resolved here with the socket's
   * address family: Deno would take the first address of any family, which
   * fails on an IPv4 socket where `localhost` resolves to `::1` first.
   */
  async send(data: Uint8Array, to: string): Promise<void> {
    const { hostname, port } = parseAddress(to);
    if (this.#closed) throw new Error(`Cannot send to ${to}: socket ${this.localAddr} is closed`);
    const host = isIPv4(hostname) || isIPv6(hostname) ? hostname : await this.#resolve(hostname);
    await this.#conn.send(data, { transport: "udp", hostname: host, port });
  }

  async #resolve(hostname: string): Promise<string> {
    // Loaded lazily: sockets that only ever see IP literals never load Node compatibility.
    const { lookup } = await import("node:dns/promises");
    const family = isIPv6(this.#conn.addr.hostname) ? 6 : 4;
    return (await lookup(hostname, { family })).address;
  }

  listen(handler: DatagramHandler): void {
    if (this.#handler !== undefined) {
      throw new TypeError(`Socket ${this.localAddr} already has a handler`);
    }
    this.#handler = handler;
  }

  async close(): Promise<void> {
    if (this.#closed) return await this.#loop;
    this.#closed = true;
    this.#handler = undefined;
    this.#conn.close();
    await this.#loop;
  }
}

/**
 * Binds a UDP socket on Deno. `addr` is `host:port`; port 0 takes a free port,
 * which {@linkcode Socket.localAddr} then reports. A host name such as
 * `localhost` is resolved by Deno and `localAddr` shows the literal bound.
 * Sending to a host name resolves it (through `node:dns`, loaded on first
 * use) with the socket's address family.
 *
 * Rejects with `AddressInUseError` when the address is taken, `TypeError`
 * when it is malformed or `Deno.listenDatagram` is unavailable (run with
 * `--unstable-net`), Deno's `NotCapable` without `--allow-net`, and a
 * `BindError` naming the address (Deno's error as its `cause`) when it
 * cannot be bound otherwise: not an address of this machine, a host name
 * that does not resolve.
 *
 * @example Two sockets on loopback
 * ```ts
 * import { openDenoUdpSocket } from "@scope/chitchat/deno";
 * import assert from "node:assert/strict";
 * const a = await openDenoUdpSocket("127.0.0.1:0");
 * const b = await openDenoUdpSocket("127.0.0.1:0");
 * const got = new Promise<string>((resolve) => b.listen((_data, from) => resolve(from)));
 * await a.send(new Uint8Array([1, 2, 3]), b.localAddr);
 * assert.equal(await got, a.localAddr);
 * await a.close();
 * await b.close();
 * ```
 */
export function openDenoUdpSocket(addr: string): Promise<Socket> {
  try {
    return Promise.resolve(bind(addr));
  } catch (error) {
    return Promise.reject(error);
  }
}

function bind(addr: string): Socket {
  const canonical = normalizeAddress(addr);
  const { hostname, port } = parseAddress(canonical);
  const deno = denoNamespace();
  if (typeof deno.listenDatagram !== "function") {
    throw new TypeError(
      `Cannot bind ${canonical}: Deno.listenDatagram is unavailable; run with --unstable-net or add "unstable": ["net"] to deno.json`,
    );
  }
  try {
    return new DenoUdpSocket(deno, deno.listenDatagram({ transport: "udp", hostname, port }));
  } catch (error) {
    if (error instanceof deno.errors.AddrInUse) {
      throw new AddressInUseError(canonical, { cause: error });
    }
    const notCapable = deno.errors.NotCapable;
    if (notCapable !== undefined && error instanceof notCapable) throw error;
    throw bindError(canonical, hostname, error);
  }
}
