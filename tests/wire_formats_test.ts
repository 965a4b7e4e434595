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

test("a chitchat-v0 node answers a Syn naming a node it cannot represent (generation 2^63): the entry is left out and counted, the rest used", async () => {
  const logger = recordingLogger();
  await using node = await spawnChitchat({
    nodeId: "a",
    listenAddr: "127.0.0.1:0",
    clusterId: "v0-test",
    wireFormat: "chitchat-v0",
    logger,
  });
  const le64 = (n: bigint): number[] => Array.from({ length: 8 }, (_, i) => Number((n >> BigInt(8 * i)) & 0xffn));
  const str = (text: string): number[] => [text.length & 0xff, text.length >> 8, ...new TextEncoder().encode(text)];
  const entry = (name: string, generation: bigint, port: number): number[] => [
    ...str(name), ...le64(generation), 4, 127, 0, 0, 1, port & 0xff, port >> 8, ...le64(3n), ...le64(0n), ...le64(0n),
  ];
  // What a Rust peer that took a hostile ghost node would send: its digest names the ghost and itself.
  const syn = new Uint8Array([
    0x53, 0xb0, 0, 0, 2, 0, ...entry("ghost", 2n ** 63n, 9), ...entry("rust-peer", 1n, 9), ...str("v0-test"),
  ]);
  const dgram = await import("node:dgram");
  const socket = dgram.createSocket("udp4");
  const replies: Uint8Array[] = [];
  socket.on("message", (data: Uint8Array) => replies.push(new Uint8Array(data)));
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  try {
    const port = Number(node.localAddr.split(":").pop());
    for (let i = 0; i < 50 && replies.length === 0; i++) {
      socket.send(syn, port, "127.0.0.1");
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.ok(replies.length > 0, "the Syn was answered");
    assert.equal(replies[0][3], 1, "with a SynAck");
    const stats = node.stats();
    assert.ok(stats.unrepresentable >= 1, `unrepresentable ${stats.unrepresentable}`);
    assert.equal(stats.decodeErrors, 0);
    assert.ok(logger.warnings.some((message) => /above 2\^53 - 1/.test(message)), "warned");
    assert.equal(node.nodeStates().some((state) => state.id.nodeId === "ghost"), false, "the ghost is not taken");
    assert.ok(node.nodeStates().some((state) => state.id.nodeId === "rust-peer"), "the rest of the digest is used");
  } finally {
    socket.close();
  }
});
