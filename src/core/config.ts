/**
 * Settings of the protocol state machine, their defaults and their
 * validation. Invalid settings are refused with an error naming the field.
 * @module
 */

import { formatAddress, isIPv4, isIPv6, parseAddress, type SocketAddress } from "./address.ts";
import type { ChitchatId } from "./chitchat_id.ts";
import type { FailureDetectorConfig } from "./failure_detector.ts";
import { type Logger, silentLogger } from "./logger.ts";
import type { NodeState, NodeStateLimits } from "./node_state.ts";
import {
  FAILURE_DETECTOR_SETTINGS,
  ID_SETTINGS,
  NODE_STATE_LIMIT_SETTINGS,
  type NumberSetting,
  PROTOCOL_SETTINGS,
  type SameFields,
  type Setting,
  type SettingsTable,
  WIRE_NAME_MAX_BYTES,
} from "./settings_table.ts";
import { utf8Length } from "./utf8.ts";

/** Smallest MTU accepted: room for a digest entry and a small key-value. */
export const MIN_MTU: number = PROTOCOL_SETTINGS.mtu.min;

/** Default tombstone grace period: 2 hours. */
export const DEFAULT_TOMBSTONE_GRACE_PERIOD_MS: number = PROTOCOL_SETTINGS.tombstoneGracePeriodMs.default;

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

/**
 * Settings of a {@linkcode Chitchat} state machine. The defaults, ranges and
 * descriptions come from one table, `PROTOCOL_SETTINGS` (settings_table.ts);
 * a test keeps this JSDoc equal to it.
 */
export interface ChitchatConfig {
  /** This node's identity; its address must be an IP literal with a port. */
  readonly id: ChitchatId;
  /** Nodes only talk to nodes of the same cluster id. */
  readonly clusterId: string;
  /** Largest datagram, in bytes. From {@linkcode MIN_MTU} to 65 507. Default: 65 507 bytes. */
  readonly mtu?: number;
  /** Failure detector settings; missing ones take their defaults. */
  readonly failureDetector?: Partial<FailureDetectorConfig>;
  /** How long tombstones and TTL keys are kept before being reaped. Default: 7 200 000 ms (2 h). */
  readonly tombstoneGracePeriodMs?: number;
  /** Write limits of this node's keys; missing ones take their defaults. */
  readonly limits?: Partial<NodeStateLimits>;
  /**
   * An extra condition for a node to be in the live view (e.g. "has key
   * ready"); it applies to this node too. Default: none.
   */
  readonly livenessPredicate?: (state: ReadonlyNodeStateLike) => boolean;
  /** Called when a node's state had to be rebuilt from version 0 (a reset). Default: none. */
  readonly onCatchUp?: (node: ChitchatId) => void;
  /**
   * Where warnings go; `@std/log`'s `getLogger()` fits. Default: silent for
   * the state machine; the console (warnings and errors) for a node started
   * by `spawnChitchat`.
   */
  readonly logger?: Logger;
  /** Keys this node starts with, none under the reserved prefix `__chitchat.`. Default: none. */
  readonly initialKeyValues?: Iterable<readonly [string, string]> | Readonly<Record<string, string>>;
  /** How many removed nodes are remembered to stop their resurrection. Default: 500. */
  readonly removedNodeMemory?: number;
  /** Key prefixes whose keys go first in a delta cut short, in order of importance. Default: none. */
  readonly priorityKeyPrefixes?: readonly string[];
}

