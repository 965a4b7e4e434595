// renderMetrics(): the Prometheus text format, label escaping, every metric
// of the table, bounded output at 10 000 peers, and figures of real nodes.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  METRICS,
  type MetricsSource,
  PHI_BUCKETS,
  PROMETHEUS_CONTENT_TYPE,
  renderMetrics,
} from "../src/runtime/metrics.ts";
import type { ClusterSnapshot, MemberStatus, NodeSnapshot } from "../src/core/chitchat.ts";
import type { NodeStats } from "../src/runtime/node.ts";
import { zeroNodeStats } from "../src/runtime/node_stats.ts";
import { SimulatedCluster } from "../src/testing/simulated_cluster.ts";

// The driver's counters all 0, and the core's two that stats() adds.
const ZERO_STATS: NodeStats = { ...zeroNodeStats(), refusedDeltas: 0, refusedMembers: 0, localPauses: 0 };

function node(nodeId: string, status: MemberStatus, phi: number | undefined, keys = {}): NodeSnapshot {
  return {
    id: { nodeId, generationId: 7, gossipAdvertiseAddr: "127.0.0.1:1" },
    status,
    inLiveView: status === "live",
    heartbeat: 42,
    maxVersion: 9,
    lastGcVersion: 0,
    phi,
    keyValues: keys,
  };
}

/** A source whose self is `selfId`, followed by `peers`. */
function source(peers: NodeSnapshot[], options: { selfId?: string; stats?: Partial<NodeStats> } = {}): MetricsSource {
  const self = node(options.selfId ?? "self", "live", undefined, { role: "api", zone: "b" });
  const snapshot: ClusterSnapshot = { clusterId: "prod", self: self.id, nodes: [self, ...peers] };
  return { stats: () => ({ ...ZERO_STATS, ...options.stats }), snapshot: () => snapshot };
}

