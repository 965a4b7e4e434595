/**
 * The protocol state machine of one node, free of I/O: the caller passes the
 * time and delivers messages; replies come back as return values. Rule kept
 * here: nothing about self is ever taken from gossip, and nodes scheduled for
 * deletion are neither gossiped nor updated.
 * @module
 */

import { type ChitchatId, chitchatIdCheck, chitchatIdFingerprint, chitchatIdKey } from "./chitchat_id.ts";
import { ClusterState } from "./cluster_state.ts";
import { MESSAGE_OVERHEAD } from "./codec.ts";
import {
  type ChitchatConfig,
  type ReadonlyNodeStateLike,
  resolveChitchatConfig,
  type ResolvedChitchatConfig,
} from "./config.ts";
import { FailureDetector } from "./failure_detector.ts";
import type { Logger } from "./logger.ts";
import type {
  AckMessage,
  CompactDigestEntry,
  Digest,
  DigestEntry,
  Message,
  NodeDelta,
  NodeDigest,
  SynAckMessage,
  SynMessage,
} from "./messages.ts";
import type { KeyChange, NodeState } from "./node_state.ts";
import { selectGossipTargets } from "./peer_selection.ts";
import { compactEntrySize, digestEntrySize, textSize } from "./wire_size.ts";

/** Keys under this prefix are the library's own; they raise no key-change event. */
export const RESERVED_KEY_PREFIX = "__chitchat.";

/** Bytes of a compact digest entry, to size the share of a Syn that asks about chosen nodes. */
const ASKED_ENTRY_BYTES = 12;

/** A live node whose phi is above this share of the threshold is asked about in our Syns. */
const AT_RISK_PHI_SHARE = 0.5;

/**
 * Share of SynAcks whose delta, when it does not fit beside the digest, takes
 * the whole datagram instead (so a value near the MTU is never starved).
 */
const WHOLE_DATAGRAM_DELTA_SHARE = 0.25;

/** Share of a SynAck that fresher heartbeats may take before its delta (they fill what the delta leaves too). */
const FRESHER_SHARE = 0.25;

/** Free room below this is not worth filling with more heartbeats. */
const DIGEST_TOP_UP_MIN_BYTES = 64;

/** A received digest resolved against our nodes. */
interface PeerDigest {
  /** What the peer says, by node key, for every entry we could resolve. */
  readonly listed: Map<string, NodeDigest>;
}

/** One entry of a SynAck's digest, in the form the Syn named the node. */
type AnswerEntry =
  | { readonly full: DigestEntry; readonly size: number }
  | { readonly compact: CompactDigestEntry; readonly size: number };

/** The key a node sets when it leaves the cluster gracefully. */
export const LEFT_KEY = "__chitchat.left";

/**
 * A node's membership status: `joining` (known, never yet seen live), `live`,
 * `dead` (was live, no longer), `scheduled` (for deletion) or `left`.
 */
export type MemberStatus = "joining" | "live" | "dead" | "scheduled" | "left";

/**
 * A membership change of a node, as the failure detector and graceful leaves
 * see it (the liveness predicate does not produce events; it filters the
 * live view).
 *
 * @example
 * ```ts
 * import type { MembershipEvent } from "@scope/chitchat";
 * const event: MembershipEvent = {
 *   type: "joined",
 *   node: { nodeId: "a", generationId: 1, gossipAdvertiseAddr: "127.0.0.1:1" },
 * };
 * console.assert(event.type === "joined");
 * ```
 */
export interface MembershipEvent {
  /**
   * `joined`: first seen live; `died`: live to dead; `revived`: dead to live
   * again; `left`: announced a graceful leave; `removed`: forgotten after the
   * dead-node grace period.
   */
  readonly type: "joined" | "left" | "died" | "revived" | "removed";
  /** The node. */
  readonly node: ChitchatId;
}

/** One node in a {@linkcode ClusterSnapshot}. */
export interface NodeSnapshot {
  /** The node. */
  readonly id: ChitchatId;
  /** Its membership status (self is always `live` unless it left). */
  readonly status: MemberStatus;
  /** True when the node is in the live view (status live and predicate holds). */
  readonly inLiveView: boolean;
  /** Last known heartbeat. */
  readonly heartbeat: number;
  /** Max version known. */
  readonly maxVersion: number;
  /** Last garbage-collected version known. */
  readonly lastGcVersion: number;
  /** Current phi, `undefined` for self or before any interval was sampled. */
  readonly phi: number | undefined;
  /** Visible keys and values, the library's reserved keys excepted. */
  readonly keyValues: Readonly<Record<string, string>>;
}

