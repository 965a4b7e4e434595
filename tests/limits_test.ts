import { test } from "node:test";
import assert from "node:assert/strict";
import { Encoder } from "cbor-x/encode";
import { decodeMessage, encodeMessage, MAX_DATAGRAM_SIZE, PROTOCOL_VERSION } from "../src/core/codec.ts";
import type { ChitchatId } from "../src/core/chitchat_id.ts";
import type { NodeDelta } from "../src/core/messages.ts";
import { NodeState } from "../src/core/node_state.ts";
import { SimulatedCluster } from "../src/testing/simulated_cluster.ts";

const cbor = new Encoder({ useRecords: false } as never);
const MAX = Number.MAX_SAFE_INTEGER;
const ID: ChitchatId = { nodeId: "x", generationId: 1, gossipAdvertiseAddr: "127.0.0.1:7000" };

function raw(value: unknown): Uint8Array {
  return cbor.encode(value) as Uint8Array;
}

/** An Ack whose one node delta carries the given numbers as they are (encodeMessage checks nothing). */
function ack(from: unknown, lastGc: unknown, max: unknown, version: unknown): Uint8Array {
  const keyValues = [{ key: "k", value: "v", version, status: "set" }];
  const delta = [{ id: ID, fromVersionExcluded: from, lastGcVersion: lastGc, maxVersion: max, keyValues }];
  return encodeMessage({ type: "ack", delta } as never);
}

test("decodeMessage() takes versions up to 2^53 - 1 and refuses every number beyond or beside", () => {
  const decoded = decodeMessage(ack(MAX - 1, MAX, MAX, MAX));
  assert.equal(decoded.type, "ack");
  if (decoded.type === "ack") assert.equal(decoded.delta[0].keyValues[0].version, MAX);
  const bad: Array<[unknown, RegExp]> = [
    [2 ** 53, /Bad version: 9007199254740992/],
    [2 ** 64, /Bad/],
    [2n ** 64n - 1n, /Bad version: 18446744073709551615n/],
    [1.5, /Bad version: 1.5/],
    [Number.NaN, /Bad version: NaN/],
    [Number.POSITIVE_INFINITY, /Bad version: Infinity/],
    [-1, /Unexpected CBOR item 0x20/],
    ["7", /Bad version: 7/],
  ];
  for (const [value, pattern] of bad) {
    assert.throws(() => decodeMessage(ack(0, 0, MAX, value)), (error: Error) => {
      assert.ok(error instanceof SyntaxError, `${String(value)}: ${error}`);
      assert.match(error.message, pattern);
      return true;
    });
  }
  assert.throws(() => decodeMessage(ack(0, 0, 2 ** 53, 1)), /Bad max version: 9007199254740992/);
  const digest = [{ id: ID, heartbeat: 2 ** 60, lastGcVersion: 0, maxVersion: 0 }];
  assert.throws(() => decodeMessage(encodeMessage({ type: "syn", clusterId: "c", digest, partialDigest: false })), /Bad heartbeat/);
});

test("decodeMessage() refuses CBOR its encoder never writes, with the reason", () => {
  const cases: Array<[Uint8Array, RegExp]> = [
    [new Uint8Array([0xa1, 0x01, 0x02]), /Unexpected CBOR item 0xa1/], // a map
    [new Uint8Array([0xd8, 0x1b, 0x82, 0x60, 0x60]), /Unexpected CBOR item 0xd8/], // tag 27: generic object
    [new Uint8Array([0x9f, 0x01, 0xff]), /Unexpected CBOR item 0x9f/], // indefinite array
    [new Uint8Array([0x83, 0x01, 0x03, 0x41, 0x00]), /Unexpected CBOR item 0x41/], // byte string
    [new Uint8Array([0x82, 0x01, 0xf5]), /Unexpected CBOR item 0xf5/], // true
    [new Uint8Array([0x82, 0x01, 0xfa, 0, 0, 0, 0]), /Unexpected CBOR item 0xfa/], // float32
    [new Uint8Array([0x82, 0x01, 0x03, 0x00]), /1 bytes after the message/],
    [new Uint8Array([0x9a, 0xff, 0xff, 0xff, 0xff, 0x01]), /array of 4294967295 items exceeds/],
    [new Uint8Array([0x82, 0x01, 0x7b, 0, 0, 0, 1, 0, 0, 0, 0]), /string of 4294967296 bytes exceeds/],
    [new Uint8Array([0x82, 0x01]), /array of 2 items exceeds/],
    [new Uint8Array([0x81, 0x19, 0x01]), /Truncated CBOR/],
    [new Uint8Array([0x82, 0x01, 0xfb, 0, 0]), /Truncated CBOR/],
    [new Uint8Array(1000).fill(0x81), /nested deeper than 4/],
    [new Uint8Array([]), /Truncated CBOR/],
    [raw([PROTOCOL_VERSION, 2, [[[[[1]]]]]]), /nested deeper than 4/],
  ];
  for (const [bytes, pattern] of cases) {
    assert.throws(() => decodeMessage(bytes), (error: Error) => {
      assert.ok(error instanceof SyntaxError);
      assert.match(error.message, pattern);
      return true;
    });
  }
  // The deepest real message still decodes.
  const deepest = encodeMessage({
    type: "synAck",
    digest: [],
    partialDigest: false,
    delta: [{ id: ID, fromVersionExcluded: 0, lastGcVersion: 0, maxVersion: 1, keyValues: [{ key: "k", value: "v", version: 1, status: "set" }] }],
  });
  assert.equal(decodeMessage(deepest).type, "synAck");
});

