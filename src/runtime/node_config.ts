/**
 * Settings of a running node (the protocol settings plus addresses, timing,
 * socket, clock and DNS) and their validation: a bad field is refused at
 * start with a `TypeError` naming it.
 * @module
 */

import { type AddressInput, normalizeAddress } from "../core/address.ts";
import { type ChitchatConfig, MIN_MTU } from "../core/config.ts";
import {
  checkAdvertiseAddress,
  checkSetting,
  invalidConfig,
  refuseUnknownFields,
  resolveNumberSettings,
} from "../core/setting_checks.ts";
import type { SameFields } from "../core/settings_table.ts";
import type { Clock } from "./clock.ts";
import { parseClusterKeys, SEAL_OVERHEAD } from "./keyring.ts";
import { NODE_SETTINGS, RECEIVE_LIMIT_SETTINGS } from "./node_settings.ts";
import type { ReceiveLimits } from "./receive_budget.ts";
import type { Resolver } from "./seeds.ts";
import type { Socket, SocketOpener } from "./socket.ts";
import { WIRE_FORMAT_NAMES, type WireFormatName } from "./wire_formats.ts";
import { FULL_DIGEST_MIN_MTU } from "../core/protocol_profile.ts";

/**
 * Everything `spawnChitchat` takes. Only `nodeId` and `listenAddr` are required.
 *
 * @example
 * ```ts
 * import type { NodeConfig } from "./node_config.ts";
 * const config: NodeConfig = {
 *   nodeId: "api-1",
 *   listenAddr: "127.0.0.1:10000",
 *   seeds: ["127.0.0.1:10001"],
 *   initialKeyValues: { role: "api" },
 * };
 * console.assert(config.nodeId === "api-1");
 * ```
 */
export interface NodeConfig extends Omit<ChitchatConfig, "id" | "clusterId"> {
  /** Unique node name. */
  readonly nodeId: string;
  /** Grows on each restart. Default: the wall-clock time in ms at start. */
  readonly generationId?: number;
  /** Where the socket binds (`host:port`; port 0 picks a free port). */
  readonly listenAddr: AddressInput;
  /**
   * The IP address peers use to reach this node (needed when listening on
   * `0.0.0.0`). Default: the bound address.
   */
  readonly advertiseAddr?: AddressInput;
  /** Nodes only talk within one cluster id. Default: `"default"`. */
  readonly clusterId?: string;
  /**
   * `host:port` of nodes to contact at start and whenever few are live; host
   * names are re-resolved every `seedRefreshIntervalMs`. Default: none.
   */
  readonly seeds?: readonly string[];
  /** Time between DNS resolutions of named seeds. Default: 60 000 ms (1 min). */
  readonly seedRefreshIntervalMs?: number;
  /** Longest wait for peers to take a graceful leave. Default: the gossip interval, within 500 ms to 2 s. */
  readonly leaveTimeoutMs?: number;
  /** An open socket, or a function opening one. Default: real UDP for this runtime. */
  readonly socket?: Socket | SocketOpener;
  /** Time source. Default: the system clock. */
  readonly clock?: Clock;
  /** Random source, floats in [0, 1). Default: `Math.random`. */
  readonly random?: () => number;
  /** Host name resolver for seeds. Default: the system's. */
  readonly resolver?: Resolver;
  /**
   * Cluster keys (base64 of 32 random bytes each; the first seals, all may
   * open). When set, every datagram is sealed with AES-256-GCM and every
   * received one must open, else it is dropped; the MTU then includes the
   * seal. Default: none (plain gossip).
   */
  readonly clusterKeys?: readonly string[];
  /**
   * The wire format: this library's CBOR, or the Rust chitchat crate's
   * protocol version 0 (to join Rust and Quickwit clusters; needs the
   * 65 507-byte MTU). Default: `"cbor"`.
   */
  readonly wireFormat?: WireFormatName;
  /** Bounds on the work received datagrams may cause per gossip interval. */
  readonly receiveLimits?: ReceiveLimits;
}

