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

const LABEL = "[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?";
const HOSTNAME = new RegExp(`^(?=.{1,253}$)${LABEL}(?:\\.${LABEL})*\\.?$`);
const NUMERIC_LAST_LABEL = /(?:^|\.)\d+\.?$/;
const IPV4 = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const HEX_GROUP = /^[0-9A-Fa-f]{1,4}$/;
const ZONE = /^[A-Za-z0-9_.-]+$/;

/**
 * Returns true when `host` is an IPv4 literal in dotted-decimal form (four
 * numbers from 0 to 255, no leading zeros).
 *
 * @example
 * ```ts
 * import { isIPv4 } from "./address.ts";
 * import assert from "node:assert/strict";
 * assert.equal(isIPv4("127.0.0.1"), true);
 * assert.equal(isIPv4("127.0.0.01"), false);
 * ```
 */
export function isIPv4(host: string): boolean {
  return IPV4.test(host);
}

/** Parses colon-separated hex groups, the last one optionally a dotted IPv4 tail. */
function parseGroups(text: string, allowIPv4Tail: boolean): number[] | undefined {
  if (text === "") return [];
  const parts = text.split(":");
  const groups: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    if (allowIPv4Tail && i === parts.length - 1 && isIPv4(part)) {
      const [a, b, c, d] = part.split(".").map(Number);
      groups.push((a << 8) | b, (c << 8) | d);
    } else if (HEX_GROUP.test(part)) {
      groups.push(parseInt(part, 16));
    } else {
      return undefined;
    }
  }
  return groups;
}

/** Parses an unbracketed IPv6 literal (optional `%zone`) into eight 16-bit groups. */
function parseIPv6(host: string): { groups: number[]; zone: string } | undefined {
  const percent = host.indexOf("%");
  const bare = percent < 0 ? host : host.slice(0, percent);
  const zone = percent < 0 ? "" : host.slice(percent + 1);
  if (percent >= 0 && !ZONE.test(zone)) return undefined;
  const halves = bare.split("::");
  if (halves.length > 2) return undefined;
  if (halves.length === 1) {
    const groups = parseGroups(bare, true);
    return groups?.length === 8 ? { groups, zone } : undefined;
  }
  const head = parseGroups(halves[0], false);
  const tail = parseGroups(halves[1], true);
  if (head === undefined || tail === undefined || head.length + tail.length > 7) return undefined;
  const zeros = new Array<number>(8 - head.length - tail.length).fill(0);
  return { groups: [...head, ...zeros, ...tail], zone };
}

/**
 * Writes eight groups in the RFC 5952 form: lowercase hex, no leading zeros,
 * the longest run of two or more zero groups as `::`, IPv4-mapped addresses
 * with a dotted tail. This is the form the runtimes report senders in.
 */
function formatIPv6(groups: number[], zone: string): string {
  const suffix = zone === "" ? "" : `%${zone}`;
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const [hi, lo] = [groups[6], groups[7]];
    return `::ffff:${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}${suffix}`;
  }
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) [bestStart, bestLength] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(":") + suffix;
  const head = hex.slice(0, bestStart).join(":");
  const tail = hex.slice(bestStart + bestLength).join(":");
  return `${head}::${tail}${suffix}`;
}

/**
 * Returns true when `host` is an IPv6 literal without brackets, optionally
 * with a `%zone` suffix.
 *
 * @example
 * ```ts
 * import { isIPv6 } from "./address.ts";
 * import assert from "node:assert/strict";
 * assert.equal(isIPv6("::1"), true);
 * assert.equal(isIPv6("fe80::1%eth0"), true);
 * assert.equal(isIPv6("1::2::3"), false);
 * ```
 */
export function isIPv6(host: string): boolean {
  return parseIPv6(host) !== undefined;
}

/** Describes a value for an error message: strings quoted, anything else as written. */
function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "bigint") return `${value}n`;
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

function checkPort(port: number, quoted: string): number {
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new TypeError(`Invalid address ${quoted}: port must be an integer from 0 to 65535`);
  }
  return port;
}

