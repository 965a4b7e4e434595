/**
 * The table of metrics: one definition per metric, saying what it reads from
 * a scrape's figures and how an operator reads it. `metrics.ts` renders the
 * table; the README's operations section is generated from it. The row's
 * type is in `metric_types.ts`.
 * @module
 */

import { formatValue, type MetricDefinition, type MetricSample } from "./metric_types.ts";
import type { NodeStats } from "./node.ts";

/**
 * Upper bounds (`le`) of `chitchat_live_peers_by_phi`, before `+Inf`: fine
 * below the default threshold of 8, coarse above it. Fixed, so the series
 * count does not grow with the cluster.
 */
export const PHI_BUCKETS: readonly number[] = [0.5, 1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 16];

const MESSAGE_TYPES = ["syn", "synAck", "ack", "badCluster"] as const;

function messages(stats: NodeStats): MetricSample[] {
  const samples: MetricSample[] = [];
  for (const type of MESSAGE_TYPES) {
    samples.push({ labels: { type, direction: "received" }, value: stats.messagesIn[type] });
    samples.push({ labels: { type, direction: "sent" }, value: stats.messagesOut[type] });
  }
  return samples;
}

function phiBuckets(phis: readonly number[]): MetricSample[] {
  const counts = new Array<number>(PHI_BUCKETS.length + 1).fill(0);
  for (const phi of phis) {
    let i = 0;
    while (i < PHI_BUCKETS.length && phi > PHI_BUCKETS[i]) i++;
    counts[i]++;
  }
  const samples: MetricSample[] = [];
  let cumulative = 0;
  for (const [i, count] of counts.entries()) {
    cumulative += count;
    const le = i < PHI_BUCKETS.length ? formatValue(PHI_BUCKETS[i]) : "+Inf";
    samples.push({ labels: { le }, value: cumulative });
  }
  return samples;
}

/**
 * Every metric {@linkcode renderMetrics} writes, in order. The README's
 * operations section is generated from this table.
 *
 * @example
 * ```ts
 * import { METRICS } from "@scope/chitchat";
 * import assert from "node:assert/strict";
 * assert.ok(METRICS.some((m) => m.name === "chitchat_live_members"));
 * ```
 */
