/**
 * Seed addresses: `host:port` strings whose host names are resolved through
 * DNS at start and at each refresh after. Every address a name resolves to is
 * a seed. Rules kept here: a refresh never rejects and ends within the lookup
 * timeout, however the resolver behaves; a name that fails keeps its last
 * known addresses, is retried at the next refresh and is warned about once
 * per failure streak.
 * @module
 */

import { formatAddress, isIPv4, isIPv6, parseAddress, type SocketAddress } from "../core/address.ts";
import type { Logger } from "../core/logger.ts";
import { type Clock, systemClock } from "./clock.ts";

/** Resolves a host name to IP addresses. */
export type Resolver = (hostname: string) => Promise<string[]>;

/** Longest wait for one name's lookup by default; past it, the lookup counts as failed. */
export const DEFAULT_SEED_LOOKUP_TIMEOUT_MS = 5_000;

/** First delay before retrying while a name has never resolved; it doubles up to the refresh interval. */
const FIRST_RETRY_MS = 1_000;

/** Options of {@linkcode SeedList}. */
export interface SeedListOptions {
  /** Resolves host names (the node passes the system's unless told otherwise). */
  readonly resolver: Resolver;
  /** Where failures and recoveries are reported. */
  readonly logger?: Logger;
  /** Times lookups out (default the system clock). */
  readonly clock?: Clock;
  /** Longest wait for one lookup, in ms (default 5 000). */
  readonly lookupTimeoutMs?: number;
}

/**
 * The default resolver: the operating system's (`getaddrinfo`, so
 * `/etc/hosts` and `/etc/resolv.conf` count) through `node:dns`, loaded on
 * first use.
 *
 * @example
 * ```ts
 * import { systemResolver } from "@scope/chitchat";
 * const addresses = await systemResolver("localhost");
 * console.assert(addresses.length > 0);
 * ```
 */
export async function systemResolver(hostname: string): Promise<string[]> {
  const dns = await import("node:dns/promises");
  const results = await dns.lookup(hostname, { all: true });
  return results.map((result) => result.address);
}

/**
 * Keeps the resolved form of a list of seeds. IP literals are seeds at once;
 * each host name contributes every address it last resolved to.
 *
 * @example
 * ```ts
 * import { SeedList } from "./seeds.ts";
 * import assert from "node:assert/strict";
 * const seeds = new SeedList(["127.0.0.1:7000", "seeds.internal:7000"], {
 *   resolver: async () => ["10.0.0.1", "10.0.0.2"],
 * });
 * assert.deepEqual(seeds.addresses, ["127.0.0.1:7000"]);
 * await seeds.refresh();
 * assert.deepEqual(seeds.addresses, ["127.0.0.1:7000", "10.0.0.1:7000", "10.0.0.2:7000"]);
 * ```
 */
export class SeedList {
  #literal: string[] = [];
  #named: SocketAddress[] = [];
  #resolved = new Map<string, string[]>();
  /** Names whose last lookup failed: warned about once until they resolve again. */
  #failing = new Set<string>();
  #resolver: Resolver;
  #logger: Logger | undefined;
  #clock: Clock;
  #timeoutMs: number;
  #addresses: string[] = [];
  #pending: Promise<void> | undefined;
  #retryMs = FIRST_RETRY_MS;

  /** Parses `seeds` (throwing `TypeError` quoting a malformed one); literals are usable at once. */
  constructor(seeds: readonly string[], options: SeedListOptions) {
    this.#resolver = options.resolver;
    this.#logger = options.logger;
    this.#clock = options.clock ?? systemClock;
    this.#timeoutMs = options.lookupTimeoutMs ?? DEFAULT_SEED_LOOKUP_TIMEOUT_MS;
    if (!(this.#timeoutMs > 0)) {
      throw new RangeError(`Seed option "lookupTimeoutMs" must be a positive number (got ${this.#timeoutMs})`);
    }
    for (const seed of seeds) {
      const addr = parseAddress(seed);
      if (isIPv4(addr.hostname) || isIPv6(addr.hostname)) this.#literal.push(formatAddress(addr));
      else this.#named.push(addr);
    }
    this.#rebuild();
  }

  /** True when some seeds are host names that need resolving. */
  get needsResolution(): boolean {
    return this.#named.length > 0;
  }

  /** The current seed addresses (IP literals with ports), without duplicates. */
  get addresses(): readonly string[] {
    return this.#addresses;
  }

  /** Named seeds (`host:port`) whose last lookup failed. */
  get failing(): readonly string[] {
    return [...this.#failing];
  }

  /**
   * Resolves every named seed again, all at once. Never rejects, and ends
   * within the lookup timeout even when the resolver never answers; a call
   * while one is running shares it. A name that fails (an error, no answer
   * in time, or no address) keeps its previous addresses and is warned about
   * on the first failure of a streak only.
   */
  refresh(): Promise<void> {
    this.#pending ??= this.#refreshAll().finally(() => (this.#pending = undefined));
    return this.#pending;
  }

  /**
   * How long to wait before the next refresh: `intervalMs`, or less while a
   * name has never resolved (1 s, doubling after each refresh up to
   * `intervalMs`), so a node that starts before its DNS records exist joins
   * soon after they appear.
   */
  nextRefreshMs(intervalMs: number): number {
    const waiting = this.#named.some((seed) => !this.#resolved.has(formatAddress(seed)));
    if (!waiting) {
      this.#retryMs = FIRST_RETRY_MS;
      return intervalMs;
    }
    const delay = Math.min(this.#retryMs, intervalMs);
    this.#retryMs = Math.min(this.#retryMs * 2, intervalMs);
    return delay;
  }

  async #refreshAll(): Promise<void> {
    await Promise.all(this.#named.map(async (seed) => {
      const name = formatAddress(seed);
      try {
        const ips = (await this.#lookup(seed.hostname)).filter((ip) => isIPv4(ip) || isIPv6(ip));
        if (ips.length === 0) throw new Error("no address");
        const addresses = [...new Set(ips.map((ip) => formatAddress({ hostname: ip, port: seed.port })))];
        this.#resolved.set(name, addresses);
        if (this.#failing.delete(name)) {
          this.#logger?.info(`Seed ${name} resolves again, to ${addresses.join(", ")}`);
        }
      } catch (error) {
        if (this.#failing.has(name)) return;
        this.#failing.add(name);
        const known = this.#resolved.get(name);
        const keeping = known === undefined ? "no address known yet" : `keeping ${known.join(", ")}`;
        this.#logger?.warn(`Seed ${name} did not resolve (${reasonOf(error)}); retrying, ${keeping}`);
      }
    }));
    this.#rebuild();
  }

  /** The resolver's answer, or a rejection when it throws, rejects or takes longer than the timeout. */
  async #lookup(hostname: string): Promise<string[]> {
    let cancel = (): void => {};
    const timeout = new Promise<never>((_, reject) => {
      cancel = this.#clock.setTimer(this.#timeoutMs, () => reject(new Error(`no answer within ${this.#timeoutMs} ms`)));
    });
    try {
      const answer = await Promise.race([Promise.resolve().then(() => this.#resolver(hostname)), timeout]);
      if (!Array.isArray(answer)) throw new TypeError(`the resolver gave ${typeof answer}, not an array`);
      return answer;
    } finally {
      cancel();
    }
  }

  #rebuild(): void {
    const all = new Set(this.#literal);
    for (const addrs of this.#resolved.values()) for (const addr of addrs) all.add(addr);
    this.#addresses = [...all];
  }
}

function reasonOf(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === "string" && !error.message.includes(code) ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}
