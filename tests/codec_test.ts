import { test } from "node:test";
import assert from "node:assert/strict";
import { Encoder } from "cbor-x/encode";
import { ClusterState } from "../src/core/cluster_state.ts";
import {
  decodeMessage,
  encodeMessage,
  MAX_DATAGRAM_SIZE,
  MESSAGE_OVERHEAD,
  PROTOCOL_VERSION,
} from "../src/core/codec.ts";
import type {
  AckMessage,
  Digest,
  Message,
  NodeDelta,
  SynAckMessage,
  SynMessage,
} from "../src/core/messages.ts";
import {
  compactEntrySize,
  digestEntrySize,
  headSize,
  mutationSize,
  nodeDeltaHeaderSize,
  textSize,
} from "../src/core/wire_size.ts";
import { createRandom, makeId, type Random } from "./_helpers.ts";

/** The protocol version every hand-written wire array below starts with. */
const V = PROTOCOL_VERSION;

const raw = new Encoder({ useRecords: false, variableMapSize: true } as never);

/** The raw wire array of an Ack: `[V, 2, nodeDeltas, flatDigest]`. */
function rawAck(nodeDeltas: unknown, flatDigest: unknown[] = []): unknown[] {
  return [V, 2, nodeDeltas, flatDigest];
}

/** Encodes any value with cbor-x, bypassing the codec's checks. */
function cbor(value: unknown): Uint8Array {
  return raw.encode(value) as Uint8Array;
}

function assertRefused(bytes: Uint8Array, pattern?: RegExp): void {
  assert.throws(() => decodeMessage(bytes), (error: unknown) => {
    assert.ok(error instanceof SyntaxError, `expected a SyntaxError, got ${String(error)}`);
    if (pattern !== undefined) assert.match(error.message, pattern);
    return true;
  });
}

const GEN = 1_700_000_000_000; // a startup time in ms: 9 bytes on the wire
const ID_V4 = makeId("node-é", 7001, GEN);
const ID_V6 = { nodeId: "😀 six", generationId: 3, gossipAdvertiseAddr: "[2001:db8::1]:65535" };

const DIGEST: Digest = [
  { id: ID_V4, heartbeat: 12, lastGcVersion: 0, maxVersion: 300 },
  { id: ID_V6, heartbeat: 2 ** 32, lastGcVersion: 2 ** 53 - 1, maxVersion: 2 ** 53 - 1 },
];

const DELTA: NodeDelta[] = [
  {
    id: ID_V4,
    fromVersionExcluded: 0,
    lastGcVersion: 5,
    maxVersion: 70_000,
    keyValues: [
      { key: "role", value: "indexer", version: 6, status: "set" },
      { key: "gone", value: "", version: 24, status: "deleted" },
      { key: "lease/ключ", value: "x".repeat(300), version: 70_000, status: "deleteAfterTtl" },
    ],
  },
  { id: ID_V6, fromVersionExcluded: 9, lastGcVersion: 0, maxVersion: 10, keyValues: [] },
];

const MESSAGES: Message[] = [
  { type: "syn", clusterId: "prod-€", digest: DIGEST, partialDigest: false },
  { type: "syn", clusterId: "c", digest: [], partialDigest: true },
  { type: "synAck", digest: DIGEST, partialDigest: true, delta: DELTA },
  { type: "synAck", digest: [], partialDigest: false, delta: [] },
  { type: "ack", delta: DELTA },
  { type: "ack", delta: [] },
  { type: "ack", delta: DELTA.slice(1), digest: DIGEST },
  { type: "badCluster" },
];

test("decodeMessage() returns what encodeMessage() was given, for every message type", () => {
  for (const message of MESSAGES) assert.deepEqual(decodeMessage(encodeMessage(message)), message);
});

test("decodeMessage() reads an absent partialDigest as false", () => {
  const syn: SynMessage = { type: "syn", clusterId: "c", digest: DIGEST };
  assert.deepEqual(decodeMessage(encodeMessage(syn)), { ...syn, partialDigest: false });
  const synAck: SynAckMessage = { type: "synAck", digest: [], delta: DELTA };
  assert.deepEqual(decodeMessage(encodeMessage(synAck)), { ...synAck, partialDigest: false });
});

