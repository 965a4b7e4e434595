/**
 * The shape of a row of the metrics table (`metrics_table.ts`), the figures a
 * row reads, and how a sample value is written: a leaf that the table and the
 * renderer (`metrics.ts`) both import.
 * @module
 */

import type { MemberStatus, NodeSnapshot } from "../core/chitchat.ts";
import type { NodeStats } from "./node.ts";

/** The figures of one scrape, computed once from a {@linkcode MetricsSource}. */
export interface MetricFigures {
  /** The counters. */
  readonly stats: NodeStats;
  /** The cluster id. */
  readonly clusterId: string;
  /** This node, as the snapshot shows it. */
  readonly self: NodeSnapshot;
  /** Known nodes (self included) by membership status. */
  readonly members: Readonly<Record<MemberStatus, number>>;
  /** Nodes in the live view (status live and the liveness predicate holds), self included. */
  readonly liveView: number;
  /** Known nodes, self included. */
  readonly knownNodes: number;
  /** Phi of each live peer that has one (at least one sampled heartbeat interval). */
  readonly livePeerPhis: readonly number[];
}

/** One sample of a metric: its value and labels (beyond the constant ones). */
export interface MetricSample {
  /** Label name to value. */
  readonly labels?: Readonly<Record<string, string>>;
  /** The value. */
  readonly value: number;
}

/** One metric: what the renderer writes and what the README says about it. */
export interface MetricDefinition {
  /** Full name, `chitchat_` prefix, `_total` for counters. */
  readonly name: string;
  /** Prometheus type. */
  readonly type: "counter" | "gauge";
  /** The HELP line. */
  readonly help: string;
  /** What one unit counts (`bytes`, `datagrams`, `nodes`...). */
  readonly unit: string;
  /** Label names its samples carry (the constant labels of `renderMetrics` aside). */
  readonly labels: readonly string[];
  /** How an operator reads it: what a change means, what to alert on. */
  readonly reading: string;
  /** Its samples in one scrape. */
  readonly read: (figures: MetricFigures) => number | readonly MetricSample[];
}

/**
 * A sample value as the text format writes it: `NaN`, `+Inf`, `-Inf`, or the
 * number as JavaScript prints it.
 *
 * @example
 * ```ts
 * import { formatValue } from "./metric_types.ts";
 * import assert from "node:assert/strict";
 * assert.equal(formatValue(Infinity), "+Inf");
 * assert.equal(formatValue(0.5), "0.5");
 * ```
 */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}
