/**
 * The model-based checker: runs a {@linkcode Schedule} on a simulated
 * cluster through the public API only, records what every owner wrote,
 * samples every replica each gossip round, and after a final heal and a
 * quiet period checks convergence, no resurrection, no lost write, no false
 * death, monotonic counters, no escaped exception and no datagram over the
 * MTU. Same schedule, same run.
 * @module
 */

import { type ChitchatEvent, chitchatIdKey, type FeedOverflow, type Logger, type QueueFeed } from "../../mod.ts";
import { SimulatedCluster } from "../../src/testing/mod.ts";
import { finalChecks } from "./final_checks.ts";
import { type Failure, FailureLog, Incarnation, type Property, type WriteKind, statusOf } from "./model.ts";
import { Observer, short } from "./observer.ts";
import type { NodeSpec, Op, Schedule } from "./schedule.ts";

export type { Failure, Property } from "./model.ts";
export type { Op, Schedule } from "./schedule.ts";

/** What one run found. */
export interface RunResult {
  /** The violations kept (a few per property). */
  readonly failures: readonly Failure[];
  /** How many violations of each property were seen. */
  readonly counts: ReadonlyMap<Property, number>;
  /** Virtual milliseconds simulated. */
  readonly virtualMs: number;
  /** Datagrams sent. */
  readonly datagrams: number;
  /** Warnings the nodes logged. */
  readonly warnings: readonly string[];
  /** Virtual ms from the final heal until every running node was live everywhere (undefined: never). */
  readonly liveAfterHealMs: number | undefined;
  /** Running nodes nothing could connect to the others (seeds down, known to nobody), not checked at the end. */
  readonly unreachable: readonly string[];
}

const SAMPLE_MS = 1000;

/** A forgotten node has this many times the usual bound to be live again after the heal. */
const REJOIN_BOUND_FACTOR = 1.5;

/** Hooks of a long run (the soak): a probe at every sample, and the pruning of finished incarnations. */
export interface RunHooks {
  /** Called after each sample (every virtual second) with the cluster and the running node count. */
  readonly onSample?: (cluster: SimulatedCluster, running: number) => void;
  /**
   * Forgets stopped incarnations that no running node holds any more, so the
   * checker's own memory stays bounded over hours of restarts.
   */
  readonly prune?: boolean;
}

class Run {
  readonly log = new FailureLog();
  readonly incarnations = new Map<string, Incarnation>();
  readonly current = new Map<string, Incarnation>();
  /** `observer|node key` of the nodes an observer forgot (removed after the whole dead-node grace period). */
  /** Incarnation key -> the nodes (by node id) that removed it. */
  readonly forgotten = new Map<string, Set<string>>();
  /** Each incarnation's event feed, drained at every sample. */
  readonly feeds = new Map<Incarnation, QueueFeed<Exclude<ChitchatEvent, FeedOverflow>>>();
  readonly observer: Observer;
  readonly warnings: string[] = [];
  readonly cluster: SimulatedCluster;
  readonly specs: Map<string, NodeSpec>;
  readonly started = new Set<string>();
  /** Seed node ids of each running node. */
  readonly seeds = new Map<string, readonly string[]>();
  /** The groups of the partition in force, re-applied when a node starts. */
  groups: readonly (readonly string[])[] | undefined;
  /** Running nodes left out of the final checks: nothing could ever connect them to the others. */
  unreachable: string[] = [];
  readonly schedule: Schedule;
  readonly hooks: RunHooks;
  datagrams = 0;

  constructor(schedule: Schedule, hooks: RunHooks = {}) {
    this.schedule = schedule;
    this.hooks = hooks;
    this.observer = new Observer(this.log, this.incarnations);
    this.specs = new Map(schedule.nodes.map((spec) => [spec.id, spec]));
    this.cluster = new SimulatedCluster({
      seed: schedule.simSeed,
      mtu: schedule.mtu,
      gossipIntervalMs: schedule.gossipIntervalMs ?? 1000,
      latencyMs: 2,
      jitterMs: 3,
      nodeDefaults: {
        tombstoneGracePeriodMs: schedule.tombstoneGracePeriodMs,
        failureDetector: { deadNodeGracePeriodMs: schedule.deadNodeGracePeriodMs },
      },
      onDatagram: (from, to, bytes) => {
        this.datagrams++;
        if (bytes.byteLength > schedule.mtu) {
          this.log.add("mtu", this.now, `${from} sent ${bytes.byteLength} bytes to ${to}, over the MTU ${schedule.mtu}`);
        }
      },
    });
  }

