import { test } from "node:test";
import assert from "node:assert/strict";
import { MAX_DATAGRAM_SIZE, MAX_WIRE_NAME_BYTES } from "../src/core/codec.ts";
import {
  type ChitchatConfig,
  DEFAULT_TOMBSTONE_GRACE_PERIOD_MS,
  MIN_MTU,
  resolveChitchatConfig,
} from "../src/core/config.ts";
import { DEFAULT_FAILURE_DETECTOR_CONFIG } from "../src/core/failure_detector.ts";
import { DEFAULT_NODE_STATE_LIMITS } from "../src/core/node_state.ts";
import {
  FAILURE_DETECTOR_SETTINGS,
  NODE_STATE_LIMIT_SETTINGS,
  PROTOCOL_SETTINGS,
  type Setting,
  type SettingsTable,
  WIRE_NAME_MAX_BYTES,
} from "../src/core/settings_table.ts";
import { type NodeConfig, validateNodeConfig } from "../src/runtime/node_config.ts";
import { NODE_SETTINGS, RECEIVE_LIMIT_SETTINGS } from "../src/runtime/node_settings.ts";
import { DEFAULT_RECEIVE_LIMITS } from "../src/runtime/receive_budget.ts";
import { makeId } from "./_helpers.ts";

const BASE: ChitchatConfig = { id: makeId("a", 7001), clusterId: "c" };
const NODE_BASE: NodeConfig = { nodeId: "a", listenAddr: "127.0.0.1:1" };

/** Every row with its path, groups' fields after the group. */
function flatten(table: SettingsTable, prefix = ""): Array<[string, Setting]> {
  return Object.entries(table).flatMap(([name, setting]): Array<[string, Setting]> => [
    [prefix + name, setting],
    ...(setting.fields === undefined ? [] : flatten(setting.fields, `${prefix}${name}.`)),
  ]);
}

/** Whether the core checks the setting at `path` (the node takes the core's row), not the node. */
function isProtocolSetting(path: string): boolean {
  const top = path.split(".")[0];
  return (PROTOCOL_SETTINGS as SettingsTable)[top] === (NODE_SETTINGS as SettingsTable)[top];
}

/** `{ a: { b: value } }` for the path `a.b`. */
function at(path: string, value: unknown): Record<string, unknown> {
  const [head, ...rest] = path.split(".");
  return { [head]: rest.length === 0 ? value : at(rest.join("."), value) };
}

/** The fixed numeric defaults, as they stood before the table: the table may not move them. */
const DEFAULTS_TODAY: Record<string, number | string> = {
  "mtu": 65_507,
  "tombstoneGracePeriodMs": 7_200_000,
  "wireFormat": "cbor",
  "removedNodeMemory": 500,
  "failureDetector.phiThreshold": 8,
  "failureDetector.samplingWindowSize": 1000,
  "failureDetector.maxIntervalMs": 10_000,
  "failureDetector.initialIntervalMs": 5_000,
  "failureDetector.deadNodeGracePeriodMs": 86_400_000,
  "limits.maxKeyBytes": 256,
  "limits.maxValueBytes": 32_768,
  "limits.maxKeys": 10_000,
  "limits.maxNodes": 20_000,
  "limits.newNodesPerSender": 500,
  "clusterId": "default",
  "gossipIntervalMs": 1000,
  "seedRefreshIntervalMs": 60_000,
  "receiveLimits.perSender": 256,
  "receiveLimits.perInterval": 50_000,
  "receiveLimits.inFlight": 256,
};

test("the settings tables hold the defaults as they were", () => {
  const fixed = Object.fromEntries(
    flatten(NODE_SETTINGS).filter(([, s]) => s.default !== undefined).map((
      [path, s],
    ) => [path, s.default]),
  );
  assert.deepEqual(fixed, DEFAULTS_TODAY);
  assert.equal(MIN_MTU, 1200);
  assert.equal(DEFAULT_TOMBSTONE_GRACE_PERIOD_MS, 7_200_000);
});

test("the DEFAULT_* constants are the tables' defaults", () => {
  const defaults = (table: SettingsTable) =>
    Object.fromEntries(Object.entries(table).map(([name, setting]) => [name, setting.default]));
  assert.deepEqual(DEFAULT_FAILURE_DETECTOR_CONFIG, defaults(FAILURE_DETECTOR_SETTINGS));
  assert.deepEqual(DEFAULT_NODE_STATE_LIMITS, defaults(NODE_STATE_LIMIT_SETTINGS));
  assert.deepEqual(DEFAULT_RECEIVE_LIMITS, defaults(RECEIVE_LIMIT_SETTINGS));
});

