import { test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { Decoder } from "cbor-x/decode";
import { decodeMessage, encodeMessage, MAX_DATAGRAM_SIZE } from "../src/core/codec.ts";
import { generateClusterKey, Keyring } from "../src/runtime/keyring.ts";
import { type ChitchatNode, spawnChitchat } from "../mod.ts";
import type { NodeConfig } from "../src/runtime/node_config.ts";
import { ManualClock } from "../src/testing/manual_clock.ts";
import { MemoryNetwork } from "../src/testing/memory_network.ts";
import { createRandom } from "../src/testing/random.ts";
import { FuzzInputs } from "./fuzz_inputs.ts";
import { heapUsed, TapSocket } from "./_hostile_peer.ts";

// FUZZ_SEED and FUZZ_COUNT repeat or widen a run; a failure message names the seed and the input.
const SEED = Number(process.env.FUZZ_SEED ?? 5_050_505);
const COUNT = Number(process.env.FUZZ_COUNT ?? 1_000_000);
const ATTACKER = "127.0.0.1:9999";
const HEAP_GROWTH_LIMIT = 96 * 1024 * 1024;
/** One valid hostile input in this many goes through the node (each may invent members). */
const VALID_SAMPLE = 16;

function hex(bytes: Uint8Array): string {
  return Array.from(bytes.subarray(0, 64), (b) => b.toString(16).padStart(2, "0")).join("") +
    (bytes.length > 64 ? `... (${bytes.length} bytes)` : "");
}

/** Validity of each input of the seeded stream, filled by the decoder pass and reused by the node pass. */
let validity: Uint8Array | undefined;

function classify(count: number): Uint8Array {
  if (validity !== undefined && validity.length === count) return validity;
  const inputs = new FuzzInputs(SEED);
  const result = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    try {
      decodeMessage(inputs.next().bytes);
      result[i] = 1;
    } catch {
      // Invalid: 0.
    }
  }
  return (validity = result);
}

function countingLogger(): { errors: string[]; logger: NonNullable<NodeConfig["logger"]> } {
  const errors: string[] = [];
  return {
    errors,
    logger: {
      debug() {},
      info() {},
      warn() {},
      error: (message: string, ...args: unknown[]) => void errors.push(`${message} ${args.map(String).join(" ")}`),
    },
  };
}

/** Everything observable about a node's state at this instant. */
function fingerprint(node: ChitchatNode): string {
  const snapshot = node.snapshot();
  return JSON.stringify([snapshot, node.stats().messagesIn]);
}

interface Pair {
  clock: ManualClock;
  network: MemoryNetwork;
  tap: TapSocket;
  target: ChitchatNode;
  peer: ChitchatNode;
  errors: string[];
}

async function startPair(seed: number, extra: Partial<NodeConfig> = {}): Promise<Pair> {
  const clock = new ManualClock();
  const network = new MemoryNetwork({ clock, seed });
  const tap = new TapSocket(await network.open("127.0.0.1:7001"));
  const { errors, logger } = countingLogger();
  const common = {
    clock,
    gossipIntervalMs: 500,
    failureDetector: { initialIntervalMs: 500, deadNodeGracePeriodMs: 20_000 },
    ...extra,
  };
  const target = await spawnChitchat({
    ...common,
    nodeId: "target",
    listenAddr: "127.0.0.1:7001",
    socket: tap,
    logger,
    random: createRandom(seed + 1),
    receiveLimits: { perSender: 1e9, perInterval: 1e9, inFlight: 1e6 },
  });
  const peer = await spawnChitchat({
    ...common,
    nodeId: "peer",
    listenAddr: "127.0.0.1:7002",
    socket: network.opener,
    seeds: ["127.0.0.1:7001"],
    random: createRandom(seed + 2),
  });
  const pair = { clock, network, tap, target, peer, errors };
  await advance(pair, 10_000);
  assert.equal(target.liveNodeIds().length, 2, "target sees the peer before fuzzing");
  return pair;
}

async function advance(pair: Pair, ms: number): Promise<void> {
  for (let t = 0; t < ms; t += 50) {
    pair.clock.advance(50);
    await pair.target.whenIdle();
    await pair.peer.whenIdle();
  }
}

function liveIds(node: ChitchatNode): string {
  return node.liveNodeIds().map((id) => id.nodeId).sort().join(",");
}

