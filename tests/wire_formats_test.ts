import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnChitchat } from "../mod.ts";
import { SimulatedCluster } from "../src/testing/simulated_cluster.ts";
import { validateNodeConfig } from "../src/runtime/node_config.ts";
import { sniffWireFormat } from "../src/runtime/wire_formats.ts";
import { encodeMessage } from "../src/core/codec.ts";
import { encodeChitchatV0 } from "../src/core/wire/chitchat_v0.ts";
import { recordingLogger } from "./_helpers.ts";

const FAST = { failureDetector: { initialIntervalMs: 1000 } };

test("nodes with wireFormat chitchat-v0 converge and replicate keys", async () => {
  const cluster = new SimulatedCluster({ seed: 7, nodeDefaults: { wireFormat: "chitchat-v0", ...FAST } });
  try {
    for (const id of ["a", "b", "c"]) await cluster.addNode(id, { initialKeyValues: { role: `r-${id}` } });
    await cluster.runUntil(() => cluster.converged() && cluster.keyEverywhere("c", "role", "r-c"), { maxMs: 30_000 });
    cluster.node("a").delete("role");
    await cluster.runUntil(() => cluster.nodeIds.every((id) => cluster.node(id).nodeState(cluster.node("a").id)?.get("role") === undefined), { maxMs: 10_000 });
    for (const id of cluster.nodeIds) {
      const stats = cluster.node(id).stats();
      assert.equal(stats.decodeErrors, 0);
      assert.equal(stats.sendErrors, 0);
    }
  } finally {
    await cluster.close();
  }
});

test("a node counts datagrams of the other wire format and warns once per sender", async () => {
  const logger = recordingLogger();
  const cluster = new SimulatedCluster({ seed: 8, nodeDefaults: FAST });
  try {
    await cluster.addNode("cbor", { logger });
    await cluster.addNode("rust", { wireFormat: "chitchat-v0" });
    await cluster.advance(5_000);
    const stats = cluster.node("cbor").stats();
    assert.ok(stats.foreignFormat >= 2, `foreign ${stats.foreignFormat}`);
    assert.ok(stats.decodeErrors >= stats.foreignFormat);
    const warnings = logger.warnings.filter((message) => /chitchat-v0 wire format/.test(message));
    assert.equal(warnings.length, 1, "one warning for one sender");
    assert.deepEqual(cluster.liveView("cbor"), ["cbor"], "the two never talk");
  } finally {
    await cluster.close();
  }
});

test("sniffWireFormat() tells CBOR from chitchat-v0 datagrams", () => {
  assert.equal(sniffWireFormat(encodeMessage({ type: "syn", clusterId: "c", digest: [] })), "cbor");
  assert.equal(sniffWireFormat(encodeMessage({ type: "ack", delta: [] })), "cbor");
  assert.equal(sniffWireFormat(encodeChitchatV0({ type: "ack", delta: [] })), "chitchat-v0");
  assert.equal(sniffWireFormat(new Uint8Array([0x53])), undefined);
});

test("validateNodeConfig() refuses what chitchat-v0 cannot do, naming the field", () => {
  const base = { nodeId: "a", listenAddr: "127.0.0.1:0", wireFormat: "chitchat-v0" } as const;
  assert.equal(validateNodeConfig(base).wireFormat, "chitchat-v0");
  assert.equal(validateNodeConfig({ nodeId: "a", listenAddr: "127.0.0.1:0" }).wireFormat, "cbor");
  assert.throws(() => validateNodeConfig({ ...base, mtu: 1400 }), /"mtu": expected 65507 with wireFormat "chitchat-v0"/);
  assert.throws(() => validateNodeConfig({ ...base, clusterKeys: ["x"] }), /"clusterKeys"/);
  assert.throws(
    () => validateNodeConfig({ ...base, wireFormat: "json" as "cbor" }),
    /"wireFormat": expected one of "cbor", "chitchat-v0"/,
  );
});

test("spawnChitchat() with chitchat-v0 reads zstd blocks (the runtime's zstd is loaded)", async () => {
  await using node = await spawnChitchat({ nodeId: "a", listenAddr: "127.0.0.1:0", wireFormat: "chitchat-v0" });
  assert.equal(node.stats().foreignFormat, 0);
});
