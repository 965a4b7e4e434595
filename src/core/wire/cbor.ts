/**
 * The CBOR wire format (compact positional arrays, see `codec.ts`) behind
 * the {@linkcode WireFormat} seam: today's codec with its exact sizes.
 * @module
 */

import { decodeMessage, encodeMessage } from "../codec.ts";
import { FULL_PROFILE } from "../protocol_profile.ts";
import type { WireFormat } from "../wire_format.ts";
import { cborWireSizes } from "../wire_size.ts";

/**
 * The CBOR wire format: {@linkcode encodeMessage}, {@linkcode decodeMessage}
 * and the sizes of `wire_size.ts`. The default format of every node.
 *
 * @example
 * ```ts
 * import { cborWireFormat } from "./cbor.ts";
 * import assert from "node:assert/strict";
 * const bytes = cborWireFormat.encode({ type: "badCluster" });
 * assert.deepEqual(cborWireFormat.decode(bytes), { type: "badCluster" });
 * assert.equal(cborWireFormat.sizes.messageOverhead, 32);
 * ```
 */
export const cborWireFormat: WireFormat = {
  name: "cbor",
  encode: encodeMessage,
  decode: (bytes) => decodeMessage(bytes),
  sizes: cborWireSizes,
  profile: FULL_PROFILE,
};
