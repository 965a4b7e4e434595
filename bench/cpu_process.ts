/**
 * CPU, memory and start-up of one node per process, on real UDP: N = 10
 * processes at a 300 ms interval on loopback, inside a network namespace of
 * their own when this process may make one (root and `ip netns`), else on
 * the host's loopback (the table says which). Three variants per runtime,
 * interleaved in each run: `examples/node.ts` (HTTP server up, no client
 * connected), the library alone (`bench/_bare_node.ts`) and the bare-runtime
 * floor (`bench/_floor_node.ts`: the runtime's own UDP socket exchanging the
 * same number of datagrams, no protocol work).
 *
 * - CPU: utime + stime of each process from `/proc/PID/stat` (kernel-counted,
 *   every thread) over a window that starts 2 s after the cluster converged,
 *   divided by nodes and seconds.
 * - Datagrams: the namespace's `/proc/net/snmp` UDP counters over the same
 *   window (only with a namespace: the host's count every process's UDP).
 * - RSS: `VmRSS` of each process at the end of the window; the floor process
 *   is the bare runtime with an open UDP socket.
 * - Start to first Syn: the wall time from `spawn()` to the first datagram
 *   a new process (seeded with a probe socket of this process, on the host's
 *   loopback) sends, while the measured cluster still runs.
 *
 *   deno run -A bench/cpu_process.ts --runtimes deno,bun --runs 3 --seconds 10
 *   deno run -A bench/run.ts --only cpuproc --runs 3
 *
 * Linux only (`/proc`). Never used to assert on speed.
 * @module
 */

import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { createSocket } from "node:dgram";
import { readFileSync } from "node:fs";
import process from "node:process";
import { parseArgs } from "node:util";
import {
  type Benchmark,
  type BenchResult,
  formatTable,
  median,
  round,
  runtimeName,
} from "./_util.ts";

type RuntimeName = "deno" | "bun" | "node";
type Variant = "example" | "library" | "floor";
const VARIANTS: readonly Variant[] = ["example", "library", "floor"];
const INTERVAL_MS = 300;
const CONVERGE_TIMEOUT_MS = 60_000;
const SYN_PROBES = 3;
const TICKS_PER_SECOND = Number(safeExec("getconf", ["CLK_TCK"]) ?? 100) || 100;

/** What one run of one variant measured. */
interface Sample {
  readonly cpuMsPerNodeS: number;
  readonly rssMb: number;
  readonly firstSynS: number;
  readonly datagramsOutPerNodeS: number | null;
  readonly datagramsInPerNodeS: number | null;
}

function safeExec(command: string, args: readonly string[]): string | undefined {
  try {
    return execFileSync(command, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] })
      .trim();
  } catch {
    return undefined;
  }
}

/** A network namespace with loopback up, or undefined when this process may not make one. */
function makeNamespace(): string | undefined {
  if (process.env.CPUPROC_NO_NETNS === "1") return undefined;
  if (typeof process.getuid === "function" && process.getuid() !== 0) return undefined;
  const name = `cpuproc-${process.pid}`;
  if (safeExec("ip", ["netns", "add", name]) === undefined) return undefined;
  if (safeExec("ip", ["-n", name, "link", "set", "lo", "up"]) === undefined) {
    safeExec("ip", ["netns", "del", name]);
    return undefined;
  }
  return name;
}

function binary(runtime: RuntimeName): string {
  if (runtime === runtimeName()) return process.execPath;
  return runtime === "node" ? "node" : `node_modules/.bin/${runtime}`;
}

/** The command line of `script` under `runtime` (no GC flags: figures as a user runs them). */
function command(runtime: RuntimeName, script: string, args: readonly string[]): string[] {
  switch (runtime) {
    case "deno":
      return [binary("deno"), "run", "-A", script, ...args];
    case "bun":
      return [binary("bun"), script, ...args];
    case "node":
      return [binary("node"), "--import", "tsx", script, ...args];
  }
}

