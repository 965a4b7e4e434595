/**
 * The one table of the protocol settings: for every field of the config its
 * kind (how it is checked), type, default, range, unit and a one-line
 * description. Defaults, validation, the README's table and the JSDoc of
 * the config interfaces all come from here; this file imports nothing.
 * @module
 */

/**
 * How a setting's value is checked:
 * - `integer`: a safe integer from `min` to `max`;
 * - `positive`: a finite number above 0 (and at most `max`, if given);
 * - `name`: a name that goes on the wire, a non-empty string of at most
 *   {@linkcode WIRE_NAME_MAX_BYTES} UTF-8 bytes;
 * - `function`: a function;
 * - `settings`: an object of nested settings, listed in `fields`;
 * - `custom`: checked by the code that resolves the config (addresses,
 *   loggers, key-value lists).
 */
export type SettingKind = "integer" | "positive" | "name" | "function" | "settings" | "custom";

/**
 * One row of a settings table.
 *
 * @example
 * ```ts
 * import type { Setting } from "./settings_table.ts";
 * const row: Setting = { kind: "integer", type: "number", min: 1, default: 500, description: "How many." };
 * console.assert(row.default === 500);
 * ```
 */
export interface Setting {
  /** How the value is checked. */
  readonly kind: SettingKind;
  /** The TypeScript type, as the docs show it. */
  readonly type: string;
  /** Refused when missing. */
  readonly required?: boolean;
  /** The value taken when the field is missing, when it is one fixed number or string. */
  readonly default?: number | string;
  /** The default in words, for the docs, when `default` alone does not say it. */
  readonly defaultText?: string;
  /** Smallest value accepted (`integer`). */
  readonly min?: number;
  /** Largest value accepted (`integer`, `positive`). */
  readonly max?: number;
  /** The range in words, for the docs, when `min` and `max` alone do not say it. */
  readonly rangeText?: string;
  /** The unit of a number. */
  readonly unit?: "ms" | "bytes";
  /** One line for the docs; the field's JSDoc says it too. */
  readonly description: string;
  /** The nested settings (`settings`). */
  readonly fields?: SettingsTable;
}

/** Settings by field name, in the order the docs list them. */
export type SettingsTable = Readonly<Record<string, Setting>>;

/** A setting whose default is a number. */
export interface NumberSetting extends Setting {
  /** How the value is checked. */
  readonly kind: "integer" | "positive";
  /** The value taken when the field is missing. */
  readonly default: number;
}

/**
 * Longest node id, cluster id or key on the wire, in UTF-8 bytes; the
 * codec's `MAX_WIRE_NAME_BYTES` (a test keeps the two equal; this file
 * imports nothing so the failure detector does not load the codec).
 */
export const WIRE_NAME_MAX_BYTES = 1024;

/** The largest UDP payload over IPv4; the codec's `MAX_DATAGRAM_SIZE` (a test keeps the two equal). */
const DATAGRAM_MAX_BYTES = 65_507;

const HOUR_MS = 60 * 60 * 1000;

/**
 * The settings of the failure detector (`failureDetector.*`).
 *
 * @example
 * ```ts
 * import { FAILURE_DETECTOR_SETTINGS } from "./settings_table.ts";
 * console.assert(FAILURE_DETECTOR_SETTINGS.phiThreshold.default === 8);
 * ```
 */
export const FAILURE_DETECTOR_SETTINGS = {
  phiThreshold: {
    kind: "positive",
    type: "number",
    default: 8,
    description: "Phi above this means dead.",
  },
  samplingWindowSize: {
    kind: "integer",
    type: "number",
    default: 1000,
    min: 1,
    max: 1_000_000,
    description: "Intervals kept per node.",
  },
  maxIntervalMs: {
    kind: "positive",
    type: "number",
    unit: "ms",
    default: 10_000,
    description: "Intervals above this are ignored (a pause, not a rhythm).",
  },
  initialIntervalMs: {
    kind: "positive",
    type: "number",
    unit: "ms",
    default: 5_000,
    description: "The prior mean interval, weighted as 5 samples, so new nodes do not flap.",
  },
  deadNodeGracePeriodMs: {
    kind: "positive",
    type: "number",
    unit: "ms",
    default: 24 * HOUR_MS,
    description: "Dead nodes are scheduled for deletion at half of this and removed at the end.",
  },
} as const satisfies Readonly<Record<string, NumberSetting>>;

