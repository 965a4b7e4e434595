/**
 * The logging surface the library writes to. It has the shape of `@std/log`'s
 * `Logger`, so `getLogger("chitchat")` can be passed as it is. Structured
 * fields ride along as the last argument (see {@linkcode LogFields}).
 * @module
 */

/**
 * The structured fields of a library log call, passed as its last argument:
 * `logger.warn("Node b died", { event: "node_died", peer: "b", ... })`.
 * Always a plain object (never an `Error` or a class instance), so a logger
 * can tell it from other arguments. Names used by the library: `event` (a
 * stable snake_case name such as `node_died`, `bad_cluster`,
 * `decode_error`), `peer` (a node id), `peerAddr` / `from` (an address),
 * `generationId`, `key`, `reason`, `clusterId`, `error` (an `Error`).
 *
 * @example Reading the fields a library call passed
 * ```ts
 * import type { LogFields, Logger } from "@scope/chitchat";
 * import assert from "node:assert/strict";
 * const seen: LogFields[] = [];
 * const logger: Logger = {
 *   debug() {}, info() {}, error() {},
 *   warn: (_msg: string, ...args: unknown[]) => void seen.push(args.at(-1) as LogFields),
 * };
 * logger.warn("Node b died", { event: "node_died", peer: "b" });
 * assert.equal(seen[0].peer, "b");
 * ```
 */
export type LogFields = Readonly<Record<string, unknown>>;

/**
 * A logger shaped like `@std/log`'s `Logger`: four levels, each taking a
 * message and optional extra arguments. The library's own calls pass at most
 * one extra argument, a {@linkcode LogFields} object; `console` and
 * `@std/log` loggers take it unchanged (it lands in `@std/log`'s
 * `LogRecord.args`), and `recordLogger` turns each call into a record.
 *
 * @example Passing console as a logger
 * ```ts
 * import type { Logger } from "@scope/chitchat";
 * const logger: Logger = console;
 * logger.debug("ready");
 * ```
 */
export interface Logger {
  /** Logs detail useful while debugging. */
  debug(msg: string, ...args: unknown[]): unknown;
  /** Logs a normal but noteworthy event. */
  info(msg: string, ...args: unknown[]): unknown;
  /** Logs something unexpected that the library recovered from. */
  warn(msg: string, ...args: unknown[]): unknown;
  /** Logs a failure. */
  error(msg: string, ...args: unknown[]): unknown;
}

/**
 * Splits the arguments of a log call into its structured fields (the last
 * argument, when it is a plain object) and the other arguments.
 *
 * @example
 * ```ts
 * import { splitLogArgs } from "@scope/chitchat";
 * import assert from "node:assert/strict";
 * const { fields, rest } = splitLogArgs([42, { peer: "b" }]);
 * assert.deepEqual([fields, rest], [{ peer: "b" }, [42]]);
 * assert.deepEqual(splitLogArgs([new Error("x")]).fields, {});
 * ```
 */
export function splitLogArgs(args: readonly unknown[]): { fields: LogFields; rest: unknown[] } {
  const last = args.at(-1);
  if (isPlainObject(last)) return { fields: last, rest: args.slice(0, -1) };
  return { fields: {}, rest: [...args] };
}

function isPlainObject(value: unknown): value is LogFields {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function ignore(): void {}

/**
 * A logger that drops everything; the default when none is given.
 *
 * @example
 * ```ts
 * import { silentLogger } from "@scope/chitchat";
 * silentLogger.warn("nobody hears this");
 * ```
 */
export const silentLogger: Logger = { debug: ignore, info: ignore, warn: ignore, error: ignore };
