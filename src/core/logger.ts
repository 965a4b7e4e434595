/**
 * The logging surface the library writes to. It has the shape of `@std/log`'s
 * `Logger`, so `getLogger("chitchat")` can be passed as it is.
 * @module
 */

/**
 * A logger shaped like `@std/log`'s `Logger`: four levels, each taking a
 * message and optional extra arguments.
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