test("cbor-x stays usable after a stack overflow on deep nesting, and decodeMessage() refuses such input early", () => {
  const decoder = new Decoder({ useRecords: false, mapsAsObjects: false } as never);
  const valid = encodeMessage({ type: "badCluster" });
  const expected = decoder.decode(valid);
  for (const opener of [0x81, 0xa1, 0xd8]) {
    const deep = new Uint8Array(200_001).fill(opener);
    if (opener === 0xa1) for (let i = 1; i < deep.length; i += 2) deep[i] = 0x01;
    if (opener === 0xd8) for (let i = 1; i < deep.length; i += 2) deep[i] = 0x1b;
    deep[deep.length - 1] = 0x01;
    assert.throws(() => decoder.decode(deep));
    assert.deepEqual(decoder.decode(valid), expected, "the decoder decodes the next datagram");
    assert.throws(() => decodeMessage(deep), SyntaxError);
    assert.deepEqual(decodeMessage(valid), { type: "badCluster" });
  }
});

test(`decodeMessage() throws only SyntaxError over ${COUNT} hostile datagrams (seed ${SEED})`, () => {
  const inputs = new FuzzInputs(SEED);
  const valid = encodeMessage({ type: "badCluster" });
  const result = new Uint8Array(COUNT);
  const kinds = new Map<string, [number, number]>();
  for (let i = 0; i < COUNT; i++) {
    const { kind, bytes } = inputs.next();
    const tally = kinds.get(kind) ?? [0, 0];
    kinds.set(kind, tally);
    try {
      decodeMessage(bytes);
      result[i] = 1;
      tally[0]++;
    } catch (error) {
      tally[1]++;
      if (!(error instanceof SyntaxError)) {
        assert.fail(`seed ${SEED} input ${i} (${kind}) threw ${String(error)}: ${hex(bytes)}`);
      }
    }
    if (kind === "deepNesting") assert.equal(decodeMessage(valid).type, "badCluster", `decoder broken after input ${i}`);
  }
  validity = result;
  for (const [kind, [ok, bad]] of kinds) assert.ok(ok + bad > COUNT / 100, `too few ${kind} inputs`);
  assert.ok(kinds.get("absurdValid")![0] > 0 && kinds.get("bitFlip")![0] > 0, "some hostile inputs are valid");
});

test(`a running node survives ${COUNT} hostile datagrams: state untouched by invalid ones, gossip goes on, memory bounded`, async () => {
  const valid = classify(COUNT);
  const pair = await startPair(SEED);
  const { target, peer, tap } = pair;
  const inject = tap.handler!;
  const heapBefore = heapUsed();
  let inputs = new FuzzInputs(SEED);
  const batch = 4096;
  let invalidCount = 0;
  try {
    // Every invalid input, in batches; the state must not move and gossip must go on at every step.
    for (let start = 0; start < COUNT; start += batch) {
      const end = Math.min(COUNT, start + batch);
      const before = fingerprint(target);
      const statsBefore = target.stats();
      for (let i = start; i < end; i++) {
        const { kind, bytes } = inputs.next();
        if (valid[i] === 1) continue;
        invalidCount++;
        try {
          inject(bytes, ATTACKER);
        } catch (error) {
          assert.fail(`seed ${SEED} input ${i} (${kind}) escaped: ${String(error)}: ${hex(bytes)}`);
        }
      }
      assert.equal(target.stats().decodeErrors - statsBefore.decodeErrors, end - start - count(valid, start, end));
      if (fingerprint(target) !== before) {
        assert.fail(`seed ${SEED}: invalid inputs ${start}..${end} changed the node's state`);
      }
      await advance(pair, 50);
      assert.ok(liveIds(peer).includes("target"), `peer lost target after input ${end}`);
      assert.ok(liveIds(target).includes("peer"), `target lost peer after input ${end}`);
    }
    // Valid but hostile inputs (absurd numbers, invented nodes), one in VALID_SAMPLE: they may
    // change the state (invented members, as any unauthenticated sender can) but break nothing.
    inputs = new FuzzInputs(SEED);
    let validInjected = 0;
    const messagesBefore = Object.values(target.stats().messagesIn).reduce((a, b) => a + b, 0);
    for (let i = 0, seen = 0; i < COUNT; i++) {
      const { bytes } = inputs.next();
      if (valid[i] === 0 || seen++ % VALID_SAMPLE !== 0) continue;
      inject(bytes, ATTACKER);
      if (++validInjected % 256 === 0) await advance(pair, 50);
    }
    const messagesAfter = Object.values(target.stats().messagesIn).reduce((a, b) => a + b, 0);
    assert.ok(messagesAfter - messagesBefore >= validInjected, "every sampled valid input was handled");
    assert.deepEqual(pair.errors, [], "no handler threw inside the node");
    await advance(pair, 30_000); // invented nodes die, pass their grace period and are removed
    assert.equal(liveIds(target), "peer,target");
    assert.equal(liveIds(peer), "peer,target");
    peer.set("after-fuzz", "yes");
    target.set("after-fuzz", "yes");
    await advance(pair, 3_000);
    assert.equal(target.nodeState(peer.id)?.get("after-fuzz"), "yes");
    assert.equal(peer.nodeState(target.id)?.get("after-fuzz"), "yes");
    const heapGrowth = heapUsed() - heapBefore;
    assert.ok(heapGrowth < HEAP_GROWTH_LIMIT, `heap grew by ${(heapGrowth / 2 ** 20).toFixed(1)} MiB`);
    assert.ok(target.snapshot().nodes.length < 100, `${target.snapshot().nodes.length} nodes still known`);
    assert.ok(invalidCount > COUNT * 0.8 && validInjected > 1000, `${invalidCount} invalid, ${validInjected} valid`);
  } finally {
    await target.shutdown({ leave: false });
    await peer.shutdown({ leave: false });
  }
});

