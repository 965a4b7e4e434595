/**
 * Shared helpers of the core tests: ids, a recording logger, and exchanges of
 * `Chitchat` state machines driven the way the runtime drives them (through
 * `CoreNetwork`: every message through the codec, checked against the MTU).
 * Time is always a number passed in.
 * @module
 */

import assert from "node:assert/strict";
import { Chitchat, type CoreEvent, type MembershipEvent } from "../src/core/chitchat.ts";
import type { ChitchatId } from "../src/core/chitchat_id.ts";
import { chitchatIdKey } from "../src/core/chitchat_id.ts";
import { decodeMessage, encodeMessage } from "../src/core/codec.ts";
import type { ChitchatConfig } from "../src/core/config.ts";
import type { Logger } from "../src/core/logger.ts";
import type { Message, SynMessage } from "../src/core/messages.ts";
import type { KeyChange, NodeState } from "../src/core/node_state.ts";
import type { ReadonlyNodeStateLike } from "../src/core/config.ts";
import { createRandom, type Random } from "../src/testing/random.ts";
import { CoreNetwork } from "../src/testing/core_network.ts";

export { createRandom, type Random };

/** The id of member `i` of a large synthetic cluster: `member-0042` at 10.1.x.y:7280. */
export function memberId(i: number): ChitchatId {
  return { nodeId: `member-${String(i).padStart(4, "0")}`, generationId: 1, gossipAdvertiseAddr: `10.1.${i >> 8}.${i & 255}:7280` };
}

/** The id of test node `name` listening on `127.0.0.1:port`. */
export function makeId(name: string, port: number, generationId = 1): ChitchatId {
  return { nodeId: name, generationId, gossipAdvertiseAddr: `127.0.0.1:${port}` };
}

/** A logger that keeps every message, per level. */
export interface RecordingLogger extends Logger {
  readonly debugs: string[];
  readonly infos: string[];
  readonly warnings: string[];
  readonly errors: string[];
}

/** Creates a {@linkcode RecordingLogger}. */
export function recordingLogger(): RecordingLogger {
  const debugs: string[] = [];
  const infos: string[] = [];
  const warnings: string[] = [];
  const errors: string[] = [];
  return {
    debugs,
    infos,
    warnings,
    errors,
    debug: (msg: string) => debugs.push(msg),
    info: (msg: string) => infos.push(msg),
    warn: (msg: string) => warnings.push(msg),
    error: (msg: string) => errors.push(msg),
  };
}

/** Encodes `message`, checks it fits `mtu`, and returns what the receiver decodes. */
export function overTheWire(message: Message, mtu: number): Message {
  const bytes = encodeMessage(message);
  assert.ok(
    bytes.length <= mtu,
    `${message.type} of ${bytes.length} bytes exceeds the MTU of ${mtu}`,
  );
  return decodeMessage(bytes);
}

/** `(lastGcVersion, maxVersion)` of every node `chitchat` knows, by node key. */
export function versionsOf(chitchat: Chitchat): Map<string, [number, number]> {
  const versions = new Map<string, [number, number]>();
  for (const state of chitchat.nodeStates()) {
    versions.set(chitchatIdKey(state.id), [state.lastGcVersion, state.maxVersion]);
  }
  return versions;
}

/** Asserts no node's `(lastGcVersion, maxVersion)` went down, lexicographically. */
export function assertMonotonic(
  before: Map<string, [number, number]>,
  after: Map<string, [number, number]>,
  where: string,
): void {
  for (const [key, [gc, max]] of after) {
    const previous = before.get(key);
    if (previous === undefined) continue;
    const [gc0, max0] = previous;
    assert.ok(
      gc > gc0 || (gc === gc0 && max >= max0),
      `${where}: ${key} went from (${gc0}, ${max0}) to (${gc}, ${max})`,
    );
  }
}

/** Options of {@linkcode handshake}. */
export interface HandshakeOptions {
  /** The datagram limit every message is checked against. */
  readonly mtu: number;
  /** Returns true to drop the message of that step. */
  readonly lose?: (step: "syn" | "synAck" | "ack") => boolean;
  /** Checks the monotonic invariant on the receiver of every message. */
  readonly checkMonotonic?: boolean;
  /** Sees every message as decoded by its receiver. */
  readonly onMessage?: (message: Message) => void;
}

/** Where the events of a node go while these helpers drive it. */
const sinks = new WeakMap<Chitchat, Array<(event: CoreEvent) => void>>();

const recorders = {
  get(node: Chitchat): { push(event: CoreEvent): void } | undefined {
    const list = sinks.get(node);
    return list === undefined ? undefined : { push: (event) => list.forEach((sink) => sink(event)) };
  },
};

