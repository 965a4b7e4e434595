import { test } from "node:test";
import assert from "node:assert/strict";
import { SimulatedCluster } from "../src/testing/simulated_cluster.ts";

async function startCluster(
  n: number,
  options: { seed: number; loss?: number },
): Promise<SimulatedCluster> {
  const cluster = new SimulatedCluster({
    seed: options.seed,
    loss: options.loss,
    latencyMs: 2,
    jitterMs: 3,
  });
  for (let i = 0; i < n; i++) {
    await cluster.addNode(`n${i}`, { initialKeyValues: { index: String(i) } });
  }
  return cluster;
}

for (const n of [3, 20, 100]) {
  test(`SimulatedCluster of ${n} nodes converges and replicates every key`, async () => {
    const cluster = await startCluster(n, { seed: n });
    try {
      const ms = await cluster.runUntil(() => cluster.converged(), { maxMs: 120_000, stepMs: 500 });
      assert.ok(ms > 0);
      for (const id of cluster.nodeIds) {
        for (const other of cluster.nodeIds) {
          const owner = cluster.node(other).id;
          assert.equal(cluster.node(id).nodeState(owner)?.get("index"), other.slice(1));
        }
      }
    } finally {
      await cluster.close();
    }
  });
}

test("a key set on one node reaches all nodes", async () => {
  const cluster = await startCluster(10, { seed: 3 });
  try {
    await cluster.runUntil(() => cluster.converged(), { maxMs: 60_000 });
    cluster.node("n7").set("shard/1", "owner");
    const ms = await cluster.runUntil(() => cluster.keyEverywhere("n7", "shard/1", "owner"), {
      maxMs: 20_000,
    });
    assert.ok(ms <= 10_000, `took ${ms} virtual ms`);
  } finally {
    await cluster.close();
  }
});

test("a killed node is declared dead by every other node", async () => {
  const cluster = await startCluster(8, { seed: 4 });
  try {
    await cluster.runUntil(() => cluster.converged(), { maxMs: 60_000 });
    const victim = cluster.node("n3").id;
    await cluster.kill("n3");
    await cluster.runUntil(
      () =>
        cluster.nodeIds.every((id) =>
          cluster.node(id).deadNodeIds().some((d) => d.nodeId === victim.nodeId)
        ),
      { maxMs: 120_000 },
    );
    for (const id of cluster.nodeIds) {
      assert.equal(
        cluster.node(id).snapshot().nodes.find((node) => node.id.nodeId === "n3")?.status,
        "dead",
      );
      assert.ok(!cluster.liveView(id).includes("n3"));
    }
  } finally {
    await cluster.close();
  }
});

test("no node is falsely declared dead over 10 virtual minutes at 50% loss with 20 nodes", async () => {
  const cluster = await startCluster(20, { seed: 5 });
  try {
    await cluster.runUntil(() => cluster.converged(), { maxMs: 60_000 });
    cluster.network.setDefaults({ loss: 0.5 });
    const deaths: string[] = [];
    const feeds = cluster.nodeIds.map((id) => {
      const feed = cluster.node(id).events();
      void (async () => {
        for await (const event of feed) {
          if (event.type === "died") deaths.push(`${id} saw ${event.node.nodeId} die`);
        }
      })();
      return feed;
    });
    await cluster.advance(10 * 60_000, 500);
    for (const feed of feeds) feed.close();
    assert.deepEqual(deaths, []);
    assert.ok(cluster.converged());
  } finally {
    await cluster.close();
  }
});

test("a partition splits the live views and healing reunites them with no key lost", async () => {
  const cluster = await startCluster(6, { seed: 6 });
  try {
    await cluster.runUntil(() => cluster.converged(), { maxMs: 60_000 });
    const left = ["n0", "n1", "n2"];
    const right = ["n3", "n4", "n5"];
    cluster.partition(left, right);
    await cluster.runUntil(
      () =>
        left.every((id) => cluster.liveView(id).join() === left.join()) &&
        right.every((id) => cluster.liveView(id).join() === right.join()),
      { maxMs: 180_000, stepMs: 500 },
    );
    cluster.node("n1").set("during-split", "left side");
    cluster.node("n4").set("during-split", "right side");
    await cluster.advance(5_000);
    cluster.heal();
    await cluster.runUntil(
      () =>
        cluster.converged() && cluster.keyEverywhere("n1", "during-split", "left side") &&
        cluster.keyEverywhere("n4", "during-split", "right side"),
      { maxMs: 180_000, stepMs: 500 },
    );
    for (const id of cluster.nodeIds) {
      for (const other of cluster.nodeIds) {
        assert.equal(
          cluster.node(id).nodeState(cluster.node(other).id)?.get("index"),
          other.slice(1),
        );
      }
    }
  } finally {
    await cluster.close();
  }
});

test("a graceful leave is seen by every peer within two gossip rounds", async () => {
  const cluster = await startCluster(5, { seed: 7 });
  try {
    await cluster.runUntil(() => cluster.converged(), { maxMs: 60_000 });
    const start = cluster.clock.now();
    await cluster.stop("n2");
    const ms = await cluster.runUntil(
      () => cluster.nodeIds.every((id) => !cluster.liveView(id).includes("n2")),
      {
        maxMs: 10_000,
        stepMs: 50,
      },
    );
    assert.ok(
      cluster.clock.now() - start <= 2_000,
      `leave took ${cluster.clock.now() - start} ms (${ms})`,
    );
    for (const id of cluster.nodeIds) {
      assert.equal(
        cluster.node(id).snapshot().nodes.find((node) => node.id.nodeId === "n2")?.status,
        "left",
      );
    }
  } finally {
    await cluster.close();
  }
});

