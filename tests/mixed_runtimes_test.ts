import { test } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import process from "node:process";

interface Report {
  addr: string;
  nodeId: string;
  runtimes: Record<string, string>;
  decodeErrors: number;
}

const bin = "node_modules/.bin";
const commands: Record<string, string[]> = {
  deno: [`${bin}/deno`, "run", "-A", "tests/fixtures/member.ts"],
  bun: [`${bin}/bun`, "tests/fixtures/member.ts"],
  node: [`${bin}/tsx`, "tests/fixtures/member.ts"],
};

function start(
  runtime: string,
  seeds: string[],
  wire = "cbor",
): { child: ChildProcess; latest: () => Report | undefined } {
  const [command, ...args] = commands[runtime];
  const child = spawn(command, [...args, "--id", runtime, "--wire", wire, ...seeds.flatMap((s) => ["--seed", s])], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let latest: Report | undefined;
  createInterface({ input: child.stdout! }).on("line", (line) => {
    try {
      latest = JSON.parse(line);
    } catch {
      // Not a report line.
    }
  });
  return { child, latest: () => latest };
}

async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}

for (const wire of ["cbor", "chitchat-v0"]) {
  test(`a Deno, a Bun and a Node process form one cluster and see each other's keys (wire ${wire})`, async () => {
    await mixedCluster(wire);
  });
}

async function mixedCluster(wire: string): Promise<void> {
  const members: ReturnType<typeof start>[] = [];
  try {
    const first = start("deno", [], wire);
    members.push(first);
    const seed = (await waitFor("the Deno member's address", () => first.latest(), 30_000)).addr;
    members.push(start("bun", [seed], wire), start("node", [seed], wire));
    const expected = { bun: "bun", deno: "deno", node: "node" };
    for (const member of members) {
      await waitFor(
        "every member to see every runtime",
        () => {
          const report = member.latest();
          return report && JSON.stringify(sorted(report.runtimes)) === JSON.stringify(expected) ? report : undefined;
        },
        30_000,
      );
    }
    for (const member of members) assert.deepEqual(sorted(member.latest()!.runtimes), expected);
    for (const member of members) assert.equal(member.latest()!.decodeErrors, 0);
    // process.kill rather than child.kill: Deno's child.kill("SIGTERM") bypasses the child's handler.
    for (const member of members) process.kill(member.child.pid!, "SIGTERM");
    const codes = await Promise.all(members.map((member) => exited(member.child)));
    assert.deepEqual(codes, [0, 0, 0]);
  } finally {
    for (const member of members) if (member.child.exitCode === null) member.child.kill("SIGKILL");
  }
}

function sorted(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
}
