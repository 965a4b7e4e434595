/**
 * One opener for every runtime: loads only the adapter of the runtime it runs
 * on (Deno, Bun, else `node:dgram`), which checks the address.
 * @module
 */

import type { AddressInput } from "../core/address.ts";
import type { Socket } from "../runtime/socket.ts";

/**
 * Binds a UDP socket with the adapter native to the current runtime:
 * `Deno.listenDatagram` on Deno (needs `--unstable-net`), `Bun.udpSocket` on
 * Bun, `node:dgram` elsewhere. A malformed address rejects with a
 * `TypeError` quoting it. Port 0 takes a free port and a
 * host name such as `localhost` binds to what it resolves to; `localAddr`
 * reports the literal and port actually bound.
 *
 * Loading this module touches no runtime global: the adapter is imported on
 * the first call.
 *
 * @example Open, exchange one datagram, close
 * ```ts
 * import { openUdpSocket } from "@scope/chitchat";
 * import assert from "node:assert/strict";
 * const a = await openUdpSocket("127.0.0.1:0");
 * const b = await openUdpSocket({ hostname: "127.0.0.1", port: 0 });
 * const got = new Promise<Uint8Array>((resolve) => b.listen((data) => resolve(data)));
 * await a.send(new TextEncoder().encode("hi"), b.localAddr);
 * assert.equal(new TextDecoder().decode(await got), "hi");
 * await a.close();
 * await b.close();
 * ```
 */
export async function openUdpSocket(addr: AddressInput): Promise<Socket> {
  if ("Deno" in globalThis) {
    const { openDenoUdpSocket } = await import("./deno.ts");
    return await openDenoUdpSocket(addr);
  }
  if ("Bun" in globalThis) {
    const { openBunUdpSocket } = await import("./bun.ts");
    return await openBunUdpSocket(addr);
  }
  const { openNodeUdpSocket } = await import("./node.ts");
  return await openNodeUdpSocket(addr);
}
