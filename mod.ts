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

import { openUdpSocket } from "./src/adapters/open.ts";
import { type ChitchatNode, spawnNode } from "./src/runtime/node.ts";
import type { NodeConfig } from "./src/runtime/node_config.ts";

export { type AddressInput, formatAddress, normalizeAddress, parseAddress, type SocketAddress } from "./src/core/address.ts";
export {
  type ClusterSnapshot,
  LEFT_KEY,
  type MembershipEvent,
  type MemberStatus,
  type NodeSnapshot,
  RESERVED_KEY_PREFIX,
} from "./src/core/chitchat.ts";
export { type ChitchatId, chitchatIdKey, compareChitchatIds, formatChitchatId } from "./src/core/chitchat_id.ts";
export { MAX_DATAGRAM_SIZE } from "./src/core/wire_constants.ts";
export {
  type ChitchatConfig,
  DEFAULT_TOMBSTONE_GRACE_PERIOD_MS,
  MIN_MTU,
  type ReadonlyNodeStateLike,
} from "./src/core/config.ts";
export { DEFAULT_FAILURE_DETECTOR_CONFIG, type FailureDetectorConfig } from "./src/core/failure_detector.ts";
export { type LogFields, type Logger, silentLogger, splitLogArgs } from "./src/core/logger.ts";
export {
  type ConsoleLoggerOptions,
  consoleLogger,
  type LogLevel,
  type LogRecord,
  recordLogger,
  type RecordLoggerOptions,
} from "./src/runtime/logger.ts";
export {
  METRICS,
  type MetricDefinition,
  type MetricFigures,
  type MetricSample,
  type MetricsSource,
  PHI_BUCKETS,
  PROMETHEUS_CONTENT_TYPE,
  renderMetrics,
  type RenderMetricsOptions,
} from "./src/runtime/metrics.ts";
export {
  DEFAULT_NODE_STATE_LIMITS,
  type KeyChange,
  type KeyStatus,
  type NodeStateLimits,
  type VersionedValue,
} from "./src/core/node_state.ts";
export type { ChitchatLimits, MemberLimits } from "./src/core/member_admission.ts";
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
} from "./src/runtime/node.ts";
export { CLUSTER_KEY_BYTES, generateClusterKey, parseClusterKeys, SEAL_OVERHEAD, type Unsealed } from "./src/runtime/keyring.ts";
export type { NodeConfig } from "./src/runtime/node_config.ts";
export type { NodeStateSnapshot } from "./src/core/node_snapshot.ts";
export type { WireFormatName } from "./src/runtime/wire_formats.ts";
export { DEFAULT_RECEIVE_LIMITS, type ReceiveLimits } from "./src/runtime/receive_budget.ts";
export { type Resolver, systemResolver } from "./src/runtime/seeds.ts";
export {
  leaveOnSignals,
  type LeaveOnSignalsOptions,
  type SignalDisposer,
  type StopSignal,
  type Stoppable,
} from "./src/runtime/signals.ts";
export {
  AddressInUseError,
  BindError,
  type DatagramHandler,
  type Socket,
  type SocketOpener,
} from "./src/runtime/socket.ts";

// Types the handle names that ./core owns: `node.chitchat` is the state
// machine, `NodeStats` counts messages by type, a snapshot holds mutations.
// Re-exported as types only, with every type they name in turn, so that this
// entry point documents alone; their values stay in ./core.
export type { Chitchat } from "./src/core/chitchat.ts";
export type { ResolvedChitchatConfig } from "./src/core/config.ts";
export type { CatchUpEvent, CoreEvent, LeaveCompleteEvent, LiveViewEvent, Transmit } from "./src/core/events.ts";
export type { DeltaStatus, NodeState } from "./src/core/node_state.ts";
export type * from "./src/core/messages.ts";

/**
 * Starts a node: binds its socket, then gossips every interval until
 * `shutdown()`. Without a `socket` in the config it binds `listenAddr` with
 * {@linkcode openUdpSocket}, the UDP adapter of the runtime it runs on.
 * Refuses an invalid config with a `TypeError` naming the field, a taken
 * address with `AddressInUseError`, and an address it cannot bind otherwise
 * with `BindError`. Without a `logger`, warnings and errors go to the console
 * (see {@linkcode consoleLogger}).
 *
 * @example A node alone on loopback
 * ```ts
 * import { spawnChitchat } from "@scope/chitchat";
 * import assert from "node:assert/strict";
 * await using node = await spawnChitchat({ nodeId: "a", listenAddr: "127.0.0.1:0" });
 * node.set("role", "api");
 * assert.equal(node.get("role"), "api");
 * ```
 */
export function spawnChitchat(config: NodeConfig): Promise<ChitchatNode> {
  return spawnNode(config, openUdpSocket);
}
