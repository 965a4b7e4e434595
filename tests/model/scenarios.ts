/**
 * Targeted schedules: the reproductions of the defects of the "correct
 * under every schedule" issue, written as schedules so that the same
 * checker judges them. Some come in several timings or simulator seeds:
 * the defects they reproduce depend on which datagrams meet.
 * @module
 */

import { findCollision } from "./collision.ts";
import type { NodeSpec, Op, Schedule } from "./schedule.ts";

/** A named schedule. */
export interface Scenario {
  /** What it reproduces. */
  readonly name: string;
  /** The schedule. */
  readonly schedule: Schedule;
}

const DAY = 86_400_000;

/** Nodes after the first start `late`, by {@linkcode staggered} ops: gossip rounds out of phase, as in life. */
function nodes(ids: readonly string[], extra: Partial<NodeSpec> = {}): NodeSpec[] {
  return ids.map((id, i) => ({ id, ...(i > 0 ? { late: true } : {}), ...extra }));
}

/** Starts every node but the first, `gapMs` apart (times out of phase with the 1 s rounds). */
export function staggered(ids: readonly string[], gapMs = 137): Op[] {
  return ids.slice(1).flatMap((node): Op[] => [{ op: "advance", ms: gapMs }, { op: "start", node }]);
}

/**
 * Defect 1 with priority prefixes: a deleted priority key comes back after a
 * reset cut by the MTU. `ids` are the nodes (owner first); the first half
 * less the owner's side is cut off: {r, s} | {o, v} with the default four.
 */
export function deletedPriorityKey(simSeed: number, delayMs: number, ids = ["o", "r", "s", "v"]): Scenario {
  const half = ids.length / 2;
  const ops: Op[] = [
    ...staggered(ids, 229),
    { op: "advance", ms: 5000 },
    { op: "set", node: "o", key: "big1", value: "v1", near: 0 },
    { op: "set", node: "o", key: "big2", value: "v2", near: 0 },
    { op: "set", node: "o", key: "p/x", value: "v3" },
    { op: "advance", ms: delayMs },
    { op: "partition", groups: [ids.slice(1, half + 1), [ids[0], ...ids.slice(half + 1)]] },
    { op: "delete", node: "o", key: "p/x" },
    { op: "advance", ms: 12_000 },
  ];
  return {
    name: `defect 1, priority prefixes, ${ids.length} nodes (seed ${simSeed}, partition after ${delayMs} ms)`,
    schedule: {
      simSeed,
      nodes: nodes(ids, { priorityKeyPrefixes: ["p/"] }),
      mtu: 1200,
      tombstoneGracePeriodMs: 5000,
      deadNodeGracePeriodMs: DAY,
      ops,
    },
  };
}

/** Defect 1 without priority prefixes: 8 nodes, two 32 KiB values, a 4 | 4 partition, a delete. */
export function deletedKeyLargeValues(simSeed: number, delayMs: number): Scenario {
  const ids = ["o", "n1", "n2", "n3", "n4", "n5", "n6", "n7"];
  return {
    name: `defect 1, 32 KiB values (seed ${simSeed}, partition after ${delayMs} ms)`,
    schedule: {
      simSeed,
      nodes: nodes(ids),
      mtu: 65_507,
      tombstoneGracePeriodMs: 15_000,
      deadNodeGracePeriodMs: DAY,
      ops: [
        ...staggered(ids),
        { op: "advance", ms: 5000 },
        { op: "set", node: "o", key: "big1", value: "v1", near: 0 },
        { op: "set", node: "o", key: "big2", value: "v2", near: 0 },
        { op: "set", node: "o", key: "t1", value: "v3" },
        { op: "advance", ms: delayMs },
        { op: "partition", groups: [ids.slice(0, 4), ids.slice(4)] },
        { op: "delete", node: "o", key: "t1" },
        { op: "advance", ms: 25_000 },
      ],
    },
  };
}

/**
 * Defect 3: `a` and `b` have the same fingerprint, each first known on one
 * side of a partition (`c` knows `a`, `d` knows `b`), then healed.
 */
export function fingerprintCollision(simSeed: number): Scenario {
  const found = findCollision("a", 10_002, "b", 10_003);
  if (found === undefined) throw new Error("No fingerprint collision found; widen the birthday search");
  return {
    name: `defect 3, colliding fingerprints (generations ${found.generationA} and ${found.generationB}, seed ${simSeed})`,
    schedule: {
      simSeed,
      nodes: [
        { id: "c", seedIds: ["c"] },
        { id: "d", seedIds: ["d", "c"] },
        { id: "a", generationId: found.generationA, seedIds: ["c"] },
        { id: "b", generationId: found.generationB, seedIds: ["d"], late: true },
      ],
      mtu: 65_507,
      tombstoneGracePeriodMs: 60_000,
      deadNodeGracePeriodMs: DAY,
      ops: [
        { op: "partition", groups: [["a", "c"], ["b", "d"]] },
        { op: "advance", ms: 20_000 },
        { op: "start", node: "b" },
        { op: "advance", ms: 20_000 },
      ],
    },
  };
}