// Compile-time checks: each table lists every field of its interface, no more.
const _protocolFieldsListed: SameFields<ChitchatConfig, typeof PROTOCOL_SETTINGS> = true;
const _idFieldsListed: SameFields<ChitchatId, typeof ID_SETTINGS> = true;
const _detectorFieldsListed: SameFields<FailureDetectorConfig, typeof FAILURE_DETECTOR_SETTINGS> = true;
const _limitFieldsListed: SameFields<NodeStateLimits, typeof NODE_STATE_LIMIT_SETTINGS> = true;

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
 * must be a plain object whose fields are all rows of `table`. Returns the
 * object given (an empty one for `undefined`); the values themselves are
 * not checked here.
 *
 * @example
 * ```ts
 * import { checkSettingsObject } from "./config.ts";
 * import { FAILURE_DETECTOR_SETTINGS } from "./settings_table.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(checkSettingsObject("failureDetector", { phiThreshold: 5 }, FAILURE_DETECTOR_SETTINGS), { phiThreshold: 5 });
 * assert.throws(() => checkSettingsObject("failureDetector", 8, FAILURE_DETECTOR_SETTINGS), /"failureDetector": expected an object/);
 * ```
 */
export function checkSettingsObject(
  field: string,
  value: unknown,
  table: SettingsTable,
  required = false,
): Readonly<Record<string, unknown>> {
  if (value === undefined && !required) return {};
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    const names = Object.keys(table).join(", ");
    invalidConfig(field, required ? `expected an object with ${names}` : `expected an object with any of ${names}`, value);
  }
  refuseUnknownFields(`${field}.`, value, table);
  return value as Record<string, unknown>;
}

/** Bounds narrower than a row's own, known only with the rest of the config. */
export interface SettingBounds {
  /** Smallest value accepted, instead of the row's `min`. */
  readonly min?: number;
  /** Largest value accepted, instead of the row's `max`. */
  readonly max?: number;
  /** The value taken when the field is missing, instead of the row's `default`. */
  readonly default?: number;
}

/**
 * Checks one value against its row of a settings table: its kind, its
 * range, and for a missing value whether it is required, else its default.
 * Returns the value in force (`undefined` for a missing value without a
 * fixed default); throws the `TypeError` of {@linkcode invalidConfig} naming
 * `field`, the value and the limit. `custom` rows are returned unchecked.
 *
 * @example
 * ```ts
 * import { checkSetting } from "./config.ts";
 * import { PROTOCOL_SETTINGS } from "./settings_table.ts";
 * import assert from "node:assert/strict";
 * assert.equal(checkSetting("mtu", PROTOCOL_SETTINGS.mtu, undefined), 65_507);
 * assert.throws(() => checkSetting("mtu", PROTOCOL_SETTINGS.mtu, 10), /"mtu": expected an integer from 1200 to 65507 \(got 10\)/);
 * ```
 */
export function checkSetting(field: string, setting: Setting, value: unknown, bounds: SettingBounds = {}): unknown {
  if (value === undefined) {
    if (setting.required) invalidConfig(field, "required", value);
    value = bounds.default ?? setting.default;
    if (value === undefined) return undefined;
  }
  const min = bounds.min ?? setting.min;
  const max = bounds.max ?? setting.max;
  switch (setting.kind) {
    case "integer":
      if (
        typeof value !== "number" || !Number.isSafeInteger(value) || (min !== undefined && value < min) ||
        (max !== undefined && value > max)
      ) {
        const range = min !== undefined && max !== undefined
          ? ` from ${min} to ${max}`
          : min !== undefined
          ? ` of at least ${min}`
          : max !== undefined
          ? ` of at most ${max}`
          : "";
        invalidConfig(field, `expected an integer${range}`, value);
      }
      return value;
    case "positive":
      if (typeof value !== "number" || !Number.isFinite(value) || value <= 0 || (max !== undefined && value > max)) {
        const unit = setting.unit === "ms" ? " of milliseconds" : "";
        invalidConfig(field, `expected a positive number${unit}${max === undefined ? "" : ` of at most ${max}`}`, value);
      }
      return value;
    case "name":
      return checkWireName(field, value);
    case "function":
      if (typeof value !== "function") invalidConfig(field, "expected a function", value);
      return value;
    case "settings":
      return checkSettingsObject(field, value, setting.fields ?? {}, setting.required);
    case "custom":
      return value;
  }
}

