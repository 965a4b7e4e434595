/**
 * The console logger a node uses when none is given: warnings and errors
 * reach the user, the chatter below them does not.
 * @module
 */

import type { Logger } from "../core/logger.ts";

/** The levels of a {@linkcode Logger}, least severe first. */
export type LogLevel = "debug" | "info" | "warn" | "error";

const LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];

/** Options of {@linkcode consoleLogger}. */
export interface ConsoleLoggerOptions {
  /** The least severe level printed. Default `"warn"`. */
  readonly level?: LogLevel;
  /** Put before every message, e.g. `"[chitchat api-1]"`. Default none. */
  readonly prefix?: string;
}

/**
 * A logger writing `level` and above to `console.debug/info/warn/error`
 * (looked up at each call, so a replaced `console` method is honoured).
 * What a node logs when no `logger` is given: `consoleLogger({ level:
 * "warn", prefix: "[chitchat <nodeId>]" })`.
 *
 * @example Print warnings and errors, drop the rest
 * ```ts
 * import { consoleLogger } from "./logger.ts";
 * const logger = consoleLogger({ level: "warn", prefix: "[my-service]" });
 * logger.info("not printed");
 * ```
 */
export function consoleLogger(options: ConsoleLoggerOptions = {}): Logger {
  const level = options.level ?? "warn";
  const least = LEVELS.indexOf(level);
  if (least < 0) {
    throw new TypeError(`Invalid log level ${JSON.stringify(level)}: expected one of ${LEVELS.join(", ")}`);
  }
  const prefix = options.prefix === undefined || options.prefix === "" ? "" : `${options.prefix} `;
  const at = (lvl: LogLevel) => (msg: string, ...args: unknown[]): void => {
    if (LEVELS.indexOf(lvl) < least) return;
    console[lvl](`${prefix}${msg}`, ...args);
  };
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

/** Distinct messages remembered by {@linkcode withoutRepeats} before it starts afresh. */
const MAX_REMEMBERED = 1024;

/**
 * Wraps `logger` so that a message repeated word for word within `windowMs`
 * (on the `now` clock) is dropped; the next one let through after the window
 * says how many were. A node wraps its default console logger with it: a
 * peer of another cluster would otherwise print a warning every round.
 *
 * @example
 * ```ts
 * import { withoutRepeats } from "./logger.ts";
 * import assert from "node:assert/strict";
 * const lines: string[] = [];
 * const sink = { debug() {}, info() {}, error() {}, warn: (msg: string) => void lines.push(msg) };
 * let now = 0;
 * const logger = withoutRepeats(sink, () => now, 60_000);
 * logger.warn("peer is in another cluster");
 * logger.warn("peer is in another cluster");
 * now = 60_000;
 * logger.warn("peer is in another cluster");
 * assert.deepEqual(lines, ["peer is in another cluster", "peer is in another cluster (1 more like it)"]);
 * ```
 */
export function withoutRepeats(logger: Logger, now: () => number, windowMs: number): Logger {
  const seen = new Map<string, { at: number; dropped: number }>();
  const at = (level: LogLevel) => (msg: string, ...args: unknown[]): unknown => {
    const key = `${level} ${msg}`;
    const time = now();
    const last = seen.get(key);
    if (last !== undefined && time - last.at < windowMs) {
      last.dropped++;
      return undefined;
    }
    if (last === undefined && seen.size >= MAX_REMEMBERED) seen.clear();
    seen.set(key, { at: time, dropped: 0 });
    const note = last !== undefined && last.dropped > 0 ? ` (${last.dropped} more like it)` : "";
    return logger[level](`${msg}${note}`, ...args);
  };
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}
