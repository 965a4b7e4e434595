import { test } from "node:test";
import assert from "node:assert/strict";
import { encodeMessage } from "../src/core/codec.ts";
import { generateClusterKey } from "../src/runtime/keyring.ts";
import { DEFAULT_RECEIVE_LIMITS, ReceiveBudget } from "../src/runtime/receive_budget.ts";
import { SimulatedCluster } from "../src/testing/simulated_cluster.ts";

const FAST = { failureDetector: { initialIntervalMs: 1000 } };

test("ReceiveBudget bounds each sender and the total until reset()", () => {
  const budget = new ReceiveBudget({ perSender: 3, perInterval: 10 });
  let admitted = 0;
  for (let i = 0; i < 10; i++) if (budget.admit("10.0.0.1:1")) admitted++;
  assert.equal(admitted, 3);
  for (let sender = 2; sender < 20; sender++) if (budget.admit(`10.0.0.${sender}:1`)) admitted++;
  assert.equal(admitted, 10, "the total caps many senders together");
  budget.reset();
  assert.equal(budget.admit("10.0.0.1:1"), true);
  assert.deepEqual(DEFAULT_RECEIVE_LIMITS, { perSender: 256, perInterval: 50_000, inFlight: 256 });
});

test("a flood of valid Syns from one address does not starve gossip: rounds run, the node stays live", async () => {
  const cluster = new SimulatedCluster({ seed: 41, nodeDefaults: FAST });
  try {
    await cluster.addNode("a");
    await cluster.addNode("b");
    await cluster.runUntil(() => cluster.converged(), { maxMs: 20_000 });
    const attacker = await cluster.network.open("127.0.0.1:9999");
    // A Syn is the costliest datagram to receive: it is answered with a SynAck carrying a delta.
    const syn = encodeMessage({
      type: "syn",
      clusterId: "default",
      digest: [{ id: { nodeId: "x", generationId: 1, gossipAdvertiseAddr: "127.0.0.1:9999" }, heartbeat: 1, lastGcVersion: 0, maxVersion: 0 }],
      partialDigest: false,
    });
    const a = cluster.node("a");
    const before = a.stats();
    const seconds = 20;
    const perSecond = 3000;
    for (let second = 0; second < seconds; second++) {
      for (let i = 0; i < perSecond; i++) await attacker.send(syn, cluster.address("a"));
      for (let step = 0; step < 10; step++) {
        await cluster.advance(100);
        assert.deepEqual(cluster.liveView("b"), ["a", "b"], `b lost a at ${second}.${step} s`);
        assert.deepEqual(cluster.liveView("a"), ["a", "b"], `a lost b at ${second}.${step} s`);
      }
    }
    const after = a.stats();
    const rounds = after.rounds - before.rounds;
    const handledSyns = after.messagesIn.syn - before.messagesIn.syn;
    assert.ok(rounds >= seconds - 1, `only ${rounds} rounds`);
    // Per interval: at most perSender Syns from the attacker, plus the few of b.
    assert.ok(handledSyns <= (seconds + 1) * (256 + 10), `${handledSyns} Syns handled`);
    assert.ok(after.droppedOverBudget - before.droppedOverBudget >= seconds * (perSecond - 256 - 10));
    assert.ok(cluster.network.stats("127.0.0.1:9999").datagramsReceived <= (seconds + 1) * 256, "replies bounded");
    a.set("after-flood", "yes");
    await cluster.runUntil(() => cluster.keyEverywhere("a", "after-flood", "yes"), { maxMs: 5_000 });
    await attacker.close();
  } finally {
    await cluster.close();
  }
});

test("a flood of junk at a sealed node is dropped before decryption once over budget", async () => {
  const key = generateClusterKey();
  const cluster = new SimulatedCluster({ seed: 42, nodeDefaults: { clusterKeys: [key], ...FAST } });
  try {
    await cluster.addNode("a");
    await cluster.addNode("b");
    await cluster.runUntil(() => cluster.converged(), { maxMs: 20_000 });
    const attacker = await cluster.network.open("127.0.0.1:9999");
    const junk = new Uint8Array(200).fill(0xc7);
    const before = cluster.node("a").stats();
    for (let second = 0; second < 10; second++) {
      for (let i = 0; i < 2000; i++) await attacker.send(junk, cluster.address("a"));
      for (let step = 0; step < 10; step++) {
        await cluster.advance(100);
        assert.deepEqual(cluster.liveView("b"), ["a", "b"]);
      }
    }
    const after = cluster.node("a").stats();
    const failures = after.authFailures - before.authFailures;
    const dropped = after.droppedOverBudget + after.droppedBacklog - before.droppedOverBudget - before.droppedBacklog;
    assert.ok(failures <= 11 * 256, `${failures} datagrams went to decryption`);
    assert.equal(failures + dropped, 20_000);
    assert.equal(after.decodeErrors, 0);
    await attacker.close();
  } finally {
    await cluster.close();
  }
});

test("DatagramPipe sheds datagrams from non-members once handling has taken busyLimitMs of the interval", async () => {
  const { DatagramPipe } = await import("../src/runtime/datagram_pipe.ts");
  const { zeroNodeStats } = await import("../src/runtime/node_stats.ts");
  const { cborWireFormat } = await import("../src/core/wire/cbor.ts");
  const { recordingLogger } = await import("./_helpers.ts");
  const member = "10.0.0.1:7000";
  const pipeWith = (shedding: boolean) => {
    let now = 0;
    const delivered: string[] = [];
    const stats = zeroNodeStats();
    const pipe = new DatagramPipe({
      socket: undefined as never,
      logger: recordingLogger(),
      stats,
      limits: DEFAULT_RECEIVE_LIMITS,
      clusterKeys: undefined,
      clusterId: "c",
      format: cborWireFormat,
      clock: { now: () => now, setTimer: () => () => {} },
      // Each message takes 30 ms of handling.
      deliver: (_message, from) => {
        now += 30;
        delivered.push(from);
      },
      accepting: () => true,
      ...(shedding ? { isMember: (from: string) => from === member, busyLimitMs: 50 } : {}),
    });
    return { pipe, delivered, stats };
  };
  const ack = encodeMessage({ type: "ack", delta: [] });
  const { pipe, delivered, stats } = pipeWith(true);
  for (let i = 0; i < 4; i++) pipe.receive(ack, "10.9.9.9:1");
  pipe.receive(ack, member);
  assert.deepEqual(delivered, ["10.9.9.9:1", "10.9.9.9:1", member], "two strangers' datagrams fill 60 ms; then only the member's");
  assert.equal(stats.droppedOverBudget, 2);
  pipe.newInterval();
  pipe.receive(ack, "10.9.9.9:1");
  assert.equal(delivered.length, 4, "a new interval handles strangers again");
  const plain = pipeWith(false);
  for (let i = 0; i < 4; i++) plain.pipe.receive(ack, "10.9.9.9:1");
  assert.equal(plain.delivered.length, 4, "without a member test nothing is shed");
});
