import { test } from "node:test";
import assert from "node:assert/strict";
import { type ChitchatNode, spawnChitchat } from "../mod.ts";

async function waitFor(what: string, condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function liveIds(node: ChitchatNode): string {
  return node.liveNodeIds().map((id) => id.nodeId).sort().join(",");
}

const runtime = "Deno" in globalThis ? "deno" : "Bun" in globalThis ? "bun" : "node";

test(`three nodes over real UDP on loopback converge, share keys and detect a stopped node (${runtime})`, async () => {
  const nodes: ChitchatNode[] = [];
  const options = { gossipIntervalMs: 100, failureDetector: { initialIntervalMs: 100 } };
  try {
    const a = await spawnChitchat({ nodeId: "a", listenAddr: "127.0.0.1:0", ...options });
    nodes.push(a);
    for (const id of ["b", "c"]) {
      nodes.push(await spawnChitchat({ nodeId: id, listenAddr: "127.0.0.1:0", seeds: [a.localAddr], ...options }));
    }
    await waitFor("convergence", () => nodes.every((node) => liveIds(node) === "a,b,c"), 20_000);
    const [, b, c] = nodes;
    c.set("service", "search:7280");
    await waitFor("the key to spread", () => nodes.every((node) => node.nodeState(c.id)?.get("service") === "search:7280"), 20_000);
    await c.shutdown({ leave: false });
    await waitFor("c to be declared dead", () => [a, b].every((node) => node.deadNodeIds().some((id) => id.nodeId === "c")), 30_000);
    for (const node of [a, b]) assert.equal(liveIds(node), "a,b");
    assert.equal(a.stats().decodeErrors, 0);
    assert.ok(a.stats().datagramsIn > 0);
  } finally {
    for (const node of nodes) await node.shutdown({ leave: false });
  }
});

test(`a node over real UDP sees a peer's graceful leave quickly (${runtime})`, async () => {
  const options = { gossipIntervalMs: 100 };
  const a = await spawnChitchat({ nodeId: "a", listenAddr: "127.0.0.1:0", ...options });
  const b = await spawnChitchat({ nodeId: "b", listenAddr: "127.0.0.1:0", seeds: [a.localAddr], ...options });
  try {
    // The default 5 s prior interval means a silent death would take tens of seconds here.
    await waitFor("convergence", () => liveIds(a) === "a,b" && liveIds(b) === "a,b", 20_000);
    await b.shutdown();
    await waitFor("the leave", () => liveIds(a) === "a", 5_000);
    assert.equal(a.snapshot().nodes.find((node) => node.id.nodeId === "b")?.status, "left");
  } finally {
    await a.shutdown({ leave: false });
    await b.shutdown({ leave: false });
  }
});

test(`IPv6 loopback nodes form a cluster (${runtime})`, async () => {
  const a = await spawnChitchat({ nodeId: "a6", listenAddr: "[::1]:0", gossipIntervalMs: 100 });
  const b = await spawnChitchat({ nodeId: "b6", listenAddr: "[::1]:0", gossipIntervalMs: 100, seeds: [a.localAddr] });
  try {
    assert.match(a.localAddr, /^\[::1\]:\d+$/);
    await waitFor("convergence over ::1", () => liveIds(a) === "a6,b6" && liveIds(b) === "a6,b6", 20_000);
  } finally {
    await a.shutdown({ leave: false });
    await b.shutdown({ leave: false });
  }
});