  get now(): number {
    return this.cluster.clock.now();
  }

  logger(nodeId: string): Logger {
    const ignore = (): void => {};
    return {
      debug: ignore,
      info: ignore,
      warn: (msg: string) => void this.warnings.push(`${nodeId}: ${msg}`),
      error: (msg: string, ...args: unknown[]) =>
        this.log.add("noException", this.now, `${nodeId} logged an error: ${msg} ${args.map(String).join(" ")}`),
    };
  }

  async start(nodeId: string, seedIds?: readonly string[], generationId?: number): Promise<void> {
    const spec = this.specs.get(nodeId);
    if (spec === undefined || this.current.has(nodeId)) return;
    const generation = generationId ?? (this.started.has(nodeId) ? undefined : spec.generationId);
    const seeds = seedIds ?? spec.seedIds ?? [this.schedule.nodes[0].id];
    this.seeds.set(nodeId, seeds);
    const handle = await this.cluster.addNode(nodeId, {
      seedIds: seeds,
      logger: this.logger(nodeId),
      ...(spec.priorityKeyPrefixes === undefined ? {} : { priorityKeyPrefixes: spec.priorityKeyPrefixes }),
      ...(spec.maxKeys === undefined ? {} : { limits: { maxKeys: spec.maxKeys } }),
      ...(generation === undefined ? {} : { generationId: generation }),
    });
    const first = !this.started.has(nodeId);
    this.started.add(nodeId);
    if (first && this.groups !== undefined) this.partition(this.groups);
    const inc = new Incarnation(handle, this.now);
    this.feeds.set(inc, handle.events({ bufferSize: 1_000_000 }));
    this.incarnations.set(inc.key, inc);
    this.current.set(nodeId, inc);
  }

  write(kind: WriteKind, nodeId: string, key: string, value: string, near: number | undefined): void {
    const inc = this.current.get(nodeId);
    // A frozen process runs no application code either.
    if (inc === undefined || this.cluster.paused(nodeId)) return;
    const node = inc.handle;
    if (near !== undefined) {
      const limit = node.limits.maxValueBytes;
      value = value.padEnd(Math.max(value.length, limit - near), "x").slice(0, limit);
    }
    const before = node.get(key);
    let changed: boolean;
    try {
      if (kind === "set") changed = node.set(key, value);
      else if (kind === "setWithTtl") changed = node.setWithTtl(key, value);
      else if (kind === "delete") changed = node.delete(key);
      else changed = node.deleteAfterTtl(key);
    } catch (error) {
      const own = node.nodeState(node.id)!;
      const property: Property = error instanceof RangeError && /keys/.test(String(error)) ? "keyCap" : "noException";
      this.log.add(property, this.now, `${nodeId}.${kind}("${key}") threw with ${own.keyCount} visible keys: ${error}`);
      return;
    }
    if (!changed) return;
    const shown = kind === "delete" ? "" : kind === "deleteAfterTtl" ? before ?? "" : value;
    const own = node.nodeState(node.id)!;
    const vv = own.getVersioned(key);
    const expected = inc.maxVersion + 1;
    if (vv === undefined || vv.version !== expected || vv.status !== statusOf(kind) || (kind !== "delete" && vv.value !== shown)) {
      this.log.add(
        "noLostWrite",
        this.now,
        `${nodeId}.${kind}("${key}", "${short(shown)}") returned true, but its own state holds ` +
          (vv === undefined ? "nothing" : `${vv.status} "${short(vv.value)}" at version ${vv.version} (expected ${expected})`),
      );
    }
    inc.record(kind, key, shown, vv?.version ?? expected, this.now);
  }

