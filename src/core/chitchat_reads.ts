/**
 * What a `Chitchat` answers about the cluster without changing it: node
 * states, ids by membership status, phi, and the copies it hands out
 * (`snapshot`, `nodeStateSnapshot`). Rule kept here: a read writes nothing,
 * and a node learned since the last round reads as `joining`.
 * @module
 */

import { type ChitchatId, chitchatIdKey } from "./chitchat_id.ts";
import type { ClusterState } from "./cluster_state.ts";
import { type ReadonlyNodeStateLike, RESERVED_KEY_PREFIX } from "./config.ts";
import type { ClusterSnapshot, NodeSnapshot } from "./events.ts";
import type { FailureDetector } from "./failure_detector.ts";
import type { LiveView } from "./live_view.ts";
import type { Membership, MemberStatus } from "./membership.ts";
import { type NodeStateSnapshot, nodeStateSnapshot } from "./node_snapshot.ts";
import type { NodeState } from "./node_state.ts";
import type { PeerSets } from "./peer_selection.ts";

/** The parts of one state machine that its reads look at. */
export interface ReadParts {
  /** This node's identity. */
  readonly id: ChitchatId;
  /** The cluster id. */
  readonly clusterId: string;
  readonly state: ClusterState;
  readonly membership: Membership;
  readonly fd: FailureDetector;
  readonly liveView: LiveView;
}

/**
 * The read side of a `Chitchat`, which delegates its reads here (their
 * documentation is on `Chitchat`). Holds the parts, never copies of them: a
 * read sees the state as it is at the call.
 */
export class ChitchatReads {
  #parts: ReadParts;
  #selfKey: string;

  constructor(parts: ReadParts) {
    this.#parts = parts;
    this.#selfKey = chitchatIdKey(parts.id);
  }

  /** This node's own state. */
  get self(): NodeState {
    return this.#parts.state.getByKey(this.#selfKey)!;
  }

  /** See `Chitchat.nodeState`. */
  nodeState(id: ChitchatId): ReadonlyNodeStateLike | undefined {
    return this.#parts.state.get(id);
  }

  /** See `Chitchat.nodeStates`. */
  nodeStates(): ReadonlyNodeStateLike[] {
    return [...this.#parts.state.states()];
  }

  /** The ids of the nodes whose status is `status`. */
  idsWithStatus(status: MemberStatus): ChitchatId[] {
    const ids: ChitchatId[] = [];
    for (const key of this.#parts.membership.keysWithStatus(status)) {
      const state = this.#parts.state.getByKey(key);
      if (state !== undefined) ids.push(state.id);
    }
    return ids;
  }

  /** See `Chitchat.status`. */
  status(id: ChitchatId): MemberStatus | undefined {
    const status = this.#parts.membership.status(chitchatIdKey(id));
    if (status !== undefined) return status;
    return this.nodeState(id) === undefined ? undefined : "joining";
  }

  /** See `Chitchat.phi`. */
  phi(id: ChitchatId, now: number): number | undefined {
    const key = chitchatIdKey(id);
    return key === this.#selfKey ? undefined : this.#parts.fd.phi(key, now);
  }

  /** See `Chitchat.nodeStateSnapshot`. */
  nodeStateSnapshot(id: ChitchatId): NodeStateSnapshot | undefined {
    const state = this.#parts.state.get(id);
    return state === undefined ? undefined : nodeStateSnapshot(state);
  }

  /** The peers a round may gossip with, by status, and the `seeds` but for this node's own address. */
  peerSets(seeds: readonly string[]): PeerSets {
    const self = this.#parts.id.gossipAdvertiseAddr;
    const peers: string[] = [];
    const live: string[] = [];
    const dead: string[] = [];
    for (const [key, state] of this.#parts.state.entries()) {
      if (key === this.#selfKey) continue;
      const addr = state.id.gossipAdvertiseAddr;
      peers.push(addr);
      const status = this.#parts.membership.status(key);
      if (status === "live") live.push(addr);
      // Nodes not live are contacted now and then: a dead one may be back
      // (scheduled for deletion included, as in the Rust crate: a long
      // partition heals within rounds), and a node that left may come back
      // as a new incarnation whose seeds are down.
      else dead.push(addr);
    }
    return { peers, live, dead, seeds: seeds.filter((seed) => seed !== self) };
  }

  /** See `Chitchat.snapshot`. */
  snapshot(now: number): ClusterSnapshot {
    const nodes: NodeSnapshot[] = [];
    const inView = new Set(this.#parts.liveView.nodes);
    const selfState = this.self;
    const ordered = [selfState, ...[...this.#parts.state.states()].filter((s) => s !== selfState)];
    for (const state of ordered) {
      nodes.push({
        id: state.id,
        status: this.status(state.id) ?? "joining",
        inLiveView: inView.has(state),
        heartbeat: state.heartbeat,
        maxVersion: state.maxVersion,
        lastGcVersion: state.lastGcVersion,
        phi: this.phi(state.id, now),
        keyValues: Object.fromEntries(
          [...state.entries()].filter(([key]) => !key.startsWith(RESERVED_KEY_PREFIX)),
        ),
      });
    }
    return { clusterId: this.#parts.clusterId, self: this.#parts.id, nodes };
  }
}