/** Resets cut by the MTU: a replica behind tombstones the owner collected, values near the limit, loss at the heal. */
export function truncatedReset(simSeed: number, priority: boolean): Scenario {
  const ops: Op[] = [...staggered(["n0", "n1", "n2", "n3", "n4"], 181), { op: "advance", ms: 3000 }];
  for (let i = 0; i < 6; i++) ops.push({ op: "set", node: "n0", key: `big${i}`, value: `v${i}`, near: i % 2 });
  for (const key of ["a", "b", "p/x", "p/y"]) ops.push({ op: "set", node: "n0", key, value: `${key}1` });
  ops.push({ op: "advance", ms: 10_000 }, { op: "partition", groups: [["n3", "n4"], ["n0", "n1", "n2"]] });
  for (const key of ["big1", "big4"]) ops.push({ op: "set", node: "n0", key, value: "w", near: 2 });
  for (const key of ["a", "p/x", "big2"]) ops.push({ op: "delete", node: "n0", key });
  ops.push({ op: "set", node: "n0", key: "p/y", value: "p/y2" });
  ops.push({ op: "advance", ms: 8000 }, { op: "heal" }, { op: "loss", p: 0.3 }, { op: "advance", ms: 5000 });
  return {
    name: `reset cut by the MTU (seed ${simSeed}${priority ? ", priority prefixes" : ""})`,
    schedule: {
      simSeed,
      nodes: nodes(["n0", "n1", "n2", "n3", "n4"], priority ? { priorityKeyPrefixes: ["p/"] } : {}),
      mtu: 1200,
      tombstoneGracePeriodMs: 3000,
      deadNodeGracePeriodMs: DAY,
      ops,
    },
  };
}

/**
 * Defect 2: the last of `count` nodes, cut off for longer than half the
 * dead-node grace period, must be live everywhere within 10 rounds of the heal.
 */
export function longPartition(simSeed: number, awayMs: number, deadGraceMs: number, count = 2): Scenario {
  const ids = Array.from({ length: count }, (_, i) => `n${i}`);
  const away = ids[count - 1];
  return {
    name: `defect 2, ${count} nodes, one cut off ${awayMs / 1000} s, dead-node grace ${deadGraceMs / 1000} s (seed ${simSeed})`,
    schedule: {
      simSeed,
      nodes: nodes(ids),
      mtu: 65_507,
      tombstoneGracePeriodMs: 60_000,
      deadNodeGracePeriodMs: deadGraceMs,
      ops: [
        ...staggered(ids),
        { op: "advance", ms: 5000 },
        { op: "set", node: away, key: "a", value: "before" },
        { op: "advance", ms: 1000 },
        { op: "partition", groups: [[away], ids.slice(0, -1)] },
        { op: "set", node: away, key: "a", value: "during" },
        { op: "advance", ms: awayMs },
      ],
      liveBoundMs: 10_000,
    },
  };
}

/** Defect 4: a node that left restarts while its only seed is down; peers must still rejoin it. */
export function leftNodeWithoutSeed(simSeed: number): Scenario {
  return {
    name: `defect 4, a left node restarts with no reachable seed (seed ${simSeed})`,
    schedule: {
      simSeed,
      nodes: nodes(["n0", "n1", "n2", "n3"], { seedIds: ["n0"] }),
      mtu: 65_507,
      tombstoneGracePeriodMs: 60_000,
      deadNodeGracePeriodMs: DAY,
      ops: [
        ...staggered(["n0", "n1", "n2", "n3"]),
        { op: "advance", ms: 10_000 },
        { op: "stop", node: "n2" },
        { op: "kill", node: "n0" },
        { op: "advance", ms: 5000 },
        { op: "start", node: "n2" },
        { op: "set", node: "n2", key: "back", value: "yes" },
        { op: "advance", ms: 2000 },
      ],
    },
  };
}

/**
 * Defect 5: churning keys (each set then deleted, or set with a TTL) keep
 * few keys visible, yet tombstones pile up; no write may be refused while
 * few keys are visible, and no replica may silently stop syncing the owner.
 * `replicaMaxKeys` below the owner's gives the replicas a smaller cap.
 */
export function keyCapChurn(simSeed: number, ttl: boolean, replicaMaxKeys: number): Scenario {
  const ops: Op[] = [
    ...staggered(["n0", "n1", "n2", "n3"]),
    { op: "advance", ms: 3000 },
    { op: "partition", groups: [["n3"], ["n0", "n1", "n2"]] },
  ];
  for (let i = 0; i < 40; i++) {
    if (i === 20) ops.push({ op: "heal" });
    if (ttl) {
      ops.push({ op: "setWithTtl", node: "n0", key: `shard/${i}`, value: `pos${i}` }, { op: "advance", ms: 2000 });
    } else {
      ops.push({ op: "set", node: "n0", key: `c/${i}`, value: `v${i}` }, { op: "advance", ms: 500 });
      ops.push({ op: "delete", node: "n0", key: `c/${i}` }, { op: "advance", ms: 500 });
    }
  }
  return {
    name: `defect 5, key cap with ${ttl ? "TTL" : "set-then-delete"} churn, replicas' maxKeys ${replicaMaxKeys} (seed ${simSeed})`,
    schedule: {
      simSeed,
      nodes: [
        { id: "n0", maxKeys: 8 },
        ...["n1", "n2", "n3"].map((id) => ({ id, late: true, maxKeys: replicaMaxKeys })),
      ],
      mtu: 1200,
      tombstoneGracePeriodMs: 10_000,
      deadNodeGracePeriodMs: DAY,
      ops,
    },
  };
}
