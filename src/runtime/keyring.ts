/**
 * Cluster keys and the sealed datagram format: AES-256-GCM through WebCrypto
 * (`crypto.subtle`, the same in Deno, Bun and Node). Rule kept here: a
 * datagram is opened whole or not at all, and `open()` never throws.
 *
 * A sealed datagram is `marker (1) | key id (4) | nonce (12) | ciphertext |
 * tag (16)`. The nonce is random per datagram; the additional data binds the
 * marker, the key id, the protocol version and the cluster id, so a datagram
 * sealed for another cluster or protocol version does not open. The key id is
 * the first 4 bytes of SHA-256 over a label and the key: `open()` tries only
 * the keys it names, so outsiders' datagrams cost no decryption.
 * @module
 */

import { PROTOCOL_VERSION } from "../core/wire_constants.ts";

/** First byte of every sealed datagram (format 1). */
export const SEALED_FORMAT_MARKER = 0xc7;

/** Bytes sealing adds to a datagram: marker, key id, nonce and tag. */
export const SEAL_OVERHEAD: number = 1 + 4 + 12 + 16;

/** Size of a cluster key in bytes (AES-256). */
export const CLUSTER_KEY_BYTES = 32;

const KEY_ID_BYTES = 4;
const NONCE_BYTES = 12;
const HEADER_BYTES = 1 + KEY_ID_BYTES + NONCE_BYTES;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Options of {@linkcode Keyring}. */
export interface KeyringOptions {
  /** The cluster id bound into every datagram; a datagram of another cluster does not open. */
  readonly clusterId: string;
}

interface KeyEntry {
  readonly id: number;
  readonly key: CryptoKey;
}

/**
 * Decodes cluster keys (standard base64 of 32 bytes each) and checks them.
 * Throws `TypeError` naming the bad key by its position (never its content):
 * not a string, not base64, wrong length, or a repeat of an earlier key.
 *
 * @example
 * ```ts
 * import { generateClusterKey, parseClusterKeys } from "@scope/chitchat";
 * import assert from "node:assert/strict";
 * assert.equal(parseClusterKeys([generateClusterKey()])[0].length, 32);
 * assert.throws(() => parseClusterKeys(["c2hvcnQ="]), /key #1 .*5 bytes/);
 * ```
 */
export function parseClusterKeys(keys: readonly string[]): Uint8Array[] {
  if (!Array.isArray(keys) || keys.length === 0) {
    throw new TypeError("Cluster keys must be a non-empty array of base64 strings");
  }
  const seen = new Set<string>();
  return keys.map((text, i) => {
    const which = `Cluster key #${i + 1} of ${keys.length}`;
    if (typeof text !== "string") throw new TypeError(`${which} is not a string (got ${typeof text})`);
    const trimmed = text.trim();
    let binary: string;
    try {
      if (trimmed.length % 4 !== 0 || !BASE64.test(trimmed)) throw new Error("bad alphabet or padding");
      binary = atob(trimmed);
    } catch {
      throw new TypeError(`${which} is not valid base64`);
    }
    if (binary.length !== CLUSTER_KEY_BYTES) {
      throw new TypeError(`${which} decodes to ${binary.length} bytes; expected ${CLUSTER_KEY_BYTES}`);
    }
    if (seen.has(binary)) throw new TypeError(`${which} repeats an earlier key`);
    seen.add(binary);
    const bytes = new Uint8Array(CLUSTER_KEY_BYTES);
    for (let j = 0; j < CLUSTER_KEY_BYTES; j++) bytes[j] = binary.charCodeAt(j);
    return bytes;
  });
}

/**
 * A new random cluster key, base64-encoded (32 bytes from
 * `crypto.getRandomValues`).
 *
 * @example
 * ```ts
 * import { generateClusterKey } from "@scope/chitchat";
 * import assert from "node:assert/strict";
 * assert.match(generateClusterKey(), /^[A-Za-z0-9+/]{43}=$/);
 * ```
 */
export function generateClusterKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(CLUSTER_KEY_BYTES));
  return btoa(String.fromCharCode(...bytes));
}

/**
 * The keys of a cluster: the first (primary) seals, every key may open. The
 * constructor checks the keys synchronously (`TypeError` naming the bad one);
 * importing them into WebCrypto happens in the background and every
 * `seal`/`open` waits for it.
 *
 * To rotate keys across a live cluster without losing anyone: add the new
 * key as a secondary on every node, then make it primary on every node, then
 * drop the old key everywhere (each step finished on all nodes before the
 * next).
 *
 * @example Seal and open
 * ```ts
 * import { generateClusterKey, Keyring, SEAL_OVERHEAD } from "./keyring.ts";
 * import assert from "node:assert/strict";
 * const key = generateClusterKey();
 * const a = new Keyring([key], { clusterId: "prod" });
 * const sealed = await a.seal(new Uint8Array([1, 2, 3]));
 * assert.equal(sealed.length, 3 + SEAL_OVERHEAD);
 * assert.deepEqual(await a.open(sealed), new Uint8Array([1, 2, 3]));
 * const otherCluster = new Keyring([key], { clusterId: "test" });
 * assert.equal(await otherCluster.open(sealed), undefined);
 * ```
 */
