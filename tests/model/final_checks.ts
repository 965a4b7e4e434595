/**
 * The checks made after the final heal and quiet period, for every pair of
 * running nodes (replica A, owner B): A's view of B's visible keys equals
 * B's own (values, versions, maxVersion); a key B last deleted is visible
 * nowhere; B's last write of each key is on A (a TTL key B has reaped may
 * linger on A, at the version B wrote: replicas reap later than owners);
 * B is live on A.
 * @module
 */

import { chitchatIdKey, RESERVED_KEY_PREFIX } from "../../mod.ts";
import { type FailureLog, type Incarnation, isTtl, type Write } from "./model.ts";
import { short } from "./observer.ts";

/** Settings the final checks need. */
export interface FinalContext {
  /** Virtual time of the checks. */
  readonly now: number;
  /** The tombstone grace period of every node. */
  readonly tombstoneGracePeriodMs: number;
}

/** Checks the owner's own view of its writes. */
function checkOwner(log: FailureLog, owner: Incarnation, ctx: FinalContext): void {
  const own = owner.handle.nodeState(owner.id)!;
  const name = owner.id.nodeId;
  for (const [key, write] of owner.last) {
    const vv = own.getVersioned(key);
    const visible = vv !== undefined && vv.status !== "deleted";
    if (write.kind === "delete") {
      if (visible) log.add("noResurrection", ctx.now, `${name} shows its own deleted key "${key}"`);
    } else if (!visible) {
      if (!isTtl(write) || ctx.now < write.at + ctx.tombstoneGracePeriodMs) {
        log.add("noLostWrite", ctx.now, `${name} lost its own write of "${key}" (version ${write.version})`);
      }
    } else if (vv.version !== write.version || vv.value !== write.value) {
      log.add(
        "noLostWrite",
        ctx.now,
        `${name} shows its own "${key}" at version ${vv.version}, its last write was version ${write.version}`,
      );
    }
  }
}

function visibleKeys(state: { entries(): IterableIterator<[string, string]> }): Set<string> {
  const keys = new Set<string>();
  for (const [k] of state.entries()) if (!k.startsWith(RESERVED_KEY_PREFIX)) keys.add(k);
  return keys;
}

/** Checks replica `a`'s view of owner `b`. */
function checkPair(log: FailureLog, a: Incarnation, b: Incarnation, ctx: FinalContext): void {
  const who = `${a.id.nodeId}'s view of ${b.id.nodeId}`;
  const own = b.handle.nodeState(b.id)!;
  const state = a.handle.nodeState(b.id);
  if (!a.handle.liveNodeIds().some((id) => chitchatIdKey(id) === b.key)) {
    const status = a.handle.status(b.id) ?? "unknown";
    log.add("noFalseDeath", ctx.now, `${b.id.nodeId} is running but ${status} on ${a.id.nodeId}`);
  }
  if (state === undefined) {
    log.add("convergence", ctx.now, `${a.id.nodeId} does not know ${b.id.nodeId}/g${b.id.generationId}`);
    return;
  }
  if (state.maxVersion !== own.maxVersion) {
    log.add("convergence", ctx.now, `${who}: maxVersion ${state.maxVersion}, the owner's is ${own.maxVersion}`);
  }
  const keys = new Set([...visibleKeys(state), ...visibleKeys(own), ...b.last.keys()]);
  for (const key of keys) {
    const theirs = state.getVersioned(key);
    const mine = own.getVersioned(key);
    const shown = theirs !== undefined && theirs.status !== "deleted" ? theirs : undefined;
    const truth = mine !== undefined && mine.status !== "deleted" ? mine : undefined;
    const write: Write | undefined = b.last.get(key);
    if (shown !== undefined && write?.kind === "delete") {
      log.add(
        "noResurrection",
        ctx.now,
        `${who}: deleted key "${key}" is visible ("${short(shown.value)}" at version ${shown.version}; ` +
          `deleted at version ${write.version})`,
      );
      continue;
    }
    if (truth === undefined && shown === undefined) continue;
    if (truth === undefined) {
      // The owner reaped a TTL key; the replica learnt it later and reaps it later.
      if (write !== undefined && isTtl(write) && shown!.version === write.version) continue;
      log.add("convergence", ctx.now, `${who}: shows "${key}" at version ${shown!.version}, the owner does not`);
      continue;
    }
    if (shown === undefined || shown.version < truth.version) {
      const has = shown === undefined ? "lacks it" : `has version ${shown.version}`;
      log.add("noLostWrite", ctx.now, `${who}: the owner shows "${key}" at version ${truth.version}, ${a.id.nodeId} ${has}`);
      continue;
    }
    if (shown.version !== truth.version || shown.value !== truth.value || shown.status !== truth.status) {
      log.add(
        "convergence",
        ctx.now,
        `${who}: "${key}" is ${shown.status} "${short(shown.value)}" v${shown.version}, the owner's is ` +
          `${truth.status} "${short(truth.value)}" v${truth.version}`,
      );
    }
  }
}

/** Runs every final check over the running incarnations. */
export function finalChecks(log: FailureLog, running: readonly Incarnation[], ctx: FinalContext): void {
  for (const b of running) {
    checkOwner(log, b, ctx);
    for (const a of running) if (a !== b) checkPair(log, a, b, ctx);
  }
}
