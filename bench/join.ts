/**
 * Joining a large cluster: virtual rounds until a new node sees every member
 * of a converged N-node cluster as live and holds all of their keys, for
 * N = 1 000 and 10 000, at MTU 65 507 and 1 400.
 *
 * The simulator cannot hold 10 000 full nodes (each knows all others: N²
 * node states), so here the cluster's side is one state machine standing for
 * every member: in a converged cluster their views agree. It knows all N - 2
 * other members (one key each, heartbeats rising every round, as gossip
 * would bring them, each member's state from its own address) and answers
 * every Syn the joiner sends to any member's address, from that address; once
 * it sees the joiner live it also sends the joiner the 3 Syns per round a
 * node receives on average with fanout 3, each from a random member. Both sides run the
 * real state machine and every message goes through the codec, so bytes
 * and the MTU are real. At N = 1 000 the same join is also run in the full
 * simulator (1 000 real nodes) to check the model.
 * @module
 */

import { Chitchat } from "../src/core/chitchat.ts";
import type { ChitchatId } from "../src/core/chitchat_id.ts";
import { decodeMessage, encodeMessage } from "../src/core/codec.ts";
import type { DigestEntry, Message } from "../src/core/messages.ts";
import { createRandom } from "../src/testing/random.ts";
import { FED_UNTIL, syntheticId, syntheticMachine } from "./_synthetic.ts";
import { drain, feed } from "./_core.ts";
import { advanceUntil, allLive, type Benchmark, type BenchResult, cpuMicros, round, startCluster } from "./_util.ts";

const INTERVAL_MS = 300;
const MTUS = [65_507, 1_400];
const MAX_ROUNDS = 2_000;
/** Syns a node receives per round on average: every member sends 3 to random peers. */
const INCOMING_SYNS = 3;
/** Largest cluster also run in the full simulator to check the model. */
const SIMULATED_UP_TO = 1_000;

interface JoinFigures {
  /** Rounds until the joiner sees all N members (itself included) live. */
  readonly liveRounds: number | undefined;
  /** Rounds until the joiner holds every member's keys. */
  readonly stateRounds: number | undefined;
  /** Rounds until the cluster's side sees the joiner live. */
  readonly seenRounds: number | undefined;
  /** Bytes and datagrams the joiner received until it saw all live. */
  readonly bytesIn: number;
  readonly datagramsIn: number;
  readonly largestDatagram: number;
}

/** Runs one join against the one-machine model of an `n`-node cluster. */
export function modelJoin(n: number, mtu: number, seed = 1): JoinFigures {
  const ids = Array.from({ length: n - 2 }, (_, i) => syntheticId(i));
  const cluster = syntheticMachine("cluster", ids, 1, 0, mtu, createRandom(seed));
  const clusterAddr = cluster.id.gossipAdvertiseAddr;
  const joinerId: ChitchatId = { nodeId: "joiner", generationId: 2, gossipAdvertiseAddr: "10.255.254.1:7280" };
  let now = FED_UNTIL;
  const joiner = new Chitchat({
    id: joinerId,
    clusterId: "bench",
    mtu,
    failureDetector: { initialIntervalMs: INTERVAL_MS },
    gossipIntervalMs: 1, // the loop below says when rounds happen
  }, { now, random: createRandom(seed + 1) });
  joiner.setSeeds([clusterAddr]);
  const joinerAddr = joinerId.gossipAdvertiseAddr;
  let bytesIn = 0;
  let datagramsIn = 0;
  let largestDatagram = 0;
  // Through the codec, as on the wire; every datagram is checked against the MTU.
  const wire = (message: Message, toJoiner: boolean): Message => {
    const bytes = encodeMessage(message);
    if (bytes.length > mtu) throw new Error(`A ${message.type} of ${bytes.length} bytes exceeds the MTU ${mtu}`);
    largestDatagram = Math.max(largestDatagram, bytes.length);
    if (toJoiner) {
      bytesIn += bytes.length;
      datagramsIn++;
    }
    return decodeMessage(bytes);
  };
  // Whatever member the joiner writes to, the cluster's machine answers, and
  // the answer comes from the address written to (each member is a separate
  // sender for the joiner's admission limits); of what the cluster's machine
  // sends, only what is for the joiner is delivered.
  const deliver = (from: string): boolean => {
    let moved = false;
    for (let t = cluster.pollTransmit(); t !== undefined; t = cluster.pollTransmit()) {
      if (t.to !== joinerAddr) continue;
      moved = true;
      joiner.handleMessage(now, from, wire(t.message, true));
    }
    return moved;
  };
  const pump = (from: string): void => {
    deliver(from);
    for (let moved = true; moved;) {
      moved = false;
      for (let t = joiner.pollTransmit(); t !== undefined; t = joiner.pollTransmit()) {
        moved = true;
        cluster.handleMessage(now, joinerAddr, wire(t.message, false));
        deliver(t.to);
      }
    }
    drain(joiner);
    drain(cluster);
  };
  const memberRandom = createRandom(seed + 2);
  const randomMember = (): string => ids[Math.floor(memberRandom() * ids.length)].gossipAdvertiseAddr;
  const figures: { liveRounds?: number; stateRounds?: number; seenRounds?: number } = {};
  let snapshotIn = { bytesIn: 0, datagramsIn: 0 };
  for (let r = 1; r <= MAX_ROUNDS && (figures.liveRounds === undefined || figures.stateRounds === undefined); r++) {
    now += INTERVAL_MS;
    // Every member's heartbeat rose this round; the cluster's view has it.
    for (let start = 0; start < ids.length; start += 2_000) {
      const digest: DigestEntry[] = [];
      for (let i = start; i < Math.min(ids.length, start + 2_000); i++) {
        digest.push({ id: ids[i], heartbeat: 10 + r, lastGcVersion: 0, maxVersion: 1 });
      }
      feed(cluster, now, { type: "synAck", digest, partialDigest: true, delta: [] });
    }
    // The cluster's round (its own Syns stand for members' gossip among themselves: dropped).
    cluster.handleTimeout(now);
    drain(cluster);
    // The joiner's round: each target is a member; the cluster's machine answers for all of them.
    joiner.handleTimeout(now);
    pump(clusterAddr);
    if (figures.seenRounds !== undefined) {
      for (let i = 0; i < INCOMING_SYNS; i++) {
        cluster.gossip(now, joinerAddr);
        pump(randomMember());
      }
    }
    if (figures.seenRounds === undefined && cluster.status(joinerId) === "live") figures.seenRounds = r;
    if (figures.liveRounds === undefined && joiner.liveNodes().length === n) {
      figures.liveRounds = r;
      snapshotIn = { bytesIn, datagramsIn };
    }
    if (figures.stateRounds === undefined && ids.every((id) => joiner.nodeState(id)?.get("key_0") !== undefined)) {
      figures.stateRounds = r;
    }
  }
  return { ...figures, ...snapshotIn, largestDatagram } as JoinFigures;
}

