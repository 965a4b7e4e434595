/**
 * Memory: heap bytes per known node for one state machine that knows N
 * nodes with 10 and 100 keys each (live, with failure-detector samples),
 * measured as the heap growth after a full GC divided by N.
 * @module
 */

import { type Benchmark, type BenchResult, collectGarbage, heapAfterGc, round, runtimeVersion } from "./_util.ts";
import { feedHeartbeats, syntheticId, syntheticMachine } from "./_synthetic.ts";

/** See the module documentation. */
export const memory: Benchmark = {
  name: "memory",
  defaultSizes: [1_000, 10_000],
  fullSizes: [1_000, 10_000],
  perRuntime: true,
  async run({ sizes, log }): Promise<BenchResult> {
    const rows: BenchResult["rows"][number][] = [];
    const gcWorks = collectGarbage();
    const kept: unknown[] = [];
    const cases: Array<{ n: number; keys: number; beats: number }> = [];
    for (const n of sizes) for (const keys of [10, 100]) cases.push({ n, keys, beats: 0 });
    // Steady state: every detector window full (1 000 intervals, about 5 minutes at 300 ms).
    if (sizes.length > 0) cases.push({ n: Math.min(...sizes), keys: 10, beats: 1_000 });
    for (const { n, keys, beats } of cases) {
      {
        // Warm the code paths and caches once, so the measured growth is the state alone.
        syntheticMachine("warm", Array.from({ length: 50 }, (_, i) => syntheticId(1_000_000 + i)), keys, 0);
        const before = await heapAfterGc();
        const ids = Array.from({ length: n }, (_, i) => syntheticId(i));
        const machine = syntheticMachine("a", ids, keys, 0);
        if (beats > 0) feedHeartbeats(machine, ids, beats, 10_000);
        const after = await heapAfterGc();
        const live = machine.liveNodes().length;
        // Kept alive: a dropped machine might still be found by a conservative stack scan (Bun).
        kept.push(machine);
        const perNode = (after - before) / n;
        rows.push({
          N: n,
          "keys per node": keys,
          "detector samples": beats === 0 ? 2 : beats,
          "live nodes seen": live - 1,
          "bytes per known node": Math.round(perNode),
          "bytes per key": round((perNode) / keys, 0),
          "MB per machine": round((after - before) / 1e6, 1),
        });
        log(`memory N=${n} keys=${keys} samples=${beats}: ${Math.round(perNode)} B per node`);
      }
    }
    return {
      title: `Memory per known node (${runtimeVersion()})`,
      columns: ["N", "keys per node", "detector samples", "live nodes seen", "bytes per known node", "bytes per key", "MB per machine"],
      rows,
      notes: [
        `Heap growth after a full GC${gcWorks ? "" : " (GC could not be forced: figures are rough)"} for one state machine that ` +
        `knows N nodes (realistic ids: 13-byte name, ms generation, IPv4 address; keys "key_k" with 15-byte values), divided by N. ` +
        `Includes node state, keys, failure-detector window and membership records.`,
      ],
    };
  },
};
