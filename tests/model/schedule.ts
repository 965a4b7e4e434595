/**
 * Schedules of the model checker: a cluster configuration and a list of
 * operations (writes, kills, stops, restarts, partitions, loss, pauses of a whole node, time), as
 * plain JSON so that a failing one can be printed, shrunk and replayed.
 * `generateSchedule(seed)` draws one at random, the same for the same seed.
 * @module
 */

import { createRandom, type Random, shuffle } from "../../src/testing/mod.ts";

/** One node of a schedule. */
export interface NodeSpec {
  /** Node id; node `i` listens on `127.0.0.1:(10000 + i)`. */
  readonly id: string;
  /** Priority key prefixes of this node, if any. */
  readonly priorityKeyPrefixes?: readonly string[];
  /** `limits.maxKeys` of this node, if not the default. */
  readonly maxKeys?: number;
  /** Generation of its first start (default: the simulator's counter). */
  readonly generationId?: number;
  /** Seed node ids (default: the first node). */
  readonly seedIds?: readonly string[];
  /** When true the node is not started with the others (a later `start` op starts it). */
  readonly late?: boolean;
}

/** A value: `value`, padded with "x" to `near` bytes below the writer's `limits.maxValueBytes` when given. */
interface WriteOp {
  readonly node: string;
  readonly key: string;
  readonly value: string;
  readonly near?: number;
}

/** One step of a schedule. */
export type Op =
  | ({ readonly op: "set" } & WriteOp)
  | ({ readonly op: "setWithTtl" } & WriteOp)
  | { readonly op: "delete"; readonly node: string; readonly key: string }
  | { readonly op: "deleteAfterTtl"; readonly node: string; readonly key: string }
  | { readonly op: "kill"; readonly node: string }
  | { readonly op: "stop"; readonly node: string }
  | { readonly op: "start"; readonly node: string; readonly seedIds?: readonly string[]; readonly generationId?: number }
  | { readonly op: "partition"; readonly groups: readonly (readonly string[])[] }
  | { readonly op: "heal" }
  | { readonly op: "loss"; readonly p: number }
  /** The node's process is frozen for `ms` (SIGSTOP, a stalled VM): it runs nothing, its app writes nothing. */
  | { readonly op: "pause"; readonly node: string; readonly ms: number }
  | { readonly op: "advance"; readonly ms: number };

/** A whole run: configuration, operations, then a final heal and a quiet period. */
export interface Schedule {
  /** Seeds the simulator (network and node random sources). */
  readonly simSeed: number;
  /** Nodes, in order of creation. */
  readonly nodes: readonly NodeSpec[];
  /** MTU of the network and every node. */
  readonly mtu: number;
  /** `tombstoneGracePeriodMs` of every node. */
  readonly tombstoneGracePeriodMs: number;
  /** `failureDetector.deadNodeGracePeriodMs` of every node. */
  readonly deadNodeGracePeriodMs: number;
  /** Gossip interval of every node (default 1000 ms). */
  readonly gossipIntervalMs?: number;
  /** Operations, run in order. */
  readonly ops: readonly Op[];
  /** Virtual time after the final heal before the final checks (default 60 s). */
  readonly quietMs?: number;
  /** After the final heal, every running node must be live everywhere within this (default 10 rounds). */
  readonly liveBoundMs?: number;
}

const MTUS = [1200, 1200, 1400, 4096, 9000, 65_507, 65_507];
const TOMBSTONE_GRACES = [3_000, 5_000, 15_000, 60_000, 7_200_000];
const DEAD_GRACES = [20_000, 60_000, 60_000, 86_400_000];
const PAUSES = [1_500, 3_000, 5_000, 15_000, 40_000];

function pick<T>(random: Random, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)];
}

function int(random: Random, lo: number, hi: number): number {
  return lo + Math.floor(random() * (hi - lo + 1));
}

/** Options of {@linkcode generateSchedule}. */
export interface GenerateOptions {
  /** Number of operations besides time (default 24 to 48). */
  readonly ops?: number;
  /** Largest total virtual time of the operations (default 150 s). */
  readonly maxMs?: number;
}

/**
 * A random schedule for `seed`: 4 to 8 nodes, writes of every kind (values
 * near the size limit included), kills, graceful stops, restarts,
 * partitions into 2 or 3 groups, heals, loss bursts and pauses of a node's
 * whole process (1.5 to 40 s), with short or long
 * grace periods and an MTU from 1 200 to 65 507. At least half the nodes
 * stay running. The same seed gives the same schedule.
 */
