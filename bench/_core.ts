/**
 * Driving a bare state machine in benchmarks, the way the runtime does: an
 * input, then its outputs drained.
 * @module
 */

import type { Chitchat } from "../src/core/chitchat.ts";
import type { Message } from "../src/core/messages.ts";

/** The address the benchmarks hand messages from and take replies for. */
export const BENCH_PEER = "127.0.0.1:1";

/** Takes every queued transmit of `core` (returning the messages) and drops its events. */
export function drain(core: Chitchat): Message[] {
  const messages: Message[] = [];
  for (let t = core.pollTransmit(); t !== undefined; t = core.pollTransmit()) messages.push(t.message);
  for (let e = core.pollEvent(); e !== undefined; e = core.pollEvent());
  return messages;
}

/** Hands `message` to `core` at `now`, as sent from `from`, and returns what it answered. */
export function feed(core: Chitchat, now: number, message: Message, from: string = BENCH_PEER): Message | undefined {
  core.handleMessage(now, from, message);
  return drain(core)[0];
}

/** A `Syn` of `core` now, as a gossip call makes it. */
export function synOf(core: Chitchat, now: number): Message {
  core.gossip(now, BENCH_PEER);
  return drain(core)[0];
}