/**
 * From now on, keeps the events `node` produces (while driven by these
 * helpers) that `pick` maps to a value, in the returned array, in order.
 * Events produced before (by the constructor, say) are dropped.
 */
function record<T>(node: Chitchat, pick: (event: CoreEvent) => T | undefined): T[] {
  const kept: T[] = [];
  let list = sinks.get(node);
  if (list === undefined) {
    list = [];
    sinks.set(node, list);
    for (let e = node.pollEvent(); e !== undefined; e = node.pollEvent());
  }
  list.push((event) => {
    const value = pick(event);
    if (value !== undefined) kept.push(value);
  });
  return kept;
}

/** Every event `node` produces from now on. */
export function recordEvents(node: Chitchat): CoreEvent[] {
  return record(node, (event) => event);
}

/** The membership events of `node` from now on. */
export function recordMembership(node: Chitchat): MembershipEvent[] {
  return record(node, (event) => event.type === "joined" || event.type === "died" || event.type === "revived" || event.type === "left" || event.type === "removed" ? event : undefined);
}

/** The key changes `node` reports from now on under `prefix` (as `KeyChange`s). */
export function recordKeyChanges(node: Chitchat, prefix = ""): KeyChange[] {
  return record(node, (event) => {
    if (event.type !== "keyChanged" || !event.key.startsWith(prefix)) return undefined;
    const { type: _type, ...change } = event;
    return change;
  });
}

/** The live views `node` publishes from now on. */
export function recordLiveViews(node: Chitchat): Array<readonly ReadonlyNodeStateLike[]> {
  return record(node, (event) => (event.type === "liveView" ? event.view : undefined));
}

/** A network over `nodes` for one exchange, with the options' loss and checks. */
function network(nodes: readonly Chitchat[], options: HandshakeOptions): CoreNetwork {
  const net = new CoreNetwork({
    mtu: options.mtu,
    admit: options.lose === undefined ? undefined : (message) => {
      const step = message.type === "syn" ? "syn" : message.type === "synAck" ? "synAck" : "ack";
      return !options.lose!(step);
    },
    onMessage: (message, _from, to) => {
      options.onMessage?.(message);
      if (options.checkMonotonic) before.set(to, versionsOf(to));
    },
    onHandled: (message, _from, to) => {
      const versions = before.get(to);
      if (versions !== undefined) assertMonotonic(versions, versionsOf(to), `${message.type} to ${to.id.nodeId}`);
    },
    onEvent: (node, event) => recorders.get(node)?.push(event),
  });
  for (const node of nodes) net.add(node);
  return net;
}

/** Versions before the message a node is handling (for `checkMonotonic`). */
const before = new Map<Chitchat, Map<string, [number, number]>>();

/** Runs one Syn / SynAck / Ack exchange from `a` to `b` at `now`, through the codec. */
export function handshake(a: Chitchat, b: Chitchat, now: number, options: HandshakeOptions): void {
  a.gossip(now, b.id.gossipAdvertiseAddr);
  flushChecked(network([a, b], options), now, options);
}

/** Delivers everything pending (`checkMonotonic` checks each receiver after each message). */
function flushChecked(net: CoreNetwork, now: number, _options: HandshakeOptions): void {
  net.flush(now);
  before.clear();
}

/** Options of {@linkcode createNode}. */
export type NodeOptions = Omit<ChitchatConfig, "id" | "clusterId"> & {
  readonly clusterId?: string;
  readonly generationId?: number;
  readonly now?: number;
  readonly random?: Random;
};

/**
 * A `Chitchat` for node `name` on port `port`, in cluster "test" unless told.
 * Its round is due whenever time has moved on (a 1 ms interval unless told):
 * the tests say when rounds happen.
 */
export function createNode(name: string, port: number, options: NodeOptions = {}): Chitchat {
  const { generationId, now, random, clusterId, ...config } = options;
  const node = new Chitchat(
    { gossipIntervalMs: 1, ...config, id: makeId(name, port, generationId ?? 1), clusterId: clusterId ?? "test" },
    { now: now ?? 0, random: random ?? createRandom(port) },
  );
  return node;
}

/** Options of {@linkcode gossipRound}. */
export interface RoundOptions extends HandshakeOptions {
  /** Seed addresses (default: none; nodes keep what they were given). */
  readonly seeds?: readonly string[];
  /** Nodes that take part this round (default: all); the others neither send nor receive. */
  readonly active?: (node: Chitchat) => boolean;
}

