/**
 * Child processes of the demo: example nodes run by the same runtime as the
 * demo itself, each in its own process group so one Ctrl-C reaches only the
 * demo, which then stops every child (SIGTERM, then SIGKILL after a delay).
 * @module
 */

import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { createSocket } from "node:dgram";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import process from "node:process";

const NODE_SCRIPT = fileURLToPath(new URL("../node.ts", import.meta.url));
/** The repository root, where deno.json (with `"unstable": ["net"]`) is found. */
const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** Which runtime runs this file. */
export function runtimeName(): "deno" | "bun" | "node" {
  return "Deno" in globalThis ? "deno" : "Bun" in globalThis ? "bun" : "node";
}

/** The command running `examples/node.ts` with this very runtime, from `process.execPath`. */
export function nodeCommand(): string[] {
  switch (runtimeName()) {
    case "deno":
      return [process.execPath, "run", "-A", NODE_SCRIPT];
    case "bun":
      return [process.execPath, NODE_SCRIPT];
    default:
      // Under tsx, execArgv carries its loader flags, so the child is one plain Node process.
      return [process.execPath, ...process.execArgv, NODE_SCRIPT];
  }
}

/** True when both the UDP and the TCP port are free on `host`. */
async function portFree(host: string, port: number): Promise<boolean> {
  const tcp = await new Promise<boolean>((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
  if (!tcp) return false;
  return await new Promise<boolean>((resolve) => {
    const socket = createSocket("udp4");
    socket.once("error", () => {
      socket.close();
      resolve(false);
    });
    socket.bind(port, host, () => socket.close(() => resolve(true)));
  });
}

/** `count` ports from `start` upwards that are free for both UDP and TCP. */
export async function findFreePorts(host: string, start: number, count: number): Promise<number[]> {
  const ports: number[] = [];
  for (let port = start; ports.length < count && port < 65536; port++) {
    if (await portFree(host, port)) ports.push(port);
  }
  if (ports.length < count) throw new Error(`Found only ${ports.length} free ports from ${start}`);
  return ports;
}

/** A running example node. */
export interface Child {
  /** Demo name (node id without generation). */
  readonly name: string;
  /** The process. */
  readonly process: ChildProcess;
  /** Resolves with the exit code (or signal name) once the process is gone. */
  readonly exited: Promise<number | string>;
}

/** Starts `examples/node.ts` with `args`; its stderr lines are printed prefixed with `name`. */
export function startNode(name: string, args: string[]): Child {
  const [command, ...rest] = nodeCommand();
  const child = spawn(command, [...rest, ...args], {
    cwd: ROOT,
    detached: true,
    stdio: ["ignore", "ignore", "pipe"],
  });
  createInterface({ input: child.stderr! }).on(
    "line",
    (line) => console.log(`  [${name}] ${line}`),
  );
  const exited = new Promise<number | string>((resolve) => {
    child.once("exit", (code, signal) => resolve(code ?? signal ?? "?"));
    child.once("error", (error) => {
      console.log(`  [${name}] cannot start: ${error.message}`);
      resolve("error");
    });
  });
  return { name, process: child, exited };
}

/** SIGKILLs the child's whole process group. */
export function killNow(child: Child): void {
  if (child.process.exitCode !== null || child.process.signalCode !== null || !child.process.pid) {
    return;
  }
  try {
    process.kill(-child.process.pid, "SIGKILL");
  } catch {
    // Already gone.
  }
}

/** Sends SIGTERM (graceful leave) and waits up to `graceMs`, then SIGKILLs. */
export async function stopGracefully(child: Child, graceMs = 6_000): Promise<void> {
  if (child.process.exitCode !== null || child.process.signalCode !== null || !child.process.pid) {
    return;
  }
  try {
    // process.kill, not child.kill: Deno's child.kill("SIGTERM") bypasses the child's handler.
    process.kill(child.process.pid, "SIGTERM");
  } catch {
    return;
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"late">((
    resolve,
  ) => (timer = setTimeout(() => resolve("late"), graceMs)));
  if (await Promise.race([child.exited, late]) === "late") killNow(child);
  clearTimeout(timer);
  await child.exited;
}