export const METRICS: readonly MetricDefinition[] = [
  {
    name: "chitchat_datagrams_received_total",
    type: "counter",
    help: "UDP datagrams received, valid or not.",
    unit: "datagrams",
    labels: [],
    reading:
      "rate() is the inbound packet rate; flat at 0 with peers around means this node hears nobody.",
    read: (f) => f.stats.datagramsIn,
  },
  {
    name: "chitchat_received_bytes_total",
    type: "counter",
    help: "Bytes of the UDP datagrams received.",
    unit: "bytes",
    labels: [],
    reading: "rate() is the inbound gossip bandwidth.",
    read: (f) => f.stats.bytesIn,
  },
  {
    name: "chitchat_datagrams_sent_total",
    type: "counter",
    help: "UDP datagrams handed to the socket.",
    unit: "datagrams",
    labels: [],
    reading:
      "rate() is the outbound packet rate: about (peers per round + answers) per gossip interval.",
    read: (f) => f.stats.datagramsOut,
  },
  {
    name: "chitchat_sent_bytes_total",
    type: "counter",
    help: "Bytes of the UDP datagrams handed to the socket.",
    unit: "bytes",
    labels: [],
    reading: "rate() is the outbound gossip bandwidth; it grows with the cluster's key churn.",
    read: (f) => f.stats.bytesOut,
  },
  {
    name: "chitchat_messages_total",
    type: "counter",
    help: "Gossip messages received and sent, by type.",
    unit: "messages",
    labels: ["type", "direction"],
    reading: "type is syn, synAck, ack or badCluster; direction is received or sent. " +
      "Any badCluster means a peer of another cluster id gossips with this one.",
    read: (f) => messages(f.stats),
  },
  {
    name: "chitchat_decode_errors_total",
    type: "counter",
    help: "Received datagrams dropped because they did not decode.",
    unit: "datagrams",
    labels: [],
    reading:
      "Should stay flat: a rise means another protocol version, a foreign sender or corruption.",
    read: (f) => f.stats.decodeErrors,
  },
  {
    name: "chitchat_foreign_format_datagrams_total",
    type: "counter",
    help:
      "Received datagrams in the other wire format (CBOR or chitchat-v0), also counted as decode errors.",
    unit: "datagrams",
    labels: [],
    reading:
      "Should stay at 0: a rise means a mixed cluster, nodes set to different wireFormat values.",
    read: (f) => f.stats.foreignFormat,
  },
  {
    name: "chitchat_unrepresentable_entries_total",
    type: "counter",
    help:
      "Digest entries and node deltas left out of received datagrams because a number in them is above 2^53 - 1 (chitchat-v0).",
    unit: "entries",
    labels: [],
    reading:
      "Should stay at 0: a rise means a peer (a Rust node) holds a node with a generation id or version this side cannot represent, from a hostile or corrupt datagram.",
    read: (f) => f.stats.unrepresentable,
  },
  {
    name: "chitchat_auth_failures_total",
    type: "counter",
    help:
      "Received datagrams dropped because they did not open with a cluster key (or were not sealed).",
    unit: "datagrams",
    labels: [],
    reading:
      "Only with cluster keys. A rise means a peer has other keys (a rotation half done) or a stranger probes the port.",
    read: (f) => f.stats.authFailures,
  },
  {
    name: "chitchat_replays_total",
    type: "counter",
    help: "Received sealed datagrams that were authentic but dropped undecoded as replays.",
    unit: "datagrams",
    labels: [],
    reading:
      "Only with cluster keys. Should stay at 0: a rise means recorded datagrams are sent again, or a sender's clock is more than 5 minutes off this node's.",
    read: (f) => f.stats.replays,
  },
  {
    name: "chitchat_datagrams_dropped_total",
    type: "counter",
    help: "Received datagrams dropped unread by the receive budget.",
    unit: "datagrams",
    labels: ["reason"],
    reading: "reason over_budget: a sender or the interval exceeded receiveLimits, or the node, busy for half an interval, shed a sender that is no member; " +
      "backlog: too many datagrams were being opened already. A steady rise is a flood, or limits set too low.",
    read: (f) => [
      { labels: { reason: "over_budget" }, value: f.stats.droppedOverBudget },
      { labels: { reason: "backlog" }, value: f.stats.droppedBacklog },
    ],
  },
  {
    name: "chitchat_send_errors_total",
    type: "counter",
    help: "Sends that failed (socket or seal errors).",
    unit: "datagrams",
    labels: [],
    reading:
      "Should stay flat: a rise means an unreachable network, or a peer address that cannot be sent to.",
    read: (f) => f.stats.sendErrors,
  },
  {
    name: "chitchat_gossip_rounds_total",
    type: "counter",
    help: "Gossip rounds run.",
    unit: "rounds",
    labels: [],
    reading: "rate() is 1 / gossip interval; lower means the event loop is starved.",
    read: (f) => f.stats.rounds,
  },
  {
    name: "chitchat_resets_total",
    type: "counter",
    help:
      "Nodes rebuilt from version 0 because a peer had collected tombstones this node had not seen (catch-ups).",
    unit: "resets",
    labels: [],
    reading:
      "Rare in a healthy cluster; frequent resets mean nodes fall behind for longer than the tombstone grace period.",
    read: (f) => f.stats.resets,
  },
  {
    name: "chitchat_key_changes_applied_total",
    type: "counter",
    help:
      "Visible key changes of other nodes applied from gossip (sets, deletions, reaped TTL keys).",
    unit: "changes",
    labels: [],
    reading: "rate() is the cluster's replicated write rate as this node sees it.",
    read: (f) => f.stats.keyChangesApplied,
  },
  {
    name: "chitchat_refused_deltas_total",
    type: "counter",
    help: "Node deltas refused because this replica would exceed limits.maxKeys.",
    unit: "deltas",
    labels: [],
    reading:
      "Should stay at 0: above it, some node publishes more keys than this one accepts and its keys stop syncing here.",
    read: (f) => f.stats.refusedDeltas,
  },
  {
    name: "chitchat_local_pauses_total",
    type: "counter",
    help:
      "Times this node found it had been paused (no round and no message for more than two gossip intervals) and did not count the pause as silence of the others.",
    unit: "pauses",
    labels: [],
    reading:
      "Should stay near 0: a rise means this process is suspended or starved for whole gossip intervals at a time (a stopped VM, long GC, an overloaded host); the warning says for how long.",
    read: (f) => f.stats.localPauses,
  },
  {
    name: "chitchat_refused_members_total",
    type: "counter",
    help:
      "New nodes refused because limits.maxNodes are known or their sender exceeded limits.newNodesPerSender.",
    unit: "nodes",
    labels: [],
    reading:
      "Should stay at 0: above it, someone names more nodes than this one takes (a forged flood, or a cluster larger than limits.maxNodes); the warning names the sender.",
    read: (f) => f.stats.refusedMembers,
  },
  {
    name: "chitchat_live_members",
    type: "gauge",
    help: "Known nodes whose status is live, this node included.",
    unit: "nodes",
    labels: [],
    reading:
      "Alert when it falls below the expected cluster size, or differs between nodes for long (a partition).",
    read: (f) => f.members.live,
  },
  {
    name: "chitchat_live_view_members",
    type: "gauge",
    help: "Nodes in the live view: live and passing the liveness predicate, this node included.",
    unit: "nodes",
    labels: [],
    reading:
      "Equal to chitchat_live_members without a liveness predicate; below it, live nodes fail the predicate.",
    read: (f) => f.liveView,
  },
  {
    name: "chitchat_joining_members",
    type: "gauge",
    help: "Known nodes never yet seen live.",
    unit: "nodes",
    labels: [],
    reading:
      "Briefly above 0 while nodes join; stuck above 0 means nodes heard of but never heard from (a one-way path).",
    read: (f) => f.members.joining,
  },
  {
    name: "chitchat_dead_members",
    type: "gauge",
    help: "Nodes that were live and are now dead, not yet scheduled for deletion.",
    unit: "nodes",
    labels: [],
    reading:
      "A rise is crashes or a partition; dead nodes stay for half the dead-node grace period.",
    read: (f) => f.members.dead,
  },
  {
    name: "chitchat_scheduled_members",
    type: "gauge",
    help:
      "Nodes scheduled for deletion: no longer gossiped, removed at the end of the grace period.",
    unit: "nodes",
    labels: [],
    reading: "Old dead or left generations on their way out; restarted processes leave one each.",
    read: (f) => f.members.scheduled,
  },
  {
    name: "chitchat_left_members",
    type: "gauge",
    help: "Nodes that announced a graceful leave, this node included once it leaves.",
    unit: "nodes",
    labels: [],
    reading: "Planned departures (deploys, scale-in), as opposed to dead ones.",
    read: (f) => f.members.left,
  },
  {
    name: "chitchat_known_nodes",
    type: "gauge",
    help: "Every node this node knows of, in any status, this node included.",
    unit: "nodes",
    labels: [],
    reading: "The sum of the five status gauges; it bounds the state held in memory.",
    read: (f) => f.knownNodes,
  },
  {
    name: "chitchat_own_keys",
    type: "gauge",
    help: "Visible keys this node publishes (the library's reserved keys excepted).",
    unit: "keys",
    labels: [],
    reading: "What this node costs every replica; compare with limits.maxKeys.",
    read: (f) => Object.keys(f.self.keyValues).length,
  },
  {
    name: "chitchat_own_max_version",
    type: "gauge",
    help: "This node's max version: its count of key mutations.",
    unit: "versions",
    labels: [],
    reading: "Rises with each own write; peers converge when their view of it matches.",
    read: (f) => f.self.maxVersion,
  },
  {
    name: "chitchat_own_heartbeat",
    type: "gauge",
    help: "This node's heartbeat: bumped once a round and once per handled message.",
    unit: "heartbeats",
    labels: [],
    reading: "Must keep rising; a flat heartbeat means the node stopped gossiping.",
    read: (f) => f.self.heartbeat,
  },
  {
    name: "chitchat_peer_phi_max",
    type: "gauge",
    help: "Highest phi among live peers (0 when none has a sampled interval).",
    unit: "phi",
    labels: [],
    reading:
      "How close the most suspect live peer is to being declared dead (at the phi threshold, 8 by default).",
    read: (f) => f.livePeerPhis.reduce((max, phi) => Math.max(max, phi), 0),
  },
  {
    name: "chitchat_live_peers_by_phi",
    type: "gauge",
    help:
      "Live peers whose phi is at most le, at scrape time (cumulative, like histogram buckets).",
    unit: "nodes",
    labels: ["le"],
    reading: "A fixed set of le bounds (0.5 to 16, then +Inf) whatever the cluster size; " +
      "+Inf counts live peers with a sampled interval. histogram_quantile() applies as it is.",
    read: (f) => phiBuckets(f.livePeerPhis),
  },
  {
    name: "chitchat_node_info",
    type: "gauge",
    help: "Always 1; the labels identify this node.",
    unit: "info",
    labels: ["node_id", "generation_id", "cluster_id", "gossip_addr"],
    reading: "Join on it to name a target; generation_id changes on each restart.",
    read: (f) => [{
      labels: {
        node_id: f.self.id.nodeId,
        generation_id: String(f.self.id.generationId),
        cluster_id: f.clusterId,
        gossip_addr: f.self.id.gossipAdvertiseAddr,
      },
      value: 1,
    }],
  },
];