function count(flags: Uint8Array, start: number, end: number): number {
  let n = 0;
  for (let i = start; i < end; i++) n += flags[i];
  return n;
}

test("a sealed node drops forged, damaged and unsealed datagrams undecoded, and survives fuzz sealed with its key", async () => {
  const key = generateClusterKey();
  const pair = await startPair(SEED + 7, { clusterKeys: [key] });
  const { target, peer, tap } = pair;
  const inject = tap.handler!;
  const ring = new Keyring([key], { clusterId: "default" });
  const inputs = new FuzzInputs(SEED + 7);
  const random = createRandom(SEED + 8);
  const genuine = await ring.seal(encodeMessage({ type: "badCluster" }));
  const rounds = 40;
  const perRound = 1000;
  try {
    for (let round = 0; round < rounds; round++) {
      const before = fingerprint(target);
      const statsBefore = target.stats();
      // Unsealed fuzz, and genuine sealed datagrams with flipped bits or cut short.
      for (let i = 0; i < perRound; i++) {
        let bytes: Uint8Array;
        if (i % 3 === 0) {
          bytes = inputs.next().bytes;
        } else if (i % 3 === 1) {
          bytes = genuine.slice();
          bytes[Math.floor(random() * bytes.length)] ^= 1 << Math.floor(random() * 8);
        } else {
          bytes = genuine.slice(0, Math.floor(random() * genuine.length));
        }
        inject(bytes, ATTACKER);
      }
      await target.whenIdle();
      const statsAfter = target.stats();
      assert.equal(statsAfter.authFailures - statsBefore.authFailures, perRound);
      assert.equal(statsAfter.decodeErrors, statsBefore.decodeErrors, "nothing unopened is decoded");
      assert.equal(fingerprint(target), before, `round ${round}: refused datagrams changed the state`);
      // Fuzz sealed with the cluster key: it opens, then the decoder has its say.
      const sealed = await Promise.all(Array.from({ length: 250 }, () => ring.seal(inputs.next().bytes)));
      for (const bytes of sealed) inject(bytes, ATTACKER);
      await target.whenIdle();
      const oversized = sealed.filter((bytes) => bytes.length > MAX_DATAGRAM_SIZE).length;
      assert.equal(target.stats().authFailures - statsAfter.authFailures, oversized, "only oversized ones fail");
      await advance(pair, 100);
      assert.ok(liveIds(peer).includes("target") && liveIds(target).includes("peer"), `round ${round}`);
    }
    assert.ok(target.stats().decodeErrors > 0);
    assert.deepEqual(pair.errors, []);
    peer.set("after-fuzz", "yes");
    await advance(pair, 3_000);
    assert.equal(target.nodeState(peer.id)?.get("after-fuzz"), "yes");
  } finally {
    await target.shutdown({ leave: false });
    await peer.shutdown({ leave: false });
  }
});
