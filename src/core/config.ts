/**
 * Settings of the protocol state machine, their defaults and their
 * validation. Invalid settings are refused with an error naming the field.
 * @module
 */

import { formatAddress, isIPv4, isIPv6, parseAddress, type SocketAddress } from "./address.ts";
import type { ChitchatId } from "./chitchat_id.ts";
import { DEFAULT_FAILURE_DETECTOR_CONFIG, type FailureDetectorConfig } from "./failure_detector.ts";
import { type Logger, silentLogger } from "./logger.ts";
import { DEFAULT_NODE_STATE_LIMITS, type NodeState, type NodeStateLimits } from "./node_state.ts";
import { utf8Length } from "./utf8.ts";
import { MAX_DATAGRAM_SIZE, MAX_WIRE_NAME_BYTES } from "./wire_constants.ts";

/** Smallest MTU accepted: room for a digest entry and a small key-value. */
export const MIN_MTU = 1200;

/** Default tombstone grace period: 2 hours. */
export const DEFAULT_TOMBSTONE_GRACE_PERIOD_MS = 2 * 60 * 60 * 1000;

/**
 * Bytes of a one-key delta message besides the node id, address, key and
 * value: message, list and node heads, three versions, the mutation's
 * version and status (81 when counted exactly), with some slack.
 */
const KEY_VALUE_ENVELOPE_BYTES = 128;

/**
 * The prefix of the library's own keys, which initial key-values may not
 * use. It is `RESERVED_KEY_PREFIX` of chitchat.ts, which imports this file;
 * a test keeps the two equal.
 */
const RESERVED_PREFIX = "__chitchat.";

/** The fields of an id, for the unknown-field check. */
const ID_FIELDS: Readonly<Record<keyof ChitchatId, true>> = {
  nodeId: true,
  generationId: true,
  gossipAdvertiseAddr: true,
};

/** Settings of a {@linkcode Chitchat} state machine. */
export interface ChitchatConfig {
  /** This node's identity; its address must be an IP literal with a port. */
  readonly id: ChitchatId;
  /** Nodes only talk to nodes of the same cluster id. */
  readonly clusterId: string;
  /** Largest datagram, in bytes, from {@linkcode MIN_MTU} to 65 507 (the default). */
  readonly mtu?: number;
  /** Failure detector settings; missing ones take their defaults. */
  readonly failureDetector?: Partial<FailureDetectorConfig>;
  /** How long tombstones and TTL keys are kept before being reaped. Default 2 h. */
  readonly tombstoneGracePeriodMs?: number;
  /** Write limits of this node's keys; missing ones take their defaults. */
  readonly limits?: Partial<NodeStateLimits>;
  /** An extra condition for a node to be in the live view (e.g. "has key ready"). */
  readonly livenessPredicate?: (state: ReadonlyNodeStateLike) => boolean;
  /** Called when a node's state had to be rebuilt from version 0 (a reset). */
  readonly onCatchUp?: (node: ChitchatId) => void;
  /**
   * Where warnings go; `@std/log`'s `getLogger()` fits. The state machine is
   * silent by default; a node started by `spawnChitchat` prints warnings and
   * errors to the console unless given a logger.
   */
  readonly logger?: Logger;
  /** Keys this node starts with. */
  readonly initialKeyValues?: Iterable<readonly [string, string]> | Readonly<Record<string, string>>;
  /** How many removed nodes are remembered to stop their resurrection. Default 500. */
  readonly removedNodeMemory?: number;
  /** Key prefixes whose keys go first in a delta cut short, in order of importance. */
  readonly priorityKeyPrefixes?: readonly string[];
}

/** The read side of a node state, as handed to predicates and readers. */
export type ReadonlyNodeStateLike = Pick<
  NodeState,
  | "id"
  | "heartbeat"
  | "maxVersion"
  | "lastGcVersion"
  | "keyCount"
  | "get"
  | "getVersioned"
  | "entries"
  | "entriesWithPrefix"
>;