/** The arguments of one cluster member of `variant` on `port`, seeded at `seed`. */
function memberArgs(
  variant: Variant,
  port: number,
  seed: string,
  ports: readonly number[],
): [string, string[]] {
  const listen = `127.0.0.1:${port}`;
  switch (variant) {
    case "example":
      return ["examples/node.ts", [
        "--listen",
        listen,
        "--node-id",
        `node-${port}`,
        "--seed",
        seed,
        "--interval-ms",
        String(INTERVAL_MS),
      ]];
    case "library":
      return ["bench/_bare_node.ts", [listen, seed, String(ports.length), String(INTERVAL_MS)]];
    case "floor":
      return ["bench/_floor_node.ts", [String(port), ports.join(","), String(INTERVAL_MS)]];
  }
}

interface Member {
  readonly child: ChildProcess;
  /** Resolves when the member sees the whole cluster (the floor: at once). */
  readonly converged: Promise<void>;
}

function startMember(
  argv: readonly string[],
  namespace: string | undefined,
  variant: Variant,
  total: number,
): Member {
  const full = namespace === undefined ? argv : ["ip", "netns", "exec", namespace, ...argv];
  const child = spawn(full[0], full.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
  const converged = new Promise<void>((resolve, reject) => {
    if (variant === "floor") return resolve();
    let joined = 0;
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (chunk) => {
      stdout += chunk;
      if (stdout.includes('"converged"')) resolve();
    });
    child.stderr!.on("data", (chunk) => {
      stderr += chunk;
      // The example logs "Node <id> (<addr>) joined" at info level for each peer.
      const lines = stderr.split("\n");
      stderr = lines.pop()!;
      for (const line of lines) if (line.endsWith(") joined")) joined++;
      if (joined >= total - 1) resolve();
    });
    child.on(
      "exit",
      (code) => reject(new Error(`${argv.join(" ")} exited with ${code} before converging`)),
    );
  });
  converged.catch(() => {});
  return { child, converged };
}

/** utime + stime of `pid`, in ms. */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name (which may hold spaces), counted from 3.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

/** The UDP InDatagrams and OutDatagrams of the network namespace of `pid`. */
function udpCounters(pid: number): { in: number; out: number } {
  const lines = readFileSync(`/proc/${pid}/net/snmp`, "utf8").split("\n").filter((l) =>
    l.startsWith("Udp:")
  );
  const names = lines[0].split(/\s+/);
  const values = lines[1].split(/\s+/).map(Number);
  return { in: values[names.indexOf("InDatagrams")], out: values[names.indexOf("OutDatagrams")] };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function stopAll(children: readonly ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map((child) =>
      child.exitCode !== null || child.signalCode !== null
        ? undefined
        : new Promise<void>((resolve) => {
          child.once("exit", () => resolve());
          child.kill("SIGKILL");
        })
    ),
  );
}

/** Spawns one more member seeded with a probe socket here; seconds from spawn to its first datagram. */
async function firstSyn(runtime: RuntimeName, variant: Variant): Promise<number> {
  const probe = createSocket("udp4");
  await new Promise<void>((resolve) => probe.bind(0, "127.0.0.1", resolve));
  const seed = `127.0.0.1:${probe.address().port}`;
  const [script, args] = variant === "floor"
    ? ["bench/_floor_node.ts", ["0", String(probe.address().port), String(INTERVAL_MS), "1"]]
    : variant === "library"
    ? ["bench/_bare_node.ts", ["127.0.0.1:0", seed, "2", String(INTERVAL_MS)]]
    : ["examples/node.ts", [
      "--listen",
      "127.0.0.1:0",
      "--seed",
      seed,
      "--interval-ms",
      String(INTERVAL_MS),
    ]];
  const argv = command(runtime, script, args);
  const got = new Promise<number>((resolve) => probe.once("message", () => resolve(Date.now())));
  const started = Date.now();
  const child = spawn(argv[0], argv.slice(1), { stdio: "ignore" });
  try {
    const arrived = await Promise.race([got, sleep(20_000).then(() => NaN)]);
    return (arrived - started) / 1000;
  } finally {
    await stopAll([child]);
    probe.close();
  }
}

