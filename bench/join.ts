/**
 * Joining a large cluster: virtual rounds until a new node sees every member
 * of a converged N-node cluster as live and holds all of their keys, for
 * N = 1 000 and 10 000, at MTU 65 507 and 1 400.
 *
 * The simulator cannot hold 10 000 full nodes (each knows all others: N²
 * node states), so here the cluster's side is state machines standing for
 * the members ({@linkcode MACHINES} by default): in a converged cluster
 * their views agree. Each knows all other members (one key each, heartbeats
 * rising every round, as gossip would bring them, each member's state from
 * its own address), and they relay their own heartbeats and, once one has
 * heard from it, the joiner's among themselves. The joiner writes to
 * members' addresses; each address it writes to in a round is answered by
 * the next machine, from that address (a machine's own address always by
 * that machine), so each answer has a catch-up burst budget of its own, as
 * a real member's would. Once the machines see the joiner live, the joiner
 * also gets 3 Syns a round (what a node receives on average with fanout 3),
 * each from a random member's address. Both sides run the real state
 * machine and every message goes through the codec, so bytes and the MTU
 * are real; rows with loss drop each datagram with that probability.
 * At N = 1 000 the same join is also run in the full simulator (1 000 real
 * nodes, with --full) to check the model.
 * @module
 */

import { Chitchat } from "../src/core/chitchat.ts";
import type { ChitchatId } from "../src/core/chitchat_id.ts";
import { decodeMessage, encodeMessage } from "../src/core/codec.ts";
import { CATCH_UP_FANOUT } from "../src/core/peer_selection.ts";
import type { DigestEntry, Message } from "../src/core/messages.ts";
import { createRandom } from "../src/testing/random.ts";
import { FED_UNTIL, syntheticId, syntheticMachine } from "./_synthetic.ts";
import { drain, feed } from "./_core.ts";
import { advanceUntil, allLive, type Benchmark, type BenchResult, cpuMicros, round, startCluster } from "./_util.ts";

const INTERVAL_MS = 300;
const MTUS = [65_507, 1_400];
/** Datagram loss rates measured (either way, independently). */
const LOSSES = [0, 0.1];
const MAX_ROUNDS = 2_000;
/** Syns a node receives per round on average: every member sends 3 to random peers. */
const INCOMING_SYNS = 3;
/**
 * Machines standing for the members by default: as many as the joiner's
 * largest catch-up fanout, so that every member it writes to in a round is
 * answered by a machine of its own, with its own catch-up burst budget, as
 * real members would be. With one machine (`machines: 1`) all the answers
 * of a round share one budget of 12 000 bytes: at 10 000 members and MTU
 * 1 400 that model took 65 rounds where 18 machines take about 41 with the
 * same library (docs/BENCHMARKS.md). Targets beyond the 18th of a round
 * (a dead node, a seed, the cluster's own Syns) wrap round to machines
 * that already answered.
 */
const MACHINES: number = CATCH_UP_FANOUT.maxFanout;
/** Syns between machines before the join, per machine index: spreads their ring cursors. */
const WARM_UP_SYNS = 7;
/**
 * The library's default failure-detector prior, also measured (at MTU 1 400, with and
 * without loss) beside the perf test's prior of one interval.
 */
const DEFAULT_PRIOR_MS = 5_000;
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
  /**
   * Times a member the joiner had seen live turned not live in its view
   * before the end of the run (every member is alive throughout: each one is
   * a false death).
   */
  readonly falseDeaths: number;
}

/** Options of {@linkcode modelJoin}. */
export interface ModelJoinOptions {
  /** Seeds every random choice (default 1). */
  readonly seed?: number;
  /** Probability that a datagram is lost, either way (default 0). */
  readonly loss?: number;
  /** State machines standing for the members (default {@linkcode MACHINES}). */
  readonly machines?: number;
  /** Rounds before giving up (default {@linkcode MAX_ROUNDS}). */
  readonly maxRounds?: number;
  /**
   * The joiner's failure-detector prior (`initialIntervalMs`); default the
   * gossip interval, as in the Rust crate's perf test. The library's and the
   * Rust crate's default is 5 000 ms.
   */
  readonly initialIntervalMs?: number;
  /** Called after each round with the joiner, for probes. */
  readonly onRound?: (round: number, joiner: Chitchat) => void;
}

