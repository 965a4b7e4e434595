/**
 * CPU: microseconds per handled Syn, SynAck and Ack and per gossip round for
 * one node of a steady 100-node cluster with 100 keys per node (datagrams
 * captured from the simulator and replayed on that node's state machine),
 * the resulting CPU per node per second at a 300 ms interval, codec
 * throughput, and the same per-message costs for one node knowing N = 1 000
 * and 10 000 nodes (to show that per-round work stays near-linear).
 * Times are CPU time (process.cpuUsage), medians over several batches.
 * @module
 */

import type { Chitchat } from "../src/core/chitchat.ts";
import { decodeMessage, encodeMessage } from "../src/core/codec.ts";
import type { Message } from "../src/core/messages.ts";
import {
  advanceUntil,
  allLive,
  type Benchmark,
  type BenchResult,
  cpuMicros,
  median,
  round,
  runtimeVersion,
  startCluster,
} from "./_util.ts";
import { syntheticPair } from "./_synthetic.ts";
import { BENCH_PEER, drain, feed, synOf } from "./_core.ts";

const INTERVAL_MS = 300;
const BATCH_MICROS = 150_000;

/** Median CPU microseconds of one call of `fn`, over `runs` batches of about 150 ms. */
export function measure(fn: () => void, runs: number): number {
  // Warm up and size the batch.
  let iterations = 1;
  for (;;) {
    const start = cpuMicros();
    for (let i = 0; i < iterations; i++) fn();
    const spent = cpuMicros() - start;
    if (spent >= BATCH_MICROS / 4 || iterations >= 1 << 20) {
      iterations = Math.max(1, Math.ceil((iterations * BATCH_MICROS) / Math.max(spent, 1)));
      break;
    }
    iterations *= 4;
  }
  const samples: number[] = [];
  for (let r = 0; r < runs; r++) {
    const start = cpuMicros();
    for (let i = 0; i < iterations; i++) fn();
    samples.push((cpuMicros() - start) / iterations);
  }
  return median(samples);
}

interface Captured {
  readonly type: Message["type"];
  readonly bytes: Uint8Array;
}

/** See the module documentation. */
export const cpu: Benchmark = {
  name: "cpu",
  defaultSizes: [100, 1_000, 10_000],
  fullSizes: [100, 1_000, 10_000],
  perRuntime: true,
  async run({ sizes, runs, log }): Promise<BenchResult> {
    const rows: BenchResult["rows"][number][] = [];
    const notes: string[] = [];
    if (sizes.includes(100)) {
      const tap: { fn?: (from: string, to: string, bytes: Uint8Array) => void } = {};
      const cluster = await startCluster({
        n: 100,
        seed: 1,
        keysPerNode: 100,
        intervalMs: INTERVAL_MS,
        extra: { onDatagram: (from, to, bytes) => tap.fn?.(from, to, bytes) },
      });
      await advanceUntil(cluster, () => allLive(cluster), { maxMs: 300_000, stepMs: 10 });
      await cluster.advance(3_000);
      const target = cluster.address("node_42");
      const captured: Captured[] = [];
      const counts: Record<string, number> = { syn: 0, synAck: 0, ack: 0 };
      tap.fn = (_from, to, bytes) => {
        const type = (["syn", "synAck", "ack", "badCluster"] as const)[bytes[2]];
        if (type === undefined) return;
        if (type in counts) counts[type]++;
        if (to === target) captured.push({ type, bytes });
      };
      const windowMs = 10 * INTERVAL_MS;
      await cluster.advance(windowMs);
      tap.fn = undefined;
      const core = cluster.node("node_42").chitchat;
      const now = cluster.clock.now();
      const roundsPerNode = windowMs / INTERVAL_MS;
      const perRound = (type: string): number => counts[type] / 100 / roundsPerNode;
      const costs: Record<string, { decode: number; handle: number; encode: number; bytes: number }> = {};
      for (const type of ["syn", "synAck", "ack"] as const) {
        const samples = captured.filter((c) => c.type === type).map((c) => c.bytes);
        if (samples.length === 0) continue;
        costs[type] = replayCost(core, samples, now, runs);
      }
      let roundAt = now;
      const roundCost = measure(() => {
        roundAt += INTERVAL_MS;
        core.handleTimeout(roundAt);
        const sent = drain(core);
        if (sent.length > 0) encodeMessage(sent[0]);
      }, runs);
      let total = roundCost;
      for (const [type, cost] of Object.entries(costs)) {
        const each = cost.decode + cost.handle + cost.encode;
        total += each * perRound(type);
        rows.push({
          part: `handle ${type === "syn" ? "Syn" : type === "synAck" ? "SynAck" : "Ack"} (N = 100)`,
          "bytes (mean)": cost.bytes,
          "decode µs": round(cost.decode, 1),
          "handle µs": round(cost.handle, 1),
          "encode reply µs": round(cost.encode, 1),
          "total µs": round(each, 1),
          "per round": round(perRound(type), 2),
        });
      }
      rows.push({ part: "round: heartbeat, targets, Syn, liveness (N = 100)", "total µs": round(roundCost, 1), "per round": 1 });
      const perSecond = (total * 1000) / INTERVAL_MS / 1000;
      rows.push({
        part: "CPU per node per second at 300 ms (N = 100)",
        "total µs": round(total * (1000 / INTERVAL_MS), 0),
      });
      notes.push(
        `N = 100, 100 keys per node (≈ 1 900 bytes of keys per node), steady state; every message node_42 received in 10 rounds replayed on its own state machine (means per message). ` +
          `CPU per node per second = (round + Σ per-round count × message cost) × 1000 / 300: ${round(perSecond, 2)} ms ` +
          `(target ≤ 6 ms; Rust 1.7-2.0 ms). Messages per node per round: ` +
          `${round(perRound("syn"), 2)} Syn, ${round(perRound("synAck"), 2)} SynAck, ${round(perRound("ack"), 2)} Ack.`,
      );
      await cluster.close();
      log(`cpu N=100: ${perSecond.toFixed(2)} ms per node per second`);
    }
    for (const n of sizes.filter((s) => s !== 100)) {
      const pair = syntheticPair(n, 10);
      const { a, b } = pair;
      const now = pair.now;
      const syn = encodeMessage(synOf(a, now));
      const synCost = replayCost(b, [syn], now, runs);
      const synAck = encodeMessage(feed(b, now, decodeMessage(syn))!);
      const synAckCost = replayCost(a, [synAck], now, runs);
      let roundAt = now;
      const liveness = measure(() => {
        b.handleTimeout(++roundAt); // a round of b: heartbeat, Syns, liveness of all N
        drain(b);
      }, runs);
      const create = measure(() => encodeMessage(synOf(b, now)), runs);
      rows.push({
        part: `handle Syn (one node knowing N = ${n.toLocaleString("en-US")})`,
        "bytes (mean)": synCost.bytes,
        "decode µs": round(synCost.decode, 1),
        "handle µs": round(synCost.handle, 1),
        "encode reply µs": round(synCost.encode, 1),
        "total µs": round(synCost.decode + synCost.handle + synCost.encode, 1),
      });
      rows.push({
        part: `handle SynAck (N = ${n.toLocaleString("en-US")})`,
        "bytes (mean)": synAckCost.bytes,
        "decode µs": round(synAckCost.decode, 1),
        "handle µs": round(synAckCost.handle, 1),
        "encode reply µs": round(synAckCost.encode, 1),
        "total µs": round(synAckCost.decode + synAckCost.handle + synAckCost.encode, 1),
      });
      rows.push({ part: `createSyn + encode (N = ${n.toLocaleString("en-US")})`, "total µs": round(create, 1) });
      rows.push({
        part: `a round: heartbeat, Syns, liveness (N = ${n.toLocaleString("en-US")})`,
        "total µs": round(liveness, 1),
        "µs per known node": round(liveness / n, 3),
      });
      log(`cpu N=${n}: syn ${synCost.handle.toFixed(0)} µs, liveness ${liveness.toFixed(0)} µs`);
    }
    rows.push(...codecThroughput(runs));
    notes.push(
      `Rows "one node knowing N": two state machines fed the same synthetic cluster (10 keys per node, half the ` +
        `heartbeats fresher on each side), MTU 65 507; work per message is bounded by the MTU, a round is linear in N (liveness of every node). ` +
        `Runtime: ${runtimeVersion()}.`,
    );
    return {
      title: `CPU (${runtimeVersion()}, CPU time, medians)`,
      columns: ["part", "bytes (mean)", "decode µs", "handle µs", "encode reply µs", "total µs", "per round", "µs per known node", "MB/s"],
      rows,
      notes,
    };
  },
};

