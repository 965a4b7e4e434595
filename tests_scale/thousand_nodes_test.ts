/**
 * Runs of a thousand simulated nodes: minutes of CPU, so kept out of
 * `npm test` (which runs tests/). Run with `bash scripts/test.sh tests_scale/`.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeMessage } from "../src/core/codec.ts";
import { SimulatedCluster } from "../src/testing/simulated_cluster.ts";

const N = 1_000;
const MTU = 1_400;
const INTERVAL_MS = 1_000;

test("1 000 nodes at MTU 1 400 converge, every datagram fits, and a killed node leaves every live view", { timeout: 1_800_000 }, async () => {
  let datagrams = 0;
  let largest = 0;
  const oversized: string[] = [];
  let undecodable = 0;
  const cluster = new SimulatedCluster({
    seed: 1_000,
    mtu: MTU,
    gossipIntervalMs: INTERVAL_MS,
    latencyMs: 2,
    jitterMs: 3,
    onDatagram: (from, to, bytes) => {
      datagrams++;
      largest = Math.max(largest, bytes.length);
      if (bytes.length > MTU) oversized.push(`${bytes.length} bytes ${from} -> ${to}`);
      // Decoding every datagram doubles the run; one in 50 is checked.
      if (datagrams % 50 === 0) {
        try {
          decodeMessage(bytes);
        } catch {
          undecodable++;
        }
      }
    },
    nodeDefaults: {
      // About two rounds between heartbeats seen of one node at this size and MTU.
      failureDetector: { initialIntervalMs: 2 * INTERVAL_MS },
      receiveLimits: { perSender: 1_000_000, perInterval: 1_000_000 },
    },
  });
  try {
    // Started over one interval, as separate processes would be.
    for (let i = 0; i < N; i++) {
      await cluster.addNode(`node_${i}`, { initialKeyValues: { role: i % 10 === 0 ? "indexer" : "searcher" } });
      if (i % 10 === 9) await cluster.advance(INTERVAL_MS / 100, INTERVAL_MS);
    }
    const allLive = (): boolean => cluster.nodeIds.every((id) => cluster.node(id).liveNodeStates().length === N);
    const ms = await cluster.runUntil(allLive, { maxMs: 120 * INTERVAL_MS, stepMs: 100 });
    const rounds = ms / INTERVAL_MS;
    console.log(`all live after ${rounds} rounds`);
    assert.ok(rounds <= 60, `all live after ${rounds} rounds`);
    for (const id of ["node_0", "node_500", "node_999"]) {
      const node = cluster.node(id);
      assert.equal(node.nodeState(cluster.node("node_731").id)?.get("role"), "searcher");
    }

    await cluster.kill("node_42");
    const gone = (): boolean =>
      cluster.nodeIds.every((id) => !cluster.node(id).liveNodeStates().some((s) => s.id.nodeId === "node_42"));
    const detectMs = await cluster.runUntil(gone, { maxMs: 120 * INTERVAL_MS, stepMs: 100 });
    console.log(`dropped from every live view after ${detectMs} ms`);
    assert.ok(detectMs <= 60 * INTERVAL_MS, `dropped after ${detectMs} ms`);
    for (const id of ["node_0", "node_1", "node_999"]) {
      assert.ok(cluster.node(id).deadNodeIds().some((dead) => dead.nodeId === "node_42"));
    }
    // No false death on the way.
    assert.ok(cluster.nodeIds.every((id) => cluster.node(id).liveNodeStates().length === N - 1));

    assert.deepEqual(oversized, [], `datagrams over ${MTU} bytes`);
    assert.equal(undecodable, 0);
    assert.ok(largest > MTU - 200, `deltas are cut close to the MTU (largest ${largest})`);
  } finally {
    await cluster.close();
  }
});
