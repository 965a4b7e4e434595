/**
 * Gossip addresses: parsing `host:port` strings and `{ hostname, port }`
 * objects into one canonical string form. IPv6 hosts are bracketed.
 * @module
 */

/** A network address as a host name or IP literal and a UDP port. */
export interface SocketAddress {
  /** Host name, IPv4 literal or IPv6 literal (without brackets). */
  readonly hostname: string;
  /** Port, 0 to 65535 (0 asks the OS for a free port when binding). */
  readonly port: number;
}

/** An address given either as `"host:port"` (`"[::1]:7000"` for IPv6) or as an object. */
export type AddressInput = string | SocketAddress;

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62}))*\.?$/;
const IPV4 = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const IPV6_CHARS = /^[0-9A-Fa-f:.]+(?:%[A-Za-z0-9_.-]+)?$/;

/** Returns true when `host` is an IPv4 literal. */
export function isIPv4(host: string): boolean {
  return IPV4.test(host);
}

/** Returns true when `host` looks like an IPv6 literal (no brackets). */
export function isIPv6(host: string): boolean {
  if (!IPV6_CHARS.test(host) || !host.includes(":")) return false;
  const bare = host.split("%")[0];
  const doubleColons = bare.split("::").length - 1;
  if (doubleColons > 1) return false;
  const groups = bare.split(":");
  let count = 0;
  for (let i = 0; i < groups.length; i++) {
    const group = groups[i];
    if (group === "") continue;
    if (i === groups.length - 1 && group.includes(".")) {
      if (!isIPv4(group)) return false;
      count += 2;
      continue;
    }
    if (!/^[0-9A-Fa-f]{1,4}$/.test(group)) return false;
    count += 1;
  }
  return doubleColons === 1 ? count < 8 : count === 8;
}

function checkPort(port: number, quoted: string): number {
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new TypeError(`Invalid address ${quoted}: port must be an integer from 0 to 65535`);
  }
  return port;
}

function checkHost(host: string, quoted: string): string {
  if (isIPv4(host) || isIPv6(host) || HOSTNAME.test(host)) return host;
  throw new TypeError(`Invalid address ${quoted}: "${host}" is not a host name or IP address`);
}

/**
 * Parses an address into its parts, refusing anything malformed with a
 * `TypeError` that quotes the input.
 *
 * @example
 * ```ts
 * import { parseAddress } from "./address.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(parseAddress("[::1]:7000"), { hostname: "::1", port: 7000 });
 * assert.deepEqual(parseAddress("127.0.0.1:10000"), { hostname: "127.0.0.1", port: 10000 });
 * ```
 */
export function parseAddress(input: AddressInput): SocketAddress {
  if (typeof input === "object" && input !== null) {
    const quoted = JSON.stringify(input);
    if (typeof input.hostname !== "string" || typeof input.port !== "number") {
      throw new TypeError(`Invalid address ${quoted}: expected { hostname: string, port: number }`);
    }
    const host = input.hostname.startsWith("[") && input.hostname.endsWith("]")
      ? input.hostname.slice(1, -1)
      : input.hostname;
    return { hostname: checkHost(host, quoted), port: checkPort(input.port, quoted) };
  }
  if (typeof input !== "string") {
    throw new TypeError(`Invalid address ${String(input)}: expected a "host:port" string`);
  }
  const quoted = JSON.stringify(input);
  let host: string;
  let portText: string;
  if (input.startsWith("[")) {
    const close = input.indexOf("]");
    if (close < 0 || input[close + 1] !== ":") {
      throw new TypeError(`Invalid address ${quoted}: expected "[ipv6]:port"`);
    }
    host = input.slice(1, close);
    if (!isIPv6(host)) throw new TypeError(`Invalid address ${quoted}: "${host}" is not an IPv6 address`);
    portText = input.slice(close + 2);
  } else {
    const colon = input.lastIndexOf(":");
    if (colon < 0) throw new TypeError(`Invalid address ${quoted}: expected "host:port"`);
    host = input.slice(0, colon);
    if (host.includes(":")) {
      throw new TypeError(`Invalid address ${quoted}: IPv6 hosts must be bracketed, as in "[::1]:7000"`);
    }
    portText = input.slice(colon + 1);
  }
  if (!/^\d{1,5}$/.test(portText)) {
    throw new TypeError(`Invalid address ${quoted}: port "${portText}" is not a number from 0 to 65535`);
  }
  return { hostname: checkHost(host, quoted), port: checkPort(Number(portText), quoted) };
}

/**
 * Formats an address as `host:port`, bracketing IPv6 hosts.
 *
 * @example
 * ```ts
 * import { formatAddress } from "./address.ts";
 * import assert from "node:assert/strict";
 * assert.equal(formatAddress({ hostname: "::1", port: 7000 }), "[::1]:7000");
 * ```
 */
export function formatAddress(addr: SocketAddress): string {
  return addr.hostname.includes(":") ? `[${addr.hostname}]:${addr.port}` : `${addr.hostname}:${addr.port}`;
}

/**
 * Parses then formats an address: the canonical string form used as a map key
 * and on the wire. Throws like {@linkcode parseAddress}.
 *
 * @example
 * ```ts
 * import { normalizeAddress } from "./address.ts";
 * import assert from "node:assert/strict";
 * assert.equal(normalizeAddress({ hostname: "[::1]", port: 1 }), "[::1]:1");
 * ```
 */
export function normalizeAddress(input: AddressInput): string {
  return formatAddress(parseAddress(input));
}
