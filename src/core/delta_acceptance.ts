/**
 * How a replica judges a node delta against the versions it holds: taken,
 * refused, or taken after a wipe (a reset, when the sender collected
 * tombstones we never saw); when entries received ahead of their turn may
 * still be kept; and which key changes a reset makes visible. The rule kept
 * here: `(lastGcVersion, maxVersion)` only grows lexicographically.
 * @module
 */

import type { KeyChange, NodeDelta, VersionedValue } from "./types.ts";

/**
 * What `applyDelta` did with a node delta.
 *
 * @example
 * ```ts
 * import { type DeltaStatus, NodeState } from "@scope/chitchat/core";
 * import assert from "node:assert/strict";
 * const id = { nodeId: "a", generationId: 1, gossipAdvertiseAddr: "10.0.0.1:1" };
 * const delta = { id, fromVersionExcluded: 0, lastGcVersion: 0, maxVersion: 1, keyValues: [] };
 * const status: DeltaStatus = new NodeState(id).applyDelta(delta, 0);
 * assert.equal(status, "applied");
 * ```
 */
export type DeltaStatus = "rejected" | "applied" | "reset";

/** The versions a replica holds of a node. */
export interface ReplicaVersions {
  /** The highest version known for the node. */
  readonly maxVersion: number;
  /** The highest version of a garbage-collected tombstone. */
  readonly lastGcVersion: number;
}

/**
 * What a replica at `ours` does with `delta`: `rejected` when it comes
 * "from the future", would not move `(lastGcVersion, maxVersion)` forward
 * or comes from an untrusted sender; `reset` when the sender collected
 * tombstones we never saw and sends everything from version 0; `applied`
 * otherwise.
 *
 * @example
 * ```ts
 * import { deltaStatus } from "./delta_acceptance.ts";
 * import assert from "node:assert/strict";
 * const id = { nodeId: "a", generationId: 1, gossipAdvertiseAddr: "10.0.0.1:1" };
 * const delta = { id, fromVersionExcluded: 0, lastGcVersion: 5, maxVersion: 9, keyValues: [] };
 * assert.equal(deltaStatus({ maxVersion: 3, lastGcVersion: 0 }, delta), "reset");
 * assert.equal(deltaStatus({ maxVersion: 9, lastGcVersion: 5 }, delta), "rejected");
 * ```
 */
export function deltaStatus(ours: ReplicaVersions, delta: NodeDelta): DeltaStatus {
  if (delta.fromVersionExcluded > ours.maxVersion) return "rejected";
  const compatible = delta.lastGcVersion <= ours.lastGcVersion ||
    delta.lastGcVersion <= ours.maxVersion;
  if (!compatible) return delta.fromVersionExcluded === 0 ? "reset" : "rejected";
  if (isUntrusted(ours, delta)) return "rejected";
  return ours.maxVersion < delta.maxVersion ? "applied" : "rejected";
}

/**
 * True while the replica is part-way through a reset (its `lastGcVersion`
 * is above its `maxVersion`: a reset delta was cut short) and `delta` comes
 * from a sender that has collected fewer tombstones. Such a sender may still
 * hold a key the owner deleted, at a version between our two marks, whose
 * tombstone is gone everywhere: taking it would bring the key back for
 * good. Only a sender that collected at least as much can fill that gap.
 *
 * @example
 * ```ts
 * import { isUntrusted } from "./delta_acceptance.ts";
 * const id = { nodeId: "a", generationId: 1, gossipAdvertiseAddr: "10.0.0.1:1" };
 * const delta = { id, fromVersionExcluded: 2, lastGcVersion: 1, maxVersion: 9, keyValues: [] };
 * console.assert(isUntrusted({ maxVersion: 2, lastGcVersion: 6 }, delta));
 * ```
 */
export function isUntrusted(ours: ReplicaVersions, delta: NodeDelta): boolean {
  return ours.maxVersion < ours.lastGcVersion && delta.lastGcVersion < ours.lastGcVersion;
}

/**
 * Whether entries ahead may be taken from a `rejected` delta: only from one
 * that is merely not new, never from an unusable one.
 *
 * @example
 * ```ts
 * import { canTakeAhead } from "./delta_acceptance.ts";
 * const id = { nodeId: "a", generationId: 1, gossipAdvertiseAddr: "10.0.0.1:1" };
 * const delta = { id, fromVersionExcluded: 0, lastGcVersion: 0, maxVersion: 2, keyValues: [] };
 * console.assert(canTakeAhead({ maxVersion: 4, lastGcVersion: 0 }, delta));
 * ```
 */
export function canTakeAhead(ours: ReplicaVersions, delta: NodeDelta): boolean {
  if (delta.fromVersionExcluded > ours.maxVersion || isUntrusted(ours, delta)) return false;
  return delta.lastGcVersion <= ours.lastGcVersion || delta.lastGcVersion <= ours.maxVersion;
}

/**
 * After a reset: a change for each key whose visible value differs between
 * `before` and `after` the wipe (gone, new, or another value), and nothing
 * for the keys that came back as they were. Gone keys come first.
 *
 * @example
 * ```ts
 * import { resetChanges } from "./delta_acceptance.ts";
 * import assert from "node:assert/strict";
 * const v = (value: string, version: number) => ({ value, version, status: "set" as const, statusSince: undefined });
 * const before = new Map([["a", v("1", 1)], ["b", v("2", 2)]]);
 * const after = new Map([["b", v("2", 5)], ["c", v("3", 6)]]);
 * assert.deepEqual([...resetChanges(before, after)], [["a", undefined, 1], ["c", "3", 6]]);
 * ```
 */
export function* resetChanges(
  before: ReadonlyMap<string, VersionedValue>,
  after: ReadonlyMap<string, VersionedValue>,
): IterableIterator<[key: string, value: KeyChange["value"], version: number]> {
  for (const [key, old] of before) {
    if (old.status === "deleted") continue;
    const now = after.get(key);
    if (now === undefined || now.status === "deleted") yield [key, undefined, old.version];
  }
  for (const [key, vv] of after) {
    if (vv.status === "deleted") continue;
    const old = before.get(key);
    if (old === undefined || old.status === "deleted" || old.value !== vv.value) yield [key, vv.value, vv.version];
  }
}
