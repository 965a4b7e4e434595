import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnChitchat } from "../mod.ts";
import { BindError, type Socket } from "../src/runtime/socket.ts";
import { SimulatedCluster } from "../src/testing/simulated_cluster.ts";

test("send errors are counted and logged, and gossip goes on", async () => {
  const cluster = new SimulatedCluster({ seed: 31 });
  try {
    await cluster.addNode("a");
    let failNext = 5;
    const errors: string[] = [];
    const flaky = async (addr: string): Promise<Socket> => {
      const inner = await cluster.network.open(addr);
      return {
        get localAddr() {
          return inner.localAddr;
        },
        send: (data, to) => failNext-- > 0 ? Promise.reject(new Error("EPERM")) : inner.send(data, to),
        listen: (handler) => inner.listen(handler),
        close: () => inner.close(),
      };
    };
    const b = await cluster.addNode("b", {
      socket: flaky,
      logger: { debug() {}, info() {}, error() {}, warn: (msg: string) => errors.push(msg) },
    });
    await cluster.runUntil(() => cluster.converged(), { maxMs: 60_000 });
    assert.equal(b.stats().sendErrors, 5);
    assert.equal(errors.filter((msg) => msg.includes("failed")).length, 5);
  } finally {
    await cluster.close();
  }
});

test("spawnChitchat() on an address it cannot bind rejects with a BindError naming it", async () => {
  await assert.rejects(spawnChitchat({ nodeId: "a", listenAddr: "192.0.2.1:7000" }), (error: unknown) => {
    assert.ok(error instanceof BindError, `got ${String(error)}`);
    assert.equal(error.addr, "192.0.2.1:7000");
    assert.match(error.message, /^Cannot bind 192\.0\.2\.1:7000: /);
    assert.ok(error.cause instanceof Error);
    return true;
  });
});
