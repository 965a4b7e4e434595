/**
 * The wire's fixed figures: protocol version, datagram size, the bytes a
 * message takes besides its items, name and fingerprint limits. A leaf with
 * no codec behind it, so configuration, sealing and the state machine read
 * them without loading the CBOR library.
 * @module
 */

/**
 * The protocol version written first in every datagram. Version 2 added the
 * check hash to compact digest entries; a version-1 datagram is refused.
 *
 * @example
 * ```ts
 * import { PROTOCOL_VERSION } from "@scope/chitchat/core";
 * console.assert(PROTOCOL_VERSION === 2);
 * ```
 */
export const PROTOCOL_VERSION = 2;

/**
 * The largest UDP payload over IPv4, and the default MTU.
 *
 * @example
 * ```ts
 * import { MAX_DATAGRAM_SIZE } from "@scope/chitchat";
 * console.assert(MAX_DATAGRAM_SIZE === 65_507);
 * ```
 */
export const MAX_DATAGRAM_SIZE = 65_507;

/**
 * Bytes a message takes besides its digest items, compact digest items and
 * delta items (heads, tags, flags, a digest range).
 *
 * @example
 * ```ts
 * import { MESSAGE_OVERHEAD } from "./wire_constants.ts";
 * const room = 1_400 - MESSAGE_OVERHEAD; // bytes left for entries in a 1 400-byte datagram
 * console.assert(room === 1_368);
 * ```
 */
export const MESSAGE_OVERHEAD = 32;

/**
 * Longest accepted node id, cluster id or key on the wire, in UTF-8 bytes.
 *
 * @example
 * ```ts
 * import { MAX_WIRE_NAME_BYTES } from "./wire_constants.ts";
 * console.assert(new TextEncoder().encode("node-1").length <= MAX_WIRE_NAME_BYTES);
 * ```
 */
export const MAX_WIRE_NAME_BYTES = 1024;

/**
 * Largest fingerprint (and check hash): they are 32-bit.
 *
 * @example
 * ```ts
 * import { MAX_FINGERPRINT } from "./wire_constants.ts";
 * console.assert(MAX_FINGERPRINT === 2 ** 32 - 1);
 * ```
 */
export const MAX_FINGERPRINT = 0xffff_ffff;