test("encodeMessage() writes the protocol version first and returns an unshared array", () => {
  const a = encodeMessage({ type: "badCluster" });
  const b = encodeMessage({ type: "ack", delta: [] });
  assert.deepEqual([...b], [0x84, 0x02, 0x02, 0x80, 0x80]);
  assert.equal(PROTOCOL_VERSION, 2);
  assert.deepEqual([...a], [0x82, 0x02, 0x03]);
  assert.equal(b[1], PROTOCOL_VERSION);
  assert.deepEqual(
    [...a],
    [0x82, 0x02, 0x03],
    "encoding again does not overwrite an earlier result",
  );
  assert.equal(a.byteOffset, 0);
  assert.equal(a.buffer.byteLength, a.length);
});

function digestItemsSize(digest: Digest): number {
  let size = headSize(digest.length * 6);
  for (const e of digest) size += digestEntrySize(e.id, e.heartbeat, e.lastGcVersion, e.maxVersion);
  return size;
}

function deltaItemsSize(delta: readonly NodeDelta[]): number {
  let size = headSize(delta.length);
  for (const d of delta) {
    const versions = { from: d.fromVersionExcluded, lastGc: d.lastGcVersion, max: d.maxVersion };
    size += nodeDeltaHeaderSize(d.id, versions, d.keyValues.length * 4);
    for (const kv of d.keyValues) size += mutationSize(kv.key, kv.value, kv.version);
  }
  return size;
}

/** The size of a message computed by hand: array head, version, type, then each field. */
function expectedSize(message: Message): number {
  switch (message.type) {
    case "syn":
      return 1 + 1 + 1 + textSize(message.clusterId) + digestItemsSize(message.digest) + 1;
    case "synAck":
      return 1 + 1 + 1 + digestItemsSize(message.digest) + 1 + deltaItemsSize(message.delta);
    case "ack":
      return 1 + 1 + 1 + deltaItemsSize(message.delta) + digestItemsSize(message.digest ?? []);
    case "badCluster":
      return 3;
  }
}

test("encodeMessage() output length equals the wire_size figures plus the heads", () => {
  for (const message of MESSAGES) {
    assert.equal(encodeMessage(message).length, expectedSize(message), message.type);
  }
});

/** A random id: names of 1..60 characters (some non-ASCII), IPv4 or IPv6. */
function randomId(random: Random, i: number) {
  const name = `n${i}-` + "é😀x".repeat(Math.floor(random() * 20));
  const addr = random() < 0.5
    ? `10.${i % 256}.0.1:${1 + Math.floor(random() * 65_535)}`
    : `[fd00::${i.toString(16)}]:7000`;
  const gens = [0, 1, 255, 65_536, GEN];
  return {
    nodeId: name,
    generationId: gens[Math.floor(random() * gens.length)],
    gossipAdvertiseAddr: addr,
  };
}

function randomCluster(random: Random, nodes: number): ClusterState {
  const cluster = new ClusterState();
  for (let i = 0; i < nodes; i++) {
    const state = cluster.getOrCreate(randomId(random, i))!;
    const keys = Math.floor(random() * 40);
    for (let k = 0; k < keys; k++) {
      const key = `k${Math.floor(random() * 30)}` + "ü".repeat(Math.floor(random() * 30));
      const value = "v".repeat(Math.floor(random() * (random() < 0.1 ? 2000 : 40)));
      const op = random();
      if (op < 0.7) state.set(key, value);
      else if (op < 0.85) state.setWithTtl(key, value, 0);
      else if (state.get(key) !== undefined) state.delete(key, 0);
    }
    for (let h = Math.floor(random() * 300); h > 0; h--) state.incrementHeartbeat();
  }
  return cluster;
}

test("encodeMessage() length matches the wire_size figures for random digests and deltas", () => {
  const random = createRandom(31);
  for (let round = 0; round < 60; round++) {
    const cluster = randomCluster(random, 1 + Math.floor(random() * 12));
    const digest = cluster.digest(new Set());
    const { delta, size } = cluster.computeDelta([], { budget: 1_000_000, random });
    const messages: Message[] = [
      { type: "syn", clusterId: "cluster-" + "ß".repeat(round), digest },
      { type: "synAck", digest, partialDigest: round % 2 === 0, delta },
      { type: "ack", delta },
      { type: "ack", delta: delta.slice(0, 1), digest },
    ];
    for (const message of messages) {
      const bytes = encodeMessage(message);
      assert.equal(bytes.length, expectedSize(message), `round ${round}, ${message.type}`);
      const expected = message.type === "ack" ? message : { partialDigest: false, ...message };
      assert.deepEqual(decodeMessage(bytes), expected);
    }
    // computeDelta's size is an upper bound of the delta items it returns.
    assert.ok(deltaItemsSize(delta) - headSize(delta.length) <= size);
    assert.ok(encodeMessage({ type: "ack", delta }).length <= MESSAGE_OVERHEAD + size);
  }
});

