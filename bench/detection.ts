/**
 * Failure detection: virtual time from a node's silent death until it has
 * left the live view of one observer (what the Rust perf test measures) and
 * of every live node, N = 20, 40, 100, with 0 % and 50 % loss; and false
 * deaths (a live node reported dead) over 10 virtual minutes at 50 % loss.
 * Settings are the Rust perf test's: interval 300 ms, initialIntervalMs 300,
 * phi threshold 8.
 * @module
 */

import {
  advanceUntil,
  allLive,
  type Benchmark,
  type BenchResult,
  median,
  nodeName,
  round,
  startCluster,
} from "./_util.ts";

const INTERVAL_MS = 300;
const SEEDS = [1, 2, 3, 4, 5];
const WARMUP_MS = 10_000;
const STABILITY_MS = 10 * 60_000;

/** Rust figures measured here (chitchat 1e77360, perf_test.rs), one observer. */
const RUST_SECONDS: Record<string, string> = {
  "20/0": "2.1-3.0",
  "100/0": "2.7-3.3",
  "100/0.5": "3.6-4.2",
};
const TARGET_SECONDS: Record<string, number> = { "100/0": 3.3, "100/0.5": 4.2 };

/** See the module documentation. */
export const detection: Benchmark = {
  name: "detection",
  defaultSizes: [20, 40, 100],
  fullSizes: [20, 40, 100],
  perRuntime: false,
  async run({ sizes, log, full }): Promise<BenchResult> {
    const rows: BenchResult["rows"][number][] = [];
    for (const n of sizes) {
      for (const loss of [0, 0.5]) {
        // As the Rust test: killed as soon as all are live, one observer (node_1).
        const asRust: number[] = [];
        // Steady state: killed after a warm-up, until gone from every live view.
        const one: number[] = [];
        const every: number[] = [];
        for (const seed of SEEDS) {
          for (const warmup of [0, WARMUP_MS]) {
            const cluster = await startCluster({ n, seed, loss, intervalMs: INTERVAL_MS });
            await advanceUntil(cluster, () => allLive(cluster), { maxMs: 300_000, stepMs: 10 });
            await cluster.advance(warmup);
            const victim = nodeName(n - 1);
            const observer = nodeName(1);
            await cluster.kill(victim);
            const killedAt = cluster.clock.now();
            const gone = (id: string): boolean =>
              !cluster.node(id).liveNodeStates().some((state) => state.id.nodeId === victim);
            let firstObserver: number | undefined;
            const done = await advanceUntil(cluster, () => {
              if (firstObserver === undefined && gone(observer)) firstObserver = cluster.clock.now();
              return cluster.nodeIds.every(gone);
            }, { maxMs: 120_000, stepMs: 10 });
            if (warmup === 0) {
              if (firstObserver !== undefined) asRust.push(firstObserver - killedAt);
            } else {
              if (firstObserver !== undefined) one.push(firstObserver - killedAt);
              if (done !== undefined) every.push(done - killedAt);
            }
            await cluster.close();
          }
        }
        const key = `${n}/${loss}`;
        const target = TARGET_SECONDS[key];
        const s = (ms: number): number => round(ms / 1000, 2);
        rows.push({
          N: n,
          loss: `${loss * 100} %`,
          "as Rust: node_1, median (s)": s(median(asRust)),
          "as Rust: node_1, max (s)": s(Math.max(...asRust)),
          "steady: node_1, median (s)": s(median(one)),
          "steady: every view, median (s)": s(median(every)),
          "steady: every view, max (s)": s(Math.max(...every)),
          "Rust, node_1 (s)": RUST_SECONDS[key] ?? null,
          target: target === undefined ? null : `≤ ${target}`,
          "met (as Rust, max)": target === undefined ? null : Math.max(...asRust) / 1000 <= target,
          "met (every view, max)": target === undefined ? null : Math.max(...every) / 1000 <= target,
        });
        log(`detection N=${n} loss=${loss}: as Rust ${s(median(asRust))} s, every view ${s(median(every))} s`);
      }
    }
    const stability: BenchResult["rows"][number][] = [];
    for (const n of full ? [10, 100] : [10, 100]) {
      const cluster = await startCluster({ n, seed: 7, loss: 0.5, intervalMs: INTERVAL_MS });
      await advanceUntil(cluster, () => allLive(cluster), { maxMs: 300_000, stepMs: 10 });
      const feeds = cluster.nodeIds.map((id) => cluster.node(id).events({ bufferSize: 1_000_000 }));
      await cluster.advance(STABILITY_MS, 100);
      let deaths = 0;
      for (const feed of feeds) for (const event of feed.drain()) if (event.type === "died") deaths++;
      await cluster.close();
      stability.push({ N: n, deaths });
      log(`false deaths N=${n}: ${deaths}`);
    }
    const falseDeaths = stability.map((s) => `N = ${s.N}: ${s.deaths}`).join(", ");
    return {
      title: "Failure detection (simulator, virtual time)",
      columns: [
        "N",
        "loss",
        "as Rust: node_1, median (s)",
        "as Rust: node_1, max (s)",
        "steady: node_1, median (s)",
        "steady: every view, median (s)",
        "steady: every view, max (s)",
        "Rust, node_1 (s)",
        "target",
        "met (as Rust, max)",
        "met (every view, max)",
      ],
      rows,
      notes: [
        `Interval ${INTERVAL_MS} ms, initialIntervalMs ${INTERVAL_MS} (as the Rust perf test: initial_interval = gossip_interval), ` +
        `phi 8, MTU 65 507, ${SEEDS.length} seeds per row. "As Rust": the victim is killed as soon as every node sees all ` +
          `others live and the time is until node_1 drops it (perf_test.rs does this with handles[1]); few samples are in, ` +
          `so the prior (300 ms) still weighs. "Steady": killed ${WARMUP_MS / 1000} s later, until node_1 / every node drops it. ` +
        `Liveness is re-evaluated once per round, so figures move in steps of the interval.`,
        `False deaths (a live node reported dead by any node) over ${STABILITY_MS / 60_000} virtual minutes at 50 % loss: ${falseDeaths} (target 0).`,
      ],
    };
  },
};
