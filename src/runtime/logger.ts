/**
 * The console logger a node uses when none is given: warnings and errors
 * reach the user, the chatter below them does not.
 * @module
 */

import { type LogFields, type Logger, splitLogArgs } from "../core/logger.ts";

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
 * A trailing {@linkcode LogFields} object is not printed (the message says
 * the same for a human), except its `error`, printed after the message.
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
    const { fields, rest } = splitLogArgs(args);
    if (fields.error !== undefined) rest.push(fields.error);
    console[lvl](`${prefix}${msg}`, ...rest);
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

/** One log call as {@linkcode recordLogger} hands it over. */
export interface LogRecord {
  /** The level of the call. */
  readonly level: LogLevel;
  /** The message, as a human reads it. */
  readonly message: string;
  /** The structured fields (the call's last argument when it is a plain object), else `{}`. */
  readonly fields: LogFields;
  /** The other arguments of the call, in order. */
  readonly args: readonly unknown[];
}

/** Options of {@linkcode recordLogger}. */
export interface RecordLoggerOptions {
  /** The least severe level handed over. Default `"debug"`. */
  readonly level?: LogLevel;
}

/**
 * A logger turning each call into a {@linkcode LogRecord} for `write`: the
 * way to get the library's structured fields (peer, key, reason...) into a
 * JSON log pipeline. The time is left to `write`, which knows its clock.
 *
 * @example One JSON object a line
 * ```ts
 * import { recordLogger } from "@scope/chitchat";
 * import assert from "node:assert/strict";
 * const lines: string[] = [];
 * const logger = recordLogger(({ level, message, fields }) => {
 *   lines.push(JSON.stringify({ level, message, ...fields }));
 * }, { level: "info" });
 * logger.debug("dropped");
 * logger.info("Node b joined", { event: "node_joined", peer: "b" });
 * assert.deepEqual(lines.map((line) => JSON.parse(line)), [
 *   { level: "info", message: "Node b joined", event: "node_joined", peer: "b" },
 * ]);
 * ```
 */
export function recordLogger(write: (record: LogRecord) => void, options: RecordLoggerOptions = {}): Logger {
  const level = options.level ?? "debug";
  const least = LEVELS.indexOf(level);
  if (least < 0) {
    throw new TypeError(`Invalid log level ${JSON.stringify(level)}: expected one of ${LEVELS.join(", ")}`);
  }
  const at = (lvl: LogLevel) => (msg: string, ...args: unknown[]): void => {
    if (LEVELS.indexOf(lvl) < least) return;
    const { fields, rest } = splitLogArgs(args);
    write({ level: lvl, message: msg, fields, args: rest });
  };
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}
