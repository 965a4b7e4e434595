/**
 * UDP sockets for Deno over `Deno.listenDatagram`, which needs `--unstable-net`
 * or `"unstable": ["net"]` in deno.json, and `--allow-net`. Nothing else.
 * @module
 */

import { type AddressInput, formatAddress } from "../core/address.ts";
import type { Socket } from "../runtime/socket.ts";
import { type DatagramTransport, openTransportSocket, type Receive } from "./udp_socket.ts";

// The types the opener's signature names, so this entry point documents on its own.
export type { AddressInput, SocketAddress } from "../core/address.ts";
export type { DatagramHandler, Socket } from "../runtime/socket.ts";

/** Larger than any UDP payload (65 507 bytes over IPv4, 65 527 over IPv6): receives never truncate. */
const MAX_DATAGRAM = 65_536;

const UNSTABLE_NET = 'run with --unstable-net or add "unstable": ["net"] to deno.json';

/** The part of `Deno.NetAddr` used here. */
type DenoNetAddr = { transport: "udp"; hostname: string; port: number };

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
  errors: Record<"BadResource" | "Interrupted" | "ConnectionReset", new () => Error>;
}

/** Binds with `Deno.listenDatagram` and pulls datagrams into `receive` until closed. */
function bind(at: { hostname: string; port: number }, receive: Receive): DatagramTransport {
  const deno = (globalThis as { Deno?: DenoNamespace }).Deno;
  if (deno === undefined) {
    throw new TypeError("The Deno adapter needs the Deno runtime; globalThis.Deno is missing");
  }
  if (typeof deno.listenDatagram !== "function") {
    throw new TypeError(
      `Cannot bind ${formatAddress(at)}: Deno.listenDatagram is unavailable; ${UNSTABLE_NET}`,
    );
  }
  const conn = deno.listenDatagram({ transport: "udp", ...at });
  const { BadResource, ConnectionReset, Interrupted } = deno.errors;
  let closed = false;
  const pull = async (): Promise<void> => {
    const buffer = new Uint8Array(MAX_DATAGRAM);
    while (!closed) {
      let data: Uint8Array, from: DenoNetAddr;
      try {
        [data, from] = await conn.receive(buffer);
      } catch (error) {
        if (closed || error instanceof BadResource || error instanceof Interrupted) return;
        // Windows reports an ICMP "port unreachable" for an earlier send on the next receive.
        if (error instanceof ConnectionReset) continue;
        throw error;
      }
      // The buffer is reused, so the socket gets its own copy of exactly the datagram.
      if (!closed) receive(data.slice(), from.hostname, from.port);
    }
  };
  // Rethrown outside any promise chain, so an unexpected failure is reported, not swallowed.
  const loop = pull().catch((error) =>
    queueMicrotask(() => {
      throw error;
    })
  );
  return {
    address: conn.addr,
    send: (data, hostname, port) => conn.send(data, { transport: "udp", hostname, port }),
    close: () => {
      closed = true;
      conn.close();
      return loop;
    },
  };
}

/**
 * Binds a UDP socket on Deno. `addr` is `host:port` or `{ hostname, port }`;
 * port 0 takes a free port and a host name such as `localhost` is resolved
 * by Deno: {@linkcode Socket.localAddr} reports the literal and port bound.
 * Sending to a host name resolves it (`node:dns`, loaded on first use) with
 * the socket's address family.
 *
 * Rejects with `AddressInUseError` when the address is taken, `TypeError`
 * when it is malformed or `Deno.listenDatagram` is unavailable (run with
 * `--unstable-net`), Deno's `NotCapable` without `--allow-net`, else a
 * `BindError` naming the address and the reason (Deno's error as `cause`).
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
export function openDenoUdpSocket(addr: AddressInput): Promise<Socket> {
  // A missing permission is Deno's own error (`Deno.errors.NotCapable`), not a bind failure.
  const notCapable = (error: unknown) => error instanceof Error && error.name === "NotCapable";
  return openTransportSocket(addr, bind, { rethrow: notCapable });
}
