import { test } from "node:test";
import assert from "node:assert/strict";
import { Chitchat } from "../src/core/chitchat.ts";
import type { DigestEntry } from "../src/core/messages.ts";
import { CATCH_UP_FANOUT, catchUpFanout, GOSSIP_FANOUT, selectGossipTargets } from "../src/core/peer_selection.ts";
import { FULL_PROFILE, type ProtocolProfile, RUST_V0_PROFILE } from "../src/core/protocol_profile.ts";
import { createRandom } from "../src/testing/random.ts";
import { memberId } from "./_helpers.ts";

const INTERVAL = 300;

test("catchUpFanout() adds one Syn per 256 members not live at MTU 1 400 (in proportion above), up to 18, during the first 64 rounds only", () => {
  assert.equal(catchUpFanout(1, 0, 1_400), GOSSIP_FANOUT);
  assert.equal(catchUpFanout(1, 255, 1_400), GOSSIP_FANOUT);
  assert.equal(catchUpFanout(1, 256, 1_400), GOSSIP_FANOUT + 1);
  assert.equal(catchUpFanout(1, 256, 576), GOSSIP_FANOUT + 1);
  assert.equal(catchUpFanout(10, 5 * 256 + 10, 1_400), GOSSIP_FANOUT + 5);
  assert.equal(catchUpFanout(10, 5 * 256 + 10, 2_800), GOSSIP_FANOUT + 2);
  assert.equal(catchUpFanout(10, 9_999, 65_507), GOSSIP_FANOUT);
  assert.equal(catchUpFanout(10, 11_978, 65_507), GOSSIP_FANOUT);
  assert.equal(catchUpFanout(10, 11_979, 65_507), GOSSIP_FANOUT + 1);
  assert.equal(catchUpFanout(CATCH_UP_FANOUT.rounds, 100_000, 1_400), CATCH_UP_FANOUT.maxFanout);
  assert.equal(catchUpFanout(CATCH_UP_FANOUT.rounds + 1, 100_000, 1_400), GOSSIP_FANOUT);
  assert.equal(catchUpFanout(5, 1_000, 1_400, { rounds: 10, maxFanout: 4, notLivePerSyn: 1 }), 4);
});

test("selectGossipTargets() picks `fanout` distinct live peers and refuses a fanout below 1", () => {
  const live = Array.from({ length: 40 }, (_, i) => `10.0.1.${i + 1}:7000`);
  const targets = selectGossipTargets({ peers: live, live, dead: [], seeds: [] }, createRandom(3), { fanout: 12 });
  assert.equal(targets.length, 12);
  assert.equal(new Set(targets).size, 12);
  assert.throws(
    () => selectGossipTargets({ peers: live, live, dead: [], seeds: [] }, createRandom(3), { fanout: 0 }),
    (error: Error) => error instanceof RangeError && /fanout must be an integer of at least 1, got 0/.test(error.message),
  );
});

/**
 * A fresh node told of `n` members it has not seen live (one heartbeat each,
 * from enough senders that none names more new members than a round allows),
 * then run for `rounds` rounds. Returns the Syns it sent in each round.
 */
function synsPerRound(n: number, rounds: number, profile?: ProtocolProfile, mtu = 1_400): number[] {
  const node = new Chitchat(
    { id: { nodeId: "young", generationId: 1, gossipAdvertiseAddr: "10.0.0.1:7280" }, clusterId: "c", mtu, gossipIntervalMs: INTERVAL },
    { now: 0, random: createRandom(7), profile },
  );
  for (let start = 0; start < n; start += 250) {
    const digest: DigestEntry[] = [];
    for (let i = start; i < Math.min(n, start + 250); i++) digest.push({ id: memberId(i), heartbeat: 1, lastGcVersion: 0, maxVersion: 0 });
    node.handleMessage(0, memberId(start).gossipAdvertiseAddr, { type: "synAck", digest, partialDigest: true, delta: [] });
  }
  while (node.pollTransmit() !== undefined);
  assert.equal(node.nodeStates().length, n + 1, "every member was taken in");
  const counts: number[] = [];
  for (let r = 0; r < rounds; r++) {
    node.handleTimeout(r * INTERVAL);
    let syns = 0;
    for (let t = node.pollTransmit(); t !== undefined; t = node.pollTransmit()) if (t.message.type === "syn") syns++;
    counts.push(syns);
    while (node.pollEvent() !== undefined);
  }
  return counts;
}

test("a young node that knows 3 000 members not yet live to it sends more Syns a round, and 3 (plus at most a dead node and a seed) once it is past its first 64 rounds", () => {
  const counts = synsPerRound(3_000, CATCH_UP_FANOUT.rounds + 3);
  // 3 + 3000 / 256 = 14 peers, plus the dead (never live) node and no seed.
  assert.ok(counts[0] >= 14, `round 1: ${counts[0]} Syns`);
  assert.ok(counts[0] <= CATCH_UP_FANOUT.maxFanout + 2, `round 1: ${counts[0]} Syns`);
  for (const count of counts.slice(CATCH_UP_FANOUT.rounds)) assert.ok(count <= GOSSIP_FANOUT + 2, `late round: ${count} Syns`);
});

test("a node whose profile turns the catch-up fanout off (the Rust crate's does) keeps the fanout of 3 while catching up", () => {
  assert.equal(RUST_V0_PROFILE.catchUpFanout, false);
  const counts = synsPerRound(3_000, 3, { ...FULL_PROFILE, catchUpFanout: false });
  for (const count of counts) assert.ok(count <= GOSSIP_FANOUT + 2, `${count} Syns`);
});

test("catchUpFanout() refuses bad input, naming the field and the value", () => {
  const cases: Array<[() => number, RegExp]> = [
    [() => catchUpFanout(Number.NaN, 10, 1_400), /round must be an integer of at least 0, got NaN/],
    [() => catchUpFanout(1, -1, 1_400), /notLive must be an integer of at least 0, got -1/],
    [() => catchUpFanout(1, 10, 0), /mtu must be a positive number, got 0/],
    [() => catchUpFanout(1, 10, 1_400, { ...CATCH_UP_FANOUT, maxFanout: 2 }), /limits.maxFanout must be an integer of at least 3, got 2/],
    [() => catchUpFanout(1, 10, 1_400, { ...CATCH_UP_FANOUT, maxFanout: 4.5 }), /limits.maxFanout must be an integer of at least 3, got 4.5/],
    [() => catchUpFanout(1, 10, 1_400, { ...CATCH_UP_FANOUT, notLivePerSyn: 0 }), /limits.notLivePerSyn must be a positive number, got 0/],
  ];
  for (const [call, message] of cases) assert.throws(call, (error: Error) => error instanceof RangeError && message.test(error.message));
});

test("a young node that knows few members keeps the fanout of 3, and so does one whose datagrams carry 65 507 bytes", () => {
  for (const count of synsPerRound(100, 3)) assert.ok(count <= GOSSIP_FANOUT + 2, `${count} Syns`);
  for (const count of synsPerRound(3_000, 3, undefined, 65_507)) assert.ok(count <= GOSSIP_FANOUT + 2, `${count} Syns`);
});
