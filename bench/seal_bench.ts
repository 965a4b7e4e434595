/**
 * The per-datagram cost of cluster keys: encode+decode (plain) against
 * encode+seal+open+decode (sealed, AES-256-GCM through WebCrypto), for
 * datagrams from a small Syn to a full 64 KB SynAck. Sequential figures are
 * the latency one datagram adds; pipelined ones (64 in flight, as a node
 * under load has) the throughput.
 *
 *   deno run -A bench/seal_bench.ts [--json]
 *   bun bench/seal_bench.ts [--json]
 *   npx tsx bench/seal_bench.ts [--json]
 * @module
 */

import process from "node:process";
import { decodeMessage, encodeMessage } from "../src/core/codec.ts";
import type { Message } from "../src/core/messages.ts";
import { generateClusterKey, Keyring } from "../src/runtime/keyring.ts";

/** One row of the result. */
interface Row {
  datagram: string;
  bytes: number;
  plainUs: number;
  sealedUs: number;
  sealedPipelinedUs: number;
  overheadUs: number;
}

const TIME_PER_CASE_MS = 1_000;
const PIPELINE = 64;
const SLICES = 5;

function synAck(keys: number, valueBytes: number): Message {
  const id = { nodeId: "indexer-17", generationId: 1_717_000_000_000, gossipAdvertiseAddr: "10.0.3.17:7280" };
  return {
    type: "synAck",
    digest: [{ id, heartbeat: 4_242, lastGcVersion: 0, maxVersion: keys }],
    partialDigest: false,
    delta: [{
      id,
      fromVersionExcluded: 0,
      lastGcVersion: 0,
      maxVersion: keys,
      keyValues: Array.from({ length: keys }, (_, i) => ({
        key: `shard/${i}`,
        value: "x".repeat(valueBytes),
        version: i + 1,
        status: "set" as const,
      })),
    }],
  };
}

function syn(nodes: number): Message {
  return {
    type: "syn",
    clusterId: "production",
    digest: Array.from({ length: nodes }, (_, i) => ({
      id: { nodeId: `node-${i}`, generationId: 1_717_000_000_000 + i, gossipAdvertiseAddr: `10.0.0.${i % 250}:7280` },
      heartbeat: 10_000 + i,
      lastGcVersion: 0,
      maxVersion: 40 + i,
    })),
    partialDigest: false,
  };
}

/**
 * Microseconds per call of `once`: the median of `SLICES` slices of about
 * `TIME_PER_CASE_MS / SLICES` each (a median shrugs off a busy machine).
 */
async function measure(once: () => unknown | Promise<unknown>, pipelined = false): Promise<number> {
  for (let i = 0; i < 200; i++) await once(); // warm up
  const perCall: number[] = [];
  for (let slice = 0; slice < SLICES; slice++) {
    let calls = 0;
    const start = performance.now();
    const deadline = start + TIME_PER_CASE_MS / SLICES;
    for (let round = 0; round < 1_000_000 && performance.now() < deadline; round++) {
      if (pipelined) {
        await Promise.all(Array.from({ length: PIPELINE }, once));
        calls += PIPELINE;
      } else {
        await once();
        calls++;
      }
    }
    perCall.push(((performance.now() - start) * 1000) / calls);
  }
  return perCall.sort((a, b) => a - b)[Math.floor(SLICES / 2)];
}

async function main(): Promise<void> {
  const json = process.argv.includes("--json");
  const ring = new Keyring([generateClusterKey()], { clusterId: "production" });
  await ring.keyIds(); // keys imported before timing
  const warm = encodeMessage(syn(3));
  for (let i = 0; i < 2_000; i++) await ring.open(await ring.seal(warm)); // the crypto paths are hot
  const cases: Array<[string, Message]> = [
    ["Syn, 3 nodes", syn(3)],
    ["Syn, 40 nodes", syn(40)],
    ["SynAck, 1.2 KB", synAck(20, 40)],
    ["SynAck, 16 KB", synAck(200, 60)],
    ["SynAck, 64 KB", synAck(700, 70)],
  ];
  const rows: Row[] = [];
  for (const [datagram, message] of cases) {
    const bytes = encodeMessage(message).length;
    const plainUs = await measure(() => decodeMessage(encodeMessage(message)));
    const roundTrip = async (): Promise<unknown> => {
      const opened = await ring.open(await ring.seal(encodeMessage(message)));
      if (opened === undefined) throw new Error("A sealed datagram did not open");
      return decodeMessage(opened);
    };
    const sealedUs = await measure(roundTrip);
    const sealedPipelinedUs = await measure(roundTrip, true);
    rows.push({ datagram, bytes, plainUs, sealedUs, sealedPipelinedUs, overheadUs: sealedUs - plainUs });
  }
  const runtime = "Deno" in globalThis
    ? `deno ${(globalThis as unknown as { Deno: { version: { deno: string } } }).Deno.version.deno}`
    : "Bun" in globalThis
    ? `bun ${(globalThis as unknown as { Bun: { version: string } }).Bun.version}`
    : `node ${process.versions.node}`;
  if (json) {
    console.log(JSON.stringify({ runtime, unit: "microseconds per datagram", rows }, null, 2));
    return;
  }
  console.log(`Seal cost per datagram on ${runtime} (µs; sealed = encode + seal + open + decode)`);
  const header = ["datagram", "bytes", "plain", "sealed", `sealed, ${PIPELINE} in flight`, "seal overhead"];
  const lines = rows.map((r) => [
    r.datagram,
    String(r.bytes),
    r.plainUs.toFixed(1),
    r.sealedUs.toFixed(1),
    r.sealedPipelinedUs.toFixed(1),
    `+${r.overheadUs.toFixed(1)}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const format = (cells: string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  console.log(format(header));
  for (const line of lines) console.log(format(line));
}

await main();
