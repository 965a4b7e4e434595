/**
 * Validation of the fields a decoder reads, whatever the wire format: names
 * within {@linkcode MAX_WIRE_NAME_BYTES}, safe unsigned integers, 32-bit
 * fingerprints, gossip addresses that are IP literals with a port, and ids
 * interned so the same node always decodes to the same frozen object. Each
 * throws `SyntaxError` naming the field, so a bad datagram is dropped whole.
 * @module
 */

import { isIPv4, isIPv6 } from "./address.ts";
import type { ChitchatId } from "./chitchat_id.ts";
import { utf8Length } from "./utf8.ts";
import { MAX_FINGERPRINT, MAX_WIRE_NAME_BYTES } from "./wire_constants.ts";

/** Strings of up to this many UTF-16 units cannot exceed the byte limit (3 bytes per unit at most). */
const SAFE_NAME_UNITS = Math.floor(MAX_WIRE_NAME_BYTES / 3);

/**
 * A node id, cluster id or key: a non-empty string of at most
 * {@linkcode MAX_WIRE_NAME_BYTES} UTF-8 bytes; `what` names it in the error.
 *
 * @example
 * ```ts
 * import { name } from "./wire_fields.ts";
 * import assert from "node:assert/strict";
 * assert.equal(name("prod", "cluster id"), "prod");
 * assert.throws(() => name("", "cluster id"), SyntaxError);
 * ```
 */
export function name(value: unknown, what: string): string {
  if (
    typeof value !== "string" || value.length === 0 ||
    (value.length > SAFE_NAME_UNITS && utf8Length(value) > MAX_WIRE_NAME_BYTES)
  ) {
    throw new SyntaxError(`Bad ${what}: expected a string of 1 to ${MAX_WIRE_NAME_BYTES} UTF-8 bytes`);
  }
  return value;
}

/**
 * A safe non-negative integer; `what` names it in the error.
 *
 * @example
 * ```ts
 * import { uint } from "./wire_fields.ts";
 * import assert from "node:assert/strict";
 * assert.equal(uint(7, "heartbeat"), 7);
 * assert.throws(() => uint(-1, "heartbeat"), SyntaxError);
 * ```
 */
export function uint(value: unknown, what: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new SyntaxError(`Bad ${what}: ${typeof value === "bigint" ? `${value}n` : String(value)}`);
  }
  return value;
}

/**
 * A fingerprint (or a digest range's bound): a 32-bit unsigned integer.
 *
 * @example
 * ```ts
 * import { fingerprint } from "./wire_fields.ts";
 * import assert from "node:assert/strict";
 * assert.throws(() => fingerprint(2 ** 32), SyntaxError);
 * ```
 */
export function fingerprint(value: unknown): number {
  const fp = uint(value, "fingerprint");
  if (fp > MAX_FINGERPRINT) throw new SyntaxError(`Bad fingerprint: ${fp}`);
  return fp;
}

/**
 * A compact entry's check hash: a 32-bit unsigned integer.
 *
 * @example
 * ```ts
 * import { check } from "./wire_fields.ts";
 * import assert from "node:assert/strict";
 * assert.equal(check(9), 9);
 * ```
 */
export function check(value: unknown): number {
  const hash = uint(value, "check");
  if (hash > MAX_FINGERPRINT) throw new SyntaxError(`Bad check: ${hash}`);
  return hash;
}

const validAddresses = new Set<string>();

function address(value: unknown): string {
  if (typeof value !== "string") throw new SyntaxError("Bad gossip address: not a string");
  if (validAddresses.has(value)) return value;
  if (!isCanonicalIpAddress(value)) throw new SyntaxError(`Bad gossip address ${JSON.stringify(value.slice(0, 80))}`);
  if (validAddresses.size >= 10_000) validAddresses.clear();
  validAddresses.add(value);
  return value;
}

/** Gossip addresses on the wire are IP literals with a port, as sockets report them. */
function isCanonicalIpAddress(value: string): boolean {
  if (value.length > 64) return false;
  let host: string;
  let port: string;
  if (value.startsWith("[")) {
    const close = value.indexOf("]");
    if (close < 0 || value[close + 1] !== ":") return false;
    host = value.slice(1, close);
    port = value.slice(close + 2);
    if (!isIPv6(host)) return false;
  } else {
    const colon = value.lastIndexOf(":");
    if (colon < 0) return false;
    host = value.slice(0, colon);
    port = value.slice(colon + 1);
    if (!isIPv4(host)) return false;
  }
  return /^\d{1,5}$/.test(port) && Number(port) <= 65535 && String(Number(port)) === port;
}

/**
 * Decoded ids are interned: the same node always decodes to the same frozen
 * object, so its map key is computed once (see `chitchatIdKey`). Indexed by
 * node id, then matched on generation and address.
 */
const internedIds = new Map<string, ChitchatId[]>();
let internedCount = 0;
const MAX_INTERNED_IDS = 50_000;

/**
 * The id made of three decoded fields, validated (a name, a generation, an
 * IP address with a port) and interned: equal ids decode to one frozen object.
 *
 * @example
 * ```ts
 * import { chitchatId } from "./wire_fields.ts";
 * import assert from "node:assert/strict";
 * const id = chitchatId("a", 1, "10.0.0.1:7280");
 * assert.equal(chitchatId("a", 1, "10.0.0.1:7280"), id);
 * assert.throws(() => chitchatId("a", 1, "localhost:7280"), SyntaxError);
 * ```
 */
export function chitchatId(nodeId: unknown, generationId: unknown, addr: unknown): ChitchatId {
  const id = name(nodeId, "node id");
  const generation = uint(generationId, "generation id");
  const gossipAdvertiseAddr = address(addr);
  let incarnations = internedIds.get(id);
  if (incarnations !== undefined) {
    for (const known of incarnations) {
      if (known.generationId === generation && known.gossipAdvertiseAddr === gossipAdvertiseAddr) return known;
    }
  } else {
    if (internedCount >= MAX_INTERNED_IDS) {
      internedIds.clear();
      internedCount = 0;
    }
    incarnations = [];
    internedIds.set(id, incarnations);
  }
  if (incarnations.length >= 16) incarnations.shift();
  else internedCount++;
  const interned = Object.freeze({ nodeId: id, generationId: generation, gossipAdvertiseAddr });
  incarnations.push(interned);
  return interned;
}