  sample(): void {
    for (const inc of this.current.values()) {
      for (const event of this.feeds.get(inc)?.drain() ?? []) {
        if (event.type === "removed") {
          this.observer.forget(inc, chitchatIdKey(event.node));
          const key = chitchatIdKey(event.node);
          const by = this.forgotten.get(key) ?? new Set<string>();
          this.forgotten.set(key, by.add(inc.id.nodeId));
        }
      }
      this.observer.sample(inc, this.now);
    }
  }

  async advance(ms: number, each?: () => void): Promise<void> {
    const end = this.now + ms;
    while (this.now < end) {
      const step = Math.min(SAMPLE_MS, end - this.now);
      await this.cluster.advance(step, step);
      this.sample();
      each?.();
      this.hooks.onSample?.(this.cluster, this.current.size);
    }
  }

  /** Forgets stopped incarnations no running node holds (see {@linkcode RunHooks.prune}). */
  prune(): void {
    const held = new Set<string>();
    for (const inc of this.current.values()) {
      for (const state of inc.handle.nodeStates()) held.add(chitchatIdKey(state.id));
    }
    for (const [key, inc] of this.incarnations) {
      if (this.current.get(inc.id.nodeId) === inc || held.has(key)) continue;
      this.incarnations.delete(key);
      this.forgotten.delete(key);
      this.feeds.delete(inc);
      this.observer.drop(key);
    }
  }

  partition(groups: readonly (readonly string[])[]): void {
    this.groups = groups;
    this.cluster.heal();
    const known = groups.map((g) => g.filter((id) => this.started.has(id)));
    for (let i = 0; i < known.length; i++) {
      for (let j = i + 1; j < known.length; j++) this.cluster.partition(known[i], known[j]);
    }
  }

  /** Runs one operation; one naming a node that is not running (or already running, for a start) does nothing. */
  async apply(op: Op): Promise<void> {
    switch (op.op) {
      case "set":
      case "setWithTtl":
        return this.write(op.op, op.node, op.key, op.value, op.near);
      case "delete":
      case "deleteAfterTtl":
        return this.write(op.op, op.node, op.key, "", undefined);
      case "kill":
      case "stop":
        if (!this.current.has(op.node)) return;
        this.current.delete(op.node);
        if (op.op === "kill") await this.cluster.kill(op.node);
        else await this.cluster.stop(op.node);
        return;
      case "start":
        return await this.start(op.node, op.seedIds, op.generationId);
      case "partition":
        return this.partition(op.groups);
      case "heal":
        this.groups = undefined;
        return this.cluster.heal();
      case "loss":
        return this.cluster.network.setDefaults({ loss: op.p });
      case "pause":
        if (!this.current.has(op.node) || this.cluster.paused(op.node)) return;
        return this.cluster.pause(op.node, op.ms);
      case "advance":
        await this.advance(op.ms);
        if (this.hooks.prune === true) this.prune();
        return;
    }
  }

  /**
   * The running nodes that can ever reach the largest group of them: a node
   * contacts its seeds and every node it holds a state of (live, dead or
   * left; not one scheduled for deletion). A node whose seeds are all down
   * and that no running node ever heard of cannot join, whatever the library
   * does; it is left out of the final checks (and counted).
   */
  reachable(): Incarnation[] {
    const running = [...this.current.values()];
    const group = new Map(running.map((inc) => [inc.id.nodeId, inc.id.nodeId]));
    const find = (id: string): string => {
      while (group.get(id) !== id) id = group.get(id)!;
      return id;
    };
    const join = (a: string, b: string): void => void group.set(find(a), find(b));
    for (const a of running) {
      for (const seed of this.seeds.get(a.id.nodeId) ?? []) if (group.has(seed)) join(a.id.nodeId, seed);
      for (const state of a.handle.nodeStates()) {
        const other = state.id.nodeId;
        if (!group.has(other) || other === a.id.nodeId) continue;
        if (a.handle.status(state.id) !== "scheduled") join(a.id.nodeId, other);
      }
    }
    const sizes = new Map<string, number>();
    for (const inc of running) sizes.set(find(inc.id.nodeId), (sizes.get(find(inc.id.nodeId)) ?? 0) + 1);
    const largest = [...sizes].sort((x, y) => y[1] - x[1])[0]?.[0];
    this.unreachable = running.filter((inc) => find(inc.id.nodeId) !== largest).map((inc) => inc.id.nodeId);
    return running.filter((inc) => find(inc.id.nodeId) === largest);
  }

