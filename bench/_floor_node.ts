/**
 * The bare-runtime floor of `bench/cpu_process.ts`: a process with one UDP
 * socket of the runtime's own API (`Deno.listenDatagram`, `Bun.udpSocket`,
 * else `node:dgram`) that exchanges the datagrams of a gossip round and does
 * no protocol work. Every interval it sends a 64-byte "syn" to `fanout`
 * random peers; a syn is answered with a "synack", a synack with an "ack",
 * so each process sends and receives about 3 × fanout datagrams a round, as
 * a chitchat node does. On the first datagram it sends it prints
 * `{"event":"sent"}` on stdout.
 *
 *   <runtime> bench/_floor_node.ts <port> <peer ports, comma-separated> [intervalMs] [fanout]
 * @module
 */

import process from "node:process";

const [portArg, peersArg, intervalArg, fanoutArg] = process.argv.slice(2);
const port = Number(portArg);
const peers = peersArg.split(",").map(Number).filter((p) => p !== port);
const intervalMs = Number(intervalArg ?? 300);
const fanout = Math.min(peers.length, Number(fanoutArg ?? 3));

const SYN = 1;
const SYN_ACK = 2;
const ACK = 3;
const datagrams = [SYN, SYN_ACK, ACK].map((kind) => new Uint8Array(64).fill(kind));

type Send = (data: Uint8Array, port: number) => void;
let announced = false;
function announce(): void {
  if (announced) return;
  announced = true;
  process.stdout.write(`${JSON.stringify({ event: "sent", at: Date.now() })}\n`);
}

function onDatagram(data: Uint8Array, from: number, send: Send): void {
  if (data[0] === SYN) send(datagrams[1], from);
  else if (data[0] === SYN_ACK) send(datagrams[2], from);
}

function round(send: Send): void {
  const chosen = new Set<number>();
  while (chosen.size < fanout) chosen.add(peers[Math.floor(Math.random() * peers.length)]);
  for (const to of chosen) send(datagrams[0], to);
  announce();
}

const g = globalThis as Record<string, unknown>;
let send: Send;
if (g.Deno !== undefined) {
  type Addr = { transport: "udp"; hostname: string; port: number };
  const deno = g.Deno as {
    listenDatagram(a: Addr): {
      receive(b?: Uint8Array): Promise<[Uint8Array, Addr]>;
      send(d: Uint8Array, a: Addr): Promise<number>;
    };
  };
  const conn = deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port });
  send = (data, to) =>
    void conn.send(data, { transport: "udp", hostname: "127.0.0.1", port: to }).catch(() => {});
  void (async () => {
    const buffer = new Uint8Array(65_536);
    for (;;) {
      const [data, from] = await conn.receive(buffer);
      onDatagram(data, from.port, send);
    }
  })();
} else if (g.Bun !== undefined) {
  const bun = g.Bun as {
    udpSocket(o: unknown): Promise<{ send(d: Uint8Array, port: number, host: string): boolean }>;
  };
  const socket = await bun.udpSocket({
    hostname: "127.0.0.1",
    port,
    binaryType: "uint8array",
    socket: {
      data: (_s: unknown, data: Uint8Array, from: number) => onDatagram(data, from, send),
      error: () => {},
    },
  });
  send = (data, to) => {
    try {
      socket.send(data, to, "127.0.0.1");
    } catch {
      // A stale ECONNREFUSED of an earlier datagram (a peer not yet bound): this one is lost.
    }
  };
} else {
  const { createSocket } = await import("node:dgram");
  const socket = createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(port, "127.0.0.1", resolve));
  socket.on("message", (data, info) => onDatagram(data, info.port, send));
  send = (data, to) => socket.send(data, to, "127.0.0.1");
}
round(send);
setInterval(() => round(send), intervalMs);
