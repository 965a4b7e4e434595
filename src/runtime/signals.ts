/**
 * Leaving on SIGTERM and SIGINT: a signal ends the process without running a
 * user's `await using` block or `finally`, so a service that wants peers to
 * see it `left` (not `died`) must catch the signal and call `shutdown()`.
 * This is the one place outside the adapters that touches `process`.
 * @module
 */

/** The part of Node's `process` used here (Deno 2, Bun and Node all define the global). */
interface ProcessLike {
  on(signal: string, listener: () => void): unknown;
  off(signal: string, listener: () => void): unknown;
  exit(code?: number): never;
  exitCode?: number | string | null;
}

/**
 * The runtime's `process`, read when signals are wired, not when this module
 * loads: on Deno, importing `node:process` at start adds about 1 MB to the
 * resident memory of every node process, signals wired or not.
 */
function runtimeProcess(): ProcessLike {
  const found = (globalThis as { process?: ProcessLike }).process;
  if (found === undefined) throw new TypeError("leaveOnSignals needs the global process (Deno 2, Bun or Node)");
  return found;
}

/** The signals {@linkcode leaveOnSignals} can catch. */
export type StopSignal = "SIGTERM" | "SIGINT" | "SIGHUP" | "SIGQUIT";

/** Signal numbers, for the `128 + n` exit code of a second signal. */
const SIGNAL_NUMBERS: Readonly<Record<StopSignal, number>> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGTERM: 15 };

/** What {@linkcode leaveOnSignals} stops: a node handle, or anything with the same `shutdown()`. */
export interface Stoppable {
  /** Leaves gracefully and closes; called once, on the first signal. */
  shutdown(): Promise<void>;
}

/** Options of {@linkcode leaveOnSignals}. */
export interface LeaveOnSignalsOptions {
  /** The signals that stop the node (default `["SIGTERM", "SIGINT"]`). */
  readonly signals?: readonly StopSignal[];
  /**
   * The process exit code once the node has left (default 0); `null` leaves
   * the process running (your `onStopped` ends it, or the event loop drains).
   */
  readonly exitCode?: number | null;
  /** Called after the node has left, before the exit; awaited. Close servers and flush logs here. */
  readonly onStopped?: (signal: StopSignal) => void | Promise<void>;
  /**
   * Longest wait for the leave and `onStopped` (default 10 000 ms); past it
   * the process exits with code 1. Keep it below the grace period of your
   * supervisor (Kubernetes' `terminationGracePeriodSeconds`, systemd's
   * `TimeoutStopSec`).
   */
  readonly timeoutMs?: number;
}

/** Removes the signal listeners of {@linkcode leaveOnSignals}; also disposable. */
export type SignalDisposer = (() => void) & Disposable;

/**
 * On the first of `signals` (SIGTERM and SIGINT by default), calls
 * `node.shutdown()` (a graceful leave, at most the node's `leaveTimeoutMs`),
 * then `onStopped`, then exits with `exitCode` (0 by default). A second
 * signal while leaving exits at once with `128 + signal number` (130 for
 * SIGINT, 143 for SIGTERM). Works under Deno, Bun and Node (through
 * the global `process`). Returns a function that removes the listeners, e.g. once
 * you shut the node down yourself. Throws `RangeError` for an unknown signal
 * or a bad `exitCode` or `timeoutMs`.
 *
 * @example One line after the start
 * ```ts
 * import { leaveOnSignals, spawnChitchat } from "@scope/chitchat";
 * import assert from "node:assert/strict";
 *
 * const node = await spawnChitchat({ nodeId: "api-1", listenAddr: "127.0.0.1:0" });
 * const removeListeners = leaveOnSignals(node, {
 *   onStopped: (signal) => console.log(`${signal}: left the cluster`),
 * });
 * assert.equal(typeof removeListeners, "function");
 *
 * // Stopping for another reason: take the listeners off, then shut down.
 * removeListeners();
 * await node.shutdown();
 * ```
 */
export function leaveOnSignals(node: Stoppable, options: LeaveOnSignalsOptions = {}): SignalDisposer {
  const signals = options.signals ?? ["SIGTERM", "SIGINT"];
  for (const signal of signals) {
    if (!Object.hasOwn(SIGNAL_NUMBERS, signal)) {
      throw new RangeError(`Invalid option "signals": "${signal}" is not one of ${Object.keys(SIGNAL_NUMBERS).join(", ")}`);
    }
  }
  const exitCode = options.exitCode === undefined ? 0 : options.exitCode;
  if (exitCode !== null && (!Number.isInteger(exitCode) || exitCode < 0 || exitCode > 255)) {
    throw new RangeError(`Invalid option "exitCode": expected an integer from 0 to 255 or null, got ${exitCode}`);
  }
  const timeoutMs = options.timeoutMs ?? 10_000;
  if (!(timeoutMs > 0) || !Number.isFinite(timeoutMs)) {
    throw new RangeError(`Invalid option "timeoutMs": expected a finite number above 0, got ${timeoutMs}`);
  }
  const process = runtimeProcess();
  let stopping = false;
  const listeners = signals.map((signal) => {
    const listener = (): void => {
      if (stopping) {
        process.exit(128 + SIGNAL_NUMBERS[signal]);
      }
      stopping = true;
      void stop(signal);
    };
    process.on(signal, listener);
    return [signal, listener] as const;
  });
  async function stop(signal: StopSignal): Promise<void> {
    const timer = setTimeout(() => process.exit(1), timeoutMs);
    let failed = false;
    try {
      await node.shutdown();
      await options.onStopped?.(signal);
    } catch (error) {
      failed = true;
      console.error(`Leaving on ${signal} failed:`, error);
    } finally {
      clearTimeout(timer);
    }
    remove();
    if (failed) process.exitCode = 1;
    if (exitCode !== null) process.exit(failed ? 1 : exitCode);
  }
  function remove(): void {
    for (const [signal, listener] of listeners) process.off(signal, listener);
  }
  return Object.assign(remove, { [Symbol.dispose]: remove });
}
