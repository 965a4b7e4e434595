/**
 * An in-memory UDP network for simulations: sockets bound to `host:port`
 * strings, datagrams delivered on a {@linkcode Clock} after a latency, with
 * seeded loss, duplication, jitter (which reorders), an MTU, partitions and
 * per-node counters. Same seed and same sends give the same deliveries.
 * @module
 */

import { formatAddress, normalizeAddress, parseAddress, type SocketAddress } from "../core/address.ts";
import type { Clock } from "../runtime/clock.ts";
import { AddressInUseError } from "../runtime/socket.ts";
import type { Socket, SocketOpener } from "../runtime/socket.ts";
import { type Binding, MemorySocket, RESOLVED } from "./memory_socket.ts";
import { createRandom, type Random } from "./random.ts";
import { checkSettings, type LinkSettings, type TrafficStats, zeroStats } from "./link_settings.ts";

/** Options for {@linkcode MemoryNetwork}: the clock, the seed and the default link settings. */
export interface MemoryNetworkOptions extends LinkSettings {
  /** Schedules deliveries; usually a `ManualClock`. */
  clock: Clock;
  /** Seeds every random decision (loss, duplication, jitter). */
  seed: number;
  /** Largest payload in bytes; bigger datagrams are dropped. Default 65 507. */
  mtu?: number;
  /** When true, `send` rejects oversized datagrams with a `RangeError` instead of dropping them. */
  strictMtu?: boolean;
  /** Observer called at send time for every accepted datagram (before loss); must not mutate `bytes`. */
  onDatagram?: (from: string, to: string, bytes: Uint8Array) => void;
}

const FIRST_EPHEMERAL_PORT = 49152;
const EPHEMERAL_PORTS = 65536 - FIRST_EPHEMERAL_PORT;

/**
 * A simulated datagram network. Sockets come from {@linkcode MemoryNetwork.open}
 * (or the bound {@linkcode MemoryNetwork.opener}) and implement `Socket`.
 *
 * Per `send`, in this order: the payload is copied and counted, `onDatagram`
 * sees it; it is dropped if larger than the MTU or if a partition or
 * isolation cuts the link; then one draw decides loss, one draw decides
 * duplication, and each surviving copy draws its own jitter and is delivered
 * by a clock timer at `now + latencyMs + jitter`. Copies are independent, so
 * jitter reorders datagrams and duplicates; equal arrival times keep send
 * order. Cuts are checked at send time (datagrams in flight still arrive);
 * the receiver is looked up on arrival (nobody listening: dropped).
 *
 * @example Two sockets, one datagram, one millisecond
 * ```ts
 * import { ManualClock } from "@scope/chitchat/testing";
 * import { MemoryNetwork } from "@scope/chitchat/testing";
 * import assert from "node:assert/strict";
 * const clock = new ManualClock();
 * const network = new MemoryNetwork({ clock, seed: 1, latencyMs: 1 });
 * const a = await network.open("10.0.0.1:7000");
 * const b = await network.open("10.0.0.2:7000");
 * const got: string[] = [];
 * b.listen((data, from) => got.push(`${from} ${data.length}`));
 * await a.send(new Uint8Array(3), b.localAddr);
 * clock.advance(1);
 * assert.deepEqual(got, ["10.0.0.1:7000 3"]);
 * assert.equal(network.stats("10.0.0.2:7000").bytesReceived, 3);
 * ```
 */
export class MemoryNetwork {
  /** `open` bound to this network, to pass where a `SocketOpener` is expected. */
  readonly opener: SocketOpener;
  #clock: Clock;
  #random: Random;
  #defaults: Required<LinkSettings>;
  #mtu: number;
  #strictMtu: boolean;
  #onDatagram?: (from: string, to: string, bytes: Uint8Array) => void;
  #bindings = new Map<string, Binding>();
  #stats = new Map<string, TrafficStats>();
  #links = new Map<string, Map<string, LinkSettings>>();
  #partitions: [Set<string>, Set<string>][] = [];
  #isolated = new Set<string>();
  #canonical = new Map<string, string>();
  #nextPort = 0;
  #inFlight = 0;

