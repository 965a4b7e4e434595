/**
 * One node's replicated key-value map. Only the owner mutates it through
 * `set`/`delete`; replicas change only through `applyDelta`. Rules kept here:
 * `(lastGcVersion, maxVersion)` only grows lexicographically; entries above
 * `maxVersion` (priority keys received ahead of their turn) never move it;
 * stale entries are always handed out in increasing version order.
 * @module
 */

import { type ChitchatId, chitchatIdCheck, chitchatIdFingerprint, chitchatIdKey } from "./chitchat_id.ts";
import { type Logger, silentLogger } from "./logger.ts";
import type { CompactDigestEntry, KeyChange, NodeDelta, NodeDigest, VersionedValue } from "./types.ts";
import { utf8Length } from "./utf8.ts";

export type { KeyChange, KeyStatus, VersionedValue } from "./types.ts";

/** Size limits a node state enforces on its owner's writes. */
export interface NodeStateLimits {
  /** Largest key, in UTF-8 bytes. */
  readonly maxKeyBytes: number;
  /** Largest value, in UTF-8 bytes. */
  readonly maxValueBytes: number;
  /** Largest number of visible keys a node may hold (tombstones are not counted). */
  readonly maxKeys: number;
}

/** Limits used when none are given: 256-byte keys, 32 KiB values, 10 000 keys. */
export const DEFAULT_NODE_STATE_LIMITS: NodeStateLimits = {
  maxKeyBytes: 256,
  maxValueBytes: 32_768,
  maxKeys: 10_000,
};

/** Options for {@linkcode NodeState}. */
export interface NodeStateOptions {
  /** Receives owner warnings, such as a delete of a missing key. */
  readonly logger?: Logger;
  /**
   * Write limits (the owner's writes; a replica refuses a delta that would
   * leave it more than twice `maxKeys` visible keys, or
   * `REPLICA_ENTRY_FACTOR` times `maxKeys` entries with tombstones).
   */
  readonly limits?: NodeStateLimits;
  /** Called for every visible key change, on the owner and on replicas. */
  readonly onKeyChange?: (change: KeyChange) => void;
  /** Called when a delta is refused because it would exceed the replica's capacity. */
  readonly onRefused?: (reason: string) => void;
}

/**
 * A replica holds at most this many times `limits.maxKeys` entries, tombstones
 * included: owners churning TTL keys keep tombstones for the grace period,
 * so this is a memory bound, far above what a well-behaved owner reaches.
 */
export const REPLICA_ENTRY_FACTOR = 16;

/** What `applyDelta` did with a node delta. */
export type DeltaStatus = "rejected" | "applied" | "reset";

/**
 * The key-value state of one node, with its heartbeat and versions.
 *
 * @example
 * ```ts
 * import { NodeState } from "@scope/chitchat";
 * import assert from "node:assert/strict";
 * const state = new NodeState({ nodeId: "a", generationId: 1, gossipAdvertiseAddr: "h:1" });
 * state.set("role", "indexer");
 * state.set("role", "indexer"); // unchanged value: no new version
 * assert.equal(state.maxVersion, 1);
 * state.delete("role", 0);
 * assert.equal(state.get("role"), undefined);
 * assert.equal(state.maxVersion, 2);
 * ```
 */
export class NodeState {
  /** The node this state belongs to. */
  readonly id: ChitchatId;
  /** The node's key (`chitchatIdKey(id)`). */
  readonly key: string;
  /** The node's fingerprint (`chitchatIdFingerprint(id)`). */
  readonly fingerprint: number;
  /** The node's check hash (`chitchatIdCheck(id)`). */
  readonly check: number;
  #kvs = new Map<string, VersionedValue>();
  /** True while the map's insertion order is increasing version order. */
  #ordered = true;
  #lastWrittenVersion = 0;
  /** A lower bound of the `statusSince` of stored tombstones and TTL keys. */
  #earliestExpiry = Infinity;
  #heartbeat = 0;
  #maxVersion = 0;
  #lastGcVersion = 0;
  #logger: Logger;
  #limits: NodeStateLimits;
  #onKeyChange: ((change: KeyChange) => void) | undefined;
  #onRefused: ((reason: string) => void) | undefined;
  /** Visible keys (entries that are not tombstones). */
  #visible = 0;
  /** While a reset is applied: key changes are held back and compared at the end. */
  #muted = false;

