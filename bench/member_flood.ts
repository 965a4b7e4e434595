/**
 * CPU of one node's receive path under a member flood (issue 15): a core
 * node takes crafted Syns, 1 000 invented node ids each, from 200 loopback
 * sender addresses, until it knows `limits.maxNodes` (20 000) nodes, then
 * goes on taking them. Prints the median and total wall time of handling
 * one Syn (decode, admission, the SynAck) once it knows 20 000 nodes.
 *
 *   deno run -A bench/member_flood.ts
 *   bun bench/member_flood.ts --syns 300
 *
 * Options: `--syns N` (default 150; the first 30 fill the node and are not
 * counted).
 * @module
 */

import process from "node:process";
import { parseArgs } from "node:util";
import { Chitchat } from "../src/core/chitchat.ts";
import { decodeMessage, encodeMessage } from "../src/core/codec.ts";
import type { DigestEntry, SynMessage } from "../src/core/messages.ts";
import { createRandom } from "../src/testing/random.ts";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: { syns: { type: "string", default: "150" } },
});
const syns = Number(values.syns);
const WARM_UP = 30;

function craftedSyn(from: number, count: number): Uint8Array {
  const digest: DigestEntry[] = [];
  for (let i = from; i < from + count; i++) {
    const addr = `127.${100 + ((i >> 16) & 127)}.${(i >> 8) & 255}.${i & 255}:9`;
    digest.push({
      id: { nodeId: `x${i}`, generationId: 1, gossipAdvertiseAddr: addr },
      heartbeat: 1,
      lastGcVersion: 0,
      maxVersion: 0,
    });
  }
  const syn: SynMessage = { type: "syn", clusterId: "c", digest, partialDigest: false };
  return encodeMessage(syn);
}

const node = new Chitchat(
  {
    id: { nodeId: "target", generationId: 1, gossipAdvertiseAddr: "127.0.0.1:1" },
    clusterId: "c",
    gossipIntervalMs: 100,
    failureDetector: { initialIntervalMs: 100 },
  },
  { now: 0, random: createRandom(1) },
);
const times: number[] = [];
let now = 0;
for (let i = 0; i < syns; i++) {
  const bytes = craftedSyn(i * 1000, 1000);
  const started = performance.now();
  node.handleMessage(now, `127.0.10.${(i % 200) + 1}:5`, decodeMessage(bytes));
  while (node.pollTransmit() !== undefined) { /* drained: the answer is built */ }
  if (i >= WARM_UP) times.push(performance.now() - started);
  if (i % 10 === 9) {
    now += 100;
    node.handleTimeout(now);
    while (node.pollTransmit() !== undefined) { /* this round's Syns */ }
  }
}
times.sort((a, b) => a - b);
const total = times.reduce((sum, t) => sum + t, 0);
console.log(
  `known nodes: ${node.nodeStates().length}; Syns timed: ${times.length}; ` +
    `median ${times[times.length >> 1].toFixed(1)} ms, total ${total.toFixed(0)} ms`,
);
