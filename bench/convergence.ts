/**
 * Convergence: rounds and virtual seconds until every node sees every other
 * as live (all started within one interval, one seed), then until a key set
 * on one node is on all of them; at MTU 65 507 and 1 400. Compared with the
 * epidemic lower bound log2(N) and the target 2 log2(N) + 5 rounds. Counts
 * come from the deterministic simulator and repeat exactly.
 * @module
 */

import os from "node:os";
import { advanceUntil, allLive, type Benchmark, type BenchResult, cpuMicros, round, startCluster } from "./_util.ts";

const INTERVAL_MS = 300;
const MTUS = [65_507, 1_400];
/** Steady state watched for false deaths after convergence. */
const STEADY_MS = 30_000;
/** Heap per (node, known node) pair in the simulator, measured at N = 1 000 (1.5 GB). */
const BYTES_PER_PAIR = 1_500;

/** See the module documentation. */
export const convergence: Benchmark = {
  name: "convergence",
  defaultSizes: [10, 100, 1_000],
  fullSizes: [10, 100, 1_000, 2_000, 10_000],
  perRuntime: false,
  async run({ sizes, log }): Promise<BenchResult> {
    const rows: BenchResult["rows"][number][] = [];
    const skipped: string[] = [];
    for (const n of sizes) {
      const needGb = (n * n * BYTES_PER_PAIR) / 1e9;
      if (needGb > 0.6 * os.totalmem() / 1e9) {
        // Every simulated node holds a state for every other one: N² states in one process.
        const log2 = Math.log2(n);
        for (const mtu of MTUS) {
          rows.push({ N: n, MTU: mtu, "target 2 log2 N + 5": round(2 * log2 + 5, 1), met: null });
        }
        skipped.push(
          `N = ${n.toLocaleString("en-US")} not run: the simulator would hold N² = ${(n * n / 1e6).toLocaleString("en-US")} M node ` +
            `states, about ${Math.round(needGb)} GB at ${BYTES_PER_PAIR} bytes each, on a ${Math.round(os.totalmem() / 1e9)} GB machine.`,
        );
        log(`convergence N=${n}: skipped (needs about ${Math.round(needGb)} GB)`);
        continue;
      }
      for (const mtu of MTUS) {
        const started = cpuMicros();
        let maxDatagram = 0;
        const cluster = await startCluster({
          n,
          seed: 1,
          mtu,
          intervalMs: INTERVAL_MS,
          extra: { onDatagram: (_from, _to, bytes) => void (maxDatagram = Math.max(maxDatagram, bytes.length)) },
        });
        // Deaths are read from each node's event feed, drained at every check.
        const feeds = cluster.nodeIds.map((id) => cluster.node(id).events({ bufferSize: 1_000_000 }));
        let deathCount = 0;
        const deaths = (): number => {
          for (const feed of feeds) for (const event of feed.drain()) if (event.type === "died") deathCount++;
          return deathCount;
        };
        const maxMs = INTERVAL_MS * (200 + 4 * Math.log2(n));
        const live = await advanceUntil(cluster, () => (deaths(), allLive(cluster)), { maxMs, stepMs: 10 });
        const deathsUntilLive = deaths();
        let key: number | undefined;
        if (live !== undefined) {
          const owner = cluster.node(cluster.nodeIds[n >> 1]);
          owner.set("bench.new_key", "fresh");
          const setAt = cluster.clock.now();
          const done = await advanceUntil(cluster, () => everywhere(cluster, owner.id), { maxMs, stepMs: 10 });
          key = done === undefined ? undefined : done - setAt;
        }
        // Then 30 s of steady state: any death now is a false one (nobody stops).
        const deathsBefore = deaths();
        if (live !== undefined) await cluster.advance(STEADY_MS, 10);
        const steadyDeaths = live === undefined ? null : deaths() - deathsBefore;
        const log2 = Math.log2(n);
        const liveRounds = live === undefined ? undefined : live / INTERVAL_MS;
        const keyRounds = key === undefined ? undefined : key / INTERVAL_MS;
        rows.push({
          N: n,
          MTU: mtu,
          "all live (rounds)": liveRounds === undefined ? null : round(liveRounds, 1),
          "all live (s)": live === undefined ? null : round(live / 1000, 2),
          "rounds / log2 N": liveRounds === undefined ? null : round(liveRounds / log2, 2),
          "target 2 log2 N + 5": round(2 * log2 + 5, 1),
          met: liveRounds !== undefined && liveRounds <= 2 * log2 + 5,
          "key everywhere (rounds)": keyRounds === undefined ? null : round(keyRounds, 1),
          "false deaths until all live": deathsUntilLive,
          "false deaths in next 30 s": steadyDeaths,
          "largest datagram": maxDatagram,
          "sim CPU (s)": round((cpuMicros() - started) / 1e6, 1),
        });
        log(`convergence N=${n} MTU=${mtu}: all live ${liveRounds?.toFixed(1)} rounds, key ${keyRounds?.toFixed(1)}`);
        await cluster.close();
      }
    }
    return {
      title: "Convergence (simulator, counts repeat exactly)",
      columns: [
        "N",
        "MTU",
        "all live (rounds)",
        "all live (s)",
        "rounds / log2 N",
        "target 2 log2 N + 5",
        "met",
        "key everywhere (rounds)",
        "false deaths until all live",
        "false deaths in next 30 s",
        "largest datagram",
        "sim CPU (s)",
      ],
      rows,
      notes: [
        `Interval ${INTERVAL_MS} ms, initialIntervalMs ${INTERVAL_MS}, phi 8, fanout 3, one seed (node_0), ` +
        `nodes started evenly over the first interval, 1 key per node, latency 1-2 ms, no loss. ` +
        `"All live" counts from the first node's start until every live view holds all N nodes; ` +
        `"key everywhere" from a set on one node until all N nodes hold it. "False deaths": "died" events summed over ` +
        `all observers (nobody stops in this run), while converging and in the following 30 virtual seconds. At MTU 1 400 and N = 1 000 a node hears of a ` +
        `given node's heartbeat about every two to three rounds (a datagram carries ~130 of 1 000 entries), and a node ` +
        `is live only after three heartbeat values (as in the Rust crate): that, not the detector's prior, sets the pace. ` +
        `N = 10 000 cannot run here; \`--only join\` measures a node joining a converged 10 000-node cluster instead.`,
        ...skipped,
      ],
    };
  },
};

function everywhere(
  cluster: Awaited<ReturnType<typeof startCluster>>,
  owner: { nodeId: string; generationId: number; gossipAdvertiseAddr: string },
): boolean {
  for (const id of cluster.nodeIds) {
    if (cluster.node(id).nodeState(owner)?.get("bench.new_key") !== "fresh") return false;
  }
  return true;
}
