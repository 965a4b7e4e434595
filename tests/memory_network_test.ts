import { test } from "node:test";
import assert from "node:assert/strict";
import { ManualClock } from "../src/testing/manual_clock.ts";
import { MemoryNetwork, type MemoryNetworkOptions } from "../src/testing/memory_network.ts";
import { normalizeAddress } from "../src/core/address.ts";
import type { Socket } from "../src/runtime/socket.ts";
import { AddressInUseError } from "../src/runtime/socket.ts";

interface Delivery {
  at: number;
  from: string;
  to: string;
  seq: number;
}

/** A network on a fresh manual clock, with `count` listening sockets at 10.0.0.i:7000. */
async function setup(
  count: number,
  options: Partial<MemoryNetworkOptions> = {},
): Promise<{ clock: ManualClock; network: MemoryNetwork; sockets: Socket[]; log: Delivery[] }> {
  const clock = new ManualClock();
  const network = new MemoryNetwork({ clock, seed: 1, ...options });
  const log: Delivery[] = [];
  const sockets: Socket[] = [];
  for (let i = 1; i <= count; i++) {
    const socket = await network.open(`10.0.0.${i}:7000`);
    socket.listen((data, from) => {
      log.push({ at: clock.now(), from, to: socket.localAddr, seq: data[0] | (data[1] << 8) });
    });
    sockets.push(socket);
  }
  return { clock, network, sockets, log };
}

function datagram(seq: number, size = 2): Uint8Array {
  const bytes = new Uint8Array(size);
  bytes[0] = seq & 0xff;
  bytes[1] = seq >> 8;
  return bytes;
}

/** Sends `n` numbered datagrams from a to b and runs the clock dry. */
async function flood(n: number, options: Partial<MemoryNetworkOptions>): Promise<Delivery[]> {
  const { clock, sockets, log } = await setup(2, options);
  for (let i = 0; i < n; i++) {
    await sockets[0].send(datagram(i), sockets[1].localAddr);
    if (i % 10 === 9) clock.advance(1);
  }
  clock.runUntilIdle(10_000);
  return log;
}

test("open() normalizes the address and allocates distinct ports for port 0", async () => {
  const network = new MemoryNetwork({ clock: new ManualClock(), seed: 1 });
  const v6 = await network.open("[0:0::1]:7000");
  assert.equal(v6.localAddr, normalizeAddress("[0:0::1]:7000"));
  const a = await network.open("127.0.0.1:0");
  const b = await network.open("127.0.0.1:0");
  assert.match(a.localAddr, /^127\.0\.0\.1:\d+$/);
  assert.notEqual(a.localAddr, b.localAddr);
  assert.ok(Number(a.localAddr.split(":")[1]) >= 49152);
  assert.equal((await network.opener("[::1]:0")).localAddr.startsWith("[::1]:"), true);
  await assert.rejects(network.open("nonsense"), TypeError);
});

test("open() rejects a bound address with AddressInUseError; close() frees it", async () => {
  const network = new MemoryNetwork({ clock: new ManualClock(), seed: 1 });
  const socket = await network.open("127.0.0.1:9000");
  await assert.rejects(network.open("127.0.0.1:9000"), (error: unknown) => {
    assert.ok(error instanceof AddressInUseError);
    assert.equal(error.addr, "127.0.0.1:9000");
    return true;
  });
  await socket.close();
  await socket.close();
  const again = await network.open("127.0.0.1:9000");
  assert.equal(again.localAddr, "127.0.0.1:9000");
});

test("send() resolves at once and delivers exactly at now + latency without jitter", async () => {
  const { clock, sockets, log } = await setup(2, { latencyMs: 25 });
  clock.advance(3);
  await sockets[0].send(datagram(1), "10.0.0.2:7000");
  assert.equal(log.length, 0);
  clock.advance(24);
  assert.equal(log.length, 0);
  clock.advance(1);
  assert.deepEqual(log, [{ at: 28, from: "10.0.0.1:7000", to: "10.0.0.2:7000", seq: 1 }]);
});