/**
 * Checks a nested object of number settings against its table (the object,
 * its field names, each value) and returns the table's defaults with the
 * given values over them (a field given as `undefined` keeps its default).
 *
 * @example
 * ```ts
 * import { resolveNumberSettings } from "./config.ts";
 * import { FAILURE_DETECTOR_SETTINGS } from "./settings_table.ts";
 * import assert from "node:assert/strict";
 * const fd = resolveNumberSettings("failureDetector", FAILURE_DETECTOR_SETTINGS, { phiThreshold: 5 });
 * assert.equal(fd.phiThreshold, 5);
 * assert.equal(fd.maxIntervalMs, 10_000);
 * assert.throws(
 *   () => resolveNumberSettings("failureDetector", FAILURE_DETECTOR_SETTINGS, { phiThreshold: 0 }),
 *   /"failureDetector.phiThreshold": expected a positive number \(got 0\)/,
 * );
 * ```
 */
export function resolveNumberSettings<K extends string>(
  field: string,
  table: Readonly<Record<K, NumberSetting>>,
  value: unknown,
): { [P in K]: number } {
  const given = checkSettingsObject(field, value, table);
  const result = {} as { [P in K]: number };
  for (const name of Object.keys(table) as K[]) {
    result[name] = checkSetting(`${field}.${name}`, table[name], given[name]) as number;
  }
  return result;
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
  if (typeof value !== "string" || value.length === 0 || utf8Length(value) > WIRE_NAME_MAX_BYTES) {
    invalidConfig(field, `expected a non-empty string of at most ${WIRE_NAME_MAX_BYTES} bytes`, value);
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
  const rows = PROTOCOL_SETTINGS;
  const id = checkSetting("id", rows.id, config.id) as ChitchatId;
  checkSetting("id.nodeId", ID_SETTINGS.nodeId, id.nodeId);
  checkSetting("id.generationId", ID_SETTINGS.generationId, id.generationId);
  const addr = checkAdvertiseAddress("id.gossipAdvertiseAddr", id.gossipAdvertiseAddr);
  const clusterId = checkSetting("clusterId", rows.clusterId, config.clusterId) as string;
  const mtu = checkSetting("mtu", rows.mtu, config.mtu) as number;
  const fd: FailureDetectorConfig = resolveNumberSettings("failureDetector", FAILURE_DETECTOR_SETTINGS, config.failureDetector);
  const tombstoneGracePeriodMs = checkSetting(
    "tombstoneGracePeriodMs",
    rows.tombstoneGracePeriodMs,
    config.tombstoneGracePeriodMs,
  ) as number;
  const given: Partial<NodeStateLimits> = checkSettingsObject("limits", config.limits, NODE_STATE_LIMIT_SETTINGS);
  const limitRows = NODE_STATE_LIMIT_SETTINGS;
  // One largest key-value must fit a delta, next to this node's id and address.
  const available = mtu - KEY_VALUE_ENVELOPE_BYTES - utf8Length(id.nodeId) - addr.length;
  if (available < 2) {
    invalidConfig("mtu", `too small for a key-value next to a node id of ${utf8Length(id.nodeId)} bytes`, mtu);
  }
  const maxKeyBytes = checkSetting("limits.maxKeyBytes", limitRows.maxKeyBytes, given.maxKeyBytes, {
    default: Math.min(limitRows.maxKeyBytes.default, Math.floor(available / 2)),
    max: Math.min(limitRows.maxKeyBytes.max, available - 1),
  }) as number;
  const room = available - maxKeyBytes;
  const maxValueBytes = checkSetting("limits.maxValueBytes", limitRows.maxValueBytes, given.maxValueBytes, {
    default: Math.min(limitRows.maxValueBytes.default, room),
    max: room,
  }) as number;
  const maxKeys = checkSetting("limits.maxKeys", limitRows.maxKeys, given.maxKeys) as number;
  checkSetting("livenessPredicate", rows.livenessPredicate, config.livenessPredicate);
  checkSetting("onCatchUp", rows.onCatchUp, config.onCatchUp);
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
  const removedNodeMemory = checkSetting("removedNodeMemory", rows.removedNodeMemory, config.removedNodeMemory) as number;
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
