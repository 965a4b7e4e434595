/**
 * Deterministic simulation tools: a seeded random source, a manual clock and
 * an in-memory UDP network with loss, duplication, jitter, an MTU and
 * partitions. Use them to test a service built on chitchat without real
 * sockets or real time: the same seed replays the same run.
 *
 * @example A seeded network on a manual clock
 * ```ts
 * import { ManualClock, MemoryNetwork } from "@scope/chitchat/testing";
 * import assert from "node:assert/strict";
 * const clock = new ManualClock();
 * const network = new MemoryNetwork({ clock, seed: 7, latencyMs: 5, loss: 0 });
 * const a = await network.open("127.0.0.1:0");
 * const b = await network.open("127.0.0.1:0");
 * let received = 0;
 * b.listen(() => received++);
 * await a.send(new Uint8Array([1, 2, 3]), b.localAddr);
 * clock.advance(5);
 * assert.equal(received, 1);
 * ```
 * @module
 */

export { createRandom, randomInt, shuffle } from "./random.ts";
export type { Random } from "./random.ts";
export { ManualClock } from "./manual_clock.ts";
export type { ManualClockOptions } from "./manual_clock.ts";
export { MemoryNetwork } from "./memory_network.ts";
export type { MemoryNetworkOptions } from "./memory_network.ts";
export type { LinkSettings, TrafficStats } from "./link_settings.ts";
export { SimulatedCluster } from "./simulated_cluster.ts";
export type { AddNodeOptions, SimulatedClusterOptions } from "./simulated_cluster.ts";
export { CoreNetwork } from "./core_network.ts";
export type { CoreNetworkOptions } from "./core_network.ts";

// Types the tools above name that the other entry points own: ./core the state
// machine and its wire (`CoreNetwork` drives `Chitchat`s), the main entry point
// the node, its config, clock and socket (`SimulatedCluster` runs `ChitchatNode`s
// on a `MemoryNetwork`). Re-exported as types only, with every type they name in
// turn, so that this entry point documents alone; their values stay where they are.
export type {
  AckMessage,
  BadClusterMessage,
  CatchUpEvent,
  Chitchat,
  ChitchatConfig,
  ChitchatId,
  ChitchatLimits,
  ClusterSnapshot,
  CompactDigestEntry,
  CoreEvent,
  Delta,
  DeltaStatus,
  Digest,
  DigestEntry,
  DigestRange,
  FailureDetectorConfig,
  KeyChange,
  KeyChangedEvent,
  KeyStatus,
  KeyValueMutation,
  LeaveCompleteEvent,
  LiveViewEvent,
  Logger,
  MemberLimits,
  MembershipEvent,
  MemberStatus,
  Message,
  NodeDelta,
  NodeDigest,
  NodeSnapshot,
  NodeState,
  NodeStateLimits,
  NodeStateSnapshot,
  ProtocolProfile,
  ReadonlyNodeStateLike,
  ResolvedChitchatConfig,
  SynAckMessage,
  SynMessage,
  Transmit,
  VersionedValue,
  WireFormat,
  WireSizes,
} from "../core/mod.ts";
export type {
  AddressInput,
  BaseFeed,
  ChitchatNode,
  Clock,
  DatagramHandler,
  Feed,
  FeedOptions,
  FeedOverflow,
  NodeConfig,
  NodeStats,
  QueueFeed,
  QueueFeedOptions,
  ReceiveLimits,
  Resolver,
  ShutdownOptions,
  Socket,
  SocketAddress,
  SocketOpener,
  WatchFeed,
  WireFormatName,
} from "../../mod.ts";
