/**
 * Link settings and traffic counters of the memory network, with their
 * validation: latencies are finite and >= 0, probabilities lie in [0, 1].
 * @module
 */

/** How datagrams travel over a link; every field is optional when overriding. */
export interface LinkSettings {
  /** Fixed one-way delay in milliseconds. Network default 1. */
  latencyMs?: number;
  /** Extra delay drawn uniformly from `[0, jitterMs)` per datagram copy; reorders. Default 0. */
  jitterMs?: number;
  /** Probability in `[0, 1]` that a datagram is lost. Default 0. */
  loss?: number;
  /** Probability in `[0, 1]` that a delivered datagram arrives twice. Default 0. */
  duplicate?: number;
}

/** Traffic counters of one address. */
export interface TrafficStats {
  /** Datagrams this address sent (`send` resolved), dropped ones included. */
  datagramsSent: number;
  /** Payload bytes of `datagramsSent`. */
  bytesSent: number;
  /** Datagram copies handed to this address's handler (duplicates count twice). */
  datagramsReceived: number;
  /** Payload bytes of `datagramsReceived`. */
  bytesReceived: number;
  /** Copies sent by this address that the network discarded: oversized, cut, lost, or nobody listening on arrival. */
  dropped: number;
  /** Extra copies the network created for this address's datagrams. */
  duplicated: number;
}

/**
 * Returns a fresh all-zero {@linkcode TrafficStats}.
 *
 * @example
 * ```ts
 * import { zeroStats } from "./link_settings.ts";
 * import assert from "node:assert/strict";
 * assert.equal(zeroStats().dropped, 0);
 * ```
 */
export function zeroStats(): TrafficStats {
  return {
    datagramsSent: 0,
    bytesSent: 0,
    datagramsReceived: 0,
    bytesReceived: 0,
    dropped: 0,
    duplicated: 0,
  };
}

/**
 * Validates link settings and returns a copy holding only the known fields.
 *
 * @throws {RangeError} When a latency or jitter is negative or not finite,
 * or a loss or duplicate probability lies outside `[0, 1]`.
 *
 * @example
 * ```ts
 * import { checkSettings } from "./link_settings.ts";
 * import assert from "node:assert/strict";
 * assert.equal(checkSettings({ loss: 0.5 }).loss, 0.5);
 * assert.throws(() => checkSettings({ loss: 2 }), RangeError);
 * ```
 */
export function checkSettings(settings: LinkSettings): LinkSettings {
  for (const key of ["latencyMs", "jitterMs"] as const) {
    const value = settings[key];
    if (value !== undefined && !(Number.isFinite(value) && value >= 0)) {
      throw new RangeError(`Link ${key} ${value} is not a finite number >= 0`);
    }
  }
  for (const key of ["loss", "duplicate"] as const) {
    const value = settings[key];
    if (value !== undefined && !(value >= 0 && value <= 1)) {
      throw new RangeError(`Link ${key} ${value} is not a probability from 0 to 1`);
    }
  }
  const { latencyMs, jitterMs, loss, duplicate } = settings;
  return { latencyMs, jitterMs, loss, duplicate };
}