/** A config with every default filled in and every field checked. */
export interface ResolvedChitchatConfig {
  /** See {@linkcode ChitchatConfig.id}. */
  readonly id: ChitchatId;
  /** See {@linkcode ChitchatConfig.clusterId}. */
  readonly clusterId: string;
  /** See {@linkcode ChitchatConfig.mtu}. */
  readonly mtu: number;
  /** See {@linkcode ChitchatConfig.failureDetector}. */
  readonly failureDetector: FailureDetectorConfig;
  /** See {@linkcode ChitchatConfig.tombstoneGracePeriodMs}. */
  readonly tombstoneGracePeriodMs: number;
  /** See {@linkcode ChitchatConfig.limits}. */
  readonly limits: NodeStateLimits;
  /** See {@linkcode ChitchatConfig.livenessPredicate}. */
  readonly livenessPredicate: ((state: ReadonlyNodeStateLike) => boolean) | undefined;
  /** See {@linkcode ChitchatConfig.onCatchUp}. */
  readonly onCatchUp: ((node: ChitchatId) => void) | undefined;
  /** See {@linkcode ChitchatConfig.logger}. */
  readonly logger: Logger;
  /** See {@linkcode ChitchatConfig.initialKeyValues}. */
  readonly initialKeyValues: ReadonlyArray<readonly [string, string]>;
  /** See {@linkcode ChitchatConfig.removedNodeMemory}. */
  readonly removedNodeMemory: number;
  /** See {@linkcode ChitchatConfig.priorityKeyPrefixes}. */
  readonly priorityKeyPrefixes: readonly string[];
}

/**
 * Throws the `TypeError` every config check uses: it names the field, says
 * what was expected and shows the value given.
 *
 * @example
 * ```ts
 * import { invalidConfig } from "@scope/chitchat";
 * import assert from "node:assert/strict";
 * assert.throws(() => invalidConfig("mtu", "expected an integer", "big"), /"mtu": expected an integer \(got "big"\)/);
 * ```
 */
export function invalidConfig(field: string, problem: string, value: unknown): never {
  let shown: string;
  try {
    shown = typeof value === "function" ? "a function" : JSON.stringify(value) ?? String(value);
  } catch {
    shown = String(value);
  }
  throw new TypeError(`Invalid config "${field}": ${problem} (got ${shown})`);
}

/**
 * The known name closest to `name`, if it is a near miss: at most two edits
 * (insert, delete, replace or swap two neighbours), ignoring case, and
 * fewer than a third of the name's length.
 */
function nearMiss(name: string, known: Iterable<string>): string | undefined {
  const limit = Math.min(2, Math.floor(name.length / 3));
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const candidate of known) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return best;
}

/** Optimal string alignment distance: Levenshtein plus swaps of two neighbours. */
function editDistance(a: string, b: string): number {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    rows.push([i]);
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        rows[0].push(j);
        continue;
      }
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d = Math.min(d, rows[i - 2][j - 2] + 1);
      }
      rows[i].push(d);
    }
  }
  return rows[a.length][b.length];
}

/**
 * Refuses the first own field of `given` that is not a key of `known`, with
 * the `TypeError` of {@linkcode invalidConfig} naming its full path
 * (`prefix` then the field) and, for a near miss, the known name meant.
 *
 * @example
 * ```ts
 * import { refuseUnknownFields } from "./config.ts";
 * import assert from "node:assert/strict";
 * const known = { phiThreshold: 8 };
 * refuseUnknownFields("failureDetector.", { phiThreshold: 5 }, known);
 * assert.throws(
 *   () => refuseUnknownFields("failureDetector.", { phiTreshold: 5 }, known),
 *   /"failureDetector.phiTreshold": unknown option; did you mean "phiThreshold"\?/,
 * );
 * ```
 */
export function refuseUnknownFields(prefix: string, given: object, known: object): void {
  for (const [field, value] of Object.entries(given)) {
    if (Object.hasOwn(known, field)) continue;
    const meant = nearMiss(field, Object.keys(known));
    const hint = meant === undefined ? "" : `; did you mean "${meant}"?`;
    invalidConfig(`${prefix}${field}`, `unknown option${hint}`, value);
  }
}

/**
 * Checks a nested settings object (`failureDetector`, `limits`, ...): it
 * must be an object whose fields are all keys of `defaults`. Returns
 * `defaults` with the given fields over them (a field given as `undefined`
 * keeps its default). The values themselves are not checked here.
 *
 * @example
 * ```ts
 * import { nestedSettings } from "./config.ts";
 * import assert from "node:assert/strict";
 * const defaults = { perSender: 256, inFlight: 256 };
 * assert.deepEqual(nestedSettings("receiveLimits", { inFlight: 8 }, defaults), { perSender: 256, inFlight: 8 });
 * assert.throws(() => nestedSettings("receiveLimits", 8, defaults), /"receiveLimits": expected an object/);
 * ```
 */
