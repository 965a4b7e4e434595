/**
 * The limits a node state enforces: on the owner's writes (key and value
 * sizes, visible keys, entries with tombstones) and on what a replica takes
 * in (a delta that would leave it far above what an owner within the limits
 * can hold is refused whole). Errors name the key and the limit.
 * @module
 */

import { defaultsOf, NODE_STATE_LIMIT_SETTINGS } from "./settings_table.ts";
import type { NodeDelta, VersionedValue } from "./types.ts";
import { utf8Length } from "./utf8.ts";

/**
 * Size limits a node state enforces on its owner's writes. The defaults,
 * ranges and descriptions come from `NODE_STATE_LIMIT_SETTINGS`
 * (settings_table.ts); a test keeps this JSDoc equal to them.
 */
export interface NodeStateLimits {
  /** Largest key, in UTF-8 bytes. Default: 256 bytes. */
  readonly maxKeyBytes: number;
  /** Largest value, in UTF-8 bytes. Default: 32 768 bytes (32 KiB), or what the MTU leaves. */
  readonly maxValueBytes: number;
  /** Largest number of visible keys a node may hold (tombstones are not counted). Default: 10 000. */
  readonly maxKeys: number;
}

/**
 * The defaults listed on {@linkcode NodeStateLimits}: 256-byte keys, 32 KiB values, 10 000 keys.
 *
 * @example
 * ```ts
 * import { DEFAULT_NODE_STATE_LIMITS } from "@scope/chitchat";
 * console.assert(DEFAULT_NODE_STATE_LIMITS.maxKeys === 10_000);
 * ```
 */
export const DEFAULT_NODE_STATE_LIMITS: NodeStateLimits = defaultsOf(NODE_STATE_LIMIT_SETTINGS);

/**
 * A replica holds at most this many times `limits.maxKeys` entries, tombstones
 * included: owners churning TTL keys keep tombstones for the grace period,
 * so this is a memory bound, far above what a well-behaved owner reaches.
 *
 * @example
 * ```ts
 * import { DEFAULT_NODE_STATE_LIMITS, REPLICA_ENTRY_FACTOR } from "./node_limits.ts";
 * const maxEntries = REPLICA_ENTRY_FACTOR * DEFAULT_NODE_STATE_LIMITS.maxKeys;
 * console.assert(maxEntries === 160_000);
 * ```
 */
export const REPLICA_ENTRY_FACTOR = 16;

/** An owner's write, with what the node holds when it is made. */
export interface OwnerWrite {
  /** The node's id, for the error. */
  readonly nodeId: string;
  /** The key written. */
  readonly key: string;
  /** The value written. */
  readonly value: string;
  /** True when the key is not visible now (absent or a tombstone). */
  readonly isNew: boolean;
  /** True when an entry (possibly a tombstone) is stored under the key. */
  readonly stored: boolean;
  /** Visible keys the node holds. */
  readonly visible: number;
  /** Entries the node holds, tombstones included. */
  readonly entries: number;
}

/**
 * Throws when an owner's write breaks `limits`: a `TypeError` for a key
 * that is not a non-empty string or a value that is not a string, a
 * `RangeError` for a key or value too long, or a node already full.
 *
 * @example
 * ```ts
 * import { checkWrite, DEFAULT_NODE_STATE_LIMITS } from "./node_limits.ts";
 * import assert from "node:assert/strict";
 * const write = { nodeId: "a", key: "k", value: "x".repeat(40_000), isNew: true, stored: false, visible: 0, entries: 0 };
 * assert.throws(() => checkWrite(DEFAULT_NODE_STATE_LIMITS, write), RangeError);
 * ```
 */