  /** Final heal, then the quiet period, timing when every running node is live everywhere. */
  // (The bound of a pair whose observer forgot the node is REJOIN_BOUND_FACTOR times the usual.)
  async quiet(): Promise<number | undefined> {
    // The final heal comes once no node is frozen (a pause lasts 40 s at most).
    for (let i = 0; i < 600 && this.cluster.nodeIds.some((id) => this.cluster.paused(id)); i++) await this.advance(100);
    const frozen = this.cluster.nodeIds.filter((id) => this.cluster.paused(id));
    if (frozen.length > 0) this.log.add("noException", this.now, `still paused 60 s after the last operation: ${frozen.join(", ")}`);
    this.groups = undefined;
    this.cluster.heal();
    this.cluster.network.setDefaults({ loss: 0 });
    const healedAt = this.now;
    const bound = this.schedule.liveBoundMs ?? 10 * (this.schedule.gossipIntervalMs ?? 1000);
    const firstLive = new Map<string, number>();
    const running = this.reachable();
    const pairs = running.flatMap((a) => running.filter((b) => b !== a).map((b) => [a, b] as const));
    const check = (): void => {
      for (const [a, b] of pairs) {
        const pair = `${b.id.nodeId} on ${a.id.nodeId}`;
        if (firstLive.has(pair)) continue;
        if (a.handle.liveNodeIds().some((id) => chitchatIdKey(id) === b.key)) firstLive.set(pair, this.now);
      }
    };
    await this.advance(this.schedule.quietMs ?? 60_000, check);
    const late: string[] = [];
    let last = healedAt;
    for (const [a, b] of pairs) {
      const pair = `${b.id.nodeId} on ${a.id.nodeId}`;
      const at = firstLive.get(pair);
      // A node its observer forgot (away for the whole grace period) rejoins as a new member: heard
      // of again through a seed or a peer, then live after three heartbeat values: a few rounds more.
      const limit = this.forgotten.get(b.key)?.has(a.id.nodeId) === true ? bound * REJOIN_BOUND_FACTOR : bound;
      if (at === undefined) late.push(`${pair}: never`);
      else if (at - healedAt > limit) late.push(`${pair}: ${at - healedAt} ms`);
      last = Math.max(last, at ?? Infinity);
    }
    if (late.length > 0) {
      this.log.add(
        "noFalseDeath",
        this.now,
        `not live everywhere within ${bound} ms of the final heal: ${late.slice(0, 6).join(", ")}` +
          (late.length > 6 ? ` and ${late.length - 6} more` : ""),
      );
    }
    return last === Infinity ? undefined : last - healedAt;
  }
}

/** Runs `schedule` and checks every property; never throws for a failing library. */
export async function runSchedule(schedule: Schedule, hooks: RunHooks = {}): Promise<RunResult> {
  const run = new Run(schedule, hooks);
  let liveAfterHealMs: number | undefined;
  try {
    for (const spec of schedule.nodes) if (spec.late !== true) await run.start(spec.id);
    for (const op of schedule.ops) await run.apply(op);
    liveAfterHealMs = await run.quiet();
    const unreachable = new Set(run.unreachable);
    finalChecks(run.log, [...run.current.values()].filter((inc) => !unreachable.has(inc.id.nodeId)), {
      now: run.now,
      tombstoneGracePeriodMs: schedule.tombstoneGracePeriodMs,
    });
  } catch (error) {
    run.log.add("noException", run.now, `the run threw: ${(error as Error)?.stack ?? error}`);
  } finally {
    try {
      await run.cluster.close();
    } catch (error) {
      run.log.add("noException", run.now, `closing the cluster threw: ${error}`);
    }
  }
  return {
    failures: run.log.failures,
    counts: run.log.counts,
    virtualMs: run.now,
    datagrams: run.datagrams,
    warnings: run.warnings,
    liveAfterHealMs,
    unreachable: run.unreachable,
  };
}
