/**
 * Settings of the protocol state machine and their resolution: the rows of
 * settings_table.ts fill in the defaults and check each field (through
 * setting_checks.ts). Invalid settings are refused with an error naming the field.
 * @module
 */

import type { ChitchatId } from "./chitchat_id.ts";
import type { FailureDetectorConfig } from "./failure_detector.ts";
import { type Logger, silentLogger } from "./logger.ts";
import type { ChitchatLimits, MemberLimits } from "./member_admission.ts";
import type { NodeState, NodeStateLimits } from "./node_state.ts";
import {
  checkAdvertiseAddress,
  checkSetting,
  checkSettingsObject,
  invalidConfig,
  resolveNumberSettings,
} from "./setting_checks.ts";
import {
  FAILURE_DETECTOR_SETTINGS,
  ID_SETTINGS,
  LIMIT_SETTINGS,
  MEMBER_LIMIT_SETTINGS,
  NODE_STATE_LIMIT_SETTINGS,
  PROTOCOL_SETTINGS,
  type SameFields,
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

/** Keys under this prefix are the library's own; they raise no key-change event and users cannot write them. */
export const RESERVED_KEY_PREFIX = "__chitchat.";

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
  /** Write limits of this node's keys and bounds on the membership; missing ones take their defaults. */
  readonly limits?: Partial<ChitchatLimits>;
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
  /** Time between gossip rounds. Default: 1000 ms. */
  readonly gossipIntervalMs?: number;
}

// Compile-time checks: each table lists every field of its interface, no more.
const _protocolFieldsListed: SameFields<ChitchatConfig, typeof PROTOCOL_SETTINGS> = true;
const _idFieldsListed: SameFields<ChitchatId, typeof ID_SETTINGS> = true;
const _detectorFieldsListed: SameFields<FailureDetectorConfig, typeof FAILURE_DETECTOR_SETTINGS> = true;
const _limitFieldsListed: SameFields<NodeStateLimits, typeof NODE_STATE_LIMIT_SETTINGS> = true;
const _memberFieldsListed: SameFields<MemberLimits, typeof MEMBER_LIMIT_SETTINGS> = true;

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
  readonly limits: ChitchatLimits;
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
  /** See {@linkcode ChitchatConfig.gossipIntervalMs}. */
  readonly gossipIntervalMs: number;
}

export { invalidConfig };

/**
 * Checks a config and fills in its defaults. Throws `TypeError` naming the
 * first bad field.
 *
 * @example
 * ```ts
 * import { resolveChitchatConfig } from "@scope/chitchat/core";
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
  const gossipIntervalMs = checkSetting("gossipIntervalMs", rows.gossipIntervalMs, config.gossipIntervalMs) as number;
  const tombstoneGracePeriodMs = checkSetting(
    "tombstoneGracePeriodMs",
    rows.tombstoneGracePeriodMs,
    config.tombstoneGracePeriodMs,
  ) as number;
  const given: Partial<ChitchatLimits> = checkSettingsObject("limits", config.limits, LIMIT_SETTINGS);
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
  const memberRows = MEMBER_LIMIT_SETTINGS;
  const maxNodes = checkSetting("limits.maxNodes", memberRows.maxNodes, given.maxNodes) as number;
  const newNodesPerSender = checkSetting(
    "limits.newNodesPerSender",
    memberRows.newNodesPerSender,
    given.newNodesPerSender,
  ) as number;
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
    if (pair[0].startsWith(RESERVED_KEY_PREFIX)) {
      invalidConfig("initialKeyValues", `key "${pair[0]}" uses the reserved prefix "${RESERVED_KEY_PREFIX}"`, pair);
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
    limits: { maxKeyBytes, maxValueBytes, maxKeys, maxNodes, newNodesPerSender },
    livenessPredicate: config.livenessPredicate,
    onCatchUp: config.onCatchUp,
    logger,
    initialKeyValues,
    removedNodeMemory,
    priorityKeyPrefixes: [...priorityKeyPrefixes],
    gossipIntervalMs,
  };
}
