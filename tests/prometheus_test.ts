// A real Prometheus (Debian's `prometheus` package) scrapes three example
// nodes on loopback every second, and its HTTP API is asked what it saw:
// three live members everywhere, two after one node is killed, counters that
// only rise. Installs the package with apt-get when it is missing and this
// process may; where the binary cannot be had, says "SKIPPED: why".
import { test } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { renderMetrics, spawnChitchat } from "../mod.ts";
import { currentRuntime, kill, type ReadyNode, startNode, stopAll, waitFor } from "./fixtures/example_nodes.ts";

const TIMEOUT = { timeout: 300_000 };

/** The prometheus binary, installing Debian's package first when missing; or why there is none. */
function findPrometheus(): { path: string } | { skip: string } {
  const onPath = (): string | undefined => {
    const found = spawnSync("sh", ["-c", "command -v prometheus"], { encoding: "utf8" });
    const path = found.stdout?.trim();
    if (found.status === 0 && path) return path;
    return existsSync("/usr/bin/prometheus") ? "/usr/bin/prometheus" : undefined;
  };
  const present = onPath();
  if (present !== undefined) return { path: present };
  if (process.platform !== "linux" || spawnSync("sh", ["-c", "command -v apt-get"]).status !== 0) {
    return { skip: "no prometheus binary on PATH and no apt-get to install Debian's package" };
  }
  if (process.getuid?.() !== 0) {
    return { skip: "no prometheus binary on PATH, and installing it with apt-get needs root" };
  }
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const install = ["install", "-y", "-qq", "--no-install-recommends", "prometheus"];
  let result = spawnSync("apt-get", install, { env, encoding: "utf8", timeout: 240_000 });
  if (result.status !== 0) {
    spawnSync("apt-get", ["update", "-qq"], { env, timeout: 120_000 });
    result = spawnSync("apt-get", install, { env, encoding: "utf8", timeout: 240_000 });
  }
  const installed = onPath();
  if (installed !== undefined) return { path: installed };
  return { skip: `apt-get install prometheus failed: ${(result.stderr ?? "").trim().split("\n").at(-1)}` };
}

