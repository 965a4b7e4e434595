/**
 * The gossip addresses of the members a node has seen live (live now, or
 * dead since): what the receive path keeps handling when it has to shed
 * load. Rebuilt at most once per gossip round.
 * @module
 */

import type { Chitchat } from "../core/chitchat.ts";

/** The parts of the core the address set reads. */
export type MemberSource = Pick<Chitchat, "liveNodes" | "deadNodes" | "rounds">;

/**
 * A set of member gossip addresses that follows the core, rebuilt when the
 * round count moves on.
 *
 * @example
 * ```ts
 * import { MemberAddresses } from "./member_addresses.ts";
 * const id = { nodeId: "b", generationId: 1, gossipAdvertiseAddr: "127.0.0.1:7001" };
 * const core = { rounds: 1, liveNodes: () => [{ id }], deadNodes: () => [] };
 * const members = new MemberAddresses(core as never);
 * console.assert(members.has("127.0.0.1:7001"));
 * console.assert(!members.has("127.0.0.9:9"));
 * ```
 */
export class MemberAddresses {
  readonly #core: MemberSource;
  #round = -1;
  #addresses = new Set<string>();

  /** Follows `core`. */
  constructor(core: MemberSource) {
    this.#core = core;
  }

  /** True when `address` is the gossip address of a node seen live (live or dead now). */
  has(address: string): boolean {
    const core = this.#core;
    if (core.rounds !== this.#round) {
      this.#round = core.rounds;
      const addresses = new Set<string>();
      for (const state of core.liveNodes()) addresses.add(state.id.gossipAdvertiseAddr);
      for (const id of core.deadNodes()) addresses.add(id.gossipAdvertiseAddr);
      this.#addresses = addresses;
    }
    return this.#addresses.has(address);
  }
}
