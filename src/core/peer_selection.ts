/**
 * Who to gossip with this round: a few random live peers (any known peer
 * while none is live), sometimes a dead node so it can come back, and a seed
 * so the cluster cannot split into islands. Pure: randomness is an argument.
 * @module
 */

/** Inputs of {@linkcode selectGossipTargets}: gossip addresses, self excluded. */
export interface PeerSets {
  /** Every known peer. */
  readonly peers: readonly string[];
  /** Peers currently live. */
  readonly live: readonly string[];
  /** Peers currently dead (not scheduled for deletion). */
  readonly dead: readonly string[];
  /** Seed addresses (resolved, self excluded). */
  readonly seeds: readonly string[];
}

/** How many live peers are contacted each round. */
export const GOSSIP_FANOUT = 3;

/** The MTU `CatchUpFanoutLimits.notLivePerSyn` is given at. */
const CATCH_UP_BASE_MTU = 1_400;

/**
 * When a node sends more Syns a round to catch up (see
 * {@linkcode catchUpFanout}).
 *
 * @example
 * ```ts
 * import { CATCH_UP_FANOUT } from "@scope/chitchat/core";
 * console.assert(CATCH_UP_FANOUT.maxFanout > 3);
 * ```
 */
export interface CatchUpFanoutLimits {
  /** The node's first rounds (counted from 1, from its start) during which it may. */
  readonly rounds: number;
  /** Syns a round at most (at least {@linkcode GOSSIP_FANOUT}). */
  readonly maxFanout: number;
  /**
   * One more Syn a round per this many known members not live to the node,
   * at an MTU of 1 400 bytes; in proportion above it (one answer carries more).
   */
  readonly notLivePerSyn: number;
}

/**
 * The default catch-up fanout: during its first 64 rounds, one more Syn a
 * round per 256 known members not live to the node (at MTU 1 400; per
 * about 12 000 at 65 507), up to 18 in all.
 *
 * @example
 * ```ts
 * import { CATCH_UP_FANOUT } from "@scope/chitchat/core";
 * console.assert(CATCH_UP_FANOUT.rounds === 64);
 * ```
 */
export const CATCH_UP_FANOUT: CatchUpFanoutLimits = Object.freeze({
  rounds: 64,
  maxFanout: 18,
  notLivePerSyn: 256,
});

/**
 * Syns to send in round `round` (the node's first is 1) when `notLive` of
 * the members it knows are not live to it and datagrams carry `mtu` bytes. A node that has just joined a
 * large cluster learns members and their heartbeats only as fast as the
 * answers to its Syns bring them (a member turns live after its heartbeat
 * rose twice), so while it is young and many members are not live yet it
 * asks more peers: {@linkcode GOSSIP_FANOUT} plus one per
 * `limits.notLivePerSyn` such members (times `mtu / 1 400` above that
 * MTU), at most `limits.maxFanout`. Past
 * `limits.rounds` it is always {@linkcode GOSSIP_FANOUT}, so members a node
 * cannot hear from (or invented ones) raise its traffic for a bounded time.
 *
 * @example
 * ```ts
 * import { catchUpFanout } from "@scope/chitchat/core";
 * console.assert(catchUpFanout(2, 9_000, 1_400) === 18);
 * console.assert(catchUpFanout(2, 100, 1_400) === 3);
 * console.assert(catchUpFanout(2, 9_000, 65_507) === 3);
 * console.assert(catchUpFanout(1_000, 9_000, 1_400) === 3);
 * ```
 */
export function catchUpFanout(
  round: number,
  notLive: number,
  mtu: number,
  limits: CatchUpFanoutLimits = CATCH_UP_FANOUT,
): number {
  checkCount("round", round, 0);
  checkCount("notLive", notLive, 0);
  if (!Number.isFinite(mtu) || mtu <= 0) throw new RangeError(`catchUpFanout: mtu must be a positive number, got ${mtu}`);
  checkCount("limits.rounds", limits.rounds, 0);
  checkCount("limits.maxFanout", limits.maxFanout, GOSSIP_FANOUT);
  if (!Number.isFinite(limits.notLivePerSyn) || limits.notLivePerSyn <= 0) {
    throw new RangeError(`catchUpFanout: limits.notLivePerSyn must be a positive number, got ${limits.notLivePerSyn}`);
  }
  if (round > limits.rounds || notLive === 0) return GOSSIP_FANOUT;
  const extra = Math.floor(notLive / (limits.notLivePerSyn * Math.max(1, mtu / CATCH_UP_BASE_MTU)));
  return Math.min(limits.maxFanout, GOSSIP_FANOUT + extra);
}

function checkCount(field: string, value: number, least: number): void {
  if (!Number.isInteger(value) || value < least) {
    throw new RangeError(`catchUpFanout: ${field} must be an integer of at least ${least}, got ${value}`);
  }
}