test("decodeMessage() refuses every truncation of a valid datagram", () => {
  const bytes = encodeMessage(MESSAGES[2]);
  for (let length = 0; length < bytes.length; length++) assertRefused(bytes.subarray(0, length));
});

test("decodeMessage() refuses bytes after the message", () => {
  assertRefused(new Uint8Array([...encodeMessage({ type: "badCluster" }), 0]));
  assertRefused(new Uint8Array([...encodeMessage(MESSAGES[4]), ...encodeMessage(MESSAGES[6])]));
});

test("decodeMessage() refuses a datagram larger than the largest UDP payload", () => {
  assertRefused(new Uint8Array(MAX_DATAGRAM_SIZE + 1), /65508/);
  // A well-formed message that is merely too large.
  const big: AckMessage = {
    type: "ack",
    delta: [{
      id: ID_V4,
      fromVersionExcluded: 0,
      lastGcVersion: 0,
      maxVersion: 1,
      keyValues: [{ key: "k", value: "x".repeat(MAX_DATAGRAM_SIZE), version: 1, status: "set" }],
    }],
  };
  assertRefused(encodeMessage(big));
});

test("decodeMessage() refuses a wrong protocol version", () => {
  // Version 1 wrote compact entries without their check: refused, never misread.
  for (const version of [0, 1, 3, 255, "2"]) assertRefused(cbor([version, 3]), /version/i);
});

test("decodeMessage() refuses an unknown message type", () => {
  for (const type of [4, 99, "syn"]) assertRefused(cbor([V, type]));
  assertRefused(cbor([1]));
  assertRefused(cbor([]));
});

test("decodeMessage() refuses a datagram that is not a message array", () => {
  for (const value of [1, "syn", null, true, new Map([[1, 3]]), { 0: 1, 1: 3 }, 1.5, -1]) {
    assertRefused(cbor(value));
  }
  assertRefused(new Uint8Array([]));
  assertRefused(new Uint8Array([0xff]));
});

const V4 = ["node", 1, "127.0.0.1:7000"];
const goodNodeDelta = [...V4, 0, 0, 2, ["a", "1", 1, 0, "b", "", 2, 1]];

test("decodeMessage() accepts the hand-written wire layout", () => {
  const message = decodeMessage(cbor(rawAck([goodNodeDelta]))) as AckMessage;
  assert.equal(message.delta[0].keyValues[1].status, "deleted");
  const syn = decodeMessage(cbor([V, 0, "c", [...V4, 5, 0, 2], 1])) as SynMessage;
  assert.deepEqual(syn.digest[0], {
    id: makeId("node", 7000),
    heartbeat: 5,
    lastGcVersion: 0,
    maxVersion: 2,
  });
  assert.equal(syn.partialDigest, true);
});

