import { test } from "node:test";
import assert from "node:assert/strict";
import { BURST_LIMITS, BurstBudget, type BurstLimits } from "../src/core/burst_budget.ts";
import { Chitchat } from "../src/core/chitchat.ts";
import { type ChitchatId, chitchatIdKey } from "../src/core/chitchat_id.ts";
import { decodeMessage, encodeMessage } from "../src/core/codec.ts";
import type { DigestEntry, Message, NodeDelta } from "../src/core/messages.ts";
import { type ProtocolProfile, RUST_V0_PROFILE } from "../src/core/protocol_profile.ts";
import { createRandom } from "../src/testing/random.ts";
import { memberId } from "./_helpers.ts";

const MTU = 1_400;
const INTERVAL = 300;
const HOLDER_ADDR = "10.0.0.1:7280";
const JOINER_ADDR = "10.0.0.2:7280";

/** Three keys of 30-byte values per member, versions 1 to 3. */
function memberDelta(id: ChitchatId, i: number): NodeDelta {
  const keyValues = [0, 1, 2].map((k) => ({ key: `key_${k}`, value: `v${i}-${k}-`.padEnd(30, "x"), version: k + 1, status: "set" as const }));
  return { id, fromVersionExcluded: 0, lastGcVersion: 0, maxVersion: 3, keyValues };
}

/**
 * A node of `ids.length` members, each seen live (three heartbeats), fed by
 * several peers so no sender names more new members than a round allows.
 * `beat(now)` feeds one more heartbeat of every member.
 */
function holderOf(
  ids: readonly ChitchatId[],
  options: { mtu?: number; profile?: ProtocolProfile; burstLimits?: BurstLimits } = {},
) {
  const holder = new Chitchat(
    { id: { nodeId: "holder", generationId: 1, gossipAdvertiseAddr: HOLDER_ADDR }, clusterId: "c", mtu: options.mtu ?? MTU, gossipIntervalMs: INTERVAL },
    { now: 0, random: createRandom(1), profile: options.profile, burstLimits: options.burstLimits },
  );
  let heartbeat = 0;
  const beat = (now: number, withKeys = false): void => {
    heartbeat++;
    for (let start = 0; start < ids.length; start += 100) {
      const digest: DigestEntry[] = [];
      const delta: NodeDelta[] = [];
      for (let i = start; i < Math.min(ids.length, start + 100); i++) {
        digest.push({ id: ids[i], heartbeat, lastGcVersion: 0, maxVersion: 3 });
        if (withKeys) delta.push(memberDelta(ids[i], i));
      }
      holder.handleMessage(now, `10.9.9.${start / 100}:7280`, { type: "synAck", digest, partialDigest: true, delta });
    }
    holder.handleTimeout(now);
    drainEvents(holder);
    while (holder.pollTransmit() !== undefined);
  };
  for (let t = 1; t <= 3; t++) beat(t * INTERVAL, t === 1);
  return { holder, beat };
}

function drainEvents(node: Chitchat): void {
  while (node.pollEvent() !== undefined);
}

function joinerNode(now: number): Chitchat {
  return new Chitchat(
    { id: { nodeId: "joiner", generationId: 1, gossipAdvertiseAddr: JOINER_ADDR }, clusterId: "c", mtu: MTU, gossipIntervalMs: INTERVAL },
    { now, random: createRandom(2) },
  );
}

/** What `from` sends `to` in answer to `message`, each datagram through the codec. */
function answers(from: Chitchat, to: string, now: number, message: Message): Uint8Array[] {
  from.handleMessage(now, to, decodeMessage(encodeMessage(message)));
  drainEvents(from);
  const out: Uint8Array[] = [];
  for (let t = from.pollTransmit(); t !== undefined; t = from.pollTransmit()) {
    assert.equal(t.to, to);
    out.push(encodeMessage(t.message));
  }
  return out;
}

/** The joiner's Syn to the holder now. */
function synOf(joiner: Chitchat, now: number): Message {
  joiner.gossip(now, HOLDER_ADDR);
  const t = joiner.pollTransmit();
  assert.ok(t !== undefined && t.message.type === "syn");
  return t.message;
}

