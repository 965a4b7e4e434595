/**
 * The protocol state machine of one node, free of I/O (the quinn shape):
 * inputs are `handle…(now, …)`, outputs are `poll…()`. It owns the whole
 * round: heartbeat, peer choice, Syns, liveness, garbage collection and the
 * graceful leave. Rule kept here: events come out in the order they happen,
 * through `pollEvent()`, never through callbacks.
 * @module
 */

import { type ChitchatId, chitchatIdKey } from "./chitchat_id.ts";
import { ChitchatReads } from "./chitchat_reads.ts";
import { ClusterState } from "./cluster_state.ts";
import {
  type ChitchatConfig,
  invalidConfig,
  type ReadonlyNodeStateLike,
  RESERVED_KEY_PREFIX,
  resolveChitchatConfig,
  type ResolvedChitchatConfig,
} from "./config.ts";
import { FailureDetector } from "./failure_detector.ts";
import { LiveView } from "./live_view.ts";
import { BurstBudget, type BurstLimits } from "./burst_budget.ts";
import { Handshake } from "./handshake.ts";
import { LEFT_KEY, Leave, leaveNotice, MAX_LEAVE_NOTICES } from "./leave.ts";
import type { Logger } from "./logger.ts";
import { MemberAdmission } from "./member_admission.ts";
import type { ClusterSnapshot, CoreEvent, Transmit } from "./events.ts";
import { LocalPauses } from "./local_pause.ts";
import { type MemberStatus, Membership } from "./membership.ts";
import type { Message } from "./messages.ts";
import type { NodeState } from "./node_state.ts";
import type { NodeStateSnapshot } from "./node_snapshot.ts";
import { RoundTargets } from "./round_targets.ts";
import { FULL_DIGEST_MIN_MTU, FULL_PROFILE, type ProtocolProfile } from "./protocol_profile.ts";
import type { WireSizes } from "./wire_format.ts";
import { cborWireSizes } from "./wire_size.ts";

export { LEFT_KEY, MAX_LEAVE_NOTICES } from "./leave.ts";
export type { MembershipEvent, MemberStatus } from "./membership.ts";
export type {
  CatchUpEvent,
  ClusterSnapshot,
  CoreEvent,
  KeyChangedEvent,
  LeaveCompleteEvent,
  LiveViewEvent,
  NodeSnapshot,
  Transmit,
} from "./events.ts";

export { RESERVED_KEY_PREFIX } from "./config.ts";

/** A live node whose phi is above this share of the threshold is asked about in our Syns. */
const AT_RISK_PHI_SHARE = 0.5;


/** Options of {@linkcode Chitchat}'s constructor. */
export interface ChitchatInit {
  /** The current time, monotonic milliseconds; the first round is due then. */
  readonly now: number;
  /** A source of floats in [0, 1) for peer choice and tie breaks. */
  readonly random: () => number;
  /** The sizes of the wire format the node speaks, to budget messages with. Default: CBOR's. */
  readonly sizes?: WireSizes;
  /**
   * The handshake extensions the wire format carries (`WireFormat.profile`).
   * Default: all of them ({@linkcode FULL_PROFILE}). Without paged digests
   * the MTU must be at least {@linkcode FULL_DIGEST_MIN_MTU}.
   */
  readonly profile?: ProtocolProfile;
  /**
   * What catch-up bursts may send (see burst_budget.ts). Default
   * `BURST_LIMITS`; `piecesPerAnswer: 0` turns bursts off.
   */
  readonly burstLimits?: BurstLimits;
}