/** The node settings after validation, with defaults filled in. */
export interface ValidatedNodeConfig {
  /** Canonical listen address. */
  readonly listenAddr: string;
  /** Canonical advertise address, if given. */
  readonly advertiseAddr: string | undefined;
  /** Generation id. */
  readonly generationId: number;
  /** Cluster id, `"default"` when none was given. */
  readonly clusterId: string;
  /** Gossip interval (ms). */
  readonly gossipIntervalMs: number;
  /** Seed refresh interval (ms). */
  readonly seedRefreshIntervalMs: number;
  /** Leave timeout (ms). */
  readonly leaveTimeoutMs: number;
  /** Socket or opener, if given. */
  readonly socket: Socket | SocketOpener | undefined;
  /** Clock, if given. */
  readonly clock: Clock | undefined;
  /** Random source, if given. */
  readonly random: (() => number) | undefined;
  /** Resolver, if given. */
  readonly resolver: Resolver | undefined;
  /** Cluster keys, if given (checked). */
  readonly clusterKeys: readonly string[] | undefined;
  /** The MTU the protocol core gets: the configured one, less the seal with cluster keys. */
  readonly coreMtu: number | undefined;
  /** Receive limits with defaults filled in. */
  readonly receiveLimits: Readonly<Required<ReceiveLimits>>;
  /** The wire format's name, `"cbor"` when none was given. */
  readonly wireFormat: WireFormatName;
}

// Compile-time check: the table lists every field of a node config, no more.
const _nodeFieldsListed: SameFields<NodeConfig, typeof NODE_SETTINGS> = true;

const fail: (field: string, problem: string, value: unknown) => never = invalidConfig;

function address(field: string, value: AddressInput): string {
  try {
    return normalizeAddress(value);
  } catch (error) {
    fail(field, (error as Error).message, value);
  }
}

/**
 * Checks the runtime fields of a node config, the fields the core knows by
 * another name (`nodeId`, `advertiseAddr`, `clusterId`, `mtu` with cluster
 * keys) and the field names of every nested object; the other protocol
 * values are checked by the core. Throws `TypeError` naming the first bad
 * or unknown field as the user wrote it (`failureDetector.phiTreshold`),
 * with the known name meant for a near miss.
 *
 * @example
 * ```ts
 * import { validateNodeConfig } from "./node_config.ts";
 * import assert from "node:assert/strict";
 * assert.throws(() => validateNodeConfig({ nodeId: "a", listenAddr: "nowhere" }), /"listenAddr"/);
 * assert.throws(
 *   () => validateNodeConfig({ nodeId: "a", listenAddr: "127.0.0.1:0", advertiseAddr: "myhost:1" }),
 *   /"advertiseAddr": expected an IP address/,
 * );
 * ```
 */
