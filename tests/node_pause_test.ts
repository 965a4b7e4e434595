// A whole node (runtime, timers, socket) frozen as a stopped process is
// frozen: on thawing, its late timers and a backlog of datagrams arrive at
// once, and it must not take its own pause for the others' silence.
import { test } from "node:test";
import assert from "node:assert/strict";
import { SimulatedCluster } from "../src/testing/simulated_cluster.ts";
import { ManualClock } from "../src/testing/manual_clock.ts";
import { NodeFreeze } from "../src/testing/node_freeze.ts";

const IDS = ["n0", "n1", "n2", "n3", "n4"];

async function converged(seed: number): Promise<SimulatedCluster> {
  const cluster = new SimulatedCluster({ seed, latencyMs: 2, jitterMs: 3 });
  for (const id of IDS) await cluster.addNode(id);
  await cluster.runUntil(() => cluster.converged(), { maxMs: 60_000 });
  // Some rounds more, so every detector window holds a few samples.
  await cluster.advance(10_000);
  return cluster;
}

function deadOn(cluster: SimulatedCluster, observer: string): string[] {
  return cluster.node(observer).deadNodeIds().map((id) => id.nodeId).sort();
}

test("a node frozen for 60 s declares nobody dead on thawing, counts the pause, and is live everywhere again within rounds", async () => {
  for (const seed of [1, 2, 3]) {
    const cluster = await converged(seed);
    try {
      const feed = cluster.node("n2").events({ bufferSize: 10_000 });
      cluster.pause("n2", 60_000);
      await cluster.advance(59_000);
      assert.equal(cluster.paused("n2"), true);
      // The others saw it go silent: to them it died, rightly.
      for (const other of ["n0", "n1", "n3", "n4"]) assert.deepEqual(deadOn(cluster, other), ["n2"], `seed ${seed}, ${other}`);
      await cluster.advance(1_500);
      assert.equal(cluster.paused("n2"), false);
      await cluster.advance(8_500);
      const died = feed.drain().filter((event) => "type" in event && event.type === "died");
      assert.deepEqual(died, [], `seed ${seed}: n2 declared peers dead after its own pause`);
      assert.deepEqual(deadOn(cluster, "n2"), [], `seed ${seed}`);
      assert.equal(cluster.node("n2").stats().localPauses, 1, `seed ${seed}`);
      assert.ok(cluster.converged(), `seed ${seed}: not live everywhere 10 s after the thaw`);
      feed.close();
    } finally {
      await cluster.close();
    }
  }
});

test("a frozen node's timers and datagrams wait for the thaw, and a node that died meanwhile is still declared dead", async () => {
  const cluster = await converged(4);
  try {
    const before = cluster.node("n2").stats();
    cluster.pause("n2", 30_000);
    await cluster.kill("n4");
    await cluster.advance(29_000);
    // Nothing ran on the frozen node: no round, no datagram taken in.
    const during = cluster.node("n2").stats();
    assert.equal(during.rounds, before.rounds);
    assert.equal(during.datagramsIn, before.datagramsIn);
    await cluster.advance(60_000);
    assert.deepEqual(deadOn(cluster, "n2"), ["n4"]);
    assert.ok(["n0", "n1", "n3"].every((id) => cluster.liveView(id).join() === "n0,n1,n2,n3"));
  } finally {
    await cluster.close();
  }
});

test("SimulatedCluster.pause() refuses a node not running, one already paused, and a bad duration", async () => {
  const cluster = new SimulatedCluster({ seed: 5 });
  try {
    await cluster.addNode("a");
    assert.throws(() => cluster.pause("b", 1_000), /No running node "b"/);
    assert.throws(() => cluster.pause("a", 0), /ms must be a positive number, got 0/);
    assert.throws(() => cluster.pause("a", Number.NaN), /ms must be a positive number, got NaN/);
    cluster.pause("a", 1_000);
    assert.throws(() => cluster.pause("a", 1_000), /"a" is already paused/);
  } finally {
    await cluster.close();
  }
});

test("NodeFreeze holds sends, timers and datagrams while frozen, drops what overflows its buffer, and runs no cancelled timer", async () => {
  const base = new ManualClock();
  const freeze = new NodeFreeze(base, 2);
  const sent: string[] = [];
  let handler: ((data: Uint8Array, from: string) => void) | undefined;
  const socket = await freeze.opener(() =>
    Promise.resolve({
      localAddr: "127.0.0.1:1",
      send: (_data: Uint8Array, to: string) => {
        sent.push(to);
        return Promise.resolve();
      },
      listen: (h: (data: Uint8Array, from: string) => void) => void (handler = h),
      close: () => Promise.resolve(),
    })
  )("127.0.0.1:1");
  const order: string[] = [];
  socket.listen((_data, from) => void order.push(`datagram from ${from}`));
  freeze.clock.setTimer(10, () => void order.push("timer"));
  const cancel = freeze.clock.setTimer(20, () => void order.push("cancelled timer"));
  freeze.freeze();
  await socket.send(new Uint8Array(1), "127.0.0.1:2");
  assert.deepEqual(sent, []);
  base.advance(50);
  for (const from of ["a", "b", "c"]) handler!(new Uint8Array(1), from);
  cancel();
  assert.deepEqual(order, []);
  freeze.thaw();
  assert.deepEqual(sent, ["127.0.0.1:2"]);
  assert.deepEqual(order, ["timer", "datagram from a", "datagram from b"]);
  assert.equal(freeze.droppedDatagrams, 1);
  assert.throws(() => new NodeFreeze(base, -1), /bufferDatagrams must be an integer of at least 0, got -1/);
});

test("a paused node can be killed and restarted (and paused again), or stopped (thawed first, it leaves)", async () => {
  const cluster = await converged(6);
  try {
    cluster.pause("n3", 30_000);
    await cluster.kill("n3");
    assert.equal(cluster.paused("n3"), false);
    await cluster.addNode("n3");
    cluster.pause("n3", 5_000);
    assert.equal(cluster.paused("n3"), true);
    await cluster.advance(6_000);
    assert.equal(cluster.paused("n3"), false);
    cluster.pause("n4", 30_000);
    await cluster.stop("n4");
    await cluster.advance(5_000);
    const left = cluster.node("n0").snapshot().nodes.find((node) => node.id.nodeId === "n4");
    assert.equal(left?.status, "left");
  } finally {
    await cluster.close();
  }
});

test("SimulatedCluster.pause() refuses a node started with a socket of its own", async () => {
  const cluster = new SimulatedCluster({ seed: 7 });
  try {
    const socket = await cluster.network.open("127.0.0.1:10000");
    await cluster.addNode("a", { socket });
    assert.throws(() => cluster.pause("a", 1_000), /"a" was started with a clock or socket of its own/);
  } finally {
    await cluster.close();
  }
});
