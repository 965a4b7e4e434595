/**
 * Two state machines that know the same synthetic cluster of N nodes, for
 * per-message costs at sizes the simulator cannot hold (every simulated node
 * would know every other: N² node states). Built through `handleMessage`
 * only, so they hold exactly what gossip would give them.
 * @module
 */

import { Chitchat } from "../src/core/chitchat.ts";
import { MEMBER_LIMIT_SETTINGS } from "../src/core/settings_table.ts";
import { drain, feed } from "./_core.ts";
import type { ChitchatId } from "../src/core/chitchat_id.ts";
import type { DigestEntry, NodeDelta } from "../src/core/messages.ts";

/** The two machines and the time they are at. */
export interface SyntheticPair {
  /** Knows the cluster; fresher on the even nodes. */
  readonly a: Chitchat;
  /** Knows the cluster; fresher on the odd nodes. */
  readonly b: Chitchat;
  /** The time both were last fed at. */
  readonly now: number;
}

/** The id of synthetic node `i`: realistic sizes (13-byte name, ms generation, IPv4 address). */
export function syntheticId(i: number): ChitchatId {
  return {
    nodeId: `searcher-${String(i).padStart(4, "0")}`,
    generationId: 1_717_000_000_000 + i,
    gossipAdvertiseAddr: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:7280`,
  };
}

function machine(name: string, mtu: number, random: () => number, address: string, intervalMs: number): Chitchat {
  return new Chitchat(
    { id: { nodeId: name, generationId: 1, gossipAdvertiseAddr: address }, clusterId: "bench", mtu, gossipIntervalMs: intervalMs },
    { now: 0, random },
  );
}

/**
 * Builds `a` and `b`, each knowing `n` nodes with `keys` keys each (15-byte
 * values) and three heartbeats per node (so every node is live), then one
 * more heartbeat on half of the nodes for each side.
 */
export function syntheticPair(n: number, keys: number, mtu = 65_507): SyntheticPair {
  const ids = Array.from({ length: n }, (_, i) => syntheticId(i));
  const a = syntheticMachine("a", ids, keys, 0, mtu);
  const b = syntheticMachine("b", ids, keys, 1, mtu);
  return { a, b, now: FED_UNTIL };
}

/** The default `limits.newNodesPerSender`: new nodes one sender may name per round. */
const NEW_NODES_PER_SENDER = MEMBER_LIMIT_SETTINGS.newNodesPerSender.default;

/** The time a synthetic machine was last fed at: its nodes are live then. */
export const FED_UNTIL = 4_000;

/**
 * One machine knowing the nodes `ids`, `keys` keys each, live at time
 * {@linkcode SyntheticPair.now}; the nodes whose index has parity `fresh`
 * are one heartbeat ahead. `random` drives its peer choice and tie breaks;
 * `address` is its own gossip address; `intervalMs` its gossip interval,
 * which its driver must keep to (rounds far apart on a short interval are
 * taken for pauses of the machine: 1 ms suits drivers that call
 * `handleTimeout` every millisecond).
 */
export function syntheticMachine(
  name: string,
  ids: readonly ChitchatId[],
  keys: number,
  fresh: number,
  mtu = 65_507,
  random: () => number = Math.random,
  address = `10.255.255.${name === "a" ? 1 : 2}:7280`,
  intervalMs = 1,
): Chitchat {
  const target = machine(name, mtu, random, address, intervalMs);
  const n = ids.length;
  const feedAll = (heartbeat: (i: number) => number, withKeys: boolean, now: number): void => {
    // One sender may introduce `limits.newNodesPerSender` (500) new nodes a
    // round: each chunk comes from one of its own members, as gossip would
    // bring it, and stays under that limit (else the rest arrive keyless).
    const chunk = Math.min(NEW_NODES_PER_SENDER, Math.max(1, Math.floor(40_000 / (60 + keys * 30))));
    for (let start = 0; start < n; start += chunk) {
      const digest: DigestEntry[] = [];
      const delta: NodeDelta[] = [];
      for (let i = start; i < Math.min(n, start + chunk); i++) {
        digest.push({ id: ids[i], heartbeat: heartbeat(i), lastGcVersion: 0, maxVersion: keys });
        if (!withKeys) continue;
        const keyValues = [];
        for (let k = 0; k < keys; k++) {
          keyValues.push({ key: `key_${k}`, value: `value-${String(i * 100 + k).padStart(9, "0")}`, version: k + 1, status: "set" as const });
        }
        delta.push({ id: ids[i], fromVersionExcluded: 0, lastGcVersion: 0, maxVersion: keys, keyValues });
      }
      feed(target, now, { type: "synAck", digest, partialDigest: true, delta }, ids[start].gossipAdvertiseAddr);
    }
  };
  for (let beat = 1; beat <= 3; beat++) feedAll(() => beat, beat === 1, beat * 1000);
  feedAll((i) => (i % 2 === fresh ? 5 : 4), false, FED_UNTIL);
  target.handleTimeout(FED_UNTIL); // a round: liveness of everyone fed
  drain(target);
  return target;
}

/**
 * Feeds `machine` `beats` more heartbeats of every node of `ids`, one every
 * `intervalMs` after `from` (through SynAck digests), so that failure
 * detector windows fill as in a long-running cluster. Returns the time reached.
 */
export function feedHeartbeats(machine: Chitchat, ids: readonly ChitchatId[], beats: number, from: number, intervalMs = 300): number {
  let now = from;
  const chunk = 2_000;
  for (let beat = 0; beat < beats; beat++) {
    now += intervalMs;
    for (let start = 0; start < ids.length; start += chunk) {
      const digest: DigestEntry[] = [];
      for (let i = start; i < Math.min(ids.length, start + chunk); i++) {
        digest.push({ id: ids[i], heartbeat: 10 + beat, lastGcVersion: 0, maxVersion: 0 });
      }
      feed(machine, now, { type: "synAck", digest, partialDigest: true, delta: [] });
    }
  }
  machine.handleTimeout(now);
  drain(machine);
  return now;
}
