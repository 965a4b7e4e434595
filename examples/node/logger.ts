/**
 * The example's logger: lines on stderr, levels below the chosen one
 * dropped. `text` prints the time, the level, the node id and the message;
 * `json` prints one JSON object a line with `time`, `level`, `message`,
 * `nodeId` and the call's structured fields (`event`, `peer`, `key`,
 * `reason`...), errors as their message.
 * @module
 */

import { type Logger, type LogRecord, recordLogger } from "../../mod.ts";
import type { LogFormat, LogLevel } from "./cli.ts";

/**
 * The JSON object of one record: fields first, so a field can never replace
 * `time`, `level`, `message` or `nodeId`; an `Error` becomes its message.
 *
 * @example
 * ```ts
 * import { jsonLine } from "./logger.ts";
 * import assert from "node:assert/strict";
 * const line = jsonLine({ level: "warn", message: "m", fields: { peer: "b" }, args: [] }, "a", new Date(0));
 * assert.deepEqual(JSON.parse(line), {
 *   peer: "b", time: "1970-01-01T00:00:00.000Z", level: "warn", message: "m", nodeId: "a",
 * });
 * ```
 */
export function jsonLine(record: LogRecord, nodeId: string, time: Date): string {
  const fields: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(record.fields)) fields[name] = plain(value);
  const extra = record.args.map(plain);
  const head = { time: time.toISOString(), level: record.level, message: record.message, nodeId };
  try {
    return JSON.stringify({ ...fields, ...(extra.length > 0 ? { args: extra } : {}), ...head });
  } catch (error) {
    // A field JSON cannot hold (a cycle): the line keeps the message and says why.
    return JSON.stringify({ ...head, fieldsError: (error as Error).message });
  }
}

function plain(value: unknown): unknown {
  if (value instanceof Error) return value.message;
  if (typeof value === "bigint") return String(value);
  return value;
}

function textLine(record: LogRecord, nodeId: string, time: Date): string {
  const error = record.fields.error;
  const extra = [...record.args, ...(error === undefined ? [] : [error])].map((arg) =>
    arg instanceof Error ? (arg.stack ?? arg.message) : typeof arg === "string" ? arg : JSON.stringify(arg)
  );
  const head = `${time.toISOString().slice(11, 23)} ${record.level.toUpperCase().padEnd(5)} [${nodeId}]`;
  return [head, record.message, ...extra].join(" ");
}

/**
 * Builds a logger printing `level` and above to stderr in `format`.
 *
 * @example
 * ```ts
 * import { consoleLogger } from "./logger.ts";
 * consoleLogger("warn", "node-1", "json").info("not printed");
 * ```
 */
export function consoleLogger(level: LogLevel, nodeId: string, format: LogFormat = "text"): Logger {
  const line = format === "json" ? jsonLine : textLine;
  return recordLogger((record) => console.error(line(record, nodeId, new Date())), { level });
}