/** Every member the joiner holds agrees with the holder: no key missing below the versions it has. */
function assertComplete(joiner: Chitchat, holder: Chitchat, ids: readonly ChitchatId[]): number {
  let whole = 0;
  for (const id of ids) {
    const mine = joiner.nodeState(id);
    if (mine === undefined || mine.maxVersion === 0) continue;
    const theirs = holder.nodeState(id)!;
    for (let k = 0; k < 3; k++) {
      const key = `key_${k}`;
      if (k + 1 <= mine.maxVersion) assert.equal(mine.get(key), theirs.get(key), `${id.nodeId} ${key} below version ${mine.maxVersion}`);
    }
    if (mine.maxVersion === theirs.maxVersion) whole++;
  }
  return whole;
}

test("BurstBudget: per-peer bytes and datagrams per round, whole again each round", () => {
  const budget = new BurstBudget({ piecesPerAnswer: 8, bytesPerPeerPerRound: 3_000, datagramsPerRound: 3 });
  assert.ok(budget.allows("a", 1_400));
  budget.spend("a", 1_400);
  budget.spend("a", 1_400);
  assert.ok(!budget.allows("a", 1_400), "a third piece would pass the peer's 3 000 bytes");
  assert.ok(budget.allows("b", 1_400), "another peer has its own bytes");
  budget.spend("b", 1_400);
  assert.ok(!budget.allows("c", 100), "three datagrams this round, to all peers together");
  budget.newRound();
  assert.ok(budget.allows("a", 1_400) && budget.allows("c", 1_400));
  assert.equal(new BurstBudget().limits, BURST_LIMITS);
  assert.throws(() => new BurstBudget({ ...BURST_LIMITS, bytesPerPeerPerRound: -1 }), /burstLimits\.bytesPerPeerPerRound .* got -1/);
  assert.throws(() => new BurstBudget({ ...BURST_LIMITS, piecesPerAnswer: 1.5 }), /burstLimits\.piecesPerAnswer .* got 1\.5/);
});

test("a Syn from a node far behind gets a SynAck and a burst: every datagram fits the MTU, no node goes twice, each applies", () => {
  const ids = Array.from({ length: 300 }, (_, i) => memberId(i));
  const { holder } = holderOf(ids);
  const now = 4 * INTERVAL;
  const joiner = joinerNode(now);
  const datagrams = answers(holder, JOINER_ADDR, now, synOf(joiner, now));
  assert.ok(datagrams.length >= 2 && datagrams.length <= 1 + BURST_LIMITS.piecesPerAnswer, `${datagrams.length} datagrams`);
  const seen = new Set<string>();
  let bytes = 0;
  for (const [i, datagram] of datagrams.entries()) {
    assert.ok(datagram.length <= MTU, `datagram ${i}: ${datagram.length} bytes`);
    const message = decodeMessage(datagram);
    assert.ok(message.type === (i === 0 ? "synAck" : "ack"), `datagram ${i} is a ${message.type}`);
    if (message.type !== "synAck" && message.type !== "ack") continue;
    for (const nodeDelta of message.delta) {
      const key = chitchatIdKey(nodeDelta.id);
      assert.ok(!seen.has(key), `${nodeDelta.id.nodeId} in two datagrams`);
      seen.add(key);
    }
    if (i > 0) bytes += datagram.length;
  }
  assert.ok(bytes <= BURST_LIMITS.bytesPerPeerPerRound, `burst of ${bytes} bytes`);
  // The burst carried more than one datagram's worth; taken in, every node it named is complete.
  for (const datagram of datagrams) joiner.handleMessage(now, HOLDER_ADDR, decodeMessage(datagram));
  const whole = assertComplete(joiner, holder, ids);
  const alone = decodeMessage(datagrams[0]);
  assert.ok(alone.type === "synAck");
  assert.ok(whole > alone.delta.length * 2, `${whole} members whole after the burst, ${alone.delta.length} in the SynAck alone`);
});

