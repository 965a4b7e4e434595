/**
 * A console logger for the example: lines on stderr with the time, the level
 * and the node id; levels below the chosen one are dropped.
 * @module
 */

import type { Logger } from "../../mod.ts";
import { LOG_LEVELS, type LogLevel } from "./cli.ts";

/**
 * Builds a logger printing `level` and above to stderr.
 *
 * @example
 * ```ts
 * import { consoleLogger } from "./logger.ts";
 * consoleLogger("warn", "node-1").info("not printed");
 * ```
 */
export function consoleLogger(level: LogLevel, nodeId: string): Logger {
  const least = LOG_LEVELS.indexOf(level);
  const at = (lvl: LogLevel) => (msg: string, ...args: unknown[]): void => {
    if (LOG_LEVELS.indexOf(lvl) < least) return;
    const time = new Date().toISOString().slice(11, 23);
    console.error(`${time} ${lvl.toUpperCase().padEnd(5)} [${nodeId}] ${msg}`, ...args);
  };
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}