interface Family {
  help: string;
  type: string;
  samples: Array<{ labels: Record<string, string>; value: number; raw: string }>;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/y;

/** A strict reader of the text format: throws on any line Prometheus would refuse. */
function parse(text: string): Map<string, Family> {
  assert.ok(text.endsWith("\n"), "the exposition ends with a line feed");
  const families = new Map<string, Family>();
  let current: Family | undefined;
  let currentName = "";
  for (const line of text.slice(0, -1).split("\n")) {
    const help = /^# HELP (\S+) (.+)$/.exec(line);
    const type = /^# TYPE (\S+) (counter|gauge)$/.exec(line);
    if (help !== null) {
      assert.ok(!families.has(help[1]), `${help[1]} appears once`);
      currentName = help[1];
      current = { help: help[2], type: "", samples: [] };
      families.set(currentName, current);
    } else if (type !== null) {
      assert.equal(type[1], currentName, "TYPE follows its HELP");
      assert.equal(current!.type, "", `one TYPE line for ${currentName}`);
      current!.type = type[2];
    } else {
      const sample = SAMPLE.exec(line);
      assert.ok(sample !== null, `a valid sample line: ${JSON.stringify(line)}`);
      assert.equal(sample[1], currentName, `sample ${line} sits under its own HELP and TYPE`);
      assert.notEqual(current!.type, "", `TYPE comes before the samples of ${currentName}`);
      const labels: Record<string, string> = {};
      const body = sample[2] ?? "";
      LABEL.lastIndex = 0;
      while (LABEL.lastIndex < body.length) {
        const label = LABEL.exec(body);
        assert.ok(label !== null, `valid labels in ${JSON.stringify(line)}`);
        labels[label[1]] = label[2].replace(/\\(.)/g, (_, c) => (c === "n" ? "\n" : c));
      }
      const value = sample[3] === "+Inf" ? Infinity : Number(sample[3]);
      assert.ok(!Number.isNaN(value), `a numeric value in ${line}`);
      current!.samples.push({ labels, value, raw: line });
    }
  }
  return families;
}

function value(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  const family = families.get(name);
  assert.ok(family !== undefined, `${name} is rendered`);
  const sample = family.samples.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  assert.ok(sample !== undefined, `${name} has a sample with ${JSON.stringify(labels)}`);
  return sample.value;
}

test("renderMetrics() writes every metric of METRICS with HELP and TYPE lines, in the text format", () => {
  const families = parse(renderMetrics(source([node("b", "live", 1.5), node("c", "dead", undefined)])));
  assert.deepEqual([...families.keys()], METRICS.map((m) => m.name));
  for (const metric of METRICS) {
    const family = families.get(metric.name)!;
    assert.match(metric.name, /^chitchat_[a-z0-9_]+$/);
    assert.equal(family.type, metric.type);
    assert.equal(family.help, metric.help);
    assert.equal(metric.name.endsWith("_total"), metric.type === "counter", `${metric.name}: _total iff counter`);
    assert.ok(family.samples.length > 0, `${metric.name} has samples`);
    for (const sample of family.samples) {
      assert.deepEqual(Object.keys(sample.labels).sort(), [...metric.labels].sort(), sample.raw);
    }
  }
  assert.equal(PROMETHEUS_CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
});

test("renderMetrics() reads the counters from stats() and the gauges from snapshot()", () => {
  const stats: Partial<NodeStats> = {
    datagramsIn: 11,
    bytesIn: 1100,
    datagramsOut: 12,
    bytesOut: 1200,
    decodeErrors: 3,
    unrepresentable: 16,
    authFailures: 4,
    droppedOverBudget: 5,
    droppedBacklog: 6,
    sendErrors: 7,
    rounds: 8,
    messagesIn: { syn: 1, synAck: 2, ack: 3, badCluster: 4 },
    messagesOut: { syn: 5, synAck: 6, ack: 7, badCluster: 8 },
    resets: 9,
    keyChangesApplied: 10,
    refusedDeltas: 13,
    refusedMembers: 14,
    localPauses: 17,
  };
  const peers = [
    node("b", "live", 0.2),
    node("c", "live", 9.5),
    node("d", "live", undefined),
    node("e", "dead", undefined),
    node("f", "joining", undefined),
    node("g", "scheduled", undefined),
    node("h", "left", undefined),
  ];
  const f = parse(renderMetrics(source(peers, { stats })));
  const expected: Array<[string, Record<string, string>, number]> = [
    ["chitchat_datagrams_received_total", {}, 11],
    ["chitchat_received_bytes_total", {}, 1100],
    ["chitchat_datagrams_sent_total", {}, 12],
    ["chitchat_sent_bytes_total", {}, 1200],
    ["chitchat_decode_errors_total", {}, 3],
    ["chitchat_auth_failures_total", {}, 4],
    ["chitchat_datagrams_dropped_total", { reason: "over_budget" }, 5],
    ["chitchat_datagrams_dropped_total", { reason: "backlog" }, 6],
    ["chitchat_send_errors_total", {}, 7],
    ["chitchat_gossip_rounds_total", {}, 8],
    ["chitchat_messages_total", { type: "synAck", direction: "received" }, 2],
    ["chitchat_messages_total", { type: "badCluster", direction: "sent" }, 8],
    ["chitchat_resets_total", {}, 9],
    ["chitchat_key_changes_applied_total", {}, 10],
    ["chitchat_refused_deltas_total", {}, 13],
    ["chitchat_refused_members_total", {}, 14],
    ["chitchat_local_pauses_total", {}, 17],
    ["chitchat_unrepresentable_entries_total", {}, 16],
    ["chitchat_live_members", {}, 4],
    ["chitchat_live_view_members", {}, 4],
    ["chitchat_dead_members", {}, 1],
    ["chitchat_joining_members", {}, 1],
    ["chitchat_scheduled_members", {}, 1],
    ["chitchat_left_members", {}, 1],
    ["chitchat_known_nodes", {}, 8],
    ["chitchat_own_keys", {}, 2],
    ["chitchat_own_max_version", {}, 9],
    ["chitchat_own_heartbeat", {}, 42],
    ["chitchat_peer_phi_max", {}, 9.5],
    ["chitchat_live_peers_by_phi", { le: "0.5" }, 1],
    ["chitchat_live_peers_by_phi", { le: "8" }, 1],
    ["chitchat_live_peers_by_phi", { le: "10" }, 2],
    ["chitchat_live_peers_by_phi", { le: "+Inf" }, 2],
    ["chitchat_node_info", { node_id: "self", generation_id: "7", cluster_id: "prod" }, 1],
  ];
  for (const [name, labels, want] of expected) {
    assert.equal(value(f, name, labels), want, `${name} ${JSON.stringify(labels)}`);
  }
  assert.equal(f.get("chitchat_messages_total")!.samples.length, 8);
});

test("renderMetrics() escapes backslash, double quote and line feed in label values", () => {
  const text = renderMetrics(source([], { selfId: 'a\\b"c\nd' }), { labels: { service: 'x"\\\ny' } });
  const info = text.split("\n").find((line) => line.startsWith("chitchat_node_info{"))!;
  assert.equal(
    info,
    'chitchat_node_info{service="x\\"\\\\\\ny",node_id="a\\\\b\\"c\\nd",generation_id="7",cluster_id="prod",' +
      'gossip_addr="127.0.0.1:1"} 1',
  );
  // Every line is still one sample: the line feeds in values did not split them.
  const families = parse(text);
  assert.equal(families.get("chitchat_node_info")!.samples[0].labels.node_id, 'a\\b"c\nd');
  assert.match(text, /^chitchat_live_members\{service="x\\"\\\\\\ny"\} 1$/m);
});

test("renderMetrics() refuses a constant label name Prometheus would refuse", () => {
  for (const name of ["1st", "a-b", "__reserved", ""]) {
    assert.throws(() => renderMetrics(source([]), { labels: { [name]: "v" } }), (error: unknown) => {
      assert.ok(error instanceof TypeError);
      assert.match(error.message, new RegExp(`Invalid label name ${JSON.stringify(JSON.stringify(name)).slice(1, -1)}`));
      return true;
    });
  }
});

test("renderMetrics() stays bounded with 10 000 live peers: phi is summarised, not listed per peer", () => {
  const few = renderMetrics(source([node("b", "live", 1), node("c", "live", 2)]));
  const peers: NodeSnapshot[] = [];
  for (let i = 0; i < 10_000; i++) peers.push(node(`n${i}`, "live", (i % 200) / 10)); // phi 0 .. 19.9
  const many = renderMetrics(source(peers));
  assert.equal(many.split("\n").length, few.split("\n").length);
  assert.ok(many.length < 8_000, `${many.length} characters`);
  const f = parse(many);
  const buckets = f.get("chitchat_live_peers_by_phi")!.samples;
  assert.deepEqual(buckets.map((s) => s.labels.le), [...PHI_BUCKETS.map(String), "+Inf"]);
  assert.equal(buckets.at(-1)!.value, 10_000);
  for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i].value >= buckets[i - 1].value, "cumulative");
  // phi <= 8 holds for 0.0 .. 8.0, 81 of each 200 values.
  assert.equal(value(f, "chitchat_live_peers_by_phi", { le: "8" }), 81 * 50);
  assert.equal(value(f, "chitchat_peer_phi_max"), 19.9);
  assert.equal(value(f, "chitchat_live_members"), 10_001);
});

test("renderMetrics() of simulated nodes: 3 live members, messages by type, key changes, counters that only rise", async () => {
  const cluster = new SimulatedCluster({ seed: 16 });
  try {
    for (const id of ["a", "b", "c"]) await cluster.addNode(id);
    await cluster.runUntil(() => cluster.converged(), { maxMs: 60_000 });
    cluster.node("a").set("role", "api");
    cluster.node("a").set("zone", "b");
    await cluster.advance(5_000);
    const first = parse(renderMetrics(cluster.node("b")));
    assert.equal(value(first, "chitchat_live_members"), 3);
    assert.equal(value(first, "chitchat_known_nodes"), 3);
    assert.equal(value(first, "chitchat_key_changes_applied_total"), 2);
    assert.equal(cluster.node("a").stats().keyChangesApplied, 0, "own writes are not applied from gossip");
    assert.ok(value(first, "chitchat_live_peers_by_phi", { le: "+Inf" }) <= 2);
    // Without cluster keys each datagram is one message: the types add up to the datagrams.
    const sum = (counts: Readonly<Record<string, number>>): number => Object.values(counts).reduce((x, y) => x + y, 0);
    for (const id of ["a", "b", "c"]) {
      const stats = cluster.node(id).stats();
      assert.equal(sum(stats.messagesOut), stats.datagramsOut, `${id}: messages sent`);
      assert.equal(sum(stats.messagesIn), stats.datagramsIn, `${id}: messages received`);
      for (const type of ["syn", "synAck", "ack"] as const) assert.ok(stats.messagesOut[type] > 0, `${id} sent a ${type}`);
    }
    await cluster.advance(3_000);
    const second = parse(renderMetrics(cluster.node("b")));
    for (const metric of METRICS.filter((m) => m.type === "counter")) {
      for (const sample of first.get(metric.name)!.samples) {
        assert.ok(value(second, metric.name, sample.labels) >= sample.value, sample.raw);
      }
    }
    assert.ok(value(second, "chitchat_gossip_rounds_total") > value(first, "chitchat_gossip_rounds_total"));
  } finally {
    await cluster.close();
  }
});

test("stats().resets counts catch-ups and the user's onCatchUp still runs", async () => {
  const grace = 10_000;
  const caughtUp: string[] = [];
  const cluster = new SimulatedCluster({ seed: 3, nodeDefaults: { tombstoneGracePeriodMs: grace } });
  try {
    await cluster.addNode("a");
    await cluster.addNode("b", { onCatchUp: (node) => caughtUp.push(node.nodeId) });
    for (let i = 0; i < 5; i++) cluster.node("a").set(`k${i}`, "old");
    await cluster.runUntil(() => cluster.keyEverywhere("a", "k4", "old"), { maxMs: 30_000 });
    cluster.partition(["a"], ["b"]);
    cluster.node("a").delete("k1");
    cluster.node("a").set("k3", "new");
    await cluster.advance(grace * 3);
    cluster.heal();
    await cluster.runUntil(() => cluster.keyEverywhere("a", "k3", "new"), { maxMs: 30_000 });
    assert.deepEqual(caughtUp, ["a"]);
    assert.equal(cluster.node("b").stats().resets, 1);
    assert.equal(cluster.node("a").stats().resets, 0);
  } finally {
    await cluster.close();
  }
});

test("stats().refusedDeltas is the core's count of deltas over limits.maxKeys", async () => {
  const cluster = new SimulatedCluster({ seed: 5 });
  try {
    await cluster.addNode("big");
    await cluster.addNode("small", { limits: { maxKeys: 2 }, logger: { debug() {}, info() {}, warn() {}, error() {} } });
    for (let i = 0; i < 10; i++) cluster.node("big").set(`k${i}`, "v");
    await cluster.advance(10_000);
    const refused = cluster.node("small").stats().refusedDeltas;
    assert.ok(refused > 0, `refused ${refused}`);
    assert.equal(refused, cluster.node("small").stats().refusedDeltas);
    assert.equal(value(parse(renderMetrics(cluster.node("small"))), "chitchat_refused_deltas_total"), refused);
  } finally {
    await cluster.close();
  }
});
