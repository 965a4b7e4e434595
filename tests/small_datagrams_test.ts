import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeMessage } from "../src/core/codec.ts";
import type { KeyChange } from "../src/core/node_state.ts";
import { createRandom } from "../src/testing/random.ts";
import { SimulatedCluster } from "../src/testing/simulated_cluster.ts";

/** Watches every datagram a simulation sends: the largest, and any over `mtu` or not decoding. */
function datagramCheck(mtu: number) {
  const check = { mtu, count: 0, largest: 0, oversized: [] as string[], undecodable: [] as string[] };
  const observe = (from: string, to: string, bytes: Uint8Array): void => {
    check.count++;
    check.largest = Math.max(check.largest, bytes.length);
    if (bytes.length > mtu) check.oversized.push(`${bytes.length} bytes ${from} -> ${to}`);
    try {
      decodeMessage(bytes);
    } catch (error) {
      check.undecodable.push(`${from} -> ${to}: ${(error as Error).message}`);
    }
  };
  return { check, observe };
}

for (const mtu of [1_200, 1_400]) {
  test(`every datagram of a churning 60-node cluster fits an MTU of ${mtu} bytes and decodes`, async () => {
    const { check, observe } = datagramCheck(mtu);
    const cluster = new SimulatedCluster({
      seed: mtu,
      mtu,
      gossipIntervalMs: 1000,
      latencyMs: 2,
      jitterMs: 5,
      loss: 0.1,
      duplicate: 0.05,
      onDatagram: observe,
      nodeDefaults: { tombstoneGracePeriodMs: 20_000, priorityKeyPrefixes: ["meta"] },
    });
    const random = createRandom(mtu);
    const big = (n: number): string => "x".repeat(n);
    try {
      for (let i = 0; i < 60; i++) {
        const initialKeyValues: Record<string, string> = { [`meta/${i}`]: big(40) };
        for (let k = 0; k < 12; k++) initialKeyValues[`key/${k}/${"é".repeat(k)}`] = big(Math.floor(random() * 700));
        await cluster.addNode(`node-with-a-long-name-${i}`, { initialKeyValues });
      }
      for (let round = 0; round < 40; round++) {
        for (let j = 0; j < 10; j++) {
          const id = cluster.nodeIds[Math.floor(random() * cluster.nodeIds.length)];
          const node = cluster.node(id);
          const key = `key/${Math.floor(random() * 20)}`;
          const op = random();
          if (op < 0.6) node.set(key, big(Math.floor(random() * 700)));
          else if (op < 0.8) node.setWithTtl(key, big(10));
          else if (node.get(key) !== undefined) node.delete(key);
        }
        if (round === 10) await cluster.kill("node-with-a-long-name-7");
        if (round === 20) await cluster.addNode("node-with-a-long-name-7", { initialKeyValues: { "meta/7": "back" } });
        if (round === 25) await cluster.stop("node-with-a-long-name-8");
        await cluster.advance(1000);
      }
      await cluster.advance(30_000);
      assert.ok(check.count > 10_000, `only ${check.count} datagrams`);
      assert.deepEqual(check.oversized, [], `datagrams over ${mtu} bytes`);
      assert.deepEqual(check.undecodable, []);
      assert.ok(check.largest > mtu - 200, `deltas are cut close to the MTU (largest ${check.largest})`);
      for (const id of cluster.nodeIds) assert.equal(cluster.node(id).stats().decodeErrors, 0);
    } finally {
      await cluster.close();
    }
  });
}

test("priority-prefix keys reach a joining node before a large state of other keys (MTU 1 400)", async () => {
  const mtu = 1_400;
  const { check, observe } = datagramCheck(mtu);
  const cluster = new SimulatedCluster({
    seed: 11,
    mtu,
    latencyMs: 2,
    onDatagram: observe,
    nodeDefaults: { priorityKeyPrefixes: ["metastore"] },
  });
  try {
    // Eight nodes with a metastore key each, written last, behind 300 other keys of 100 bytes.
    for (let i = 0; i < 8; i++) {
      const initialKeyValues: Record<string, string> = {};
      for (let k = 0; k < 300; k++) initialKeyValues[`split/${String(k).padStart(3, "0")}`] = "s".repeat(100);
      initialKeyValues["metastore"] = `grpc://10.0.0.${i}:7281`;
      await cluster.addNode(`indexer-${i}`, { initialKeyValues });
    }
    await cluster.runUntil(() => cluster.converged(), { maxMs: 600_000, stepMs: 1000 });
    const joiner = await cluster.addNode("searcher", {});
    const changes = joiner.keyChanges("", { bufferSize: 100_000 });
    const seen: KeyChange[] = [];
    const drain = (): void => {
      for (const item of changes.drain()) if (!("type" in item)) seen.push(item);
    };
    const metastore = (): number => {
      drain();
      return seen.filter((c) => c.key === "metastore").length;
    };
    await cluster.runUntil(() => metastore() === 8, { maxMs: 60_000, stepMs: 100 });
    const others = seen.length - metastore();
    assert.ok(others < 0.25 * 8 * 300, `${others} of 2 400 other keys arrived before the last metastore key`);
    for (let i = 0; i < 8; i++) {
      const owner = cluster.node(`indexer-${i}`).id;
      assert.equal(joiner.nodeState(owner)?.get("metastore"), `grpc://10.0.0.${i}:7281`);
    }
    // The rest follows, and nothing was lost on the way.
    await cluster.runUntil(() => (drain(), seen.length === 8 * 301), { maxMs: 600_000, stepMs: 1000 });
    assert.deepEqual(check.oversized, []);
  } finally {
    await cluster.close();
  }
});