/**
 * The write limits of a node's keys (`limits.*`). The largest key and value
 * are also bounded by what the MTU leaves next to the node's id.
 *
 * @example
 * ```ts
 * import { NODE_STATE_LIMIT_SETTINGS } from "./settings_table.ts";
 * console.assert(NODE_STATE_LIMIT_SETTINGS.maxKeys.default === 10_000);
 * ```
 */
export const NODE_STATE_LIMIT_SETTINGS = {
  maxKeyBytes: {
    kind: "integer",
    type: "number",
    unit: "bytes",
    default: 256,
    min: 1,
    max: WIRE_NAME_MAX_BYTES,
    rangeText: "an integer from 1 to 1024, and what the MTU leaves",
    description: "Largest key, in UTF-8 bytes.",
  },
  maxValueBytes: {
    kind: "integer",
    type: "number",
    unit: "bytes",
    default: 32_768,
    defaultText: "32 768 bytes (32 KiB), or what the MTU leaves",
    min: 0,
    rangeText: "an integer from 0 to what the MTU leaves besides the key",
    description: "Largest value, in UTF-8 bytes.",
  },
  maxKeys: {
    kind: "integer",
    type: "number",
    default: 10_000,
    min: 1,
    description: "Largest number of visible keys a node may hold (tombstones are not counted).",
  },
} as const satisfies Readonly<Record<string, NumberSetting>>;

/**
 * The bounds on the membership gossip may grow (`limits.*` too): how many
 * nodes are known at most, and how many new ones one sender may introduce
 * per gossip interval. Without cluster keys anyone who reaches the port can
 * name nodes; these keep memory and peer choice bounded.
 *
 * @example
 * ```ts
 * import { MEMBER_LIMIT_SETTINGS } from "./settings_table.ts";
 * console.assert(MEMBER_LIMIT_SETTINGS.maxNodes.default === 20_000);
 * ```
 */
export const MEMBER_LIMIT_SETTINGS = {
  maxNodes: {
    kind: "integer",
    type: "number",
    default: 20_000,
    min: 2,
    max: 10_000_000,
    description: "Largest number of known nodes, this one included; new ones beyond are refused.",
  },
  newNodesPerSender: {
    kind: "integer",
    type: "number",
    default: 500,
    min: 1,
    max: 10_000_000,
    description: "New nodes one sender may introduce per gossip interval; more are refused.",
  },
} as const satisfies Readonly<Record<string, NumberSetting>>;

/**
 * Every row of the `limits` group: a node's write limits and the membership bounds.
 *
 * @example
 * ```ts
 * import { LIMIT_SETTINGS } from "./settings_table.ts";
 * console.assert(LIMIT_SETTINGS.maxKeys.default === 10_000 && LIMIT_SETTINGS.maxNodes.default === 20_000);
 * ```
 */
export const LIMIT_SETTINGS = {
  ...NODE_STATE_LIMIT_SETTINGS,
  ...MEMBER_LIMIT_SETTINGS,
} as const satisfies Readonly<Record<string, NumberSetting>>;

/**
 * The fields of a node's identity (`id.*`).
 *
 * @example
 * ```ts
 * import { ID_SETTINGS } from "./settings_table.ts";
 * console.assert(ID_SETTINGS.nodeId.required);
 * ```
 */
export const ID_SETTINGS = {
  nodeId: { kind: "name", type: "string", required: true, description: "The node's name." },
  generationId: {
    kind: "integer",
    type: "number",
    required: true,
    min: 0,
    description: "Grows on each restart.",
  },
  gossipAdvertiseAddr: {
    kind: "custom",
    type: "string",
    required: true,
    rangeText: "an IP literal with a non-zero port",
    description: "The address peers reach this node at.",
  },
} as const satisfies SettingsTable;

/**
 * Every setting of the protocol state machine (`ChitchatConfig`), nested
 * ones under their group.
 *
 * @example
 * ```ts
 * import { PROTOCOL_SETTINGS } from "./settings_table.ts";
 * console.assert(PROTOCOL_SETTINGS.mtu.default === 65_507);
 * console.assert(PROTOCOL_SETTINGS.failureDetector.fields.phiThreshold.default === 8);
 * ```
 */
