/**
 * Bandwidth: steady-state bytes and datagrams per node per second at a
 * 300 ms interval (the Rust perf test's settings), and the extra bytes one
 * changed key costs the cluster until every node has it. Counts from the
 * deterministic simulator; compared with the Rust crate measured here.
 * @module
 */

import { advanceUntil, allLive, type Benchmark, type BenchResult, round, startCluster } from "./_util.ts";

const INTERVAL_MS = 300;
const WINDOW_MS = 9_000;

/** Bytes per node per second the Rust crate (1e77360, perf_test.rs) measured on this kind of machine. */
const RUST_BYTES_PER_NODE_S: Record<number, number> = { 10: 9_900, 20: 19_700, 40: 39_000, 100: 97_000 };

/** See the module documentation. */
export const bandwidth: Benchmark = {
  name: "bandwidth",
  defaultSizes: [10, 20, 40, 100],
  fullSizes: [10, 20, 40, 100, 1_000],
  perRuntime: false,
  async run({ sizes, log }): Promise<BenchResult> {
    const rows: BenchResult["rows"][number][] = [];
    for (const n of sizes) {
      for (const mtu of n <= 100 ? [65_507] : [65_507, 1_400]) {
        let synBytes = 0;
        let synCount = 0;
        let maxDatagram = 0;
        let counting = false;
        const cluster = await startCluster({
          n,
          seed: 1,
          mtu,
          intervalMs: INTERVAL_MS,
          extra: {
            onDatagram: (_from, _to, bytes) => {
              if (!counting) return;
              maxDatagram = Math.max(maxDatagram, bytes.length);
              // [version, type, ...]: the type is the third byte of every message.
              if (bytes[2] === 0) {
                synBytes += bytes.length;
                synCount++;
              }
            },
          },
        });
        await advanceUntil(cluster, () => allLive(cluster), { maxMs: 600_000, stepMs: 10 });
        await cluster.advance(3_000);
        counting = true;
        const before = cluster.network.totals();
        await cluster.advance(WINDOW_MS);
        const steady = cluster.network.totals();
        counting = false;
        const perSecond = (x: number): number => x / n / (WINDOW_MS / 1000);
        const bytes = perSecond(steady.bytesSent - before.bytesSent);
        const datagrams = perSecond(steady.datagramsSent - before.datagramsSent);
        // One key changed on one node per round, then until the last change is everywhere:
        // the bytes above the steady rate, per change.
        const changes = WINDOW_MS / INTERVAL_MS;
        const changeStart = cluster.clock.now();
        for (let i = 0; i < changes; i++) {
          cluster.node(cluster.nodeIds[i % n]).set("bench.changing", `value-${i}`);
          await cluster.advance(INTERVAL_MS);
        }
        const last = cluster.node(cluster.nodeIds[(changes - 1) % n]).id;
        const expected = `value-${changes - 1}`;
        await advanceUntil(
          cluster,
          () => cluster.nodeIds.every((id) => cluster.node(id).nodeState(last)?.get("bench.changing") === expected),
          { maxMs: 60_000, stepMs: 10 },
        );
        const after = cluster.network.totals();
        const changeSeconds = (cluster.clock.now() - changeStart) / 1000;
        const perChange = (after.bytesSent - steady.bytesSent - bytes * n * changeSeconds) / changes;
        await cluster.close();
        const rust = RUST_BYTES_PER_NODE_S[n];
        rows.push({
          N: n,
          MTU: mtu,
          "bytes/node/s": Math.round(bytes),
          "datagrams/node/s": round(datagrams, 1),
          "mean Syn bytes": synCount === 0 ? null : Math.round(synBytes / synCount),
          "largest datagram": maxDatagram,
          "Rust bytes/node/s": rust ?? null,
          "vs Rust": rust === undefined ? null : round(bytes / rust, 2),
          "target ≤ half": rust === undefined ? null : bytes <= rust / 2,
          "cluster bytes per changed key": Math.round(perChange),
        });
        log(`bandwidth N=${n} MTU=${mtu}: ${Math.round(bytes)} B/node/s, ${datagrams.toFixed(1)} datagrams/node/s`);
      }
    }
    return {
      title: "Bandwidth in steady state (simulator, counts repeat exactly)",
      columns: [
        "N",
        "MTU",
        "bytes/node/s",
        "datagrams/node/s",
        "mean Syn bytes",
        "largest datagram",
        "Rust bytes/node/s",
        "vs Rust",
        "target ≤ half",
        "cluster bytes per changed key",
      ],
      rows,
      notes: [
        `Interval ${INTERVAL_MS} ms, initialIntervalMs ${INTERVAL_MS}, 1 key per node (10-byte value), ` +
        `measured over ${WINDOW_MS / 1000} s starting 3 s after every node saw all others live. ` +
        `Rust figures: chitchat 1e77360 perf_test.rs (in-process transport, same settings), measured on this kind of machine.`,
      ],
    };
  },
};
