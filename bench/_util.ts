/**
 * Shared pieces of the benchmark suite: the runtime we run on, CPU time, heap
 * after GC, medians, table printing, and the simulated cluster every
 * deterministic benchmark starts from (the Rust perf test's settings).
 * @module
 */

import process from "node:process";
import { SimulatedCluster, type SimulatedClusterOptions } from "../src/testing/simulated_cluster.ts";

/** What a benchmark returns: one table plus notes, and the raw figures for `--json`. */
export interface BenchResult {
  /** Table title. */
  readonly title: string;
  /** Column names, in order; rows are keyed by them. */
  readonly columns: readonly string[];
  /** Table rows. */
  readonly rows: ReadonlyArray<Record<string, string | number | boolean | null>>;
  /** Lines printed under the table (settings, targets). */
  readonly notes?: readonly string[];
}

/** Options every benchmark receives from `bench/run.ts`. */
export interface BenchOptions {
  /** Cluster sizes (or the benchmark's own size list). */
  readonly sizes: readonly number[];
  /** Repetitions for timed figures. */
  readonly runs: number;
  /** True with `--full`. */
  readonly full: boolean;
  /** Progress lines go here (stderr). */
  readonly log: (line: string) => void;
}

/** A benchmark module's export. */
export interface Benchmark {
  /** Name used by `--only`. */
  readonly name: string;
  /** Sizes run by default. */
  readonly defaultSizes: readonly number[];
  /** Sizes run with `--full`. */
  readonly fullSizes: readonly number[];
  /** True when figures depend on the runtime: run once per runtime, each in a child process. */
  readonly perRuntime: boolean;
  /** Runs the benchmark. */
  run(options: BenchOptions): Promise<BenchResult>;
}

/** `deno`, `bun` or `node`. */
export function runtimeName(): "deno" | "bun" | "node" {
  const g = globalThis as Record<string, unknown>;
  if (g.Deno !== undefined) return "deno";
  if (g.Bun !== undefined) return "bun";
  return "node";
}

/** The runtime and its version, e.g. `deno 2.9.6`. */
export function runtimeVersion(): string {
  const g = globalThis as { Deno?: { version: { deno: string } }; Bun?: { version: string } };
  if (g.Deno !== undefined) return `deno ${g.Deno.version.deno}`;
  if (g.Bun !== undefined) return `bun ${g.Bun.version}`;
  return `node ${process.versions.node}`;
}

/**
 * The command line that runs `script` (relative to the repository root) on
 * the runtime `name` (default: this one), with GC exposed and a large heap.
 */
export function selfCommand(script: string, name: "deno" | "bun" | "node" = runtimeName()): string[] {
  const bin = "node_modules/.bin";
  const here = runtimeName() === name ? process.execPath : undefined;
  switch (name) {
    case "deno":
      return [here ?? `${bin}/deno`, "run", "-A", "--v8-flags=--expose-gc,--max-old-space-size=16384", script];
    case "bun":
      return [here ?? `${bin}/bun`, script];
    case "node":
      return [here ?? "node", "--expose-gc", "--max-old-space-size=16384", "--import", "tsx", script];
  }
}

/** CPU time (user + system) of this process, in microseconds. */
export function cpuMicros(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

/** Runs a full garbage collection when the runtime lets us (`--expose-gc`, Bun). */
export function collectGarbage(): boolean {
  const g = globalThis as { Bun?: { gc(force: boolean): void }; gc?: () => void };
  if (g.Bun !== undefined) {
    g.Bun.gc(true);
    return true;
  }
  if (typeof g.gc === "function") {
    g.gc();
    return true;
  }
  return false;
}

/** Bytes of live JS heap (and array buffers) after a full GC (or as is, when GC cannot be forced). */
export async function heapAfterGc(): Promise<number> {
  for (let i = 0; i < 4; i++) {
    collectGarbage();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  collectGarbage();
  if (runtimeName() === "bun") {
    const jsc = await import("bun:jsc" as string) as { heapStats(): { heapSize: number } };
    return jsc.heapStats().heapSize;
  }
  // Typed array storage lives outside the V8 heap: count it too.
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.external;
}

/** The median of `values` (mean of the two middle ones for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Rounds to `digits` decimals. */
export function round(value: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Renders a result as a Markdown table with its title and notes. */
export function formatTable(result: BenchResult): string {
  const cells = result.rows.map((row) => result.columns.map((c) => formatCell(row[c])));
  const widths = result.columns.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i].length)));
  const line = (items: readonly string[]): string =>
    `| ${items.map((item, i) => (i === 0 ? item.padEnd(widths[i]) : item.padStart(widths[i]))).join(" | ")} |`;
  const out = [`### ${result.title}`, "", line(result.columns)];
  out.push(`| ${widths.map((w, i) => (i === 0 ? "-".repeat(w) : "-".repeat(w - 1) + ":")).join(" | ")} |`);
  for (const row of cells) out.push(line(row));
  for (const note of result.notes ?? []) out.push("", note);
  return out.join("\n");
}

