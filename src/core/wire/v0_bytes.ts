/**
 * The primitives of the chitchat v0 wire: little-endian integers, strings with
 * a `u16` byte length, IP socket addresses and node ids. The reader refuses
 * whatever it cannot take whole (a `SyntaxError` naming the field and the
 * offset); the writer refuses what the format cannot carry (a `TypeError`).
 * @module
 */

import { isIPv4, normalizeAddress } from "../address.ts";
import type { ChitchatId } from "../chitchat_id.ts";

/** Largest value of a `u16` length field. */
export const MAX_U16 = 0xffff;

const TWO_32 = 2 ** 32;
/** High word limit: a `u64` whose high 32 bits exceed this is above 2^53 - 1. */
const MAX_SAFE_HIGH = 0x1f_ffff;

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Reads the fields of one byte range in order; every read checks the bytes left. */
export class V0Reader {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  readonly #what: string;
  #pos = 0;

  /** `what` names the range in error messages ("datagram", "delta op stream"). */
  constructor(bytes: Uint8Array, what: string) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#what = what;
  }

  /** Offset of the next byte to read. */
  get offset(): number {
    return this.#pos;
  }

  /** Bytes not read yet. */
  get remaining(): number {
    return this.#bytes.byteLength - this.#pos;
  }

  #take(n: number, field: string): number {
    const at = this.#pos;
    if (n > this.#bytes.byteLength - at) {
      throw new SyntaxError(
        `Truncated ${this.#what}: ${field} needs ${n} bytes at offset ${at}, ${this.remaining} left`,
      );
    }
    this.#pos = at + n;
    return at;
  }

  /** One byte. */
  u8(field: string): number {
    return this.#bytes[this.#take(1, field)];
  }

  /** A little-endian `u16`. */
  u16(field: string): number {
    return this.#view.getUint16(this.#take(2, field), true);
  }

  /** A little-endian `u64`; above 2^53 - 1 it has no exact number and is refused. */
  u64(field: string): number {
    const at = this.#take(8, field);
    const high = this.#view.getUint32(at + 4, true);
    if (high > MAX_SAFE_HIGH) {
      const value = (BigInt(high) << 32n) | BigInt(this.#view.getUint32(at, true));
      throw new SyntaxError(`Bad ${field} ${value} at offset ${at}: above 2^53 - 1`);
    }
    return high * TWO_32 + this.#view.getUint32(at, true);
  }

  /**
   * A little-endian `u64`, or `undefined` when it is above 2^53 - 1: for the
   * fields of a digest entry or node delta, which the decoder then leaves out
   * whole rather than refusing the datagram (a Rust peer holds such values
   * and repeats them in every digest).
   */
  wideU64(field: string): number | undefined {
    const at = this.#take(8, field);
    const high = this.#view.getUint32(at + 4, true);
    if (high > MAX_SAFE_HIGH) return undefined;
    return high * TWO_32 + this.#view.getUint32(at, true);
  }

  /** `n` raw bytes, as a view into the input. */
  bytes(n: number, field: string): Uint8Array {
    const at = this.#take(n, field);
    return this.#bytes.subarray(at, at + n);
  }

  /** A `u16` byte length, then that many bytes of UTF-8. */
  string(field: string): string {
    const length = this.u16(`${field} length`);
    const at = this.#take(length, field);
    const bytes = this.#bytes;
    let ascii = true;
    for (let i = at; i < at + length; i++) {
      if (bytes[i] >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) {
      return length <= 64 ? String.fromCharCode(...bytes.subarray(at, at + length)) : utf8.decode(bytes.subarray(at, at + length));
    }
    try {
      return utf8.decode(bytes.subarray(at, at + length));
    } catch {
      throw new SyntaxError(`Bad ${field} at offset ${at}: ${length} bytes of invalid UTF-8`);
    }
  }

  /** An IP version byte (4 or 6), the address octets, then a `u16` port. */
  socketAddress(field: string): string {
    const at = this.#pos;
    const version = this.u8(`${field} IP version`);
    if (version === 4) {
      const o = this.bytes(4, field);
      return `${o[0]}.${o[1]}.${o[2]}.${o[3]}:${this.u16(`${field} port`)}`;
    }
    if (version !== 6) {
      throw new SyntaxError(`Bad ${field} at offset ${at}: IP version ${version}, expected 4 or 6`);
    }
    const o = this.bytes(16, field);
    const port = this.u16(`${field} port`);
    const groups: string[] = new Array(8);
    for (let i = 0; i < 8; i++) groups[i] = ((o[2 * i] << 8) | o[2 * i + 1]).toString(16);
    return ipv6Text(groups.join(":"), port);
  }

  /** A node id: name, generation, advertised address. */
  chitchatId(): ChitchatId {
    const nodeId = this.string("node id");
    const generationId = this.u64("generation id");
    const gossipAdvertiseAddr = this.socketAddress("gossip address");
    return internId(nodeId, generationId, gossipAdvertiseAddr);
  }

  /** A node id, or `undefined` (its bytes read all the same) when its generation is above 2^53 - 1. */
  wideChitchatId(): ChitchatId | undefined {
    const nodeId = this.string("node id");
    const generationId = this.wideU64("generation id");
    const gossipAdvertiseAddr = this.socketAddress("gossip address");
    return generationId === undefined ? undefined : internId(nodeId, generationId, gossipAdvertiseAddr);
  }
}

const ipv6Texts = new Map<string, string>();

/** The canonical `[host]:port` text of eight hex groups (RFC 5952, as `normalizeAddress` writes it). */
function ipv6Text(groups: string, port: number): string {
  const key = `${groups}/${port}`;
  let text = ipv6Texts.get(key);
  if (text === undefined) {
    text = normalizeAddress({ hostname: groups, port });
    if (ipv6Texts.size >= 4096) ipv6Texts.clear();
    ipv6Texts.set(key, text);
  }
  return text;
}

/**
 * Decoded ids are interned, as the CBOR codec does: the same node decodes to
 * the same frozen object, so the maps keyed by it compute its key once.
 */
const internedIds = new Map<string, ChitchatId>();
const MAX_INTERNED_IDS = 50_000;

function internId(nodeId: string, generationId: number, gossipAdvertiseAddr: string): ChitchatId {
  const key = `${gossipAdvertiseAddr}/${generationId}/${nodeId}`;
  let id = internedIds.get(key);
  if (id === undefined) {
    if (internedIds.size >= MAX_INTERNED_IDS) internedIds.clear();
    id = Object.freeze({ nodeId, generationId, gossipAdvertiseAddr });
    internedIds.set(key, id);
  }
  return id;
}

/** Appends fields to a growing buffer. */
export class V0Writer {
  #bytes = new Uint8Array(256);
  #view = new DataView(this.#bytes.buffer);
  #pos = 0;

  /** Bytes written so far. */
  get length(): number {
    return this.#pos;
  }

  #room(n: number): number {
    const at = this.#pos;
    if (at + n > this.#bytes.byteLength) {
      let size = this.#bytes.byteLength * 2;
      while (size < at + n) size *= 2;
      const grown = new Uint8Array(size);
      grown.set(this.#bytes.subarray(0, at));
      this.#bytes = grown;
      this.#view = new DataView(grown.buffer);
    }
    this.#pos = at + n;
    return at;
  }

  /** One byte. */
  u8(value: number): void {
    const at = this.#room(1);
    this.#bytes[at] = value;
  }

  /** A little-endian `u16` (the caller checked the range). */
  u16(value: number): void {
    const at = this.#room(2);
    this.#view.setUint16(at, value, true);
  }

  /** A little-endian `u64`; `value` must be a non-negative safe integer (checked by the caller). */
  u64(value: number): void {
    const at = this.#room(8);
    this.#view.setUint32(at, value % TWO_32, true);
    this.#view.setUint32(at + 4, Math.floor(value / TWO_32), true);
  }

  /** Raw bytes. */
  bytes(data: Uint8Array): void {
    const at = this.#room(data.byteLength);
    this.#bytes.set(data, at);
  }

  /**
   * A `u16` byte length and the UTF-8 of `text`. Refuses a lone surrogate
   * (UTF-8 cannot carry it, so it would not come back) and more than 65 535
   * bytes (the length field would wrap).
   */
  string(text: string, field: string): void {
    const lengthAt = this.#room(2);
    // At most 3 bytes per UTF-16 unit (a surrogate pair takes 4 for 2 units).
    const start = this.#room(text.length * 3);
    const b = this.#bytes;
    let at = start;
    for (let i = 0; i < text.length; i++) {
      let code = text.charCodeAt(i);
      if (code < 0x80) {
        b[at++] = code;
        continue;
      }
      if (code >= 0xd800 && code <= 0xdfff) {
        const next = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
        if (code > 0xdbff || next < 0xdc00 || next > 0xdfff) {
          throw new TypeError(`Invalid ${field} ${quote(text)}: lone surrogate at index ${i}, not expressible in UTF-8`);
        }
        code = 0x10000 + ((code - 0xd800) << 10) + (next - 0xdc00);
        i++;
        b[at++] = 0xf0 | (code >> 18);
        b[at++] = 0x80 | ((code >> 12) & 0x3f);
      } else if (code >= 0x800) {
        b[at++] = 0xe0 | (code >> 12);
      }
      if (code >= 0x800) b[at++] = 0x80 | ((code >> 6) & 0x3f);
      else b[at++] = 0xc0 | (code >> 6);
      b[at++] = 0x80 | (code & 0x3f);
    }
    const length = at - start;
    if (length > MAX_U16) {
      throw new TypeError(`Invalid ${field} ${quote(text)}: ${length} UTF-8 bytes, at most ${MAX_U16} fit`);
    }
    this.#pos = at;
    this.#view.setUint16(lengthAt, length, true);
  }

  /** An IP socket address; see {@linkcode socketAddressBytes}. */
  socketAddress(address: string, field: string): void {
    this.bytes(socketAddressBytes(address, field));
  }

  /** A node id, checking every field. */
  chitchatId(id: ChitchatId): void {
    this.string(id.nodeId, "nodeId");
    this.u64(checkU64(id.generationId, "generationId"));
    this.socketAddress(id.gossipAdvertiseAddr, "gossipAdvertiseAddr");
  }

  /** A copy of the bytes written. */
  finish(): Uint8Array {
    return this.#bytes.slice(0, this.#pos);
  }
}

/** Returns `value` when it is a `u64` this side can hold exactly, or throws a `TypeError`. */
export function checkU64(value: number, field: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new TypeError(`Invalid ${field} ${String(value)}: expected an integer from 0 to 2^53 - 1`);
  }
  return value;
}