/** Runs the same join in the full simulator: `n - 1` real nodes converge, then one more joins. */
async function simulatedJoin(n: number, mtu: number): Promise<number | undefined> {
  const cluster = await startCluster({ n: n - 1, seed: 1, mtu, intervalMs: INTERVAL_MS });
  try {
    const ready = await advanceUntil(cluster, () => allLive(cluster), { maxMs: INTERVAL_MS * 400, stepMs: 10 });
    if (ready === undefined) return undefined;
    const joiner = await cluster.addNode("joiner");
    const start = cluster.clock.now();
    const done = await advanceUntil(cluster, () => joiner.liveNodeStates().length === n, {
      maxMs: INTERVAL_MS * MAX_ROUNDS,
      stepMs: 10,
    });
    return done === undefined ? undefined : (done - start) / INTERVAL_MS;
  } finally {
    await cluster.close();
  }
}

/** See the module documentation. */
export const join: Benchmark = {
  name: "join",
  defaultSizes: [1_000, 10_000],
  fullSizes: [1_000, 10_000],
  perRuntime: false,
  async run({ sizes, log, full }): Promise<BenchResult> {
    const rows: BenchResult["rows"][number][] = [];
    for (const n of sizes) {
      for (const mtu of MTUS) {
        const started = cpuMicros();
        const model = modelJoin(n, mtu);
        const target = 2 * Math.log2(n) + 5;
        const simulated = full && n <= SIMULATED_UP_TO ? await simulatedJoin(n, mtu) : undefined;
        rows.push({
          N: n,
          MTU: mtu,
          "joiner sees all live (rounds)": model.liveRounds ?? null,
          "joiner has all keys (rounds)": model.stateRounds ?? null,
          "cluster sees joiner (rounds)": model.seenRounds ?? null,
          "target 2 log2 N + 5": round(target, 1),
          met: model.liveRounds !== undefined && model.liveRounds <= target,
          "full simulator (rounds)": simulated === undefined ? null : round(simulated, 1),
          "KB in until all live": round(model.bytesIn / 1000, 1),
          "datagrams in": model.datagramsIn,
          "largest datagram": model.largestDatagram,
          "CPU (s)": round((cpuMicros() - started) / 1e6, 1),
        });
        log(`join N=${n} MTU=${mtu}: all live after ${model.liveRounds} rounds, all keys after ${model.stateRounds}`);
      }
    }
    return {
      title: "Joining a converged cluster (one node's real state machine against a one-machine model of the rest)",
      columns: [
        "N",
        "MTU",
        "joiner sees all live (rounds)",
        "joiner has all keys (rounds)",
        "cluster sees joiner (rounds)",
        "target 2 log2 N + 5",
        "met",
        "full simulator (rounds)",
        "KB in until all live",
        "datagrams in",
        "largest datagram",
        "CPU (s)",
      ],
      rows,
      notes: [
        `Interval ${INTERVAL_MS} ms, one key per member, member names of 13 bytes, IPv4 addresses, no loss. The cluster's ` +
        `side is one state machine standing for every member (their views agree once converged); it answers the joiner's ` +
        `Syns and, once it sees the joiner live, sends it ${INCOMING_SYNS} Syns per round. A member is live for the joiner after ` +
        `three heartbeat values, as in the Rust crate. "Full simulator" (with --full, N ≤ ${SIMULATED_UP_TO}): the same join ` +
        `with N - 1 real nodes on the simulated network.`,
      ],
    };
  },
};
