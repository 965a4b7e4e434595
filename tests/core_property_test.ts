/**
 * Property tests of the protocol core with fixed seeds: random operations and
 * message loss always end in equal states once messages flow again; no
 * applied message ever lowers a node's `(lastGcVersion, maxVersion)`; no
 * encoded message ever exceeds the MTU.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Chitchat } from "../src/core/chitchat.ts";
import { decodeMessage, encodeMessage } from "../src/core/codec.ts";
import type { Message, NodeDelta } from "../src/core/messages.ts";
import { NodeState } from "../src/core/node_state.ts";
import {
  allEqual,
  createNode,
  createRandom,
  gossipRound,
  handshake,
  makeId,
  type Random,
  storedEntries,
  answer,
  soloRound,
} from "./_helpers.ts";

const ROUND_MS = 1000;
const GRACE_MS = 6000;

function pick<T>(random: Random, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)];
}

/** One random owner operation on `node` at `now`. */
function randomOperation(random: Random, node: Chitchat, now: number): void {
  const key = `key-${Math.floor(random() * 12)}`;
  const value = pick(random, ["", "a", "b", "some value", "é€😀", "v".repeat(200)]);
  const op = random();
  if (op < 0.45) node.self.set(key, value);
  else if (op < 0.65) node.self.delete(key, now);
  else if (op < 0.8) node.self.setWithTtl(key, value, now);
  else node.self.deleteAfterTtl(key, now);
}

for (const seed of [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]) {
  test(`Chitchat.handleMessage() makes nodes equal after random operations, pauses and loss (seed ${seed})`, () => {
    const random = createRandom(seed);
    const n = 3 + (seed % 4);
    const mtu = seed % 2 === 0 ? 1200 : 65_507;
    const nodes: Chitchat[] = Array.from({ length: n }, (_, i) =>
      createNode(`n${i}`, 11_000 + i, {
        mtu,
        random: createRandom(seed * 100 + i),
        tombstoneGracePeriodMs: GRACE_MS,
        failureDetector: { initialIntervalMs: ROUND_MS, deadNodeGracePeriodMs: 3_600_000 },
      }));
    const seeds = [nodes[0].id.gossipAdvertiseAddr, nodes[1].id.gossipAdvertiseAddr];
    const loss = 0.1 + random() * 0.4;
    // A paused node neither gossips nor is reached, like a process stopped in a debugger.
    const pausedUntil = new Map<Chitchat, number>();
    const active = (node: Chitchat) => (pausedUntil.get(node) ?? 0) <= now;
    let now = 0;
    // Phase 1: operations, pauses, time jumps and lossy gossip; every applied message is checked.
    for (let round = 0; round < 80; round++) {
      for (let ops = Math.floor(random() * 5); ops > 0; ops--) {
        randomOperation(random, pick(random, nodes), now);
      }
      if (random() < 0.05) {
        pausedUntil.set(pick(random, nodes), now + 2000 + Math.floor(random() * 3 * GRACE_MS));
      }
      now += 200 + Math.floor(random() * 1600);
      gossipRound(nodes, now, {
        mtu,
        seeds,
        active,
        checkMonotonic: true,
        lose: () => random() < loss,
      });
    }
    pausedUntil.clear();
    // Phase 2: no loss until everyone agrees.
    let quiet = 0;
    while (!allEqual(nodes)) {
      now += ROUND_MS;
      gossipRound(nodes, now, { mtu, seeds, checkMonotonic: true });
      quiet++;
      assert.ok(quiet <= 30, `seed ${seed}: not equal after ${quiet} loss-free rounds`);
    }
    // Phase 3: past the grace period every tombstone and TTL key is reaped everywhere.
    for (const stop = now + GRACE_MS + 2 * ROUND_MS; now < stop;) {
      now += ROUND_MS;
      gossipRound(nodes, now, { mtu, seeds, checkMonotonic: true });
    }
    for (const owner of nodes) {
      const expected = storedEntries(owner.self);
      assert.ok(expected.every((entry) => entry.endsWith("/set")));
      for (const node of nodes) {
        const replica = node.nodeState(owner.id);
        assert.ok(replica !== undefined, `${node.id.nodeId} lost ${owner.id.nodeId}`);
        assert.deepEqual(
          storedEntries(replica),
          expected,
          `${owner.id.nodeId} as seen by ${node.id.nodeId}`,
        );
        assert.equal(replica.maxVersion, owner.self.maxVersion);
      }
      assert.equal(owner.liveNodes().length, n);
    }
  });
}