test("a restarted node (new generation) replaces its old incarnation", async () => {
  const cluster = await startCluster(4, {
    seed: 8,
  });
  try {
    await cluster.runUntil(() => cluster.converged(), { maxMs: 60_000 });
    const old = cluster.node("n1").id;
    await cluster.kill("n1");
    const fresh = await cluster.addNode("n1", {
      initialKeyValues: { index: "1", incarnation: "2" },
    });
    assert.ok(fresh.id.generationId > old.generationId);
    await cluster.runUntil(
      () =>
        cluster.keyEverywhere("n1", "incarnation", "2") &&
        cluster.nodeIds.every((id) =>
          cluster.node(id).liveNodeIds().some((live) =>
            live.nodeId === "n1" && live.generationId === fresh.id.generationId
          ) &&
          !cluster.node(id).liveNodeIds().some((live) => live.generationId === old.generationId)
        ),
      { maxMs: 120_000, stepMs: 500 },
    );
    for (const id of cluster.nodeIds) {
      const live = cluster.node(id).liveNodeIds().filter((n) => n.nodeId === "n1");
      assert.deepEqual(live.map((n) => n.generationId), [fresh.id.generationId]);
    }
  } finally {
    await cluster.close();
  }
});

/**
 * `ids` started with a 60 s dead-node grace period, then one restart of
 * `ids[1..]` in turn every 20 s for `minutes` virtual minutes; `each` runs
 * after every restart's 20 s.
 */
async function restartChurn(
  ids: readonly string[],
  options: {
    minutes: number;
    before?: (cluster: SimulatedCluster) => Promise<void>;
    each: (cluster: SimulatedCluster) => void;
  },
): Promise<number> {
  const cluster = new SimulatedCluster({
    seed: 15,
    latencyMs: 2,
    jitterMs: 3,
    nodeDefaults: { failureDetector: { deadNodeGracePeriodMs: CHURN_GRACE_MS } },
  });
  try {
    for (const id of ids) await cluster.addNode(id);
    await cluster.runUntil(() => cluster.converged(), { maxMs: 60_000 });
    await options.before?.(cluster);
    const restarting = ids.filter((id, i) => i > 0 && cluster.nodeIds.includes(id));
    let restarts = 0;
    for (let t = 0; t < options.minutes * 60_000; t += CHURN_EVERY_MS) {
      const id = restarting[restarts++ % restarting.length];
      await cluster.kill(id);
      await cluster.addNode(id);
      await cluster.advance(CHURN_EVERY_MS, 500);
      options.each(cluster);
    }
    return restarts;
  } finally {
    await cluster.close();
  }
}

const CHURN_GRACE_MS = 60_000;
const CHURN_EVERY_MS = 20_000;

test("old generations are reaped under continuous restarts: restarted nodes do not hand them on to each other", async () => {
  // Before the fix, a node that had just started learned every old generation
  // as a new member, gossiped it for half a grace period, and the next node
  // to start learned it from there: the states held grew with every restart.
  const ids = ["n0", "n1", "n2", "n3", "n4", "n5"];
  let maxHeld = 0;
  const restarts = await restartChurn(ids, {
    minutes: 12,
    each: (cluster) => {
      for (const id of cluster.nodeIds) {
        maxHeld = Math.max(maxHeld, cluster.node(id).nodeStates().length);
      }
    },
  });
  // A node holds each id's live generation, and the old ones of the last two
  // grace periods and a detection time at most (the grace period runs from
  // when a node learned an old generation, or saw it die).
  const bound = ids.length + Math.ceil((2 * CHURN_GRACE_MS + 30_000) / CHURN_EVERY_MS);
  assert.ok(
    maxHeld <= bound,
    `a node held ${maxHeld} node states after ${restarts} restarts (bound ${bound})`,
  );
  assert.ok(maxHeld > ids.length, `${maxHeld} states: old generations were held for a while`);
});

test("a killed node that never returns is forgotten for good, though nodes keep starting and learning from each other", async () => {
  const ids = ["n0", "n1", "n2", "n3", "n4", "n5", "gone"];
  const holders: number[] = [];
  await restartChurn(ids, {
    minutes: 8,
    before: (cluster) => cluster.kill("gone"),
    each: (cluster) => {
      holders.push(
        cluster.nodeIds.filter((id) =>
          cluster.node(id).nodeStates().some((s) => s.id.nodeId === "gone")
        ).length,
      );
    },
  });
  assert.ok(holders[0] > 0, "known right after the kill");
  // Two grace periods and a detection time after the kill, no node holds it again.
  const after = Math.ceil((2 * CHURN_GRACE_MS + 30_000) / CHURN_EVERY_MS);
  assert.deepEqual(
    holders.slice(after),
    holders.slice(after).map(() => 0),
    `holders every 20 s: ${holders.join(" ")}`,
  );
});