  /** Creates a network; throws `RangeError` on an invalid seed, MTU or link setting. */
  constructor(options: MemoryNetworkOptions) {
    const settings = checkSettings(options);
    const mtu = options.mtu ?? 65_507;
    if (!Number.isSafeInteger(mtu) || mtu <= 0) {
      throw new RangeError(`MTU ${mtu} is not a positive integer`);
    }
    this.#clock = options.clock;
    this.#random = createRandom(options.seed);
    this.#defaults = { latencyMs: 1, jitterMs: 0, loss: 0, duplicate: 0 };
    this.setDefaults(settings);
    this.#mtu = mtu;
    this.#strictMtu = options.strictMtu ?? false;
    this.#onDatagram = options.onDatagram;
    this.opener = (addr: string): Promise<Socket> => this.open(addr);
  }

  /**
   * Binds a socket to `addr` (normalized; port 0 takes a free port from
   * 49152 up). Rejects with `AddressInUseError` when the address is bound,
   * `TypeError` when it is malformed.
   */
  open(addr: string): Promise<Socket> {
    try {
      const parsed = withoutLocalhost(parseAddress(addr));
      const local = parsed.port === 0 ? this.#freePort(parsed.hostname) : formatAddress(parsed);
      if (this.#bindings.has(local)) throw new AddressInUseError(local);
      const binding: Binding = { addr: local, handler: null, closed: false };
      this.#bindings.set(local, binding);
      return Promise.resolve(new MemorySocket(binding, this.#send, this.#close));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Changes the default settings (fields left out keep their value); per-link overrides win field by field. */
  setDefaults(settings: LinkSettings): void {
    const checked = checkSettings(settings);
    for (const key of ["latencyMs", "jitterMs", "loss", "duplicate"] as const) {
      this.#defaults[key] = checked[key] ?? this.#defaults[key];
    }
  }

  /** Overrides the settings of the directed link `from -> to`, merging with earlier overrides. */
  setLink(from: string, to: string, settings: LinkSettings): void {
    const checked = checkSettings(settings);
    const source = this.#canon(from);
    const target = this.#canon(to);
    let row = this.#links.get(source);
    if (row === undefined) this.#links.set(source, row = new Map());
    const old = row.get(target) ?? {};
    row.set(target, {
      latencyMs: checked.latencyMs ?? old.latencyMs,
      jitterMs: checked.jitterMs ?? old.jitterMs,
      loss: checked.loss ?? old.loss,
      duplicate: checked.duplicate ?? old.duplicate,
    });
  }

  /** Applies {@linkcode MemoryNetwork.setLink} in both directions between `a` and `b`. */
  setSymmetricLink(a: string, b: string, settings: LinkSettings): void {
    this.setLink(a, b, settings);
    this.setLink(b, a, settings);
  }

  /** Removes every per-link override; links follow the defaults again. */
  clearLinks(): void {
    this.#links.clear();
  }

  /** Cuts every link between `groupA` and `groupB`, both ways, until {@linkcode MemoryNetwork.heal}. */
  partition(groupA: string[], groupB: string[]): void {
    const a = new Set(groupA.map((addr) => this.#canon(addr)));
    const b = new Set(groupB.map((addr) => this.#canon(addr)));
    for (const addr of a) {
      if (b.has(addr)) throw new RangeError(`Address ${addr} is on both sides of the partition`);
    }
    this.#partitions.push([a, b]);
  }

  /** Cuts every link to and from `addr` (not its datagrams to itself) until {@linkcode MemoryNetwork.heal}. */
  isolate(addr: string): void {
    this.#isolated.add(this.#canon(addr));
  }

  /** Removes every partition and isolation; link settings are kept. */
  heal(): void {
    this.#partitions = [];
    this.#isolated.clear();
  }

  /** Counters of `addr` (zeros if it never sent or received); a snapshot copy. */
  stats(addr: string): TrafficStats {
    return { ...(this.#stats.get(this.#canon(addr)) ?? zeroStats()) };
  }

  /** The sum of every address's counters. */
  totals(): TrafficStats {
    const sum = zeroStats();
    for (const stats of this.#stats.values()) {
      for (const key of Object.keys(sum) as (keyof TrafficStats)[]) sum[key] += stats[key];
    }
    return sum;
  }

  /** Datagram copies scheduled for delivery and not yet arrived. */
  get inFlight(): number {
    return this.#inFlight;
  }

  #send = (binding: Binding, data: Uint8Array, to: string): Promise<void> => {
    if (binding.closed) return Promise.reject(new Error(`Socket ${binding.addr} is closed`));
    if (!(data instanceof Uint8Array)) {
      return Promise.reject(new TypeError(`Datagram ${String(data)} is not a Uint8Array`));
    }
    let target: string;
    try {
      target = this.#canon(to);
    } catch (error) {
      return Promise.reject(error);
    }
    const size = data.byteLength;
    if (size > this.#mtu && this.#strictMtu) {
      return Promise.reject(
        new RangeError(
          `Datagram of ${size} bytes to ${target} exceeds the MTU of ${this.#mtu} bytes`,
        ),
      );
    }
    const from = binding.addr;
    const stats = this.#statsOf(from);
    stats.datagramsSent++;
    stats.bytesSent += size;
    const bytes = data.slice();
    this.#onDatagram?.(from, target, bytes);
    if (size > this.#mtu || this.#isCut(from, target)) {
      stats.dropped++;
      return RESOLVED;
    }
    const link = this.#links.get(from)?.get(target);
    const defaults = this.#defaults;
    const loss = link?.loss ?? defaults.loss;
    if (loss > 0 && this.#random() < loss) {
      stats.dropped++;
      return RESOLVED;
    }
    const latency = link?.latencyMs ?? defaults.latencyMs;
    const jitter = link?.jitterMs ?? defaults.jitterMs;
    const duplicate = link?.duplicate ?? defaults.duplicate;
    const twice = duplicate > 0 && this.#random() < duplicate;
    this.#schedule(from, target, bytes, latency, jitter);
    if (twice) {
      stats.duplicated++;
      this.#schedule(from, target, bytes.slice(), latency, jitter);
    }
    return RESOLVED;
  };

  #schedule(from: string, to: string, bytes: Uint8Array, latency: number, jitter: number): void {
    const delay = jitter > 0 ? latency + this.#random() * jitter : latency;
    this.#inFlight++;
    this.#clock.setTimer(delay, () => {
      this.#inFlight--;
      const binding = this.#bindings.get(to);
      if (binding === undefined || binding.handler === null) {
        this.#statsOf(from).dropped++;
        return;
      }
      const stats = this.#statsOf(to);
      stats.datagramsReceived++;
      stats.bytesReceived += bytes.byteLength;
      binding.handler(bytes, from);
    });
  }

  #close = (binding: Binding): void => {
    binding.closed = true;
    binding.handler = null;
    if (this.#bindings.get(binding.addr) === binding) this.#bindings.delete(binding.addr);
  };

  #isCut(from: string, to: string): boolean {
    if (from === to) return false;
    if (this.#isolated.has(from) || this.#isolated.has(to)) return true;
    for (const [a, b] of this.#partitions) {
      if ((a.has(from) && b.has(to)) || (b.has(from) && a.has(to))) return true;
    }
    return false;
  }

  #statsOf(addr: string): TrafficStats {
    let stats = this.#stats.get(addr);
    if (stats === undefined) this.#stats.set(addr, stats = zeroStats());
    return stats;
  }

  #canon(addr: string): string {
    let canonical = this.#canonical.get(addr);
    if (canonical === undefined) {
      canonical = normalizeAddress(withoutLocalhost(parseAddress(addr)));
      if (this.#canonical.size >= 100_000) this.#canonical.clear();
      this.#canonical.set(addr, canonical);
    }
    return canonical;
  }

  #freePort(hostname: string): string {
    for (let tries = 0; tries < EPHEMERAL_PORTS; tries++) {
      const port = FIRST_EPHEMERAL_PORT + (this.#nextPort++ % EPHEMERAL_PORTS);
      const addr = formatAddress({ hostname, port });
      if (!this.#bindings.has(addr)) return addr;
    }
    throw new AddressInUseError(formatAddress({ hostname, port: 0 }));
  }
}

/** The memory network has no DNS; `localhost` is the one name it knows, as 127.0.0.1. */
function withoutLocalhost(addr: SocketAddress): SocketAddress {
  return addr.hostname.toLowerCase() === "localhost" ? { hostname: "127.0.0.1", port: addr.port } : addr;
}
