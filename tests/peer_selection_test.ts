import { test } from "node:test";
import assert from "node:assert/strict";
import { GOSSIP_FANOUT, type PeerSets, selectGossipTargets } from "../src/core/peer_selection.ts";
import { createRandom } from "./_helpers.ts";

function addrs(prefix: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `10.0.${prefix}.${i + 1}:7000`);
}

/** A random source replaying `values`, then failing the test if drawn again. */
function scripted(values: number[]): () => number {
  let i = 0;
  return () => {
    assert.ok(i < values.length, "random source drawn more often than expected");
    return values[i++];
  };
}

test("selectGossipTargets() returns nothing when nothing is known", () => {
  assert.deepEqual(
    selectGossipTargets({ peers: [], live: [], dead: [], seeds: [] }, createRandom(1)),
    [],
  );
});

test("selectGossipTargets() picks up to three live peers", () => {
  const live = addrs("1", 10);
  const random = createRandom(2);
  for (let i = 0; i < 200; i++) {
    const targets = selectGossipTargets({ peers: live, live, dead: [], seeds: [] }, random);
    assert.equal(targets.length, GOSSIP_FANOUT);
    assert.equal(new Set(targets).size, GOSSIP_FANOUT);
    assert.ok(targets.every((t) => live.includes(t)));
  }
});

test("selectGossipTargets() takes every live peer when there are fewer than three", () => {
  const live = addrs("1", 2);
  const targets = selectGossipTargets({
    peers: [...live, ...addrs("2", 4)],
    live,
    dead: [],
    seeds: [],
  }, () => 0.99);
  assert.deepEqual(targets.sort(), [...live].sort());
});

test("selectGossipTargets() picks among all known peers while none is live", () => {
  const peers = addrs("1", 6);
  const seen = new Set<string>();
  const random = createRandom(3);
  for (let i = 0; i < 200; i++) {
    const targets = selectGossipTargets({ peers, live: [], dead: [], seeds: [] }, random);
    assert.equal(targets.length, 3);
    for (const t of targets) seen.add(t);
  }
  assert.equal(seen.size, peers.length);
});

test("selectGossipTargets() chooses live peers uniformly", () => {
  const live = addrs("1", 8);
  const counts = new Map<string, number>();
  const random = createRandom(4);
  const trials = 16_000;
  for (let i = 0; i < trials; i++) {
    for (const t of selectGossipTargets({ peers: live, live, dead: [], seeds: [] }, random)) {
      counts.set(t, (counts.get(t) ?? 0) + 1);
    }
  }
  const expected = (trials * 3) / live.length;
  for (const addr of live) {
    const count = counts.get(addr) ?? 0;
    assert.ok(
      Math.abs(count - expected) < expected * 0.05,
      `${addr} chosen ${count} times, expected ~${expected}`,
    );
  }
});

test("selectGossipTargets() adds a dead node with probability dead / (live + 1)", () => {
  const live = addrs("1", 5);
  const dead = addrs("2", 3);
  const random = createRandom(5);
  const trials = 20_000;
  let withDead = 0;
  for (let i = 0; i < trials; i++) {
    const targets = selectGossipTargets(
      { peers: [...live, ...dead], live, dead, seeds: [] },
      random,
    );
    const deadChosen = targets.filter((t) => dead.includes(t));
    assert.ok(deadChosen.length <= 1);
    withDead += deadChosen.length;
  }
  const rate = withDead / trials;
  assert.ok(Math.abs(rate - 3 / 6) < 0.02, `dead node chosen in ${rate} of the rounds`);
});

test("selectGossipTargets() always adds a dead node while no peer is live", () => {
  const dead = addrs("2", 1);
  const peers = [...addrs("1", 4), ...dead];
  // Draws: three for the sample of `peers` (the first three), the dead coin (1 / (0 + 1)), the dead index.
  const targets = selectGossipTargets(
    { peers, live: [], dead, seeds: [] },
    scripted([0, 0, 0, 0.999, 0.5]),
  );
  assert.deepEqual(targets, [...peers.slice(0, 3), dead[0]]);
});

test("selectGossipTargets() always adds a seed while no peer is live", () => {
  const seeds = addrs("9", 3);
  for (const draw of [0, 0.5, 0.99]) {
    const targets = selectGossipTargets({ peers: [], live: [], dead: [], seeds }, scripted([draw]));
    assert.deepEqual(targets, [seeds[Math.floor(draw * 3)]]);
  }
});

test("selectGossipTargets() skips the seed when a chosen live peer is a seed and enough peers are live", () => {
  const live = addrs("1", 3);
  const seeds = [live[0]];
  const targets = selectGossipTargets({ peers: live, live, dead: [], seeds }, scripted([]));
  assert.deepEqual(targets.sort(), [...live].sort());
});