export function validateNodeConfig(config: NodeConfig): ValidatedNodeConfig {
  if (typeof config !== "object" || config === null) fail("config", "expected an object", config);
  const rows = NODE_SETTINGS;
  refuseUnknownFields("", config, rows);
  // The core checks these again under its own names (id.nodeId, ...); checked
  // here first, errors name the fields as the user wrote them.
  checkSetting("nodeId", rows.nodeId, config.nodeId);
  const generationId = checkSetting("generationId", rows.generationId, config.generationId, {
    default: Date.now(),
  }) as number;
  const listenAddr = address("listenAddr", checkSetting("listenAddr", rows.listenAddr, config.listenAddr) as AddressInput);
  const advertiseAddr = config.advertiseAddr === undefined
    ? undefined
    : checkAdvertiseAddress("advertiseAddr", config.advertiseAddr);
  const clusterId = checkSetting("clusterId", rows.clusterId, config.clusterId) as string;
  // Their values are the core's to check, but a typo is refused before any socket opens.
  checkSetting("failureDetector", rows.failureDetector, config.failureDetector);
  checkSetting("limits", rows.limits, config.limits);
  if (config.seeds !== undefined) {
    if (!Array.isArray(config.seeds)) fail("seeds", "expected an array of host:port strings", config.seeds);
    for (const seed of config.seeds) address("seeds", seed);
  }
  const gossipIntervalMs = checkSetting("gossipIntervalMs", rows.gossipIntervalMs, config.gossipIntervalMs) as number;
  const socket = config.socket;
  if (socket !== undefined && typeof socket !== "function" && typeof socket?.send !== "function") {
    fail("socket", "expected a Socket or a function opening one", socket);
  }
  if (config.clock !== undefined && (typeof config.clock.now !== "function" || typeof config.clock.setTimer !== "function")) {
    fail("clock", "expected { now(), setTimer() }", config.clock);
  }
  checkSetting("random", rows.random, config.random);
  checkSetting("resolver", rows.resolver, config.resolver);
  const clusterKeys = config.clusterKeys;
  if (clusterKeys !== undefined) {
    try {
      parseClusterKeys(clusterKeys);
    } catch (error) {
      // Never echo key material: name the key by position only.
      throw new TypeError(`Invalid config "clusterKeys": ${(error as Error).message}`);
    }
  }
  const wireFormat = config.wireFormat ?? "cbor";
  if (!WIRE_FORMAT_NAMES.includes(wireFormat)) {
    fail("wireFormat", `expected one of ${WIRE_FORMAT_NAMES.map((n) => `"${n}"`).join(", ")}`, wireFormat);
  }
  if (wireFormat === "chitchat-v0") {
    if (clusterKeys !== undefined) {
      fail("clusterKeys", 'not available with wireFormat "chitchat-v0" (Rust peers send and read plain datagrams)', "[…]");
    }
    if (config.mtu !== undefined && config.mtu !== FULL_DIGEST_MIN_MTU) {
      fail(
        "mtu",
        `expected ${FULL_DIGEST_MIN_MTU} with wireFormat "chitchat-v0" (its digests are not paged: the whole ` +
          "digest must fit one datagram, about a thousand nodes)",
        config.mtu,
      );
    }
  }
  let coreMtu = config.mtu;
  if (clusterKeys !== undefined) {
    // The core sees the MTU less the seal; its errors would show that number, so check the one given here.
    const mtu = config.mtu ?? rows.mtu.default;
    const maxMtu = rows.mtu.max;
    if (typeof mtu !== "number" || !Number.isInteger(mtu) || mtu < MIN_MTU + SEAL_OVERHEAD || mtu > maxMtu) {
      fail(
        "mtu",
        `expected at least ${MIN_MTU + SEAL_OVERHEAD} with clusterKeys (the seal takes ${SEAL_OVERHEAD}), ` +
          `an integer of at most ${maxMtu}`,
        mtu,
      );
    }
    coreMtu = mtu - SEAL_OVERHEAD;
  }
  return {
    listenAddr,
    advertiseAddr,
    generationId,
    clusterId,
    gossipIntervalMs,
    seedRefreshIntervalMs: checkSetting(
      "seedRefreshIntervalMs",
      rows.seedRefreshIntervalMs,
      config.seedRefreshIntervalMs,
    ) as number,
    leaveTimeoutMs: checkSetting("leaveTimeoutMs", rows.leaveTimeoutMs, config.leaveTimeoutMs, {
      default: Math.min(2000, Math.max(500, gossipIntervalMs)),
    }) as number,
    socket,
    clock: config.clock,
    random: config.random,
    resolver: config.resolver,
    clusterKeys: clusterKeys === undefined ? undefined : [...clusterKeys],
    coreMtu,
    receiveLimits: resolveNumberSettings("receiveLimits", RECEIVE_LIMIT_SETTINGS, config.receiveLimits),
    wireFormat,
  };
}
