/**
 * Command-line flags of `examples/node.ts`: parsed with `parseArgs` from
 * `node:util` (tokens only, so every runtime reports the same messages), then
 * checked one by one. A bad flag throws a `UsageError` naming it.
 * @module
 */

import { parseArgs } from "node:util";
import { normalizeAddress, parseAddress } from "../../mod.ts";

/** A flag the command line got wrong; the process exits with status 2. */
export class UsageError extends Error {
  /** Builds the error; `message` names the flag. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Log levels, quietest last. */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;

/** One of {@linkcode LOG_LEVELS}. */
export type LogLevel = typeof LOG_LEVELS[number];

/** Log line formats: `text` for people, `json` (one object a line) for log pipelines. */
export const LOG_FORMATS = ["text", "json"] as const;

/** One of {@linkcode LOG_FORMATS}. */
export type LogFormat = typeof LOG_FORMATS[number];

/** Everything the flags say, with defaults filled in. */
export interface CliOptions {
  /** UDP address to bind. */
  readonly listen: string;
  /** Address peers use; undefined means the bound address. */
  readonly advertise: string | undefined;
  /** Node id. */
  readonly nodeId: string;
  /** Seeds, `host:port`. */
  readonly seeds: string[];
  /** How often seed host names are resolved again (ms); undefined means the library's default. */
  readonly seedRefreshMs: number | undefined;
  /** Cluster id. */
  readonly clusterId: string;
  /** Wire format: this library's CBOR or the Rust crate's v0. */
  readonly wire: "cbor" | "chitchat-v0";
  /** Gossip interval (ms). */
  readonly intervalMs: number;
  /** Prior mean heartbeat interval of the failure detector (ms). */
  readonly initialIntervalMs: number;
  /** Phi above which a node is dead. */
  readonly phiThreshold: number;
  /** How long a dead node is remembered (ms). */
  readonly deadGraceMs: number | undefined;
  /** How long tombstones and expiring keys are kept (ms); undefined means the library's default. */
  readonly tombstoneGraceMs: number | undefined;
  /** TCP address of the HTTP API and dashboard. */
  readonly http: string;
  /** Initial keys. */
  readonly keys: Record<string, string>;
  /** Least severe level printed. */
  readonly logLevel: LogLevel;
  /** Log line format. */
  readonly logFormat: LogFormat;
  /** File of base64 cluster keys, one a line, the first one primary. */
  readonly keyFile: string | undefined;
  /** True when `--help` was given. */
  readonly help: boolean;
}

/** The text `--help` prints. */
export const HELP = `Usage: examples/node.ts [flags]

Runs one chitchat node: gossip over UDP, plus an HTTP API and a live dashboard.
  npm run node -- [flags]        (the pinned Deno; npm run node:bun / node:node for Bun / Node)
  deno run -A examples/node.ts | bun examples/node.ts | tsx examples/node.ts   (with those on PATH)

Flags:
  --listen HOST:PORT          UDP gossip address (default 127.0.0.1:10000; port 0 picks one)
  --advertise HOST:PORT       address peers should use (default: the bound address)
  --node-id ID                unique node id (default: node-PORT-RANDOM)
  --seed HOST:PORT            a node to contact at start; repeatable. A host name is resolved
                              again at each refresh and every address it gives is a seed
  --seed-refresh-ms N         how often seed host names are resolved again, in ms (default 60000)
  --cluster-id ID             cluster id (default "default")
  --wire cbor|chitchat-v0     wire format (default cbor; chitchat-v0 joins Rust chitchat and Quickwit clusters)
  --interval-ms N             gossip interval in ms (default 1000)
  --initial-interval-ms N     failure detector's prior heartbeat interval in ms
                              (default: the gossip interval; the library's own is 5000)
  --phi-threshold X           phi above which a node is dead (default 8)
  --dead-grace-ms N           how long dead nodes are remembered, in ms (default 24 h)
  --tombstone-grace-ms N      how long deleted and TTL keys are kept before they are reaped, in ms
                              (default 2 h; Rust's marked_for_deletion_grace_period)
  --http HOST:PORT            HTTP API and dashboard, over TCP (default: the listen address)
  --key K=V                   an initial key-value; repeatable
  --log-level L               debug, info, warn or error (default info)
  --log-format F              text (default) or json: one JSON object a line on stderr
                              (time, level, message, nodeId and the event's fields)
  --key-file PATH             seal gossip with the cluster keys in PATH: one base64 key
                              (32 bytes) a line, the first is primary; SIGHUP reloads it
  --help                      print this and exit

HTTP API:
  GET    /api/state           the cluster as this node sees it (JSON)
  GET    /api/stats           this node's counters, resolved seed addresses and pending timers (JSON)
  PUT    /api/kv/KEY          set KEY of this node to the request body (?ttl=1: with a TTL)
  DELETE /api/kv/KEY          delete KEY of this node (404 if it does not exist)
  GET    /api/events          membership and key events (Server-Sent Events)
  GET    /metrics             Prometheus metrics (text exposition format)
  GET    /                    the dashboard

SIGINT or SIGTERM: leave the cluster gracefully and exit.
`;

const FLAGS = {
  listen: { type: "string" },
  advertise: { type: "string" },
  "node-id": { type: "string" },
  seed: { type: "string", multiple: true },
  "seed-refresh-ms": { type: "string" },
  "cluster-id": { type: "string" },
  wire: { type: "string" },
  "interval-ms": { type: "string" },
  "initial-interval-ms": { type: "string" },
  "phi-threshold": { type: "string" },
  "dead-grace-ms": { type: "string" },
  "tombstone-grace-ms": { type: "string" },
  http: { type: "string" },
  key: { type: "string", multiple: true },
  "log-level": { type: "string" },
  "log-format": { type: "string" },
  "key-file": { type: "string" },
  help: { type: "boolean" },
} as const;

type FlagName = keyof typeof FLAGS;

/**
 * Parses `args` (without the runtime and script). Throws `UsageError` naming
 * the first unknown flag, missing value or malformed value.
 *
 * @example
 * ```ts
 * import { parseCli } from "./cli.ts";
 * import assert from "node:assert/strict";
 * assert.equal(parseCli(["--listen", "127.0.0.1:7000"]).http, "127.0.0.1:7000");
 * assert.throws(() => parseCli(["--bogus"]), /--bogus/);
 * ```
 */
export function parseCli(args: readonly string[]): CliOptions {
  const { tokens } = parseArgs({ args: [...args], options: FLAGS, strict: false, tokens: true });
  const values = new Map<FlagName, string[]>();
  let help = false;
  for (const token of tokens) {
    if (token.kind === "positional") throw new UsageError(`unexpected argument "${token.value}"`);
    if (token.kind !== "option") continue;
    const flag = token.rawName.startsWith("--") ? `--${token.name}` : token.rawName;
    if (!Object.hasOwn(FLAGS, token.name) || !token.rawName.startsWith("--")) {
      throw new UsageError(`unknown flag ${flag}`);
    }
    const name = token.name as FlagName;
    const spec = FLAGS[name];
    if (spec.type === "boolean") {
      if (token.inlineValue) throw new UsageError(`${flag} takes no value`);
      help = true;
      continue;
    }
    if (token.value === undefined) throw new UsageError(`${flag} needs a value`);
    const list = values.get(name) ?? [];
    if (list.length > 0 && !("multiple" in spec)) {
      throw new UsageError(`${flag} given more than once`);
    }
    list.push(token.value);
    values.set(name, list);
  }
  const one = (name: FlagName): string | undefined => values.get(name)?.[0];

  const listen = address("--listen", one("listen") ?? "127.0.0.1:10000");
  const advertise = one("advertise") === undefined
    ? undefined
    : address("--advertise", one("advertise")!);
  const wildcard = /^(0\.0\.0\.0|\[::\]):/.test(listen);
  if (wildcard && advertise === undefined) {
    throw new UsageError(`--advertise is required when --listen is a wildcard address (${listen})`);
  }
  const intervalMs = integer("--interval-ms", one("interval-ms"), 1000);
  const keys: Record<string, string> = {};
  for (const pair of values.get("key") ?? []) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new UsageError(`--key expects K=V with a non-empty K, got "${pair}"`);
    keys[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  const logLevel = one("log-level") ?? "info";
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(", ")}, got "${logLevel}"`);
  }
  const logFormat = one("log-format") ?? "text";
  if (!(LOG_FORMATS as readonly string[]).includes(logFormat)) {
    throw new UsageError(`--log-format must be one of ${LOG_FORMATS.join(", ")}, got "${logFormat}"`);
  }
  const clusterId = one("cluster-id") ?? "default";
  const wire = one("wire") ?? "cbor";
  if (wire !== "cbor" && wire !== "chitchat-v0") {
    throw new UsageError(`--wire must be cbor or chitchat-v0, got "${wire}"`);
  }
  const nodeId = one("node-id") ?? defaultNodeId(listen);
  for (const [flag, value] of [["--cluster-id", clusterId], ["--node-id", nodeId]]) {
    if (value.length === 0) throw new UsageError(`${flag} must not be empty`);
  }
  const phiThreshold = Number(one("phi-threshold") ?? 8);
  if (!Number.isFinite(phiThreshold) || phiThreshold <= 0) {
    throw new UsageError(
      `--phi-threshold expects a positive number, got "${one("phi-threshold")}"`,
    );
  }
  const deadGrace = one("dead-grace-ms");
  const tombstoneGrace = one("tombstone-grace-ms");
  return {
    listen,
    advertise,
    nodeId,
    seeds: (values.get("seed") ?? []).map((seed) => address("--seed", seed)),
    seedRefreshMs: one("seed-refresh-ms") === undefined
      ? undefined
      : integer("--seed-refresh-ms", one("seed-refresh-ms"), 0),
    clusterId,
    wire,
    intervalMs,
    initialIntervalMs: integer("--initial-interval-ms", one("initial-interval-ms"), intervalMs),
    phiThreshold,
    deadGraceMs: deadGrace === undefined ? undefined : integer("--dead-grace-ms", deadGrace, 0),
    tombstoneGraceMs: tombstoneGrace === undefined
      ? undefined
      : integer("--tombstone-grace-ms", tombstoneGrace, 0),
    http: address("--http", one("http") ?? listen),
    keys,
    logLevel: logLevel as LogLevel,
    logFormat: logFormat as LogFormat,
    keyFile: one("key-file"),
    help,
  };
}

function address(flag: string, value: string): string {
  try {
    return normalizeAddress(value);
  } catch (error) {
    throw new UsageError(`${flag}: ${(error as Error).message}`);
  }
}

function integer(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n <= 0) {
    throw new UsageError(`${flag} expects a positive integer, got "${value}"`);
  }
  return n;
}

function defaultNodeId(listen: string): string {
  const { port } = parseAddress(listen);
  const suffix = Math.random().toString(36).slice(2, 6);
  return port === 0 ? `node-${suffix}` : `node-${port}-${suffix}`;
}
