/**
 * Cluster keys and the sealed datagram format: AES-256-GCM through WebCrypto
 * (`crypto.subtle`, the same in Deno, Bun and Node). Rules kept here: a
 * datagram is opened whole or not at all, each sealed datagram opens at most
 * once per receiver, and `open()` never throws.
 *
 * A sealed datagram (format 2) is `marker (1) | key id (4) | epoch (8) |
 * counter (8) | time (4) | nonce (12) | ciphertext | tag (16)`. The epoch is
 * random, drawn once per sealing node (it survives key rotation, not a
 * restart); the counter numbers the datagrams of that epoch from 0; the time
 * is the sender's wall clock in whole seconds. The nonce is random per
 * datagram; the additional data binds everything before it (marker, key id,
 * epoch, counter, time) and the protocol version and cluster id, so a
 * datagram sealed for another cluster or protocol version does not open and
 * no header field can be changed. After authentication, the epoch and counter
 * go through a {@linkcode ReplayGuard}: a datagram opened once is refused as
 * replayed. The key id is the first 4 bytes of SHA-256 over a label and the
 * key: `open()` tries only the keys it names, so outsiders' datagrams cost no
 * decryption.
 * @module
 */

import { PROTOCOL_VERSION } from "../core/wire_constants.ts";
import { type Clock, systemClock } from "./clock.ts";
import { ReplayGuard } from "./replay_window.ts";

/** First byte of every sealed datagram (format 2: with epoch, counter and time). */
export const SEALED_FORMAT_MARKER = 0xc8;

/** Bytes sealing adds to a datagram: marker, key id, epoch, counter, time, nonce and tag. */
export const SEAL_OVERHEAD: number = 1 + 4 + 8 + 8 + 4 + 12 + 16;

/** Size of a cluster key in bytes (AES-256). */
export const CLUSTER_KEY_BYTES = 32;

const KEY_ID_BYTES = 4;
const EPOCH_AT = 1 + KEY_ID_BYTES;
const COUNTER_AT = EPOCH_AT + 8;
const TIME_AT = COUNTER_AT + 8;
/** Marker, key id, epoch, counter and time: what the additional data binds. */
const BOUND_BYTES = TIME_AT + 4;
const NONCE_BYTES = 12;
const HEADER_BYTES = BOUND_BYTES + NONCE_BYTES;
const TAG_BYTES = 16;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Options of {@linkcode Keyring}. */
export interface KeyringOptions {
  /** The cluster id bound into every datagram; a datagram of another cluster does not open. */
  readonly clusterId: string;
  /**
   * The clock of the node (default the system clock). With the system clock,
   * sealed times are `Date.now()`; with another (a simulation's), they are
   * that clock's time plus the wall time at which the first ring met it.
   */
  readonly clock?: Clock;
  /** Sender epochs remembered for replay protection (default 4096); the least recently heard is forgotten first. */
  readonly maxSenders?: number;
  /**
   * Largest distance, in ms, between our clock and the time in a datagram of a
   * sender epoch not remembered (default 300 000, five minutes); such a
   * datagram farther off is refused as stale. Senders already remembered are
   * never judged by their clock.
   */
  readonly maxClockSkewMs?: number;
}

/**
 * What {@linkcode Keyring.unseal} made of a datagram: its plaintext, or why it
 * was refused. `unauthenticated`: not sealed, names no key of the ring, or
 * fails authentication. `replayed`: authentic, but opened before (or more
 * than 1 024 datagrams behind the newest of its sender). `stale`: authentic,
 * from a sender not remembered, and sealed `skewMs` away from our clock (more
 * than `maxClockSkewMs`): an old recording, or clocks far apart.
 */
export type Unsealed =
  | { readonly status: "opened"; readonly plaintext: Uint8Array }
  | { readonly status: "unauthenticated" }
  | { readonly status: "replayed" }
  | { readonly status: "stale"; readonly skewMs: number };