/**
 * The scuttlebutt state machine of one node.
 *
 * Call order: feed every input as it happens, `handleMessage(now, from,
 * message)` for each received message and `handleTimeout(now)` whenever
 * `now` reaches `pollTimeout()` (own writes such as `set` may come at any
 * time); after each input, send what `pollTransmit()` gives until it gives
 * `undefined`, take what `pollEvent()` gives likewise, and wait until the
 * next `pollTimeout()`. A round (heartbeat, Syns to a few peers, liveness,
 * garbage collection) runs inside `handleTimeout`; `leave(now, timeoutMs)`
 * ends the rounds and announces a graceful leave.
 *
 * @example Two state machines converge by exchanging messages in memory
 * ```ts
 * import { Chitchat } from "@scope/chitchat/core";
 * import assert from "node:assert/strict";
 * const a = new Chitchat(
 *   { id: { nodeId: "a", generationId: 1, gossipAdvertiseAddr: "127.0.0.1:1" }, clusterId: "c" },
 *   { now: 0, random: () => 0.5 },
 * );
 * const b = new Chitchat(
 *   { id: { nodeId: "b", generationId: 1, gossipAdvertiseAddr: "127.0.0.1:2" }, clusterId: "c" },
 *   { now: 0, random: () => 0.5 },
 * );
 * const nodes = new Map([["127.0.0.1:1", a], ["127.0.0.1:2", b]]);
 * a.setSeeds(["127.0.0.1:2"]);
 * a.set("role", "indexer");
 * a.handleTimeout(0); // a's first round: a Syn to its seed
 * for (let moved = true; moved;) {
 *   moved = false;
 *   for (const [addr, node] of nodes) {
 *     for (let t = node.pollTransmit(); t !== undefined; t = node.pollTransmit()) {
 *       nodes.get(t.to)!.handleMessage(0, addr, t.message);
 *       moved = true;
 *     }
 *   }
 * }
 * assert.equal(b.nodeState(a.id)?.get("role"), "indexer");
 * ```
 */
export class Chitchat {
  /** This node's identity. */
  readonly id: ChitchatId;
  /** The validated settings. */
  readonly config: ResolvedChitchatConfig;
  #selfKey: string;
  #state: ClusterState;
  #fd: FailureDetector;
  #membership: Membership;
  #handshake: Handshake;
  #random: () => number;
  #logger: Logger;
  #targets: RoundTargets;
  #liveView: LiveView;
  #nextRound: number;
  #leave: Leave | undefined;
  #done = false;
  #transmits: Transmit[] = [];
  #transmitHead = 0;
  #events: CoreEvent[] = [];
  #eventHead = 0;
  #refusedDeltas = 0;
  #pauses: LocalPauses;
  #refusedWarned = new Set<string>();
  #admission: MemberAdmission;
  #rounds = 0;
  #reads: ChitchatReads;

