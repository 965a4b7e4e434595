/**
 * Checks made while a schedule runs, once per sample (every gossip round):
 * heartbeats and `(lastGcVersion, maxVersion)` as a replica sees them never
 * go down and never run ahead of the owner's own; a key's version on a
 * replica never goes down (so a key never comes back below a tombstone the
 * replica held); every stored version is one the owner wrote, for that key,
 * with that value.
 * @module
 */

import { chitchatIdKey, RESERVED_KEY_PREFIX } from "../../mod.ts";
import type { FailureLog, Incarnation } from "./model.ts";
import { statusOf } from "./model.ts";

interface Seen {
  heartbeat: number;
  lastGcVersion: number;
  maxVersion: number;
  /** Highest version held per key (any status). */
  keys: Map<string, number>;
  /** False once the state disappeared (the node was removed): the next one is a fresh state. */
  present: boolean;
}

/** What each replica has shown of each incarnation so far. */
export class Observer {
  readonly #seen = new Map<string, Map<string, Seen>>();
  readonly #log: FailureLog;
  readonly #incarnations: ReadonlyMap<string, Incarnation>;

  constructor(log: FailureLog, incarnations: ReadonlyMap<string, Incarnation>) {
    this.#log = log;
    this.#incarnations = incarnations;
  }

  /** Notes that `replica` removed the node `key`: a state it learns again is a fresh one. */
  forget(replica: Incarnation, key: string): void {
    const entry = this.#seen.get(replica.key)?.get(key);
    if (entry !== undefined) entry.present = false;
  }

  /** Forgets the incarnation `key`, as a replica and as an owner (no running node holds it any more). */
  drop(key: string): void {
    this.#seen.delete(key);
    for (const seen of this.#seen.values()) seen.delete(key);
  }

  /** Checks every state `replica` holds, at virtual time `now`. */
  sample(replica: Incarnation, now: number): void {
    let seen = this.#seen.get(replica.key);
    if (seen === undefined) this.#seen.set(replica.key, seen = new Map());
    const name = replica.id.nodeId;
    const present = new Set<string>();
    for (const state of replica.handle.nodeStates()) {
      const key = chitchatIdKey(state.id);
      if (key === replica.key) continue;
      present.add(key);
      const owner = this.#incarnations.get(key);
      if (owner === undefined) {
        this.#log.add("convergence", now, `${name} holds a node nobody started: ${key}`);
        continue;
      }
      const who = `${name}'s view of ${owner.id.nodeId}/g${owner.id.generationId}`;
      const own = owner.handle.nodeState(owner.id)!;
      let prev = seen.get(key);
      if (prev !== undefined && prev.heartbeat > state.heartbeat) {
        this.#log.add("monotonic", now, `${who}: heartbeat went down from ${prev.heartbeat} to ${state.heartbeat}`);
      }
      if (state.heartbeat > own.heartbeat) {
        this.#log.add("monotonic", now, `${who}: heartbeat ${state.heartbeat} is ahead of the owner's ${own.heartbeat}`);
      }
      if (state.maxVersion > own.maxVersion || state.lastGcVersion > own.maxVersion) {
        this.#log.add(
          "monotonic",
          now,
          `${who}: (lastGcVersion ${state.lastGcVersion}, maxVersion ${state.maxVersion}) is ahead of the owner's ` +
            `maxVersion ${own.maxVersion}`,
        );
      }
      if (prev !== undefined && !prev.present) {
        prev = { heartbeat: prev.heartbeat, lastGcVersion: 0, maxVersion: 0, keys: new Map(), present: true };
        seen.set(key, prev);
      }
      if (
        prev !== undefined &&
        (state.lastGcVersion < prev.lastGcVersion ||
          (state.lastGcVersion === prev.lastGcVersion && state.maxVersion < prev.maxVersion))
      ) {
        this.#log.add(
          "monotonic",
          now,
          `${who}: (lastGcVersion, maxVersion) went down from (${prev.lastGcVersion}, ${prev.maxVersion}) to ` +
            `(${state.lastGcVersion}, ${state.maxVersion})`,
        );
      }
      const keys = prev?.keys ?? new Map<string, number>();
      for (const k of owner.last.keys()) {
        const vv = state.getVersioned(k);
        if (vv === undefined) continue;
        const before = keys.get(k) ?? 0;
        if (vv.version < before) {
          const shown = vv.status === "deleted" ? "a tombstone" : `"${short(vv.value)}"`;
          this.#log.add(
            "noResurrection",
            now,
            `${who}: key "${k}" is back at version ${vv.version} (${shown}) after ${name} held version ${before}`,
          );
        }
        if (vv.version > before) keys.set(k, vv.version);
        const written = owner.byVersion.get(vv.version);
        if (written === undefined || written.key !== k) {
          this.#log.add("convergence", now, `${who}: key "${k}" at version ${vv.version}, which the owner never wrote`);
        } else if (statusOf(written.kind) !== vv.status || (vv.status !== "deleted" && vv.value !== written.value)) {
          const property = written.kind === "delete" ? "noResurrection" : "convergence";
          this.#log.add(
            property,
            now,
            `${who}: key "${k}" version ${vv.version} is ${vv.status} "${short(vv.value)}", the owner wrote ` +
              `${written.kind} "${short(written.value)}"`,
          );
        }
      }
      for (const [k] of state.entries()) {
        if (!k.startsWith(RESERVED_KEY_PREFIX) && !owner.last.has(k)) {
          this.#log.add("convergence", now, `${who}: shows key "${k}", which the owner never wrote`);
        }
      }
      seen.set(key, {
        heartbeat: Math.max(state.heartbeat, prev?.heartbeat ?? 0),
        lastGcVersion: state.lastGcVersion,
        maxVersion: state.maxVersion,
        keys,
        present: true,
      });
    }
    for (const [key, entry] of seen) if (!present.has(key)) entry.present = false;
  }
}

/** A value cut for messages. */
export function short(value: string): string {
  return value.length <= 12 ? value : `${value.slice(0, 8)}…(${value.length} bytes)`;
}
