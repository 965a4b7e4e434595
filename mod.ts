/**
 * Cluster membership for Deno, Bun and Node: gossip over UDP, scuttlebutt
 * reconciliation of a per-node key-value state, and phi-accrual failure
 * detection. The TypeScript sibling of Quickwit's Rust `chitchat`.
 *
 * Loading this module touches no Deno, Bun or Node global: the UDP adapter
 * for the running runtime is loaded when the first node starts.
 *
 * @example Start a node, publish a key, watch the live view
 * ```ts
 * import { spawnChitchat } from "@scope/chitchat";
 * import assert from "node:assert/strict";
 *
 * await using node = await spawnChitchat({
 *   nodeId: "api-1",
 *   listenAddr: "127.0.0.1:0",
 *   initialKeyValues: { role: "api" },
 * });
 * for await (const live of node.liveNodes()) {
 *   assert.equal(live[0].get("role"), "api");
 *   break;
 * }
 * ```
 * @module
 */

export { type AddressInput, formatAddress, normalizeAddress, parseAddress, type SocketAddress } from "./src/core/address.ts";
export {
  Chitchat,
  type ChitchatInit,
  type ClusterSnapshot,
  LEFT_KEY,
  type MembershipEvent,
  type MemberStatus,
  type NodeSnapshot,
  RESERVED_KEY_PREFIX,
} from "./src/core/chitchat.ts";
export { type ChitchatId, chitchatIdKey, compareChitchatIds, formatChitchatId } from "./src/core/chitchat_id.ts";
export {
  ClusterState,
  type ClusterStateOptions,
  type DigestPage,
  type DigestScope,
  type SizedDelta,
} from "./src/core/cluster_state.ts";
export { decodeMessage, encodeMessage, MAX_DATAGRAM_SIZE, PROTOCOL_VERSION } from "./src/core/codec.ts";
export {
  type ChitchatConfig,
  DEFAULT_TOMBSTONE_GRACE_PERIOD_MS,
  MIN_MTU,
  type ReadonlyNodeStateLike,
  invalidConfig,
  resolveChitchatConfig,
  type ResolvedChitchatConfig,
} from "./src/core/config.ts";
export {
  DEFAULT_FAILURE_DETECTOR_CONFIG,
  FailureDetector,
  type FailureDetectorConfig,
} from "./src/core/failure_detector.ts";
export { type Logger, silentLogger } from "./src/core/logger.ts";
export { type ConsoleLoggerOptions, consoleLogger, type LogLevel } from "./src/runtime/logger.ts";
export type {
  AckMessage,
  BadClusterMessage,
  CompactDigestEntry,
  Delta,
  Digest,
  DigestEntry,
  DigestRange,
  KeyValueMutation,
  Message,
  NodeDelta,
  NodeDigest,
  SynAckMessage,
  SynMessage,
} from "./src/core/messages.ts";
export {
  DEFAULT_NODE_STATE_LIMITS,
  type DeltaStatus,
  type KeyChange,
  type KeyStatus,
  NodeState,
  type NodeStateLimits,
  type NodeStateOptions,
  type VersionedValue,
} from "./src/core/node_state.ts";
export { GOSSIP_FANOUT, type PeerSets, selectGossipTargets } from "./src/core/peer_selection.ts";
export { openUdpSocket } from "./src/adapters/open.ts";
export { type Clock, systemClock } from "./src/runtime/clock.ts";
export {
  BaseFeed,
  type Feed,
  type FeedOptions,
  type FeedOverflow,
  QueueFeed,
  type QueueFeedOptions,
  WatchFeed,
} from "./src/runtime/feed.ts";
export {
  type ChitchatEvent,
  ChitchatNode,
  type KeyChangedEvent,
  type NodeStats,
  type ShutdownOptions,
  spawnChitchat,
} from "./src/runtime/node.ts";
export {
  CLUSTER_KEY_BYTES,
  generateClusterKey,
  Keyring,
  type KeyringOptions,
  parseClusterKeys,
  SEAL_OVERHEAD,
  SEALED_FORMAT_MARKER,
  type Unsealed,
} from "./src/runtime/keyring.ts";
export { type NodeConfig, validateNodeConfig, type ValidatedNodeConfig } from "./src/runtime/node_config.ts";
export { DEFAULT_RECEIVE_LIMITS, ReceiveBudget, type ReceiveLimits } from "./src/runtime/receive_budget.ts";
export { type Resolver, SeedList, systemResolver } from "./src/runtime/seeds.ts";
export {
  AddressInUseError,
  BindError,
  type DatagramHandler,
  type Socket,
  type SocketOpener,
} from "./src/runtime/socket.ts";