test("decodeMessage() refuses messages with the wrong number of fields or wrongly typed fields", () => {
  const cases: unknown[] = [
    [V, 0, "c", []], // Syn without flag
    [V, 0, "c", [], 0, 0],
    [V, 0, 7, [], 0], // cluster id not a string
    [V, 0, "", [], 0], // empty cluster id
    [V, 0, "c", [], 2], // bad flag
    [V, 0, "c", [], true],
    [V, 0, "c", "digest", 0],
    [V, 0, "c", [...V4, 1, 0], 0], // 5 items instead of 6
    [V, 0, "c", ["", 1, "127.0.0.1:7000", 1, 0, 0], 0], // empty node id
    [V, 0, "c", ["n".repeat(1025), 1, "127.0.0.1:7000", 1, 0, 0], 0],
    [V, 1, [], 0], // SynAck without delta
    [V, 1, [], 0, "delta"],
    [V, 2, []], // Ack without digest
    [V, 2, [], [], 0],
    rawAck("delta"),
    rawAck([], [...V4, 1, 0]), // Ack digest of 5 items
    rawAck([[...V4, 0, 0, 1]]), // node delta of 6 fields
    rawAck([[...V4, 0, 0, 1, "kvs"]]),
    rawAck([[...V4, 0, 0, 1, ["a", "1", 1]]]), // 3 items per mutation
    rawAck([[...V4, 0, 0, 1, ["", "1", 1, 0]]]), // empty key
    rawAck([[...V4, 0, 0, 1, [7, "1", 1, 0]]]),
    rawAck([[...V4, 0, 0, 1, ["a", 1, 1, 0]]]), // value not a string
    rawAck([[...V4, 0, 0, 1, ["a", "1", 1, 3]]]), // unknown status
    rawAck([[...V4, 0, 0, 1, ["a", "1", 1, "0"]]]),
    rawAck([[...V4, 0, 0, 1, ["a", "1", 1, 0.5]]]),
    [V, 3, 0], // BadCluster with a field
  ];
  for (const wire of cases) assertRefused(cbor(wire));
});

test("decodeMessage() refuses names longer than 1024 UTF-8 bytes, however few characters they have", () => {
  const long = "é".repeat(513); // 513 characters, 1026 bytes
  const fits = "é".repeat(512); // 1024 bytes
  assertRefused(cbor([V, 0, long, [], 0]), /cluster id/);
  assertRefused(cbor([V, 0, "c", [long, 1, "127.0.0.1:1", 1, 0, 0], 0]), /node id/);
  assertRefused(cbor(rawAck([[...V4, 0, 0, 1, [long, "v", 1, 0]]])), /key/);
  const ack = decodeMessage(
    cbor(rawAck([[fits, 1, "127.0.0.1:1", 0, 0, 1, [fits, "v", 1, 0]]])),
  ) as AckMessage;
  assert.equal(ack.delta[0].keyValues[0].key, fits);
  assert.equal(ack.delta[0].id.nodeId, fits);
});

test("decodeMessage() refuses gossip addresses that are not IP literals with a port", () => {
  const bad = [
    "localhost:7000",
    "example.com:7000",
    "node-1:7000",
    "127.0.0.1",
    "127.0.0.1:",
    "127.0.0.1:65536",
    "127.0.0.1:07000",
    "127.0.0.1:-1",
    "256.0.0.1:7000",
    "127.0.0.01:7000",
    "::1:7000",
    "[::1]",
    "[::1]7000",
    "[localhost]:7000",
    "[::g]:7000",
    " 127.0.0.1:7000",
    "",
    7000,
  ];
  for (const addr of bad) {
    assertRefused(cbor([V, 0, "c", ["n", 1, addr, 1, 0, 0], 0]));
    assertRefused(cbor(rawAck([["n", 1, addr, 0, 0, 1, []]])));
  }
  for (const addr of ["127.0.0.1:7000", "[::1]:7000", "[fe80::1%eth0]:1", "0.0.0.0:1"]) {
    const syn = decodeMessage(cbor([V, 0, "c", ["n", 1, addr, 1, 0, 0], 0])) as SynMessage;
    assert.equal(syn.digest[0].id.gossipAdvertiseAddr, addr);
  }
});

test("decodeMessage() refuses negative, fractional, huge and non-numeric versions", () => {
  const badNumbers: unknown[] = [-1, 1.5, Number.NaN, Infinity, 2 ** 53, 2n ** 64n - 1n, "1", null];
  for (const n of badNumbers) {
    assertRefused(cbor([V, 0, "c", ["n", n, "127.0.0.1:1", 1, 0, 0], 0]), undefined); // generation
    assertRefused(cbor([V, 0, "c", ["n", 1, "127.0.0.1:1", n, 0, 0], 0])); // heartbeat
    assertRefused(cbor([V, 0, "c", ["n", 1, "127.0.0.1:1", 1, n, 0], 0])); // last GC
    assertRefused(cbor([V, 0, "c", ["n", 1, "127.0.0.1:1", 1, 0, n], 0])); // max
    assertRefused(cbor(rawAck([[...V4, n, 0, 2, []]]))); // from
    assertRefused(cbor(rawAck([[...V4, 0, 0, 2, ["a", "v", n, 0]]]))); // mutation version
  }
  // A raw 64-bit unsigned integer above 2^53.
  const syn = [
    ...encodeMessage({ type: "syn", clusterId: "c", digest: [{ ...DIGEST[0], heartbeat: 7 }] }),
  ];
  const at = syn.indexOf(7, 20);
  const big = new Uint8Array([
    ...syn.slice(0, at),
    0x1b,
    0xff,
    0xff,
    0xff,
    0xff,
    0xff,
    0xff,
    0xff,
    0xff,
    ...syn.slice(at + 1),
  ]);
  assertRefused(big);
});

