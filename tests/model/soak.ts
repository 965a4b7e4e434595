/**
 * The simulator soak: a long schedule of continuous churn (writes, TTL keys,
 * deletes, kills, graceful stops, restarts, partitions, loss bursts) for the
 * model checker, and a run of it that samples the heap, the pending timers,
 * the datagrams in flight and the known nodes, so that growth over virtual
 * hours shows. The same seed gives the same schedule.
 * @module
 */

import process from "node:process";
import v8 from "node:v8";
import vm from "node:vm";
import { createRandom, type Random, shuffle } from "../../src/testing/mod.ts";
import { type RunResult, runSchedule } from "./checker.ts";
import type { NodeSpec, Op, Schedule } from "./schedule.ts";

/** Options of {@linkcode soakSchedule}. */
export interface SoakOptions {
  /** Nodes (default 20). */
  readonly nodes?: number;
  /** Virtual time of the churn, in ms. */
  readonly durationMs: number;
  /** Tombstone grace period of every node (default 10 min). */
  readonly tombstoneGracePeriodMs?: number;
  /** Dead-node grace period of every node (default 20 min). */
  readonly deadNodeGracePeriodMs?: number;
}

function int(random: Random, lo: number, hi: number): number {
  return lo + Math.floor(random() * (hi - lo + 1));
}

function pick<T>(random: Random, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)];
}

/**
 * A churn schedule: every 1 to 4 virtual seconds one operation: mostly
 * writes over a fixed set of keys per node (a quarter of them with a TTL, a
 * quarter deletes), and now and then a kill, a graceful stop, a restart, a
 * partition into two groups (healed 5 to 60 s later) or a loss burst. At
 * least 3/4 of the nodes stay running. Tombstones live 10 min and dead nodes
 * 20 min, so collection and removal happen many times an hour.
 */
export function soakSchedule(seed: number, options: SoakOptions): Schedule {
  const random = createRandom(seed);
  const n = options.nodes ?? 20;
  const nodes: NodeSpec[] = Array.from({ length: n }, (_, i) => ({
    id: `n${i}`,
    seedIds: i < 2 ? ["n0"] : ["n0", "n1"],
    ...(i > 0 ? { late: true } : {}),
  }));
  const ids = nodes.map((node) => node.id);
  const running = new Set(ids);
  const keys = ["a", "b", "c", "d", "e", "f", "t1", "t2"];
  const ops: Op[] = [];
  for (const node of ids.slice(1)) {
    ops.push({ op: "advance", ms: int(random, 0, 999) }, { op: "start", node });
  }
  let time = 0;
  let version = 0;
  let healAt: number | undefined;
  while (time < options.durationMs) {
    const ms = int(random, 1, 4) * 1000;
    ops.push({ op: "advance", ms });
    time += ms;
    if (healAt !== undefined && time >= healAt) {
      ops.push({ op: "heal" });
      healAt = undefined;
    }
    const r = random();
    const live = [...running];
    const stopped = ids.filter((id) => !running.has(id));
    if (r < 0.8) {
      const node = pick(random, live);
      const key = pick(random, keys);
      const kind = random();
      const value = `v${++version}`;
      if (kind < 0.5) ops.push({ op: "set", node, key, value });
      else if (kind < 0.7) ops.push({ op: "setWithTtl", node, key, value });
      else if (kind < 0.9) ops.push({ op: "delete", node, key });
      else ops.push({ op: "deleteAfterTtl", node, key });
    } else if (r < 0.87 && live.length > Math.ceil(n * 0.75)) {
      const node = pick(random, live.filter((id) => id !== "n0" && id !== "n1"));
      if (node === undefined) continue;
      running.delete(node);
      ops.push({ op: random() < 0.5 ? "kill" : "stop", node });
    } else if (r < 0.95 && stopped.length > 0) {
      const node = pick(random, stopped);
      running.add(node);
      ops.push({ op: "start", node });
    } else if (r < 0.98 && healAt === undefined) {
      const shuffled = shuffle(random, [...ids]);
      const cut = int(random, 1, Math.floor(n / 2));
      ops.push({ op: "partition", groups: [shuffled.slice(0, cut), shuffled.slice(cut)] });
      healAt = time + int(random, 5, 60) * 1000;
    } else {
      ops.push({ op: "loss", p: pick(random, [0.2, 0.5]) });
      const burst = int(random, 1, 5) * 1000;
      ops.push({ op: "advance", ms: burst }, { op: "loss", p: 0 });
      time += burst;
    }
  }
  return {
    simSeed: seed,
    nodes,
    mtu: 65_507,
    tombstoneGracePeriodMs: options.tombstoneGracePeriodMs ?? 600_000,
    deadNodeGracePeriodMs: options.deadNodeGracePeriodMs ?? 1_200_000,
    ops,
    quietMs: 60_000,
  };
}

