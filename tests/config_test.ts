import { test } from "node:test";
import assert from "node:assert/strict";
import { MAX_DATAGRAM_SIZE } from "../src/core/codec.ts";
import {
  type ChitchatConfig,
  DEFAULT_TOMBSTONE_GRACE_PERIOD_MS,
  MIN_MTU,
  resolveChitchatConfig,
} from "../src/core/config.ts";
import { LEFT_KEY, RESERVED_KEY_PREFIX } from "../src/core/chitchat.ts";
import { DEFAULT_FAILURE_DETECTOR_CONFIG } from "../src/core/failure_detector.ts";
import { silentLogger } from "../src/core/logger.ts";
import { makeId } from "./_helpers.ts";

const ID = makeId("a", 7001);
const BASE: ChitchatConfig = { id: ID, clusterId: "c" };

/** Asserts `config` is refused with a TypeError whose message names `field` in quotes. */
function assertRefused(config: unknown, field: string): void {
  assert.throws(() => resolveChitchatConfig(config as ChitchatConfig), (error: unknown) => {
    assert.ok(
      error instanceof TypeError,
      `expected a TypeError for ${field}, got ${String(error)}`,
    );
    assert.ok(
      error.message.includes(`"${field}"`),
      `message does not name "${field}": ${error.message}`,
    );
    return true;
  });
}

test("resolveChitchatConfig() fills in every default", () => {
  const resolved = resolveChitchatConfig(BASE);
  assert.deepEqual(resolved.id, ID);
  assert.equal(resolved.clusterId, "c");
  assert.equal(resolved.mtu, MAX_DATAGRAM_SIZE);
  assert.deepEqual(resolved.failureDetector, DEFAULT_FAILURE_DETECTOR_CONFIG);
  assert.equal(resolved.tombstoneGracePeriodMs, DEFAULT_TOMBSTONE_GRACE_PERIOD_MS);
  assert.equal(DEFAULT_TOMBSTONE_GRACE_PERIOD_MS, 7_200_000);
  assert.deepEqual(resolved.limits, {
    maxKeyBytes: 256,
    maxValueBytes: 32_768,
    maxKeys: 10_000,
    maxNodes: 20_000,
    newNodesPerSender: 500,
  });
  assert.equal(resolved.logger, silentLogger);
  assert.deepEqual(resolved.initialKeyValues, []);
  assert.equal(resolved.removedNodeMemory, 500);
  assert.equal(resolved.livenessPredicate, undefined);
  assert.equal(resolved.onCatchUp, undefined);
});

test("resolveChitchatConfig() shrinks the default value limit to what a small MTU can carry", () => {
  const resolved = resolveChitchatConfig({ ...BASE, mtu: MIN_MTU });
  assert.equal(MIN_MTU, 1200);
  assert.ok(resolved.limits.maxValueBytes > 0);
  assert.ok(resolved.limits.maxValueBytes + resolved.limits.maxKeyBytes < MIN_MTU);
  assertRefused(
    { ...BASE, mtu: MIN_MTU, limits: { maxValueBytes: MIN_MTU } },
    "limits.maxValueBytes",
  );
});

test("resolveChitchatConfig() keeps partial failure detector settings over the defaults", () => {
  const resolved = resolveChitchatConfig({
    ...BASE,
    failureDetector: { phiThreshold: 3, deadNodeGracePeriodMs: 60_000 },
  });
  assert.deepEqual(resolved.failureDetector, {
    ...DEFAULT_FAILURE_DETECTOR_CONFIG,
    phiThreshold: 3,
    deadNodeGracePeriodMs: 60_000,
  });
});

test("resolveChitchatConfig() normalizes the advertised address", () => {
  const id = { ...ID, gossipAdvertiseAddr: "[0:0:0:0:0:0:0:1]:7000" };
  assert.equal(resolveChitchatConfig({ ...BASE, id }).id.gossipAdvertiseAddr, "[::1]:7000");
});

test("resolveChitchatConfig() accepts initial key-values as pairs or as a record", () => {
  assert.deepEqual(
    resolveChitchatConfig({ ...BASE, initialKeyValues: [["a", "1"]] }).initialKeyValues,
    [["a", "1"]],
  );
  assert.deepEqual(
    resolveChitchatConfig({ ...BASE, initialKeyValues: new Map([["b", "2"]]) }).initialKeyValues,
    [["b", "2"]],
  );
  assert.deepEqual(
    resolveChitchatConfig({ ...BASE, initialKeyValues: { c: "3" } }).initialKeyValues,
    [["c", "3"]],
  );
});

test("resolveChitchatConfig() refuses a config that is not an object", () => {
  assertRefused(null, "config");
  assertRefused("config", "config");
});

