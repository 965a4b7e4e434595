/**
 * UDP sockets for Bun over `Bun.udpSocket`. Bun's `send` takes IP literals
 * only; the shared socket resolves host names before sending.
 * @module
 */

import type { AddressInput, SocketAddress } from "../core/address.ts";
import type { Socket } from "../runtime/socket.ts";
import { type DatagramTransport, openTransportSocket, type Receive } from "./udp_socket.ts";

// The types the opener's signature names, so this entry point documents on its own.
export type { AddressInput, SocketAddress } from "../core/address.ts";
export type { DatagramHandler, Socket } from "../runtime/socket.ts";

/** The part of Bun's unconnected `udp.Socket` used here. */
interface BunRawSocket {
  readonly address: { readonly address: string; readonly port: number };
  send(data: Uint8Array, port: number, address: string): boolean;
  close(): void;
}

/** The part of the `Bun` namespace used here, typed structurally (no bun-types). */
interface BunNamespace {
  udpSocket(options: {
    hostname: string;
    port: number;
    binaryType: "uint8array";
    socket: {
      data(socket: BunRawSocket, data: Uint8Array, port: number, address: string): void;
      drain(socket: BunRawSocket): void;
      error(...args: unknown[]): void;
    };
  }): Promise<BunRawSocket>;
}

/** Binds with `Bun.udpSocket`; `send` returning false (backpressure) waits for `drain`. */
async function bind(
  { hostname, port }: SocketAddress,
  receive: Receive,
): Promise<DatagramTransport> {
  const bun = (globalThis as { Bun?: BunNamespace }).Bun;
  if (bun === undefined) {
    throw new TypeError("The Bun adapter needs the Bun runtime; globalThis.Bun is missing");
  }
  let drainWaiters: Array<() => void> = [];
  const wakeSenders = (): void => {
    const waiters = drainWaiters;
    drainWaiters = [];
    for (const wake of waiters) wake();
  };
  const raw = await bun.udpSocket({
    hostname,
    port,
    binaryType: "uint8array",
    socket: {
      data: (_socket, data, port, address) => receive(data, address, port),
      drain: wakeSenders,
      // ICMP errors for earlier datagrams (ECONNREFUSED from the error queue):
      // UDP on Deno and Node never reports them, so they are dropped here too.
      error: () => {},
    },
  });
  return {
    address: { hostname: raw.address.address, port: raw.address.port },
    send: (data, hostname, port) => raw.send(data, port, hostname),
    drained: () => new Promise<void>((resolve) => drainWaiters.push(resolve)),
    close: () => {
      raw.close();
      wakeSenders();
    },
  };
}

/**
 * Binds a UDP socket on Bun. `addr` is `host:port` or `{ hostname, port }`;
 * port 0 takes a free port, which {@linkcode Socket.localAddr} then reports.
 * A host name such as `localhost` is resolved by Bun and `localAddr` shows
 * the literal bound.
 *
 * Rejects with `AddressInUseError` when the address is taken, `TypeError`
 * when it is malformed, and a `BindError` naming the address (Bun's error
 * as its `cause`) when it cannot be bound otherwise: not an address of this
 * machine, a host name that does not resolve.
 *
 * Quirks absorbed: `send` returning false (backpressure) makes the send wait
 * for `drain` and retry (`close()` rejects the waiting sends); a stale
 * `ECONNREFUSED` left by an earlier datagram is retried past; received bytes
 * are plain `Uint8Array`s.
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
export function openBunUdpSocket(addr: AddressInput): Promise<Socket> {
  return openTransportSocket(addr, bind);
}