test("resolveChitchatConfig() and validateNodeConfig() fill in every fixed default of the table", () => {
  const core = resolveChitchatConfig(BASE) as unknown as Record<string, unknown>;
  const node = validateNodeConfig(NODE_BASE) as unknown as Record<string, unknown>;
  for (const [path, setting] of flatten(NODE_SETTINGS)) {
    if (setting.default === undefined) continue;
    const source = isProtocolSetting(path) ? core : node;
    const resolved = path.split(".").reduce(
      (value: unknown, name) => (value as Record<string, unknown>)[name],
      source,
    );
    assert.equal(resolved, setting.default, path);
  }
  // The defaults the table gives in words.
  assert.equal(validateNodeConfig({ ...NODE_BASE, gossipIntervalMs: 100 }).leaveTimeoutMs, 500);
  assert.equal(validateNodeConfig({ ...NODE_BASE, gossipIntervalMs: 1500 }).leaveTimeoutMs, 1500);
  assert.equal(validateNodeConfig({ ...NODE_BASE, gossipIntervalMs: 5000 }).leaveTimeoutMs, 2000);
  assert.ok(Number.isSafeInteger(validateNodeConfig(NODE_BASE).generationId));
});

test("the tables' wire limits are the codec's", () => {
  assert.equal(WIRE_NAME_MAX_BYTES, MAX_WIRE_NAME_BYTES);
  assert.equal(PROTOCOL_SETTINGS.mtu.max, MAX_DATAGRAM_SIZE);
  assert.equal(PROTOCOL_SETTINGS.mtu.default, MAX_DATAGRAM_SIZE);
});

test("every number setting is refused just outside its range, naming the field, the value and the limit", () => {
  let checked = 0;
  for (const [path, setting] of flatten(NODE_SETTINGS)) {
    if (setting.kind !== "integer" && setting.kind !== "positive") continue;
    const resolve = isProtocolSetting(path)
      ? (value: unknown) => resolveChitchatConfig({ ...BASE, ...at(path, value) } as ChitchatConfig)
      : (value: unknown) => validateNodeConfig({ ...NODE_BASE, ...at(path, value) } as NodeConfig);
    const bad: Array<[unknown, string]> = [["7", "7"]];
    if (setting.kind === "positive") bad.push([0, "positive"], [Number.NaN, "positive"]);
    if (setting.kind === "integer") bad.push([(setting.min ?? 0) + 0.5, "integer"]);
    if (setting.min !== undefined) bad.push([setting.min - 1, String(setting.min)]);
    if (setting.max !== undefined) bad.push([setting.max + 1, String(setting.max)]);
    for (const [value, limit] of bad) {
      assert.throws(() => resolve(value), (error: unknown) => {
        assert.ok(error instanceof TypeError, `${path} = ${String(value)}: ${String(error)}`);
        assert.match(error.message, new RegExp(`^Invalid config "${path.replace(".", "\\.")}": `));
        assert.ok(
          error.message.includes(limit),
          `${path}: "${error.message}" does not say ${limit}`,
        );
        assert.ok(
          error.message.endsWith(`(got ${JSON.stringify(value) ?? String(value)})`),
          error.message,
        );
        return true;
      });
      checked++;
    }
    if (setting.min !== undefined) assert.doesNotThrow(() => resolve(setting.min), path);
  }
  assert.ok(checked > 40, `only ${checked} cases`);
});

test("every group refuses an unknown field by its full path, with the near miss", () => {
  for (const [path, setting] of flatten(NODE_SETTINGS)) {
    if (setting.kind !== "settings" || path === "id") continue;
    const known = Object.keys(setting.fields ?? {})[0];
    const typo = known.slice(0, -1);
    const resolve = isProtocolSetting(path)
      ? () => resolveChitchatConfig({ ...BASE, [path]: { [typo]: 1 } } as ChitchatConfig)
      : () => validateNodeConfig({ ...NODE_BASE, [path]: { [typo]: 1 } } as NodeConfig);
    assert.throws(
      resolve,
      new RegExp(`"${path}\\.${typo}": unknown option; did you mean "${known}"\\?`),
    );
  }
});

test("validateNodeConfig() names a missing listen address and fills in the cluster id", () => {
  assert.throws(
    () => validateNodeConfig({ nodeId: "a" } as NodeConfig),
    /^TypeError: Invalid config "listenAddr": required \(got undefined\)$/,
  );
  assert.equal(validateNodeConfig(NODE_BASE).clusterId, "default");
  assert.equal(validateNodeConfig({ ...NODE_BASE, clusterId: "prod" }).clusterId, "prod");
});