/** The whole cluster as this node sees it at one instant. */
export interface ClusterSnapshot {
  /** The cluster id. */
  readonly clusterId: string;
  /** This node. */
  readonly self: ChitchatId;
  /** Every known node, self first. */
  readonly nodes: readonly NodeSnapshot[];
}

/** Options of {@linkcode Chitchat}'s constructor. */
export interface ChitchatInit {
  /** The current time, monotonic milliseconds. */
  readonly now: number;
  /** A source of floats in [0, 1) for peer choice and tie breaks. */
  readonly random: () => number;
}

interface MemberRecord {
  status: MemberStatus;
  everLive: boolean;
}

/**
 * The scuttlebutt state machine of one node.
 *
 * Call order, each round: `startRound()` bumps the heartbeat, `gossipTargets()`
 * picks peers, `createSyn()` is sent to each. Every received message goes to
 * `handleMessage(message, now)`, whose return value (if any) is sent back to
 * the sender. `updateLiveness(now)` runs after each round (and may run more
 * often); it feeds the failure detector, collects garbage and publishes
 * membership changes to subscribers.
 *
 * @example Two state machines converge by exchanging messages in memory
 * ```ts
 * import { Chitchat } from "@scope/chitchat";
 * import assert from "node:assert/strict";
 * const a = new Chitchat(
 *   { id: { nodeId: "a", generationId: 1, gossipAdvertiseAddr: "127.0.0.1:1" }, clusterId: "c" },
 *   { now: 0, random: () => 0.5 },
 * );
 * const b = new Chitchat(
 *   { id: { nodeId: "b", generationId: 1, gossipAdvertiseAddr: "127.0.0.1:2" }, clusterId: "c" },
 *   { now: 0, random: () => 0.5 },
 * );
 * a.self.set("role", "indexer");
 * const synAck = b.handleMessage(a.createSyn(), 0)!;
 * const ack = a.handleMessage(synAck, 0)!;
 * b.handleMessage(ack, 0);
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
  #random: () => number;
  #logger: Logger;
  #members = new Map<string, MemberRecord>();
  #liveView: NodeState[] = [];
  /** The max version of each node of `#liveView` when it was made. */
  #liveVersions: number[] = [];
  #liveViewVersion = 0;
  #digestCursor = 0;
  /** Where the heartbeats filling a SynAck's free room go on from. */
  #answerCursor = 0;
  #selfOnly: ReadonlySet<string>;
  /** Nodes whose heartbeat rose since this round's Syns: our Acks pass them on. */
  #raised: NodeState[] = [];
  #raisedSet = new Set<NodeState>();
  /** Nodes a peer's digest showed ahead of us: node key -> the max version seen. */
  #behind = new Map<string, number>();
  #scheduled = new Set<string>();
  #refusedDeltas = 0;
  #refusedWarned = new Set<string>();
  /** Live nodes not heard of for a while, highest phi first (computed by `updateLiveness`). */
  #atRisk: string[] = [];
  #now: number;
  #keyListeners = new Set<{ prefix: string; fn: (change: KeyChange) => void }>();
  #memberListeners = new Set<(event: MembershipEvent) => void>();
  #viewListeners = new Set<(view: readonly NodeState[]) => void>();

  /** Creates the state machine; throws `TypeError` naming a bad config field. */
  constructor(config: ChitchatConfig, init: ChitchatInit) {
    this.config = resolveChitchatConfig(config);
    this.id = this.config.id;
    this.#selfKey = chitchatIdKey(this.id);
    this.#selfOnly = new Set([this.#selfKey]);
    this.#random = init.random;
    this.#now = init.now;
    this.#logger = this.config.logger;
    this.#fd = new FailureDetector(this.config.failureDetector);
    this.#state = new ClusterState({
      logger: this.#logger,
      limits: this.config.limits,
      removedNodeMemory: this.config.removedNodeMemory,
      onKeyChange: (change) => this.#dispatchKeyChange(change),
      onRefused: (node, reason) => this.#refused(node, reason),
    });
    const self = this.#state.getOrCreate(this.id)!;
    self.incrementHeartbeat();
    for (const [key, value] of this.config.initialKeyValues) self.set(key, value);
    this.#members.set(this.#selfKey, { status: "live", everLive: true });
    this.#refreshLiveView();
  }

  /**
   * Node deltas refused because this replica would exceed its capacity
   * (`limits.maxKeys`): that node's keys stop syncing here, so it is counted
   * and warned about (once per node) instead of passing in silence.
   */
  get refusedDeltas(): number {
    return this.#refusedDeltas;
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

  /** This node's own state: the only one to write to (`set`, `delete`, ...). */
  get self(): NodeState {
    return this.#state.getByKey(this.#selfKey)!;
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
    return this.#liveViewVersion;
  }

  /** The state of a node, if known. */
  nodeState(id: ChitchatId): ReadonlyNodeStateLike | undefined {
    return this.#state.get(id);
  }

  /** Every known node state, self included. */
  nodeStates(): ReadonlyNodeStateLike[] {
    return [...this.#state.states()];
  }

  /** Bumps this node's heartbeat: call once at the start of each gossip round. */
  startRound(): void {
    this.self.incrementHeartbeat();
    this.#raised = [];
    this.#raisedSet.clear();
  }

  /** Peers to gossip with this round, given the resolved seed addresses. */
  gossipTargets(seeds: readonly string[]): string[] {
    const self = this.id.gossipAdvertiseAddr;
    const peers: string[] = [];
    const live: string[] = [];
    const dead: string[] = [];
    for (const [key, state] of this.#state.entries()) {
      if (key === this.#selfKey) continue;
      const addr = state.id.gossipAdvertiseAddr;
      peers.push(addr);
      const status = this.#members.get(key)?.status;
      if (status === "live") live.push(addr);
      // A node that left may come back as a new incarnation whose seeds are
      // down: like a dead (or never yet live) one, it is contacted now and then.
      else if (status === "dead" || status === "joining" || status === "left") dead.push(addr);
    }
    const seedList = seeds.filter((seed) => seed !== self);
    return selectGossipTargets({ peers, live, dead, seeds: seedList }, this.#random);
  }

  /**
   * The `Syn` to send this round: this node by id, then the nodes we are
   * most behind on, then the others in fingerprint order from where the last
   * `Syn` stopped, by fingerprint. When it does not fit the MTU it says which
   * part of the ring it lists completely, and the next one goes on from
   * there, so every entry is sent regularly.
   */
  createSyn(): SynMessage {
    const budget = this.config.mtu - MESSAGE_OVERHEAD - textSize(this.config.clusterId);
    const excluded = this.#excluded(this.#now);
    const page = this.#state.pageDigest(excluded, {
      budget,
      cursor: this.#digestCursor,
      first: [this.#selfKey, ...this.#mostBehind(), ...this.#askAbout(budget)],
      full: this.#selfOnly,
    });
    this.#digestCursor = page.cursor;
    const syn: SynMessage = {
      type: "syn",
      clusterId: this.config.clusterId,
      digest: page.digest,
      partialDigest: !page.complete,
    };
    if (page.compact.length === 0 && page.range === undefined) return syn;
    return page.range === undefined
      ? { ...syn, compactDigest: page.compact }
      : { ...syn, compactDigest: page.compact, range: page.range };
  }

  /**
   * Nodes whose heartbeat we most need, up to a quarter of a Syn's worth:
   * live nodes not heard of for a while (highest phi first), then nodes known
   * but never seen live (picked at random). Listing a node asks the peer for
   * a fresher heartbeat: a live node is not declared dead just because no
   * page happened to carry it, and a new node turns live sooner. A node that
   * really died has no fresher heartbeat anywhere, so detection is not delayed.
   */
  #askAbout(budget: number): string[] {
    const cap = Math.floor(budget / 4 / ASKED_ENTRY_BYTES);
    const picked = this.#atRisk.slice(0, cap);
    let seen = 0;
    const start = picked.length;
    for (const [key, record] of this.#members) {
      if (record.everLive || record.status !== "joining") continue;
      // Reservoir sampling: every such node has the same chance.
      seen++;
      if (picked.length < cap) picked.push(key);
      else if (start < cap) {
        const j = start + Math.floor(this.#random() * seen);
        if (j < cap) picked[j] = key;
      }
    }
    return picked;
  }

  /** Keys of the nodes we lag behind on, the largest lag first; forgets caught-up ones. */
  #mostBehind(): string[] {
    const lags: Array<[string, number]> = [];
    for (const [key, theirs] of this.#behind) {
      const ours = this.#state.getByKey(key)?.maxVersion;
      if (ours === undefined || ours >= theirs) this.#behind.delete(key);
      else lags.push([key, theirs - ours]);
    }
    return lags.sort((a, b) => b[1] - a[1]).map(([key]) => key);
  }

  /** Handles a received message at `now`; returns the reply to send back, if any. */
  handleMessage(message: Message, now: number): Message | undefined {
    this.#now = Math.max(this.#now, now);
    // As in the Rust crate: every handled message bumps our heartbeat, so
    // peers get more observations and detect a death sooner.
    if (message.type !== "badCluster") this.self.incrementHeartbeat();
    switch (message.type) {
      case "syn":
        return this.#handleSyn(message, now);
      case "synAck":
        return this.#handleSynAck(message, now);
      case "ack":
        this.#receive(message, now, this.#excluded(now));
        return undefined;
      case "badCluster":
        this.#logger.warn(`A peer rejected our Syn: it is not in cluster "${this.config.clusterId}"`, {
          event: "bad_cluster",
          clusterId: this.config.clusterId,
        });
        return undefined;
    }
  }

  #handleSyn(syn: SynMessage, now: number): Message {
    if (syn.clusterId !== this.config.clusterId) {
      this.#logger.warn(
        `Ignoring a Syn for cluster "${syn.clusterId}"; this node is in "${this.config.clusterId}"`,
        { event: "bad_cluster", clusterId: this.config.clusterId, peerClusterId: syn.clusterId },
      );
      return { type: "badCluster" };
    }
    const excluded = this.#excluded(now);
    const peer = this.#observe(syn.digest, syn.compactDigest, now, excluded);
    const room = this.config.mtu - MESSAGE_OVERHEAD;
    // The answer's digest names only Syn entries the requester should hear
    // about: nodes we lack or lag on (so its Ack sends them), then
    // heartbeats fresher than its own. It takes up to its share of the
    // datagram, the delta the rest, then fresher heartbeats fill what is left.
    const { needed, fresher } = this.#answerEntries(syn, excluded);
    const digest: DigestEntry[] = [];
    const compact: CompactDigestEntry[] = [];
    let digestSize = 0;
    let next = 0;
    const entries = needed.concat(fresher);
    const take = (budget: number, end = entries.length): void => {
      for (; next < end; next++) {
        const entry = entries[next];
        if (digestSize + entry.size > budget) break;
        digestSize += entry.size;
        if ("full" in entry) digest.push(entry.full);
        else compact.push(entry.compact);
      }
    };
    // Up to half the datagram: nodes we lack or lag on first, then fresher
    // heartbeats within a smaller share while the delta needs room.
    const half = Math.floor(room / 2);
    take(half, needed.length);
    take(Math.min(half, digestSize + Math.floor(room * FRESHER_SHARE)));
    const deltaOptions = {
      random: this.#random,
      scope: syn.partialDigest === true ? (syn.range ?? "listed") : "all",
      priorityPrefixes: this.config.priorityKeyPrefixes,
      excluded,
      introduce: true,
      first: peer.listed.has(this.#selfKey) ? undefined : this.#selfKey,
    } as const;
    let computed = this.#state.computeDeltaFor(peer.listed, { ...deltaOptions, budget: room - digestSize });
    if (
      !computed.complete && digestSize > 0 &&
      (computed.delta.length === 0 || this.#random() < WHOLE_DATAGRAM_DELTA_SHARE)
    ) {
      // What did not fit beside the digest may be a value as large as the
      // datagram: then, and on some answers, the delta takes all the room.
      digest.length = 0;
      compact.length = 0;
      digestSize = 0;
      next = 0;
      computed = this.#state.computeDeltaFor(peer.listed, { ...deltaOptions, budget: room });
    }
    const { delta, size } = computed;
    digestSize += this.#introductions(delta, peer, compact, room - size - digestSize);
    take(room - size);
    if (syn.partialDigest === true && next === entries.length) {
      // The Syn left nodes out: room still free carries heartbeats of others,
      // round the ring, at most as many bytes as the Syn's own entries took.
      const synBytes = (syn.compactDigest?.length ?? 0) * 10 + syn.digest.length * 40;
      const budget = Math.min(room - size - digestSize, synBytes);
      if (budget >= DIGEST_TOP_UP_MIN_BYTES) {
        const extra = this.#state.pageDigest(excluded, { budget, cursor: this.#answerCursor, skip: peer.listed });
        this.#answerCursor = extra.cursor;
        for (const entry of extra.digest) digest.push(entry);
        for (const entry of extra.compact) compact.push(entry);
      }
    }
    const synAck: SynAckMessage = { type: "synAck", digest, partialDigest: true, delta };
    return compact.length === 0 ? synAck : { ...synAck, compactDigest: compact };
  }

  /**
   * Adds to `compact` (within `budget` bytes) the nodes of `delta` the peer
   * did not know, so it learns their heartbeats with them (the delta names
   * them: the receiver applies it before reading the digest). Returns the
   * bytes added.
   */
  #introductions(
    delta: readonly NodeDelta[],
    peer: PeerDigest,
    compact: CompactDigestEntry[],
    budget: number,
  ): number {
    let size = 0;
    for (const nodeDelta of delta) {
      if (nodeDelta.fromVersionExcluded !== 0) continue;
      const state = this.#state.get(nodeDelta.id);
      if (state === undefined || peer.listed.has(state.key)) continue;
      const entry = state.compactDigest();
      const entrySize = compactEntrySize(entry);
      if (size + entrySize > budget) break;
      size += entrySize;
      compact.push(entry);
    }
    return size;
  }

  /**
   * The entries of `syn`'s digest worth answering: `needed` when we lack the
   * node or lag on its versions (all fields 0 when we do not know it), and
   * `fresher` when our heartbeat of it is higher. Nodes named by id in the
   * Syn are answered by id.
   */
  #answerEntries(syn: SynMessage, excluded: ReadonlySet<string>): { needed: AnswerEntry[]; fresher: AnswerEntry[] } {
    const needed: AnswerEntry[] = [];
    const fresher: AnswerEntry[] = [];
    for (const entry of syn.digest) {
      const state = this.#state.get(entry.id);
      if (state === undefined || excluded.has(state.key)) continue;
      const ours = { id: entry.id, heartbeat: state.heartbeat, lastGcVersion: state.lastGcVersion, maxVersion: state.maxVersion };
      const list = state.maxVersion < entry.maxVersion ? needed : state.heartbeat > entry.heartbeat ? fresher : undefined;
      list?.push({ full: ours, size: digestEntrySize(entry.id, ours.heartbeat, ours.lastGcVersion, ours.maxVersion) });
    }
    for (const entry of syn.compactDigest ?? []) {
      const state = this.#state.resolveCompact(entry.fingerprint, entry.check);
      if (state === undefined) {
        const unknown = { fingerprint: entry.fingerprint, check: entry.check, heartbeat: 0, lastGcVersion: 0, maxVersion: 0 };
        needed.push({ compact: unknown, size: compactEntrySize(unknown) });
        continue;
      }
      if (excluded.has(state.key)) continue;
      const list = state.maxVersion < entry.maxVersion ? needed : state.heartbeat > entry.heartbeat ? fresher : undefined;
      if (list === undefined) continue;
      const ours = state.compactDigest();
      list.push({ compact: ours, size: compactEntrySize(ours) });
    }
    return { needed, fresher };
  }

  #handleSynAck(synAck: SynAckMessage, now: number): AckMessage {
    const excluded = this.#excluded(now);
    const peer = this.#receive(synAck, now, excluded);
    const room = this.config.mtu - MESSAGE_OVERHEAD;
    const { delta, size } = this.#state.computeDeltaFor(peer.listed, {
      budget: room,
      random: this.#random,
      scope: synAck.partialDigest === true ? "listed" : "all",
      priorityPrefixes: this.config.priorityKeyPrefixes,
      excluded,
      introduce: true,
    });
    const compact: CompactDigestEntry[] = [];
    let used = size + this.#introductions(delta, peer, compact, room - size);
    // Heartbeats that rose since our Syn (other peers' SynAcks told us), fresher than the peer's.
    let checks = 2 * Math.ceil(room / 8);
    for (const state of this.#raised) {
      if (--checks < 0) break;
      const theirs = peer.listed.get(state.key)?.heartbeat ?? 0;
      if (state.heartbeat <= theirs || excluded.has(state.key)) continue;
      const entry = state.compactDigest();
      const entrySize = compactEntrySize(entry);
      if (used + entrySize > room) break;
      used += entrySize;
      compact.push(entry);
    }
    return compact.length === 0 ? { type: "ack", delta } : { type: "ack", delta, compactDigest: compact };
  }

  /**
   * Takes in a SynAck or an Ack: first its delta (which names the nodes it
   * introduces), then its digest, so introduced nodes resolve by
   * fingerprint and nodes just caught up on do not look behind.
   */
  #receive(message: SynAckMessage | AckMessage, now: number, excluded: ReadonlySet<string>): PeerDigest {
    const digest = message.digest ?? [];
    const compact = message.compactDigest;
    let hints: Map<string, number> | undefined;
    // A node forgotten after its grace period comes back only with a higher heartbeat.
    const heartbeatOf = (id: ChitchatId): number | undefined => {
      if (hints === undefined) {
        hints = new Map();
        for (const entry of digest) hints.set(chitchatIdKey(entry.id), entry.heartbeat);
        for (const entry of compact ?? []) hints.set(`${entry.fingerprint}/${entry.check}`, entry.heartbeat);
      }
      return hints.get(chitchatIdKey(id)) ?? hints.get(`${chitchatIdFingerprint(id)}/${chitchatIdCheck(id)}`);
    };
    this.#applyDelta(message, now, heartbeatOf);
    return this.#observe(digest, compact, now, excluded);
  }

  #applyDelta(message: SynAckMessage | AckMessage, now: number, heartbeatOf: (id: ChitchatId) => number | undefined): void {
    const excluded = this.#excluded(now);
    excluded.add(this.#selfKey);
    const resets = this.#state.applyDelta(message.delta, { now, excluded, heartbeatOf });
    for (const node of resets) {
      this.#logger.info(`Node ${node.nodeId} was reset from version 0 (tombstones were collected)`, {
        event: "node_reset",
        peer: node.nodeId,
        generationId: node.generationId,
      });
      try {
        this.config.onCatchUp?.(node);
      } catch (error) {
        this.#logger.error("The catch-up callback threw", { event: "callback_failed", error });
      }
    }
  }

  /**
   * Resolves a received digest to our node keys and records its heartbeats;
   * nodes first seen there by id are created. Entries by fingerprint that we
   * cannot resolve (unknown to us, or shared by several known nodes) are
   * left out.
   */
  #observe(
    digest: Digest,
    compact: readonly CompactDigestEntry[] | undefined,
    now: number,
    excluded: ReadonlySet<string>,
  ): PeerDigest {
    const listed = new Map<string, NodeDigest>();
    for (const entry of digest) {
      const key = chitchatIdKey(entry.id);
      listed.set(key, entry);
      if (key === this.#selfKey) continue;
      if (excluded.has(key)) {
        this.#observeScheduled(key, entry, now);
        continue;
      }
      const state = this.#state.getOrCreate(entry.id, entry.heartbeat);
      if (state !== undefined) this.#observeEntry(key, state, entry, now);
    }
    if (compact !== undefined) {
      for (const entry of compact) {
        const state = this.#state.resolveCompact(entry.fingerprint, entry.check);
        if (state === undefined) continue;
        const key = state.key;
        listed.set(key, entry);
        if (key === this.#selfKey) continue;
        if (excluded.has(key)) this.#observeScheduled(key, entry, now);
        else this.#observeEntry(key, state, entry, now);
      }
    }
    return { listed };
  }

  /**
   * A node scheduled for deletion is out of digests and deltas, but a newer
   * heartbeat of it still counts (the Rust crate's `report_heartbeat`): a
   * node back from a long partition is live again within rounds, not when
   * its grace period ends.
   */
  #observeScheduled(key: string, entry: NodeDigest, now: number): void {
    const state = this.#state.getByKey(key);
    if (state === undefined || state.get(LEFT_KEY) !== undefined) return;
    if (state.observeHeartbeat(entry.heartbeat)) this.#fd.reportHeartbeat(key, now);
  }

  #observeEntry(key: string, state: NodeState, entry: NodeDigest, now: number): void {
    if (entry.maxVersion > state.maxVersion && entry.maxVersion > (this.#behind.get(key) ?? 0)) {
      this.#behind.set(key, entry.maxVersion);
    }
    const before = state.heartbeat;
    if (state.observeHeartbeat(entry.heartbeat) && this.#members.get(key)?.status !== "left") {
      this.#fd.reportHeartbeat(key, now);
    }
    if (state.heartbeat > before && !this.#raisedSet.has(state)) {
      this.#raisedSet.add(state);
      this.#raised.push(state);
    }
  }

  /**
   * Node keys scheduled for deletion. Computed by `updateLiveness` (once a
   * round) and reused by every message until the next one: the status only
   * changes after hours.
   */
  #excluded(_now: number): Set<string> {
    return new Set(this.#scheduled);
  }

  /**
   * Re-evaluates every node at `now`: failure detection, graceful leaves,
   * removal of nodes dead for the whole grace period, tombstone GC, and the
   * live view. Publishes membership events and live view changes.
   */
  updateLiveness(now: number): void {
    this.#now = Math.max(this.#now, now);
    const events: MembershipEvent[] = [];
    const atRisk: Array<[string, number]> = [];
    const riskPhi = this.config.failureDetector.phiThreshold * AT_RISK_PHI_SHARE;
    for (const [key, state] of this.#state.entries()) {
      if (key === this.#selfKey) continue;
      let record = this.#members.get(key);
      if (record === undefined) {
        record = { status: "joining", everLive: false };
        this.#members.set(key, record);
      }
      let status: MemberStatus;
      if (state.get(LEFT_KEY) !== undefined) {
        this.#fd.markDead(key, now);
        status = this.#fd.isScheduledForDeletion(key, now) ? "scheduled" : "left";
        if (record.status !== "left" && record.status !== "scheduled") {
          events.push({ type: "left", node: state.id });
        }
      } else if (this.#fd.updateLiveness(key, now)) {
        status = "live";
        const phi = this.#fd.phi(key, now)!;
        if (phi >= riskPhi) atRisk.push([key, phi]);
        if (record.status !== "live") {
          events.push({ type: record.everLive ? "revived" : "joined", node: state.id });
        }
        record.everLive = true;
      } else {
        status = this.#fd.isScheduledForDeletion(key, now) ? "scheduled" : record.everLive ? "dead" : "joining";
        if (record.status === "live") events.push({ type: "died", node: state.id });
      }
      record.status = status;
    }
    this.#atRisk = atRisk.sort((x, y) => y[1] - x[1]).map(([key]) => key);
    this.#scheduled.clear();
    for (const [key, record] of this.#members) if (record.status === "scheduled") this.#scheduled.add(key);
    for (const key of this.#fd.collectGarbage(now)) {
      if (key === this.#selfKey) continue;
      const removed = this.#state.remove(key);
      this.#members.delete(key);
      this.#scheduled.delete(key);
      if (removed !== undefined) events.push({ type: "removed", node: removed.id });
    }
    this.#state.collectGarbage(now, this.config.tombstoneGracePeriodMs);
    const selfRecord = this.#members.get(this.#selfKey)!;
    if (this.self.get(LEFT_KEY) !== undefined) selfRecord.status = "left";
    this.#refreshLiveView();
    for (const event of events) this.#dispatchMembership(event);
  }

  #refreshLiveView(): void {
    const view: NodeState[] = [];
    const versions: number[] = [];
    const predicate = this.config.livenessPredicate;
    const previous = this.#liveView;
    const previousVersions = this.#liveVersions;
    let changed = false;
    for (const [key, state] of this.#state.entries()) {
      if (this.#members.get(key)?.status !== "live") continue;
      // As in the Rust crate, the predicate holds for this node too.
      if (predicate !== undefined && !this.#safePredicate(predicate, state)) continue;
      // The nodes come in the same order each time: compare position by position.
      const i = view.length;
      if (!changed && (previous[i] !== state || previousVersions[i] !== state.maxVersion)) changed = true;
      view.push(state);
      versions.push(state.maxVersion);
    }
    if (!changed && view.length === previous.length) return;
    this.#liveVersions = versions;
    this.#liveView = view;
    this.#liveViewVersion++;
    for (const listener of this.#viewListeners) {
      try {
        listener(view);
      } catch (error) {
        this.#logger.error("A live view listener threw", error);
      }
    }
  }

  #safePredicate(predicate: (state: ReadonlyNodeStateLike) => boolean, state: NodeState): boolean {
    try {
      return predicate(state) === true;
    } catch (error) {
      this.#logger.error(`The liveness predicate threw for node ${state.id.nodeId}`, error);
      return false;
    }
  }

  /** The live view: the live nodes (self included) that pass the liveness predicate. */
  liveNodes(): readonly ReadonlyNodeStateLike[] {
    return this.#liveView;
  }

  /** Ids of nodes whose status is `dead` (not yet scheduled for deletion). */
  deadNodes(): ChitchatId[] {
    return this.#idsWithStatus("dead");
  }

  /** Ids of nodes scheduled for deletion. */
  scheduledForDeletionNodes(): ChitchatId[] {
    return this.#idsWithStatus("scheduled");
  }

  /** Ids of nodes that left gracefully and are not yet scheduled for deletion. */
  leftNodes(): ChitchatId[] {
    return this.#idsWithStatus("left");
  }

  #idsWithStatus(status: MemberStatus): ChitchatId[] {
    const ids: ChitchatId[] = [];
    for (const [key, state] of this.#state.entries()) {
      if (this.#members.get(key)?.status === status) ids.push(state.id);
    }
    return ids;
  }

  /** The membership status of a node as of the last `updateLiveness` (`joining` if learned since). */
  status(id: ChitchatId): MemberStatus | undefined {
    const record = this.#members.get(chitchatIdKey(id));
    if (record !== undefined) return record.status;
    return this.nodeState(id) === undefined ? undefined : "joining";
  }

  /** Phi of a node at `now`, `undefined` for self, unknown nodes, or too few samples. */
  phi(id: ChitchatId, now: number): number | undefined {
    const key = chitchatIdKey(id);
    return key === this.#selfKey ? undefined : this.#fd.phi(key, now);
  }

  /** Announces a graceful leave: peers learning it drop this node from their live view. */
  leave(): void {
    this.self.set(LEFT_KEY, "1");
  }

  /** A copy of every node's state and status, self first. */
  snapshot(now: number): ClusterSnapshot {
    const nodes: NodeSnapshot[] = [];
    const inView = new Set(this.#liveView);
    const selfState = this.self;
    const ordered = [selfState, ...[...this.#state.states()].filter((s) => s !== selfState)];
    for (const state of ordered) {
      const key = chitchatIdKey(state.id);
      nodes.push({
        id: state.id,
        status: this.#members.get(key)?.status ?? "joining",
        inLiveView: inView.has(state),
        heartbeat: state.heartbeat,
        maxVersion: state.maxVersion,
        lastGcVersion: state.lastGcVersion,
        phi: key === this.#selfKey ? undefined : this.#fd.phi(key, now),
        keyValues: Object.fromEntries(
          [...state.entries()].filter(([key]) => !key.startsWith(RESERVED_KEY_PREFIX)),
        ),
      });
    }
    return { clusterId: this.config.clusterId, self: this.id, nodes };
  }

  /**
   * Calls `fn` for every visible key change (sets, deletions, reaped TTL keys)
   * of any node whose key starts with `prefix`, reserved keys excepted.
   * Returns a function that unsubscribes.
   */
  subscribeKeyChanges(prefix: string, fn: (change: KeyChange) => void): () => void {
    const listener = { prefix, fn };
    this.#keyListeners.add(listener);
    return () => this.#keyListeners.delete(listener);
  }

  /** Calls `fn` for every membership event. Returns a function that unsubscribes. */
  subscribeMembership(fn: (event: MembershipEvent) => void): () => void {
    this.#memberListeners.add(fn);
    return () => this.#memberListeners.delete(fn);
  }

  /** Calls `fn` with the new live view each time it changes. Returns a function that unsubscribes. */
  subscribeLiveView(fn: (view: readonly ReadonlyNodeStateLike[]) => void): () => void {
    this.#viewListeners.add(fn);
    return () => this.#viewListeners.delete(fn);
  }

  #dispatchKeyChange(change: KeyChange): void {
    if (change.key.startsWith(RESERVED_KEY_PREFIX)) return;
    for (const listener of this.#keyListeners) {
      if (!change.key.startsWith(listener.prefix)) continue;
      try {
        listener.fn(change);
      } catch (error) {
        this.#logger.error(`A key-change listener for prefix "${listener.prefix}" threw`, error);
      }
    }
  }

  #dispatchMembership(event: MembershipEvent): void {
    for (const listener of this.#memberListeners) {
      try {
        listener(event);
      } catch (error) {
        this.#logger.error("A membership listener threw", error);
      }
    }
  }
}