test("resolveChitchatConfig() refuses a bad id with a TypeError naming the field", () => {
  assertRefused({ clusterId: "c" }, "id");
  assertRefused({ ...BASE, id: "a" }, "id");
  assertRefused({ ...BASE, id: { ...ID, nodeId: "" } }, "id.nodeId");
  assertRefused({ ...BASE, id: { ...ID, nodeId: 7 } }, "id.nodeId");
  assertRefused({ ...BASE, id: { ...ID, nodeId: "n".repeat(1025) } }, "id.nodeId");
  assertRefused({ ...BASE, id: { ...ID, generationId: -1 } }, "id.generationId");
  assertRefused({ ...BASE, id: { ...ID, generationId: 1.5 } }, "id.generationId");
  assertRefused({ ...BASE, id: { ...ID, generationId: "1" } }, "id.generationId");
  assertRefused({ ...BASE, id: { ...ID, generationId: 2 ** 53 } }, "id.generationId");
});

test("resolveChitchatConfig() refuses an advertised address that is not an IP with a non-zero port", () => {
  for (
    const addr of [
      "localhost:7000",
      "example.com:1",
      "127.0.0.1",
      "127.0.0.1:0",
      "::1:7000",
      "1.2.3.4:70000",
      7000,
    ]
  ) {
    assertRefused({ ...BASE, id: { ...ID, gossipAdvertiseAddr: addr } }, "id.gossipAdvertiseAddr");
  }
});

test("resolveChitchatConfig() refuses a bad cluster id", () => {
  assertRefused({ ...BASE, clusterId: "" }, "clusterId");
  assertRefused({ ...BASE, clusterId: 3 }, "clusterId");
  assertRefused({ ...BASE, clusterId: "é".repeat(513) }, "clusterId");
  assert.equal(
    resolveChitchatConfig({ ...BASE, clusterId: "é".repeat(512) }).clusterId.length,
    512,
  );
});

test("resolveChitchatConfig() refuses an MTU outside 1200..65507", () => {
  for (const mtu of [0, 1199, 65_508, 1500.5, Number.NaN, "1500"]) {
    assertRefused({ ...BASE, mtu }, "mtu");
  }
  assert.equal(resolveChitchatConfig({ ...BASE, mtu: 1200 }).mtu, 1200);
  assert.equal(resolveChitchatConfig({ ...BASE, mtu: 65_507 }).mtu, 65_507);
});

test("resolveChitchatConfig() refuses each bad failure detector setting by name", () => {
  for (
    const field of ["phiThreshold", "maxIntervalMs", "initialIntervalMs", "deadNodeGracePeriodMs"]
  ) {
    for (const bad of [0, -1, Number.NaN, Infinity, "5"]) {
      assertRefused({ ...BASE, failureDetector: { [field]: bad } }, `failureDetector.${field}`);
    }
  }
  for (const bad of [0, 1.5, -3, "10"]) {
    assertRefused(
      { ...BASE, failureDetector: { samplingWindowSize: bad } },
      "failureDetector.samplingWindowSize",
    );
  }
});

test("resolveChitchatConfig() refuses a bad tombstone grace period", () => {
  for (const bad of [0, -1, Number.NaN, Infinity, "1"]) {
    assertRefused({ ...BASE, tombstoneGracePeriodMs: bad }, "tombstoneGracePeriodMs");
  }
});

test("resolveChitchatConfig() refuses each bad limit by name", () => {
  for (const bad of [0, 1025, 1.5, "8"]) {
    assertRefused({ ...BASE, limits: { maxKeyBytes: bad } }, "limits.maxKeyBytes");
  }
  for (const bad of [-1, 1.5, 70_000, "8"]) {
    assertRefused({ ...BASE, limits: { maxValueBytes: bad } }, "limits.maxValueBytes");
  }
  for (const bad of [0, -1, 2.5, "8"]) {
    assertRefused({ ...BASE, limits: { maxKeys: bad } }, "limits.maxKeys");
  }
  for (const bad of [0, 1, 2.5, 10_000_001, "8"]) {
    assertRefused({ ...BASE, limits: { maxNodes: bad } }, "limits.maxNodes");
  }
  for (const bad of [0, -1, 2.5, "8"]) {
    assertRefused({ ...BASE, limits: { newNodesPerSender: bad } }, "limits.newNodesPerSender");
  }
});

test("resolveChitchatConfig() refuses callbacks that are not functions", () => {
  assertRefused({ ...BASE, livenessPredicate: true }, "livenessPredicate");
  assertRefused({ ...BASE, onCatchUp: "call me" }, "onCatchUp");
});

