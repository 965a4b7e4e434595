/**
 * The checks every config field goes through, driven by a row of a settings
 * table (settings_table.ts): kind, range, default, required, unknown nested
 * fields with a "did you mean". Rule kept here: every refusal is a
 * `TypeError` naming the field as the user wrote it, the value given and
 * the limit.
 * @module
 */

import { formatAddress, isIPv4, isIPv6, parseAddress, type SocketAddress } from "./address.ts";
import {
  type NumberSetting,
  type Setting,
  type SettingsTable,
  WIRE_NAME_MAX_BYTES,
} from "./settings_table.ts";
import { utf8Length } from "./utf8.ts";

/**
 * Throws the `TypeError` every config check uses: it names the field, says
 * what was expected and shows the value given.
 *
 * @example
 * ```ts
 * import { invalidConfig } from "./setting_checks.ts";
 * import assert from "node:assert/strict";
 * assert.throws(() => invalidConfig("mtu", "expected an integer", "big"), /"mtu": expected an integer \(got "big"\)/);
 * ```
 */
export function invalidConfig(field: string, problem: string, value: unknown): never {
  let shown: string;
  try {
    shown = typeof value === "function" ? "a function" : JSON.stringify(value) ?? String(value);
  } catch {
    shown = String(value);
  }
  throw new TypeError(`Invalid config "${field}": ${problem} (got ${shown})`);
}

/**
 * The known name closest to `name`, if it is a near miss: at most two edits
 * (insert, delete, replace or swap two neighbours), ignoring case, and
 * fewer than a third of the name's length.
 */
function nearMiss(name: string, known: Iterable<string>): string | undefined {
  const limit = Math.min(2, Math.floor(name.length / 3));
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const candidate of known) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return best;
}

/** Optimal string alignment distance: Levenshtein plus swaps of two neighbours. */
function editDistance(a: string, b: string): number {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    rows.push([i]);
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        rows[0].push(j);
        continue;
      }
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d = Math.min(d, rows[i - 2][j - 2] + 1);
      }
      rows[i].push(d);
    }
  }
  return rows[a.length][b.length];
}

/**
 * Refuses the first own field of `given` that is not a key of `known`, with
 * the `TypeError` of {@linkcode invalidConfig} naming its full path
 * (`prefix` then the field) and, for a near miss, the known name meant.
 *
 * @example
 * ```ts
 * import { refuseUnknownFields } from "./setting_checks.ts";
 * import assert from "node:assert/strict";
 * const known = { phiThreshold: 8 };
 * refuseUnknownFields("failureDetector.", { phiThreshold: 5 }, known);
 * assert.throws(
 *   () => refuseUnknownFields("failureDetector.", { phiTreshold: 5 }, known),
 *   /"failureDetector.phiTreshold": unknown option; did you mean "phiThreshold"\?/,
 * );
 * ```
 */
export function refuseUnknownFields(prefix: string, given: object, known: object): void {
  for (const [field, value] of Object.entries(given)) {
    if (Object.hasOwn(known, field)) continue;
    const meant = nearMiss(field, Object.keys(known));
    const hint = meant === undefined ? "" : `; did you mean "${meant}"?`;
    invalidConfig(`${prefix}${field}`, `unknown option${hint}`, value);
  }
}

/**
 * Checks a nested settings object (`failureDetector`, `limits`, ...): it
 * must be a plain object whose fields are all rows of `table`. Returns the
 * object given (an empty one for `undefined`); the values themselves are
 * not checked here.
 *
 * @example
 * ```ts
 * import { checkSettingsObject } from "./setting_checks.ts";
 * import { FAILURE_DETECTOR_SETTINGS } from "./settings_table.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(checkSettingsObject("failureDetector", { phiThreshold: 5 }, FAILURE_DETECTOR_SETTINGS), { phiThreshold: 5 });
 * assert.throws(() => checkSettingsObject("failureDetector", 8, FAILURE_DETECTOR_SETTINGS), /"failureDetector": expected an object/);
 * ```
 */
export function checkSettingsObject(
  field: string,
  value: unknown,
  table: SettingsTable,
  required = false,
): Readonly<Record<string, unknown>> {
  if (value === undefined && !required) return {};
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    const names = Object.keys(table).join(", ");
    invalidConfig(
      field,
      required ? `expected an object with ${names}` : `expected an object with any of ${names}`,
      value,
    );
  }
  refuseUnknownFields(`${field}.`, value, table);
  return value as Record<string, unknown>;
}

/** Bounds narrower than a row's own, known only with the rest of the config. */
export interface SettingBounds {
  /** Smallest value accepted, instead of the row's `min`. */
  readonly min?: number;
  /** Largest value accepted, instead of the row's `max`. */
  readonly max?: number;
  /** The value taken when the field is missing, instead of the row's `default`. */
  readonly default?: number;
}

/**
 * Checks one value against its row of a settings table: its kind, its
 * range, and for a missing value whether it is required, else its default.
 * Returns the value in force (`undefined` for a missing value without a
 * fixed default); throws the `TypeError` of {@linkcode invalidConfig} naming
 * `field`, the value and the limit. `custom` rows are returned unchecked.
 *
 * @example
 * ```ts
 * import { checkSetting } from "./setting_checks.ts";
 * import { PROTOCOL_SETTINGS } from "./settings_table.ts";
 * import assert from "node:assert/strict";
 * assert.equal(checkSetting("mtu", PROTOCOL_SETTINGS.mtu, undefined), 65_507);
 * assert.throws(() => checkSetting("mtu", PROTOCOL_SETTINGS.mtu, 10), /"mtu": expected an integer from 1200 to 65507 \(got 10\)/);
 * ```
 */
