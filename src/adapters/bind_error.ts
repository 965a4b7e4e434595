/**
 * One wording for bind failures on every runtime: each adapter hands the
 * runtime's error here and throws what comes back.
 * @module
 */

import { isIPv4, isIPv6 } from "../core/address.ts";
import { AddressInUseError, BindError } from "../runtime/socket.ts";

/**
 * Codes of a failed host name lookup: `getaddrinfo`'s on Node and Deno's
 * `node:dns`, `ENOENT` from `Bun.udpSocket`. Deno's own lookup error has no code.
 */
const LOOKUP_FAILURES = new Set([
  "ENOTFOUND",
  "EAI_AGAIN",
  "EAI_NONAME",
  "EAI_FAIL",
  "EAI_NODATA",
  "ENODATA",
  "ENOENT",
]);

/**
 * The `code` of a runtime error (`"EADDRINUSE"`, say), if it has one.
 *
 * @example
 * ```ts
 * import { errorCode } from "./bind_error.ts";
 * import assert from "node:assert/strict";
 * assert.equal(errorCode(Object.assign(new Error("refused"), { code: "ECONNREFUSED" })), "ECONNREFUSED");
 * assert.equal(errorCode("not an error"), undefined);
 * ```
 */
export function errorCode(error: unknown): unknown {
  return typeof error === "object" && error !== null
    ? (error as { code?: unknown }).code
    : undefined;
}

/**
 * The error to throw when binding `addr` (canonical `host:port`, `hostname`
 * its host) failed with the runtime's `error`: `AddressInUseError` when the
 * address is taken, else a `BindError` whose reason reads the same on Deno,
 * Bun and Node for the common cases.
 *
 * @example
 * ```ts
 * import { bindError } from "./bind_error.ts";
 * import assert from "node:assert/strict";
 * const cause = Object.assign(new Error("bind EADDRNOTAVAIL 192.0.2.1"), { code: "EADDRNOTAVAIL" });
 * const error = bindError("192.0.2.1:7000", "192.0.2.1", cause);
 * assert.equal(error.message, "Cannot bind 192.0.2.1:7000: 192.0.2.1 is not an address of this machine");
 * assert.equal(error.cause, cause);
 * ```
 */
export function bindError(addr: string, hostname: string, error: unknown): BindError {
  const code = errorCode(error);
  if (code === "EADDRINUSE") return new AddressInUseError(addr, { cause: error });
  const named = !isIPv4(hostname) && !isIPv6(hostname);
  let reason: string | undefined;
  if (code === "EADDRNOTAVAIL") reason = `${hostname} is not an address of this machine`;
  else if (code === "EACCES" || code === "EPERM") reason = "permission denied";
  else if (named && (code === undefined || LOOKUP_FAILURES.has(String(code)))) {
    reason = `host name "${hostname}" does not resolve`;
  }
  return new BindError(addr, { reason, cause: error });
}
