/**
 * A node's figures in the Prometheus text exposition format (version
 * 0.0.4), from one table of metric definitions (`metrics_table.ts`, re-exported
 * here with its types): the renderer walks it, and the README's operations section is
 * generated from it.
 * @module
 */

import type { ClusterSnapshot, MemberStatus } from "../core/chitchat.ts";
import type { NodeStats } from "./node.ts";
import { formatValue, type MetricFigures, type MetricSample } from "./metric_types.ts";
import { METRICS } from "./metrics_table.ts";

export type { MetricDefinition, MetricFigures, MetricSample } from "./metric_types.ts";
export { METRICS, PHI_BUCKETS } from "./metrics_table.ts";

/** The `content-type` of a `/metrics` answer in the text format. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** What {@linkcode renderMetrics} reads: a `ChitchatNode` fits. */
export interface MetricsSource {
  /** The node's counters. */
  stats(): NodeStats;
  /** The node's view of the cluster, self first. */
  snapshot(): ClusterSnapshot;
}

/**
 * Collects the figures of one scrape: one pass over the snapshot.
 *
 * @example
 * ```ts
 * import { spawnChitchat } from "@scope/chitchat";
 * import { collectFigures } from "./metrics.ts";
 * import assert from "node:assert/strict";
 * await using node = await spawnChitchat({ nodeId: "a", listenAddr: "127.0.0.1:0" });
 * assert.equal(collectFigures(node).members.live, 1);
 * ```
 */
export function collectFigures(source: MetricsSource): MetricFigures {
  const stats = source.stats();
  const snapshot = source.snapshot();
  const members: Record<MemberStatus, number> = { joining: 0, live: 0, dead: 0, scheduled: 0, left: 0 };
  const livePeerPhis: number[] = [];
  let liveView = 0;
  for (const [i, node] of snapshot.nodes.entries()) {
    members[node.status] = (members[node.status] ?? 0) + 1;
    if (node.inLiveView) liveView++;
    if (i > 0 && node.status === "live" && node.phi !== undefined && Number.isFinite(node.phi)) {
      livePeerPhis.push(node.phi);
    }
  }
  return {
    stats,
    clusterId: snapshot.clusterId,
    self: snapshot.nodes[0],
    members,
    liveView,
    knownNodes: snapshot.nodes.length,
    livePeerPhis,
  };
}

/** Options of {@linkcode renderMetrics}. */
export interface RenderMetricsOptions {
  /**
   * Labels added to every sample, e.g. `{ service: "search" }`. Names must
   * match `[a-zA-Z_][a-zA-Z0-9_]*` and not start with `__`; values are escaped.
   */
  readonly labels?: Readonly<Record<string, string>>;
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * Renders a node's figures in the Prometheus text exposition format 0.0.4
 * (serve it with {@linkcode PROMETHEUS_CONTENT_TYPE}): every metric of
 * {@linkcode METRICS}, each with its HELP and TYPE lines. The output has the
 * same number of lines whatever the cluster size: phi is summarised, not
 * given per peer. Throws `TypeError` for a constant label name Prometheus
 * would refuse.
 *
 * @example Serve it at /metrics
 * ```ts
 * import { renderMetrics, spawnChitchat } from "@scope/chitchat";
 * import assert from "node:assert/strict";
 * await using node = await spawnChitchat({ nodeId: "a", listenAddr: "127.0.0.1:0" });
 * const text = renderMetrics(node, { labels: { service: "search" } });
 * assert.match(text, /^chitchat_live_members\{service="search"\} 1$/m);
 * ```
 */
export function renderMetrics(source: MetricsSource, options: RenderMetricsOptions = {}): string {
  const constant = Object.entries(options.labels ?? {});
  for (const [name, value] of constant) {
    if (!LABEL_NAME.test(name) || name.startsWith("__")) {
      throw new TypeError(
        `Invalid label name ${JSON.stringify(name)}: expected [a-zA-Z_][a-zA-Z0-9_]* not starting with "__"`,
      );
    }
    if (typeof value !== "string") {
      throw new TypeError(`Invalid value of label "${name}": expected a string, got ${typeof value}`);
    }
  }
  const figures = collectFigures(source);
  const lines: string[] = [];
  for (const metric of METRICS) {
    lines.push(`# HELP ${metric.name} ${escapeHelp(metric.help)}`);
    lines.push(`# TYPE ${metric.name} ${metric.type}`);
    const read = metric.read(figures);
    const samples: readonly MetricSample[] = typeof read === "number" ? [{ value: read }] : read;
    for (const sample of samples) {
      const labels = [...constant, ...Object.entries(sample.labels ?? {})];
      const text = labels.length === 0
        ? ""
        : `{${labels.map(([name, value]) => `${name}="${escapeLabelValue(value)}"`).join(",")}}`;
      lines.push(`${metric.name}${text} ${formatValue(sample.value)}`);
    }
  }
  return lines.join("\n") + "\n";
}

/**
 * Escapes a label value for the text format: `\` as `\\`, `"` as `\"`,
 * a line feed as `\n`.
 *
 * @example
 * ```ts
 * import { escapeLabelValue } from "./metrics.ts";
 * import assert from "node:assert/strict";
 * assert.equal(escapeLabelValue('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
 * ```
 */
export function escapeLabelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => (c === "\n" ? "\\n" : `\\${c}`));
}

function escapeHelp(text: string): string {
  return text.replace(/[\\\n]/g, (c) => (c === "\n" ? "\\n" : "\\\\"));
}