/** A string of exactly `bytes` UTF-8 bytes, mixing 1-, 2-, 3- and 4-byte characters. */
function textOfBytes(random: Random, bytes: number, prefix = ""): string {
  let text = prefix;
  let left = bytes - new TextEncoder().encode(prefix).length;
  while (left > 0) {
    const width = Math.min(left, 1 + Math.floor(random() * 4));
    text += ["x", "é", "€", "😀"][width - 1];
    left -= width;
  }
  return text;
}

for (const mtu of [1200, 65_507]) {
  test(`Chitchat.handleMessage() never answers above the MTU of ${mtu} with keys and values near the limits`, () => {
    const random = createRandom(mtu);
    for (let trial = 0; trial < 4; trial++) {
      const n = 2 + Math.floor(random() * 5);
      const nodes: Chitchat[] = Array.from(
        { length: n },
        (_, i) =>
          createNode(textOfBytes(random, 1 + Math.floor(random() * 60), `n${i}-`), 12_000 + i, {
            mtu,
            generationId: pick(random, [1, 2 ** 31, 1_700_000_000_000]),
            random: createRandom(trial * 10 + i),
            limits: { maxKeyBytes: pick(random, [64, 256]), maxKeys: 10_000 },
          }),
      );
      let sizes = 0;
      for (const node of nodes) {
        const { maxKeyBytes, maxValueBytes } = node.config.limits;
        const keys = Math.floor(random() * (mtu === 1200 ? 40 : 8)) + 1;
        for (let k = 0; k < keys; k++) {
          const key = textOfBytes(random, maxKeyBytes - Math.floor(random() * 3), `${k}:`);
          const value = textOfBytes(random, maxValueBytes - Math.floor(random() * 4));
          if (random() < 0.2) node.self.setWithTtl(key, value, 0);
          else node.self.set(key, value);
          if (random() < 0.1) node.self.delete(key, 0);
          sizes += key.length + value.length;
        }
      }
      assert.ok(sizes > 0);
      let now = 0;
      let largest = 0;
      const options = {
        mtu,
        checkMonotonic: true,
        onMessage: (m: Message) => {
          largest = Math.max(largest, encodeMessage(m).length);
        },
      };
      // Pairwise exchanges in random order (overTheWire asserts the MTU on each datagram).
      for (let step = 0; step < 12 * n && !allEqual(nodes); step++) {
        now += ROUND_MS;
        const a = pick(random, nodes);
        const b = pick(random, nodes);
        if (a !== b) handshake(a, b, now, options);
      }
      for (let round = 0; round < 80 && !allEqual(nodes); round++) {
        now += ROUND_MS;
        gossipRound(nodes, now, { ...options, seeds: [nodes[0].id.gossipAdvertiseAddr] });
      }
      assert.ok(largest > mtu / 2, `largest datagram ${largest} bytes`);
      assert.ok(allEqual(nodes), `trial ${trial}: the big states did not converge`);
    }
  });
}

/** A random delta for `id` that the codec would accept: increasing versions above `from`. */
function randomDelta(random: Random, id: NodeDelta["id"], around: number): NodeDelta {
  const from = random() < 0.15 ? 0 : Math.max(0, around + Math.floor(random() * 10) - 7);
  const max = from + Math.floor(random() * 6);
  const lastGc = random() < 0.7 ? 0 : Math.floor(random() * (max + 8));
  const keyValues = [];
  let version = from;
  while (version < max) {
    version += 1 + Math.floor(random() * 2);
    if (version > max) break;
    const status = pick(random, ["set", "set", "deleted", "deleteAfterTtl"] as const);
    keyValues.push({
      key: `k${Math.floor(random() * 5)}`,
      value: status === "deleted" ? "" : "v",
      version,
      status,
    });
  }
  return { id, fromVersionExcluded: from, lastGcVersion: lastGc, maxVersion: max, keyValues };
}

