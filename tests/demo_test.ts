// examples/demo.ts as a user runs it: one process under the runtime running
// this file, on loopback, with --calm so no node is crashed on purpose. The
// test reads what the demo prints, asks the dashboard node's HTTP API, then
// stops the demo with SIGINT (what Ctrl-C sends) or SIGTERM and checks that
// every node process it started is gone.
import { test } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import process from "node:process";
import { currentRuntime, waitFor } from "./fixtures/example_nodes.ts";
import type { ApiState } from "../examples/node/http_api.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const COMMANDS = {
  deno: ["node_modules/.bin/deno", "run", "-A", "examples/demo.ts"],
  bun: ["node_modules/.bin/bun", "examples/demo.ts"],
  node: ["node_modules/.bin/tsx", "examples/demo.ts"],
} as const;

/** A TCP port the OS considers free now: the demo probes upwards from it. */
async function somePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** True while some process of the group led by `pid` (the node and anything it started) runs. */
function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: string }).code === "EPERM";
  }
}

/** `promise`'s value, or "still running" after `ms`. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | "still running"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"still running">((resolve) => {
    timer = setTimeout(() => resolve("still running"), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // Already gone.
  }
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  test(
    `examples/demo.ts --calm starts five nodes behind the dashboard URL it prints, and ${signal} stops every one of them`,
    { timeout: 120_000 },
    () => runDemoUntil(signal),
  );
}

async function runDemoUntil(signal: "SIGINT" | "SIGTERM"): Promise<void> {
  const [command, ...args] = COMMANDS[currentRuntime()];
  // Start the demo's scan for free ports at one the OS just chose, away from other tests' ports.
  const basePort = Math.min(await somePort(), 64_000);
  const demo: ChildProcess = spawn(
    command,
    [...args, "--calm", "--interval-ms", "200", "--base-port", String(basePort)],
    {
      cwd: ROOT,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, NO_COLOR: "1" },
    },
  );
  let output = "";
  demo.stdout!.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  demo.stderr!.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  const exited = new Promise<number | string>((resolve) => {
    demo.once("exit", (code, signal) => resolve(code ?? signal ?? "unknown"));
    demo.once("error", (error) => resolve(`spawn error: ${error.message}`));
  });
  let pids: number[] = [];
  try {
    const dashboard = await waitFor("the demo to print its dashboard URL", () => {
      if (demo.exitCode !== null) {
        throw new Error(`The demo exited early (${demo.exitCode}):\n${output}`);
      }
      return /Dashboard: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(output)?.[1];
    }, 60_000);
    const listed = [
      ...output.matchAll(/^\s+(node-\d+)\s+gossip udp (\S+)\s+api (\S+)\s+pid (\d+)$/gm),
    ];
    assert.deepEqual(
      listed.map((m) => m[1]),
      ["node-1", "node-2", "node-3", "node-4", "node-5"],
      `the demo lists five nodes with their pids:\n${output}`,
    );
    pids = listed.map((m) => Number(m[4]));
    assert.equal(listed[0][3], dashboard, "the dashboard is node-1's API");
    for (const m of listed) assert.match(m[2], /^127\.0\.0\.1:\d+$/, "gossip stays on loopback");
    for (const pid of pids) assert.ok(groupAlive(pid), `node process ${pid} runs`);

    const page = await fetch(dashboard, { signal: AbortSignal.timeout(5_000) });
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type") ?? "", /text\/html/);
    assert.match(await page.text(), /<title>chitchat dashboard<\/title>/);

    const state = await waitFor("the dashboard node to see five nodes live", async () => {
      const res = await fetch(`${dashboard}api/state`, { signal: AbortSignal.timeout(2_000) });
      const body = await res.json() as ApiState;
      return body.live.length === 5 ? body : undefined;
    });
    assert.deepEqual([...state.live].sort(), ["node-1", "node-2", "node-3", "node-4", "node-5"]);
    assert.equal(state.self.nodeId, "node-1");
    assert.deepEqual(state.nodes.map((n) => n.status), Array(5).fill("live"));

    process.kill(demo.pid!, signal);
    const code = await within(exited, 30_000);
    assert.equal(code, 0, `the demo exits 0 after ${signal}:\n${output}`);
    assert.match(output, new RegExp(`${signal}: stopping 5 nodes`));
    assert.match(output, /All nodes stopped\./);
    // Each node is reaped by the demo before it exits; allow a moment for the kernel's bookkeeping.
    await waitFor("every node process to be gone", () => {
      const alive = pids.filter(groupAlive);
      return alive.length === 0 ? true : undefined;
    }, 5_000);
  } finally {
    // A demo still running after a failure is asked to stop its nodes itself first.
    if (demo.exitCode === null && demo.signalCode === null && demo.pid !== undefined) {
      process.kill(demo.pid, "SIGTERM");
      await within(exited, 15_000);
    }
    for (const m of output.matchAll(/\bpid (\d+)\b/g)) killGroup(Number(m[1]));
    if (demo.pid !== undefined) killGroup(demo.pid);
    await within(exited, 10_000);
  }
}
