/**
 * The library alone, for `bench/cpu_process.ts`: one `spawnChitchat` node in
 * a bare script (no HTTP server, no feeds, the default logger), the settings
 * of the example node run with `--interval-ms 300`. Prints
 * `{"event":"converged"}` on stdout once it sees `total` nodes live, then
 * nothing more (the poll stops).
 *
 *   <runtime> bench/_bare_node.ts <listen host:port> <seed host:port> <total> [intervalMs]
 * @module
 */

import process from "node:process";
import { spawnChitchat } from "../mod.ts";

const [listenAddr, seed, totalArg, intervalArg] = process.argv.slice(2);
const total = Number(totalArg);
const intervalMs = Number(intervalArg ?? 300);

const node = await spawnChitchat({
  nodeId: `node-${listenAddr.split(":").pop()}`,
  listenAddr,
  seeds: [seed],
  gossipIntervalMs: intervalMs,
  failureDetector: { initialIntervalMs: intervalMs },
});
const poll = setInterval(() => {
  if (node.liveNodeIds().length < total) return;
  clearInterval(poll);
  process.stdout.write(`${JSON.stringify({ event: "converged", at: Date.now() })}\n`);
}, 100);