test("NodeState.applyDelta() never lowers (lastGcVersion, maxVersion) whatever deltas arrive", () => {
  const random = createRandom(77);
  const id = makeId("replica", 7000);
  let applied = 0;
  let resets = 0;
  for (let trial = 0; trial < 200; trial++) {
    const state = new NodeState(id);
    let now = 0;
    for (let step = 0; step < 60; step++) {
      now += 100;
      const before: [number, number] = [state.lastGcVersion, state.maxVersion];
      const status = state.applyDelta(randomDelta(random, id, state.maxVersion), now);
      if (status === "applied") applied++;
      if (status === "reset") resets++;
      if (random() < 0.1) state.collectGarbage(now, 300);
      const [gc, max] = [state.lastGcVersion, state.maxVersion];
      assert.ok(
        gc > before[0] || (gc === before[0] && max >= before[1]),
        `(${before}) -> (${gc},${max})`,
      );
      for (const [, vv] of state.versionedEntries()) {
        assert.ok(vv.version <= state.maxVersion, "no entry above the max version");
      }
    }
  }
  assert.ok(applied > 1000 && resets > 20, `${applied} applied, ${resets} resets`);
});

/** A random message that the codec accepts, about a few nodes of which one is `self`. */
function randomMessage(random: Random, ids: readonly NodeDelta["id"][]): Message {
  const digest = ids.filter(() => random() < 0.6).map((id) => ({
    id,
    heartbeat: Math.floor(random() * 50),
    lastGcVersion: Math.floor(random() * 10),
    maxVersion: Math.floor(random() * 30),
  }));
  const delta = ids.filter(() => random() < 0.5).map((id) =>
    randomDelta(random, id, Math.floor(random() * 25))
  );
  const kind = random();
  if (kind < 0.3) {
    return {
      type: "syn",
      clusterId: random() < 0.9 ? "test" : "other",
      digest,
      partialDigest: random() < 0.3,
    };
  }
  if (kind < 0.6) return { type: "synAck", digest, partialDigest: random() < 0.3, delta };
  if (kind < 0.95) return { type: "ack", delta, ...(random() < 0.5 ? { digest } : {}) };
  return { type: "badCluster" };
}

test("Chitchat.handleMessage() never throws nor lowers versions on random well-formed messages", () => {
  const random = createRandom(99);
  const ids = Array.from({ length: 5 }, (_, i) => makeId(`n${i}`, 13_000 + i, 1 + (i % 2)));
  for (let trial = 0; trial < 20; trial++) {
    const node = createNode("n0", 13_000, {
      generationId: 1,
      mtu: pick(random, [1200, 65_507]),
      random: createRandom(trial),
      tombstoneGracePeriodMs: 2000,
    });
    node.self.set("mine", "1");
    let now = 0;
    for (let step = 0; step < 150; step++) {
      now += Math.floor(random() * 700);
      const message = randomMessage(random, ids);
      const before = new Map(
        [...node.nodeStates()].map((s) => [s.id, [s.lastGcVersion, s.maxVersion]] as const),
      );
      const reply = answer(node, decodeMessage(encodeMessage(message)), now);
      if (reply !== undefined) assert.ok(encodeMessage(reply).length <= node.config.mtu);
      for (const state of node.nodeStates()) {
        const previous = before.get(state.id);
        if (previous === undefined) continue;
        const [gc, max] = [state.lastGcVersion, state.maxVersion];
        assert.ok(
          gc > previous[0] || (gc === previous[0] && max >= previous[1]),
          `${state.id.nodeId}: (${previous}) -> (${gc},${max})`,
        );
      }
      if (random() < 0.3) soloRound(node, now);
      assert.equal(node.self.get("mine"), "1");
    }
  }
});