export const PROTOCOL_SETTINGS = {
  id: {
    kind: "settings",
    type: "ChitchatId",
    required: true,
    fields: ID_SETTINGS,
    description: "This node's identity; its address must be an IP literal with a port.",
  },
  clusterId: {
    kind: "name",
    type: "string",
    required: true,
    description: "Nodes only talk to nodes of the same cluster id.",
  },
  mtu: {
    kind: "integer",
    type: "number",
    unit: "bytes",
    default: DATAGRAM_MAX_BYTES,
    min: 1200,
    max: DATAGRAM_MAX_BYTES,
    description: "Largest datagram, in bytes.",
  },
  failureDetector: {
    kind: "settings",
    type: "Partial<FailureDetectorConfig>",
    fields: FAILURE_DETECTOR_SETTINGS,
    description: "Failure detector settings; missing ones take their defaults.",
  },
  gossipIntervalMs: {
    kind: "positive",
    type: "number",
    unit: "ms",
    default: 1000,
    description: "Time between gossip rounds.",
  },
  tombstoneGracePeriodMs: {
    kind: "positive",
    type: "number",
    unit: "ms",
    default: 2 * HOUR_MS,
    description: "How long tombstones and TTL keys are kept before being reaped.",
  },
  limits: {
    kind: "settings",
    type: "Partial<ChitchatLimits>",
    fields: LIMIT_SETTINGS,
    description: "Write limits of this node's keys and bounds on the membership; missing ones take their defaults.",
  },
  livenessPredicate: {
    kind: "function",
    type: "(state) => boolean",
    defaultText: "none",
    description:
      'An extra condition for a node to be in the live view (e.g. "has key ready"); it applies to this node too.',
  },
  onCatchUp: {
    kind: "function",
    type: "(node: ChitchatId) => void",
    defaultText: "none",
    description: "Called when a node's state had to be rebuilt from version 0 (a reset).",
  },
  logger: {
    kind: "custom",
    type: "Logger",
    defaultText:
      "silent for the state machine; the console (warnings and errors) for a node started by `spawnChitchat`",
    description: "Where warnings go; `@std/log`'s `getLogger()` fits.",
  },
  initialKeyValues: {
    kind: "custom",
    type: "Iterable<[string, string]> | Record<string, string>",
    defaultText: "none",
    description: "Keys this node starts with, none under the reserved prefix `__chitchat.`.",
  },
  removedNodeMemory: {
    kind: "integer",
    type: "number",
    default: 500,
    min: 0,
    description: "How many removed nodes are remembered to stop their resurrection.",
  },
  priorityKeyPrefixes: {
    kind: "custom",
    type: "string[]",
    defaultText: "none",
    rangeText: "an array of non-empty strings",
    description: "Key prefixes whose keys go first in a delta cut short, in order of importance.",
  },
} as const satisfies SettingsTable;

/**
 * The defaults of a table of number settings, as a fresh object.
 *
 * @example
 * ```ts
 * import { defaultsOf, FAILURE_DETECTOR_SETTINGS } from "./settings_table.ts";
 * import assert from "node:assert/strict";
 * assert.equal(defaultsOf(FAILURE_DETECTOR_SETTINGS).maxIntervalMs, 10_000);
 * ```
 */
export function defaultsOf<K extends string>(
  table: Readonly<Record<K, NumberSetting>>,
): { [P in K]: number } {
  const result = {} as { [P in K]: number };
  for (const field of Object.keys(table) as K[]) result[field] = table[field].default;
  return result;
}

/**
 * `true` when `T` (a config interface) and `Table` (its settings table)
 * have the same field names, `never` otherwise; assigning `true` to it is a
 * compile-time check that the table lists each field, no more.
 *
 * @example
 * ```ts
 * import type { SameFields } from "./settings_table.ts";
 * const listed: SameFields<{ a?: number }, { a: unknown }> = true;
 * console.assert(listed);
 * ```
 */
export type SameFields<T, Table> =
  [Exclude<keyof T, keyof Table>, Exclude<keyof Table, keyof T>] extends [never, never] ? true
    : never;
