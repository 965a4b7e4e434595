/**
 * Phi-accrual failure detection. Each heartbeat increase seen for a node is a
 * sample; phi is the silence since the last one over the smoothed mean
 * interval. Rule kept here: a dead node's samples are cleared, and a node
 * with no interval sampled yet is not live.
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
 * Tracks heartbeats per node key and classifies nodes as live or dead.
 *
 * Call order: `reportHeartbeat(key, now)` whenever a node's heartbeat grows;
 * `updateLiveness(key, now)` for every known node once per round; then
 * `collectGarbage(now)` to learn which dead nodes to remove.
 *
 * @example
 * ```ts
 * import { FailureDetector } from "@scope/chitchat";
 * import assert from "node:assert/strict";
 * const fd = new FailureDetector();
 * for (let t = 0; t <= 10_000; t += 1000) fd.reportHeartbeat("a", t);
 * assert.equal(fd.updateLiveness("a", 10_500), true);
 * assert.equal(fd.updateLiveness("a", 60_000), false);
 * ```
 */
export class FailureDetector {
  /** The settings in force. */
  readonly config: FailureDetectorConfig;
  #windows = new Map<string, SamplingWindow>();
  #live = new Set<string>();
  #dead = new Map<string, number>();

  /** Creates a detector; missing settings take their defaults. */
  constructor(config: Partial<FailureDetectorConfig> = {}) {
    this.config = { ...DEFAULT_FAILURE_DETECTOR_CONFIG, ...config };
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
    const mean = (window.sum + PRIOR_WEIGHT * this.config.initialIntervalMs) /
      (window.length + PRIOR_WEIGHT);
    return Math.max(0, now - window.lastHeartbeat) / mean;
  }

  /** Re-evaluates `key` at `now`; returns true when it is live. */
  updateLiveness(key: string, now: number): boolean {
    const phi = this.phi(key, now);
    if (phi !== undefined && phi <= this.config.phiThreshold) {
      this.#live.add(key);
      this.#dead.delete(key);
      return true;
    }
    this.markDead(key, now);
    return false;
  }

  /** Declares `key` dead at `now` (unless already dead) and clears its samples. */
  markDead(key: string, now: number): void {
    this.#live.delete(key);
    if (!this.#dead.has(key)) this.#dead.set(key, now);
    this.#windows.get(key)?.clear();
  }

  /** True when `key` was live at its last evaluation. */
  isLive(key: string): boolean {
    return this.#live.has(key);
  }

  /** When `key` was declared dead, or `undefined` when it is not dead. */
  timeOfDeath(key: string): number | undefined {
    return this.#dead.get(key);
  }

  /** Keys live at their last evaluation. */
  liveKeys(): IterableIterator<string> {
    return this.#live.values();
  }

  /** Keys declared dead, with their time of death. */
  deadEntries(): IterableIterator<[string, number]> {
    return this.#dead.entries();
  }

  /** True when `key` has been dead for more than half the grace period at `now`. */
  isScheduledForDeletion(key: string, now: number): boolean {
    const death = this.#dead.get(key);
    return death !== undefined && death + this.config.deadNodeGracePeriodMs / 2 < now;
  }

  /** Forgets dead nodes whose grace period has passed at `now` and returns their keys. */
  collectGarbage(now: number): string[] {
    const removed: string[] = [];
    for (const [key, death] of this.#dead) {
      if (now >= death + this.config.deadNodeGracePeriodMs) removed.push(key);
    }
    for (const key of removed) this.forget(key);
    return removed;
  }

  /** Drops everything known about `key`. */
  forget(key: string): void {
    this.#windows.delete(key);
    this.#live.delete(key);
    this.#dead.delete(key);
  }
}
