import { test } from "node:test";
import assert from "node:assert/strict";
import {
  checkSetting,
  checkSettingsObject,
  resolveNumberSettings,
} from "../src/core/setting_checks.ts";
import { FAILURE_DETECTOR_SETTINGS, PROTOCOL_SETTINGS } from "../src/core/settings_table.ts";
import { NODE_SETTINGS } from "../src/runtime/node_settings.ts";

test("checkSetting() takes a row's default, refuses a missing required field and checks a name", () => {
  assert.equal(checkSetting("clusterId", NODE_SETTINGS.clusterId, undefined), "default");
  assert.equal(checkSetting("seeds", NODE_SETTINGS.seeds, undefined), undefined);
  assert.throws(
    () => checkSetting("nodeId", NODE_SETTINGS.nodeId, undefined),
    /^TypeError: Invalid config "nodeId": required/,
  );
  assert.throws(
    () => checkSetting("clusterId", NODE_SETTINGS.clusterId, ""),
    /"clusterId": expected a non-empty string of at most 1024 bytes \(got ""\)/,
  );
  assert.throws(
    () => checkSetting("random", NODE_SETTINGS.random, 4),
    /"random": expected a function \(got 4\)/,
  );
  assert.equal(checkSetting("mtu", PROTOCOL_SETTINGS.mtu, undefined, { default: 1500 }), 1500);
  assert.throws(
    () => checkSetting("mtu", PROTOCOL_SETTINGS.mtu, 1500, { max: 1400 }),
    /from 1200 to 1400 \(got 1500\)/,
  );
});

test("checkSettingsObject() refuses a value that is not a plain object, listing the fields", () => {
  for (const bad of [5, "fast", null, [1]]) {
    assert.throws(
      () => checkSettingsObject("failureDetector", bad, FAILURE_DETECTOR_SETTINGS),
      /^TypeError: Invalid config "failureDetector": expected an object with any of phiThreshold, samplingWindowSize,/,
    );
  }
  assert.deepEqual(
    checkSettingsObject("failureDetector", undefined, FAILURE_DETECTOR_SETTINGS),
    {},
  );
  assert.throws(
    () => checkSettingsObject("id", undefined, PROTOCOL_SETTINGS.id.fields, true),
    /"id": expected an object with nodeId, generationId, gossipAdvertiseAddr \(got undefined\)/,
  );
});

test("resolveNumberSettings() keeps the default of a field given as undefined", () => {
  const resolved = resolveNumberSettings("failureDetector", FAILURE_DETECTOR_SETTINGS, {
    phiThreshold: undefined,
    maxIntervalMs: 20_000,
  });
  assert.equal(resolved.phiThreshold, 8);
  assert.equal(resolved.maxIntervalMs, 20_000);
  assert.throws(
    () =>
      resolveNumberSettings("failureDetector", FAILURE_DETECTOR_SETTINGS, {
        samplingWindowSize: 0,
      }),
    /"failureDetector\.samplingWindowSize": expected an integer from 1 to 1000000 \(got 0\)/,
  );
});