test("catch-up with every other burst datagram lost: what arrives applies, later rounds bring the rest", () => {
  const ids = Array.from({ length: 400 }, (_, i) => memberId(i));
  const { holder, beat } = holderOf(ids);
  let now = 4 * INTERVAL;
  const joiner = joinerNode(now);
  let delivered = 0;
  let lost = 0;
  let rounds = 0;
  for (; rounds < 60 && assertComplete(joiner, holder, ids) < ids.length; rounds++) {
    now += INTERVAL;
    beat(now);
    const datagrams = answers(holder, JOINER_ADDR, now, synOf(joiner, now));
    for (const [i, datagram] of datagrams.entries()) {
      if (i % 2 === 1) {
        lost++;
        continue;
      }
      delivered++;
      joiner.handleMessage(now, HOLDER_ADDR, decodeMessage(datagram));
      assertComplete(joiner, holder, ids);
    }
    drainEvents(joiner);
    while (joiner.pollTransmit() !== undefined);
  }
  assert.equal(assertComplete(joiner, holder, ids), ids.length, `after ${rounds} rounds`);
  assert.ok(lost > 0 && delivered > lost, `${delivered} delivered, ${lost} lost`);
});

test("no burst to a peer in step, nor under the chitchat-v0 profile", () => {
  const ids = Array.from({ length: 300 }, (_, i) => memberId(i));
  const { holder, beat } = holderOf(ids);
  let now = 4 * INTERVAL;
  const joiner = joinerNode(now);
  // Catch up without loss, then a Syn of a peer in step is answered by one SynAck.
  for (let r = 0; r < 20 && assertComplete(joiner, holder, ids) < ids.length; r++) {
    now += INTERVAL;
    beat(now);
    for (const datagram of answers(holder, JOINER_ADDR, now, synOf(joiner, now))) {
      joiner.handleMessage(now, HOLDER_ADDR, decodeMessage(datagram));
    }
    drainEvents(joiner);
    while (joiner.pollTransmit() !== undefined);
  }
  assert.equal(assertComplete(joiner, holder, ids), ids.length);
  assert.equal(answers(holder, JOINER_ADDR, now, synOf(joiner, now)).length, 1, "in step: the SynAck alone");

  const v0 = holderOf(ids, { mtu: 65_507, profile: RUST_V0_PROFILE }).holder;
  const fresh = joinerNode(now);
  const syn = synOf(fresh, now);
  assert.equal(answers(v0, JOINER_ADDR, now, syn).length, 1, "v0: one SynAck per Syn, as the Rust crate answers");
  const on = holderOf(ids).holder;
  assert.ok(answers(on, JOINER_ADDR, now, synOf(joinerNode(now), now)).length > 1, "the same holder with bursts on");

  const off = holderOf(ids, { burstLimits: { ...BURST_LIMITS, piecesPerAnswer: 0 } }).holder;
  assert.equal(answers(off, JOINER_ADDR, now, synOf(joinerNode(now), now)).length, 1, "piecesPerAnswer 0: no burst");
});

test("a node answering many peers that are behind sends at most datagramsPerRound burst datagrams a round", () => {
  const ids = Array.from({ length: 300 }, (_, i) => memberId(i));
  const { holder } = holderOf(ids);
  const now = 4 * INTERVAL;
  let burst = 0;
  for (let p = 0; p < 10; p++) {
    const addr = `10.0.1.${p}:7280`;
    const peer = new Chitchat(
      { id: { nodeId: `peer-${p}`, generationId: 1, gossipAdvertiseAddr: addr }, clusterId: "c", mtu: MTU, gossipIntervalMs: INTERVAL },
      { now, random: createRandom(10 + p) },
    );
    peer.gossip(now, HOLDER_ADDR);
    const syn = peer.pollTransmit()!.message;
    burst += answers(holder, addr, now, syn).length - 1;
  }
  assert.equal(burst, BURST_LIMITS.datagramsPerRound, "the first peers get bursts until the round's datagrams are spent");
});
