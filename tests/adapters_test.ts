import { test } from "node:test";
import assert from "node:assert/strict";
import { openBunUdpSocket } from "../src/adapters/bun.ts";
import { openDenoUdpSocket } from "../src/adapters/deno.ts";
import { openNodeUdpSocket } from "../src/adapters/node.ts";
import { openUdpSocket } from "../src/adapters/open.ts";
import type { AddressInput } from "../src/core/address.ts";
import { AddressInUseError, BindError } from "../src/runtime/socket.ts";
import type { SocketOpener } from "../src/runtime/socket.ts";
import { socketContract } from "./socket_contract.ts";

const isDeno = "Deno" in globalThis;
const isBun = "Bun" in globalThis;

socketContract("openUdpSocket", openUdpSocket);
if (isDeno) socketContract("openDenoUdpSocket", openDenoUdpSocket);
if (isBun) socketContract("openBunUdpSocket", openBunUdpSocket);
// node:dgram runs on Node, Deno and Bun alike.
socketContract("openNodeUdpSocket", openNodeUdpSocket);

test("openUdpSocket() accepts the object form of an address", async () => {
  const socket = await openUdpSocket({ hostname: "127.0.0.1", port: 0 });
  try {
    assert.match(socket.localAddr, /^127\.0\.0\.1:\d+$/);
  } finally {
    await socket.close();
  }
});

test("openUdpSocket() rejects a malformed object address with a TypeError", async () => {
  const bad = { hostname: "127.0.0.1", port: 1.5 } as AddressInput;
  await assert.rejects(openUdpSocket(bad), (error: unknown) => {
    assert.ok(error instanceof TypeError);
    assert.ok(error.message.includes("1.5"), error.message);
    return true;
  });
});

test("openUdpSocket() and openNodeUdpSocket() sockets talk to each other", async () => {
  const native = await openUdpSocket("127.0.0.1:0");
  const node = await openNodeUdpSocket("127.0.0.1:0");
  try {
    const received = new Promise<[Uint8Array, string]>((resolve) =>
      node.listen((data, from) => resolve([data, from]))
    );
    await native.send(new Uint8Array([1, 2]), node.localAddr);
    const [data, from] = await received;
    assert.deepEqual(data, new Uint8Array([1, 2]));
    assert.equal(from, native.localAddr);
  } finally {
    await native.close();
    await node.close();
  }
});

/** Every opener that runs here: the auto-picking one, this runtime's own adapter and node:dgram. */
const OPENERS: Array<[string, SocketOpener]> = [
  ["openUdpSocket", openUdpSocket],
  ...(isDeno ? [["openDenoUdpSocket", openDenoUdpSocket] as [string, SocketOpener]] : []),
  ...(isBun ? [["openBunUdpSocket", openBunUdpSocket] as [string, SocketOpener]] : []),
  ["openNodeUdpSocket", openNodeUdpSocket],
];

/** The error `open(addr)` rejects with; fails when it binds. */
async function bindFailure(open: SocketOpener, addr: string): Promise<unknown> {
  try {
    const socket = await open(addr);
    await socket.close();
  } catch (error) {
    return error;
  }
  assert.fail(`${addr} was bound`);
}

for (
  const [addr, reason] of [
    // TEST-NET-1 (RFC 5737): never an address of this machine.
    ["192.0.2.1:7000", /192\.0\.2\.1 is not an address of this machine/],
    // .invalid never resolves (RFC 6761).
    ["no-such-host.invalid:7000", /host name "no-such-host\.invalid" does not resolve/],
  ] as const
) {
  test(`every adapter rejects ${addr} with one BindError naming it, the runtime's error as cause`, async () => {
    const messages = new Set<string>();
    for (const [name, open] of OPENERS) {
      const error = await bindFailure(open, addr);
      assert.ok(error instanceof BindError, `${name}: got ${String(error)}`);
      assert.ok(!(error instanceof AddressInUseError), name);
      assert.equal(error.name, "BindError");
      assert.equal(error.addr, addr);
      assert.match(error.message, new RegExp(`^Cannot bind ${addr.replaceAll(".", "\\.")}: `), name);
      assert.match(error.message, reason, name);
      assert.ok(error.cause instanceof Error, `${name}: the runtime's error is the cause`);
      messages.add(error.message);
    }
    assert.equal(messages.size, 1, `one message on every adapter: ${[...messages].join(" | ")}`);
  });
}