test("resolveChitchatConfig() refuses a logger missing a level", () => {
  assertRefused({ ...BASE, logger: { debug() {}, info() {}, warn() {} } }, "logger");
  assertRefused({ ...BASE, logger: { ...silentLogger, warn: "loud" } }, "logger");
});

test("resolveChitchatConfig() refuses initial key-values that are not string pairs", () => {
  assertRefused({ ...BASE, initialKeyValues: [["a", 1]] }, "initialKeyValues");
  assertRefused({ ...BASE, initialKeyValues: [["a"]] }, "initialKeyValues");
  assertRefused({ ...BASE, initialKeyValues: { a: 1 } }, "initialKeyValues");
  assertRefused({ ...BASE, initialKeyValues: ["ab"] }, "initialKeyValues");
});

test("resolveChitchatConfig() refuses a bad removed-node memory", () => {
  for (const bad of [-1, 1.5, "5"]) {
    assertRefused({ ...BASE, removedNodeMemory: bad }, "removedNodeMemory");
  }
  assert.equal(resolveChitchatConfig({ ...BASE, removedNodeMemory: 0 }).removedNodeMemory, 0);
});

test("resolveChitchatConfig() refuses unknown nested fields by full path, hinting at a near miss", () => {
  assert.throws(
    () => resolveChitchatConfig({ ...BASE, failureDetector: { phiTreshold: 5 } } as unknown as ChitchatConfig),
    /^TypeError: Invalid config "failureDetector\.phiTreshold": unknown option; did you mean "phiThreshold"\? \(got 5\)$/,
  );
  assert.throws(
    () => resolveChitchatConfig({ ...BASE, limits: { maxValueByte: 10 } } as unknown as ChitchatConfig),
    /"limits\.maxValueByte": unknown option; did you mean "maxValueBytes"\?/,
  );
  assert.throws(
    () => resolveChitchatConfig({ ...BASE, limits: { MAXKEYS: 10 } } as unknown as ChitchatConfig),
    /"limits\.MAXKEYS": unknown option; did you mean "maxKeys"\?/,
  );
  assert.throws(
    () => resolveChitchatConfig({ ...BASE, id: { ...ID, port: 1 } } as unknown as ChitchatConfig),
    /"id\.port": unknown option \(got 1\)$/,
  );
  assertRefused({ ...BASE, failureDetector: { colour: "blue" } }, "failureDetector.colour");
});

test("resolveChitchatConfig() refuses nested settings that are not plain objects", () => {
  for (const bad of ["fast", 5, null, [1], true]) {
    assertRefused({ ...BASE, failureDetector: bad }, "failureDetector");
    assertRefused({ ...BASE, limits: bad }, "limits");
  }
});

test("resolveChitchatConfig() takes the default for a nested setting given as undefined", () => {
  const resolved = resolveChitchatConfig({
    ...BASE,
    failureDetector: { phiThreshold: undefined, maxIntervalMs: 20_000 },
    limits: { maxKeys: undefined },
  });
  assert.equal(resolved.failureDetector.phiThreshold, DEFAULT_FAILURE_DETECTOR_CONFIG.phiThreshold);
  assert.equal(resolved.failureDetector.maxIntervalMs, 20_000);
  assert.equal(resolved.limits.maxKeys, 10_000);
});

test("resolveChitchatConfig() refuses initial keys under the reserved prefix, naming the key", () => {
  const pairs = [["a", "1"], [`${RESERVED_KEY_PREFIX}x`, "2"]] as const;
  for (const initialKeyValues of [{ [LEFT_KEY]: "1" }, pairs, new Map(pairs)]) {
    assert.throws(
      () => resolveChitchatConfig({ ...BASE, initialKeyValues }),
      /^TypeError: Invalid config "initialKeyValues": key "__chitchat\.\w+" uses the reserved prefix "__chitchat\."/,
    );
  }
  // Only the prefix itself is reserved.
  const allowed = resolveChitchatConfig({ ...BASE, initialKeyValues: { "__chitchat": "1", "chitchat.left": "1" } });
  assert.equal(allowed.initialKeyValues.length, 2);
});

test("resolveChitchatConfig() accepts a zoned IPv6 advertised address", () => {
  const id = { ...ID, gossipAdvertiseAddr: "[FE80::1%eth0]:7000" };
  assert.equal(resolveChitchatConfig({ ...BASE, id }).id.gossipAdvertiseAddr, "[fe80::1%eth0]:7000");
  assertRefused({ ...BASE, id: { ...ID, gossipAdvertiseAddr: "[fe80::1%eth0]:0" } }, "id.gossipAdvertiseAddr");
  assertRefused({ ...BASE, id: { ...ID, gossipAdvertiseAddr: "[fe80::1%]:7000" } }, "id.gossipAdvertiseAddr");
});