test("decodeMessage() refuses a datagram over 65 507 bytes, which also bounds the nodes per delta", () => {
  const nodeDelta = (i: number): NodeDelta => ({
    id: { nodeId: `n${i}`, generationId: 1, gossipAdvertiseAddr: "10.0.0.1:7000" },
    fromVersionExcluded: 0,
    lastGcVersion: 0,
    maxVersion: 0,
    keyValues: [],
  });
  let count = 2500;
  let bytes = encodeMessage({ type: "ack", delta: Array.from({ length: count }, (_, i) => nodeDelta(i)) });
  assert.ok(bytes.length <= MAX_DATAGRAM_SIZE);
  const decoded = decodeMessage(bytes);
  assert.equal(decoded.type === "ack" && decoded.delta.length, count);
  while (bytes.length <= MAX_DATAGRAM_SIZE) {
    count += 100;
    bytes = encodeMessage({ type: "ack", delta: Array.from({ length: count }, (_, i) => nodeDelta(i)) });
  }
  assert.throws(() => decodeMessage(bytes), /Datagram of \d+ bytes exceeds 65507/);
  assert.ok(count < 4_000, `a datagram holds fewer than 4000 node deltas (${count})`);
});

test("a replica refuses, whole, a delta that would hold more than twice limits.maxKeys visible keys", () => {
  const warnings: string[] = [];
  const logger = { debug() {}, info() {}, warn: (m: string) => void warnings.push(m), error() {} };
  const state = new NodeState(ID, { logger, limits: { maxKeyBytes: 256, maxValueBytes: 1024, maxKeys: 10 } });
  const delta = (from: number, count: number): NodeDelta => ({
    id: ID,
    fromVersionExcluded: from,
    lastGcVersion: 0,
    maxVersion: from + count,
    keyValues: Array.from({ length: count }, (_, i) => ({
      key: `k${from + i}`,
      value: "v",
      version: from + i + 1,
      status: "set" as const,
    })),
  });
  assert.equal(state.applyDelta(delta(0, 20), 0), "applied");
  assert.equal(state.entryCount, 20);
  assert.equal(state.applyDelta(delta(20, 1), 0), "rejected");
  assert.equal(state.entryCount, 20);
  assert.equal(state.maxVersion, 20, "nothing of the refused delta was applied");
  assert.match(warnings[0], /node x: it would hold 21 visible keys, more than 20 \(twice limits.maxKeys\)/);
  // Rewriting known keys does not grow the state and is accepted.
  const rewrite: NodeDelta = {
    id: ID,
    fromVersionExcluded: 20,
    lastGcVersion: 0,
    maxVersion: 22,
    keyValues: [{ key: "k0", value: "w", version: 21, status: "set" }, { key: "k1", value: "", version: 22, status: "deleted" }],
  };
  assert.equal(state.applyDelta(rewrite, 0), "applied");
  assert.equal(state.get("k0"), "w");
});

test("a peer claiming versions and heartbeats of 2^53 - 1 breaks no arithmetic", async () => {
  const cluster = new SimulatedCluster({ seed: 51, nodeDefaults: { failureDetector: { initialIntervalMs: 1000 } } });
  try {
    await cluster.addNode("a");
    await cluster.addNode("b");
    await cluster.runUntil(() => cluster.converged(), { maxMs: 20_000 });
    const a = cluster.node("a");
    const attacker = await cluster.network.open("127.0.0.1:9999");
    const fake: ChitchatId = { nodeId: "huge", generationId: MAX, gossipAdvertiseAddr: "127.0.0.1:9999" };
    // Claims about the fake node and about a itself (which a must ignore).
    const digest = [
      { id: fake, heartbeat: MAX, lastGcVersion: MAX, maxVersion: MAX },
      { id: a.id, heartbeat: MAX, lastGcVersion: MAX, maxVersion: MAX },
    ];
    await attacker.send(encodeMessage({ type: "syn", clusterId: "default", digest, partialDigest: false }), cluster.address("a"));
    const delta: NodeDelta[] = [
      { id: fake, fromVersionExcluded: 0, lastGcVersion: MAX - 1, maxVersion: MAX, keyValues: [{ key: "k", value: "v", version: MAX, status: "set" }] },
      { id: a.id, fromVersionExcluded: 0, lastGcVersion: 0, maxVersion: MAX, keyValues: [{ key: "role", value: "evil", version: MAX, status: "set" }] },
    ];
    await attacker.send(encodeMessage({ type: "ack", delta }), cluster.address("a"));
    await cluster.advance(1_000);
    assert.equal(a.stats().decodeErrors, 0);
    assert.equal(a.get("role"), undefined, "nothing about self is taken from gossip");
    assert.equal(a.nodeState(fake)?.maxVersion, MAX);
    assert.equal(a.nodeState(fake)?.get("k"), "v");
    a.set("role", "api");
    assert.equal(a.nodeState(a.id)?.maxVersion, 1, "own versions count from our own state");
    await cluster.runUntil(() => cluster.keyEverywhere("a", "role", "api"), { maxMs: 5_000 });
    assert.deepEqual(cluster.liveView("a"), ["a", "b"]);
    assert.ok(JSON.stringify(a.snapshot()).length > 0);
    await attacker.close();
  } finally {
    await cluster.close();
  }
});