export function checkWrite(limits: NodeStateLimits, write: OwnerWrite): void {
  const { key, value } = write;
  if (typeof key !== "string" || key.length === 0) {
    throw new TypeError(`Key must be a non-empty string, got ${JSON.stringify(key)}`);
  }
  if (typeof value !== "string") {
    throw new TypeError(`Value for key "${key}" must be a string, got ${typeof value}`);
  }
  const keyBytes = utf8Length(key);
  if (keyBytes > limits.maxKeyBytes) {
    throw new RangeError(
      `Key "${key.slice(0, 64)}" is too long (${keyBytes} bytes, maximum ${limits.maxKeyBytes})`,
    );
  }
  const valueBytes = utf8Length(value);
  if (valueBytes > limits.maxValueBytes) {
    throw new RangeError(
      `Value for key "${key}" is too large (${valueBytes} bytes, maximum ${limits.maxValueBytes})`,
    );
  }
  if (write.isNew && write.visible >= limits.maxKeys) {
    throw new RangeError(
      `Node ${write.nodeId} already holds ${write.visible} keys (maximum ${limits.maxKeys}); ` +
        `cannot add "${key}"`,
    );
  }
  const maxEntries = REPLICA_ENTRY_FACTOR * limits.maxKeys;
  if (!write.stored && write.entries >= maxEntries) {
    throw new RangeError(
      `Node ${write.nodeId} holds ${write.entries} entries with tombstones not yet collected ` +
        `(maximum ${maxEntries}, ${REPLICA_ENTRY_FACTOR} times limits.maxKeys); cannot add "${key}"`,
    );
  }
}

/**
 * Why a replica refuses `delta`, or `undefined` when it may take it:
 * applying its mutations above `floor` to what is `stored` (nothing, when
 * the replica is wiped for a reset) would leave more than twice
 * `limits.maxKeys` visible keys (the owner holds at most `maxKeys`; a
 * replica may briefly hold keys whose deletion is still on its way), or
 * more than {@linkcode REPLICA_ENTRY_FACTOR} times `maxKeys` entries with
 * tombstones. Only an owner with other limits, or a forged one, sends it.
 *
 * @example
 * ```ts
 * import { capacityRefusal } from "./node_limits.ts";
 * import assert from "node:assert/strict";
 * const id = { nodeId: "a", generationId: 1, gossipAdvertiseAddr: "10.0.0.1:1" };
 * const keyValues = [1, 2, 3].map((version) => ({ key: `k${version}`, value: "", version, status: "set" as const }));
 * const delta = { id, fromVersionExcluded: 0, lastGcVersion: 0, maxVersion: 3, keyValues };
 * const limits = { maxKeyBytes: 256, maxValueBytes: 256, maxKeys: 1 };
 * const reason = capacityRefusal(limits, { delta, floor: 0, stored: undefined, visible: 0 });
 * assert.equal(reason, "it would hold 3 visible keys, more than 2 (twice limits.maxKeys)");
 * ```
 */
export function capacityRefusal(
  limits: NodeStateLimits,
  replica: {
    readonly delta: NodeDelta;
    readonly floor: number;
    /** The stored entries; `undefined` when wiped. */
    readonly stored: ReadonlyMap<string, VersionedValue> | undefined;
    /** Visible keys among the stored entries. */
    readonly visible: number;
  },
): string | undefined {
  const { delta, floor, stored } = replica;
  const maxVisible = 2 * limits.maxKeys;
  const maxEntries = REPLICA_ENTRY_FACTOR * limits.maxKeys;
  let entries = stored === undefined ? 0 : stored.size;
  let visible = stored === undefined ? 0 : replica.visible;
  if (visible + delta.keyValues.length <= maxVisible && entries + delta.keyValues.length <= maxEntries) return undefined;
  for (const kv of delta.keyValues) {
    if (kv.version <= floor) continue;
    const previous = stored?.get(kv.key);
    if (previous === undefined) entries++;
    const wasVisible = previous !== undefined && previous.status !== "deleted";
    const isVisible = kv.status !== "deleted";
    if (isVisible && !wasVisible) visible++;
    else if (!isVisible && wasVisible) visible--;
  }
  if (visible <= maxVisible && entries <= maxEntries) return undefined;
  const size = visible > maxVisible ? visible : entries;
  const capacity = visible > maxVisible ? maxVisible : maxEntries;
  const what = visible > maxVisible ? "visible keys" : "entries";
  const factor = visible > maxVisible ? "twice" : `${REPLICA_ENTRY_FACTOR} times`;
  return `it would hold ${size} ${what}, more than ${capacity} (${factor} limits.maxKeys)`;
}
