/**
 * The one table of a node's settings (what `spawnChitchat` takes): the
 * node-level rows (addresses, timing, socket, clock, DNS, keys, receive
 * limits) followed by the protocol rows of the core's table, except the two
 * the node builds itself (`id`, and `clusterId`, which gets a default here).
 * Defaults, validation, the README's table and the JSDoc come from here.
 * @module
 */

import {
  type NumberSetting,
  PROTOCOL_SETTINGS,
  type SettingsTable,
} from "../core/settings_table.ts";

/**
 * The receive limits (`receiveLimits.*`).
 *
 * @example
 * ```ts
 * import { RECEIVE_LIMIT_SETTINGS } from "./node_settings.ts";
 * console.assert(RECEIVE_LIMIT_SETTINGS.perSender.default === 256);
 * ```
 */
export const RECEIVE_LIMIT_SETTINGS = {
  perSender: {
    kind: "integer",
    type: "number",
    default: 256,
    min: 1,
    description: "Datagrams handled per gossip interval from one sender address.",
  },
  perInterval: {
    kind: "integer",
    type: "number",
    default: 50_000,
    min: 1,
    description: "Datagrams handled per gossip interval from all senders together.",
  },
  inFlight: {
    kind: "integer",
    type: "number",
    default: 256,
    min: 1,
    description: "Datagrams being opened or sealed at once (cluster keys only).",
  },
} as const satisfies Readonly<Record<string, NumberSetting>>;

const { id: _id, clusterId: _clusterId, ...protocolRows } = PROTOCOL_SETTINGS;

/**
 * Every setting of a node (`NodeConfig`), nested ones under their group, in
 * the order the README lists them.
 *
 * @example
 * ```ts
 * import { NODE_SETTINGS } from "./node_settings.ts";
 * console.assert(NODE_SETTINGS.gossipIntervalMs.default === 1000);
 * console.assert(NODE_SETTINGS.failureDetector.fields.phiThreshold.default === 8);
 * ```
 */
export const NODE_SETTINGS = {
  nodeId: { kind: "name", type: "string", required: true, description: "Unique node name." },
  listenAddr: {
    kind: "custom",
    type: "AddressInput",
    required: true,
    rangeText: "`host:port` or `{ hostname, port }`",
    description: "Where the socket binds (`host:port`; port 0 picks a free port).",
  },
  generationId: {
    kind: "integer",
    type: "number",
    min: 0,
    defaultText: "the wall-clock time in ms at start",
    description: "Grows on each restart.",
  },
  advertiseAddr: {
    kind: "custom",
    type: "AddressInput",
    defaultText: "the bound address",
    rangeText: "an IP literal with a non-zero port",
    description:
      "The IP address peers use to reach this node (needed when listening on `0.0.0.0`).",
  },
  clusterId: {
    kind: "name",
    type: "string",
    default: "default",
    description: "Nodes only talk within one cluster id.",
  },
  seeds: {
    kind: "custom",
    type: "string[]",
    defaultText: "none",
    rangeText: "`host:port` strings",
    description:
      "`host:port` of nodes to contact at start and whenever few are live; host names are re-resolved every `seedRefreshIntervalMs`.",
  },
  seedRefreshIntervalMs: {
    kind: "positive",
    type: "number",
    unit: "ms",
    default: 60_000,
    description: "Time between DNS resolutions of named seeds.",
  },
  leaveTimeoutMs: {
    kind: "positive",
    type: "number",
    unit: "ms",
    defaultText: "the gossip interval, within 500 ms to 2 s",
    description: "Longest wait for peers to take a graceful leave.",
  },
  socket: {
    kind: "custom",
    type: "Socket | SocketOpener",
    defaultText: "real UDP for this runtime",
    description: "An open socket, or a function opening one.",
  },
  clock: {
    kind: "custom",
    type: "Clock",
    defaultText: "the system clock",
    rangeText: "`{ now(), setTimer() }`",
    description: "Time source.",
  },
  random: {
    kind: "function",
    type: "() => number",
    defaultText: "`Math.random`",
    description: "Random source, floats in [0, 1).",
  },
  resolver: {
    kind: "function",
    type: "Resolver",
    defaultText: "the system's",
    description: "Host name resolver for seeds.",
  },
  clusterKeys: {
    kind: "custom",
    type: "string[]",
    defaultText: "none (plain gossip)",
    description: "Cluster keys (base64 of 32 random bytes each; the first seals, all may open).",
  },
  wireFormat: {
    kind: "custom",
    type: '"cbor" | "chitchat-v0"',
    default: "cbor",
    rangeText: '`"cbor"` or `"chitchat-v0"`',
    description:
      "The wire format: this library's CBOR, or the Rust chitchat crate's protocol version 0 (to join Rust and Quickwit clusters; needs the 65 507-byte MTU).",
  },
  receiveLimits: {
    kind: "settings",
    type: "ReceiveLimits",
    fields: RECEIVE_LIMIT_SETTINGS,
    description: "Bounds on the work received datagrams may cause per gossip interval.",
  },
  ...protocolRows,
} as const satisfies SettingsTable;