/** Virtual ms a node may take to declare a killed node dead (phi threshold over 1 s rounds, with slack). */
const DETECTION_MS = 60_000;

/**
 * The most node states a node may hold under `schedule`: one incarnation per
 * node id, plus every incarnation that ended (killed or stopped) within a
 * window of two dead-node grace periods and a detection time. A node that saw
 * an incarnation die removes it a grace period after declaring it dead; a
 * node that learned it later (from a node still holding it) does not hand it
 * on and removes it a grace period after learning it.
 *
 * @example
 * ```ts
 * import { soakSchedule, soakStatesBound } from "./soak.ts";
 * const schedule = soakSchedule(1, { nodes: 5, durationMs: 600_000 });
 * console.assert(soakStatesBound(schedule) >= 5);
 * ```
 */
export function soakStatesBound(schedule: Schedule): number {
  const windowMs = 2 * (schedule.deadNodeGracePeriodMs ?? 3_600_000) + DETECTION_MS;
  const ends: number[] = [];
  let time = 0;
  for (const op of schedule.ops) {
    if (op.op === "advance") time += op.ms;
    else if (op.op === "kill" || op.op === "stop") ends.push(time);
  }
  let most = 0;
  for (let i = 0, j = 0; i < ends.length; i++) {
    while (ends[i] - ends[j] > windowMs) j++;
    most = Math.max(most, i - j + 1);
  }
  return schedule.nodes.length + most;
}

/** One sample of a soak. */
export interface SoakSample {
  /** Virtual ms since the start. */
  readonly atMs: number;
  /** `heapUsed` after a forced collection when the runtime allows one, in bytes. */
  readonly heapBytes: number;
  /** Timers pending on the manual clock (node timers and datagrams in flight). */
  readonly timers: number;
  /** Datagrams in flight on the memory network. */
  readonly inFlight: number;
  /** Running nodes. */
  readonly running: number;
  /** The most node states any running node holds. */
  readonly maxKnown: number;
}

/** What {@linkcode runSoak} found. */
export interface SoakResult {
  /** The checker's result (failures must be empty). */
  readonly result: RunResult;
  /** One sample every `sampleEveryMs`. */
  readonly samples: readonly SoakSample[];
  /** Wall-clock ms the run took. */
  readonly wallMs: number;
  /** The most node states a node may hold: {@linkcode soakStatesBound} of the schedule. */
  readonly statesBound: number;
}

let v8Gc: (() => void) | undefined;

/** Collects garbage: `Bun.gc(true)` under Bun, V8's `gc()` (exposed on first use) under Deno and Node. */
export function collectGarbage(): void {
  const bun = (globalThis as { Bun?: { gc(sync: boolean): void } }).Bun;
  if (bun !== undefined) return bun.gc(true);
  if (v8Gc === undefined) {
    v8.setFlagsFromString("--expose-gc");
    v8Gc = vm.runInNewContext("gc") as () => void;
  }
  v8Gc();
}

/** What {@linkcode soakVerdict} measured, and what is wrong. */
export interface SoakVerdict {
  /** Heap at the first sample after warm-up, in bytes. */
  readonly heapAfterWarmUp: number;
  /** Heap at the last sample, in bytes. */
  readonly heapAtEnd: number;
  /** `heapAtEnd / heapAfterWarmUp - 1`. */
  readonly heapGrowth: number;
  /** The most pending timers per running node in any sample. */
  readonly maxTimersPerNode: number;
  /** The most node states a running node held in any sample. */
  readonly maxKnown: number;
  /** Everything out of bounds, empty when the soak passed. */
  readonly problems: readonly string[];
}

