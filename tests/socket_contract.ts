/**
 * The contract every UDP `Socket` adapter honours, as a suite of `node:test`
 * tests registered by {@linkcode socketContract}. Imported by test files; not
 * a test file itself. Waiting is bounded: a datagram that does not come within
 * five seconds fails the test, nothing sleeps for correctness.
 * @module
 */

import { test } from "node:test";
import assert from "node:assert/strict";
import { networkInterfaces } from "node:os";
import { isIPv4, isIPv6, normalizeAddress, parseAddress } from "../src/core/address.ts";
import { AddressInUseError, type Socket } from "../src/runtime/socket.ts";

/** Opens a socket bound to `addr`, the shape of every adapter's opener. */
export type Open = (addr: string) => Promise<Socket>;

const WAIT_MS = 5_000;

interface Datagram {
  data: Uint8Array;
  from: string;
}

/** Queues what a socket receives; `next()` waits for the next datagram, at most five seconds. */
class Inbox {
  readonly received: Datagram[] = [];
  #cursor = 0;
  #wake: (() => void) | undefined;
  #addr: string;

  constructor(socket: Socket) {
    this.#addr = socket.localAddr;
    socket.listen((data, from) => {
      this.received.push({ data, from });
      this.#wake?.();
    });
  }

  async next(): Promise<Datagram> {
    while (this.#cursor >= this.received.length) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      try {
        await new Promise<void>((resolve, reject) => {
          this.#wake = resolve;
          timer = setTimeout(
            () => reject(new Error(`No datagram reached ${this.#addr} within ${WAIT_MS} ms`)),
            WAIT_MS,
          );
        });
      } finally {
        clearTimeout(timer);
        this.#wake = undefined;
      }
    }
    return this.received[this.#cursor++];
  }

  /** Waits for `count` more datagrams. */
  async take(count: number): Promise<Datagram[]> {
    const out: Datagram[] = [];
    for (let i = 0; i < count; i++) out.push(await this.next());
    return out;
  }
}

/** Opens one socket per address, runs `body`, and closes every socket opened, whatever happens. */
async function withSockets(
  open: Open,
  addrs: string[],
  body: (sockets: Socket[]) => Promise<void>,
): Promise<void> {
  const sockets: Socket[] = [];
  try {
    for (const addr of addrs) sockets.push(await open(addr));
    await body(sockets);
  } finally {
    await Promise.all(sockets.map((socket) => socket.close()));
  }
}

function bytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

function portOf(addr: string): number {
  return parseAddress(addr).port;
}

function assertPlainBytes(actual: Uint8Array, expected: Uint8Array): void {
  assert.equal(
    Object.getPrototypeOf(actual),
    Uint8Array.prototype,
    "received data is a plain Uint8Array",
  );
  assert.deepEqual(actual, expected);
}

let ipv6Loopback: boolean | undefined;

/** Whether this machine has the IPv6 loopback address, looked up once. */
function hasIPv6Loopback(): boolean {
  ipv6Loopback ??= Object.values(networkInterfaces()).some((entries) =>
    (entries ?? []).some((entry) => entry.address === "::1")
  );
  return ipv6Loopback;
}

/**
 * Registers the socket contract tests for one opener; test names start with
 * `name`.
 *
 * @example
 * ```ts ignore
 * import { socketContract } from "./socket_contract.ts";
 * import { openNodeUdpSocket } from "../src/adapters/node.ts";
 * socketContract("openNodeUdpSocket", openNodeUdpSocket);
 * ```
 */