/** The sealing side's numbering, shared by a ring and the rings made from it by `withKeys()`. */
interface SenderState {
  readonly epoch: Uint8Array;
  counter: number;
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
 * Each ring seals under its own random epoch with a counter, and refuses a
 * datagram it opened before (see {@linkcode Unsealed}). A restarted node has a
 * new epoch, so its peers accept it at once; `withKeys()` keeps the epoch,
 * the counter and the memory of what was opened, so rotating keys neither
 * refuses anyone nor lets an old datagram in again.
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
 * const b = new Keyring([key], { clusterId: "prod" });
 * const sealed = await a.seal(new Uint8Array([1, 2, 3]));
 * assert.equal(sealed.length, 3 + SEAL_OVERHEAD);
 * assert.deepEqual(await b.open(sealed), new Uint8Array([1, 2, 3]));
 * assert.equal((await b.unseal(sealed)).status, "replayed");
 * const otherCluster = new Keyring([key], { clusterId: "test" });
 * assert.equal(await otherCluster.open(sealed), undefined);
 * ```
 *
 * @example Rotate keys, keeping the replay memory
 * ```ts
 * import { generateClusterKey, Keyring } from "./keyring.ts";
 * import assert from "node:assert/strict";
 * const [oldKey, newKey] = [generateClusterKey(), generateClusterKey()];
 * const sender = new Keyring([oldKey], { clusterId: "prod" });
 * let receiver = new Keyring([oldKey], { clusterId: "prod" });
 * const recorded = await sender.seal(new Uint8Array([7]));
 * assert.equal((await receiver.unseal(recorded)).status, "opened");
 * receiver = receiver.withKeys([newKey, oldKey]);
 * assert.equal((await receiver.unseal(recorded)).status, "replayed");
 * ```
 */
export class Keyring {
  /** Number of keys; the first is primary. */
  readonly size: number;
  #entries: Promise<KeyEntry[]>;
  #context: Uint8Array;
  #clusterId: string;
  #sender: SenderState;
  #guard: ReplayGuard;

  /** Checks `keys` (base64, 32 bytes each) and the options, and starts importing the keys. */
  constructor(keys: readonly string[], options: KeyringOptions) {
    const raw = parseClusterKeys(keys);
    if (typeof options?.clusterId !== "string") {
      throw new TypeError(`Keyring needs a clusterId string (got ${typeof options?.clusterId})`);
    }
    this.size = raw.length;
    this.#clusterId = options.clusterId;
    this.#context = new TextEncoder().encode(`chitchat sealed v${PROTOCOL_VERSION}\u0000${options.clusterId}`);
    this.#guard = new ReplayGuard({
      maxSenders: options.maxSenders,
      maxClockSkewMs: options.maxClockSkewMs,
      now: wallClock(options.clock),
    });
    this.#sender = { epoch: crypto.getRandomValues(new Uint8Array(8)), counter: 0 };
    this.#entries = Promise.all(raw.map(importKey));
    // Importing raw 32-byte AES keys does not fail; never leave a rejection unhandled.
    this.#entries.catch(() => {});
  }

  /**
   * A ring with other keys (checked like the constructor's) that goes on
   * with this ring's epoch, counter and replay memory: what a running node
   * uses to rotate keys.
   */
  withKeys(keys: readonly string[]): Keyring {
    const next = new Keyring(keys, { clusterId: this.#clusterId });
    next.#sender = this.#sender;
    next.#guard = this.#guard;
    return next;
  }

  /** The key ids (hex, 8 digits), primary first; they name keys without revealing them. */
  async keyIds(): Promise<string[]> {
    return (await this.#entries).map((entry) => entry.id.toString(16).padStart(8, "0"));
  }

  /** Sender epochs this ring remembers for replay protection (at most `maxSenders`). */
  get trackedSenders(): number {
    return this.#guard.size;
  }

  /** Seals `plaintext` with the primary key, the next counter and a fresh random nonce. */
  async seal(plaintext: Uint8Array): Promise<Uint8Array> {
    const primary = (await this.#entries)[0];
    const out = new Uint8Array(HEADER_BYTES + plaintext.byteLength + TAG_BYTES);
    const view = new DataView(out.buffer);
    out[0] = SEALED_FORMAT_MARKER;
    view.setUint32(1, primary.id);
    out.set(this.#sender.epoch, EPOCH_AT);
    const counter = this.#sender.counter++;
    view.setUint32(COUNTER_AT, Math.floor(counter / 2 ** 32));
    view.setUint32(COUNTER_AT + 4, counter >>> 0);
    view.setUint32(TIME_AT, Math.max(0, Math.floor(this.#guard.now() / 1000)));
    const nonce = out.subarray(BOUND_BYTES, HEADER_BYTES);
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
   * sealed datagram, names no key of this ring, fails authentication, or was
   * opened before (see {@linkcode Keyring.unseal}). Never throws and never
   * rejects.
   */
  async open(sealed: Uint8Array): Promise<Uint8Array | undefined> {
    const result = await this.unseal(sealed);
    return result.status === "opened" ? result.plaintext : undefined;
  }

  /**
   * Opens a sealed datagram and says why when it does not (see
   * {@linkcode Unsealed}). Authentication comes first: only an authentic
   * datagram is checked against, and recorded in, the replay memory. Never
   * throws and never rejects.
   */
  async unseal(sealed: Uint8Array): Promise<Unsealed> {
    try {
      if (!(sealed instanceof Uint8Array) || sealed.byteLength < SEAL_OVERHEAD) return UNAUTHENTICATED;
      if (sealed[0] !== SEALED_FORMAT_MARKER) return UNAUTHENTICATED;
      const view = new DataView(sealed.buffer, sealed.byteOffset, sealed.byteLength);
      const id = view.getUint32(1);
      const entries = await this.#entries;
      const iv = sealed.slice(BOUND_BYTES, HEADER_BYTES);
      const body = sealed.subarray(HEADER_BYTES);
      const additionalData = this.#additionalData(sealed);
      for (const entry of entries) {
        if (entry.id !== id) continue;
        let plain: ArrayBuffer;
        try {
          plain = await crypto.subtle.decrypt(
            { name: "AES-GCM", iv, additionalData, tagLength: 128 },
            entry.key,
            body as Uint8Array<ArrayBuffer>,
          );
        } catch {
          // Wrong key with a colliding id, or a forged or damaged datagram: try the next.
          continue;
        }
        const epoch = hex(sealed.subarray(EPOCH_AT, COUNTER_AT));
        const counter = view.getUint32(COUNTER_AT) * 2 ** 32 + view.getUint32(COUNTER_AT + 4);
        // Whole seconds: the true time may be up to one second later.
        const sentAtMs = view.getUint32(TIME_AT) * 1000 + 500;
        const verdict = this.#guard.check(epoch, counter, sentAtMs);
        if (verdict === "replayed") return REPLAYED;
        if (verdict === "stale") return { status: "stale", skewMs: sentAtMs - this.#guard.now() };
        return { status: "opened", plaintext: new Uint8Array(plain) };
      }
      return UNAUTHENTICATED;
    } catch {
      return UNAUTHENTICATED;
    }
  }

  /** The bound header of `datagram` (marker to time), then the protocol and cluster context. */
  #additionalData(datagram: Uint8Array): Uint8Array<ArrayBuffer> {
    const data = new Uint8Array(BOUND_BYTES + this.#context.length);
    data.set(datagram.subarray(0, BOUND_BYTES));
    data.set(this.#context, BOUND_BYTES);
    return data;
  }
}

const UNAUTHENTICATED: Unsealed = { status: "unauthenticated" };
const REPLAYED: Unsealed = { status: "replayed" };

function hex(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) text += byte.toString(16).padStart(2, "0");
  return text;
}

/** Where each non-system clock's time 0 falls on the wall clock, fixed when a ring first meets it. */
const clockOrigins = new WeakMap<Clock, number>();

/**
 * Wall-clock milliseconds as `clock` sees them: `Date.now` itself for the
 * system clock; for another (a simulation's), a fixed origin plus its time, so
 * every node sharing that clock (or wrappers of it: `Clock.source`) agrees
 * however far it has been advanced.
 */
function wallClock(clock: Clock | undefined): () => number {
  if (clock === undefined || clock === systemClock) return Date.now;
  const source = clock.source ?? clock;
  let origin = clockOrigins.get(source);
  if (origin === undefined) {
    origin = Date.now() - source.now();
    clockOrigins.set(source, origin);
  }
  const fixed = origin;
  return () => fixed + clock.now();
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