/** Mean CPU per message of `messages` (all replayed, in turn) on `core`: decode, handle, encode the reply. */
function replayCost(
  core: Chitchat,
  messages: readonly Uint8Array[],
  now: number,
  runs: number,
): { decode: number; handle: number; encode: number; bytes: number } {
  const count = messages.length;
  const decode = measure(() => {
    for (const bytes of messages) decodeMessage(bytes);
  }, runs) / count;
  const decoded = messages.map((bytes) => decodeMessage(bytes));
  const handle = measure(() => {
    for (const message of decoded) {
      core.handleMessage(now, BENCH_PEER, message);
      drain(core);
    }
  }, runs) / count;
  const replies = decoded.map((message) => feed(core, now, message)).filter((r) => r !== undefined);
  const encode = replies.length === 0 ? 0 : measure(() => {
    for (const reply of replies) encodeMessage(reply);
  }, runs) / count;
  const bytes = messages.reduce((sum, m) => sum + m.length, 0) / count;
  return { decode, handle, encode, bytes: Math.round(bytes) };
}

function codecThroughput(runs: number): BenchResult["rows"][number][] {
  const id = { nodeId: "indexer-17", generationId: 1_717_000_000_000, gossipAdvertiseAddr: "10.0.3.17:7280" };
  const keyValues = [];
  for (let k = 0; k < 900; k++) {
    keyValues.push({ key: `shard/${k}/state`, value: `split-${k}-published-0123456789`, version: k + 1, status: "set" as const });
  }
  const message: Message = {
    type: "synAck",
    digest: [{ id, heartbeat: 4_242, lastGcVersion: 0, maxVersion: 900 }],
    partialDigest: false,
    delta: [{ id, fromVersionExcluded: 0, lastGcVersion: 0, maxVersion: 900, keyValues }],
  };
  const bytes = encodeMessage(message);
  const encode = measure(() => encodeMessage(message), runs);
  const decode = measure(() => decodeMessage(bytes), runs);
  return [
    { part: "codec: encode a SynAck with 900 keys", "bytes (mean)": bytes.length, "total µs": round(encode, 1), "MB/s": round(bytes.length / encode, 1) },
    { part: "codec: decode + validate it", "bytes (mean)": bytes.length, "total µs": round(decode, 1), "MB/s": round(bytes.length / decode, 1) },
  ];
}