async function runVariant(
  runtime: RuntimeName,
  variant: Variant,
  n: number,
  seconds: number,
  namespace: string | undefined,
  basePort: number,
  settleS: number,
): Promise<Sample> {
  const ports = Array.from({ length: n }, (_, i) => basePort + i);
  const seed = `127.0.0.1:${basePort}`;
  const members = ports.map((port) => {
    const [script, args] = memberArgs(variant, port, seed, ports);
    return startMember(command(runtime, script, args), namespace, variant, n);
  });
  const children = members.map((m) => m.child);
  try {
    await Promise.race([
      Promise.all(members.map((m) => m.converged)),
      sleep(CONVERGE_TIMEOUT_MS).then(() => {
        throw new Error(
          `${variant} on ${runtime}: no convergence within ${CONVERGE_TIMEOUT_MS} ms`,
        );
      }),
    ]);
    await sleep(settleS * 1000);
    const pids = children.map((c) => c.pid!);
    const cpuStart = pids.map(cpuMs);
    const udpStart = namespace === undefined ? undefined : udpCounters(pids[0]);
    const wallStart = performance.now();
    await sleep(seconds * 1000);
    const cpuEnd = pids.map(cpuMs);
    const udpEnd = namespace === undefined ? undefined : udpCounters(pids[0]);
    const wallS = (performance.now() - wallStart) / 1000;
    const gone = children.find((c) => c.exitCode !== null || c.signalCode !== null);
    if (gone !== undefined) {
      throw new Error(`${variant} on ${runtime}: a member exited during the window`);
    }
    const rss = median(pids.map(rssMb));
    const spent = cpuEnd.reduce((sum, end, i) => sum + end - cpuStart[i], 0);
    const synTimes: number[] = [];
    for (let i = 0; i < SYN_PROBES; i++) synTimes.push(await firstSyn(runtime, variant));
    return {
      cpuMsPerNodeS: spent / n / wallS,
      rssMb: rss,
      firstSynS: median(synTimes),
      datagramsOutPerNodeS: udpStart && udpEnd ? (udpEnd.out - udpStart.out) / n / wallS : null,
      datagramsInPerNodeS: udpStart && udpEnd ? (udpEnd.in - udpStart.in) / n / wallS : null,
    };
  } finally {
    await stopAll(children);
  }
}

/** Options of {@linkcode measureCpuProcess}. */
interface CpuProcessOptions {
  readonly runtimes: readonly RuntimeName[];
  readonly n: number;
  readonly runs: number;
  readonly seconds: number;
  /** Seconds between convergence and the window (Bun's JIT keeps compiling for a minute). */
  readonly settleS: number;
  readonly log: (line: string) => void;
}