test("send() copies the payload so the caller may reuse its buffer", async () => {
  const { clock, sockets, log } = await setup(2);
  const buffer = datagram(5);
  await sockets[0].send(buffer, sockets[1].localAddr);
  buffer[0] = 99;
  clock.advance(1);
  assert.equal(log[0].seq, 5);
});

test("without jitter datagrams arrive in send order", async () => {
  const log = await flood(200, { latencyMs: 4 });
  assert.deepEqual(log.map((d) => d.seq), Array.from({ length: 200 }, (_, i) => i));
});

test("jitter reorders datagrams and keeps delays within latency + jitter", async () => {
  const { clock, sockets, log } = await setup(2, { latencyMs: 10, jitterMs: 20 });
  for (let i = 0; i < 100; i++) await sockets[0].send(datagram(i), sockets[1].localAddr);
  clock.advance(9);
  assert.equal(log.length, 0);
  clock.advance(21);
  assert.equal(log.length, 100);
  assert.ok(log.every((d) => d.at >= 10 && d.at < 30));
  const order = log.map((d) => d.seq);
  assert.notDeepEqual(order, [...order].sort((a, b) => a - b));
});

test("the same seed replays the same delivery trace; another seed differs", async () => {
  const options = { latencyMs: 5, jitterMs: 10, loss: 0.2, duplicate: 0.1 };
  const first = await flood(500, { ...options, seed: 42 });
  const second = await flood(500, { ...options, seed: 42 });
  const other = await flood(500, { ...options, seed: 43 });
  assert.ok(first.length > 300);
  assert.deepEqual(second, first);
  assert.notDeepEqual(other, first);
});

test("loss drops about the configured share of 10 000 datagrams", async () => {
  const log = await flood(10_000, { loss: 0.3, seed: 7 });
  const lost = 10_000 - log.length;
  // Binomial(10 000, 0.3): standard deviation ~46; allow more than 6 of them.
  assert.ok(Math.abs(lost - 3000) < 300, `lost ${lost}`);
});

test("duplicate delivers extra copies, counted once per copy", async () => {
  const always = await setup(2, { duplicate: 1 });
  await always.sockets[0].send(datagram(3), always.sockets[1].localAddr);
  always.clock.advance(1);
  assert.deepEqual(always.log.map((d) => d.seq), [3, 3]);
  assert.equal(always.network.stats("10.0.0.1:7000").duplicated, 1);
  assert.equal(always.network.stats("10.0.0.2:7000").datagramsReceived, 2);

  const log = await flood(10_000, { duplicate: 0.25, seed: 9 });
  const extra = log.length - 10_000;
  assert.ok(Math.abs(extra - 2500) < 300, `extra ${extra}`);
});

test("oversized datagrams are dropped and counted; exactly the MTU passes", async () => {
  const { clock, network, sockets, log } = await setup(2, { mtu: 100 });
  await sockets[0].send(datagram(1, 100), sockets[1].localAddr);
  await sockets[0].send(datagram(2, 101), sockets[1].localAddr);
  clock.advance(1);
  assert.deepEqual(log.map((d) => d.seq), [1]);
  assert.deepEqual(network.stats("10.0.0.1:7000"), {
    datagramsSent: 2,
    bytesSent: 201,
    datagramsReceived: 0,
    bytesReceived: 0,
    dropped: 1,
    duplicated: 0,
  });
  const big = new MemoryNetwork({ clock, seed: 1 });
  const c = await big.open("10.0.0.3:1");
  await c.send(new Uint8Array(65_508), c.localAddr);
  assert.equal(big.stats(c.localAddr).dropped, 1);
});