test("selectGossipTargets() adds a seed with probability seeds / (live + dead) when no chosen peer is one", () => {
  const live = addrs("1", 10);
  const seeds = addrs("9", 2);
  const random = createRandom(6);
  const trials = 20_000;
  let withSeed = 0;
  for (let i = 0; i < trials; i++) {
    const targets = selectGossipTargets({ peers: live, live, dead: [], seeds }, random);
    const seedsChosen = targets.filter((t) => seeds.includes(t)).length;
    assert.ok(seedsChosen <= 1);
    withSeed += seedsChosen;
  }
  const rate = withSeed / trials;
  assert.ok(Math.abs(rate - 2 / 10) < 0.02, `seed chosen in ${rate} of the rounds`);
});

test("selectGossipTargets() may add a seed when fewer peers are live than there are seeds", () => {
  const seeds = addrs("9", 4);
  const live = seeds.slice(0, 2);
  // Both live peers are seeds, but 2 < 4 seeds: a seed is drawn (probability 4 / 2, always).
  const targets = selectGossipTargets({ peers: live, live, dead: [], seeds }, scripted([0.1, 0.9]));
  assert.equal(targets.length, 3);
  assert.ok(targets.includes(seeds[3]));
});

test("selectGossipTargets() returns distinct addresses even when a seed is also a live peer", () => {
  const live = addrs("1", 4);
  const dead = addrs("2", 4);
  const sets: PeerSets = {
    peers: [...live, ...dead],
    live,
    dead,
    seeds: [live[0], dead[0], "10.9.9.9:7000"],
  };
  const random = createRandom(7);
  for (let i = 0; i < 2000; i++) {
    const targets = selectGossipTargets(sets, random);
    assert.equal(new Set(targets).size, targets.length);
    assert.ok(targets.length <= GOSSIP_FANOUT + 2);
  }
});

test("selectGossipTargets() with probeSeeds adds a seed heard from and no known peer now with probability forgotten / (live + 1)", () => {
  // Three live peers, all chosen; one of them is a seed (so the Rust rule adds none); the other seed is forgotten.
  const live = addrs("1", 3);
  const forgotten = "10.0.9.9:7000";
  const sets: PeerSets = { peers: live, live, dead: [], seeds: [live[0], forgotten] };
  const random = createRandom(5);
  let probed = 0;
  let probedOff = 0;
  const draws = 4000;
  for (let i = 0; i < draws; i++) {
    if (selectGossipTargets(sets, random, { probeSeeds: [live[0], forgotten] }).includes(forgotten)) probed++;
    if (selectGossipTargets(sets, random).includes(forgotten)) probedOff++;
  }
  assert.ok(Math.abs(probed / draws - 1 / 4) < 0.03, `probed ${probed} of ${draws}`);
  assert.equal(probedOff, 0, "the Rust rule alone never reaches the other seed here");
});

test("selectGossipTargets() never probes a seed it was not told it heard from (another IP family, a load balancer, a dead host)", () => {
  const live = addrs("1", 3);
  const neverAnswered = "[::1]:7000";
  const sets: PeerSets = { peers: live, live, dead: [], seeds: [live[0], neverAnswered] };
  const random = createRandom(8);
  for (let i = 0; i < 1000; i++) {
    assert.ok(!selectGossipTargets(sets, random, { probeSeeds: [live[0]] }).includes(neverAnswered), `draw ${i}`);
  }
});

test("selectGossipTargets() with probeSeeds changes nothing while every seed heard from is a known peer", () => {
  const live = addrs("1", 5);
  const dead = addrs("2", 2);
  const sets: PeerSets = { peers: [...live, ...dead], live, dead, seeds: [live[0], dead[1]] };
  const a = createRandom(11);
  const b = createRandom(11);
  for (let i = 0; i < 500; i++) {
    assert.deepEqual(
      selectGossipTargets(sets, a, { probeSeeds: [live[0], dead[1]] }),
      selectGossipTargets(sets, b),
      `draw ${i}: the same targets from the same random stream`,
    );
  }
});

test("selectGossipTargets() with probeSeeds adds no second forgotten seed when the Rust rule already took one", () => {
  const forgotten = addrs("9", 2);
  // No live peer: the Rust rule always takes a seed; here both were heard from and are forgotten.
  const sets: PeerSets = { peers: [], live: [], dead: [], seeds: forgotten };
  const random = createRandom(3);
  for (let i = 0; i < 200; i++) {
    const targets = selectGossipTargets(sets, random, { probeSeeds: forgotten });
    assert.equal(targets.filter((t) => forgotten.includes(t)).length, 1, `targets ${targets}`);
  }
});