/** Runs every variant of every runtime `runs` times, interleaved; one table. */
async function measureCpuProcess(options: CpuProcessOptions): Promise<BenchResult> {
  const { runtimes, n, runs, seconds, settleS, log } = options;
  const namespace = makeNamespace();
  const cleanup = (): void => void (namespace && safeExec("ip", ["netns", "del", namespace]));
  process.once("exit", cleanup);
  const samples = new Map<string, Sample[]>();
  try {
    let round_ = 0;
    for (let r = 0; r < runs; r++) {
      for (const runtime of runtimes) {
        for (const variant of VARIANTS) {
          const basePort = namespace === undefined
            ? 20_000 + ((process.pid + round_ * 37) % 400) * 100
            : 10_000 + (round_ % 50) * 100;
          round_++;
          const sample = await runVariant(runtime, variant, n, seconds, namespace, basePort, settleS);
          const key = `${runtime} ${variant}`;
          samples.set(key, [...(samples.get(key) ?? []), sample]);
          log(
            `cpuproc run ${r + 1} ${key}: ${sample.cpuMsPerNodeS.toFixed(2)} ms CPU/node/s, ` +
              `RSS ${sample.rssMb.toFixed(1)} MB, first Syn ${sample.firstSynS.toFixed(3)} s, ` +
              `${sample.datagramsOutPerNodeS?.toFixed(1) ?? "?"} datagrams out/node/s`,
          );
        }
      }
    }
  } finally {
    cleanup();
  }
  const rows: BenchResult["rows"][number][] = [];
  for (const runtime of runtimes) {
    const floor = samples.get(`${runtime} floor`)!;
    const floorCpu = median(floor.map((s) => s.cpuMsPerNodeS));
    const floorRss = median(floor.map((s) => s.rssMb));
    for (const variant of VARIANTS) {
      const got = samples.get(`${runtime} ${variant}`)!;
      const cpu = median(got.map((s) => s.cpuMsPerNodeS));
      const rss = median(got.map((s) => s.rssMb));
      const out = got.map((s) => s.datagramsOutPerNodeS);
      rows.push({
        runtime,
        variant: variant === "example"
          ? "examples/node.ts"
          : variant === "library"
          ? "library alone"
          : "bare runtime (floor)",
        "CPU ms per node per s": round(cpu, 2),
        "× floor": round(cpu / floorCpu, 2),
        "RSS MB": round(rss, 1),
        "RSS − floor MB": round(rss - floorRss, 1),
        "start to first Syn (s)": round(median(got.map((s) => s.firstSynS)), 3),
        "datagrams out per node per s": out[0] === null ? null : round(median(out as number[]), 1),
      });
    }
  }
  return {
    title: `One node per process on real UDP (N = ${n}, ${INTERVAL_MS} ms interval)`,
    columns: [
      "runtime",
      "variant",
      "CPU ms per node per s",
      "× floor",
      "RSS MB",
      "RSS − floor MB",
      "start to first Syn (s)",
      "datagrams out per node per s",
    ],
    rows,
    notes: [
      `${
        namespace === undefined
          ? "Plain host loopback (no network namespace could be made)"
          : "Loopback of a network namespace of their own"
      }; ` +
      `CPU is utime + stime from /proc/PID/stat over ${seconds} s starting ${
        settleS
      } s after convergence, ` +
      `every thread, divided by nodes and seconds; RSS is VmRSS at the end; start to first Syn is spawn() to the ` +
      `first datagram at a probe seed, median of ${SYN_PROBES} while the cluster runs. Medians of ${runs} interleaved ` +
      `runs. Targets: examples/node.ts ≤ 3.5 ms, library ≤ 3 ms, RSS ≤ floor + 10 MB, first Syn ≤ 0.3 s.`,
    ],
  };
}

/** See the module documentation; under `bench/run.ts`, one table per runtime of `--runtimes`. */
export const cpuProcess: Benchmark = {
  name: "cpuproc",
  defaultSizes: [10],
  fullSizes: [10],
  perRuntime: true,
  run({ sizes, runs, full, log }): Promise<BenchResult> {
    return measureCpuProcess({
      runtimes: [runtimeName()],
      n: sizes[0],
      runs,
      seconds: full ? 20 : 10,
      settleS: 2,
      log,
    });
  },
};

if (import.meta.main) {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      runtimes: { type: "string", default: "deno,bun" },
      runs: { type: "string", default: "3" },
      seconds: { type: "string", default: "10" },
      n: { type: "string", default: "10" },
      settle: { type: "string", default: "2" },
      json: { type: "boolean", default: false },
    },
  });
  const result = await measureCpuProcess({
    runtimes: values.runtimes.split(",").map((r) => r.trim()) as RuntimeName[],
    n: Number(values.n),
    runs: Number(values.runs),
    seconds: Number(values.seconds),
    settleS: Number(values.settle),
    log: (line) => void process.stderr.write(`[bench] ${line}\n`),
  });
  console.log(values.json ? JSON.stringify(result, null, 2) : formatTable(result));
  process.exit(0);
}
