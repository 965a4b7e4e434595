/**
 * UDP sockets over `node:dgram`, for Node and for any runtime that provides
 * it (Deno and Bun do). Host names are resolved with `node:dns`.
 * @module
 */

import { createSocket, type RemoteInfo, type Socket as DgramSocket } from "node:dgram";
import { lookup } from "node:dns/promises";
import { formatAddress, isIPv4, isIPv6, normalizeAddress, parseAddress } from "../core/address.ts";
import type { DatagramHandler, Socket } from "../runtime/socket.ts";
import { bindError } from "./bind_error.ts";

// The interface the socket implements, so this entry point documents on its own.
export type { DatagramHandler, Socket } from "../runtime/socket.ts";

/** How many times a send failing with a stale `ECONNREFUSED` is retried (see `send`). */
const STALE_ERROR_RETRIES = 16;

class NodeUdpSocket implements Socket {
  readonly localAddr: string;
  #dgram: DgramSocket;
  #handler: DatagramHandler | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(dgram: DgramSocket) {
    this.#dgram = dgram;
    const { address, port } = dgram.address();
    this.localAddr = formatAddress({ hostname: address, port });
    dgram.on("message", (message: Uint8Array, remote: RemoteInfo) => {
      const handler = this.#handler;
      if (this.#closed || handler === undefined) return;
      // A Buffer is a Uint8Array subclass; hand out a plain view of the same bytes.
      const bytes = new Uint8Array(message.buffer, message.byteOffset, message.byteLength);
      handler(bytes, formatAddress({ hostname: remote.address, port: remote.port }));
    });
    // Receive errors after binding are not fatal for a gossip socket: without a
    // listener Node would throw them as uncaught exceptions.
    dgram.on("error", () => {});
  }

  /**
   * Sends one datagram; a host name is resolved by `node:dgram` with the
   * socket's family. An `ECONNREFUSED` is retried: it never concerns this
   * datagram (UDP learns of a closed port only later, by ICMP) but an earlier
   * one, and Bun's `node:dgram` reports it on the next send without sending.
   */
  send(data: Uint8Array, to: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let attempts = 0;
      const attempt = (): void => {
        try {
          const { hostname, port } = parseAddress(to);
          if (this.#closed) {
            throw new Error(`Cannot send to ${to}: socket ${this.localAddr} is closed`);
          }
          this.#dgram.send(data, port, hostname, (error) => {
            if (!error) resolve();
            else if (errorCode(error) === "ECONNREFUSED" && ++attempts <= STALE_ERROR_RETRIES) {
              attempt();
            } else reject(error);
          });
        } catch (error) {
          if (errorCode(error) === "ECONNREFUSED" && ++attempts <= STALE_ERROR_RETRIES) attempt();
          else reject(error);
        }
      };
      attempt();
    });
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
      this.#closing = new Promise<void>((resolve) => this.#dgram.close(() => resolve()));
    }
    return this.#closing;
  }
}

/** Resolves a host name to the literal to bind, keeping IP literals as they are. */
async function bindHost(hostname: string): Promise<{ address: string; family: 4 | 6 }> {
  if (isIPv4(hostname)) return { address: hostname, family: 4 };
  if (isIPv6(hostname)) return { address: hostname, family: 6 };
  const { address, family } = await lookup(hostname);
  return { address, family: family === 6 ? 6 : 4 };
}

function bind(dgram: DgramSocket, address: string, port: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    dgram.once("error", reject);
    // `exclusive` keeps Node's cluster workers from silently sharing the port.
    dgram.bind({ address, port, exclusive: true }, () => {
      dgram.off("error", reject);
      resolve();
    });
  });
}

/**
 * Binds a UDP socket with `node:dgram` (`udp4` or `udp6` after the family of
 * the host; a host name such as `localhost` is looked up first and
 * {@linkcode Socket.localAddr} shows the literal bound). Port 0 takes a free
 * port. Sending to a host name resolves it with the socket's family.
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
export async function openNodeUdpSocket(addr: string): Promise<Socket> {
  const canonical = normalizeAddress(addr);
  const { hostname, port } = parseAddress(canonical);
  let bound: { address: string; family: 4 | 6 };
  try {
    bound = await bindHost(hostname);
  } catch (error) {
    throw bindError(canonical, hostname, error);
  }
  const { address, family } = bound;
  const dgram = createSocket(family === 6 ? "udp6" : "udp4");
  try {
    await bind(dgram, address, port);
  } catch (error) {
    try {
      dgram.close();
    } catch {
      // Already closed by the failed bind.
    }
    throw bindError(canonical, hostname, error);
  }
  return new NodeUdpSocket(dgram);
}

function errorCode(error: unknown): unknown {
  return typeof error === "object" && error !== null
    ? (error as { code?: unknown }).code
    : undefined;
}
