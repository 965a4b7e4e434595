/**
 * The entries of one node's key-value map, tombstones included, kept so
 * that stale entries are always handed out in increasing version order
 * (re-sorted lazily after a write out of order), with the count of visible
 * keys and a lower bound of when the next tombstone or TTL key expires.
 * @module
 */

import type { VersionedValue } from "./types.ts";

/**
 * A node's entries by key. Writes go at the end of the map; reads in
 * version order restore it after an out-of-order (priority) write.
 *
 * @example
 * ```ts
 * import { VersionedEntries } from "./versioned_entries.ts";
 * import assert from "node:assert/strict";
 * const entries = new VersionedEntries();
 * entries.write("b", { value: "2", version: 2, status: "set", statusSince: undefined });
 * entries.write("a", { value: "1", version: 1, status: "set", statusSince: undefined });
 * assert.deepEqual([...entries.stale(0)].map(([key]) => key), ["a", "b"]);
 * assert.equal(entries.visible, 2);
 * ```
 */
export class VersionedEntries {
  #kvs = new Map<string, VersionedValue>();
  /** True while the map's insertion order is increasing version order. */
  #ordered = true;
  #lastWrittenVersion = 0;
  /** A lower bound of the `statusSince` of stored tombstones and TTL keys. */
  #earliestExpiry = Infinity;
  /** Visible keys (entries that are not tombstones). */
  #visible = 0;

  /** Number of entries, tombstones included. */
  get size(): number {
    return this.#kvs.size;
  }

  /** Number of visible keys (tombstones excluded). */
  get visible(): number {
    return this.#visible;
  }

  /** The entry of `key`, tombstones included. */
  get(key: string): VersionedValue | undefined {
    return this.#kvs.get(key);
  }

  /** True when an entry (possibly a tombstone) is stored under `key`. */
  has(key: string): boolean {
    return this.#kvs.has(key);
  }

  /** The entries as they are stored: in write order, not necessarily version order. */
  asWritten(): ReadonlyMap<string, VersionedValue> {
    return this.#kvs;
  }

  /** Every entry, tombstones included, in increasing version order. */
  inOrder(): IterableIterator<[string, VersionedValue]> {
    this.#restoreOrder();
    return this.#kvs.entries();
  }

  /** Entries with a version above `floorVersion`, in increasing version order. */
  *stale(floorVersion: number): IterableIterator<[string, VersionedValue]> {
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

  /** Stores `vv` under `key`, at the end of the map. */
  write(key: string, vv: VersionedValue): void {
    const previous = this.#kvs.get(key);
    if (previous !== undefined && previous.status !== "deleted") this.#visible--;
    if (vv.status !== "deleted") this.#visible++;
    this.#kvs.delete(key);
    this.#kvs.set(key, vv);
    if (vv.version < this.#lastWrittenVersion) this.#ordered = false;
    else this.#lastWrittenVersion = vv.version;
    if (vv.statusSince !== undefined && vv.statusSince < this.#earliestExpiry) this.#earliestExpiry = vv.statusSince;
  }

  /**
   * Removes, and yields as it goes, the tombstones and TTL keys whose
   * `statusSince + graceMs <= now` and whose version is at most
   * `maxVersion` (an entry received ahead of its turn waits until the max
   * version covers it).
   */
  *collect(now: number, graceMs: number, maxVersion: number): IterableIterator<[string, VersionedValue]> {
    if (this.#earliestExpiry + graceMs > now) return;
    let earliest = Infinity;
    for (const [key, vv] of this.#kvs) {
      if (vv.statusSince === undefined) continue;
      if (vv.statusSince + graceMs > now || vv.version > maxVersion) {
        if (vv.statusSince < earliest) earliest = vv.statusSince;
        continue;
      }
      this.#kvs.delete(key);
      if (vv.status !== "deleted") this.#visible--;
      yield [key, vv];
    }
    this.#earliestExpiry = earliest;
  }

  /** Empties the entries (for a reset), returning what they held, as written. */
  wipe(): ReadonlyMap<string, VersionedValue> {
    const before = this.#kvs;
    this.#kvs = new Map();
    this.#visible = 0;
    this.#ordered = true;
    this.#lastWrittenVersion = 0;
    this.#earliestExpiry = Infinity;
    return before;
  }

  /** Re-sorts the map by version after an out-of-order (priority) write. */
  #restoreOrder(): void {
    if (this.#ordered) return;
    const sorted = [...this.#kvs].sort((a, b) => a[1].version - b[1].version);
    this.#kvs = new Map(sorted);
    this.#ordered = true;
    this.#lastWrittenVersion = sorted.length === 0 ? 0 : sorted[sorted.length - 1][1].version;
  }
}
