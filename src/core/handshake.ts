/**
 * The three messages of a scuttlebutt handshake, built and taken in: the
 * `Syn` (a page of our digest), the `SynAck` answering it (the entries worth
 * answering, and the delta the requester lacks) and the `Ack` (the delta the
 * responder lacks, and heartbeats that rose since). Rules kept here: nothing
 * about this node is ever taken from gossip; nodes scheduled for deletion are
 * neither gossiped nor updated, but a newer heartbeat of one still counts.
 * The algorithm is explained in docs/ALGORITHM.md.
 * @module
 */

import { type ChitchatId, chitchatIdCheck, chitchatIdFingerprint, chitchatIdKey } from "./chitchat_id.ts";
import { BurstBudget } from "./burst_budget.ts";
import type { ClusterState } from "./cluster_state.ts";
import type { ResolvedChitchatConfig } from "./config.ts";
import type { FailureDetector } from "./failure_detector.ts";
import { LEFT_KEY } from "./leave.ts";
import type { Membership } from "./membership.ts";
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
import type { NodeState } from "./node_state.ts";
import type { ProtocolProfile } from "./protocol_profile.ts";
import {
  deltaTakesWholeDatagram,
  digestTopUpBytes,
  raisedHeartbeatChecks,
  synAckDigestLimits,
} from "./syn_ack_budget.ts";
import { SynPriorities } from "./syn_priorities.ts";
import type { WireSizes } from "./wire_format.ts";


/** A received digest resolved against our nodes: what the peer says, by node key. */
type PeerDigest = Map<string, NodeDigest>;

/** One entry of a SynAck's digest, in the form the Syn named the node. */
type AnswerEntry =
  | { readonly full: DigestEntry; readonly size: number }
  | { readonly compact: CompactDigestEntry; readonly size: number };

/** What a handshake needs of the node it runs in. */
export interface HandshakeContext {
  readonly config: ResolvedChitchatConfig;
  readonly state: ClusterState;
  readonly membership: Membership;
  readonly fd: FailureDetector;
  readonly random: () => number;
  /** The wire format's sizes, to budget every message with. */
  readonly sizes: WireSizes;
  /** The extensions the wire format carries (see protocol_profile.ts). */
  readonly profile: ProtocolProfile;
  /** Called for each node reset from version 0 by a received delta. */
  readonly onReset: (node: ChitchatId) => void;
  /** What catch-up bursts may send (default: the `BURST_LIMITS` of burst_budget.ts). */
  readonly burst?: BurstBudget;
}

/**
 * Builds and takes in handshake messages for one node. Call order: `newRound()`
 * at the start of each round, `createSyn(excluded)` for each target;
 * `answerSyn`, `answerSynAck` and `takeAck` for received messages, each given
 * the set of nodes scheduled for deletion.
 */
export class Handshake {
  #ctx: HandshakeContext;
  #selfKey: string;
  #selfOnly: ReadonlySet<string>;
  #digestCursor = 0;
  /** Where the heartbeats filling a SynAck's free room go on from. */
  #answerCursor = 0;
  /** Nodes whose heartbeat rose since this round's Syns: our Acks pass them on. */
  #raised: NodeState[] = [];
  #raisedSet = new Set<NodeState>();
  /** What our Syns list before their page: nodes we lag behind on, nodes we need a heartbeat of. */
  #priorities: SynPriorities;
  #burst: BurstBudget;

  /** Creates the handshake logic of the node `ctx` describes. */
  constructor(ctx: HandshakeContext) {
    this.#ctx = ctx;
    this.#selfKey = chitchatIdKey(ctx.config.id);
    this.#selfOnly = new Set([this.#selfKey]);
    this.#burst = ctx.burst ?? new BurstBudget();
    this.#priorities = new SynPriorities(ctx.state, ctx.membership);
  }

  /** Live nodes not heard of for a while, highest phi first: set after each liveness pass. */
  set atRisk(keys: readonly string[]) {
    this.#priorities.atRisk = keys;
  }

  /** Starts a round: heartbeats raised from now on are passed on by our Acks; burst allowances are whole again. */
  newRound(): void {
    this.#raised = [];
    this.#raisedSet.clear();
    this.#burst.newRound();
  }

