// The shared UDP socket over a scripted transport: the rules every adapter
// gets from it (retry, backpressure, host names, bind errors, handler and
// close), without a real socket. The real adapters run the socket contract
// in adapters_test.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  type DatagramTransport,
  openTransportSocket,
  type Receive,
  resolveHost,
} from "../src/adapters/udp_socket.ts";
import { AddressInUseError, BindError, type Socket } from "../src/runtime/socket.ts";

interface Sent {
  data: Uint8Array;
  hostname: string;
  port: number;
}

/** A transport bound to `hostname:4000` whose `send` answers with `reply` (recorded when it returns true). */
class FakeTransport implements DatagramTransport {
  readonly address: { hostname: string; port: number };
  readonly sent: Sent[] = [];
  attempts = 0;
  reply: () => boolean = () => true;
  closed = false;
  #drainWaiters: Array<() => void> = [];

  constructor(hostname = "127.0.0.1") {
    this.address = { hostname, port: 4000 };
  }

  send(data: Uint8Array, hostname: string, port: number): boolean {
    this.attempts++;
    const taken = this.reply();
    if (taken) this.sent.push({ data, hostname, port });
    return taken;
  }

  drained(): Promise<void> {
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  drain(): void {
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const wake of waiters) wake();
  }

  close(): void {
    this.closed = true;
    this.drain();
  }
}

async function open(
  transport: FakeTransport,
): Promise<{ socket: Socket; receive: Receive }> {
  let receive: Receive = () => assert.fail("bind was not called");
  const socket = await openTransportSocket("127.0.0.1:0", (_at, deliver) => {
    receive = deliver;
    return transport;
  });
  return { socket, receive };
}

function refused(): never {
  throw Object.assign(new Error("send ECONNREFUSED"), { code: "ECONNREFUSED" });
}