/**
 * Runs one join against a model of an `n`-node cluster: a few state
 * machines that each know all other members (see the module documentation).
 */
export function modelJoin(n: number, mtu: number, options: ModelJoinOptions = {}): JoinFigures {
  const { seed = 1, loss = 0, machines: machineCount = MACHINES, maxRounds = MAX_ROUNDS } = options;
  const initialIntervalMs = options.initialIntervalMs ?? INTERVAL_MS;
  const ids = Array.from({ length: n - 1 - machineCount }, (_, i) => syntheticId(i));
  const machines = Array.from(
    { length: machineCount },
    (_, k) =>
      syntheticMachine(`cluster-${k}`, ids, 1, 0, mtu, createRandom(seed * 10 + k), `10.255.255.${k + 1}:7280`, INTERVAL_MS),
  );
  const clusterAddr = machines[0].id.gossipAdvertiseAddr;
  // Members gossiped among themselves before the join, so their ring cursors
  // (where their digest pages and heartbeat top-ups go on from) are at
  // different places, as on real members; fresh machines would all start at
  // the same place and answer the joiner with the same heartbeats.
  for (let k = 1; k < machineCount; k++) {
    for (let i = 0; i < k * WARM_UP_SYNS; i++) {
      machines[0].gossip(FED_UNTIL, machines[k].id.gossipAdvertiseAddr);
      for (const message of drain(machines[0])) machines[k].handleMessage(FED_UNTIL, clusterAddr, message);
      drain(machines[k]);
    }
  }
  const joinerId: ChitchatId = { nodeId: "joiner", generationId: 2, gossipAdvertiseAddr: "10.255.254.1:7280" };
  let now = FED_UNTIL;
  const joiner = new Chitchat({
    id: joinerId,
    clusterId: "bench",
    mtu,
    failureDetector: { initialIntervalMs },
    gossipIntervalMs: INTERVAL_MS, // the loop below runs a round every interval
  }, { now, random: createRandom(seed + 1) });
  joiner.setSeeds([clusterAddr]);
  const joinerAddr = joinerId.gossipAdvertiseAddr;
  const lossRandom = createRandom(seed + 3);
  let bytesIn = 0;
  let datagramsIn = 0;
  let largestDatagram = 0;
  // Through the codec, as on the wire; every datagram is checked against the
  // MTU, counted, then maybe lost.
  const wire = (message: Message, toJoiner: boolean): Message | undefined => {
    const bytes = encodeMessage(message);
    if (bytes.length > mtu) throw new Error(`A ${message.type} of ${bytes.length} bytes exceeds the MTU ${mtu}`);
    largestDatagram = Math.max(largestDatagram, bytes.length);
    if (toJoiner) {
      bytesIn += bytes.length;
      datagramsIn++;
    }
    return loss > 0 && lossRandom() < loss ? undefined : decodeMessage(bytes);
  };
  // The members the joiner talks to in a round are distinct machines (each
  // with its own catch-up burst budget): the first address written to in a
  // round is answered by machine 0, the next by machine 1, and so on. The
  // answers come from the address written to (each member is a separate
  // sender for the joiner's admission limits); of what a machine sends, only
  // what is for the joiner is delivered.
  // A machine's own address always reaches that machine (it is that member).
  const own = new Map(machines.map((machine) => [machine.id.gossipAdvertiseAddr, machine]));
  const route = new Map<string, Chitchat>();
  let assigned = 0;
  const machineFor = (addr: string): Chitchat => {
    let machine = own.get(addr) ?? route.get(addr);
    if (machine === undefined) {
      machine = machines[assigned++ % machineCount];
      route.set(addr, machine);
    }
    return machine;
  };
  const deliver = (machine: Chitchat, from: string): void => {
    for (let t = machine.pollTransmit(); t !== undefined; t = machine.pollTransmit()) {
      if (t.to !== joinerAddr) continue;
      const message = wire(t.message, true);
      if (message !== undefined) joiner.handleMessage(now, from, message);
    }
  };
  const pump = (): void => {
    for (let moved = true; moved;) {
      moved = false;
      for (let t = joiner.pollTransmit(); t !== undefined; t = joiner.pollTransmit()) {
        moved = true;
        const machine = machineFor(t.to);
        const message = wire(t.message, false);
        if (message !== undefined) machine.handleMessage(now, joinerAddr, message);
        deliver(machine, t.to);
      }
    }
    drain(joiner);
    for (const machine of machines) drain(machine);
  };
  const memberRandom = createRandom(seed + 2);
  const randomMember = (): string => ids[Math.floor(memberRandom() * ids.length)].gossipAdvertiseAddr;
  const seen = (): boolean => machines.every((machine) => machine.status(joinerId) === "live");
  const figures: { liveRounds?: number; stateRounds?: number; seenRounds?: number } = {};
  let snapshotIn = { bytesIn: 0, datagramsIn: 0 };
  let falseDeaths = 0;
  let wasLive = new Set<string>();
  for (let r = 1; r <= maxRounds && (figures.liveRounds === undefined || figures.stateRounds === undefined); r++) {
    now += INTERVAL_MS;
    route.clear();
    assigned = 0;
    // Heartbeats members relay among themselves: the machines' own, and the
    // joiner's once one of them has heard from it (their views agree, as a
    // single machine's would; a machine lacking the joiner's keys gets them
    // when the joiner next writes to it).
    const heard = machines.some((machine) => machine.nodeState(joinerId) !== undefined);
    const relayed = (machine: Chitchat): DigestEntry[] => {
      const entries: DigestEntry[] = [];
      for (const other of [...machines, joiner]) {
        if (other === machine || (other === joiner && !heard)) continue;
        const self = other.self;
        entries.push({ id: other.id, heartbeat: self.heartbeat, lastGcVersion: self.lastGcVersion, maxVersion: self.maxVersion });
      }
      return entries;
    };
    const relays = machines.map(relayed);
    for (const [k, machine] of machines.entries()) {
      // Every member's heartbeat rose this round; the machines' views have it.
      for (let start = 0; start < ids.length; start += 2_000) {
        const digest: DigestEntry[] = [];
        for (let i = start; i < Math.min(ids.length, start + 2_000); i++) {
          digest.push({ id: ids[i], heartbeat: 10 + r, lastGcVersion: 0, maxVersion: 1 });
        }
        feed(machine, now, { type: "synAck", digest, partialDigest: true, delta: [] }, ids[start].gossipAdvertiseAddr);
      }
      if (relays[k].length > 0) {
        const from = machines[(k + 1) % machineCount].id.gossipAdvertiseAddr;
        feed(machine, now, { type: "synAck", digest: relays[k], partialDigest: true, delta: [] }, from);
      }
      // A machine's round (its own Syns stand for members' gossip among themselves: dropped).
      machine.handleTimeout(now);
      drain(machine);
    }
    // The joiner's round: each target is a member, answered by one of the machines.
    joiner.handleTimeout(now);
    pump();
    if (figures.seenRounds !== undefined) {
      for (let i = 0; i < INCOMING_SYNS; i++) {
        const from = randomMember();
        const machine = machineFor(from);
        machine.gossip(now, joinerAddr);
        deliver(machine, from);
        pump();
      }
    }
    if (figures.seenRounds === undefined && seen()) figures.seenRounds = r;
    const live = joiner.liveNodes();
    const isLive = new Set(live.map((state) => state.id.nodeId));
    for (const name of wasLive) if (!isLive.has(name)) falseDeaths++;
    wasLive = isLive;
    if (figures.liveRounds === undefined && live.length === n) {
      figures.liveRounds = r;
      snapshotIn = { bytesIn, datagramsIn };
    }
    if (figures.stateRounds === undefined && ids.every((id) => joiner.nodeState(id)?.get("key_0") !== undefined)) {
      figures.stateRounds = r;
    }
    options.onRound?.(r, joiner);
  }
  return { ...figures, ...snapshotIn, largestDatagram, falseDeaths } as JoinFigures;
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
      const runs = MTUS.flatMap((mtu) => LOSSES.map((loss) => ({ mtu, loss, prior: INTERVAL_MS })));
      runs.push({ mtu: 1_400, loss: 0, prior: DEFAULT_PRIOR_MS }, { mtu: 1_400, loss: 0.1, prior: DEFAULT_PRIOR_MS });
      for (const { mtu, loss, prior } of runs) {
        const started = cpuMicros();
        const model = modelJoin(n, mtu, { loss, initialIntervalMs: prior });
        const target = 2 * Math.log2(n) + 5;
        const simulated = full && n <= SIMULATED_UP_TO && loss === 0 && prior === INTERVAL_MS
          ? await simulatedJoin(n, mtu)
          : undefined;
        rows.push({
          N: n,
          MTU: mtu,
          loss: `${loss * 100} %`,
          "detector prior (ms)": prior,
          "joiner sees all live (rounds)": model.liveRounds ?? null,
          "joiner has all keys (rounds)": model.stateRounds ?? null,
          "false deaths in joiner's view": model.falseDeaths,
          "cluster sees joiner (rounds)": model.seenRounds ?? null,
          "target 2 log2 N + 5": round(target, 1),
          met: model.liveRounds !== undefined && model.liveRounds <= target,
          "full simulator (rounds)": simulated === undefined ? null : round(simulated, 1),
          "KB in until all live": round(model.bytesIn / 1000, 1),
          "datagrams in": model.datagramsIn,
          "largest datagram": model.largestDatagram,
          "CPU (s)": round((cpuMicros() - started) / 1e6, 1),
        });
        log(`join N=${n} MTU=${mtu} loss ${loss} prior ${prior} ms: all live after ${model.liveRounds} rounds, all keys after ${model.stateRounds}`);
      }
    }
    return {
      title: "Joining a converged cluster (one node's real state machine against a model of the rest: a machine per member it writes to in a round)",
      columns: [
        "N",
        "MTU",
        "loss",
        "detector prior (ms)",
        "joiner sees all live (rounds)",
        "joiner has all keys (rounds)",
        "false deaths in joiner's view",
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
        `Interval ${INTERVAL_MS} ms, one key per member, member names of 13 bytes, IPv4 addresses; "loss": each datagram ` +
        `either way is lost with that probability. The cluster's side is ${MACHINES} state machines standing for the ` +
        `members (their views agree once converged; they relay their own and the joiner's heartbeats among themselves), ` +
        `each address the joiner writes to in a round answered by the next machine, from that address (so each answer has ` +
        `its own catch-up burst budget, as a real member's would); once they see the ` +
        `joiner live, it gets ${INCOMING_SYNS} Syns per round from random members' addresses. A member is live for the joiner after ` +
        `three heartbeat values, as in the Rust crate. "Detector prior": the joiner's \`initialIntervalMs\` (the interval, as ` +
        `in the Rust perf test, or the default ${DEFAULT_PRIOR_MS} ms). "False deaths": times a member the joiner had seen ` +
        `live was not live in its view a round later, until the run ends (all members are alive). "Full simulator" (with --full, N ≤ ${SIMULATED_UP_TO}): the same join ` +
        `with N - 1 real nodes on the simulated network.`,
      ],
    };
  },
};