/** A TCP port free on loopback right now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

interface Sample {
  metric: Record<string, string>;
  value?: [number, string];
  values?: Array<[number, string]>;
}

/** Runs a PromQL query through the HTTP API; throws unless it succeeded. */
async function query(base: string, promql: string): Promise<Sample[]> {
  const res = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(promql)}`, {
    signal: AbortSignal.timeout(5_000),
  });
  const body = await res.json() as { status: string; error?: string; data?: { result: Sample[] } };
  if (body.status !== "success") throw new Error(`Query ${promql} failed: ${body.error}`);
  return body.data!.result;
}

/** instance (host:port) -> value of an instant vector. */
function byInstance(samples: Sample[]): Map<string, number> {
  return new Map(samples.map((s) => [s.metric.instance, Number(s.value![1])]));
}

function hostPort(url: string): string {
  return new URL(url).host;
}

async function stopPrometheus(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  let timer: ReturnType<typeof setTimeout> | undefined;
  const gone = await Promise.race([
    exited.then(() => true),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), 10_000))),
  ]);
  clearTimeout(timer);
  if (!gone) {
    child.kill("SIGKILL");
    await exited;
  }
}

test("renderMetrics() runs on a live node even where Prometheus cannot be had", async () => {
  await using node = await spawnChitchat({ nodeId: "solo", listenAddr: "127.0.0.1:0" });
  const text = renderMetrics(node);
  assert.match(text, /^chitchat_live_members 1$/m);
  assert.match(text, /^# TYPE chitchat_datagrams_received_total counter$/m);
});

test("Prometheus scrapes three example nodes: 3 live members each, 2 after a kill, counters only rise", TIMEOUT, async () => {
  const found = findPrometheus();
  if ("skip" in found) {
    console.log(`SKIPPED: ${found.skip}`);
    return;
  }
  const runtime = currentRuntime();
  const nodes: ReadyNode[] = [];
  const dir = mkdtempSync(join(tmpdir(), "chitchat-prometheus-"));
  let prometheus: ChildProcess | undefined;
  let exited: Promise<unknown> = Promise.resolve();
  let log = "";
  try {
    const a = await startNode(runtime, ["--node-id", "a"]);
    nodes.push(a);
    for (const id of ["b", "c"]) nodes.push(await startNode(runtime, ["--node-id", id, "--seed", a.gossip]));
    const [instA, instB, instC] = nodes.map((n) => hostPort(n.url));

    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    writeFileSync(
      join(dir, "prometheus.yml"),
      [
        "global:",
        "  scrape_interval: 1s",
        "  scrape_timeout: 1s",
        "  evaluation_interval: 1s",
        "scrape_configs:",
        "  - job_name: chitchat",
        "    static_configs:",
        `      - targets: [${[instA, instB, instC].map((t) => JSON.stringify(t)).join(", ")}]`,
        "",
      ].join("\n"),
    );
    prometheus = spawn(found.path, [
      `--config.file=${join(dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--log.level=warn",
    ], { stdio: ["ignore", "pipe", "pipe"] });
    const child = prometheus;
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (log += chunk));
    child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (log += chunk));
    exited = new Promise((resolve) => child.once("exit", resolve));
    const alive = (): void => {
      if (child.exitCode !== null) throw new Error(`The node exited early: prometheus exited (${child.exitCode}):\n${log}`);
    };

    await waitFor("Prometheus to be ready", async () => {
      alive();
      const res = await fetch(`${base}/-/ready`, { signal: AbortSignal.timeout(2_000) });
      await res.body?.cancel();
      return res.ok ? true : undefined;
    }, 60_000);
    await waitFor("two scrapes of every node", async () => {
      alive();
      const counts = byInstance(await query(base, 'count_over_time(up{job="chitchat"}[1m])'));
      return [instA, instB, instC].every((i) => (counts.get(i) ?? 0) >= 2) ? true : undefined;
    });
    const live = await waitFor("chitchat_live_members to be 3 on every node", async () => {
      const values = byInstance(await query(base, "chitchat_live_members"));
      return [instA, instB, instC].every((i) => values.get(i) === 3) ? values : undefined;
    });
    assert.equal(live.size, 3);
    const before = byInstance(await query(base, "chitchat_datagrams_received_total"));

    kill(nodes[2]);
    const after = await waitFor("chitchat_live_members to drop to 2 on a and b", async () => {
      const values = byInstance(await query(base, `chitchat_live_members{instance=~"${instA}|${instB}"}`));
      return values.get(instA) === 2 && values.get(instB) === 2 ? values : undefined;
    }, 60_000);
    assert.equal(after.size, 2);
    const up = byInstance(await query(base, 'up{job="chitchat"}'));
    assert.equal(up.get(instC), 0, "the killed node's target is down");

    // Counters only rise: two queries compared, then every sample of every counter in the window.
    const later = byInstance(await query(base, "chitchat_datagrams_received_total"));
    for (const inst of [instA, instB]) {
      assert.ok(later.get(inst)! > before.get(inst)!, `${inst}: ${before.get(inst)} then ${later.get(inst)}`);
    }
    const series = await query(base, '{__name__=~"chitchat_.+_total", job="chitchat"}[2m]');
    assert.ok(series.length >= 3 * 13, `${series.length} counter series`);
    for (const s of series) {
      const values = s.values!.map(([, v]) => Number(v));
      for (let i = 1; i < values.length; i++) {
        assert.ok(values[i] >= values[i - 1], `${JSON.stringify(s.metric)} fell from ${values[i - 1]} to ${values[i]}`);
      }
    }
    const resets = await query(base, "resets(chitchat_datagrams_received_total[2m])");
    assert.equal(resets.length, 3);
    for (const s of resets) assert.equal(s.value![1], "0", `Prometheus saw no reset on ${s.metric.instance}`);
  } finally {
    if (prometheus !== undefined) await stopPrometheus(prometheus, exited);
    await stopAll(nodes);
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(existsSync(dir), false, "the data directory is removed");
  assert.ok(prometheus!.exitCode !== null || prometheus!.signalCode !== null, "Prometheus stopped");
});
