/**
 * The benchmark suite. Runs each selected benchmark in a child process (with
 * GC exposed and a large heap) and prints Markdown tables, or one JSON
 * document with `--json`. Simulator benchmarks run once, on the runtime
 * running this script; runtime-dependent ones (cpu, memory, udp) once per
 * runtime of `--runtimes`.
 *
 *   deno task bench                                   # defaults, about 20 min
 *   bun bench/run.ts --only convergence --sizes 10,100
 *   deno run -A bench/run.ts --full --json > figures.json
 *
 * Options: `--only a,b` (convergence, join, bandwidth, detection, cpu, memory,
 * udp, cpuproc: one node per process, see bench/cpu_process.ts), `--sizes 10,100` (override each selected benchmark's sizes),
 * `--full` (the full sizes, 10 000 included), `--runs 5` (batches
 * per timed figure), `--runtimes deno,bun` (also `node`), `--json` (print
 * JSON instead of tables), `--json-file f.json` (tables, and JSON to a file).
 * @module
 */

import { spawn } from "node:child_process";
import os from "node:os";
import process from "node:process";
import { parseArgs } from "node:util";
import { bandwidth } from "./bandwidth.ts";
import { convergence } from "./convergence.ts";
import { cpu } from "./cpu.ts";
import { cpuProcess } from "./cpu_process.ts";
import { detection } from "./detection.ts";
import { join } from "./join.ts";
import { memory } from "./memory.ts";
import { udp } from "./udp.ts";
import { type Benchmark, type BenchResult, formatTable, runtimeName, runtimeVersion, selfCommand } from "./_util.ts";

const BENCHMARKS: readonly Benchmark[] = [convergence, join, bandwidth, detection, cpu, memory, udp, cpuProcess];
const RUNTIMES = ["deno", "bun", "node"] as const;
type RuntimeName = typeof RUNTIMES[number];

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    only: { type: "string" },
    sizes: { type: "string" },
    full: { type: "boolean", default: false },
    runs: { type: "string", default: "5" },
    runtimes: { type: "string", default: "deno,bun" },
    json: { type: "boolean", default: false },
    "json-file": { type: "string" },
    child: { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
});

if (values.help) {
  console.log(
    "Usage: bench/run.ts [--only convergence,join,bandwidth,detection,cpu,memory,udp,cpuproc] [--sizes 10,100] [--full]\n" +
      "                    [--runs 5] [--runtimes deno,bun,node] [--json] [--json-file figures.json]",
  );
  process.exit(0);
}

const selected = values.only === undefined
  ? BENCHMARKS
  : values.only.split(",").map((name) => {
    const found = BENCHMARKS.find((b) => b.name === name.trim());
    if (found === undefined) {
      console.error(`Unknown benchmark "${name}"; known: ${BENCHMARKS.map((b) => b.name).join(", ")}`);
      process.exit(2);
    }
    return found;
  });
const sizes = values.sizes?.split(",").map((s) => {
  const n = Number(s);
  if (!Number.isSafeInteger(n) || n < 2) {
    console.error(`Bad size "${s}": expected integers of 2 or more`);
    process.exit(2);
  }
  return n;
});
const runs = Number(values.runs);
const runtimes = values.runtimes.split(",").map((r) => r.trim()) as RuntimeName[];
for (const r of runtimes) {
  if (!RUNTIMES.includes(r)) {
    console.error(`Unknown runtime "${r}"; known: ${RUNTIMES.join(", ")}`);
    process.exit(2);
  }
}
const log = (line: string): void => void process.stderr.write(`[bench] ${line}\n`);

if (values.child) {
  // One benchmark, in this process: print its result as JSON.
  const bench = selected[0];
  const result = await bench.run({
    sizes: sizes ?? (values.full ? bench.fullSizes : bench.defaultSizes),
    runs,
    full: values.full,
    log,
  });
  process.stdout.write(`${JSON.stringify({ runtime: runtimeVersion(), result })}\n`);
  process.exit(0);
}

/** Runs one benchmark in a child process of `runtime` and returns its result. */
function runChild(bench: Benchmark, runtime: RuntimeName): Promise<{ runtime: string; result: BenchResult; seconds: number }> {
  const [command, ...args] = selfCommand("bench/run.ts", runtime);
  const childArgs = [...args, "--child", "--only", bench.name, "--runs", String(runs)];
  if (sizes !== undefined) childArgs.push("--sizes", sizes.join(","));
  if (values.full) childArgs.push("--full");
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, childArgs, { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout!.on("data", (chunk) => (out += chunk));
    child.on("error", reject);
    child.on("exit", (code) => {
      const line = out.trim().split("\n").pop() ?? "";
      if (code !== 0 || line === "") {
        reject(new Error(`${bench.name} on ${runtime} exited with ${code}`));
        return;
      }
      resolve({ ...JSON.parse(line), seconds: (Date.now() - started) / 1000 });
    });
  });
}

const machine = {
  cpu: os.cpus()[0]?.model ?? "unknown",
  cores: os.cpus().length,
  memoryGb: Math.round(os.totalmem() / 1e9),
  os: `${os.type()} ${os.release()}`,
  runner: runtimeVersion(),
};
const started = Date.now();
const results: Array<{ benchmark: string; runtime: string; seconds: number; result: BenchResult }> = [];
if (!values.json) {
  console.log(`# chitchat benchmarks\n`);
  console.log(`Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGb} GB, ${machine.os}.`);
  console.log(`Command: ${["bench/run.ts", ...process.argv.slice(2)].join(" ")} (runner ${machine.runner})\n`);
}
let failed = false;
for (const bench of selected) {
  const targets: RuntimeName[] = bench.perRuntime ? runtimes : [runtimeName()];
  for (const runtime of targets) {
    log(`${bench.name} on ${runtime}...`);
    try {
      const { runtime: version, result, seconds } = await runChild(bench, runtime);
      results.push({ benchmark: bench.name, runtime: version, seconds, result });
      if (!values.json) console.log(`${formatTable(result)}\n\n_(${version}, ${seconds.toFixed(0)} s wall)_\n`);
    } catch (error) {
      failed = true;
      log(`${bench.name} on ${runtime} failed: ${(error as Error).message}`);
    }
  }
}
const document = JSON.stringify({ machine, seconds: (Date.now() - started) / 1000, results }, null, 2);
if (values["json-file"] !== undefined) {
  const { writeFileSync } = await import("node:fs");
  writeFileSync(values["json-file"], `${document}\n`);
}
if (values.json) {
  console.log(document);
} else {
  console.log(`Total: ${((Date.now() - started) / 1000).toFixed(0)} s.`);
}
process.exit(failed ? 1 : 0);