test("strictMtu makes send() reject with a RangeError naming size and MTU", async () => {
  const { network, sockets } = await setup(2, { mtu: 1200, strictMtu: true });
  await assert.rejects(sockets[0].send(new Uint8Array(1500), sockets[1].localAddr), {
    name: "RangeError",
    message: /1500 bytes.*1200 bytes/,
  });
  await sockets[0].send(new Uint8Array(1200), sockets[1].localAddr);
  assert.equal(network.stats(sockets[0].localAddr).datagramsSent, 1);
});

test("datagrams to nobody, or before listen, are dropped and counted", async () => {
  const { clock, network, sockets } = await setup(1);
  const silent = await network.open("10.0.0.9:7000");
  await sockets[0].send(datagram(1), "10.0.0.8:7000");
  await sockets[0].send(datagram(2), silent.localAddr);
  clock.advance(1);
  assert.equal(network.stats("10.0.0.1:7000").dropped, 2);
  assert.equal(network.stats("10.0.0.9:7000").datagramsReceived, 0);
});

test("partition() cuts both ways between groups until heal()", async () => {
  const { clock, network, sockets, log } = await setup(4);
  const [a, b, c, d] = sockets.map((s) => s.localAddr);
  await sockets[0].send(datagram(0), c);
  network.partition([a, b], [c, d]);
  clock.advance(1);
  assert.equal(log.length, 1, "datagrams already in flight still arrive");
  await sockets[0].send(datagram(1), c);
  await sockets[2].send(datagram(2), b);
  await sockets[0].send(datagram(3), b);
  await sockets[2].send(datagram(4), d);
  clock.advance(1);
  assert.deepEqual(log.slice(1).map((x) => x.seq), [3, 4]);
  network.heal();
  await sockets[0].send(datagram(5), c);
  await sockets[2].send(datagram(6), b);
  clock.advance(1);
  assert.deepEqual(log.slice(3).map((x) => x.seq), [5, 6]);
  assert.equal(network.stats(a).dropped + network.stats(c).dropped, 2);
  assert.throws(() => network.partition([a], [a]), RangeError);
});

test("isolate() cuts every link of one address until heal()", async () => {
  const { clock, network, sockets, log } = await setup(3);
  network.isolate("10.0.0.2:7000");
  await sockets[0].send(datagram(1), "10.0.0.2:7000");
  await sockets[1].send(datagram(2), "10.0.0.3:7000");
  await sockets[1].send(datagram(3), "10.0.0.2:7000");
  await sockets[0].send(datagram(4), "10.0.0.3:7000");
  clock.advance(1);
  assert.deepEqual(log.map((d) => d.seq), [3, 4]);
  network.heal();
  await sockets[0].send(datagram(5), "10.0.0.2:7000");
  clock.advance(1);
  assert.equal(log.at(-1)?.seq, 5);
});

test("setLink() is directional; setSymmetricLink() sets both ways", async () => {
  const { clock, network, sockets, log } = await setup(2, { latencyMs: 1 });
  const [a, b] = sockets.map((s) => s.localAddr);
  network.setLink(a, b, { latencyMs: 50 });
  network.setLink(a, b, { loss: 0 });
  await sockets[0].send(datagram(1), b);
  await sockets[1].send(datagram(2), a);
  clock.advance(1);
  assert.deepEqual(log.map((d) => d.seq), [2]);
  clock.advance(49);
  assert.deepEqual(log.map((d) => [d.seq, d.at]), [[2, 1], [1, 50]]);
  network.setSymmetricLink(a, b, { loss: 1 });
  await sockets[0].send(datagram(3), b);
  await sockets[1].send(datagram(4), a);
  clock.advance(100);
  assert.equal(log.length, 2);
  network.clearLinks();
  await sockets[0].send(datagram(5), b);
  clock.advance(1);
  assert.equal(log.at(-1)?.seq, 5);
  assert.throws(() => network.setLink(a, b, { loss: 1.5 }), {
    name: "RangeError",
    message: /1\.5/,
  });
});

