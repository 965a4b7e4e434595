/**
 * Seed addresses: `host:port` strings whose host names are resolved through
 * DNS at start and about once a minute after. A seed that does not resolve is
 * logged and retried at the next refresh, never fatal.
 * @module
 */

import { formatAddress, isIPv4, isIPv6, parseAddress, type SocketAddress } from "../core/address.ts";
import type { Logger } from "../core/logger.ts";

/** Resolves a host name to IP addresses. */
export type Resolver = (hostname: string) => Promise<string[]>;

/**
 * The default resolver: the operating system's (`getaddrinfo`, so
 * `/etc/hosts` counts) through `node:dns`, loaded on first use.
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
 * Keeps the resolved form of a list of seeds.
 *
 * @example
 * ```ts
 * import { SeedList } from "./seeds.ts";
 * import assert from "node:assert/strict";
 * const seeds = new SeedList(["127.0.0.1:7000", "[::1]:7001"], { resolver: async () => [] });
 * assert.deepEqual(seeds.addresses, ["127.0.0.1:7000", "[::1]:7001"]);
 * ```
 */
export class SeedList {
  #literal: string[] = [];
  #named: SocketAddress[] = [];
  #resolved = new Map<string, string[]>();
  #resolver: Resolver;
  #logger: Logger | undefined;
  #addresses: string[] = [];

  /** Parses `seeds` (throwing `TypeError` quoting a malformed one); literals are usable at once. */
  constructor(seeds: readonly string[], options: { resolver: Resolver; logger?: Logger }) {
    this.#resolver = options.resolver;
    this.#logger = options.logger;
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

  /** Resolves every named seed again; a failure keeps that seed's previous addresses. */
  async refresh(): Promise<void> {
    await Promise.all(this.#named.map(async (seed) => {
      const name = formatAddress(seed);
      try {
        const ips = await this.#resolver(seed.hostname);
        this.#resolved.set(name, ips.map((ip) => formatAddress({ hostname: ip, port: seed.port })));
      } catch (error) {
        this.#logger?.warn(`Seed ${name} did not resolve; retrying later`, error);
      }
    }));
    this.#rebuild();
  }

  #rebuild(): void {
    const all = new Set(this.#literal);
    for (const addrs of this.#resolved.values()) for (const addr of addrs) all.add(addr);
    this.#addresses = [...all];
  }
}
