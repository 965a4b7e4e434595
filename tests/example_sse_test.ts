// The example's SSE stream (GET /api/events) lets go of every client that
// leaves: its socket and timer are released, whichever way the client went
// (an aborted fetch, a closed, half-closed or reset socket, or a client gone
// before the handler ran). Counted by GET /api/stats `sseStreams`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { connect } from "node:net";
import type { AddressInfo } from "node:net";
import { type ChitchatNode, spawnChitchat } from "../mod.ts";
import { createApiHandler } from "../examples/node/http_api.ts";
import { startNode, stopAll, waitFor } from "./fixtures/example_nodes.ts";

const TIMEOUT = { timeout: 120_000 };
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** Serves `handler` on loopback; returns the base URL and a closer. */
async function serve(handler: Handler): Promise<{ url: string; port: number; server: Server }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/`, port, server };
}

async function sseStreams(url: string): Promise<number> {
  const res = await fetch(`${url}api/stats`, { signal: AbortSignal.timeout(5_000) });
  return ((await res.json()) as { sseStreams: number }).sseStreams;
}

/** A fetch client of /api/events aborted after `ms` (0: before the answer can arrive), or by `controller`. */
async function fetchClient(
  url: string,
  ms: number,
  controller = new AbortController(),
): Promise<void> {
  const timer = setTimeout(() => controller.abort(), ms);
  try {
    const res = await fetch(`${url}api/events`, { signal: controller.signal });
    const reader = res.body!.getReader();
    for (;;) if ((await reader.read()).done) return;
  } catch {
    // Aborted.
  } finally {
    clearTimeout(timer);
  }
}

/** A raw socket client of /api/events that leaves after `ms` by `way`; at most 5 s in all. */
function rawClient(
  port: number,
  ms: number,
  way: "destroy" | "end" | "reset" | "read-destroy",
): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    const done = setTimeout(() => socket.destroy(), 5_000);
    socket.on("error", () => {});
    socket.on("close", () => {
      clearTimeout(done);
      resolve();
    });
    socket.on("connect", () => {
      socket.write("GET /api/events HTTP/1.1\r\nHost: x\r\n\r\n");
      if (way === "read-destroy") socket.on("data", () => {});
      setTimeout(() => {
        if (way === "end") socket.end();
        else if (way === "reset") socket.resetAndDestroy();
        else socket.destroy();
      }, ms);
    });
  });
}

async function withNode(fn: (node: ChitchatNode) => Promise<void>): Promise<void> {
  const node = await spawnChitchat({
    nodeId: "a",
    listenAddr: "127.0.0.1:0",
    gossipIntervalMs: 100,
  });
  try {
    await fn(node);
  } finally {
    await node.shutdown({ leave: false });
  }
}

test(
  "GET /api/events releases every client that leaves, by abort, close, half-close or reset, while events flow",
  TIMEOUT,
  async () => {
    await withNode(async (node) => {
      const { url, port, server } = await serve(createApiHandler(node, { page: "" }));
      let writing = true;
      const writer = (async () => {
        for (let i = 0; writing && i < 10_000; i++) {
          node.set(`k${i % 5}`, `v${i}`);
          await sleep(5);
        }
      })();
      try {
        const clients: Promise<void>[] = [];
        for (let i = 0; i < 20; i++) clients.push(fetchClient(url, [0, 5, 50, 300][i % 4]));
        for (const way of ["destroy", "end", "reset", "read-destroy"] as const) {
          for (let i = 0; i < 5; i++) clients.push(rawClient(port, [0, 20, 200][i % 3], way));
        }
        // One stays: the count is of open streams, not of streams ever opened.
        const stay = new AbortController();
        const staying = fetchClient(url, 60_000, stay);
        await Promise.all(clients);
        await waitFor(
          "only the staying stream left",
          async () => (await sseStreams(url)) === 1 || undefined,
          10_000,
        )
          .catch(async (error) =>
            assert.fail(`${error.message}: ${await sseStreams(url)} streams open`)
          );
        stay.abort();
        await staying;
        await waitFor(
          "no stream left",
          async () => (await sseStreams(url)) === 0 || undefined,
          10_000,
        );
      } finally {
        writing = false;
        await writer;
        server.close();
        server.closeAllConnections?.();
      }
    });
  },
);

test(
  "GET /api/events releases a client that left before the handler ran (its close events already fired)",
  TIMEOUT,
  async () => {
    await withNode(async (node) => {
      const api = createApiHandler(node, { page: "" });
      // Runs the API handler only once the client's socket is closed, as a
      // busy runtime may: the stream must still end.
      const late: Handler = (req, res) => {
        if (req.url !== "/api/events") return api(req, res);
        const socket = req.socket;
        if (socket.destroyed) return void setTimeout(() => api(req, res), 10);
        socket.once("close", () => setTimeout(() => api(req, res), 10));
      };
      const { url, port, server } = await serve(late);
      try {
        await Promise.all(Array.from({ length: 5 }, () => rawClient(port, 50, "destroy")));
        await sleep(200);
        await waitFor(
          "no stream left",
          async () => (await sseStreams(url)) === 0 || undefined,
          10_000,
        )
          .catch(async (error) =>
            assert.fail(`${error.message}: ${await sseStreams(url)} streams open`)
          );
      } finally {
        server.close();
        server.closeAllConnections?.();
      }
    });
  },
);

for (const runtime of ["deno", "bun", "node"] as const) {
  test(
    `examples/node.ts under ${runtime} releases every SSE client that leaves`,
    TIMEOUT,
    async () => {
      const node = await startNode(runtime, ["--node-id", "s"]);
      try {
        const port = Number(new URL(node.url).port);
        const clients: Promise<void>[] = [];
        for (let i = 0; i < 8; i++) clients.push(fetchClient(node.url, [0, 50, 300][i % 3]));
        for (const way of ["destroy", "end", "reset", "read-destroy"] as const) {
          for (let i = 0; i < 3; i++) clients.push(rawClient(port, [0, 20, 200][i], way));
        }
        await Promise.all(clients);
        await waitFor(
          "no stream left",
          async () => (await sseStreams(node.url)) === 0 || undefined,
          10_000,
        )
          .catch(async (error) =>
            assert.fail(`${error.message}: ${await sseStreams(node.url)} streams open`)
          );
      } finally {
        await stopAll([node]);
      }
    },
  );
}
