/**
 * Real UDP on loopback: N nodes spread over a few processes of the runtime
 * running this benchmark (10 nodes per process, and all in one process), the Rust perf test's
 * settings. Measures the wall time from the common start until every node
 * sees all N live, and the CPU each process spends per node per second in
 * steady state (process.cpuUsage over a window, the runtime's own idle work
 * included). Medians over runs.
 * @module
 */

import { type ChildProcess, spawn } from "node:child_process";
import process from "node:process";
import { createInterface } from "node:readline";
import { type Benchmark, type BenchResult, median, round, runtimeVersion, selfCommand } from "./_util.ts";

const NODES_PER_PROCESS = 10;
const MEASURE_MS = 10_000;

interface Worker {
  readonly child: ChildProcess;
  readonly events: Array<Record<string, unknown>>;
  readonly waiters: Array<() => void>;
}

function startWorker(args: readonly (string | number)[]): Worker {
  const [command, ...rest] = selfCommand("bench/udp_worker.ts");
  const child = spawn(command, [...rest, ...args.map(String)], { stdio: ["pipe", "pipe", "inherit"] });
  const worker: Worker = { child, events: [], waiters: [] };
  createInterface({ input: child.stdout! }).on("line", (line) => {
    try {
      worker.events.push(JSON.parse(line));
    } catch {
      return;
    }
    for (const wake of worker.waiters.splice(0)) wake();
  });
  child.on("exit", () => {
    for (const wake of worker.waiters.splice(0)) wake();
  });
  return worker;
}

async function nextEvent(worker: Worker, name: string, timeoutMs: number): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = worker.events.find((e) => e.event === name);
    if (found !== undefined) return found;
    if (worker.child.exitCode !== null || Date.now() > deadline) {
      throw new Error(`UDP worker gave no "${name}" event within ${timeoutMs} ms`);
    }
    await new Promise<void>((resolve) => {
      worker.waiters.push(resolve);
      setTimeout(resolve, 200);
    });
  }
}

async function runOnce(
  n: number,
  perProcess: number,
  basePort: number,
): Promise<{ convergedMs: number; cpuMsPerNodeS: number; bytesPerNodeS: number }> {
  const processes = Math.max(1, Math.ceil(n / perProcess));
  const startAt = Date.now() + 2_500;
  const workers: Worker[] = [];
  for (let p = 0; p < processes; p++) {
    const first = p * perProcess;
    const count = Math.min(perProcess, n - first);
    workers.push(startWorker([basePort, first, count, n, startAt]));
  }
  try {
    const converged = await Promise.all(workers.map((w) => nextEvent(w, "converged", 120_000)));
    const convergedMs = Math.max(...converged.map((e) => e.at as number)) - startAt;
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    for (const w of workers) w.child.stdin!.write(`measure ${MEASURE_MS}\n`);
    const cpu = await Promise.all(workers.map((w) => nextEvent(w, "cpu", MEASURE_MS + 30_000)));
    let micros = 0;
    let bytes = 0;
    for (const e of cpu) {
      micros += e.micros as number;
      bytes += e.bytesOut as number;
    }
    const seconds = median(cpu.map((e) => e.wallMs as number)) / 1000;
    return { convergedMs, cpuMsPerNodeS: micros / 1000 / n / seconds, bytesPerNodeS: bytes / n / seconds };
  } finally {
    for (const w of workers) {
      if (w.child.exitCode === null) w.child.stdin!.write("exit\n");
    }
    await Promise.all(workers.map((w) =>
      w.child.exitCode !== null ? undefined : new Promise((resolve) => {
        const timer = setTimeout(() => {
          w.child.kill();
          resolve(undefined);
        }, 10_000);
        w.child.on("exit", () => {
          clearTimeout(timer);
          resolve(undefined);
        });
      })
    ));
  }
}

/** See the module documentation. */
export const udp: Benchmark = {
  name: "udp",
  defaultSizes: [10, 50],
  fullSizes: [10, 50, 100],
  perRuntime: true,
  async run({ sizes, runs, log, full }): Promise<BenchResult> {
    const rows: BenchResult["rows"][number][] = [];
    const repeats = Math.max(1, Math.min(runs, full ? 3 : 2));
    for (const n of sizes) {
      // Ten nodes per process, and all of them in one process (as the Rust test runs them).
      for (const perProcess of n <= NODES_PER_PROCESS ? [n] : full ? [NODES_PER_PROCESS, n] : [NODES_PER_PROCESS]) {
        const results = [];
        for (let r = 0; r < repeats; r++) {
          const basePort = 30_000 + ((process.pid * 7 + r * 101 + n + perProcess) % 300) * 100;
          results.push(await runOnce(n, perProcess, basePort));
          log(
            `udp N=${n} (${perProcess} per process) run ${r + 1}: converged ${results[r].convergedMs} ms, ` +
              `${results[r].cpuMsPerNodeS.toFixed(2)} ms CPU/node/s`,
          );
        }
        rows.push({
          N: n,
          "nodes per process": perProcess,
          processes: Math.ceil(n / perProcess),
          "all live after (s)": round(median(results.map((r) => r.convergedMs)) / 1000, 2),
          "CPU ms per node per s": round(median(results.map((r) => r.cpuMsPerNodeS)), 2),
          "bytes out per node per s": Math.round(median(results.map((r) => r.bytesPerNodeS))),
          runs: repeats,
        });
      }
    }
    return {
      title: `Real UDP on loopback (${runtimeVersion()})`,
      columns: ["N", "nodes per process", "processes", "all live after (s)", "CPU ms per node per s", "bytes out per node per s", "runs"],
      rows,
      notes: [
        `${NODES_PER_PROCESS} nodes per process (with --full also all in one), interval 300 ms, initialIntervalMs 300, one seed; the clock starts when every ` +
        `process has loaded (they start their nodes at a common instant). CPU is process.cpuUsage over ${MEASURE_MS / 1000} s ` +
        `of steady state, divided by nodes and seconds (runtime idle work included). Medians of ${repeats} runs. ` +
        `Target: ≤ 6 ms per node per second at N = 100 (Rust 1.7-2.0).`,
      ],
    };
  },
};
