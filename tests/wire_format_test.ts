import { test } from "node:test";
import assert from "node:assert/strict";
import { ClusterState } from "../src/core/cluster_state.ts";
import { decodeMessage, encodeMessage } from "../src/core/codec.ts";
import type { Message } from "../src/core/messages.ts";
import { NodeState } from "../src/core/node_state.ts";
import { cborWireFormat } from "../src/core/wire/cbor.ts";
import { MESSAGE_OVERHEAD } from "../src/core/wire_constants.ts";
import type { WireSizes } from "../src/core/wire_format.ts";
import {
  cborWireSizes,
  compactEntrySize,
  digestEntrySize,
  mutationSize,
  nodeDeltaHeaderSize,
  textSize,
} from "../src/core/wire_size.ts";
import { createRandom, makeId } from "./_helpers.ts";

test("cborWireFormat encodes and decodes with the codec, under the name cbor", () => {
  const id = makeId("a", 7001);
  const message: Message = {
    type: "ack",
    delta: [{
      id,
      fromVersionExcluded: 0,
      lastGcVersion: 0,
      maxVersion: 1,
      keyValues: [{ key: "k", value: "v", version: 1, status: "set" }],
    }],
  };
  const bytes = cborWireFormat.encode(message);
  assert.deepEqual(bytes, encodeMessage(message));
  assert.deepEqual(cborWireFormat.decode(bytes), decodeMessage(bytes));
  assert.deepEqual(cborWireFormat.decode(bytes), message);
  assert.equal(cborWireFormat.name, "cbor");
  assert.equal(cborWireFormat.sizes, cborWireSizes);
  assert.throws(() => cborWireFormat.decode(new Uint8Array([0xff])), SyntaxError);
});

test("cborWireSizes gives the sizes of wire_size.ts, the node delta header with its list head at 5 bytes", () => {
  const random = createRandom(12);
  assert.equal(cborWireSizes.messageOverhead, MESSAGE_OVERHEAD);
  for (let i = 0; i < 200; i++) {
    const big = () => Math.floor(random() * 2 ** (1 + Math.floor(random() * 52)));
    const id = { nodeId: "n".repeat(1 + Math.floor(random() * 300)), generationId: big(), gossipAdvertiseAddr: "10.0.0.1:7" };
    const versions = { heartbeat: big(), lastGcVersion: big(), maxVersion: big() };
    assert.equal(
      cborWireSizes.digestEntrySize(id, versions),
      digestEntrySize(id, versions.heartbeat, versions.lastGcVersion, versions.maxVersion),
    );
    const compact = { fingerprint: big() % 2 ** 32, check: big() % 2 ** 32, ...versions };
    assert.equal(cborWireSizes.compactEntrySize(compact), compactEntrySize(compact));
    const value = "é".repeat(Math.floor(random() * 100));
    const mutation = { value, version: versions.maxVersion, status: "deleteAfterTtl" as const };
    assert.equal(cborWireSizes.mutationSize(id.nodeId, mutation), mutationSize(id.nodeId, value, mutation.version));
    assert.equal(cborWireSizes.textSize(value), textSize(value));
    const header = { id, fromVersionExcluded: big(), lastGcVersion: big(), maxVersion: big() };
    const v = { from: header.fromVersionExcluded, lastGc: header.lastGcVersion, max: header.maxVersion };
    assert.equal(cborWireSizes.nodeDeltaHeaderSize(header), nodeDeltaHeaderSize(id, v, 0) - 1 + 5);
  }
});

/** The CBOR sizes, with every mutation `extra` bytes larger. */
function heavierMutations(extra: number): WireSizes {
  return { ...cborWireSizes, mutationSize: (key, value) => cborWireSizes.mutationSize(key, value) + extra };
}

test("ClusterState budgets deltas and digests with the sizes it is given", () => {
  const id = makeId("a", 7001);
  const fill = (state: ClusterState) => {
    const node = state.getOrCreate(id)!;
    for (let i = 0; i < 10; i++) node.set(`key-${i}`, "value");
  };
  const plain = new ClusterState();
  const heavy = new ClusterState({ sizes: heavierMutations(100) });
  fill(plain);
  fill(heavy);
  const options = { budget: 400, random: () => 0 };
  const small = plain.computeDelta([], options);
  const large = heavy.computeDelta([], options);
  assert.equal(small.delta[0].keyValues.length, 10);
  assert.equal(small.complete, true);
  assert.ok(large.delta[0].keyValues.length < 4, `${large.delta[0].keyValues.length} mutations`);
  assert.equal(large.complete, false);
  assert.ok(large.size <= 400);

  const wideDigest: WireSizes = { ...cborWireSizes, compactEntrySize: () => 1000, digestEntrySize: () => 1000 };
  const paged = new ClusterState({ sizes: wideDigest });
  paged.getOrCreate(id);
  assert.equal(paged.pageDigest(new Set(), { budget: 999, cursor: 0 }).complete, false);
  assert.equal(paged.partialDigest(new Set(), { budget: 999, cursor: 0 }).complete, false);
  assert.equal(plain.pageDigest(new Set(), { budget: 999, cursor: 0 }).complete, true);
});

test("NodeState.compactDigest() is sized by compactEntrySize as the codec writes it", () => {
  const state = new NodeState(makeId("a", 7001));
  state.observeHeartbeat(300);
  state.set("k", "v");
  const entry = state.compactDigest();
  const bytes = encodeMessage({ type: "ack", delta: [], compactDigest: [entry] });
  const empty = encodeMessage({ type: "ack", delta: [] });
  // The compact list's head (1 byte for 5 items) and the entry's items come in addition to the empty Ack.
  assert.equal(bytes.length - empty.length, 1 + cborWireSizes.compactEntrySize(entry));
});