export function nestedSettings<T extends object>(field: string, value: unknown, defaults: T): T {
  if (value === undefined) return { ...defaults };
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    invalidConfig(field, `expected an object with any of ${Object.keys(defaults).join(", ")}`, value);
  }
  refuseUnknownFields(`${field}.`, value, defaults);
  const result = { ...defaults } as Record<string, unknown>;
  for (const [key, given] of Object.entries(value)) if (given !== undefined) result[key] = given;
  return result as T;
}

/**
 * Checks an address this node is reached at: an IPv4 or IPv6 literal
 * (zoned IPv6 included) with a non-zero port. Returns its canonical form;
 * throws the `TypeError` of {@linkcode invalidConfig} naming `field`.
 *
 * @example
 * ```ts
 * import { checkAdvertiseAddress } from "./config.ts";
 * import assert from "node:assert/strict";
 * assert.equal(checkAdvertiseAddress("advertiseAddr", "[FE80::1%eth0]:7000"), "[fe80::1%eth0]:7000");
 * assert.throws(() => checkAdvertiseAddress("advertiseAddr", "myhost:1"), /"advertiseAddr"/);
 * ```
 */
export function checkAdvertiseAddress(field: string, input: unknown): string {
  let parsed: SocketAddress;
  try {
    parsed = parseAddress(input as string);
  } catch (error) {
    invalidConfig(field, (error as Error).message, input);
  }
  if (!(isIPv4(parsed.hostname) || isIPv6(parsed.hostname)) || parsed.port === 0) {
    invalidConfig(field, "expected an IP address with a non-zero port", input);
  }
  return formatAddress(parsed);
}

/**
 * Checks a name that goes on the wire (node id, cluster id): a non-empty
 * string of at most 1 024 UTF-8 bytes. Returns it; throws the `TypeError`
 * of {@linkcode invalidConfig} naming `field`.
 *
 * @example
 * ```ts
 * import { checkWireName } from "./config.ts";
 * import assert from "node:assert/strict";
 * assert.equal(checkWireName("nodeId", "api-1"), "api-1");
 * assert.throws(() => checkWireName("nodeId", ""), /"nodeId"/);
 * ```
 */
export function checkWireName(field: string, value: unknown): string {
  if (typeof value !== "string" || value.length === 0 || utf8Length(value) > MAX_WIRE_NAME_BYTES) {
    invalidConfig(field, `expected a non-empty string of at most ${MAX_WIRE_NAME_BYTES} bytes`, value);
  }
  return value;
}

function integer(field: string, value: unknown, min: number, max: number = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    invalidConfig(field, `expected an integer from ${min} to ${max}`, value);
  }
  return value;
}

function positive(field: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    invalidConfig(field, "expected a positive number", value);
  }
  return value;
}

/**
 * Checks a config and fills in its defaults. Throws `TypeError` naming the
 * first bad field.
 *
 * @example
 * ```ts
 * import { resolveChitchatConfig } from "@scope/chitchat";
 * import assert from "node:assert/strict";
 * const id = { nodeId: "a", generationId: 1, gossipAdvertiseAddr: "127.0.0.1:10000" };
 * assert.equal(resolveChitchatConfig({ id, clusterId: "c" }).mtu, 65_507);
 * assert.throws(() => resolveChitchatConfig({ id, clusterId: "c", mtu: 10 }), /"mtu"/);
 * ```
 */
