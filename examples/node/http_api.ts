/**
 * The example's HTTP API over `node:http` (the same in Deno, Bun and Node):
 * the cluster state as JSON, this node's keys, an SSE stream of events and
 * the dashboard page. Every refusal is a JSON `{ error }` naming the problem.
 * @module
 */

import type { IncomingMessage, ServerResponse } from "node:http";
import process from "node:process";
import {
  type ChitchatEvent,
  type ChitchatId,
  type ChitchatNode,
  type MemberStatus,
  PROMETHEUS_CONTENT_TYPE,
  renderMetrics,
  RESERVED_KEY_PREFIX,
} from "../../mod.ts";

/** Largest request body accepted, in bytes (the library refuses values above 32 KiB anyway). */
const MAX_BODY_BYTES = 1 << 20;

/** A comment sent on idle SSE streams so proxies and browsers keep them open. */
const SSE_KEEPALIVE_MS = 15_000;

/** A node as the API shows it. */
export interface ApiNode {
  /** Node id. */
  nodeId: string;
  /** Generation id. */
  generationId: number;
  /** Gossip address. */
  addr: string;
  /** `joining` (known, never yet seen live), `live`, `dead`, `scheduled` or `left`. */
  status: MemberStatus;
  /** Last heartbeat seen. */
  heartbeat: number;
  /** Highest version seen. */
  maxVersion: number;
  /** Suspicion level; null for self and for nodes without samples. */
  phi: number | null;
  /** Visible keys, without the library's reserved ones (`__chitchat.*`). */
  keyValues: Record<string, string>;
}

/** The body of `GET /api/state`. */
export interface ApiState {
  /** Cluster id. */
  clusterId: string;
  /** This node. */
  self: { nodeId: string; generationId: number; addr: string };
  /** Node ids in the live view. */
  live: string[];
  /** Node ids of dead nodes. */
  dead: string[];
  /** Every known node, self first. */
  nodes: ApiNode[];
}

function idJson(id: ChitchatId): { nodeId: string; generationId: number; addr: string } {
  return { nodeId: id.nodeId, generationId: id.generationId, addr: id.gossipAdvertiseAddr };
}

/**
 * The cluster as `node` sees it now, in the API's shape.
 *
 * @example
 * ```ts
 * import { spawnChitchat } from "../../mod.ts";
 * import { stateJson } from "./http_api.ts";
 * import assert from "node:assert/strict";
 * await using node = await spawnChitchat({ nodeId: "a", listenAddr: "127.0.0.1:0" });
 * assert.deepEqual(stateJson(node).live, ["a"]);
 * ```
 */
export function stateJson(node: ChitchatNode): ApiState {
  const snapshot = node.snapshot();
  return {
    clusterId: snapshot.clusterId,
    self: idJson(snapshot.self),
    live: node.liveNodeIds().map((id) => id.nodeId),
    dead: node.deadNodeIds().map((id) => id.nodeId),
    nodes: snapshot.nodes.map((n) => ({
      ...idJson(n.id),
      status: n.status,
      heartbeat: n.heartbeat,
      maxVersion: n.maxVersion,
      phi: n.phi ?? null,
      keyValues: userKeys(n.keyValues),
    })),
  };
}

/** The keys a user wrote: the library's own (such as the graceful-leave marker) are left out. */
function userKeys(keyValues: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(keyValues).filter(([key]) => !key.startsWith(RESERVED_KEY_PREFIX)),
  );
}

/** An event of the `events()` feed as JSON (ids flattened like in the state). */
function eventJson(event: ChitchatEvent): Record<string, unknown> {
  if (event.type === "overflow") return { ...event };
  return { ...event, node: idJson(event.node) };
}

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

function send(
  res: ServerResponse,
  status: number,
  body?: unknown,
  headers: Record<string, string> = {},
): void {
  if (body === undefined) {
    res.writeHead(status, headers).end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "cache-control": "no-store",
    ...headers,
  });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Uint8Array | string>) {
    const bytes = typeof chunk === "string" ? new TextEncoder().encode(chunk) : chunk;
    size += bytes.byteLength;
    if (size > MAX_BODY_BYTES) {
      throw new HttpError(413, `Request body is larger than ${MAX_BODY_BYTES} bytes`);
    }
    chunks.push(bytes);
  }
  const all = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    all.set(chunk, offset);
    offset += chunk.byteLength;
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(all);
  } catch {
    throw new HttpError(400, "Request body is not valid UTF-8 text");
  }
}

function keyFromPath(path: string): string {
  const raw = path.slice("/api/kv/".length);
  let key: string;
  try {
    key = decodeURIComponent(raw);
  } catch {
    throw new HttpError(400, `Key "${raw}" is not valid percent-encoding`);
  }
  if (key.length === 0) throw new HttpError(400, "Missing key: use /api/kv/{key}");
  return key;
}

function ttlFlag(url: URL): boolean {
  for (const name of url.searchParams.keys()) {
    if (name !== "ttl") {
      throw new HttpError(400, `Unknown query parameter "${name}"; only "ttl" is accepted`);
    }
  }
  const ttl = url.searchParams.get("ttl");
  if (ttl === null || ttl === "0") return false;
  if (ttl === "1") return true;
  throw new HttpError(400, `Query parameter "ttl" must be 0 or 1, got "${ttl}"`);
}

/** Runs a write of the library, turning its refusals (TypeError, RangeError) into 400s. */
function write<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof TypeError || error instanceof RangeError) {
      throw new HttpError(400, error.message);
    }
    throw error;
  }
}

