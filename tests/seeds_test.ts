import { test } from "node:test";
import assert from "node:assert/strict";
import { SeedList } from "../src/runtime/seeds.ts";
import { ManualClock } from "../src/testing/manual_clock.ts";
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

test("a node retries a seed that does not resolve, sooner while it never has, and joins once it does", async () => {
  const cluster = new SimulatedCluster({ seed: 21 });
  try {
    await cluster.addNode("a");
    const lookups: number[] = [];
    const logger = recordingLogger();
    await cluster.addNode("b", {
      seeds: ["seed-a.internal:10000"],
      seedRefreshIntervalMs: 10_000,
      logger,
      resolver: () => {
        lookups.push(cluster.clock.now());
        return lookups.length < 4 ? Promise.reject(new Error("NXDOMAIN")) : Promise.resolve(["127.0.0.1"]);
      },
    });
    const start = lookups[0];
    await cluster.advance(2_500);
    assert.deepEqual(cluster.liveView("b"), ["b"], "not joined while the seed does not resolve");
    assert.equal(logger.warnings.filter((w) => w.includes("did not resolve")).length, 1, "one warning per streak");
    await cluster.runUntil(() => cluster.converged(), { maxMs: 30_000 });
    // Retries 1, 2 and 4 s after each failed lookup ended (not the 10 s refresh interval), then the usual
    // interval. The simulation lets promises settle between 100 ms steps, so a lookup ends a few steps late.
    const gaps = lookups.slice(1, 4).map((t, i) => t - lookups[i]);
    assert.ok(lookups[0] === start && [1_000, 2_000, 4_000].every((ms, i) => gaps[i] >= ms && gaps[i] < ms + 1_000), `${gaps}`);
    await cluster.advance(12_000);
    const last = lookups.at(-1)! - lookups.at(-2)!;
    assert.ok(last >= 10_000 && last < 11_000, `${last}`);
    assert.deepEqual(cluster.node("b").seedAddresses(), ["127.0.0.1:10000"]);
    assert.equal(logger.warnings.filter((w) => w.includes("did not resolve")).length, 1);
  } finally {
    await cluster.close();
  }
});

test("SeedList warns once per name per failure streak, and again after the name recovered and failed anew", async () => {
  const answers = new Map<string, string[] | Error>([["a.example", ["10.0.0.1"]], ["b.example", new Error("SERVFAIL")]]);
  const logger = recordingLogger();
  const infos: string[] = [];
  const seeds = new SeedList(["a.example:1", "b.example:2"], {
    resolver: (host) => {
      const answer = answers.get(host)!;
      return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
    },
    logger: { ...logger, info: (msg: string) => void infos.push(msg) },
  });
  for (let i = 0; i < 5; i++) await seeds.refresh();
  assert.deepEqual(logger.warnings, ["Seed b.example:2 did not resolve (SERVFAIL); retrying, no address known yet"]);
  assert.deepEqual(seeds.failing, ["b.example:2"]);
  answers.set("a.example", Object.assign(new Error("getaddrinfo ENOTFOUND a.example"), { code: "ENOTFOUND" }));
  for (let i = 0; i < 5; i++) await seeds.refresh();
  assert.equal(logger.warnings.length, 2);
  assert.equal(logger.warnings[1], "Seed a.example:1 did not resolve (getaddrinfo ENOTFOUND a.example); retrying, keeping 10.0.0.1:1");
  assert.deepEqual(seeds.addresses, ["10.0.0.1:1"], "the last known address stays a seed");
  answers.set("a.example", ["10.0.0.3", "10.0.0.3", "not-an-ip"]);
  await seeds.refresh();
  assert.deepEqual(infos, ["Seed a.example:1 resolves again, to 10.0.0.3:1"]);
  assert.deepEqual(seeds.addresses, ["10.0.0.3:1"], "duplicates and non-addresses are left out");
  answers.set("a.example", []);
  await seeds.refresh();
  assert.equal(logger.warnings.length, 3, "a new streak, a new warning");
  assert.match(logger.warnings[2], /a\.example:1 did not resolve \(no address\); retrying, keeping 10\.0\.0\.3:1/);
  assert.deepEqual(seeds.addresses, ["10.0.0.3:1"], "an empty answer keeps the last known addresses");
  assert.deepEqual(seeds.failing.sort(), ["a.example:1", "b.example:2"]);
});

test("SeedList.refresh() never blocks: a resolver that never answers or throws costs the lookup timeout at most", async () => {
  const clock = new ManualClock();
  const logger = recordingLogger();
  let hang = true;
  const seeds = new SeedList(["slow.example:7", "sync.example:8", "10.0.0.9:9"], {
    resolver: (host) => {
      if (host === "sync.example") throw new Error("thrown, not rejected");
      return hang ? new Promise<string[]>(() => {}) : Promise.resolve(["10.0.0.7"]);
    },
    logger,
    clock,
    lookupTimeoutMs: 2_000,
  });
  let done = false;
  const first = seeds.refresh().then(() => (done = true));
  assert.equal(seeds.refresh(), seeds.refresh(), "a refresh while one runs shares it");
  clock.advance(1_999);
  await Promise.resolve();
  assert.equal(done, false);
  clock.advance(1);
  await first;
  assert.deepEqual(seeds.addresses, ["10.0.0.9:9"], "the literal is a seed throughout");
  assert.equal(logger.warnings.length, 2);
  assert.ok(logger.warnings.some((w) => w.includes("slow.example:7 did not resolve (no answer within 2000 ms)")));
  assert.ok(logger.warnings.some((w) => w.includes("sync.example:8 did not resolve (thrown, not rejected)")));
  assert.equal(clock.pendingTimers, 0, "no timeout left behind");
  hang = false;
  await seeds.refresh();
  assert.deepEqual(seeds.addresses, ["10.0.0.9:9", "10.0.0.7:7"]);
  assert.throws(() => new SeedList([], { resolver: () => Promise.resolve([]), lookupTimeoutMs: 0 }), RangeError);
});

test("a node whose resolver never answers still gossips every round with its literal seeds", async () => {
  const cluster = new SimulatedCluster({ seed: 23 });
  try {
    await cluster.addNode("a");
    const node = await cluster.addNode("b", {
      seeds: ["stuck.internal:10000", cluster.address("a")],
      seedRefreshIntervalMs: 1_000,
      logger: recordingLogger(),
      resolver: () => new Promise<string[]>(() => {}),
    });
    await cluster.runUntil(() => cluster.converged(), { maxMs: 10_000 });
    const rounds = node.stats().rounds;
    await cluster.advance(30_000);
    assert.equal(node.stats().rounds - rounds, 30, "one round a second, lookups hanging or not");
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