test("decodeMessage() refuses mutation versions out of order, repeated or not above fromVersionExcluded", () => {
  assertRefused(cbor(rawAck([[...V4, 0, 0, 5, ["a", "1", 5, 0, "b", "2", 4, 0]]])), /version/);
  assertRefused(cbor(rawAck([[...V4, 0, 0, 5, ["a", "1", 3, 0, "b", "2", 3, 0]]])), /version/);
  assertRefused(cbor(rawAck([[...V4, 3, 0, 5, ["a", "1", 3, 0]]])), /version/);
  assertRefused(cbor(rawAck([[...V4, 6, 0, 5, []]])), /max version/);
});

test("decodeMessage() refuses a delta that lists a node twice", () => {
  assertRefused(cbor(rawAck([goodNodeDelta, goodNodeDelta])), /twice/);
  const otherGen = ["node", 2, "127.0.0.1:7000", 0, 0, 2, []];
  assert.equal(
    (decodeMessage(cbor(rawAck([goodNodeDelta, otherGen]))) as AckMessage).delta.length,
    2,
  );
});

/** Checks that `bytes` decodes to a message or throws SyntaxError, and nothing else. */
function decodeOrSyntaxError(bytes: Uint8Array): Message | undefined {
  try {
    return decodeMessage(bytes);
  } catch (error) {
    if (!(error instanceof SyntaxError)) {
      assert.fail(
        `decodeMessage threw ${String(error)} for ${Array.from(bytes.subarray(0, 40)).join(",")}`,
      );
    }
    return undefined;
  }
}

test("decodeMessage() throws only SyntaxError on random bytes", () => {
  const random = createRandom(41);
  for (let i = 0; i < 3000; i++) {
    const length = Math.floor(random() * (random() < 0.9 ? 64 : 2000));
    const bytes = new Uint8Array(length);
    for (let j = 0; j < length; j++) bytes[j] = Math.floor(random() * 256);
    // Half of them start like a message, so decoding gets past the first checks.
    if (random() < 0.5 && length >= 3) {
      bytes.set([0x80 + Math.floor(random() * 6), 0x01, Math.floor(random() * 4)]);
    }
    decodeOrSyntaxError(bytes);
  }
});

test("decodeMessage() throws only SyntaxError on mutated valid datagrams, and what it accepts re-encodes", () => {
  const random = createRandom(42);
  const seeds = MESSAGES.map(encodeMessage);
  let accepted = 0;
  for (let i = 0; i < 4000; i++) {
    const bytes = [...seeds[Math.floor(random() * seeds.length)]];
    for (let edits = 1 + Math.floor(random() * 3); edits > 0; edits--) {
      const at = Math.floor(random() * bytes.length);
      const op = random();
      if (op < 0.6) bytes[at] = Math.floor(random() * 256);
      else if (op < 0.8) bytes.splice(at, 1);
      else bytes.splice(at, 0, Math.floor(random() * 256));
    }
    const message = decodeOrSyntaxError(new Uint8Array(bytes));
    if (message !== undefined) {
      accepted++;
      assert.deepEqual(decodeMessage(encodeMessage(message)), message);
    }
  }
  assert.ok(accepted > 0, "some mutations are still valid messages");
});

const COMPACT = [
  { fingerprint: 0, check: 2 ** 32 - 1, heartbeat: 1, lastGcVersion: 0, maxVersion: 0 },
  { fingerprint: 2 ** 32 - 1, check: 0, heartbeat: 2 ** 32, lastGcVersion: 7, maxVersion: 2 ** 53 - 1 },
];