export function generateSchedule(seed: number, options: GenerateOptions = {}): Schedule {
  const random = createRandom(seed);
  const n = int(random, 4, 8);
  const nodes: NodeSpec[] = [];
  for (let i = 0; i < n; i++) {
    const priority = random() < 0.3;
    nodes.push({
      id: `n${i}`,
      ...(priority ? { priorityKeyPrefixes: ["p/"] } : {}),
      seedIds: i < 2 ? ["n0"] : ["n0", "n1"],
      ...(i > 0 ? { late: true } : {}),
    });
  }
  const ids = nodes.map((node) => node.id);
  const running = new Set(ids);
  const keys = ["a", "b", "c", "p/x", "p/y", "big1", "big2", "t1"];
  const ops: Op[] = [];
  const count = options.ops ?? int(random, 40, 80);
  const maxMs = options.maxMs ?? 150_000;
  let time = 0;
  let partitioned = false;
  let version = 0;
  // Nodes start out of phase with each other's rounds, as in life.
  for (const node of ids.slice(1)) ops.push({ op: "advance", ms: int(random, 0, 999) }, { op: "start", node });
  ops.push({ op: "advance", ms: int(random, 0, 6) * 1000 });
  for (let i = 0; i < count && time < maxMs; i++) {
    const r = random();
    const live = [...running];
    const stopped = ids.filter((id) => !running.has(id));
    if (r < 0.6 && live.length > 0) {
      // Most writes come from one or two nodes, so that one owner's history grows long.
      const writers = live.filter((id) => id === "n0" || id === "n1");
      const node = writers.length > 0 && random() < 0.6 ? pick(random, writers) : pick(random, live);
      const key = pick(random, keys);
      const kind = random();
      const value = `v${++version}`;
      const near = key.startsWith("big") || random() < 0.1 ? pick(random, [0, 0, 1, 40, 300]) : undefined;
      const write = near === undefined ? { node, key, value } : { node, key, value, near };
      if (kind < 0.45) ops.push({ op: "set", ...write });
      else if (kind < 0.6) ops.push({ op: "setWithTtl", ...write });
      else if (kind < 0.85) ops.push({ op: "delete", node, key });
      else ops.push({ op: "deleteAfterTtl", node, key });
    } else if (r < 0.66 && live.length > Math.ceil(n / 2)) {
      const node = pick(random, live);
      running.delete(node);
      ops.push({ op: random() < 0.5 ? "kill" : "stop", node });
    } else if (r < 0.72 && stopped.length > 0) {
      const node = pick(random, stopped);
      running.add(node);
      ops.push({ op: "start", node });
    } else if (r < 0.78) {
      const groups = random() < 0.7 ? 2 : 3;
      const shuffled = shuffle(random, [...ids]);
      const cut: string[][] = Array.from({ length: groups }, () => []);
      shuffled.forEach((id, j) => cut[j < groups ? j : int(random, 0, groups - 1)].push(id));
      ops.push({ op: "partition", groups: cut });
      partitioned = true;
    } else if (r < 0.84 && partitioned) {
      ops.push({ op: "heal" });
      partitioned = false;
    } else if (r < 0.88) {
      ops.push({ op: "loss", p: pick(random, [0.2, 0.5, 0.9]) });
      const ms = int(random, 1, 8) * 1000;
      ops.push({ op: "advance", ms }, { op: "loss", p: 0 });
      time += ms;
    } else if (r < 0.91 && live.length > 0) {
      // Shorter than two rounds (a stall, no pause to the node itself) up to longer than detection.
      ops.push({ op: "pause", node: pick(random, live), ms: pick(random, PAUSES) });
    } else {
      const long = random() < 0.15;
      const ms = long ? int(random, 20, 50) * 1000 : int(random, 1, 40) * 250;
      ops.push({ op: "advance", ms });
      time += ms;
    }
  }
  return {
    simSeed: seed,
    nodes,
    mtu: pick(random, MTUS),
    tombstoneGracePeriodMs: pick(random, TOMBSTONE_GRACES),
    deadNodeGracePeriodMs: pick(random, DEAD_GRACES),
    ops,
  };
}