  /** Creates an empty state for `id`. */
  constructor(id: ChitchatId, options: NodeStateOptions = {}) {
    this.id = id;
    this.key = chitchatIdKey(id);
    this.fingerprint = chitchatIdFingerprint(id);
    this.check = chitchatIdCheck(id);
    this.#logger = options.logger ?? silentLogger;
    this.#limits = options.limits ?? DEFAULT_NODE_STATE_LIMITS;
    this.#onKeyChange = options.onKeyChange;
    this.#onRefused = options.onRefused;
  }

  /** The owner's heartbeat counter as last known. */
  get heartbeat(): number {
    return this.#heartbeat;
  }

  /** The highest version known for this node. */
  get maxVersion(): number {
    return this.#maxVersion;
  }

  /** The highest version of a garbage-collected tombstone. */
  get lastGcVersion(): number {
    return this.#lastGcVersion;
  }

  /** Number of visible keys (tombstones excluded). */
  get keyCount(): number {
    return this.#visible;
  }

  /** Number of stored entries, tombstones included. */
  get entryCount(): number {
    return this.#kvs.size;
  }

  /** The visible value of `key`, or `undefined` when absent or deleted. */
  get(key: string): string | undefined {
    const vv = this.#kvs.get(key);
    return vv === undefined || vv.status === "deleted" ? undefined : vv.value;
  }

  /** The stored versioned value of `key`, tombstones included. */
  getVersioned(key: string): VersionedValue | undefined {
    return this.#kvs.get(key);
  }

  /** Visible `[key, value]` pairs, in version order. */
  *entries(): IterableIterator<[string, string]> {
    this.#restoreOrder();
    for (const [key, vv] of this.#kvs) if (vv.status !== "deleted") yield [key, vv.value];
  }

  /** Visible `[key, value]` pairs whose key starts with `prefix`. */
  *entriesWithPrefix(prefix: string): IterableIterator<[string, string]> {
    this.#restoreOrder();
    for (const [key, vv] of this.#kvs) {
      if (vv.status !== "deleted" && key.startsWith(prefix)) yield [key, vv.value];
    }
  }

  /** Every stored entry, tombstones included, in increasing version order. */
  versionedEntries(): IterableIterator<[string, VersionedValue]> {
    this.#restoreOrder();
    return this.#kvs.entries();
  }

  /** Re-sorts the map by version after an out-of-order (priority) write. */
  #restoreOrder(): void {
    if (this.#ordered) return;
    const sorted = [...this.#kvs].sort((a, b) => a[1].version - b[1].version);
    this.#kvs = new Map(sorted);
    this.#ordered = true;
    this.#lastWrittenVersion = sorted.length === 0 ? 0 : sorted[sorted.length - 1][1].version;
  }

  /** This node's compact digest entry (by fingerprint and check). */
  compactDigest(): CompactDigestEntry {
    return {
      fingerprint: this.fingerprint,
      check: this.check,
      heartbeat: this.#heartbeat,
      lastGcVersion: this.#lastGcVersion,
      maxVersion: this.#maxVersion,
    };
  }

  /** This node's digest entry. */
  digest(): NodeDigest {
    return {
      heartbeat: this.#heartbeat,
      lastGcVersion: this.#lastGcVersion,
      maxVersion: this.#maxVersion,
    };
  }

  /**
   * Sets `key` to `value` (owner only). Returns false when the key already had
   * this value, in which case nothing changes.
   */
  set(key: string, value: string): boolean {
    const previous = this.#kvs.get(key);
    if (previous?.status === "set" && previous.value === value) return false;
    this.#checkWrite(key, value, previous === undefined || previous.status === "deleted");
    this.#write(key, { value, version: this.#maxVersion + 1, status: "set", statusSince: undefined });
    return true;
  }

  /**
   * Sets `key` to `value`, to be reaped once the tombstone grace period has
   * passed since `now` (owner only). Visible until then.
   */
  setWithTtl(key: string, value: string, now: number): boolean {
    const previous = this.#kvs.get(key);
    if (previous?.status === "deleteAfterTtl" && previous.value === value) return false;
    this.#checkWrite(key, value, previous === undefined || previous.status === "deleted");
    this.#write(key, {
      value,
      version: this.#maxVersion + 1,
      status: "deleteAfterTtl",
      statusSince: now,
    });
    return true;
  }

