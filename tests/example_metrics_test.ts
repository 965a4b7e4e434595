// The example node's operator surface: GET /metrics in the text format, the
// dashboard's link to it, and --log-format json (one JSON object a line).
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { spawnChitchat } from "../mod.ts";
import { createApiHandler } from "../examples/node/http_api.ts";
import { currentRuntime, getState, startNode, stopAll, terminate, waitFor } from "./fixtures/example_nodes.ts";

const TIMEOUT = { timeout: 120_000 };

test("GET /metrics answers the Prometheus text format with its content type", TIMEOUT, async () => {
  await using a = await spawnChitchat({ nodeId: "a", listenAddr: "127.0.0.1:0", gossipIntervalMs: 100 });
  await using b = await spawnChitchat({
    nodeId: "b",
    listenAddr: "127.0.0.1:0",
    gossipIntervalMs: 100,
    seeds: [a.localAddr],
    failureDetector: { initialIntervalMs: 100 },
  });
  await waitFor("b to see a live", () => (b.liveNodeIds().length === 2 ? true : undefined));
  const server = createServer(createApiHandler(b, { page: "" }));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const { port } = server.address() as AddressInfo;
    const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5_000) });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
    const body = await res.text();
    assert.match(body, /^# HELP chitchat_live_members .+\n# TYPE chitchat_live_members gauge\nchitchat_live_members 2$/m);
    assert.match(body, /^chitchat_node_info\{node_id="b",.*\} 1$/m);
    assert.match(body, /^chitchat_messages_total\{type="syn",direction="sent"\} [1-9]\d*$/m);
    const post = await fetch(`http://127.0.0.1:${port}/metrics`, { method: "POST", signal: AbortSignal.timeout(5_000) });
    assert.equal(post.status, 405);
    await post.body?.cancel();
  } finally {
    server.close();
    server.closeAllConnections?.();
  }
});

test("the dashboard links to /metrics and --help lists it", () => {
  const page = readFileSync(new URL("../examples/node/dashboard.html", import.meta.url), "utf8");
  assert.match(page, /<a [^>]*href="\/metrics"/);
  const cli = readFileSync(new URL("../examples/node/cli.ts", import.meta.url), "utf8");
  assert.match(cli, /GET +\/metrics/);
  assert.match(cli, /--log-format F/);
});

interface JsonLine {
  time: string;
  level: string;
  message: string;
  nodeId: string;
  [field: string]: unknown;
}

/** Every stderr line of a node as JSON; fails on a line that is not one object. */
function jsonLines(text: string): JsonLine[] {
  return text.split("\n").filter((line) => line !== "").map((line) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      assert.fail(`a log line that is not JSON: ${line}`);
    }
    assert.ok(typeof parsed === "object" && parsed !== null && !Array.isArray(parsed), line);
    const record = parsed as JsonLine;
    assert.ok(!Number.isNaN(Date.parse(record.time)) && record.time.endsWith("Z"), `an ISO time: ${line}`);
    assert.ok(["debug", "info", "warn", "error"].includes(record.level), line);
    assert.equal(typeof record.message, "string", line);
    return record;
  });
}

test("examples/node.ts --log-format json prints one JSON object a line with the event's fields", TIMEOUT, async () => {
  const runtime = currentRuntime();
  const nodes = [];
  try {
    const a = await startNode(runtime, ["--node-id", "a", "--log-format", "json", "--log-level", "debug"]);
    nodes.push(a);
    const b = await startNode(runtime, ["--node-id", "b", "--seed", a.gossip, "--key", "role=api"]);
    nodes.push(b);
    await waitFor("a and b to see each other live", async () =>
      (await getState(a)).live.includes("b") && (await getState(b)).live.includes("a") ? true : undefined);
    terminate(b);
    await waitFor("a to log b's leave", () => (jsonLines(a.stderr()).some((l) => l.event === "node_left") ? true : undefined))
      .catch((error) => assert.fail(`${error.message}\na printed:\n${a.output()}\nb printed:\n${b.output()}`));
    const lines = jsonLines(a.stderr());
    assert.ok(lines.every((line) => line.nodeId === "a"), "every line names the node");
    const joined = lines.find((line) => line.event === "node_joined");
    assert.ok(joined !== undefined, a.stderr());
    assert.equal(joined.level, "info");
    assert.equal(joined.peer, "b");
    assert.equal(joined.peerAddr, b.gossip);
    assert.equal(typeof joined.generationId, "number");
    assert.equal(lines.find((line) => line.event === "node_left")?.peer, "b");
    const key = lines.find((line) => line.event === "key_changed" && line.key === "role");
    assert.ok(key !== undefined, "a debug line for b's key, with its fields");
    assert.deepEqual([key.peer, key.level, key.deleted], ["b", "debug", false]);
    // The text format (the default) is for people: not JSON.
    assert.match(b.stderr(), /^\d\d:\d\d:\d\d\.\d{3} INFO {2}\[b\] Node a \(.+\) joined$/m);
  } finally {
    await stopAll(nodes);
  }
});