function quote(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
}

const addressBytes = new Map<string, Uint8Array>();

/**
 * The wire form of an address (7 bytes for IPv4, 19 for IPv6). The format
 * carries only an IP literal and a port, so a host name, an IPv6 zone and any
 * form other than the canonical one (which is what decoding gives back) are
 * refused with a `TypeError`.
 */
export function socketAddressBytes(address: string, field: string): Uint8Array {
  const known = addressBytes.get(address);
  if (known !== undefined) return known;
  let canonical: string;
  try {
    canonical = normalizeAddress(address);
  } catch (error) {
    throw new TypeError(`Invalid ${field} ${quote(String(address))}: ${(error as Error).message}`);
  }
  if (canonical !== address) {
    throw new TypeError(`Invalid ${field} ${quote(address)}: not in canonical form (${canonical})`);
  }
  const colon = address.lastIndexOf(":");
  const host = address.startsWith("[") ? address.slice(1, colon - 1) : address.slice(0, colon);
  const port = Number(address.slice(colon + 1));
  let out: Uint8Array;
  if (isIPv4(host)) {
    out = new Uint8Array(7);
    out[0] = 4;
    out.set(host.split(".").map(Number), 1);
    out[5] = port & 0xff;
    out[6] = port >> 8;
  } else if (address.startsWith("[")) {
    if (host.includes("%")) {
      throw new TypeError(`Invalid ${field} ${quote(address)}: chitchat v0 carries no IPv6 zone`);
    }
    out = new Uint8Array(19);
    out[0] = 6;
    const groups = ipv6Groups(host);
    for (let i = 0; i < 8; i++) {
      out[1 + 2 * i] = groups[i] >> 8;
      out[2 + 2 * i] = groups[i] & 0xff;
    }
    out[17] = port & 0xff;
    out[18] = port >> 8;
  } else {
    throw new TypeError(`Invalid ${field} ${quote(address)}: chitchat v0 carries IP addresses only, not host names`);
  }
  if (addressBytes.size >= 4096) addressBytes.clear();
  addressBytes.set(address, out);
  return out;
}

/** The eight groups of a canonical IPv6 literal (hex groups, at most one `::`, maybe a dotted tail). */
function ipv6Groups(host: string): number[] {
  const parse = (part: string): number[] => {
    if (part === "") return [];
    const groups: number[] = [];
    for (const piece of part.split(":")) {
      if (piece.includes(".")) {
        const [a, b, c, d] = piece.split(".").map(Number);
        groups.push((a << 8) | b, (c << 8) | d);
      } else {
        groups.push(parseInt(piece, 16));
      }
    }
    return groups;
  };
  const gap = host.indexOf("::");
  if (gap < 0) return parse(host);
  const head = parse(host.slice(0, gap));
  const tail = parse(host.slice(gap + 2));
  return [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}