/**
 * One gossip round at `now`: each active node in turn runs its round
 * (`handleTimeout`: heartbeat, Syns to its targets, liveness), followed by
 * every message that causes among the active nodes.
 */
export function gossipRound(nodes: readonly Chitchat[], now: number, options: RoundOptions): void {
  const active = nodes.filter((node) => options.active?.(node) ?? true);
  if (options.seeds !== undefined) for (const node of nodes) node.setSeeds(options.seeds);
  const net = network(active, options);
  for (const node of active) {
    node.handleTimeout(now);
    flushChecked(net, now, options);
  }
}

/**
 * `n` nodes `n0`, `n1`, ... on ports from `firstPort`, each told the gossip
 * interval `intervalMs` that {@linkcode gossipRounds} drives them at (a node
 * driven far slower than its interval takes itself for paused).
 */
export function testCluster(
  n: number,
  options: NodeOptions & { readonly firstPort?: number; readonly intervalMs?: number } = {},
): Chitchat[] {
  const { firstPort = 10_000, intervalMs = 1000, ...nodeOptions } = options;
  return Array.from(
    { length: n },
    (_, i) => createNode(`n${i}`, firstPort + i, { gossipIntervalMs: intervalMs, ...nodeOptions }),
  );
}

/**
 * Runs `count` gossip rounds of `nodes` from `now`, one every
 * `options.intervalMs` (default 1000), with the first node as every node's
 * seed; returns the time of the last round.
 */
export function gossipRounds(
  nodes: readonly Chitchat[],
  now: number,
  count: number,
  options: RoundOptions & { readonly intervalMs?: number } = { mtu: 65_507 },
): number {
  const { intervalMs = 1000, ...round } = options;
  for (let i = 0; i < count; i++) {
    now += intervalMs;
    gossipRound(nodes, now, { seeds: [nodes[0].id.gossipAdvertiseAddr], ...round });
  }
  return now;
}

/** A comparable picture of what a node knows: per node, max version and visible key-values sorted by key. */
export function knowledge(
  chitchat: Chitchat,
): Record<string, { max: number; kvs: Record<string, string> }> {
  const picture: Record<string, { max: number; kvs: Record<string, string> }> = {};
  const states = [...chitchat.nodeStates()].sort((
    x,
    y,
  ) => (chitchatIdKey(x.id) < chitchatIdKey(y.id) ? -1 : 1));
  for (const state of states) {
    const kvs = [...state.entries()].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
    picture[chitchatIdKey(state.id)] = { max: state.maxVersion, kvs: Object.fromEntries(kvs) };
  }
  return picture;
}

/** Every stored entry of a node state, tombstones included, as sorted comparable text. */
export function storedEntries(state: ReadonlyNodeStateLike): string[] {
  const out: string[] = [];
  for (const [key, vv] of (state as NodeState).versionedEntries()) {
    out.push(`${key}=${vv.value}@${vv.version}/${vv.status}`);
  }
  return out.sort();
}

/** True when every node's {@linkcode knowledge} is the same. */
export function allEqual(nodes: readonly Chitchat[]): boolean {
  const first = JSON.stringify(knowledge(nodes[0]));
  return nodes.every((node) => JSON.stringify(knowledge(node)) === first);
}

/** Where the replies of {@linkcode answer} and the Syns of {@linkcode synOf} are addressed. */
export const TEST_PEER = "127.0.0.1:1";

/** The `Syn` `node` sends when asked to gossip now (to {@linkcode TEST_PEER}). */
export function synOf(node: Chitchat, now = 0): SynMessage {
  node.gossip(now, TEST_PEER);
  return takeReply(node) as SynMessage;
}

/**
 * Hands `message` to `node` at `now` as if from {@linkcode TEST_PEER}, and
 * returns the answer it queued for that peer, if any.
 */
export function answer(node: Chitchat, message: Message, now: number): Message | undefined {
  node.handleMessage(now, TEST_PEER, message);
  return takeReply(node);
}

/** The last message `node` queued for {@linkcode TEST_PEER} (others are dropped). */
function takeReply(node: Chitchat): Message | undefined {
  let last: Message | undefined;
  for (let t = node.pollTransmit(); t !== undefined; t = node.pollTransmit()) if (t.to === TEST_PEER) last = t.message;
  for (let e = node.pollEvent(); e !== undefined; e = node.pollEvent()) recorders.get(node)?.push(e);
  return last;
}

/** Runs `node`'s round at `now` alone (heartbeat, liveness); what it sends is dropped. */
export function soloRound(node: Chitchat, now: number): void {
  node.handleTimeout(now);
  takeReply(node);
}
