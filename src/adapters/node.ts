/**
 * UDP sockets over `node:dgram`, for Node and for any runtime that provides
 * it (Deno and Bun do). Host names are resolved with `node:dns`.
 * @module
 */

import { createSocket, type RemoteInfo, type Socket as DgramSocket } from "node:dgram";
import type { AddressInput, SocketAddress } from "../core/address.ts";
import type { Socket } from "../runtime/socket.ts";
import {
  type DatagramTransport,
  openTransportSocket,
  type Receive,
  resolveHost,
} from "./udp_socket.ts";

// The types the opener's signature names, so this entry point documents on its own.
export type { AddressInput, SocketAddress } from "../core/address.ts";
export type { DatagramHandler, Socket } from "../runtime/socket.ts";

function listen(dgram: DgramSocket, address: string, port: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    dgram.once("error", reject);
    // `exclusive` keeps Node's cluster workers from silently sharing the port.
    dgram.bind({ address, port, exclusive: true }, () => {
      dgram.off("error", reject);
      resolve();
    });
  });
}

/** Looks a host name up first, to bind a `udp4` or `udp6` socket after its family. */
async function bind(
  { hostname, port }: SocketAddress,
  receive: Receive,
): Promise<DatagramTransport> {
  const { address, family } = await resolveHost(hostname);
  const dgram = createSocket(family === 6 ? "udp6" : "udp4");
  try {
    await listen(dgram, address, port);
  } catch (error) {
    try {
      dgram.close();
    } catch {
      // Already closed by the failed bind.
    }
    throw error;
  }
  dgram.on(
    "message",
    (data: Uint8Array, from: RemoteInfo) => receive(data, from.address, from.port),
  );
  // Receive errors after binding are not fatal for a gossip socket: without a
  // listener Node would throw them as uncaught exceptions.
  dgram.on("error", () => {});
  const bound = dgram.address();
  return {
    address: { hostname: bound.address, port: bound.port },
    send: (data, hostname, port) =>
      new Promise<void>((resolve, reject) =>
        dgram.send(data, port, hostname, (error) => error ? reject(error) : resolve())
      ),
    close: () => new Promise<void>((resolve) => dgram.close(() => resolve())),
  };
}

/**
 * Binds a UDP socket with `node:dgram` (`udp4` or `udp6` after the family of
 * the host; a host name such as `localhost` is looked up first and
 * {@linkcode Socket.localAddr} shows the literal bound). `addr` is
 * `host:port` or `{ hostname, port }`; port 0 takes a free port. Sending to
 * a host name resolves it with the socket's family.
 *
 * Rejects with `AddressInUseError` when the address is taken, `TypeError`
 * when it is malformed, and a `BindError` naming the address (the runtime's
 * error as its `cause`) when it cannot be bound otherwise: not an address of
 * this machine, a host name that does not resolve.
 *
 * @example Two sockets on loopback
 * ```ts
 * import { openNodeUdpSocket } from "@scope/chitchat/node";
 * import assert from "node:assert/strict";
 * const a = await openNodeUdpSocket("127.0.0.1:0");
 * const b = await openNodeUdpSocket("127.0.0.1:0");
 * const got = new Promise<string>((resolve) => b.listen((_data, from) => resolve(from)));
 * await a.send(new Uint8Array([1, 2, 3]), b.localAddr);
 * assert.equal(await got, a.localAddr);
 * await a.close();
 * await b.close();
 * ```
 */
export function openNodeUdpSocket(addr: AddressInput): Promise<Socket> {
  return openTransportSocket(addr, bind);
}
