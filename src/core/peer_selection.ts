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

/**
 * Picks this round's targets: up to {@linkcode GOSSIP_FANOUT} random live
 * peers (any known peer while none is live); one random dead node with
 * probability `dead / (live + 1)`; and, when no chosen peer is a seed or
 * fewer peers are live than there are seeds, one random seed — always while
 * no peer is live, else with probability `seeds / (live + dead)`. Returns
 * distinct addresses.
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
export function selectGossipTargets(sets: PeerSets, random: () => number): string[] {
  const pool = sets.live.length === 0 ? sets.peers : sets.live;
  const chosen = sample(pool, GOSSIP_FANOUT, random);
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
  return [...targets];
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
