/**
 * Settings of a running node (the protocol settings plus addresses, timing,
 * socket, clock and DNS) and their validation: a bad field is refused at
 * start with a `TypeError` naming it.
 * @module
 */

import { type AddressInput, normalizeAddress } from "../core/address.ts";
import { MAX_DATAGRAM_SIZE } from "../core/codec.ts";
import {
  type ChitchatConfig,
  checkAdvertiseAddress,
  checkWireName,
  invalidConfig,
  MIN_MTU,
  nestedSettings,
  refuseUnknownFields,
} from "../core/config.ts";
import { DEFAULT_FAILURE_DETECTOR_CONFIG } from "../core/failure_detector.ts";
import { DEFAULT_NODE_STATE_LIMITS } from "../core/node_state.ts";
import type { Clock } from "./clock.ts";
import { parseClusterKeys, SEAL_OVERHEAD } from "./keyring.ts";
import { DEFAULT_RECEIVE_LIMITS, type ReceiveLimits } from "./receive_budget.ts";
import type { Resolver } from "./seeds.ts";
import type { Socket, SocketOpener } from "./socket.ts";

/**
 * Everything `spawnChitchat` takes. Only `nodeId` and `listenAddr` are required.
 *
 * @example
 * ```ts
 * import type { NodeConfig } from "@scope/chitchat";
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
  /** Grows on each restart; default: the wall-clock time in ms at start. */
  readonly generationId?: number;
  /** Where the socket binds (`host:port`; port 0 picks a free port). */
  readonly listenAddr: AddressInput;
  /** The IP address peers use to reach this node; default: the bound address. */
  readonly advertiseAddr?: AddressInput;
  /** Nodes only talk within one cluster id. Default `"default"`. */
  readonly clusterId?: string;
  /** `host:port` of nodes to contact at start and whenever few are live. */
  readonly seeds?: readonly string[];
  /** Time between gossip rounds. Default 1000 ms. */
  readonly gossipIntervalMs?: number;
  /** Time between DNS resolutions of named seeds. Default 60 000 ms. */
  readonly seedRefreshIntervalMs?: number;
  /** Longest wait for peers to take a graceful leave. Default: the gossip interval, within 0.5 to 2 s. */
  readonly leaveTimeoutMs?: number;
  /** An open socket, or a function opening one; default: real UDP for this runtime. */
  readonly socket?: Socket | SocketOpener;
  /** Time source; default the system clock. */
  readonly clock?: Clock;
  /** Random source, floats in [0, 1); default `Math.random`. */
  readonly random?: () => number;
  /** Host name resolver for seeds; default the system's. */
  readonly resolver?: Resolver;
  /**
   * Cluster keys (base64 of 32 random bytes each; the first seals, all may
   * open). When set, every datagram is sealed with AES-256-GCM and every
   * received one must open, else it is dropped; the MTU then includes the
   * seal. Default: none (plain gossip).
   */
  readonly clusterKeys?: readonly string[];
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
}

/** Every field of a node config; the type makes it list each one, no more. */
const NODE_FIELDS: Readonly<Record<keyof NodeConfig, true>> = {
  nodeId: true,
  generationId: true,
  listenAddr: true,
  advertiseAddr: true,
  clusterId: true,
  seeds: true,
  gossipIntervalMs: true,
  seedRefreshIntervalMs: true,
  leaveTimeoutMs: true,
  socket: true,
  clock: true,
  random: true,
  resolver: true,
  clusterKeys: true,
  receiveLimits: true,
  mtu: true,
  failureDetector: true,
  tombstoneGracePeriodMs: true,
  limits: true,
  livenessPredicate: true,
  onCatchUp: true,
  logger: true,
  initialKeyValues: true,
  removedNodeMemory: true,
  priorityKeyPrefixes: true,
};

const fail: (field: string, problem: string, value: unknown) => never = invalidConfig;