/**
 * The soak's bounds: no checker violation; heap at the end within
 * `heapTolerance` (default 10 %) of the heap after `warmUpMs`; at most
 * `timersPerNode` (default 12) pending timers per running node (a node has a
 * round timer and a leave or seed timer at most; the rest are datagrams in
 * flight, a few per node and round); and no node holding more states than
 * the schedule's churn allows ({@linkcode soakStatesBound}).
 */
export function soakVerdict(
  soak: SoakResult,
  options: { warmUpMs: number; heapTolerance?: number; timersPerNode?: number },
): SoakVerdict {
  const problems: string[] = [];
  for (const failure of soak.result.failures) {
    problems.push(
      `checker: ${failure.property} at ${Math.round(failure.at)} ms: ${failure.message}`,
    );
  }
  const { samples } = soak;
  const warm = samples.find((s) => s.atMs >= options.warmUpMs) ?? samples[0];
  const end = samples[samples.length - 1];
  if (warm === undefined || end === undefined || warm === end) {
    problems.push(
      `too few samples (${samples.length}) to compare the heap after warm-up with the end`,
    );
  }
  const heapAfterWarmUp = warm?.heapBytes ?? 0;
  const heapAtEnd = end?.heapBytes ?? 0;
  const heapGrowth = heapAfterWarmUp > 0 ? heapAtEnd / heapAfterWarmUp - 1 : 0;
  const tolerance = options.heapTolerance ?? 0.1;
  if (heapGrowth > tolerance) {
    problems.push(
      `heap grew ${
        (heapGrowth * 100).toFixed(1)
      } % from ${heapAfterWarmUp} bytes after warm-up to ${heapAtEnd} ` +
        `at the end (limit ${tolerance * 100} %)`,
    );
  }
  const maxTimersPerNode = Math.max(0, ...samples.map((s) => s.timers / Math.max(1, s.running)));
  const timerBound = options.timersPerNode ?? 12;
  if (maxTimersPerNode > timerBound) {
    problems.push(
      `${maxTimersPerNode.toFixed(1)} pending timers per running node, above ${timerBound}`,
    );
  }
  const maxKnown = Math.max(0, ...samples.map((s) => s.maxKnown));
  if (maxKnown > soak.statesBound) {
    problems.push(`a node held ${maxKnown} node states, above ${soak.statesBound}`);
  }
  return { heapAfterWarmUp, heapAtEnd, heapGrowth, maxTimersPerNode, maxKnown, problems };
}

/** Runs {@linkcode soakSchedule} through the checker, sampling every `sampleEveryMs` virtual ms. */
export async function runSoak(
  seed: number,
  options: SoakOptions & {
    readonly sampleEveryMs: number;
    readonly onSample?: (sample: SoakSample) => void;
  },
): Promise<SoakResult> {
  const schedule = soakSchedule(seed, options);
  const samples: SoakSample[] = [];
  const started = performance.now();
  let next = options.sampleEveryMs;
  const result = await runSchedule(schedule, {
    prune: true,
    onSample: (cluster, running) => {
      const atMs = cluster.clock.now();
      if (atMs < next) return;
      next += options.sampleEveryMs;
      collectGarbage();
      let maxKnown = 0;
      for (const id of cluster.nodeIds) {
        maxKnown = Math.max(maxKnown, cluster.node(id).nodeStates().length);
      }
      const sample = {
        atMs,
        heapBytes: process.memoryUsage().heapUsed,
        timers: cluster.clock.pendingTimers,
        inFlight: cluster.network.inFlight,
        running,
        maxKnown,
      };
      samples.push(sample);
      options.onSample?.(sample);
    },
  });
  return {
    result,
    samples,
    wallMs: performance.now() - started,
    statesBound: soakStatesBound(schedule),
  };
}
