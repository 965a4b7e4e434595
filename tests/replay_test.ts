import { test } from "node:test";
import assert from "node:assert/strict";
import { generateClusterKey } from "../src/runtime/keyring.ts";
import type { ChitchatNode, NodeStats } from "../src/runtime/node.ts";
import type { Socket } from "../src/runtime/socket.ts";
import { SimulatedCluster } from "../src/testing/simulated_cluster.ts";
import { TapSocket } from "./_hostile_peer.ts";

const K1 = generateClusterKey();
const K2 = generateClusterKey();
const ATTACKER = "127.0.0.1:9999";
const IDS = ["a", "b", "c"];

interface Recorded {
  readonly from: string;
  readonly to: string;
  readonly bytes: Uint8Array;
}

/** A sealed cluster whose datagrams are recorded (up to `limit`) and whose sockets can be fed directly. */
function recordingCluster(seed: number, limit: number) {
  const recorded: Recorded[] = [];
  let recording = true;
  const taps = new Map<string, TapSocket>();
  const cluster = new SimulatedCluster({
    seed,
    nodeDefaults: {
      clusterKeys: [K1],
      failureDetector: { initialIntervalMs: 1000 },
      // Replays arrive all at once: the receive budget must not be what stops them.
      receiveLimits: { perSender: 1e6, perInterval: 1e6, inFlight: 1e6 },
    },
    onDatagram: (from, to, bytes) => {
      if (recording && recorded.length < limit) recorded.push({ from, to, bytes: bytes.slice() });
    },
  });
  const opener = async (addr: string): Promise<Socket> => {
    const tap = new TapSocket(await cluster.network.open(addr));
    taps.set(tap.localAddr, tap);
    return tap;
  };
  return {
    cluster,
    recorded,
    opener,
    stopRecording: () => void (recording = false),
    /** Hands every recorded datagram to its receiver at once (from `from`, or its real sender), then waits. */
    async replay(list: readonly Recorded[], from?: string): Promise<void> {
      for (const datagram of list) {
        taps.get(datagram.to)!.handler!(datagram.bytes, from ?? datagram.from);
      }
      for (const id of cluster.nodeIds) await cluster.node(id).whenIdle();
    },
  };
}

/** Everything observable about a node but the counters of what it received. */
function observable(node: ChitchatNode): string {
  const { datagramsIn: _in, bytesIn: _bytes, replays: _replays, authFailures: _refused, ...rest } =
    node.stats();
  return JSON.stringify([node.snapshot(), rest]);
}

function stats(cluster: SimulatedCluster): Map<string, NodeStats> {
  return new Map(cluster.nodeIds.map((id) => [id, cluster.node(id).stats()]));
}

test("1 000 recorded sealed datagrams replayed at once and a virtual minute later: none answered, nothing changed", async () => {
  const { cluster, recorded, opener, stopRecording, replay } = recordingCluster(51, 1000);
  try {
    for (const id of IDS) {
      await cluster.addNode(id, { socket: opener, initialKeyValues: { role: id.repeat(300) } });
    }
    await cluster.runUntil(() => recorded.length >= 1000 && cluster.converged(), {
      maxMs: 600_000,
    });
    stopRecording();
    await cluster.advance(1000); // whatever was recorded in flight arrives
    const kinds = new Set(recorded.map((r) => r.bytes.length > 300));
    assert.equal(
      kinds.size,
      2,
      "the recording holds small (Syn) and large (with deltas) datagrams",
    );
    for (const [id, s] of stats(cluster)) {
      assert.equal(s.replays, 0, `${id} took genuine traffic for a replay`);
    }

    const perReceiver = new Map<string, number>();
    for (const r of recorded) perReceiver.set(r.to, (perReceiver.get(r.to) ?? 0) + 1);
    for (const [phase, from] of [["at once", ATTACKER], ["a minute later", undefined]] as const) {
      if (phase === "a minute later") {
        cluster.node("a").set("later", "1");
        await cluster.advance(60_000);
        assert.ok(
          cluster.converged() && cluster.keyEverywhere("a", "later", "1"),
          "gossip went on",
        );
      }
      const before = new Map(cluster.nodeIds.map((id) => [id, observable(cluster.node(id))]));
      const statsBefore = stats(cluster);
      await replay(recorded, from);
      for (const id of cluster.nodeIds) {
        const node = cluster.node(id);
        const delivered = perReceiver.get(cluster.address(id)) ?? 0;
        assert.ok(delivered > 100, `${id} got ${delivered} of the recording`);
        const s = node.stats();
        assert.equal(
          s.replays - statsBefore.get(id)!.replays,
          delivered,
          `${phase}: ${id} counted every replay`,
        );
        assert.equal(
          s.datagramsOut,
          statsBefore.get(id)!.datagramsOut,
          `${phase}: ${id} answered a replay`,
        );
        assert.equal(observable(node), before.get(id), `${phase}: a replay changed ${id}`);
      }
      assert.equal(cluster.network.stats(ATTACKER).datagramsReceived, 0);
    }
  } finally {
    await cluster.close();
  }
});

