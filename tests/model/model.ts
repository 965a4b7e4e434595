/**
 * The model of the checker: what each incarnation of each node wrote, in
 * order, with the version the owner gave it, and the failures found so far.
 * Everything the checker asserts is measured against this record, never
 * against the library's own idea of what should be there.
 * @module
 */

import { type ChitchatId, chitchatIdKey, type ChitchatNode } from "../../mod.ts";

/** The properties the checker asserts. */
export type Property =
  | "convergence"
  | "noResurrection"
  | "noLostWrite"
  | "noFalseDeath"
  | "monotonic"
  | "noException"
  | "mtu"
  | "keyCap";

/** One violation of a property. */
export interface Failure {
  /** The property violated. */
  readonly property: Property;
  /** Virtual time (ms) at which it was seen. */
  readonly at: number;
  /** What was seen, naming the nodes and keys. */
  readonly message: string;
}

/** The kinds of write an owner makes. */
export type WriteKind = "set" | "setWithTtl" | "delete" | "deleteAfterTtl";

/** One effective write (the library said it changed something). */
export interface Write {
  /** The kind of write. */
  readonly kind: WriteKind;
  /** The key. */
  readonly key: string;
  /** The visible value after it ("" for a delete). */
  readonly value: string;
  /** The version the owner gave it. */
  readonly version: number;
  /** Virtual time of the write. */
  readonly at: number;
}

/** True when a write leaves the key visible until it is reaped. */
export function isTtl(write: Write): boolean {
  return write.kind === "setWithTtl" || write.kind === "deleteAfterTtl";
}

/** The status an owner stores for a write of `kind`. */
export function statusOf(kind: WriteKind): "set" | "deleted" | "deleteAfterTtl" {
  return kind === "set" ? "set" : kind === "delete" ? "deleted" : "deleteAfterTtl";
}

/** One run of one node: its handle (kept after it stops) and what it wrote. */
export class Incarnation {
  /** The node's id. */
  readonly id: ChitchatId;
  /** `chitchatIdKey(id)`. */
  readonly key: string;
  /** The node handle; its state stays readable after shutdown. */
  readonly handle: ChitchatNode;
  /** The last write of each key. */
  readonly last: Map<string, Write> = new Map();
  /** Every write, by version. */
  readonly byVersion: Map<number, Write> = new Map();
  /** The version of the owner's next write, less one. */
  maxVersion: number;
  /** Virtual time it started. */
  readonly startedAt: number;

  constructor(handle: ChitchatNode, now: number) {
    this.handle = handle;
    this.id = handle.id;
    this.key = chitchatIdKey(handle.id);
    this.maxVersion = handle.nodeState(handle.id)?.maxVersion ?? 0;
    this.startedAt = now;
  }

  /** Records an effective write and returns it. */
  record(kind: WriteKind, key: string, value: string, version: number, at: number): Write {
    const write: Write = { kind, key, value, version, at };
    this.last.set(key, write);
    this.byVersion.set(version, write);
    this.maxVersion = Math.max(this.maxVersion, version);
    return write;
  }
}

/** Failures, at most `perProperty` messages kept per property (all counted). */
export class FailureLog {
  readonly #perProperty: number;
  readonly #failures: Failure[] = [];
  readonly #counts = new Map<Property, number>();

  constructor(perProperty = 4) {
    this.#perProperty = perProperty;
  }

  /** Records one violation. */
  add(property: Property, at: number, message: string): void {
    const count = (this.#counts.get(property) ?? 0) + 1;
    this.#counts.set(property, count);
    if (count <= this.#perProperty) this.#failures.push({ property, at, message });
  }

  /** The failures kept, in order seen. */
  get failures(): readonly Failure[] {
    return this.#failures;
  }

  /** How many violations of each property were seen. */
  get counts(): ReadonlyMap<Property, number> {
    return this.#counts;
  }
}
