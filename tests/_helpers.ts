/**
 * Shared helpers of the core tests: ids, a recording logger, and a hand-driven
 * exchange of `Chitchat` state machines in which every message goes through
 * the codec and is checked against the MTU. Time is always a number passed in.
 * @module
 */

import assert from "node:assert/strict";
import { Chitchat } from "../src/core/chitchat.ts";
import type { ChitchatId } from "../src/core/chitchat_id.ts";
import { chitchatIdKey } from "../src/core/chitchat_id.ts";
import { decodeMessage, encodeMessage } from "../src/core/codec.ts";
import type { ChitchatConfig } from "../src/core/config.ts";
import type { Logger } from "../src/core/logger.ts";
import type { Message } from "../src/core/messages.ts";
import type { NodeState } from "../src/core/node_state.ts";
import type { ReadonlyNodeStateLike } from "../src/core/config.ts";
import { createRandom, type Random } from "../src/testing/random.ts";

export { createRandom, type Random };

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

/** Delivers `message` to `to` at `now`, optionally checking the monotonic invariant. */
function deliver(
  to: Chitchat,
  message: Message,
  now: number,
  options: HandshakeOptions,
): Message | undefined {
  const received = overTheWire(message, options.mtu);
  options.onMessage?.(received);
  const before = options.checkMonotonic ? versionsOf(to) : undefined;
  const reply = to.handleMessage(received, now);
  if (before !== undefined) {
    assertMonotonic(before, versionsOf(to), `${received.type} to ${to.id.nodeId}`);
  }
  return reply;
}

/** Runs one Syn / SynAck / Ack exchange from `a` to `b` at `now`, through the codec. */
export function handshake(a: Chitchat, b: Chitchat, now: number, options: HandshakeOptions): void {
  const syn = a.createSyn();
  if (options.lose?.("syn")) return;
  const synAck = deliver(b, syn, now, options);
  if (synAck === undefined || options.lose?.("synAck")) return;
  const ack = deliver(a, synAck, now, options);
  if (ack === undefined || options.lose?.("ack")) return;
  deliver(b, ack, now, options);
}

/** Options of {@linkcode createNode}. */
export type NodeOptions = Omit<ChitchatConfig, "id" | "clusterId"> & {
  readonly clusterId?: string;
  readonly generationId?: number;
  readonly now?: number;
  readonly random?: Random;
};

/** A `Chitchat` for node `name` on port `port`, in cluster "test" unless told. */
export function createNode(name: string, port: number, options: NodeOptions = {}): Chitchat {
  const { generationId, now, random, clusterId, ...config } = options;
  return new Chitchat(
    { ...config, id: makeId(name, port, generationId ?? 1), clusterId: clusterId ?? "test" },
    { now: now ?? 0, random: random ?? createRandom(port) },
  );
}

/** Options of {@linkcode gossipRound}. */
export interface RoundOptions extends HandshakeOptions {
  /** Seed addresses handed to `gossipTargets`. */
  readonly seeds?: readonly string[];
  /** Nodes that take part this round (default: all). */
  readonly active?: (node: Chitchat) => boolean;
}

/**
 * One gossip round at `now`: every active node bumps its heartbeat, picks its
 * targets and runs a handshake with each active target; then every active
 * node updates liveness.
 */
export function gossipRound(nodes: readonly Chitchat[], now: number, options: RoundOptions): void {
  const byAddr = new Map(nodes.map((node) => [node.id.gossipAdvertiseAddr, node]));
  const active = nodes.filter((node) => options.active?.(node) ?? true);
  const activeSet = new Set(active);
  for (const node of active) {
    node.startRound();
    for (const addr of node.gossipTargets(options.seeds ?? [])) {
      const peer = byAddr.get(addr);
      if (peer === undefined || !activeSet.has(peer) || peer === node) continue;
      handshake(node, peer, now, options);
    }
  }
  for (const node of active) node.updateLiveness(now);
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
