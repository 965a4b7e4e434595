/**
 * One node's replicated key-value map. Only the owner mutates it through
 * `set`/`delete`; replicas change only through `applyDelta`. Rules kept here:
 * `(lastGcVersion, maxVersion)` only grows lexicographically; entries above
 * `maxVersion` (priority keys received ahead of their turn) never move it;
 * stale entries are always handed out in increasing version order.
 * @module
 */

import { type ChitchatId, chitchatIdCheck, chitchatIdFingerprint, chitchatIdKey } from "./chitchat_id.ts";
import { canTakeAhead, type DeltaStatus, deltaStatus, resetChanges } from "./delta_acceptance.ts";
import { type Logger, silentLogger } from "./logger.ts";
import { capacityRefusal, checkWrite, DEFAULT_NODE_STATE_LIMITS, type NodeStateLimits } from "./node_limits.ts";
import type { CompactDigestEntry, KeyChange, NodeDelta, NodeDigest, VersionedValue } from "./types.ts";
import { VersionedEntries } from "./versioned_entries.ts";
import type { NodeStateSnapshot } from "./node_snapshot.ts";

// Where they were first defined.
export type { KeyChange, KeyStatus, VersionedValue } from "./types.ts";
export { DEFAULT_NODE_STATE_LIMITS, type NodeStateLimits, REPLICA_ENTRY_FACTOR } from "./node_limits.ts";
export type { DeltaStatus } from "./delta_acceptance.ts";

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
 * The key-value state of one node, with its heartbeat and versions.
 *
 * @example
 * ```ts
 * import { NodeState } from "@scope/chitchat/core";
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
  #entries = new VersionedEntries();
  #heartbeat = 0;
  #maxVersion = 0;
  #lastGcVersion = 0;
  #logger: Logger;
  #limits: NodeStateLimits;
  #onKeyChange: ((change: KeyChange) => void) | undefined;
  #onRefused: ((reason: string) => void) | undefined;
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
    return this.#entries.visible;
  }

  /** Number of stored entries, tombstones included. */
  get entryCount(): number {
    return this.#entries.size;
  }

  /** The visible value of `key`, or `undefined` when absent or deleted. */
  get(key: string): string | undefined {
    const vv = this.#entries.get(key);
    return vv === undefined || vv.status === "deleted" ? undefined : vv.value;
  }

  /** The stored versioned value of `key`, tombstones included. */
  getVersioned(key: string): VersionedValue | undefined {
    return this.#entries.get(key);
  }

  /** Visible `[key, value]` pairs, in version order. */
  *entries(): IterableIterator<[string, string]> {
    for (const [key, vv] of this.#entries.inOrder()) if (vv.status !== "deleted") yield [key, vv.value];
  }

  /** Visible `[key, value]` pairs whose key starts with `prefix`. */
  *entriesWithPrefix(prefix: string): IterableIterator<[string, string]> {
    for (const [key, vv] of this.#entries.inOrder()) {
      if (vv.status !== "deleted" && key.startsWith(prefix)) yield [key, vv.value];
    }
  }

  /** Every stored entry, tombstones included, in increasing version order. */
  versionedEntries(): IterableIterator<[string, VersionedValue]> {
    return this.#entries.inOrder();
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
    const previous = this.#entries.get(key);
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
    const previous = this.#entries.get(key);
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
    const previous = this.#entries.get(key);
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
    const previous = this.#entries.get(key);
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
  staleEntries(floorVersion: number): IterableIterator<[string, VersionedValue]> {
    return this.#entries.stale(floorVersion);
  }

  /** Number of entries with a version above `floorVersion`. */
  staleCount(floorVersion: number): number {
    return this.#entries.staleCount(floorVersion);
  }

  /**
   * Removes tombstones and expired TTL keys whose `statusSince + graceMs <=
   * now`, raising `lastGcVersion` to the highest version removed. Returns the
   * number of entries removed.
   */
  collectGarbage(now: number, graceMs: number): number {
    let removed = 0;
    // (An entry received ahead of its turn waits until maxVersion covers it.)
    for (const [key, vv] of this.#entries.collect(now, graceMs, this.#maxVersion)) {
      removed++;
      if (vv.version > this.#lastGcVersion) this.#lastGcVersion = vv.version;
      if (vv.status === "deleteAfterTtl") this.#emit(key, undefined, vv.version);
    }
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
    const status = deltaStatus(this, delta);
    if (status === "rejected") {
      if (canTakeAhead(this, delta)) this.#applyAhead(delta, now);
      return status;
    }
    if (this.#overCapacity(delta, status === "reset" ? 0 : this.#maxVersion, status === "reset")) return "rejected";
    let before: ReadonlyMap<string, VersionedValue> | undefined;
    if (status === "reset") {
      before = this.#entries.wipe();
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
   * Replaces this replica with `snapshot` when it is newer (the Rust
   * crate's `reset_node_state_if_update`): refused (false) when the snapshot's
   * max version is not above ours, or is below our last GC version (an
   * obsolete state). Keys absent from the snapshot go; tombstones at or
   * below the last GC version are not kept; `lastGcVersion` never goes down.
   * The heartbeat is left alone: a reset is no sign of life. Key changes are
   * reported as for a reset by gossip.
   */
  resetTo(snapshot: NodeStateSnapshot, now: number): boolean {
    if (snapshot.maxVersion <= this.#maxVersion || snapshot.maxVersion < this.#lastGcVersion) return false;
    const before = this.#entries.wipe();
    this.#maxVersion = 0;
    this.#lastGcVersion = Math.max(this.#lastGcVersion, snapshot.lastGcVersion);
    this.#muted = true;
    try {
      const sorted = [...snapshot.keyValues].sort((x, y) => x.version - y.version);
      for (const kv of sorted) {
        if (kv.version > snapshot.maxVersion) continue;
        if (kv.status !== "set" && kv.version <= this.#lastGcVersion) continue;
        if (this.#isNewer(kv.key, kv.version)) this.#writeReceived(kv, now);
      }
      this.#maxVersion = snapshot.maxVersion;
    } finally {
      this.#muted = false;
    }
    this.#emitResetChanges(before);
    return true;
  }

  /**
   * After a reset: a change for each key whose visible value differs from
   * what it was before the wipe (gone, new, or another value), and nothing
   * for the keys that came back as they were.
   */
  #emitResetChanges(before: ReadonlyMap<string, VersionedValue>): void {
    if (this.#onKeyChange === undefined) return;
    for (const [key, value, version] of resetChanges(before, this.#entries.asWritten())) this.#emit(key, value, version);
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
    const stored = this.#entries.get(key);
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
   * True (and reported) when the replica refuses the mutations of `delta`
   * above `floor` for lack of capacity (see `capacityRefusal`).
   */
  #overCapacity(delta: NodeDelta, floor: number, wiped: boolean): boolean {
    const stored = wiped ? undefined : this.#entries.asWritten();
    const reason = capacityRefusal(this.#limits, { delta, floor, stored, visible: this.#entries.visible });
    if (reason === undefined) return false;
    if (this.#onRefused !== undefined) this.#onRefused(reason);
    else this.#logger.warn(`Ignored a delta for node ${this.id.nodeId}: ${reason}`);
    return true;
  }

  /** `isNew`: the key is not visible now (absent or a tombstone). */
  #checkWrite(key: string, value: string, isNew: boolean): void {
    checkWrite(this.#limits, {
      nodeId: this.id.nodeId,
      key,
      value,
      isNew,
      stored: this.#entries.has(key),
      visible: this.#entries.visible,
      entries: this.#entries.size,
    });
  }

  /**
   * Stores `vv` under `key` at the end of the map. The owner's writes always
   * raise `maxVersion`; received ones leave that to `applyDelta`.
   */
  #write(key: string, vv: VersionedValue, raiseMax = true): void {
    this.#entries.write(key, vv);
    if (raiseMax && vv.version > this.#maxVersion) this.#maxVersion = vv.version;
    this.#emit(key, vv.status === "deleted" ? undefined : vv.value, vv.version);
  }

  #emit(key: string, value: string | undefined, version: number): void {
    if (this.#muted) return;
    this.#onKeyChange?.({ node: this.id, key, value, version, deleted: value === undefined });
  }
}
