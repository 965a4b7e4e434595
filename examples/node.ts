/**
 * One chitchat node you can run, watch and poke: gossip over UDP, an HTTP API
 * and a live dashboard over TCP. The same file runs under Deno, Bun and Node:
 *
 *   deno run -A examples/node.ts --listen 127.0.0.1:10000
 *   bun examples/node.ts --listen 127.0.0.1:10001 --seed 127.0.0.1:10000
 *   tsx examples/node.ts --listen 127.0.0.1:10002 --seed 127.0.0.1:10000
 *
 * `--help` lists the flags. SIGINT or SIGTERM leaves the cluster gracefully.
 * @module
 */

import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import process from "node:process";
import { type ChitchatNode, formatAddress, parseAddress, parseClusterKeys, spawnChitchat } from "../mod.ts";
import { type CliOptions, HELP, parseCli, UsageError } from "./node/cli.ts";
import { createApiHandler } from "./node/http_api.ts";
import { consoleLogger } from "./node/logger.ts";

/** Longest wait for the graceful leave before exiting anyway. */
const SHUTDOWN_TIMEOUT_MS = 5_000;

let options: CliOptions;
try {
  options = parseCli(process.argv.slice(2));
} catch (error) {
  if (!(error instanceof UsageError)) throw error;
  console.error(`error: ${error.message}\nRun with --help to see the flags.`);
  process.exit(2);
}
if (options.help) {
  process.stdout.write(HELP);
  process.exit(0);
}

/** Reads the key file: one base64 key a line; blank lines and `#` comments are skipped. */
async function readClusterKeys(path: string): Promise<string[]> {
  const text = await readFile(path, "utf8");
  const keys = text.split(/\r?\n/).map((line) => line.trim()).filter((line) => line && !line.startsWith("#"));
  parseClusterKeys(keys);
  return keys;
}

let clusterKeys: string[] | undefined;
if (options.keyFile !== undefined) {
  try {
    clusterKeys = await readClusterKeys(options.keyFile);
  } catch (error) {
    console.error(`error: --key-file ${options.keyFile}: ${(error as Error).message}`);
    process.exit(2);
  }
}

const logger = consoleLogger(options.logLevel, options.nodeId, options.logFormat);
let node: ChitchatNode;
try {
  node = await spawnChitchat({
    nodeId: options.nodeId,
    listenAddr: options.listen,
    advertiseAddr: options.advertise,
    clusterId: options.clusterId,
    wireFormat: options.wire,
    seeds: options.seeds,
    ...(options.seedRefreshMs === undefined ? {} : { seedRefreshIntervalMs: options.seedRefreshMs }),
    gossipIntervalMs: options.intervalMs,
    failureDetector: {
      initialIntervalMs: options.initialIntervalMs,
      phiThreshold: options.phiThreshold,
      ...(options.deadGraceMs === undefined ? {} : { deadNodeGracePeriodMs: options.deadGraceMs }),
    },
    ...(options.tombstoneGraceMs === undefined ? {} : { tombstoneGracePeriodMs: options.tombstoneGraceMs }),
    initialKeyValues: options.keys,
    logger,
    ...(clusterKeys === undefined ? {} : { clusterKeys }),
  });
} catch (error) {
  console.error(`error: cannot start the node: ${(error as Error).message}`);
  process.exit(1);
}

const template = await readFile(new URL("./node/dashboard.html", import.meta.url), "utf8");
const settings = { phiThreshold: options.phiThreshold, intervalMs: options.intervalMs };
const page = template.replace(
  "</head>",
  `<script>window.CHITCHAT_CONFIG = ${JSON.stringify(settings)};</script>\n</head>`,
);
const server = createServer(createApiHandler(node, { page }));
const http = parseAddress(options.http);
try {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(http.port, http.hostname, () => {
      server.off("error", reject);
      resolve();
    });
  });
} catch (error) {
  console.error(`error: cannot serve HTTP on ${options.http}: ${(error as Error).message}`);
  await node.shutdown({ leave: false });
  process.exit(1);
}

const bound = server.address();
const httpPort = typeof bound === "object" && bound !== null ? bound.port : http.port;
const browsable = http.hostname === "0.0.0.0"
  ? "127.0.0.1"
  : http.hostname === "::"
  ? "::1"
  : http.hostname;
console.log(
  `chitchat node "${node.id.nodeId}" (generation ${node.id.generationId}, cluster "${node.clusterId}")`,
);
console.log(`Gossip address: ${node.id.gossipAdvertiseAddr} (UDP, bound to ${node.localAddr})`);
const httpBase = `http://${formatAddress({ hostname: browsable, port: httpPort })}`;
console.log(`Dashboard: ${httpBase}/`);
console.log(`Metrics: ${httpBase}/metrics`);
if (clusterKeys !== undefined) console.log(`Gossip sealed with ${clusterKeys.length} cluster key(s) from ${options.keyFile}`);

// Membership changes are logged by the library itself; key changes at debug level here
// (no feed at all otherwise: a node with nothing to log about them does no work for them).
if (options.logLevel === "debug") void (async () => {
  for await (const event of node.events()) {
    if (event.type !== "keyChanged") continue;
    const what = event.deleted ? "deleted" : `= ${JSON.stringify(event.value)}`;
    logger.debug(`${event.node.nodeId}: ${event.key} ${what} (v${event.version})`, {
      event: "key_changed",
      peer: event.node.nodeId,
      key: event.key,
      version: event.version,
      deleted: event.deleted,
    });
  }
})();

let stopping = false;
async function stop(signal: string): Promise<void> {
  if (stopping) {
    console.error(`${signal} again: exiting without waiting`);
    process.exit(130);
  }
  stopping = true;
  logger.info(`${signal}: leaving the cluster`, { event: "leaving", signal });
  const timeout = setTimeout(() => process.exit(1), SHUTDOWN_TIMEOUT_MS);
  await node.shutdown();
  server.close();
  server.closeAllConnections?.();
  clearTimeout(timeout);
  process.exit(0);
}
if (options.keyFile !== undefined) {
  const keyFile = options.keyFile;
  // Key rotation on a running node: edit the file, then send SIGHUP.
  process.on("SIGHUP", () => {
    readClusterKeys(keyFile).then(
      (keys) => {
        node.setClusterKeys(keys);
        logger.info(`SIGHUP: ${keys.length} cluster key(s) loaded from ${keyFile}`, {
          event: "cluster_keys_loaded",
          keys: keys.length,
          path: keyFile,
        });
      },
      (error) =>
        logger.error(`SIGHUP: keeping the current keys: ${keyFile}: ${error.message}`, {
          event: "cluster_keys_refused",
          path: keyFile,
          error,
        }),
    );
  });
}
process.on("SIGINT", () => void stop("SIGINT"));
process.on("SIGTERM", () => void stop("SIGTERM"));
