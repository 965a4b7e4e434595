/**
 * The real-UDP soak: 10 example nodes (examples/node.ts, in turn under Deno
 * and Bun) on loopback for minutes, half of them restarted again and again
 * (a graceful stop or a crash in turn), writes, TTL keys and deletes through
 * the HTTP API, two SSE clients on each stable node and short-lived ones
 * coming and going. Prints RSS, open descriptors and pending timers of each
 * stable node after warm-up (the first fifth) and at the end. Linux only.
 *
 *   deno run -A bench/soak_udp.ts --minutes 10
 *   bun bench/soak_udp.ts --minutes 10
 *
 * Options: `--minutes M` (default 10), `--nodes N` (default 10), `--json`.
 * Exits 1 when RSS grows over 20 %, descriptors or timers grow, an SSE
 * stream outlives its client, an error is logged, or the nodes have not
 * converged at the end.
 * @module
 */

import process from "node:process";
import { parseArgs } from "node:util";
import { runUdpSoak, udpSoakVerdict } from "../tests/fixtures/udp_soak.ts";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    minutes: { type: "string", default: "10" },
    nodes: { type: "string", default: "10" },
    json: { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
});
if (values.help) {
  console.log("Usage: bench/soak_udp.ts [--minutes 10] [--nodes 10] [--json]");
  process.exit(0);
}
const durationMs = Number(values.minutes) * 60_000;
const started = Date.now();
const result = await runUdpSoak({
  durationMs,
  nodes: Number(values.nodes),
  sampleEveryMs: Math.min(60_000, durationMs / 10),
  log: (line) => console.error(`[${((Date.now() - started) / 1000).toFixed(0)} s] ${line}`),
});
const { rows, problems } = udpSoakVerdict(result, durationMs / 5);
const summary = {
  minutes: Number(values.minutes),
  restarts: result.restarts,
  writes: result.writes,
  sseBytes: result.sseBytes,
  sseClients: result.sseClients,
  errorsLogged: result.errors.length,
  problems,
};
if (values.json) console.log(JSON.stringify({ ...summary, rows }));
else {
  console.log(
    "| node | runtime | RSS after warm-up / end (MB) | fds | timers | SSE streams at the end |",
  );
  console.log("| --- | --- | --- | --- | --- | --- |");
  for (const r of rows) {
    console.log(
      `| ${r.node} | ${r.runtime} | ${r.rssWarmMb} / ${r.rssEndMb} | ${r.fdsWarm} / ${r.fdsEnd} | ` +
        `${r.timersWarm ?? "n/a"} / ${r.timersEnd ?? "n/a"} | ${r.sseStreamsEnd} |`,
    );
  }
  for (const [key, value] of Object.entries(summary)) {
    console.log(`${key}: ${JSON.stringify(value)}`);
  }
}
process.exit(problems.length === 0 ? 0 : 1);
