/**
 * A local cluster to watch: starts a few `examples/node.ts` processes on
 * loopback with the runtime running this file, prints the dashboard URL, and
 * then (unless `--calm`) crashes, stops and restarts nodes and changes keys
 * now and then, saying what it does. Ctrl-C stops every process it started.
 *
 *   deno task demo          (deno run -A examples/demo.ts)
 *   bun examples/demo.ts    (npm run demo:bun)
 *   tsx examples/demo.ts
 * @module
 */

import { parseArgs } from "node:util";
import process from "node:process";
import {
  type Child,
  findFreePorts,
  killNow,
  runtimeName,
  startNode,
  stopGracefully,
} from "./demo/processes.ts";

const HELP = `Usage: examples/demo.ts [--nodes N] [--base-port P] [--interval-ms N] [--calm]

  --nodes N        how many nodes (default 5, 2 to 12)
  --base-port P    first port tried; UDP gossip and HTTP share each port (default 10000)
  --interval-ms N  gossip interval (default 500)
  --calm           no crashes, stops or key changes: just the cluster
`;

const HOST = "127.0.0.1";
const ROLES = ["api", "indexer", "searcher", "janitor", "control-plane"];

function fail(message: string): never {
  console.error(`error: ${message}\n\n${HELP}`);
  process.exit(2);
}

let flags;
try {
  flags = parseArgs({
    options: {
      nodes: { type: "string", default: "5" },
      "base-port": { type: "string", default: "10000" },
      "interval-ms": { type: "string", default: "500" },
      calm: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  }).values;
} catch (error) {
  fail((error as Error).message);
}
if (flags.help) {
  process.stdout.write(HELP);
  process.exit(0);
}
const count = Number(flags.nodes);
const basePort = Number(flags["base-port"]);
const intervalMs = Number(flags["interval-ms"]);
if (!Number.isInteger(count) || count < 2 || count > 12) {
  fail(`--nodes must be 2 to 12, got "${flags.nodes}"`);
}
if (!Number.isInteger(basePort) || basePort < 1024 || basePort > 65000) {
  fail(`--base-port must be 1024 to 65000`);
}
if (!Number.isInteger(intervalMs) || intervalMs < 50) {
  fail(`--interval-ms must be an integer of at least 50`);
}

const ports = await findFreePorts(HOST, basePort, count);
const names = ports.map((_, i) => `node-${i + 1}`);
const addr = (i: number): string => `${HOST}:${ports[i]}`;
const url = (i: number): string => `http://${addr(i)}/`;
const children = new Map<string, Child>();

function start(i: number): void {
  const args = [
    "--node-id",
    names[i],
    "--listen",
    addr(i),
    "--interval-ms",
    String(intervalMs),
    // Forget dead incarnations after a minute, so restarts do not pile up on the page.
    "--dead-grace-ms",
    "60000",
    "--log-level",
    "warn",
    "--key",
    `role=${ROLES[i % ROLES.length]}`,
    "--key",
    `zone=zone-${"abc"[i % 3]}`,
  ];
  for (const seed of [0, 1]) if (seed !== i) args.push("--seed", addr(seed));
  children.set(names[i], startNode(names[i], args));
}

async function waitForApi(i: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${url(i)}api/state`, { signal: AbortSignal.timeout(1000) });
      await res.body?.cancel();
      if (res.ok) return true;
    } catch {
      // Not up yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return false;
}

let stopping = false;
/** Stops every node; exits with `code` (0 after a signal, 1 after a failure). */
async function stopAll(signal: string, code = 0): Promise<void> {
  if (stopping) {
    for (const child of children.values()) killNow(child);
    process.exit(130);
  }
  stopping = true;
  console.log(`\n${signal}: stopping ${children.size} nodes (each leaves gracefully)…`);
  await Promise.all([...children.values()].map((child) => stopGracefully(child)));
  console.log("All nodes stopped.");
  process.exit(code);
}
process.on("SIGINT", () => void stopAll("SIGINT"));
process.on("SIGTERM", () => void stopAll("SIGTERM"));

for (let i = 0; i < count; i++) start(i);
if (!(await waitForApi(0, 20_000))) {
  console.error(`error: ${names[0]} did not answer on ${url(0)} within 20 s`);
  await stopAll("startup failure", 1);
}

console.log(
  `\nchitchat demo: ${count} ${runtimeName()} processes on ${HOST}, gossip every ${intervalMs} ms\n`,
);
for (let i = 0; i < count; i++) {
  const pid = children.get(names[i])?.process.pid ?? "?";
  console.log(
    `  ${names[i].padEnd(8)} gossip udp ${addr(i).padEnd(16)} api ${url(i).padEnd(24)} pid ${pid}`,
  );
}
console.log(`\n  Dashboard: ${url(0)}\n`);
console.log(
  flags.calm
    ? "Press Ctrl-C to stop every node."
    : "Every ~15 s a node crashes or leaves and comes back; keys change as it goes. Ctrl-C stops everything.",
);

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)];
const say = (text: string): void =>
  console.log(`${new Date().toTimeString().slice(0, 8)}  ${text}`);

async function setKey(i: number, key: string, value: string): Promise<void> {
  try {
    const res = await fetch(`${url(i)}api/kv/${key}`, {
      method: "PUT",
      body: value,
      signal: AbortSignal.timeout(1000),
    });
    await res.body?.cancel();
    if (res.ok) say(`${names[i]} sets ${key} = ${value}  (watch it spread to every card)`);
  } catch {
    // That node is down right now.
  }
}

async function churn(): Promise<void> {
  await sleep(8_000);
  let crash = true;
  while (!stopping) {
    const i = 1 + Math.floor(Math.random() * (count - 1));
    const child = children.get(names[i])!;
    if (crash) {
      say(
        `crashing ${
          names[i]
        } (SIGKILL): its phi climbs until it passes the threshold, then it turns red`,
      );
      killNow(child);
    } else {
      say(`stopping ${names[i]} (SIGTERM): it says goodbye and turns grey at once`);
      await stopGracefully(child);
    }
    crash = !crash;
    await sleep(12_000);
    if (stopping) return;
    say(
      `restarting ${
        names[i]
      }: a new generation takes over its card; the old one is listed under it for a minute`,
    );
    start(i);
    await sleep(10_000);
  }
}

async function keys(): Promise<void> {
  await sleep(4_000);
  while (!stopping) {
    await setKey(
      Math.floor(Math.random() * count),
      "load",
      pick(["0.12", "0.37", "0.58", "0.81", "0.95"]),
    );
    await sleep(5_000);
  }
}

if (!flags.calm) {
  void churn();
  void keys();
}
