/**
 * The sans-I/O protocol core, for those who drive it themselves: the
 * `Chitchat` state machine (inputs `handle…(now, …)`, outputs `poll…()`),
 * its parts (cluster and node state, membership, failure detector, peer
 * choice, handshake budgeting) and the wire (messages, the CBOR codec, the
 * `WireFormat` seam). A service that just wants a node uses `spawnChitchat`
 * from the package's main entry point instead; `./testing` has `CoreNetwork`
 * to wire state machines together in memory.
 *
 * @example Drive one state machine by hand: a round, then what it sends
 * ```ts
 * import { Chitchat } from "@scope/chitchat/core";
 * import assert from "node:assert/strict";
 * const node = new Chitchat(
 *   { id: { nodeId: "a", generationId: 1, gossipAdvertiseAddr: "127.0.0.1:1" }, clusterId: "c" },
 *   { now: 0, random: () => 0.5 },
 * );
 * node.setSeeds(["127.0.0.1:2"]);
 * node.handleTimeout(node.pollTimeout()!);
 * const sent = node.pollTransmit();
 * assert.equal(sent?.to, "127.0.0.1:2");
 * assert.equal(sent?.message.type, "syn");
 * assert.equal(node.pollTimeout(), 1000, "the next round");
 * ```
 * @module
 */

export {
  type CatchUpEvent,
  Chitchat,
  type ChitchatInit,
  type ClusterSnapshot,
  type CoreEvent,
  type KeyChangedEvent,
  LEFT_KEY,
  type LeaveCompleteEvent,
  type LiveViewEvent,
  MAX_LEAVE_NOTICES,
  type MembershipEvent,
  type MemberStatus,
  type NodeSnapshot,
  RESERVED_KEY_PREFIX,
  type Transmit,
} from "./chitchat.ts";
export { BURST_LIMITS, BurstBudget, type BurstLimits } from "./burst_budget.ts";
export { Leave, leaveNotice } from "./leave.ts";
export { LiveView } from "./live_view.ts";
export { type MemberFacts, Membership } from "./membership.ts";
export { type ChitchatLimits, EVICTABLE_AFTER_ROUNDS, MemberAdmission, type MemberLimits } from "./member_admission.ts";
export { FailureDetector, type FailureDetectorConfig } from "./failure_detector.ts";
export {
  chitchatIdCheck,
  chitchatIdFingerprint,
  type ChitchatId,
  chitchatIdKey,
  compareChitchatIds,
  formatChitchatId,
} from "./chitchat_id.ts";
export {
  ClusterState,
  type ClusterStateOptions,
  type DigestPage,
  type DigestScope,
  inRange,
  type SizedDelta,
} from "./cluster_state.ts";
export { type DeltaStatus, NodeState, type NodeStateOptions, REPLICA_ENTRY_FACTOR } from "./node_state.ts";
export type { NodeStateLimits } from "./node_limits.ts";
export type { KeyChange, KeyStatus, VersionedValue } from "./types.ts";
export type { Logger } from "./logger.ts";
export {
  type ChitchatConfig,
  type ReadonlyNodeStateLike,
  resolveChitchatConfig,
  type ResolvedChitchatConfig,
} from "./config.ts";
export {
  CATCH_UP_FANOUT,
  catchUpFanout,
  type CatchUpFanoutLimits,
  GOSSIP_FANOUT,
  type GossipTargetOptions,
  type PeerSets,
  selectGossipTargets,
} from "./peer_selection.ts";
export {
  deltaTakesWholeDatagram,
  DIGEST_TOP_UP_MIN_BYTES,
  digestTopUpBytes,
  FRESHER_SHARE,
  RAISED_CHECK_FACTOR,
  raisedHeartbeatChecks,
  SMALLEST_ENTRY_BYTES,
  SYN_ACK_DIGEST_SHARE,
  SYN_COMPACT_ENTRY_ESTIMATE_BYTES,
  SYN_FULL_ENTRY_ESTIMATE_BYTES,
  synAckDigestLimits,
  WHOLE_DATAGRAM_DELTA_SHARE,
} from "./syn_ack_budget.ts";
export type * from "./messages.ts";
export { decodeMessage, encodeMessage } from "./codec.ts";
export { MAX_DATAGRAM_SIZE, MAX_WIRE_NAME_BYTES, MESSAGE_OVERHEAD, PROTOCOL_VERSION } from "./wire_constants.ts";
export type { WireFormat, WireSizes } from "./wire_format.ts";
export { cborWireSizes } from "./wire_size.ts";
export { cborWireFormat } from "./wire/cbor.ts";
export { chitchatV0WireFormat, type ChitchatV0WireFormatOptions, chitchatV0WireSizes } from "./wire/chitchat_v0_format.ts";
export { FULL_DIGEST_MIN_MTU, FULL_PROFILE, type ProtocolProfile, RUST_V0_PROFILE } from "./protocol_profile.ts";
export { nodeStateSnapshot, type NodeStateSnapshot, type SnapshotSource } from "./node_snapshot.ts";
export type { ZstdCompressor, ZstdDecompressor } from "./wire/zstd.ts";
