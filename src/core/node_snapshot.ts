/**
 * A node's state as one replica hands it to another outside gossip (the
 * catch-up Quickwit does over gRPC): every entry with its version and
 * status, tombstones included, and the node's versions. The rule kept here:
 * a snapshot replaces a replica only when it is newer (the Rust crate's
 * `reset_node_state_if_update`), so `(lastGcVersion, maxVersion)` still
 * only grows.
 * @module
 */

import type { ChitchatId } from "./chitchat_id.ts";
import type { KeyValueMutation } from "./types.ts";

/**
 * One node's state, whole: what {@linkcode nodeStateSnapshot} takes and
 * `Chitchat.resetNodeStateIfUpdate` gives to another replica. Plain data,
 * so it can travel as JSON.
 *
 * @example
 * ```ts
 * import type { NodeStateSnapshot } from "./node_snapshot.ts";
 * const snapshot: NodeStateSnapshot = {
 *   id: { nodeId: "a", generationId: 1, gossipAdvertiseAddr: "10.0.0.1:7280" },
 *   heartbeat: 12,
 *   maxVersion: 3,
 *   lastGcVersion: 1,
 *   keyValues: [
 *     { key: "role", value: "indexer", version: 2, status: "set" },
 *     { key: "old", value: "", version: 3, status: "deleted" },
 *   ],
 * };
 * console.assert(snapshot.keyValues.length === 2);
 * ```
 */
export interface NodeStateSnapshot {
  /** The node. */
  readonly id: ChitchatId;
  /** Its heartbeat when the snapshot was taken (informative: a reset does not count it as a sign of life). */
  readonly heartbeat: number;
  /** The highest version of the node's mutations. */
  readonly maxVersion: number;
  /** The highest version of a tombstone collected. */
  readonly lastGcVersion: number;
  /** Every entry, tombstones and TTL keys included, in increasing version order. */
  readonly keyValues: readonly KeyValueMutation[];
}

/**
 * What a replica offers a snapshot of (a `NodeState` fits).
 *
 * @example
 * ```ts
 * import { NodeState } from "./node_state.ts";
 * import type { SnapshotSource } from "./node_snapshot.ts";
 * const source: SnapshotSource = new NodeState({ nodeId: "a", generationId: 1, gossipAdvertiseAddr: "10.0.0.1:1" });
 * console.assert(source.maxVersion === 0);
 * ```
 */
export interface SnapshotSource {
  /** The node. */
  readonly id: ChitchatId;
  /** Its heartbeat. */
  readonly heartbeat: number;
  /** Its max version. */
  readonly maxVersion: number;
  /** Its last GC version. */
  readonly lastGcVersion: number;
  /** Its entries above `floorVersion`, in version order. */
  staleEntries(floorVersion: number): IterableIterator<[string, Pick<KeyValueMutation, "value" | "version" | "status">]>;
}


/**
 * A snapshot of `state`: its versions and every entry it holds.
 *
 * @example
 * ```ts
 * import { NodeState } from "./node_state.ts";
 * import { nodeStateSnapshot } from "./node_snapshot.ts";
 * import assert from "node:assert/strict";
 * const state = new NodeState({ nodeId: "a", generationId: 1, gossipAdvertiseAddr: "10.0.0.1:1" });
 * state.set("k", "v");
 * state.delete("k", 0);
 * const snapshot = nodeStateSnapshot(state);
 * assert.equal(snapshot.maxVersion, 2);
 * assert.deepEqual(snapshot.keyValues, [{ key: "k", value: "", version: 2, status: "deleted" }]);
 * ```
 */
export function nodeStateSnapshot(state: SnapshotSource): NodeStateSnapshot {
  const keyValues: KeyValueMutation[] = [];
  for (const [key, vv] of state.staleEntries(0)) {
    // Entries received ahead of their turn are not part of the state up to maxVersion.
    if (vv.version > state.maxVersion) continue;
    keyValues.push({ key, value: vv.value, version: vv.version, status: vv.status });
  }
  return {
    id: { ...state.id },
    heartbeat: state.heartbeat,
    maxVersion: state.maxVersion,
    lastGcVersion: state.lastGcVersion,
    keyValues,
  };
}