/**
 * Picks this round's targets: up to `options.fanout` (default
 * {@linkcode GOSSIP_FANOUT}) random live peers (any known peer while none is
 * live); one random dead node with probability `dead / (live + 1)`; and,
 * when no chosen peer is a seed or fewer peers are live than there are
 * seeds, one random seed — always while no peer is live, else with
 * probability `seeds / (live + dead)`. With `options.probeSeeds`, also one
 * of those seeds that is no known peer now, with probability
 * `(such seeds) / (live + 1)` (see {@linkcode GossipTargetOptions}).
 * Returns distinct addresses.
 *
 * @example
 * ```ts
 * import { selectGossipTargets } from "@scope/chitchat/core";
 * import assert from "node:assert/strict";
 * const targets = selectGossipTargets(
 *   { peers: [], live: [], dead: [], seeds: ["10.0.0.1:7000"] },
 *   () => 0.5,
 * );
 * assert.deepEqual(targets, ["10.0.0.1:7000"]);
 * ```
 */
export function selectGossipTargets(sets: PeerSets, random: () => number, options: GossipTargetOptions = {}): string[] {
  const fanout = options.fanout ?? GOSSIP_FANOUT;
  if (!Number.isInteger(fanout) || fanout < 1) {
    throw new RangeError(`selectGossipTargets: fanout must be an integer of at least 1, got ${fanout}`);
  }
  const pool = sets.live.length === 0 ? sets.peers : sets.live;
  const chosen = sample(pool, fanout, random);
  const seeds = new Set(sets.seeds);
  const targets = new Set(chosen);
  const liveCount = sets.live.length;
  const deadCount = sets.dead.length;
  if (deadCount > 0 && random() < deadCount / (liveCount + 1)) {
    targets.add(sets.dead[Math.floor(random() * deadCount)]);
  }
  const gossipedWithSeed = chosen.some((addr) => seeds.has(addr));
  if (sets.seeds.length > 0 && (!gossipedWithSeed || liveCount < sets.seeds.length)) {
    const probability = sets.seeds.length / Math.max(1, liveCount + deadCount);
    if (liveCount === 0 || random() <= probability) {
      targets.add(sets.seeds[Math.floor(random() * sets.seeds.length)]);
    }
  }
  if (options.probeSeeds !== undefined && options.probeSeeds.length > 0) {
    probeForgottenSeed(sets, options.probeSeeds, targets, random);
  }
  return [...targets];
}

/**
 * Options of {@linkcode selectGossipTargets}.
 *
 * @example A seed that answered before and is no known node now is probed besides the known one
 * ```ts
 * import { selectGossipTargets } from "@scope/chitchat/core";
 * import assert from "node:assert/strict";
 * const sets = { peers: ["10.0.0.1:7000"], live: ["10.0.0.1:7000"], dead: [], seeds: ["10.0.0.1:7000", "10.0.0.9:7000"] };
 * const targets = selectGossipTargets(sets, () => 0, { probeSeeds: ["10.0.0.9:7000"] });
 * assert.deepEqual(targets, ["10.0.0.1:7000", "10.0.0.9:7000"]);
 * ```
 */
export interface GossipTargetOptions {
  /** Live peers to pick; an integer of at least 1. Default {@linkcode GOSSIP_FANOUT}. */
  readonly fanout?: number;
  /**
   * Seed addresses this node has had a message from. Those that are no
   * known peer now may stand for a part of the cluster this node forgot:
   * after a partition longer than the dead-node grace period each side has
   * removed the other, and the Rust crate's seed rule (no second seed in a
   * round whose targets include one) can leave the only bridge to one
   * node's draw. One of them joins the targets with probability
   * `(such seeds) / (live + 1)`, unless one already has. Seeds that never
   * answered (an address of the other IP family, a load balancer, a host
   * that is down) are never probed; while every listed seed is a known peer
   * nothing changes, not even the random draws. Default: none (the Rust
   * crate's rule alone).
   */
  readonly probeSeeds?: readonly string[];
}

function probeForgottenSeed(sets: PeerSets, probeSeeds: readonly string[], targets: Set<string>, random: () => number): void {
  // Crossing off the (few) seeds met among the peers costs no set of all the peers each round.
  const unmet = new Set(probeSeeds);
  for (const peer of sets.peers) if (unmet.delete(peer) && unmet.size === 0) return;
  const forgotten = [...unmet];
  if (forgotten.length === 0 || forgotten.some((seed) => targets.has(seed))) return;
  if (random() < forgotten.length / (sets.live.length + 1)) {
    targets.add(forgotten[Math.floor(random() * forgotten.length)]);
  }
}

/** Up to `count` distinct items of `items`, chosen uniformly (partial Fisher-Yates). */
function sample(items: readonly string[], count: number, random: () => number): string[] {
  if (items.length <= count) return [...items];
  const picked: string[] = [];
  const taken = new Map<number, number>();
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(random() * (items.length - i));
    const atJ = taken.get(j) ?? j;
    taken.set(j, taken.get(i) ?? i);
    picked.push(items[atJ]);
  }
  return picked;
}