test("AddressInUseError is a BindError", async () => {
  const first = await openUdpSocket("127.0.0.1:0");
  try {
    for (const [name, open] of OPENERS) {
      const error = await bindFailure(open, first.localAddr);
      assert.ok(error instanceof AddressInUseError, `${name}: got ${String(error)}`);
      assert.ok(error instanceof BindError, name);
      assert.equal(error.addr, first.localAddr);
    }
  } finally {
    await first.close();
  }
});

test("the adapter of another runtime refuses to open here with a TypeError", async () => {
  if (!isDeno) {
    await assert.rejects(openDenoUdpSocket("127.0.0.1:0"), /globalThis\.Deno is missing/);
  }
  if (!isBun) await assert.rejects(openBunUdpSocket("127.0.0.1:0"), /globalThis\.Bun is missing/);
});

interface FakeBun {
  sent: Uint8Array[];
  full: boolean;
  handlers: {
    data(socket: unknown, data: Uint8Array, port: number, address: string): void;
    drain(socket: unknown): void;
  };
}

/** Runs `body` with a scripted stand-in for `globalThis.Bun`; only outside Bun, where the global is free. */
async function withFakeBun(body: (fake: FakeBun) => Promise<void>): Promise<void> {
  const fake = { sent: [], full: false } as unknown as FakeBun;
  const raw = {
    address: { address: "127.0.0.1", port: 4000, family: "IPv4" },
    send(data: Uint8Array): boolean {
      if (fake.full) return false;
      fake.sent.push(data);
      return true;
    },
    close(): void {},
  };
  const api = {
    udpSocket(options: { socket: FakeBun["handlers"] }): Promise<typeof raw> {
      fake.handlers = options.socket;
      return Promise.resolve(raw);
    },
  };
  Object.defineProperty(globalThis, "Bun", { value: api, configurable: true });
  try {
    await body(fake);
  } finally {
    delete (globalThis as { Bun?: unknown }).Bun;
  }
}

/** Lets every pending callback run once (one timer turn); not a wait for correctness. */
function turn(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

if (!isBun) {
  test("openBunUdpSocket() send() waits for drain after backpressure, then sends", async () => {
    await withFakeBun(async (fake) => {
      const socket = await openBunUdpSocket("127.0.0.1:0");
      try {
        assert.equal(socket.localAddr, "127.0.0.1:4000");
        fake.full = true;
        let settled = false;
        const sending = socket.send(new Uint8Array([1]), "127.0.0.1:5000").then(() =>
          settled = true
        );
        await turn();
        assert.equal(settled, false);
        assert.equal(fake.sent.length, 0);
        fake.full = false;
        fake.handlers.drain(undefined);
        await sending;
        assert.deepEqual(fake.sent, [new Uint8Array([1])]);
      } finally {
        await socket.close();
      }
    });
  });

  test("openBunUdpSocket() close() rejects sends waiting for drain", async () => {
    await withFakeBun(async (fake) => {
      const socket = await openBunUdpSocket("127.0.0.1:0");
      fake.full = true;
      const sending = socket.send(new Uint8Array([1]), "127.0.0.1:5000");
      await turn();
      await socket.close();
      await assert.rejects(sending, /closed/);
      assert.equal(fake.sent.length, 0);
    });
  });

  test("openBunUdpSocket() hands out plain bytes and brackets IPv6 senders", async () => {
    await withFakeBun(async (fake) => {
      const socket = await openBunUdpSocket("127.0.0.1:0");
      try {
        const got: Array<[Uint8Array, string]> = [];
        socket.listen((data, from) => got.push([data, from]));
        class BufferLike extends Uint8Array {}
        fake.handlers.data(undefined, new BufferLike([1, 2, 3]), 5000, "::1");
        assert.equal(got.length, 1);
        assert.equal(Object.getPrototypeOf(got[0][0]), Uint8Array.prototype);
        assert.deepEqual(got[0], [new Uint8Array([1, 2, 3]), "[::1]:5000"]);
      } finally {
        await socket.close();
      }
    });
  });
}