  /**
   * Deletes `key`, leaving a tombstone stamped `now` (owner only). Deleting an
   * already deleted key writes a new version of the tombstone, so its grace
   * period starts again (as in the Rust crate). Deleting a missing key
   * changes nothing, logs a warning and returns false.
   */
  delete(key: string, now: number): boolean {
    const previous = this.#kvs.get(key);
    if (previous === undefined) {
      this.#logger.warn(`Key "${key}" does not exist on node ${this.id.nodeId}; nothing deleted`);
      return false;
    }
    this.#write(key, { value: "", version: this.#maxVersion + 1, status: "deleted", statusSince: now });
    return true;
  }

  /**
   * Marks `key` to expire: still visible, reaped after the grace period from
   * `now` (owner only). On a key already expiring, this writes a new version
   * and the grace period starts again from `now`: a TTL is extended this way.
   * A missing or deleted key changes nothing and logs a warning.
   */
  deleteAfterTtl(key: string, now: number): boolean {
    const previous = this.#kvs.get(key);
    if (previous === undefined || previous.status === "deleted") {
      this.#logger.warn(`Key "${key}" does not exist on node ${this.id.nodeId}; nothing scheduled`);
      return false;
    }
    this.#write(key, {
      value: previous.value,
      version: this.#maxVersion + 1,
      status: "deleteAfterTtl",
      statusSince: now,
    });
    return true;
  }

  /** Bumps the heartbeat (owner only, once per gossip round). */
  incrementHeartbeat(): void {
    this.#heartbeat++;
  }

  /**
   * Records a heartbeat seen in gossip. Returns true when it is an increase
   * over a previously known heartbeat; the very first one is recorded but
   * not reported as an increase.
   */
  observeHeartbeat(heartbeat: number): boolean {
    if (this.#heartbeat === 0) {
      this.#heartbeat = heartbeat;
      return false;
    }
    if (heartbeat <= this.#heartbeat) return false;
    this.#heartbeat = heartbeat;
    return true;
  }

  /**
   * Entries with a version above `floorVersion`, tombstones included, in
   * increasing version order.
   */
  *staleEntries(floorVersion: number): IterableIterator<[string, VersionedValue]> {
    if (floorVersion >= this.#lastWrittenVersion && this.#ordered) return;
    this.#restoreOrder();
    for (const entry of this.#kvs) if (entry[1].version > floorVersion) yield entry;
  }

  /** Number of entries with a version above `floorVersion`. */
  staleCount(floorVersion: number): number {
    if (this.#ordered && floorVersion >= this.#lastWrittenVersion) return 0;
    if (floorVersion === 0) return this.#kvs.size;
    let count = 0;
    for (const vv of this.#kvs.values()) if (vv.version > floorVersion) count++;
    return count;
  }

  /**
   * Removes tombstones and expired TTL keys whose `statusSince + graceMs <=
   * now`, raising `lastGcVersion` to the highest version removed. Returns the
   * number of entries removed.
   */
  collectGarbage(now: number, graceMs: number): number {
    if (this.#earliestExpiry + graceMs > now) return 0;
    let removed = 0;
    let earliest = Infinity;
    for (const [key, vv] of this.#kvs) {
      if (vv.statusSince === undefined) continue;
      if (vv.statusSince + graceMs > now || vv.version > this.#maxVersion) {
        if (vv.statusSince < earliest) earliest = vv.statusSince;
        continue;
      }
      // (An entry received ahead of its turn waits until maxVersion covers it.)
      this.#kvs.delete(key);
      if (vv.status !== "deleted") this.#visible--;
      removed++;
      if (vv.version > this.#lastGcVersion) this.#lastGcVersion = vv.version;
      if (vv.status === "deleteAfterTtl") this.#emit(key, undefined, vv.version);
    }
    this.#earliestExpiry = earliest;
    return removed;
  }

  /**
   * Applies a delta received for this node: rejected when it comes "from the
   * future" or would not move `(lastGcVersion, maxVersion)` forward; applied
   * after wiping the state when the sender garbage-collected tombstones we
   * never saw (a reset). Mutations above the delta's `maxVersion` (priority
   * keys sent ahead of their turn) are kept when newer than what is stored,
   * without moving `maxVersion`; they are also taken from deltas that are
   * otherwise rejected as not new.
   */
  applyDelta(delta: NodeDelta, now: number): DeltaStatus {
    const status = this.#deltaStatus(delta);
    if (status === "rejected") {
      if (this.#canTakeAhead(delta)) this.#applyAhead(delta, now);
      return status;
    }
    if (this.#overCapacity(delta, status === "reset" ? 0 : this.#maxVersion, status === "reset")) return "rejected";
    let before: Map<string, VersionedValue> | undefined;
    if (status === "reset") {
      before = this.#kvs;
      this.#kvs = new Map();
      this.#visible = 0;
      this.#ordered = true;
      this.#lastWrittenVersion = 0;
      this.#earliestExpiry = Infinity;
      this.#maxVersion = 0;
      this.#lastGcVersion = delta.lastGcVersion;
      this.#muted = true;
    }
    try {
      const floor = this.#maxVersion;
      for (const kv of delta.keyValues) {
        if (kv.version <= floor) continue;
        if (kv.status !== "set" && kv.version <= this.#lastGcVersion) continue;
        if (this.#isNewer(kv.key, kv.version)) this.#writeReceived(kv, now);
      }
      if (delta.maxVersion > this.#maxVersion) this.#maxVersion = delta.maxVersion;
    } finally {
      this.#muted = false;
    }
    if (before !== undefined) this.#emitResetChanges(before);
    return status;
  }

  /**
   * After a reset: a change for each key whose visible value differs from
   * what it was before the wipe (gone, new, or another value), and nothing
   * for the keys that came back as they were.
   */
  #emitResetChanges(before: ReadonlyMap<string, VersionedValue>): void {
    if (this.#onKeyChange === undefined) return;
    for (const [key, old] of before) {
      if (old.status === "deleted") continue;
      const now = this.#kvs.get(key);
      if (now === undefined || now.status === "deleted") this.#emit(key, undefined, old.version);
    }
    for (const [key, vv] of this.#kvs) {
      if (vv.status === "deleted") continue;
      const old = before.get(key);
      if (old === undefined || old.status === "deleted" || old.value !== vv.value) this.#emit(key, vv.value, vv.version);
    }
  }

  /** Keeps the mutations of `delta` above both its max version and ours. */
  #applyAhead(delta: NodeDelta, now: number): void {
    const floor = Math.max(delta.maxVersion, this.#maxVersion);
    if (this.#overCapacity(delta, floor, false)) return;
    for (const kv of delta.keyValues) {
      if (kv.version <= floor || !this.#isNewer(kv.key, kv.version)) continue;
      this.#writeReceived(kv, now);
    }
  }

  #isNewer(key: string, version: number): boolean {
    const stored = this.#kvs.get(key);
    return stored === undefined || stored.version < version;
  }

  #writeReceived(kv: NodeDelta["keyValues"][number], now: number): void {
    this.#write(kv.key, {
      value: kv.value,
      version: kv.version,
      status: kv.status,
      statusSince: kv.status === "set" ? undefined : now,
    }, false);
  }

  /**
   * True (and reported) when applying the mutations of `delta` above `floor`
   * would leave this replica more than twice `limits.maxKeys` visible keys
   * (the owner holds at most `maxKeys`; a replica may briefly hold keys whose
   * deletion is still on its way), or more than `REPLICA_ENTRY_FACTOR` times
   * `maxKeys` entries with tombstones. Such a delta is refused whole: only an
   * owner with other limits, or a forged one, sends it.
   */
  #overCapacity(delta: NodeDelta, floor: number, wiped: boolean): boolean {
    const maxVisible = 2 * this.#limits.maxKeys;
    const maxEntries = REPLICA_ENTRY_FACTOR * this.#limits.maxKeys;
    let entries = wiped ? 0 : this.#kvs.size;
    let visible = wiped ? 0 : this.#visible;
    if (visible + delta.keyValues.length <= maxVisible && entries + delta.keyValues.length <= maxEntries) return false;
    for (const kv of delta.keyValues) {
      if (kv.version <= floor) continue;
      const stored = wiped ? undefined : this.#kvs.get(kv.key);
      if (stored === undefined) entries++;
      const wasVisible = stored !== undefined && stored.status !== "deleted";
      const isVisible = kv.status !== "deleted";
      if (isVisible && !wasVisible) visible++;
      else if (!isVisible && wasVisible) visible--;
    }
    if (visible <= maxVisible && entries <= maxEntries) return false;
    const size = visible > maxVisible ? visible : entries;
    const capacity = visible > maxVisible ? maxVisible : maxEntries;
    const what = visible > maxVisible ? "visible keys" : "entries";
    const factor = visible > maxVisible ? "twice" : `${REPLICA_ENTRY_FACTOR} times`;
    const reason = `it would hold ${size} ${what}, more than ${capacity} (${factor} limits.maxKeys)`;
    if (this.#onRefused !== undefined) this.#onRefused(reason);
    else this.#logger.warn(`Ignored a delta for node ${this.id.nodeId}: ${reason}`);
    return true;
  }

  #deltaStatus(delta: NodeDelta): DeltaStatus {
    if (delta.fromVersionExcluded > this.#maxVersion) return "rejected";
    const compatible = delta.lastGcVersion <= this.#lastGcVersion ||
      delta.lastGcVersion <= this.#maxVersion;
    if (!compatible) return delta.fromVersionExcluded === 0 ? "reset" : "rejected";
    if (this.#untrusted(delta)) return "rejected";
    return this.#maxVersion < delta.maxVersion ? "applied" : "rejected";
  }

  /**
   * True while this replica is part-way through a reset (its `lastGcVersion`
   * is above its `maxVersion`: a reset delta was cut short) and `delta` comes
   * from a sender that has collected fewer tombstones. Such a sender may still
   * hold a key the owner deleted, at a version between our two marks, whose
   * tombstone is gone everywhere: taking it would bring the key back for
   * good. Only a sender that collected at least as much can fill that gap.
   */
  #untrusted(delta: NodeDelta): boolean {
    return this.#maxVersion < this.#lastGcVersion && delta.lastGcVersion < this.#lastGcVersion;
  }

  /** Entries ahead are taken from a delta that is merely not new, never from an unusable one. */
  #canTakeAhead(delta: NodeDelta): boolean {
    if (delta.fromVersionExcluded > this.#maxVersion || this.#untrusted(delta)) return false;
    return delta.lastGcVersion <= this.#lastGcVersion || delta.lastGcVersion <= this.#maxVersion;
  }

  /** `isNew`: the key is not visible now (absent or a tombstone). */
  #checkWrite(key: string, value: string, isNew: boolean): void {
    const limits = this.#limits;
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
    if (isNew && this.#visible >= limits.maxKeys) {
      throw new RangeError(
        `Node ${this.id.nodeId} already holds ${this.#visible} keys (maximum ${limits.maxKeys}); ` +
          `cannot add "${key}"`,
      );
    }
    const maxEntries = REPLICA_ENTRY_FACTOR * limits.maxKeys;
    if (!this.#kvs.has(key) && this.#kvs.size >= maxEntries) {
      throw new RangeError(
        `Node ${this.id.nodeId} holds ${this.#kvs.size} entries with tombstones not yet collected ` +
          `(maximum ${maxEntries}, ${REPLICA_ENTRY_FACTOR} times limits.maxKeys); cannot add "${key}"`,
      );
    }
  }

  /**
   * Stores `vv` under `key` at the end of the map. The owner's writes always
   * raise `maxVersion`; received ones leave that to `applyDelta`.
   */
  #write(key: string, vv: VersionedValue, raiseMax = true): void {
    const previous = this.#kvs.get(key);
    if (previous !== undefined && previous.status !== "deleted") this.#visible--;
    if (vv.status !== "deleted") this.#visible++;
    this.#kvs.delete(key);
    this.#kvs.set(key, vv);
    if (vv.version < this.#lastWrittenVersion) this.#ordered = false;
    else this.#lastWrittenVersion = vv.version;
    if (raiseMax && vv.version > this.#maxVersion) this.#maxVersion = vv.version;
    if (vv.statusSince !== undefined && vv.statusSince < this.#earliestExpiry) this.#earliestExpiry = vv.statusSince;
    this.#emit(key, vv.status === "deleted" ? undefined : vv.value, vv.version);
  }

  #emit(key: string, value: string | undefined, version: number): void {
    if (this.#muted) return;
    this.#onKeyChange?.({ node: this.id, key, value, version, deleted: value === undefined });
  }
}
