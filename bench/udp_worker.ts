/**
 * A benchmark worker: runs `count` nodes on real UDP loopback sockets in this
 * process and reports, as JSON lines on stdout, when all of them see the
 * whole cluster live and how much CPU the process spends while measured.
 * Driven by bench/udp.ts through stdin lines: `measure <ms>`, then `exit`.
 *
 *   <runtime> bench/udp_worker.ts <basePort> <first> <count> <total> <startAtEpochMs>
 * @module
 */

import process from "node:process";
import { createInterface } from "node:readline";
import { type ChitchatNode, spawnChitchat } from "../mod.ts";
import { cpuMicros } from "./_util.ts";

const INTERVAL_MS = 300;

const [basePort, first, count, total, startAt] = process.argv.slice(2).map(Number);
const emit = (event: Record<string, unknown>): void => void process.stdout.write(`${JSON.stringify(event)}\n`);

await new Promise((resolve) => setTimeout(resolve, Math.max(0, startAt - Date.now())));
const nodes: ChitchatNode[] = [];
for (let i = first; i < first + count; i++) {
  nodes.push(
    await spawnChitchat({
      nodeId: `node_${i}`,
      listenAddr: `127.0.0.1:${basePort + i}`,
      seeds: [`127.0.0.1:${basePort}`],
      gossipIntervalMs: INTERVAL_MS,
      failureDetector: { initialIntervalMs: INTERVAL_MS, deadNodeGracePeriodMs: 10_000_000 },
      initialKeyValues: { key_0: `v${String(i).padStart(9, "0")}` },
    }),
  );
}
const poll = setInterval(() => {
  if (nodes.every((node) => node.liveNodeIds().length === total)) {
    clearInterval(poll);
    emit({ event: "converged", at: Date.now() });
  }
}, 5);

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  const [command, arg] = line.trim().split(" ");
  if (command === "measure") {
    const ms = Number(arg);
    const cpuStart = cpuMicros();
    const wallStart = performance.now();
    const statsStart = nodes.map((node) => node.stats());
    await new Promise((resolve) => setTimeout(resolve, ms));
    const micros = cpuMicros() - cpuStart;
    const wallMs = performance.now() - wallStart;
    let bytesOut = 0;
    let datagramsOut = 0;
    nodes.forEach((node, i) => {
      bytesOut += node.stats().bytesOut - statsStart[i].bytesOut;
      datagramsOut += node.stats().datagramsOut - statsStart[i].datagramsOut;
    });
    const live = Math.min(...nodes.map((node) => node.liveNodeIds().length));
    emit({ event: "cpu", micros, wallMs, nodes: nodes.length, bytesOut, datagramsOut, minLive: live });
  } else if (command === "exit") {
    break;
  }
}
clearInterval(poll);
for (const node of nodes) await node.shutdown({ leave: false });
lines.close();
process.exit(0);