export function resolveChitchatConfig(config: ChitchatConfig): ResolvedChitchatConfig {
  if (typeof config !== "object" || config === null) invalidConfig("config", "expected an object", config);
  const id = config.id;
  if (typeof id !== "object" || id === null) invalidConfig("id", "expected { nodeId, generationId, gossipAdvertiseAddr }", id);
  refuseUnknownFields("id.", id, ID_FIELDS);
  checkWireName("id.nodeId", id.nodeId);
  integer("id.generationId", id.generationId, 0);
  const addr = checkAdvertiseAddress("id.gossipAdvertiseAddr", id.gossipAdvertiseAddr);
  const clusterId = checkWireName("clusterId", config.clusterId);
  const mtu = integer("mtu", config.mtu ?? MAX_DATAGRAM_SIZE, MIN_MTU, MAX_DATAGRAM_SIZE);
  const fd = nestedSettings("failureDetector", config.failureDetector, DEFAULT_FAILURE_DETECTOR_CONFIG);
  positive("failureDetector.phiThreshold", fd.phiThreshold);
  integer("failureDetector.samplingWindowSize", fd.samplingWindowSize, 1, 1_000_000);
  positive("failureDetector.maxIntervalMs", fd.maxIntervalMs);
  positive("failureDetector.initialIntervalMs", fd.initialIntervalMs);
  positive("failureDetector.deadNodeGracePeriodMs", fd.deadNodeGracePeriodMs);
  const tombstoneGracePeriodMs = positive(
    "tombstoneGracePeriodMs",
    config.tombstoneGracePeriodMs ?? DEFAULT_TOMBSTONE_GRACE_PERIOD_MS,
  );
  const limits = nestedSettings("limits", config.limits, DEFAULT_NODE_STATE_LIMITS);
  const given: Partial<NodeStateLimits> = config.limits ?? {};
  // One largest key-value must fit a delta, next to this node's id and address.
  const available = mtu - KEY_VALUE_ENVELOPE_BYTES - utf8Length(id.nodeId) - addr.length;
  if (available < 2) {
    invalidConfig("mtu", `too small for a key-value next to a node id of ${utf8Length(id.nodeId)} bytes`, mtu);
  }
  const maxKeyBytes = integer(
    "limits.maxKeyBytes",
    given.maxKeyBytes ?? Math.min(limits.maxKeyBytes, Math.floor(available / 2)),
    1,
    Math.min(MAX_WIRE_NAME_BYTES, available - 1),
  );
  const room = available - maxKeyBytes;
  const maxValueBytes = integer(
    "limits.maxValueBytes",
    given.maxValueBytes ?? Math.min(limits.maxValueBytes, room),
    0,
    room,
  );
  const maxKeys = integer("limits.maxKeys", limits.maxKeys, 1);
  if (config.livenessPredicate !== undefined && typeof config.livenessPredicate !== "function") {
    invalidConfig("livenessPredicate", "expected a function", config.livenessPredicate);
  }
  if (config.onCatchUp !== undefined && typeof config.onCatchUp !== "function") {
    invalidConfig("onCatchUp", "expected a function", config.onCatchUp);
  }
  const logger = config.logger ?? silentLogger;
  for (const level of ["debug", "info", "warn", "error"] as const) {
    if (typeof logger[level] !== "function") invalidConfig("logger", `expected a ${level}() method`, typeof logger);
  }
  const initial = config.initialKeyValues ?? [];
  if (typeof initial !== "object") {
    invalidConfig("initialKeyValues", "expected [key, value] string pairs or a record of strings", initial);
  }
  const initialKeyValues: Array<readonly [string, string]> = Symbol.iterator in Object(initial)
    ? [...(initial as Iterable<readonly [string, string]>)]
    : Object.entries(initial as Record<string, string>);
  for (const pair of initialKeyValues) {
    if (!Array.isArray(pair) || typeof pair[0] !== "string" || typeof pair[1] !== "string") {
      invalidConfig("initialKeyValues", "expected [key, value] string pairs", pair);
    }
    if (pair[0].startsWith(RESERVED_PREFIX)) {
      invalidConfig("initialKeyValues", `key "${pair[0]}" uses the reserved prefix "${RESERVED_PREFIX}"`, pair);
    }
  }
  const removedNodeMemory = integer("removedNodeMemory", config.removedNodeMemory ?? 500, 0);
  const priorityKeyPrefixes = config.priorityKeyPrefixes ?? [];
  if (!Array.isArray(priorityKeyPrefixes) || priorityKeyPrefixes.some((p) => typeof p !== "string" || p === "")) {
    invalidConfig("priorityKeyPrefixes", "expected an array of non-empty strings", priorityKeyPrefixes);
  }
  return {
    id: { nodeId: id.nodeId, generationId: id.generationId, gossipAdvertiseAddr: addr },
    clusterId,
    mtu,
    failureDetector: fd,
    tombstoneGracePeriodMs,
    limits: { maxKeyBytes, maxValueBytes, maxKeys },
    livenessPredicate: config.livenessPredicate,
    onCatchUp: config.onCatchUp,
    logger,
    initialKeyValues,
    removedNodeMemory,
    priorityKeyPrefixes: [...priorityKeyPrefixes],
  };
}