function formatCell(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined) return "-";
  if (typeof value === "number") {
    if (!Number.isFinite(value)) return String(value);
    return Number.isInteger(value) ? value.toLocaleString("en-US") : value.toLocaleString("en-US", { maximumFractionDigits: 2 });
  }
  return String(value);
}

/** Settings of the Rust crate's perf test (chitchat/tests/perf_test.rs at 1e77360). */
export const RUST_PERF_SETTINGS = {
  gossipIntervalMs: 300,
  /** `initial_interval: gossip_interval` in the Rust test. */
  initialIntervalMs: 300,
  phiThreshold: 8,
  /** `marked_for_deletion_grace_period: 10 000 s`. */
  deadNodeGracePeriodMs: 10_000_000,
  mtu: 65_507,
} as const;

/** Options of {@linkcode startCluster}. */
export interface ClusterSetup {
  /** Number of nodes. */
  readonly n: number;
  /** Seeds the network and the nodes. */
  readonly seed: number;
  /** Datagram size limit of the network and the nodes. */
  readonly mtu?: number;
  /** Gossip interval; default 300 ms. */
  readonly intervalMs?: number;
  /** Loss probability of every datagram. */
  readonly loss?: number;
  /** Keys each node sets at start (`key_0..`, 10-byte values). */
  readonly keysPerNode?: number;
  /** Extra cluster options. */
  readonly extra?: Partial<SimulatedClusterOptions>;
}

/**
 * Starts `n` nodes on a simulated network with the Rust perf test's settings
 * (interval 300 ms, `initialIntervalMs` = interval, one seed: node 0). Start
 * times are spread evenly over one interval, as separately started
 * processes would be, so rounds are not in lockstep. Returns when the last
 * node is started; `cluster.clock.now()` is then about one interval.
 */
export async function startCluster(setup: ClusterSetup): Promise<SimulatedCluster> {
  const interval = setup.intervalMs ?? RUST_PERF_SETTINGS.gossipIntervalMs;
  const cluster = new SimulatedCluster({
    seed: setup.seed,
    mtu: setup.mtu ?? RUST_PERF_SETTINGS.mtu,
    gossipIntervalMs: interval,
    latencyMs: 1,
    jitterMs: 1,
    loss: setup.loss ?? 0,
    nodeDefaults: {
      failureDetector: {
        initialIntervalMs: interval,
        phiThreshold: RUST_PERF_SETTINGS.phiThreshold,
        deadNodeGracePeriodMs: RUST_PERF_SETTINGS.deadNodeGracePeriodMs,
      },
      receiveLimits: { perSender: 1_000_000, perInterval: 1_000_000 },
    },
    ...setup.extra,
  });
  const keys = setup.keysPerNode ?? 1;
  const stepMs = interval / setup.n;
  for (let i = 0; i < setup.n; i++) {
    const initialKeyValues: Record<string, string> = {};
    for (let k = 0; k < keys; k++) initialKeyValues[`key_${k}`] = `v${String(i * 1000 + k).padStart(9, "0")}`;
    await cluster.addNode(nodeName(i), { initialKeyValues });
    const target = Math.round((i + 1) * stepMs);
    if (target > cluster.clock.now()) await cluster.advance(target - cluster.clock.now(), 1000);
  }
  return cluster;
}

/** Name of node `i` in benchmark clusters. */
export function nodeName(i: number): string {
  return `node_${i}`;
}

/** True when every running node's live view holds every running node (no dead ones around). */
export function allLive(cluster: SimulatedCluster): boolean {
  const n = cluster.nodeIds.length;
  for (const id of cluster.nodeIds) if (cluster.node(id).liveNodeStates().length !== n) return false;
  return true;
}

/**
 * Advances time in `stepMs` steps until `predicate` holds; returns the
 * virtual time reached, or `undefined` after `maxMs`.
 */
export async function advanceUntil(
  cluster: SimulatedCluster,
  predicate: () => boolean,
  options: { maxMs: number; stepMs: number },
): Promise<number | undefined> {
  const end = cluster.clock.now() + options.maxMs;
  while (!predicate()) {
    if (cluster.clock.now() >= end) return undefined;
    await cluster.advance(options.stepMs, options.stepMs);
  }
  return cluster.clock.now();
}