test("counters are exact and totals() sums them", async () => {
  const { clock, network, sockets } = await setup(3, { loss: 0.3, duplicate: 0.2, jitterMs: 3 });
  for (let i = 0; i < 300; i++) {
    await sockets[i % 3].send(datagram(i, 1 + (i % 5)), sockets[(i + 1) % 3].localAddr);
  }
  await sockets[0].send(datagram(0, 10), "10.0.0.50:1");
  clock.advance(2);
  const mid = network.totals();
  assert.equal(
    mid.datagramsSent + mid.duplicated,
    mid.datagramsReceived + mid.dropped + network.inFlight,
  );
  clock.runUntilIdle(100);
  assert.equal(network.inFlight, 0);
  const total = network.totals();
  assert.equal(total.datagramsSent, 301);
  assert.equal(total.bytesSent, 300 * 3 + 10);
  assert.equal(total.datagramsSent + total.duplicated, total.datagramsReceived + total.dropped);
  const perNode = sockets.map((s) => network.stats(s.localAddr));
  assert.equal(perNode.reduce((sum, s) => sum + s.bytesReceived, 0), total.bytesReceived);
  assert.deepEqual(perNode.map((s) => s.datagramsSent), [101, 100, 100]);
  assert.equal(network.stats("10.9.9.9:1").datagramsSent, 0);
});

test("close() stops deliveries, even in flight, and send() then rejects", async () => {
  const { clock, network, sockets, log } = await setup(2);
  await sockets[0].send(datagram(1), sockets[1].localAddr);
  await sockets[1].close();
  clock.advance(1);
  assert.equal(log.length, 0);
  assert.equal(network.stats("10.0.0.1:7000").dropped, 1);
  await assert.rejects(
    sockets[1].send(datagram(2), sockets[0].localAddr),
    /10\.0\.0\.2:7000.*closed/,
  );
});

test("listen() twice throws TypeError; bad destinations reject", async () => {
  const { sockets } = await setup(1);
  assert.throws(() => sockets[0].listen(() => {}), TypeError);
  await assert.rejects(sockets[0].send(datagram(1), "no port"), TypeError);
});

test("onDatagram sees every sent datagram, lost ones included", async () => {
  const seen: string[] = [];
  const { clock, sockets, log } = await setup(2, {
    loss: 1,
    onDatagram: (from, to, bytes) => seen.push(`${from}>${to}:${bytes.length}`),
  });
  await sockets[0].send(new Uint8Array(7), "10.0.0.2:7000");
  clock.advance(10);
  assert.deepEqual(seen, ["10.0.0.1:7000>10.0.0.2:7000:7"]);
  assert.equal(log.length, 0);
});

test("the constructor refuses invalid settings with RangeError", () => {
  const clock = new ManualClock();
  assert.throws(() => new MemoryNetwork({ clock, seed: 1, loss: -0.1 }), /-0\.1/);
  assert.throws(() => new MemoryNetwork({ clock, seed: 1, latencyMs: Number.NaN }), RangeError);
  assert.throws(() => new MemoryNetwork({ clock, seed: 1, mtu: 0 }), {
    name: "RangeError",
    message: /MTU 0/,
  });
  assert.throws(() => new MemoryNetwork({ clock, seed: 0.5 }), RangeError);
});

test("setDefaults() changes every link that has no override for that field", async () => {
  const { clock, network, sockets, log } = await setup(3, { latencyMs: 1 });
  const [a, b, c] = sockets.map((s) => s.localAddr);
  network.setLink(a, c, { latencyMs: 2 });
  network.setDefaults({ latencyMs: 10 });
  await sockets[0].send(datagram(1), b);
  await sockets[0].send(datagram(2), c);
  clock.advance(10);
  assert.deepEqual(log.map((d) => [d.seq, d.at]), [[2, 2], [1, 10]]);
  assert.throws(() => network.setDefaults({ duplicate: 2 }), RangeError);
});