test("a restarted sender is accepted at once; a restarted receiver refuses recordings older than the clock bound", async () => {
  const { cluster, recorded, opener, stopRecording, replay } = recordingCluster(52, 300);
  try {
    for (const id of IDS) await cluster.addNode(id, { socket: opener });
    await cluster.runUntil(() => recorded.length >= 300 && cluster.converged(), { maxMs: 120_000 });
    stopRecording();
    await cluster.advance(1000);
    // The sender restarts: new generation, new epoch, counters from 0 again.
    await cluster.kill("b");
    await cluster.addNode("b", { socket: opener });
    const generation = cluster.node("b").id.generationId;
    await cluster.runUntil(
      () =>
        cluster.nodeIds.every((id) =>
          cluster.node(id).liveNodeIds().some((n) =>
            n.nodeId === "b" && n.generationId === generation
          )
        ),
      { maxMs: 10_000 },
    );
    for (const [id, s] of stats(cluster)) {
      assert.equal(s.replays, 0, `${id} refused the restarted sender`);
    }

    // Six virtual minutes on, the receiver restarts and has forgotten every sender.
    await cluster.advance(360_000);
    await cluster.kill("a");
    const warnings: string[] = [];
    const ignore = (): void => {};
    const logger = {
      debug: ignore,
      info: ignore,
      error: ignore,
      warn: (msg: string) => void warnings.push(msg),
    };
    await cluster.addNode("a", { socket: opener, logger });
    await cluster.runUntil(() => cluster.converged(), { maxMs: 30_000 });
    const toA = recorded.filter((r) => r.to === cluster.address("a"));
    assert.ok(toA.length > 50);
    const before = observable(cluster.node("a"));
    const replaysBefore = cluster.node("a").stats().replays;
    await replay(toA, ATTACKER);
    assert.equal(cluster.node("a").stats().replays - replaysBefore, toA.length);
    assert.equal(observable(cluster.node("a")), before);
    assert.ok(
      warnings.length > 0 &&
        warnings.every((w) => /from 127\.0\.0\.1:9999: .*too far from its clock/.test(w)),
      warnings[0],
    );
  } finally {
    await cluster.close();
  }
});

test("replays stay refused through a rotation [K1, K2] -> [K2, K1] -> [K2], and the cluster never stops talking", async () => {
  const { cluster, recorded, opener, stopRecording, replay } = recordingCluster(53, 400);
  try {
    for (const id of IDS) await cluster.addNode(id, { socket: opener });
    await cluster.runUntil(() => recorded.length >= 400 && cluster.converged(), { maxMs: 120_000 });
    stopRecording();
    await cluster.advance(1000);
    for (const [step, keys] of [[K1, K2], [K2, K1], [K2]].entries()) {
      for (const id of IDS) {
        cluster.node(id).setClusterKeys(keys);
        await cluster.advance(500);
      }
      await cluster.advance(3000);
      assert.ok(cluster.converged(), `step ${step + 1}: a node was lost`);
      const statsBefore = stats(cluster);
      const before = new Map(cluster.nodeIds.map((id) => [id, observable(cluster.node(id))]));
      await replay(recorded, ATTACKER);
      let replays = 0;
      let refused = 0;
      for (const id of IDS) {
        const s = cluster.node(id).stats();
        replays += s.replays - statsBefore.get(id)!.replays;
        refused += s.authFailures - statsBefore.get(id)!.authFailures;
        assert.equal(
          observable(cluster.node(id)),
          before.get(id),
          `step ${step + 1}: a replay changed ${id}`,
        );
      }
      // Sealed with K1: replays while K1 still opens, unauthenticated once it is gone.
      assert.deepEqual(
        [replays, refused],
        step < 2 ? [recorded.length, 0] : [0, recorded.length],
        `step ${step + 1}`,
      );
    }
    // The replays above are the only refusals: real traffic never failed through the rotation.
    const total = [...stats(cluster).values()].reduce((sum, s) => sum + s.authFailures, 0);
    assert.equal(total, recorded.length);
  } finally {
    await cluster.close();
  }
});