/** Returns the host in canonical form (IPv6 per RFC 5952), or throws quoting the input. */
function checkHost(host: string, quoted: string): string {
  if (isIPv4(host)) return host;
  const ipv6 = parseIPv6(host);
  if (ipv6 !== undefined) return formatIPv6(ipv6.groups, ipv6.zone);
  // A name whose last label is all digits is a malformed IPv4 literal, not a host name.
  if (HOSTNAME.test(host) && !NUMERIC_LAST_LABEL.test(host)) return host;
  throw new TypeError(
    `Invalid address ${quoted}: ${describe(host)} is not a host name or IP address`,
  );
}

/**
 * Parses an address into its parts, refusing anything malformed with a
 * `TypeError` that quotes the input. IPv6 literals come back in their RFC 5952
 * form (lowercase, zeros compressed), the form the runtimes report senders in;
 * host names and IPv4 literals are kept as written.
 *
 * @example
 * ```ts
 * import { parseAddress } from "@scope/chitchat";
 * import assert from "node:assert/strict";
 * assert.deepEqual(parseAddress("[::1]:7000"), { hostname: "::1", port: 7000 });
 * assert.deepEqual(parseAddress("127.0.0.1:10000"), { hostname: "127.0.0.1", port: 10000 });
 * assert.deepEqual(parseAddress("[FE80:0:0:0:0:0:0:1]:1"), { hostname: "fe80::1", port: 1 });
 * assert.throws(() => parseAddress("::1:7000"), TypeError);
 * ```
 */
export function parseAddress(input: AddressInput): SocketAddress {
  if (typeof input === "object" && input !== null) {
    const { hostname, port } = input;
    const quoted = `{ hostname: ${describe(hostname)}, port: ${describe(port)} }`;
    if (typeof hostname !== "string" || typeof port !== "number") {
      throw new TypeError(`Invalid address ${quoted}: expected { hostname: string, port: number }`);
    }
    const bracketed = hostname.startsWith("[") && hostname.endsWith("]");
    const host = bracketed ? hostname.slice(1, -1) : hostname;
    if (bracketed && !isIPv6(host)) {
      throw new TypeError(`Invalid address ${quoted}: only IPv6 hosts may be bracketed`);
    }
    return { hostname: checkHost(host, quoted), port: checkPort(port, quoted) };
  }
  if (typeof input !== "string") {
    throw new TypeError(`Invalid address ${describe(input)}: expected a "host:port" string`);
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
    if (!isIPv6(host)) {
      throw new TypeError(`Invalid address ${quoted}: ${describe(host)} is not an IPv6 address`);
    }
    portText = input.slice(close + 2);
  } else {
    const colon = input.lastIndexOf(":");
    if (colon < 0) throw new TypeError(`Invalid address ${quoted}: expected "host:port"`);
    host = input.slice(0, colon);
    if (host.includes(":")) {
      throw new TypeError(
        `Invalid address ${quoted}: IPv6 hosts must be bracketed, as in "[::1]:7000"`,
      );
    }
    portText = input.slice(colon + 1);
  }
  if (!/^\d{1,5}$/.test(portText)) {
    throw new TypeError(
      `Invalid address ${quoted}: port "${portText}" is not a number from 0 to 65535`,
    );
  }
  return { hostname: checkHost(host, quoted), port: checkPort(Number(portText), quoted) };
}

/**
 * Formats an address as `host:port`, bracketing IPv6 hosts.
 *
 * @example
 * ```ts
 * import { formatAddress } from "@scope/chitchat";
 * import assert from "node:assert/strict";
 * assert.equal(formatAddress({ hostname: "::1", port: 7000 }), "[::1]:7000");
 * ```
 */
export function formatAddress(addr: SocketAddress): string {
  return addr.hostname.includes(":")
    ? `[${addr.hostname}]:${addr.port}`
    : `${addr.hostname}:${addr.port}`;
}

/**
 * Parses then formats an address: the canonical string form used as a map key
 * and on the wire. Throws like {@linkcode parseAddress}.
 *
 * @example
 * ```ts
 * import { normalizeAddress } from "@scope/chitchat";
 * import assert from "node:assert/strict";
 * assert.equal(normalizeAddress({ hostname: "[::1]", port: 1 }), "[::1]:1");
 * ```
 */
export function normalizeAddress(input: AddressInput): string {
  return formatAddress(parseAddress(input));
}