export function socketContract(name: string, open: Open): void {
  test(`${name}() binds 127.0.0.1:0 to a real port, in canonical form`, async () => {
    await withSockets(open, ["127.0.0.1:0"], async ([socket]) => {
      const match = /^127\.0\.0\.1:(\d+)$/.exec(socket.localAddr);
      assert.ok(match, `localAddr ${socket.localAddr}`);
      assert.ok(Number(match[1]) > 0 && Number(match[1]) <= 65535);
      assert.equal(normalizeAddress(socket.localAddr), socket.localAddr);
      await Promise.resolve();
    });
  });

  test(`${name}() sockets exchange exact bytes both ways and name the sender`, async () => {
    await withSockets(open, ["127.0.0.1:0", "127.0.0.1:0"], async ([a, b]) => {
      const inboxA = new Inbox(a);
      const inboxB = new Inbox(b);
      const ping = new Uint8Array([0, 1, 2, 127, 128, 254, 255]);
      await a.send(ping, b.localAddr);
      const atB = await inboxB.next();
      assertPlainBytes(atB.data, ping);
      assert.equal(atB.from, a.localAddr);

      const pong = new Uint8Array([255, 0, 42]);
      await b.send(pong, atB.from);
      const atA = await inboxA.next();
      assertPlainBytes(atA.data, pong);
      assert.equal(atA.from, b.localAddr);
    });
  });

  test(`${name}() sends an empty datagram`, async () => {
    await withSockets(open, ["127.0.0.1:0", "127.0.0.1:0"], async ([a, b]) => {
      const inbox = new Inbox(b);
      await a.send(new Uint8Array(0), b.localAddr);
      const got = await inbox.next();
      assert.equal(got.data.byteLength, 0);
      assert.equal(got.from, a.localAddr);
    });
  });

  test(`${name}() sends only the bytes a subarray view covers`, async () => {
    await withSockets(open, ["127.0.0.1:0", "127.0.0.1:0"], async ([a, b]) => {
      const inbox = new Inbox(b);
      const whole = bytes(64, 3);
      await a.send(whole.subarray(10, 20), b.localAddr);
      assertPlainBytes((await inbox.next()).data, whole.slice(10, 20));
    });
  });

  test(`${name}() delivers a 60 000-byte datagram intact over loopback`, async () => {
    await withSockets(open, ["127.0.0.1:0", "127.0.0.1:0"], async ([a, b]) => {
      const inbox = new Inbox(b);
      const big = bytes(60_000, 7);
      await a.send(big, b.localAddr);
      const got = await inbox.next();
      assert.equal(got.data.byteLength, 60_000);
      assertPlainBytes(got.data, big);
    });
  });

  test(`${name}() leaves received datagrams intact when later ones arrive`, async () => {
    await withSockets(open, ["127.0.0.1:0", "127.0.0.1:0"], async ([a, b]) => {
      const inbox = new Inbox(b);
      const sent = Array.from({ length: 16 }, (_, i) => bytes(100 + i * 50, i));
      for (const datagram of sent) await a.send(datagram, b.localAddr);
      const got = await inbox.take(sent.length);
      // Loopback keeps order in practice, but UDP does not promise it: match by length.
      const byLength = new Map(got.map((d) => [d.data.byteLength, d.data]));
      for (const datagram of sent) assert.deepEqual(byLength.get(datagram.byteLength), datagram);
    });
  });

  test(`${name}() rejects a bound address with AddressInUseError naming it`, async () => {
    await withSockets(open, ["127.0.0.1:0"], async ([bound]) => {
      await assert.rejects(open(bound.localAddr), (error: unknown) => {
        assert.ok(error instanceof AddressInUseError, `got ${String(error)}`);
        assert.equal(error.addr, bound.localAddr);
        assert.ok(error.message.includes(bound.localAddr));
        return true;
      });
    });
  });

  test(`${name}() rejects a malformed address with a TypeError quoting it`, async () => {
    for (const addr of ["127.0.0.1", "::1:0", "127.0.0.1:70000"]) {
      await assert.rejects(open(addr), (error: unknown) => {
        assert.ok(error instanceof TypeError, `got ${String(error)}`);
        assert.ok(error.message.includes(JSON.stringify(addr)), error.message);
        return true;
      });
    }
  });

  test(`${name}() close() is idempotent and no handler call follows it`, async () => {
    await withSockets(
      open,
      ["127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"],
      async ([a, b, witness]) => {
        let closed = false;
        let callsAfterClose = 0;
        let firstArrived: () => void = () => {};
        const arrived = new Promise<void>((resolve) => firstArrived = resolve);
        b.listen(() => {
          if (closed) callsAfterClose++;
          firstArrived();
        });
        // A burst, so that datagrams are still queued when close() runs.
        for (let i = 0; i < 50; i++) await a.send(bytes(1_000, i), b.localAddr);
        await arrived;
        const first = b.close();
        const second = b.close();
        assert.equal(await first, undefined);
        assert.equal(await second, undefined);
        closed = true;
        assert.equal(await b.close(), undefined);
        // Let already queued events run: a round trip through another socket
        // passes through the event loop after any pending receive callback.
        const witnessInbox = new Inbox(witness);
        await a.send(new Uint8Array([1]), witness.localAddr);
        await witnessInbox.next();
        assert.equal(callsAfterClose, 0);
      },
    );
  });

  test(`${name}() listen() twice throws a TypeError`, async () => {
    await withSockets(open, ["127.0.0.1:0"], async ([socket]) => {
      socket.listen(() => {});
      assert.throws(() => socket.listen(() => {}), TypeError);
      await Promise.resolve();
    });
  });

  test(`${name}() send() after close() rejects`, async () => {
    await withSockets(open, ["127.0.0.1:0", "127.0.0.1:0"], async ([a, b]) => {
      await a.close();
      await assert.rejects(a.send(new Uint8Array([1]), b.localAddr), /closed/);
    });
  });

  test(`${name}() send() to a malformed address rejects with a TypeError`, async () => {
    await withSockets(open, ["127.0.0.1:0"], async ([a]) => {
      const sent = a.send(new Uint8Array([1]), "not an address");
      await assert.rejects(sent, TypeError);
    });
  });

  test(`${name}() send() of an oversized datagram rejects`, async () => {
    await withSockets(open, ["127.0.0.1:0", "127.0.0.1:0"], async ([a, b]) => {
      await assert.rejects(a.send(new Uint8Array(70_000), b.localAddr));
    });
  });

  test(`${name}() keeps sending after datagrams to a closed port`, async () => {
    // Bun reports the ICMP "port unreachable" of one datagram on a later send.
    let deadAddr = "";
    await withSockets(open, ["127.0.0.1:0"], async ([gone]) => {
      deadAddr = gone.localAddr;
      await Promise.resolve();
    });
    await withSockets(open, ["127.0.0.1:0", "127.0.0.1:0"], async ([a, b]) => {
      const inbox = new Inbox(b);
      for (let round = 0; round < 5; round++) {
        for (let i = 0; i < 3; i++) {
          // Sending to nobody may or may not report an error; it must not break the socket.
          await a.send(new Uint8Array([round]), deadAddr).catch(() => {});
        }
        await a.send(new Uint8Array([100 + round]), b.localAddr);
      }
      const got = await inbox.take(5);
      assert.deepEqual(got.map((d) => d.data[0]).sort(), [100, 101, 102, 103, 104]);
    });
  });

  test(`${name}() binds localhost to a literal and sends to a host name`, async () => {
    await withSockets(open, ["localhost:0", "localhost:0"], async ([a, b]) => {
      const host = parseAddress(b.localAddr).hostname;
      assert.ok(isIPv4(host) || isIPv6(host), `localAddr ${b.localAddr} is a literal`);
      assert.ok(host === "127.0.0.1" || host === "::1", `localAddr ${b.localAddr} is loopback`);
      const inbox = new Inbox(b);
      await a.send(new Uint8Array([9, 8, 7]), `localhost:${portOf(b.localAddr)}`);
      const got = await inbox.next();
      assertPlainBytes(got.data, new Uint8Array([9, 8, 7]));
      assert.equal(got.from, a.localAddr);
    });
  });

  test(`${name}() binds [::1]:0 and exchanges datagrams over IPv6`, async () => {
    if (!hasIPv6Loopback()) {
      // No ::1 here: binding it must fail cleanly rather than hang or succeed.
      await assert.rejects(open("[::1]:0"));
      return;
    }
    await withSockets(open, ["[::1]:0", "[::1]:0"], async ([a, b]) => {
      assert.match(a.localAddr, /^\[::1\]:\d+$/);
      assert.ok(portOf(a.localAddr) > 0);
      const inboxA = new Inbox(a);
      const inboxB = new Inbox(b);
      const big = bytes(30_000, 1);
      await a.send(big, b.localAddr);
      const atB = await inboxB.next();
      assertPlainBytes(atB.data, big);
      assert.equal(atB.from, a.localAddr);
      await b.send(new Uint8Array([6]), atB.from);
      const atA = await inboxA.next();
      assert.equal(atA.from, b.localAddr);
      assert.deepEqual(atA.data, new Uint8Array([6]));
      await assert.rejects(open(a.localAddr), AddressInUseError);
    });
  });
}