/** Lets every pending callback run once (one timer turn); not a wait for correctness. */
function turn(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

test("openTransportSocket() reports the bound literal as localAddr", async () => {
  const { socket } = await open(new FakeTransport("::1"));
  assert.equal(socket.localAddr, "[::1]:4000");
  await socket.close();
});

test("send() retries past stale ECONNREFUSED errors and sends the datagram once", async () => {
  const transport = new FakeTransport();
  const { socket } = await open(transport);
  let stale = 3;
  transport.reply = () => stale-- > 0 ? refused() : true;
  await socket.send(new Uint8Array([7]), "127.0.0.1:5000");
  assert.equal(transport.attempts, 4);
  assert.deepEqual(transport.sent, [{
    data: new Uint8Array([7]),
    hostname: "127.0.0.1",
    port: 5000,
  }]);
  await socket.close();
});

test("send() gives up after 16 retries of ECONNREFUSED and rejects with the runtime's error", async () => {
  const transport = new FakeTransport();
  const { socket } = await open(transport);
  transport.reply = refused;
  await assert.rejects(socket.send(new Uint8Array([1]), "127.0.0.1:5000"), /ECONNREFUSED/);
  assert.equal(transport.attempts, 17);
  await socket.close();
});

test("send() does not retry other errors", async () => {
  const transport = new FakeTransport();
  const { socket } = await open(transport);
  transport.reply = () => {
    throw Object.assign(new Error("send EMSGSIZE"), { code: "EMSGSIZE" });
  };
  await assert.rejects(socket.send(new Uint8Array([1]), "127.0.0.1:5000"), /EMSGSIZE/);
  assert.equal(transport.attempts, 1);
  await socket.close();
});

test("send() waits for drained() when the transport has no room, then sends again", async () => {
  const transport = new FakeTransport();
  const { socket } = await open(transport);
  let full = true;
  transport.reply = () => !full;
  let settled = false;
  const sending = socket.send(new Uint8Array([1]), "127.0.0.1:5000").then(() => settled = true);
  await turn();
  assert.equal(settled, false);
  assert.equal(transport.attempts, 1);
  full = false;
  transport.drain();
  await sending;
  assert.equal(transport.attempts, 2);
  assert.equal(transport.sent.length, 1);
  await socket.close();
});

test("close() rejects a send waiting for drained() and closes the transport once", async () => {
  const transport = new FakeTransport();
  const { socket } = await open(transport);
  transport.reply = () => false;
  const sending = socket.send(new Uint8Array([1]), "127.0.0.1:5000");
  await turn();
  await Promise.all([socket.close(), socket.close()]);
  await assert.rejects(
    sending,
    /Cannot send to 127\.0\.0\.1:5000: socket 127\.0\.0\.1:4000 is closed/,
  );
  assert.equal(transport.closed, true);
  assert.equal(transport.attempts, 1);
});

test("send() resolves a host name with the socket's family before the transport sees it", async () => {
  const transport = new FakeTransport("127.0.0.1");
  const { socket } = await open(transport);
  await socket.send(new Uint8Array([1]), "localhost:5000");
  assert.deepEqual(transport.sent.map((s) => [s.hostname, s.port]), [["127.0.0.1", 5000]]);
  await socket.close();
});

test("send() to a malformed address rejects with a TypeError and sends nothing", async () => {
  const transport = new FakeTransport();
  const { socket } = await open(transport);
  await assert.rejects(socket.send(new Uint8Array([1]), "::1:5000"), TypeError);
  assert.equal(transport.attempts, 0);
  await socket.close();
});

test("received datagrams reach the handler as plain bytes with a canonical sender, only while open", async () => {
  const transport = new FakeTransport();
  const { socket, receive } = await open(transport);
  const got: Array<[Uint8Array, string]> = [];
  receive(new Uint8Array([0]), "127.0.0.1", 5000); // before listen(): dropped
  socket.listen((data, from) => got.push([data, from]));
  class BufferLike extends Uint8Array {}
  receive(new BufferLike([1, 2]), "::1", 5000);
  assert.throws(() => socket.listen(() => {}), TypeError);
  await socket.close();
  receive(new Uint8Array([3]), "127.0.0.1", 5000); // after close(): dropped
  assert.equal(got.length, 1);
  assert.equal(Object.getPrototypeOf(got[0][0]), Uint8Array.prototype);
  assert.deepEqual(got[0], [new Uint8Array([1, 2]), "[::1]:5000"]);
});

test("openTransportSocket() rejects a malformed address with a TypeError before binding", async () => {
  let binds = 0;
  const bind = (): DatagramTransport => {
    binds++;
    return new FakeTransport();
  };
  await assert.rejects(openTransportSocket("127.0.0.1:70000", bind), /"127\.0\.0\.1:70000"/);
  await assert.rejects(openTransportSocket({ hostname: "127.0.0.1", port: 1.5 }, bind), TypeError);
  assert.equal(binds, 0);
});

test("openTransportSocket() passes the parsed address to bind", async () => {
  const seen: Array<{ hostname: string; port: number }> = [];
  const socket = await openTransportSocket("[0:0:0:0:0:0:0:1]:7000", (at) => {
    seen.push(at);
    return new FakeTransport("::1");
  });
  assert.deepEqual(seen, [{ hostname: "::1", port: 7000 }]);
  await socket.close();
});

/** The error binding `addr` rejects with when the runtime fails with `code`. */
function bindFailure(addr: string, code: string | undefined): Promise<unknown> {
  const bind = (): never => {
    throw Object.assign(new Error(`bind ${code}`), { code });
  };
  return openTransportSocket(addr, bind).then(
    () => assert.fail(`${addr} was bound`),
    (error) => error,
  );
}

test("openTransportSocket() words the runtime's bind errors, keeping the runtime's error as cause", async () => {
  const inUse = await bindFailure("127.0.0.1:7000", "EADDRINUSE");
  assert.ok(inUse instanceof AddressInUseError);
  assert.equal(inUse.message, "Address 127.0.0.1:7000 is already in use");
  assert.equal((inUse.cause as Error).message, "bind EADDRINUSE");

  const foreign = await bindFailure("192.0.2.1:7000", "EADDRNOTAVAIL");
  assert.ok(foreign instanceof BindError && !(foreign instanceof AddressInUseError));
  assert.equal(
    foreign.message,
    "Cannot bind 192.0.2.1:7000: 192.0.2.1 is not an address of this machine",
  );

  const unresolved = await bindFailure("nowhere.invalid:7000", undefined);
  assert.ok(unresolved instanceof BindError);
  assert.equal(
    unresolved.message,
    `Cannot bind nowhere.invalid:7000: host name "nowhere.invalid" does not resolve`,
  );
});

test("openTransportSocket() throws a TypeError from bind, and what rethrow picks, as they are", async () => {
  const missing = new TypeError("The X adapter needs the X runtime");
  await assert.rejects(
    openTransportSocket("127.0.0.1:0", () => {
      throw missing;
    }),
    (error) => error === missing,
  );
  class NotCapable extends Error {}
  const denied = new NotCapable("Requires net access");
  await assert.rejects(
    openTransportSocket("127.0.0.1:0", () => {
      throw denied;
    }, { rethrow: (error) => error instanceof NotCapable }),
    (error) => error === denied,
  );
});

test("resolveHost() keeps IP literals and tells their family", async () => {
  assert.deepEqual(await resolveHost("10.0.0.1", 6), { address: "10.0.0.1", family: 4 });
  assert.deepEqual(await resolveHost("fe80::1"), { address: "fe80::1", family: 6 });
  assert.deepEqual(await resolveHost("localhost", 4), { address: "127.0.0.1", family: 4 });
});

test("Socket.send() hands a datagram to a literal address already sent to without waiting a turn", async () => {
  const transport = new FakeTransport();
  const { socket } = await open(transport);
  await socket.send(new Uint8Array([1]), "127.0.0.1:5000");
  const second = socket.send(new Uint8Array([2]), "127.0.0.1:5000");
  // Taken synchronously: nothing awaited between the call and the runtime's send.
  assert.deepEqual(transport.sent.map((s) => [s.data[0], s.hostname, s.port]), [[
    1,
    "127.0.0.1",
    5000,
  ], [2, "127.0.0.1", 5000]]);
  await second;
  await socket.close();
});

test("Socket.send() on the quick path still retries a stale ECONNREFUSED and waits for drain", async () => {
  const transport = new FakeTransport();
  const { socket } = await open(transport);
  await socket.send(new Uint8Array([1]), "127.0.0.1:5000");
  const replies = [refused, () => false, () => true];
  transport.reply = () => (replies.shift() ?? (() => true))();
  const sending = socket.send(new Uint8Array([2]), "127.0.0.1:5000");
  await turn();
  assert.equal(transport.sent.length, 1);
  transport.drain();
  await sending;
  assert.equal(transport.sent.length, 2);
  assert.equal(transport.attempts, 4);
  await assert.rejects(
    socket.send(new Uint8Array([3]), "127.0.0.1:5000").then(() => socket.close()).then(() =>
      socket.send(new Uint8Array([4]), "127.0.0.1:5000")
    ),
    /closed/,
  );
});

test("Socket.send() on the quick path rejects with the runtime's error other than ECONNREFUSED", async () => {
  const transport = new FakeTransport();
  const { socket } = await open(transport);
  await socket.send(new Uint8Array([1]), "127.0.0.1:5000");
  transport.reply = () => {
    throw Object.assign(new Error("send EMSGSIZE"), { code: "EMSGSIZE" });
  };
  await assert.rejects(socket.send(new Uint8Array([2]), "127.0.0.1:5000"), /EMSGSIZE/);
  assert.equal(transport.attempts, 2);
  await socket.close();
});

test("Socket receive handler gets the same canonical sender string for a returning peer", async () => {
  const transport = new FakeTransport("::1");
  const { socket, receive } = await open(transport);
  const from: string[] = [];
  socket.listen((_data, sender) => from.push(sender));
  receive(new Uint8Array([1]), "::1", 7000);
  receive(new Uint8Array([2]), "::1", 7000);
  receive(new Uint8Array([3]), "::1", 7001);
  assert.deepEqual(from, ["[::1]:7000", "[::1]:7000", "[::1]:7001"]);
  await socket.close();
});