  /**
   * The `Syn` to send: this node by id, then the nodes we are most behind on,
   * then those we most need a heartbeat of, then the others in fingerprint
   * order from where the last `Syn` stopped. When it does not fit the MTU it
   * says which part of the ring it lists completely, and the next one goes on
   * from there, so every entry is sent regularly.
   */
  createSyn(excluded: ReadonlySet<string>): SynMessage {
    const { config, state } = this.#ctx;
    const sizes = this.#ctx.sizes;
    const budget = config.mtu - sizes.messageOverhead - sizes.textSize(config.clusterId);
    if (!this.#ctx.profile.pagedDigests) {
      return { type: "syn", clusterId: config.clusterId, digest: this.#fullDigest(excluded, budget), partialDigest: false };
    }
    const page = state.pageDigest(excluded, {
      budget,
      cursor: this.#digestCursor,
      first: [this.#selfKey, ...this.#priorities.take(budget)],
      full: this.#selfOnly,
    });
    this.#digestCursor = page.cursor;
    this.#priorities.listed(page.firstTaken - 1); // our own entry came first
    const syn: SynMessage = { type: "syn", clusterId: config.clusterId, digest: page.digest, partialDigest: !page.complete };
    if (page.compact.length === 0 && page.range === undefined) return syn;
    return page.range === undefined
      ? { ...syn, compactDigest: page.compact }
      : { ...syn, compactDigest: page.compact, range: page.range };
  }

  /**
   * The whole digest, this node first, for a profile without paged digests.
   * It fits a 65 507-byte datagram up to about a thousand nodes (see
   * docs/ALGORITHM.md); beyond that the entries that do not fit are left out,
   * a different share each time, as a Rust peer would read them: unknown.
   */
  #fullDigest(excluded: ReadonlySet<string>, budget: number): DigestEntry[] {
    const page = this.#ctx.state.partialDigest(excluded, { budget, cursor: this.#digestCursor, first: [this.#selfKey] });
    this.#digestCursor = page.cursor;
    return page.digest;
  }

  /**
   * The answer to `syn`, received from `from`: a `SynAck` whose digest names
   * only the Syn entries the requester should hear about (nodes we lack or
   * lag on, then fresher heartbeats), within its share of the datagram, and
   * whose delta takes the rest. When that delta had to be cut and the profile
   * has catch-up bursts, `Ack`s follow it (within the burst budget), each
   * with node deltas no other datagram of the answer carries.
   */
  answerSyn(syn: SynMessage, now: number, excluded: ReadonlySet<string>, from: string): Message[] {
    const { config, state } = this.#ctx;
    const peer = this.#observe(syn.digest, syn.compactDigest, now, excluded);
    const room = config.mtu - this.#ctx.sizes.messageOverhead;
    if (!this.#ctx.profile.pagedDigests) return [this.#answerSynWhole(syn, peer, room, excluded)];
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
    const limits = synAckDigestLimits(room);
    take(limits.needed, needed.length);
    take(Math.min(limits.needed, digestSize + limits.fresher));
    const deltaOptions = {
      random: this.#ctx.random,
      scope: syn.partialDigest === true ? (syn.range ?? "listed") : "all",
      priorityPrefixes: config.priorityKeyPrefixes,
      excluded,
      introduce: true,
      // Our own state first: invented nodes the peer lacks must not crowd out our keys.
      first: this.#selfKey,
      keysAhead: this.#ctx.profile.keysAhead,
    } as const;
    let computed = state.computeDeltaFor(peer, { ...deltaOptions, budget: room - digestSize });
    const whole = { complete: computed.complete, empty: computed.delta.length === 0, digestBytes: digestSize };
    if (deltaTakesWholeDatagram(whole, this.#ctx.random)) {
      // What did not fit beside the digest may be a value as large as the
      // datagram: then, and on some answers, the delta takes all the room.
      digest.length = 0;
      compact.length = 0;
      digestSize = 0;
      next = 0;
      computed = state.computeDeltaFor(peer, { ...deltaOptions, budget: room });
    }
    const { delta, size } = computed;
    digestSize += this.#introductions(delta, peer, compact, room - size - digestSize);
    take(room - size);
    if (syn.partialDigest === true && next === entries.length) {
      // The Syn left nodes out: room still free carries heartbeats of others, round the ring.
      const synEntries = { compact: syn.compactDigest?.length ?? 0, full: syn.digest.length };
      const budget = digestTopUpBytes(room - size - digestSize, synEntries);
      if (budget > 0) {
        const extra = state.pageDigest(excluded, { budget, cursor: this.#answerCursor, skip: peer });
        this.#answerCursor = extra.cursor;
        for (const entry of extra.digest) digest.push(entry);
        for (const entry of extra.compact) compact.push(entry);
      }
    }
    const synAck: SynAckMessage = { type: "synAck", digest, partialDigest: true, delta };
    const answer = compact.length === 0 ? synAck : { ...synAck, compactDigest: compact };
    if (computed.complete || !this.#ctx.profile.catchUpBursts) return [answer];
    return [answer, ...this.#catchUpBurst(from, peer, deltaOptions, delta)];
  }

  /**
   * The `Ack`s that follow a `SynAck` whose delta was cut: each takes the
   * stale nodes no earlier datagram of this answer carried (`sent`), as the
   * SynAck's delta would have taken them, with the heartbeats of the nodes
   * it introduces; until nothing is left or the burst budget is spent. Each
   * one applies on its own: its node deltas start from the versions the
   * peer's Syn showed, and no node is split across two datagrams.
   */
  #catchUpBurst(
    to: string,
    peer: PeerDigest,
    deltaOptions: Omit<Parameters<ClusterState["computeDeltaFor"]>[1], "budget">,
    sent: readonly NodeDelta[],
  ): AckMessage[] {
    const { config, state, sizes } = this.#ctx;
    const room = config.mtu - sizes.messageOverhead;
    const carried = new Set(deltaOptions.excluded);
    for (const nodeDelta of sent) carried.add(chitchatIdKey(nodeDelta.id));
    const pieces: AckMessage[] = [];
    while (pieces.length < this.#burst.limits.piecesPerAnswer && this.#burst.allows(to, config.mtu)) {
      const { delta, size, complete } = state.computeDeltaFor(peer, { ...deltaOptions, excluded: carried, budget: room });
      if (delta.length === 0) break;
      const compact: CompactDigestEntry[] = [];
      const used = size + this.#introductions(delta, peer, compact, room - size);
      this.#burst.spend(to, used + sizes.messageOverhead);
      pieces.push(compact.length === 0 ? { type: "ack", delta } : { type: "ack", delta, compactDigest: compact });
      if (complete) break;
      for (const nodeDelta of delta) carried.add(chitchatIdKey(nodeDelta.id));
    }
    return pieces;
  }

  /**
   * The Rust crate's SynAck: our whole digest, then the delta in the room
   * left, every node the Syn does not list counted as unknown to the peer.
   */
  #answerSynWhole(syn: SynMessage, peer: PeerDigest, room: number, excluded: ReadonlySet<string>): SynAckMessage {
    const { config, state } = this.#ctx;
    const page = state.partialDigest(excluded, { budget: room, cursor: this.#answerCursor, first: [this.#selfKey] });
    this.#answerCursor = page.cursor;
    const { delta } = state.computeDeltaFor(peer, {
      budget: room - page.size,
      random: this.#ctx.random,
      scope: syn.partialDigest === true ? "listed" : "all",
      priorityPrefixes: config.priorityKeyPrefixes,
      excluded,
      introduce: true,
      first: peer.has(this.#selfKey) ? undefined : this.#selfKey,
      keysAhead: this.#ctx.profile.keysAhead,
    });
    return { type: "synAck", digest: page.digest, partialDigest: false, delta };
  }

  /**
   * Adds to `compact` (within `budget` bytes) the nodes of `delta` the peer
   * did not know, so it learns their heartbeats with them (the delta names
   * them: the receiver applies it before reading the digest). Returns the
   * bytes added.
   */
  #introductions(delta: readonly NodeDelta[], peer: PeerDigest, compact: CompactDigestEntry[], budget: number): number {
    let size = 0;
    if (!this.#ctx.profile.compactDigests) return size;
    for (const nodeDelta of delta) {
      if (nodeDelta.fromVersionExcluded !== 0) continue;
      const state = this.#ctx.state.get(nodeDelta.id);
      if (state === undefined || peer.has(state.key)) continue;
      const entry = state.compactDigest();
      const entrySize = this.#ctx.sizes.compactEntrySize(entry);
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
    const cluster = this.#ctx.state;
    const sizes = this.#ctx.sizes;
    for (const entry of syn.digest) {
      const state = cluster.get(entry.id);
      if (state === undefined || excluded.has(state.key)) continue;
      const ours = { id: entry.id, heartbeat: state.heartbeat, lastGcVersion: state.lastGcVersion, maxVersion: state.maxVersion };
      const list = state.maxVersion < entry.maxVersion ? needed : state.heartbeat > entry.heartbeat ? fresher : undefined;
      list?.push({ full: ours, size: sizes.digestEntrySize(entry.id, ours) });
    }
    for (const entry of syn.compactDigest ?? []) {
      const state = cluster.resolveCompact(entry.fingerprint, entry.check);
      if (state === undefined) {
        const unknown = { fingerprint: entry.fingerprint, check: entry.check, heartbeat: 0, lastGcVersion: 0, maxVersion: 0 };
        needed.push({ compact: unknown, size: sizes.compactEntrySize(unknown) });
        continue;
      }
      if (excluded.has(state.key)) continue;
      const list = state.maxVersion < entry.maxVersion ? needed : state.heartbeat > entry.heartbeat ? fresher : undefined;
      if (list === undefined) continue;
      const ours = state.compactDigest();
      list.push({ compact: ours, size: sizes.compactEntrySize(ours) });
    }
    return { needed, fresher };
  }

  /** The `Ack` answering `synAck`: the delta the responder lacks, and heartbeats that rose since our Syn. */
  answerSynAck(synAck: SynAckMessage, now: number, excluded: ReadonlySet<string>): AckMessage {
    const { config, state } = this.#ctx;
    const peer = this.#receive(synAck, now, excluded);
    const room = config.mtu - this.#ctx.sizes.messageOverhead;
    const { delta, size } = state.computeDeltaFor(peer, {
      budget: room,
      random: this.#ctx.random,
      scope: synAck.partialDigest === true ? "listed" : "all",
      priorityPrefixes: config.priorityKeyPrefixes,
      excluded,
      introduce: true,
      keysAhead: this.#ctx.profile.keysAhead,
      first: this.#selfKey,
    });
    if (!this.#ctx.profile.compactDigests) return { type: "ack", delta };
    const compact: CompactDigestEntry[] = [];
    let used = size + this.#introductions(delta, peer, compact, room - size);
    // Heartbeats that rose since our Syn (other peers' SynAcks told us), fresher than the peer's.
    let checks = raisedHeartbeatChecks(room);
    for (const raised of this.#raised) {
      if (--checks < 0) break;
      const theirs = peer.get(raised.key)?.heartbeat ?? 0;
      if (raised.heartbeat <= theirs || excluded.has(raised.key)) continue;
      const entry = raised.compactDigest();
      const entrySize = this.#ctx.sizes.compactEntrySize(entry);
      if (used + entrySize > room) break;
      used += entrySize;
      compact.push(entry);
    }
    return compact.length === 0 ? { type: "ack", delta } : { type: "ack", delta, compactDigest: compact };
  }

  /** Takes in an `Ack`. */
  takeAck(ack: AckMessage, now: number, excluded: ReadonlySet<string>): void {
    this.#receive(ack, now, excluded);
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
    const notApplied = new Set(excluded);
    notApplied.add(this.#selfKey);
    if (!this.#ctx.profile.nodesFromDeltas) {
      // The Rust crate's order: the digest creates the nodes, then the delta fills them.
      const listed = this.#observe(digest, compact, now, excluded);
      const resets = this.#ctx.state.applyDelta(message.delta, { now, excluded: notApplied, create: false });
      for (const node of resets) this.#ctx.onReset(node);
      return listed;
    }
    const resets = this.#ctx.state.applyDelta(message.delta, { now, excluded: notApplied, heartbeatOf });
    for (const node of resets) this.#ctx.onReset(node);
    return this.#observe(digest, compact, now, excluded);
  }

  /**
   * Resolves a received digest to our node keys and records its heartbeats;
   * nodes first seen there by id are created. Entries by fingerprint that we
   * cannot resolve (unknown to us) are left out.
   */
  #observe(digest: Digest, compact: readonly CompactDigestEntry[] | undefined, now: number, excluded: ReadonlySet<string>): PeerDigest {
    const listed: PeerDigest = new Map();
    const cluster = this.#ctx.state;
    for (const entry of digest) {
      const key = chitchatIdKey(entry.id);
      listed.set(key, entry);
      if (key === this.#selfKey) continue;
      if (excluded.has(key)) {
        this.#observeScheduled(key, entry, now);
        continue;
      }
      const state = cluster.getOrCreate(entry.id, entry.heartbeat);
      if (state !== undefined) this.#observeEntry(key, state, entry, now);
    }
    for (const entry of compact ?? []) {
      const state = cluster.resolveCompact(entry.fingerprint, entry.check);
      if (state === undefined) continue;
      const key = state.key;
      listed.set(key, entry);
      if (key === this.#selfKey) continue;
      if (excluded.has(key)) this.#observeScheduled(key, entry, now);
      else this.#observeEntry(key, state, entry, now);
    }
    return listed;
  }

  /**
   * A node scheduled for deletion is out of digests and deltas, but a newer
   * heartbeat of it still counts (the Rust crate's `report_heartbeat`): a
   * node back from a long partition is live again within rounds, not when
   * its grace period ends.
   */
  #observeScheduled(key: string, entry: NodeDigest, now: number): void {
    const state = this.#ctx.state.getByKey(key);
    if (state === undefined || state.get(LEFT_KEY) !== undefined) return;
    if (state.observeHeartbeat(entry.heartbeat)) this.#ctx.fd.reportHeartbeat(key, now);
  }

  #observeEntry(key: string, state: NodeState, entry: NodeDigest, now: number): void {
    this.#priorities.noteAhead(key, entry.maxVersion, state.maxVersion);
    const before = state.heartbeat;
    if (state.observeHeartbeat(entry.heartbeat) && this.#ctx.membership.status(key) !== "left") {
      this.#ctx.fd.reportHeartbeat(key, now);
    }
    if (state.heartbeat > before && !this.#raisedSet.has(state)) {
      this.#raisedSet.add(state);
      this.#raised.push(state);
    }
  }
}
