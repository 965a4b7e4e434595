import { test } from "node:test";
import assert from "node:assert/strict";
import { SeedList } from "../src/runtime/seeds.ts";
import { SimulatedCluster } from "../src/testing/simulated_cluster.ts";
import type { Logger } from "../src/core/logger.ts";

function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  const ignore = (): void => {};
  return { warnings, debug: ignore, info: ignore, error: ignore, warn: (msg: string) => warnings.push(msg) };
}

test("SeedList uses IP literals at once and removes duplicates", () => {
  const seeds = new SeedList(["127.0.0.1:1", "127.0.0.1:1", "[::1]:2"], {
    resolver: () => Promise.reject(new Error("must not be called")),
  });
  assert.equal(seeds.needsResolution, false);
  assert.deepEqual(seeds.addresses, ["127.0.0.1:1", "[::1]:2"]);
});

test("SeedList refuses a malformed seed with a TypeError quoting it", () => {
  assert.throws(() => new SeedList(["no-port"], { resolver: () => Promise.resolve([]) }), /"no-port"/);
});

test("SeedList.refresh() resolves host names and keeps the last addresses when a lookup fails", async () => {
  let answer: string[] | Error = ["127.0.0.5", "::1"];
  const logger = recordingLogger();
  const seeds = new SeedList(["seed.example:7000", "127.0.0.1:1"], {
    resolver: (host) => {
      assert.equal(host, "seed.example");
      return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
    },
    logger,
  });
  assert.equal(seeds.needsResolution, true);
  assert.deepEqual(seeds.addresses, ["127.0.0.1:1"]);
  await seeds.refresh();
  assert.deepEqual(seeds.addresses, ["127.0.0.1:1", "127.0.0.5:7000", "[::1]:7000"]);
  answer = new Error("SERVFAIL");
  await seeds.refresh();
  assert.deepEqual(seeds.addresses, ["127.0.0.1:1", "127.0.0.5:7000", "[::1]:7000"]);
  assert.equal(logger.warnings.length, 1);
  assert.match(logger.warnings[0], /seed\.example:7000 did not resolve/);
  answer = ["127.0.0.6"];
  await seeds.refresh();
  assert.deepEqual(seeds.addresses, ["127.0.0.1:1", "127.0.0.6:7000"]);
});

test("a node retries a seed that does not resolve and joins once it does", async () => {
  const cluster = new SimulatedCluster({ seed: 21 });
  try {
    await cluster.addNode("a");
    let lookups = 0;
    const logger = recordingLogger();
    await cluster.addNode("b", {
      seeds: ["seed-a.internal:10000"],
      seedRefreshIntervalMs: 10_000,
      logger,
      resolver: () => {
        lookups++;
        return lookups < 3 ? Promise.reject(new Error("NXDOMAIN")) : Promise.resolve(["127.0.0.1"]);
      },
    });
    await cluster.advance(15_000);
    assert.deepEqual(cluster.liveView("b"), ["b"], "not joined while the seed does not resolve");
    assert.ok(logger.warnings.some((w) => w.includes("did not resolve")));
    await cluster.runUntil(() => cluster.converged(), { maxMs: 120_000 });
    assert.ok(lookups >= 3);
    assert.deepEqual(cluster.node("b").seedAddresses(), ["127.0.0.1:10000"]);
  } finally {
    await cluster.close();
  }
});

test("a logger shaped like @std/log's receives the node's warnings", async () => {
  const cluster = new SimulatedCluster({ seed: 22 });
  try {
    const logger = recordingLogger();
    const node = await cluster.addNode("a", { logger });
    assert.equal(node.delete("never-set"), false);
    assert.ok(logger.warnings.some((w) => w.includes('"never-set"')));
  } finally {
    await cluster.close();
  }
});
