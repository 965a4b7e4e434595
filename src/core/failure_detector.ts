/**
 * Phi-accrual failure detection, and nothing else: each heartbeat increase
 * seen for a node is a sample; phi is the silence since the last one over the
 * smoothed mean interval. Which status a node has is `membership.ts`'s
 * business. Rule kept here: a node with no interval sampled yet has no phi.
 * @module
 */

import { defaultsOf, FAILURE_DETECTOR_SETTINGS } from "./settings_table.ts";

/**
 * Failure detector settings; every duration is in milliseconds. The
 * defaults, ranges and descriptions come from `FAILURE_DETECTOR_SETTINGS`
 * (settings_table.ts); a test keeps this JSDoc equal to them.
 */
export interface FailureDetectorConfig {
  /** Phi above this means dead. Default: 8. */
  readonly phiThreshold: number;
  /** Intervals kept per node. Default: 1000. */
  readonly samplingWindowSize: number;
  /** Intervals above this are ignored (a pause, not a rhythm). Default: 10 000 ms. */
  readonly maxIntervalMs: number;
  /** The prior mean interval, weighted as 5 samples, so new nodes do not flap. Default: 5000 ms. */
  readonly initialIntervalMs: number;
  /** Dead nodes are scheduled for deletion at half of this and removed at the end. Default: 86 400 000 ms (24 h). */
  readonly deadNodeGracePeriodMs: number;
}

/** The defaults listed on {@linkcode FailureDetectorConfig}. */
export const DEFAULT_FAILURE_DETECTOR_CONFIG: FailureDetectorConfig = defaultsOf(FAILURE_DETECTOR_SETTINGS);

const PRIOR_WEIGHT = 5;

/**
 * A ring buffer of intervals with a running sum. Intervals are kept as 32-bit
 * floats (sub-microsecond at these magnitudes) in storage that grows with the
 * samples up to the window size: 4 KB for a full window of 1 000, and
 * thousands of young windows stay small.
 */
class SamplingWindow {
  #values: Float32Array | undefined = undefined;
  #length = 0;
  #size: number;
  #index = 0;
  #sum = 0;
  lastHeartbeat: number | undefined = undefined;

  constructor(size: number) {
    this.#size = size;
  }

  get length(): number {
    return this.#length;
  }

  get sum(): number {
    return this.#sum;
  }

  add(interval: number): void {
    const value = Math.fround(interval);
    if (this.#length < this.#size) {
      let values = this.#values;
      if (values === undefined || this.#length === values.length) {
        const grown = new Float32Array(Math.min(this.#size, Math.max(8, 2 * this.#length)));
        if (values !== undefined) grown.set(values);
        this.#values = values = grown;
      }
      values[this.#length++] = value;
    } else {
      const values = this.#values!;
      this.#sum -= values[this.#index];
      values[this.#index] = value;
      this.#index = (this.#index + 1) % this.#size;
    }
    this.#sum += value;
  }

  clear(): void {
    this.#values = undefined;
    this.#length = 0;
    this.#index = 0;
    this.#sum = 0;
  }
}

/**
 * Heartbeat samples per node key, and phi from them.
 *
 * Call order: `reportHeartbeat(key, now)` whenever a node's heartbeat grows;
 * `phi(key, now)` or `isAlive(key, now)` whenever its status is evaluated;
 * `clearSamples(key)` when it is declared dead, so that it starts afresh if it
 * comes back; `forget(key)` when it is removed.
 *
 * @example
 * ```ts
 * import { FailureDetector } from "@scope/chitchat/core";
 * import assert from "node:assert/strict";
 * const fd = new FailureDetector();
 * for (let t = 0; t <= 10_000; t += 1000) fd.reportHeartbeat("a", t);
 * assert.equal(fd.isAlive("a", 10_500), true);
 * assert.equal(fd.isAlive("a", 60_000), false);
 * ```
 */
export class FailureDetector {
  /** The settings in force. */
  readonly config: FailureDetectorConfig;
  #windows = new Map<string, SamplingWindow>();

  #minMeanMs: number;

  /**
   * Creates a detector; missing settings take their defaults. With
   * `options.minMeanMs` (the gossip interval, for a node's own detector)
   * phi never divides by a mean below it: in a small cluster a node's
   * heartbeat, raised once per message it handles and passed on by every
   * peer, is seen several times a round, and a mean of a fraction of a round
   * would declare it dead after a few rounds lost in a row.
   */
  constructor(config: Partial<FailureDetectorConfig> = {}, options: { readonly minMeanMs?: number } = {}) {
    this.config = { ...DEFAULT_FAILURE_DETECTOR_CONFIG, ...config };
    const minMean = options.minMeanMs ?? 0;
    if (!Number.isFinite(minMean) || minMean < 0) {
      throw new RangeError(`FailureDetector: minMeanMs must be a number of at least 0, got ${minMean}`);
    }
    this.#minMeanMs = minMean;
  }

  /** Records a heartbeat increase of `key` seen at `now`. */
  reportHeartbeat(key: string, now: number): void {
    let window = this.#windows.get(key);
    if (window === undefined) {
      window = new SamplingWindow(this.config.samplingWindowSize);
      this.#windows.set(key, window);
    }
    if (window.lastHeartbeat !== undefined) {
      const interval = now - window.lastHeartbeat;
      if (interval >= 0 && interval <= this.config.maxIntervalMs) window.add(interval);
    }
    window.lastHeartbeat = now;
  }

  /** Phi of `key` at `now`, or `undefined` before any interval was sampled. */
  phi(key: string, now: number): number | undefined {
    const window = this.#windows.get(key);
    if (window === undefined || window.length === 0 || window.lastHeartbeat === undefined) {
      return undefined;
    }
    const mean = Math.max(
      this.#minMeanMs,
      (window.sum + PRIOR_WEIGHT * this.config.initialIntervalMs) / (window.length + PRIOR_WEIGHT),
    );
    return Math.max(0, now - window.lastHeartbeat) / mean;
  }

  /** Milliseconds since the last heartbeat of `key` was seen, or `undefined` if none was. */
  silence(key: string, now: number): number | undefined {
    const last = this.#windows.get(key)?.lastHeartbeat;
    return last === undefined ? undefined : Math.max(0, now - last);
  }

  /** True when `key` has a phi at `now` and it is at most the threshold. */
  isAlive(key: string, now: number): boolean {
    const phi = this.phi(key, now);
    return phi !== undefined && phi <= this.config.phiThreshold;
  }

  /** Clears the samples of `key` (keeping the time of its last heartbeat): a dead node starts afresh. */
  clearSamples(key: string): void {
    this.#windows.get(key)?.clear();
  }

  /**
   * This node itself stood still for `ms` (its process was suspended or
   * starved, so nothing was received): moves every node's last heartbeat
   * `ms` later, so the pause is not taken as silence of the others and is
   * not sampled as an interval. A node that was really silent is still
   * detected, `ms` later.
   */
  discountPause(ms: number): void {
    if (!(ms > 0)) return;
    for (const window of this.#windows.values()) {
      if (window.lastHeartbeat !== undefined) window.lastHeartbeat += ms;
    }
  }

  /** Drops everything known about `key`. */
  forget(key: string): void {
    this.#windows.delete(key);
  }
}
