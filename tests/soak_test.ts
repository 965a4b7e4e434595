// Short soaks, the long ones being bench/soak_sim.ts and bench/soak_udp.ts:
// 30 virtual minutes of churn on 20 simulated nodes through the model
// checker, and 30 real seconds of 10 example nodes (Deno and Bun) on
// loopback with restarts, writes and SSE clients.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runSoak, soakVerdict } from "./model/soak.ts";
import { runUdpSoak, udpSoakVerdict } from "./fixtures/udp_soak.ts";

describe("soak", () => {
  it("20 simulated nodes under churn for 30 virtual minutes: checker clean, heap, timers and states bounded", async () => {
    const soak = await runSoak(7, {
      nodes: 20,
      durationMs: 30 * 60_000,
      sampleEveryMs: 3 * 60_000,
      tombstoneGracePeriodMs: 120_000,
      deadNodeGracePeriodMs: 240_000,
    });
    assert.ok(soak.samples.length >= 8, `${soak.samples.length} samples`);
    // A slow CI runner gets 20 %: the run is short, so one GC's timing weighs more.
    const verdict = soakVerdict(soak, { warmUpMs: 12 * 60_000, heapTolerance: 0.2 });
    assert.deepEqual(verdict.problems, []);
    // The node states held stay within what the churn allows (one per node id,
    // plus the incarnations ended within two grace periods): restarted nodes
    // handing old generations on to each other grew past it within minutes.
    assert.ok(
      verdict.maxKnown <= soak.statesBound,
      `${verdict.maxKnown} node states, bound ${soak.statesBound}`,
    );
    assert.ok(
      verdict.maxKnown > 20,
      `${verdict.maxKnown} node states: ended incarnations were held for a while`,
    );
    assert.ok(soak.result.datagrams > 100_000, `${soak.result.datagrams} datagrams`);
  });

  it(
    "10 example nodes on real UDP for 30 s with restarts and SSE clients: RSS, descriptors and timers flat, no error",
    {
      timeout: 110_000,
    },
    async () => {
      const result = await runUdpSoak({ durationMs: 30_000, nodes: 10, sampleEveryMs: 3_000 });
      // Short run: RSS still settles after start, hence 30 % here (20 % in the bench).
      const { rows, problems } = udpSoakVerdict(result, 9_000, 0.3);
      assert.deepEqual(problems, []);
      assert.equal(rows.length, 5);
      assert.ok(result.restarts >= 10, `${result.restarts} restarts`);
      assert.ok(
        result.sseBytes > 0 && result.writes > 50,
        `${result.sseBytes} SSE bytes, ${result.writes} writes`,
      );
    },
  );
});
