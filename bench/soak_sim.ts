/**
 * The simulator soak: 20 nodes under continuous churn for virtual hours
 * (writes, TTL keys, deletes, kills, graceful stops, restarts, partitions,
 * loss), then the model checker's final assertions; prints the heap, the
 * pending timers and the known nodes every virtual hour, and the verdict.
 *
 *   deno run -A bench/soak_sim.ts --hours 24
 *   bun bench/soak_sim.ts --hours 24
 *
 * Options: `--hours H` (default 24), `--nodes N` (default 20), `--seed S`
 * (default 1), `--json`. Exits 1 when the checker finds a violation, the
 * heap at the end is more than 10 % above the heap after warm-up (the first
 * tenth of the run, at least one hour), the timers per running node grow
 * past their bound, or a node holds more node states than the churn allows
 * (one per node id, plus the incarnations ended within two dead-node grace
 * periods).
 * @module
 */

import process from "node:process";
import { parseArgs } from "node:util";
import { runSoak, type SoakSample, soakSchedule, soakVerdict } from "../tests/model/soak.ts";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    hours: { type: "string", default: "24" },
    nodes: { type: "string", default: "20" },
    seed: { type: "string", default: "1" },
    json: { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
});
if (values.help) {
  console.log("Usage: bench/soak_sim.ts [--hours 24] [--nodes 20] [--seed 1] [--json]");
  process.exit(0);
}

const hours = Number(values.hours);
const nodes = Number(values.nodes);
const seed = Number(values.seed);
const durationMs = hours * 3_600_000;
const sampleEveryMs = Math.min(3_600_000, durationMs / 12);
const mb = (bytes: number): string => (bytes / 1e6).toFixed(1);
const runtime = "Deno" in globalThis ? "Deno" : "Bun" in globalThis ? "Bun" : "Node";
console.error(`soak_sim: ${nodes} nodes, ${hours} virtual h, seed ${seed}, ${runtime}`);
console.error("virtual h | heap MB | timers | in flight | running | max known | wall s");
const started = performance.now();
const soak = await runSoak(seed, {
  nodes,
  durationMs,
  sampleEveryMs,
  onSample: (s: SoakSample) =>
    console.error(
      `${(s.atMs / 3_600_000).toFixed(2).padStart(9)} | ${mb(s.heapBytes).padStart(7)} | ${
        String(s.timers).padStart(6)
      } | ` +
        `${String(s.inFlight).padStart(9)} | ${String(s.running).padStart(7)} | ${
          String(s.maxKnown).padStart(9)
        } | ` +
        `${((performance.now() - started) / 1000).toFixed(0)}`,
    ),
});
const verdict = soakVerdict(soak, { warmUpMs: Math.max(3_600_000, durationMs / 10) });
const ops = soakSchedule(seed, { nodes, durationMs }).ops.length;
const summary = {
  runtime,
  nodes,
  virtualHours: hours,
  ops,
  datagrams: soak.result.datagrams,
  failures: soak.result.failures.length,
  warnings: soak.result.warnings.length,
  heapAfterWarmUpMb: Number(mb(verdict.heapAfterWarmUp)),
  heapAtEndMb: Number(mb(verdict.heapAtEnd)),
  heapGrowthPercent: Number((verdict.heapGrowth * 100).toFixed(1)),
  maxTimersPerNode: Number(verdict.maxTimersPerNode.toFixed(1)),
  maxKnown: verdict.maxKnown,
  statesBound: soak.statesBound,
  wallSeconds: Math.round(soak.wallMs / 1000),
  problems: verdict.problems,
};
if (values.json) console.log(JSON.stringify(summary));
else {
  for (const [key, value] of Object.entries(summary)) {
    console.log(`${key}: ${JSON.stringify(value)}`);
  }
}
process.exit(verdict.problems.length === 0 ? 0 : 1);