async function handleKv(
  node: ChitchatNode,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<void> {
  const key = keyFromPath(url.pathname);
  if (req.method === "PUT") {
    const ttl = ttlFlag(url);
    const value = await readBody(req);
    write(() => (ttl ? node.setWithTtl(key, value) : node.set(key, value)));
    return send(res, 204);
  }
  if (req.method === "DELETE") {
    if (url.search !== "") throw new HttpError(400, "DELETE takes no query parameters");
    if (node.get(key) === undefined) {
      throw new HttpError(404, `Key "${key}" does not exist on this node`);
    }
    write(() => node.delete(key));
    return send(res, 204);
  }
  throw new HttpError(
    405,
    `Method ${req.method} is not allowed on /api/kv/{key}; use PUT or DELETE`,
  );
}

/** Timers pending in this process (the soak watches it), or null where the runtime does not say (Bun). */
function activeTimers(): number | null {
  if ("Bun" in globalThis || typeof process.getActiveResourcesInfo !== "function") return null;
  return process.getActiveResourcesInfo().filter((kind) => kind === "Timeout").length;
}

/** SSE streams open now, across every handler of this process (GET /api/stats shows it as `sseStreams`). */
let openStreams = 0;

/** How often an SSE stream checks that its client is still there (and counts towards the keep-alive). */
const SSE_CHECK_MS = 1_000;

/** True once the client of `res` is gone, whether or not an event said so. */
function clientGone(req: IncomingMessage, res: ServerResponse): boolean {
  const socket = res.socket ?? req.socket;
  return res.destroyed || res.writableEnded || socket === null || socket === undefined ||
    socket.destroyed;
}

/**
 * Streams `node.events()` as SSE until the client goes. The end is noticed
 * by whichever comes first: an event (res or socket `close`, socket `end`,
 * req `aborted`, an error), a failed write, or the periodic check of
 * `clientGone`. The check is needed: when the client closes before this
 * handler runs (a Deno race), the `close` events have already fired and
 * never come again.
 */
function streamEvents(node: ChitchatNode, req: IncomingMessage, res: ServerResponse): void {
  const abort = new AbortController();
  let stopped = false;
  let idleMs = 0;
  openStreams++;
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    openStreams--;
    clearInterval(check);
    abort.abort();
    if (!res.writableEnded) res.end();
  };
  const send = (text: string): void => {
    if (stopped) return;
    idleMs = 0;
    res.write(text, (error) => {
      if (error) stop();
    });
  };
  const check = setInterval(() => {
    if (clientGone(req, res)) return stop();
    idleMs += SSE_CHECK_MS;
    if (idleMs >= SSE_KEEPALIVE_MS) send(": keepalive\n\n");
  }, SSE_CHECK_MS);
  res.on("close", stop).on("error", stop);
  req.on("aborted", stop).on("error", stop);
  res.socket?.on("close", stop).on("end", stop);
  if (clientGone(req, res)) return stop();
  res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-store",
    connection: "keep-alive",
  });
  send(`retry: 1000\n: connected to ${node.id.nodeId}\n\n`);
  (async () => {
    for await (const event of node.events({ signal: abort.signal })) {
      send(`event: ${event.type}\ndata: ${JSON.stringify(eventJson(event))}\n\n`);
    }
  })().catch(() => {}).finally(stop);
}

/** What the handler serves besides the API. */
export interface ApiOptions {
  /** The dashboard page, served at `/`. */
  readonly page: string;
}

/**
 * The request handler of the example's HTTP server.
 *
 * @example
 * ```ts
 * import { createServer } from "node:http";
 * import { spawnChitchat } from "../../mod.ts";
 * import { createApiHandler } from "./http_api.ts";
 * await using node = await spawnChitchat({ nodeId: "a", listenAddr: "127.0.0.1:0" });
 * const server = createServer(createApiHandler(node, { page: "<h1>hi</h1>" }));
 * server.close();
 * ```
 */
export function createApiHandler(
  node: ChitchatNode,
  options: ApiOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    handle(node, options, req, res).catch((error) => {
      const status = error instanceof HttpError ? error.status : 500;
      const message = error instanceof HttpError
        ? error.message
        : `Internal error: ${(error as Error)?.message}`;
      if (res.headersSent) res.end();
      else send(res, status, { error: message }, status === 405 ? { allow: allowed(req.url) } : {});
    });
  };
}

function allowed(url: string | undefined): string {
  return url?.startsWith("/api/kv/") ? "PUT, DELETE" : "GET";
}

async function handle(
  node: ChitchatNode,
  options: ApiOptions,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const url = new URL(req.url ?? "/", "http://localhost");
  const path = url.pathname;
  if (path.startsWith("/api/kv/") || path === "/api/kv") {
    if (path === "/api/kv") throw new HttpError(400, "Missing key: use /api/kv/{key}");
    return await handleKv(node, req, res, url);
  }
  const routes: Record<string, () => void> = {
    "/api/state": () => send(res, 200, stateJson(node)),
    "/api/stats": () =>
      send(res, 200, {
        ...node.stats(),
        seeds: node.seedAddresses(),
        timers: activeTimers(),
        sseStreams: openStreams,
      }),
    "/api/events": () => streamEvents(node, req, res),
    "/metrics": () => {
      res.writeHead(200, { "content-type": PROMETHEUS_CONTENT_TYPE, "cache-control": "no-store" });
      res.end(renderMetrics(node));
    },
    "/": () => {
      res.writeHead(200, {
        "content-type": "text/html; charset=utf-8",
        "cache-control": "no-store",
      });
      res.end(options.page);
    },
  };
  const route = routes[path];
  if (route === undefined) throw new HttpError(404, `No such path: ${path}`);
  if (req.method !== "GET" && req.method !== "HEAD") {
    throw new HttpError(405, `Method ${req.method} is not allowed on ${path}; use GET`);
  }
  route();
}