function duration(field: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    fail(field, "expected a positive number of milliseconds", value);
  }
  return value;
}

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
 * import { validateNodeConfig } from "@scope/chitchat";
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
  refuseUnknownFields("", config, NODE_FIELDS);
  // The core checks these again under its own names (id.nodeId, ...); checked
  // here first, errors name the fields as the user wrote them.
  checkWireName("nodeId", config.nodeId);
  const generationId = config.generationId ?? Date.now();
  if (!Number.isSafeInteger(generationId) || generationId < 0) {
    fail("generationId", "expected a non-negative integer", config.generationId);
  }
  if (config.listenAddr === undefined) fail("listenAddr", "required", undefined);
  const listenAddr = address("listenAddr", config.listenAddr);
  const advertiseAddr = config.advertiseAddr === undefined
    ? undefined
    : checkAdvertiseAddress("advertiseAddr", config.advertiseAddr);
  if (config.clusterId !== undefined) checkWireName("clusterId", config.clusterId);
  // Their values are the core's to check, but a typo is refused before any socket opens.
  nestedSettings("failureDetector", config.failureDetector, DEFAULT_FAILURE_DETECTOR_CONFIG);
  nestedSettings("limits", config.limits, DEFAULT_NODE_STATE_LIMITS);
  if (config.seeds !== undefined) {
    if (!Array.isArray(config.seeds)) fail("seeds", "expected an array of host:port strings", config.seeds);
    for (const seed of config.seeds) address("seeds", seed);
  }
  const gossipIntervalMs = duration("gossipIntervalMs", config.gossipIntervalMs, 1000);
  const socket = config.socket;
  if (socket !== undefined && typeof socket !== "function" && typeof socket?.send !== "function") {
    fail("socket", "expected a Socket or a function opening one", socket);
  }
  if (config.clock !== undefined && (typeof config.clock.now !== "function" || typeof config.clock.setTimer !== "function")) {
    fail("clock", "expected { now(), setTimer() }", config.clock);
  }
  if (config.random !== undefined && typeof config.random !== "function") fail("random", "expected a function", config.random);
  if (config.resolver !== undefined && typeof config.resolver !== "function") {
    fail("resolver", "expected a function", config.resolver);
  }
  const clusterKeys = config.clusterKeys;
  if (clusterKeys !== undefined) {
    try {
      parseClusterKeys(clusterKeys);
    } catch (error) {
      // Never echo key material: name the key by position only.
      throw new TypeError(`Invalid config "clusterKeys": ${(error as Error).message}`);
    }
  }
  let coreMtu = config.mtu;
  if (clusterKeys !== undefined) {
    // The core sees the MTU less the seal; its errors would show that number, so check the one given here.
    const mtu = config.mtu ?? MAX_DATAGRAM_SIZE;
    if (typeof mtu !== "number" || !Number.isInteger(mtu) || mtu < MIN_MTU + SEAL_OVERHEAD || mtu > MAX_DATAGRAM_SIZE) {
      fail(
        "mtu",
        `expected at least ${MIN_MTU + SEAL_OVERHEAD} with clusterKeys (the seal takes ${SEAL_OVERHEAD}), ` +
          `an integer of at most ${MAX_DATAGRAM_SIZE}`,
        mtu,
      );
    }
    coreMtu = mtu - SEAL_OVERHEAD;
  }
  return {
    listenAddr,
    advertiseAddr,
    generationId,
    gossipIntervalMs,
    seedRefreshIntervalMs: duration("seedRefreshIntervalMs", config.seedRefreshIntervalMs, 60_000),
    leaveTimeoutMs: duration(
      "leaveTimeoutMs",
      config.leaveTimeoutMs,
      Math.min(2000, Math.max(500, gossipIntervalMs)),
    ),
    socket,
    clock: config.clock,
    random: config.random,
    resolver: config.resolver,
    clusterKeys: clusterKeys === undefined ? undefined : [...clusterKeys],
    coreMtu,
    receiveLimits: receiveLimits(config.receiveLimits),
  };
}

function receiveLimits(value: ReceiveLimits | undefined): Readonly<Required<ReceiveLimits>> {
  const result = nestedSettings("receiveLimits", value, DEFAULT_RECEIVE_LIMITS);
  for (const [field, given] of Object.entries(result)) {
    if (typeof given !== "number" || !Number.isInteger(given) || given < 1) {
      fail(`receiveLimits.${field}`, "expected a positive integer", given);
    }
  }
  return result;
}