export function checkSetting(
  field: string,
  setting: Setting,
  value: unknown,
  bounds: SettingBounds = {},
): unknown {
  if (value === undefined) {
    if (setting.required) invalidConfig(field, "required", value);
    value = bounds.default ?? setting.default;
    if (value === undefined) return undefined;
  }
  const min = bounds.min ?? setting.min;
  const max = bounds.max ?? setting.max;
  switch (setting.kind) {
    case "integer":
      if (
        typeof value !== "number" || !Number.isSafeInteger(value) ||
        (min !== undefined && value < min) ||
        (max !== undefined && value > max)
      ) {
        const range = min !== undefined && max !== undefined
          ? ` from ${min} to ${max}`
          : min !== undefined
          ? ` of at least ${min}`
          : max !== undefined
          ? ` of at most ${max}`
          : "";
        invalidConfig(field, `expected an integer${range}`, value);
      }
      return value;
    case "positive":
      if (
        typeof value !== "number" || !Number.isFinite(value) || value <= 0 ||
        (max !== undefined && value > max)
      ) {
        const unit = setting.unit === "ms" ? " of milliseconds" : "";
        invalidConfig(
          field,
          `expected a positive number${unit}${max === undefined ? "" : ` of at most ${max}`}`,
          value,
        );
      }
      return value;
    case "name":
      return checkWireName(field, value);
    case "function":
      if (typeof value !== "function") invalidConfig(field, "expected a function", value);
      return value;
    case "settings":
      return checkSettingsObject(field, value, setting.fields ?? {}, setting.required);
    case "custom":
      return value;
  }
}

/**
 * Checks a nested object of number settings against its table (the object,
 * its field names, each value) and returns the table's defaults with the
 * given values over them (a field given as `undefined` keeps its default).
 *
 * @example
 * ```ts
 * import { resolveNumberSettings } from "./setting_checks.ts";
 * import { FAILURE_DETECTOR_SETTINGS } from "./settings_table.ts";
 * import assert from "node:assert/strict";
 * const fd = resolveNumberSettings("failureDetector", FAILURE_DETECTOR_SETTINGS, { phiThreshold: 5 });
 * assert.equal(fd.phiThreshold, 5);
 * assert.equal(fd.maxIntervalMs, 10_000);
 * assert.throws(
 *   () => resolveNumberSettings("failureDetector", FAILURE_DETECTOR_SETTINGS, { phiThreshold: 0 }),
 *   /"failureDetector.phiThreshold": expected a positive number \(got 0\)/,
 * );
 * ```
 */
export function resolveNumberSettings<K extends string>(
  field: string,
  table: Readonly<Record<K, NumberSetting>>,
  value: unknown,
): { [P in K]: number } {
  const given = checkSettingsObject(field, value, table);
  const result = {} as { [P in K]: number };
  for (const name of Object.keys(table) as K[]) {
    result[name] = checkSetting(`${field}.${name}`, table[name], given[name]) as number;
  }
  return result;
}

/**
 * Checks an address this node is reached at: an IPv4 or IPv6 literal
 * (zoned IPv6 included) with a non-zero port. Returns its canonical form;
 * throws the `TypeError` of {@linkcode invalidConfig} naming `field`.
 *
 * @example
 * ```ts
 * import { checkAdvertiseAddress } from "./setting_checks.ts";
 * import assert from "node:assert/strict";
 * assert.equal(checkAdvertiseAddress("advertiseAddr", "[FE80::1%eth0]:7000"), "[fe80::1%eth0]:7000");
 * assert.throws(() => checkAdvertiseAddress("advertiseAddr", "myhost:1"), /"advertiseAddr"/);
 * ```
 */
export function checkAdvertiseAddress(field: string, input: unknown): string {
  let parsed: SocketAddress;
  try {
    parsed = parseAddress(input as string);
  } catch (error) {
    invalidConfig(field, (error as Error).message, input);
  }
  if (!(isIPv4(parsed.hostname) || isIPv6(parsed.hostname)) || parsed.port === 0) {
    invalidConfig(field, "expected an IP address with a non-zero port", input);
  }
  return formatAddress(parsed);
}

/**
 * Checks a name that goes on the wire (node id, cluster id): a non-empty
 * string of at most 1 024 UTF-8 bytes. Returns it; throws the `TypeError`
 * of {@linkcode invalidConfig} naming `field`.
 *
 * @example
 * ```ts
 * import { checkWireName } from "./setting_checks.ts";
 * import assert from "node:assert/strict";
 * assert.equal(checkWireName("nodeId", "api-1"), "api-1");
 * assert.throws(() => checkWireName("nodeId", ""), /"nodeId"/);
 * ```
 */
export function checkWireName(field: string, value: unknown): string {
  if (typeof value !== "string" || value.length === 0 || utf8Length(value) > WIRE_NAME_MAX_BYTES) {
    invalidConfig(
      field,
      `expected a non-empty string of at most ${WIRE_NAME_MAX_BYTES} bytes`,
      value,
    );
  }
  return value;
}