  /** Creates the state machine; throws `TypeError` naming a bad config field. */
  constructor(config: ChitchatConfig, init: ChitchatInit) {
    this.config = resolveChitchatConfig(config);
    const profile = init.profile ?? FULL_PROFILE;
    if (!profile.pagedDigests && this.config.mtu < FULL_DIGEST_MIN_MTU) {
      invalidConfig(
        "mtu",
        `at least ${FULL_DIGEST_MIN_MTU} is needed without paged digests (the chitchat-v0 wire format): ` +
          "the whole digest must fit one datagram",
        this.config.mtu,
      );
    }
    this.id = this.config.id;
    this.#selfKey = chitchatIdKey(this.id);
    this.#random = init.random;
    this.#pauses = new LocalPauses(this.config.gossipIntervalMs);
    this.#nextRound = init.now;
    this.#targets = new RoundTargets(profile, this.config.mtu, this.config.clusterId);
    this.#logger = this.config.logger;
    this.#fd = new FailureDetector(this.config.failureDetector, { minMeanMs: this.config.gossipIntervalMs });
    // A node learned from gossip is handed on while its heartbeat may still
    // rise: a running one's does within a round or two.
    this.#membership = new Membership(this.#fd, { withholdAfterMs: WITHHOLD_AFTER_ROUNDS * this.config.gossipIntervalMs });
    this.#liveView = new LiveView(this.config.livenessPredicate, this.#logger);
    this.#admission = new MemberAdmission({
      limits: this.config.limits,
      logger: this.#logger,
      gossipIntervalMs: this.config.gossipIntervalMs,
      size: () => this.#state.size,
      neverLive: (key) => this.#state.getByKey(key) !== undefined && !this.#membership.everLive(key),
      evict: (key) => {
        this.#state.remove(key, false);
        this.#membership.remove(key);
      },
    });
    this.#state = new ClusterState({
      logger: this.#logger,
      limits: this.config.limits,
      removedNodeMemory: this.config.removedNodeMemory,
      sizes: init.sizes ?? cborWireSizes,
      onKeyChange: (change) => {
        if (!change.key.startsWith(RESERVED_KEY_PREFIX)) this.#events.push({ type: "keyChanged", ...change });
      },
      onRefused: (node, reason) => this.#refused(node, reason),
      admit: (key) => this.#admission.admit(key),
      withheld: this.#membership.withheld,
      // Rust peers create nodes from digest entries: a withheld node listed there would be handed on.
      withheldFromDigests: !profile.nodesFromDeltas,
    });
    this.#reads = new ChitchatReads({
      id: this.id,
      clusterId: this.config.clusterId,
      state: this.#state,
      membership: this.#membership,
      fd: this.#fd,
      liveView: this.#liveView,
    });
    this.#handshake = new Handshake({
      config: this.config,
      state: this.#state,
      membership: this.#membership,
      fd: this.#fd,
      random: this.#random,
      sizes: init.sizes ?? cborWireSizes,
      profile,
      burst: new BurstBudget(init.burstLimits),
      onReset: (node) => {
        this.#logger.info(`Node ${node.nodeId} was reset from version 0 (tombstones were collected)`, {
          event: "node_reset",
          peer: node.nodeId,
          generationId: node.generationId,
        });
        this.#events.push({ type: "catchUp", node });
      },
    });
    const self = this.#state.getOrCreate(this.id)!;
    self.incrementHeartbeat();
    for (const [key, value] of this.config.initialKeyValues) self.set(key, value);
    this.#membership.setSelf(this.#selfKey, false);
    this.#refreshLiveView();
  }

  // --- reads ----------------------------------------------------------------

  /** This node's own state (writes should go through `set`, `delete`, ... which guard reserved keys). */
  get self(): NodeState {
    return this.#reads.self;
  }

  /** The cluster id. */
  get clusterId(): string {
    return this.config.clusterId;
  }

  /** Number of known nodes, self included. */
  get nodeCount(): number {
    return this.#state.size;
  }

  /** Grows by one each time the live view changes. */
  get liveViewVersion(): number {
    return this.#liveView.version;
  }

  /** The state of a node, if known. */
  nodeState(id: ChitchatId): ReadonlyNodeStateLike | undefined {
    return this.#reads.nodeState(id);
  }

  /** Every known node state, self included. */
  nodeStates(): ReadonlyNodeStateLike[] {
    return this.#reads.nodeStates();
  }

  /** The live view: the live nodes (self included) that pass the liveness predicate. */
  liveNodes(): readonly ReadonlyNodeStateLike[] {
    return this.#liveView.nodes;
  }

  /** Ids of nodes whose status is `dead` (seen live once, not yet scheduled for deletion). */
  deadNodes(): ChitchatId[] {
    return this.#reads.idsWithStatus("dead");
  }

  /** Ids of nodes scheduled for deletion. */
  scheduledForDeletionNodes(): ChitchatId[] {
    return this.#reads.idsWithStatus("scheduled");
  }

  /** Ids of nodes that left gracefully and are not yet scheduled for deletion. */
  leftNodes(): ChitchatId[] {
    return this.#reads.idsWithStatus("left");
  }

  /** The membership status of a node as of the last round (`joining` if learned since). */
  status(id: ChitchatId): MemberStatus | undefined {
    return this.#reads.status(id);
  }

  /** Phi of a node at `now`, `undefined` for self, unknown nodes, or too few samples. */
  phi(id: ChitchatId, now: number): number | undefined {
    return this.#reads.phi(id, now);
  }

  /**
   * Node deltas refused because this replica would exceed its capacity
   * (`limits.maxKeys`): that node's keys stop syncing here, so it is counted
   * and warned about (once per node) instead of passing in silence.
   */
  get refusedDeltas(): number {
    return this.#refusedDeltas;
  }

  /**
   * Times this node found it had itself been paused (no input for more than
   * two gossip intervals) and discounted the pause from the others' silence
   * instead of declaring them dead.
   */
  get localPauses(): number {
    return this.#pauses.count;
  }

  /**
   * New nodes refused because `limits.maxNodes` are known or their sender
   * named more than `limits.newNodesPerSender` this round (a node named
   * again counts again); warned about once per sender.
   */
  get refusedMembers(): number {
    return this.#admission.refused;
  }

  /** Gossip rounds run so far. */
  get rounds(): number {
    return this.#rounds;
  }

  /**
   * The state of `id` as this node holds it, whole (versions, tombstones,
   * last GC version), to hand to another node's
   * {@linkcode Chitchat.resetNodeStateIfUpdate}; `undefined` when unknown.
   */
  nodeStateSnapshot(id: ChitchatId): NodeStateSnapshot | undefined {
    return this.#reads.nodeStateSnapshot(id);
  }

  /**
   * Replaces the state of `snapshot.id` with the snapshot when it is newer
   * than ours (the Rust crate's `reset_node_state_if_update`, which Quickwit
   * uses to catch up over gRPC). An unknown node is created, unless it was
   * removed recently (gossip brings it back if it lives). Never applies to
   * this node itself. Returns true when the state was replaced; key changes
   * follow as events.
   */
  resetNodeStateIfUpdate(now: number, snapshot: NodeStateSnapshot): boolean {
    this.#advanceClock(now);
    if (chitchatIdKey(snapshot.id) === this.#selfKey) return false;
    const known = this.#state.get(snapshot.id);
    const state = known ?? (this.#state.removedHeartbeat(chitchatIdKey(snapshot.id)) !== undefined
      ? undefined
      : this.#state.getOrCreate(snapshot.id));
    if (state === undefined) return false;
    return state.resetTo(snapshot, now);
  }

  /** A copy of every node's state and status at `now`, self first. */
  snapshot(now: number): ClusterSnapshot {
    return this.#reads.snapshot(now);
  }

  // --- own keys -------------------------------------------------------------

  /** Sets a key of this node; false when it already had that value. Reserved keys are refused. */
  set(key: string, value: string): boolean {
    this.#checkUserKey(key);
    return this.self.set(key, value);
  }

  /** Sets a key reaped after the tombstone grace period from `now`. */
  setWithTtl(key: string, value: string, now: number): boolean {
    this.#checkUserKey(key);
    return this.self.setWithTtl(key, value, now);
  }

  /** Deletes a key of this node at `now`; false (and a warning) when it does not exist. */
  delete(key: string, now: number): boolean {
    this.#checkUserKey(key);
    return this.self.delete(key, now);
  }

  /** Marks a key of this node to be reaped after the grace period from `now`. */
  deleteAfterTtl(key: string, now: number): boolean {
    this.#checkUserKey(key);
    return this.self.deleteAfterTtl(key, now);
  }

  #checkUserKey(key: string): void {
    if (typeof key === "string" && key.startsWith(RESERVED_KEY_PREFIX)) {
      throw new TypeError(`Key "${key}" uses the reserved prefix "${RESERVED_KEY_PREFIX}"`);
    }
  }

  // --- inputs ---------------------------------------------------------------

  /** Replaces the seed addresses (resolved `host:port`) the rounds may contact. */
  setSeeds(addresses: readonly string[]): void {
    this.#targets.setSeeds(addresses);
  }

  /** Time has reached `now`: runs the round when it is due, ends a leave whose time ran out. */
  handleTimeout(now: number): void {
    this.#advanceClock(now);
    if (this.#done) return;
    if (this.#leave !== undefined) {
      if (now >= this.#leave.deadline) this.#endLeave();
      return;
    }
    if (now < this.#nextRound) return;
    this.#round(now);
    this.#nextRound = now + this.config.gossipIntervalMs;
  }

  /** A message arrived from `from` at `now`; any answer is queued for `pollTransmit`. */
  handleMessage(now: number, from: string, message: Message): void {
    // New nodes this message names are admitted within its sender's budget.
    this.#admission.begin(from, now);
    try {
      this.#handleMessage(now, from, message);
    } finally {
      this.#admission.end();
    }
  }

  #handleMessage(now: number, from: string, message: Message): void {
    this.#advanceClock(now);
    // As in the Rust crate: every handled message bumps our heartbeat, so
    // peers get more observations and detect a death sooner.
    if (message.type !== "badCluster") this.self.incrementHeartbeat();
    this.#targets.received(from, message);
    const excluded = this.#membership.scheduled;
    switch (message.type) {
      case "syn":
        if (message.clusterId !== this.config.clusterId) {
          this.#logger.warn(`Ignoring a Syn for cluster "${message.clusterId}"; this node is in "${this.config.clusterId}"`, {
            event: "bad_cluster",
            clusterId: this.config.clusterId,
            peerClusterId: message.clusterId,
            from,
          });
          this.#transmits.push({ to: from, message: { type: "badCluster" } });
          return;
        }
        for (const answer of this.#handshake.answerSyn(message, now, excluded, from)) {
          this.#transmits.push({ to: from, message: answer });
        }
        return;
      case "synAck":
        this.#transmits.push({ to: from, message: this.#handshake.answerSynAck(message, now, excluded) });
        if (this.#leave?.answered(from) === true && !this.#done) this.#endLeave();
        return;
      case "ack":
        this.#handshake.takeAck(message, now, excluded);
        return;
      case "badCluster":
        this.#logger.warn(`A peer rejected our Syn: it is not in cluster "${this.config.clusterId}"`, {
          event: "bad_cluster",
          clusterId: this.config.clusterId,
          from,
        });
        return;
    }
  }

  /** Starts a handshake with `addr` now, outside the round schedule. */
  gossip(now: number, addr: string): void {
    this.#advanceClock(now);
    if (this.#done) return;
    this.#transmits.push({ to: addr, message: this.#handshake.createSyn(this.#membership.scheduled) });
  }

  /**
   * Announces a graceful leave at `now` and ends the rounds: sets the leave
   * key, and tells the live peers (at most {@linkcode MAX_LEAVE_NOTICES})
   * with an unsolicited `Ack` holding just that key and a `Syn` (whose
   * `SynAck` gets the whole delta in our `Ack`, for peers that were behind).
   * A `leaveComplete` event follows once each has answered, or after
   * `timeoutMs`.
   */
  leave(now: number, timeoutMs: number): void {
    this.#advanceClock(now);
    if (this.#leave !== undefined || this.#done) return;
    this.self.set(LEFT_KEY, "1");
    this.#membership.setSelf(this.#selfKey, true);
    const self = this.id.gossipAdvertiseAddr;
    const peers = this.#liveView.nodes.map((state) => state.id.gossipAdvertiseAddr)
      .filter((addr) => addr !== self)
      .slice(0, MAX_LEAVE_NOTICES);
    this.#leave = new Leave(peers, now + timeoutMs);
    if (peers.length === 0) {
      this.#endLeave();
      return;
    }
    const syn = this.#handshake.createSyn(this.#membership.scheduled);
    const notice = leaveNotice(this.self);
    for (const peer of peers) {
      this.#transmits.push({ to: peer, message: notice }, { to: peer, message: syn });
    }
  }

  #endLeave(): void {
    const leave = this.#leave!;
    this.#done = true;
    this.#events.push({ type: "leaveComplete", notified: leave.notified, acknowledged: leave.acknowledged });
  }

  // --- outputs --------------------------------------------------------------

  /** The next message to send, or `undefined` when there is none. */
  pollTransmit(): Transmit | undefined {
    if (this.#transmitHead >= this.#transmits.length) return undefined;
    const transmit = this.#transmits[this.#transmitHead++];
    if (this.#transmitHead === this.#transmits.length) {
      this.#transmits = [];
      this.#transmitHead = 0;
    }
    return transmit;
  }

  /** The next event, in the order they happened, or `undefined` when there is none. */
  pollEvent(): CoreEvent | undefined {
    if (this.#eventHead >= this.#events.length) return undefined;
    const event = this.#events[this.#eventHead++];
    if (this.#eventHead === this.#events.length) {
      this.#events = [];
      this.#eventHead = 0;
    }
    return event;
  }

  /** When `handleTimeout` is next due; `undefined` once a leave is complete. */
  pollTimeout(): number | undefined {
    if (this.#done) return undefined;
    return this.#leave !== undefined ? this.#leave.deadline : this.#nextRound;
  }

  // --- the round ------------------------------------------------------------

  #round(now: number): void {
    this.#rounds++;
    this.self.incrementHeartbeat();
    this.#handshake.newRound();
    this.#admission.newRound();
    const excluded = this.#membership.scheduled;
    let syn: Message | undefined;
    const targets = this.#targets.choose(this.#reads.peerSets(this.#targets.seeds), this.#rounds, this.#random);
    for (const target of targets) {
      // A partial digest goes on round the ring from one target to the next.
      if (syn === undefined || (syn.type === "syn" && syn.partialDigest === true)) {
        syn = this.#handshake.createSyn(excluded);
      }
      this.#transmits.push({ to: target, message: syn });
    }
    this.#updateLiveness(now);
  }

  /** Every input passes `now` here; a pause of this node itself is not the others' silence (local_pause.ts). */
  #advanceClock(now: number): void {
    const discountMs = this.#pauses.observe(now, this.#leave === undefined && !this.#done);
    if (discountMs === 0) return;
    this.#fd.discountPause(discountMs);
    const others = this.#pauses.takeWarning(now);
    if (others === undefined) return;
    const interval = this.config.gossipIntervalMs;
    const pauseMs = discountMs + interval;
    this.#logger.warn(
      `This node was paused for ${Math.round(pauseMs)} ms (no round, no message; gossip interval ${interval} ms); ` +
        `the pause does not count as silence of the other nodes` +
        (others > 0 ? ` (${others} shorter or earlier pause(s) since the last warning)` : ""),
      { event: "local_pause", pauseMs, discountedMs: discountMs, gossipIntervalMs: interval, pausesSinceWarning: others },
    );
  }

  /**
   * Re-evaluates every node at `now`: failure detection, graceful leaves,
   * removal of nodes dead for the whole grace period, tombstone GC, and the
   * live view.
   */
  #updateLiveness(now: number): void {
    const atRisk: Array<[string, number]> = [];
    const riskPhi = this.config.failureDetector.phiThreshold * AT_RISK_PHI_SHARE;
    const newest = newestGenerations(this.#state.states());
    for (const [key, state] of this.#state.entries()) {
      if (key === this.#selfKey) continue;
      const superseded = newest.get(state.id.nodeId)! > state.id.generationId;
      let event: CoreEvent | undefined = this.#membership.evaluate(key, state.id, now, {
        left: state.get(LEFT_KEY) !== undefined,
        superseded,
        heartbeat: state.heartbeat,
      });
      // Read only on a death: clearing the samples keeps the last heartbeat's time.
      const silentMs = event?.type === "died" && !superseded ? this.#fd.silence(key, now) : undefined;
      if (silentMs !== undefined) event = { ...event!, silentMs };
      if (this.#membership.status(key) === "live") {
        const phi = this.#fd.phi(key, now)!;
        if (phi >= riskPhi) atRisk.push([key, phi]);
      }
      if (event !== undefined) this.#events.push(event);
    }
    this.#handshake.atRisk = atRisk.sort((x, y) => y[1] - x[1]).map(([key]) => key);
    for (const key of this.#membership.removable(now)) {
      if (key === this.#selfKey) continue;
      const removed = this.#state.remove(key);
      this.#membership.remove(key);
      this.#admission.forget(key);
      if (removed !== undefined) this.#events.push({ type: "removed", node: removed.id });
    }
    this.#state.collectGarbage(now, this.config.tombstoneGracePeriodMs);
    this.#membership.setSelf(this.#selfKey, this.self.get(LEFT_KEY) !== undefined);
    this.#refreshLiveView();
  }

  #refreshLiveView(): void {
    const view = this.#liveView.refresh(this.#state.entries(), this.#membership);
    if (view !== undefined) this.#events.push({ type: "liveView", view });
  }

  #refused(node: ChitchatId, reason: string): void {
    this.#refusedDeltas++;
    const key = chitchatIdKey(node);
    if (this.#refusedWarned.has(key)) return;
    if (this.#refusedWarned.size < 1024) this.#refusedWarned.add(key);
    this.#logger.warn(
      `Node ${node.nodeId} publishes more than this node's limits.maxKeys allow (${reason}); ` +
        `its keys are not replicated here until it has fewer`,
      { event: "refused_delta", peer: node.nodeId, generationId: node.generationId, reason },
    );
  }
}

/** Rounds a node learned from gossip is handed on before its heartbeat must have risen. */
const WITHHOLD_AFTER_ROUNDS = 3;

/** The highest generation known of each node id. */
function newestGenerations(states: Iterable<NodeState>): Map<string, number> {
  const newest = new Map<string, number>();
  for (const { id } of states) {
    const known = newest.get(id.nodeId);
    if (known === undefined || id.generationId > known) newest.set(id.nodeId, id.generationId);
  }
  return newest;
}