test("decodeMessage() returns compact digests and digest ranges as encodeMessage() was given them", () => {
  const messages: Message[] = [
    { type: "syn", clusterId: "c", digest: DIGEST.slice(0, 1), partialDigest: true, compactDigest: COMPACT, range: { start: 5, end: 3 } },
    { type: "syn", clusterId: "c", digest: [], partialDigest: false, compactDigest: COMPACT },
    { type: "syn", clusterId: "c", digest: [], partialDigest: true, range: { start: 0, end: 2 ** 32 - 1 } },
    { type: "synAck", digest: DIGEST, partialDigest: true, delta: DELTA, compactDigest: COMPACT },
    { type: "ack", delta: DELTA, compactDigest: COMPACT },
    { type: "ack", delta: [], digest: DIGEST, compactDigest: COMPACT },
  ];
  for (const message of messages) assert.deepEqual(decodeMessage(encodeMessage(message)), message);
});

test("encodeMessage() keeps the short layouts when there is no compact digest nor range", () => {
  assert.equal(decodeMessage(encodeMessage({ type: "syn", clusterId: "c", digest: [], compactDigest: [] }))
    .type, "syn");
  assert.equal(encodeMessage({ type: "syn", clusterId: "c", digest: [], compactDigest: [] })[0], 0x85);
  assert.equal(encodeMessage({ type: "synAck", digest: [], delta: [], compactDigest: [] })[0], 0x85);
  assert.equal(encodeMessage({ type: "syn", clusterId: "c", digest: [], compactDigest: COMPACT })[0], 0x87);
  assert.equal(encodeMessage({ type: "synAck", digest: [], delta: [], compactDigest: COMPACT })[0], 0x86);
});

test("encodeMessage() length with compact entries and a range stays within MESSAGE_OVERHEAD of the entries", () => {
  const compactSize = COMPACT.reduce(
    (sum, e) => sum + compactEntrySize(e),
    0,
  );
  const syn = encodeMessage({
    type: "syn",
    clusterId: "c",
    digest: DIGEST,
    partialDigest: true,
    compactDigest: COMPACT,
    range: { start: 2 ** 32 - 2, end: 2 ** 32 - 1 },
  });
  assert.ok(syn.length <= MESSAGE_OVERHEAD + textSize("c") + digestItemsSize(DIGEST) + compactSize);
  const synAck = encodeMessage({ type: "synAck", digest: DIGEST, partialDigest: true, delta: DELTA, compactDigest: COMPACT });
  assert.ok(synAck.length <= MESSAGE_OVERHEAD + digestItemsSize(DIGEST) + compactSize + deltaItemsSize(DELTA));
});

test("decodeMessage() refuses bad compact digests and ranges, naming the problem", () => {
  assertRefused(cbor([V, 0, "c", [], 1, [1, 2, 3], []]), /compact digest/);
  assertRefused(cbor([V, 0, "c", [], 1, [1, 2, 3, 4], []]), /5 items per node/);
  assertRefused(cbor([V, 0, "c", [], 1, [2 ** 32, 1, 1, 0, 0], []]), /fingerprint/);
  assertRefused(cbor([V, 0, "c", [], 1, ["x", 1, 1, 0, 0], []]), /fingerprint/);
  assertRefused(cbor([V, 0, "c", [], 1, [1, 2 ** 32, 1, 0, 0], []]), /check/);
  assertRefused(cbor([V, 0, "c", [], 1, [1, "x", 1, 0, 0], []]), /check/);
  assertRefused(cbor([V, 0, "c", [], 1, [], [1]]), /range/);
  assertRefused(cbor([V, 0, "c", [], 1, [], [4, 4]]), /range/);
  assertRefused(cbor([V, 0, "c", [], 1, [], [1, 2 ** 32]]), /fingerprint/);
  assertRefused(cbor([V, 0, "c", [], 0, [], [1, 2]]), /complete digest/);
  assertRefused(cbor([V, 0, "c", [], 1, []]), /fields/);
  assertRefused(cbor([V, 1, [], 1, [], [1, 1, 0, 0]]), /compact digest/);
  assertRefused(cbor([V, 1, [], 1, [], [], []]), /fields/);
  assertRefused(cbor([V, 2, [], [], [7]]), /compact digest/);
  assertRefused(cbor([V, 2, [], [], [], []]), /fields/);
});
