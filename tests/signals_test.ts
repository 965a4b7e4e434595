// leaveOnSignals(): a child process (Deno, Bun, Node through tsx) runs a node
// seeded with one in this process; a signal makes it leave gracefully (this
// node sees it `left`, never `died`) and exit with the code asked for.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import process from "node:process";
import { describe, it } from "node:test";
import { type ChitchatEvent, leaveOnSignals, spawnChitchat } from "../mod.ts";
import { type Runtime, waitFor } from "./fixtures/example_nodes.ts";

const bin = "node_modules/.bin";
const COMMANDS: Record<Runtime, string[]> = {
  deno: [`${bin}/deno`, "run", "-A", "tests/fixtures/signal_node.ts"],
  bun: [`${bin}/bun`, "tests/fixtures/signal_node.ts"],
  node: [`${bin}/tsx`, "tests/fixtures/signal_node.ts"],
};

async function leavesOn(runtime: Runtime, signal: "SIGTERM" | "SIGINT"): Promise<void> {
  await using seed = await spawnChitchat({
    nodeId: "seed",
    listenAddr: "127.0.0.1:0",
    gossipIntervalMs: 100,
    failureDetector: { initialIntervalMs: 100 },
    logger: { debug() {}, info() {}, warn() {}, error() {} },
  });
  const events = seed.events();
  const [command, ...args] = COMMANDS[runtime];
  const child = spawn(command, [...args, seed.localAddr, "3"], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NO_COLOR: "1" },
  });
  let output = "";
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  const exited = new Promise<number | string>((resolve) => {
    child.once("exit", (code, sig) => resolve(code ?? sig ?? "unknown"));
  });
  try {
    await waitFor(`the ${runtime} child to be live on the seed`, () => {
      if (child.exitCode !== null) throw new Error(`The child exited early:\n${output}`);
      const both = seed.liveNodeIds().some((id) => id.nodeId === "child") && output.includes("sees the seed live");
      return both || undefined;
    });
    events.drain(); // a flap while the child started under load is not what this test is about
    process.kill(child.pid!, signal);
    const seen: ChitchatEvent[] = [];
    const verdict = await waitFor(`the seed to see the child leave or die`, () => {
      seen.push(...events.drain());
      return seen.find((e) => (e.type === "left" || e.type === "died") && e.node.nodeId === "child");
    }, 15_000);
    assert.equal(verdict.type, "left", `the seed saw the child ${verdict.type} (output:\n${output})`);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const code = await Promise.race([
      exited,
      new Promise<string>((resolve) => (timer = setTimeout(() => resolve("still running"), 15_000))),
    ]);
    clearTimeout(timer);
    assert.equal(code, 3, `exit code (output:\n${output})`);
    assert.match(output, new RegExp(`stopped ${signal}`));
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
}

describe("leaveOnSignals()", () => {
  it("makes a Deno process leave on SIGTERM and exit with exitCode", () => leavesOn("deno", "SIGTERM"));
  it("makes a Bun process leave on SIGTERM and exit with exitCode", () => leavesOn("bun", "SIGTERM"));
  it("makes a Node process leave on SIGTERM and exit with exitCode", () => leavesOn("node", "SIGTERM"));
  it("makes a Deno process leave on SIGINT", () => leavesOn("deno", "SIGINT"));

  it("refuses an unknown signal, a bad exit code and a bad timeout with RangeError", () => {
    const node = { shutdown: () => Promise.resolve() };
    assert.throws(() => leaveOnSignals(node, { signals: ["SIGKILL" as "SIGTERM"] }), /"signals": "SIGKILL"/);
    assert.throws(() => leaveOnSignals(node, { exitCode: 256 }), RangeError);
    assert.throws(() => leaveOnSignals(node, { timeoutMs: 0 }), /"timeoutMs"/);
  });

  it("adds a listener per signal and its disposer removes them", () => {
    const before = process.listenerCount("SIGTERM");
    const remove = leaveOnSignals({ shutdown: () => Promise.resolve() }, { signals: ["SIGTERM"] });
    assert.equal(process.listenerCount("SIGTERM"), before + 1);
    remove();
    assert.equal(process.listenerCount("SIGTERM"), before);
  });
});