export class Keyring {
  /** Number of keys; the first is primary. */
  readonly size: number;
  #entries: Promise<KeyEntry[]>;
  #context: Uint8Array;

  /** Checks `keys` (base64, 32 bytes each) and starts importing them. */
  constructor(keys: readonly string[], options: KeyringOptions) {
    const raw = parseClusterKeys(keys);
    if (typeof options?.clusterId !== "string") {
      throw new TypeError(`Keyring needs a clusterId string (got ${typeof options?.clusterId})`);
    }
    this.size = raw.length;
    this.#context = new TextEncoder().encode(`chitchat sealed v${PROTOCOL_VERSION}\u0000${options.clusterId}`);
    this.#entries = Promise.all(raw.map(importKey));
    // Importing raw 32-byte AES keys does not fail; never leave a rejection unhandled.
    this.#entries.catch(() => {});
  }

  /** The key ids (hex, 8 digits), primary first; they name keys without revealing them. */
  async keyIds(): Promise<string[]> {
    return (await this.#entries).map((entry) => entry.id.toString(16).padStart(8, "0"));
  }

  /** Seals `plaintext` with the primary key and a fresh random nonce. */
  async seal(plaintext: Uint8Array): Promise<Uint8Array> {
    const primary = (await this.#entries)[0];
    const out = new Uint8Array(HEADER_BYTES + plaintext.byteLength + 16);
    out[0] = SEALED_FORMAT_MARKER;
    new DataView(out.buffer).setUint32(1, primary.id);
    const nonce = out.subarray(1 + KEY_ID_BYTES, HEADER_BYTES);
    crypto.getRandomValues(nonce);
    const ciphertext = await crypto.subtle.encrypt(
      { name: "AES-GCM", iv: nonce.slice(), additionalData: this.#additionalData(out), tagLength: 128 },
      primary.key,
      plaintext as Uint8Array<ArrayBuffer>,
    );
    out.set(new Uint8Array(ciphertext), HEADER_BYTES);
    return out;
  }

  /**
   * Opens a sealed datagram: the plaintext, or `undefined` when it is not a
   * sealed datagram, names no key of this ring, or fails authentication.
   * Never throws and never rejects.
   */
  async open(sealed: Uint8Array): Promise<Uint8Array | undefined> {
    try {
      if (!(sealed instanceof Uint8Array) || sealed.byteLength < SEAL_OVERHEAD) return undefined;
      if (sealed[0] !== SEALED_FORMAT_MARKER) return undefined;
      const id = new DataView(sealed.buffer, sealed.byteOffset, sealed.byteLength).getUint32(1);
      const entries = await this.#entries;
      const iv = sealed.slice(1 + KEY_ID_BYTES, HEADER_BYTES);
      const body = sealed.subarray(HEADER_BYTES);
      const additionalData = this.#additionalData(sealed);
      for (const entry of entries) {
        if (entry.id !== id) continue;
        try {
          const plain = await crypto.subtle.decrypt(
            { name: "AES-GCM", iv, additionalData, tagLength: 128 },
            entry.key,
            body as Uint8Array<ArrayBuffer>,
          );
          return new Uint8Array(plain);
        } catch {
          // Wrong key with a colliding id, or a forged or damaged datagram: try the next.
        }
      }
      return undefined;
    } catch {
      return undefined;
    }
  }

  /** Marker and key id of `datagram`, then the protocol and cluster context. */
  #additionalData(datagram: Uint8Array): Uint8Array<ArrayBuffer> {
    const data = new Uint8Array(1 + KEY_ID_BYTES + this.#context.length);
    data.set(datagram.subarray(0, 1 + KEY_ID_BYTES));
    data.set(this.#context, 1 + KEY_ID_BYTES);
    return data;
  }
}

async function importKey(raw: Uint8Array): Promise<KeyEntry> {
  const label = new TextEncoder().encode("chitchat key id\u0000");
  const labelled = new Uint8Array(label.length + raw.length);
  labelled.set(label);
  labelled.set(raw, label.length);
  const digest = new DataView(await crypto.subtle.digest("SHA-256", labelled));
  const key = await crypto.subtle.importKey("raw", raw as Uint8Array<ArrayBuffer>, "AES-GCM", false, [
    "encrypt",
    "decrypt",
  ]);
  return { id: digest.getUint32(0), key };
}
