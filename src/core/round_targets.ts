/**
 * Whom a round gossips with: the seed list, which seeds this node has heard
 * from, and the fanout of the node's age, handed to `selectGossipTargets`.
 * Rule kept here: only a seed that sent this node a message of its cluster
 * is ever probed as forgotten (peer_selection.ts), and the seeds heard from
 * are always a subset of the current seed list.
 * @module
 */

import type { Message } from "./messages.ts";
import { catchUpFanout, GOSSIP_FANOUT, type PeerSets, selectGossipTargets } from "./peer_selection.ts";
import type { ProtocolProfile } from "./protocol_profile.ts";

/**
 * The seeds and the choice of a round's targets for one node.
 *
 * @example
 * ```ts
 * import { RoundTargets } from "./round_targets.ts";
 * import { FULL_PROFILE } from "./protocol_profile.ts";
 * import assert from "node:assert/strict";
 * const targets = new RoundTargets(FULL_PROFILE, 1_400, "c");
 * targets.setSeeds(["10.0.0.1:7000"]);
 * const none = { peers: [], live: [], dead: [], seeds: targets.seeds };
 * assert.deepEqual(targets.choose(none, 1, () => 0.5), ["10.0.0.1:7000"]);
 * ```
 */
export class RoundTargets {
  #profile: ProtocolProfile;
  #mtu: number;
  #clusterId: string;
  #seeds: readonly string[] = [];
  #seedSet = new Set<string>();
  /** Seeds this node has had a message of its cluster from. */
  #heard = new Set<string>();

  /** For a node of `profile`, datagrams of `mtu` bytes, in cluster `clusterId`. */
  constructor(profile: ProtocolProfile, mtu: number, clusterId: string) {
    this.#profile = profile;
    this.#mtu = mtu;
    this.#clusterId = clusterId;
  }

  /** The seed addresses in use. */
  get seeds(): readonly string[] {
    return this.#seeds;
  }

  /** Replaces the seed addresses; seeds no longer listed are forgotten as heard from. */
  setSeeds(addresses: readonly string[]): void {
    this.#seeds = [...addresses];
    this.#seedSet = new Set(addresses);
    for (const seed of this.#heard) if (!this.#seedSet.has(seed)) this.#heard.delete(seed);
  }

  /** A message came from `from`: a seed that sends one of this cluster has answered. */
  received(from: string, message: Message): void {
    if (!this.#seedSet.has(from) || this.#heard.has(from)) return;
    const ours = message.type === "synAck" || message.type === "ack" ||
      (message.type === "syn" && message.clusterId === this.#clusterId);
    if (ours) this.#heard.add(from);
  }

  /** This round's targets among `sets`, in the node's `round`-th round. */
  choose(sets: PeerSets, round: number, random: () => number): string[] {
    const fanout = this.#profile.catchUpFanout
      ? catchUpFanout(round, sets.peers.length - sets.live.length, this.#mtu)
      : GOSSIP_FANOUT;
    const probeSeeds = this.#profile.probeForgottenSeeds && this.#heard.size > 0 ? [...this.#heard] : undefined;
    return selectGossipTargets(sets, random, { fanout, probeSeeds });
  }
}
