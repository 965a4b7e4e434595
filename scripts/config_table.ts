/**
 * Renders the README's configuration table from the settings table
 * (src/runtime/node_settings.ts, which holds the core's rows too) and
 * writes it between `<!-- config-table:start -->` and
 * `<!-- config-table:end -->`. Run with `npm run docs:config`; with
 * `--check` it only says whether the README is up to date (exit 1 if not).
 * A test runs the check too, and checks the JSDoc of the config interfaces
 * against the same rows with {@linkcode formatDefault}.
 * @module
 */

import { readFileSync, writeFileSync } from "node:fs";
import process from "node:process";
import {
  type Setting,
  type SettingsTable,
  WIRE_NAME_MAX_BYTES,
} from "../src/core/settings_table.ts";
import { NODE_SETTINGS } from "../src/runtime/node_settings.ts";
import { readMarkedBlock, replaceMarkedBlock } from "./_marked_block.ts";

/** The name of the README's generated block. */
export const CONFIG_TABLE_BLOCK = "config-table";

/** The README this script keeps. */
export const README_URL: URL = new URL("../README.md", import.meta.url);

/** One row of the rendered table: a setting and its path as a user writes it. */
export interface ConfigRow {
  /** `gossipIntervalMs`, `failureDetector.phiThreshold`, ... */
  readonly path: string;
  /** The setting's row. */
  readonly setting: Setting;
}

/**
 * Every setting of `table`, each group followed by its fields, in table order.
 *
 * @example
 * ```ts
 * import { configRows } from "./config_table.ts";
 * import assert from "node:assert/strict";
 * assert.ok(configRows().some((row) => row.path === "failureDetector.phiThreshold"));
 * ```
 */
export function configRows(table: SettingsTable = NODE_SETTINGS, prefix = ""): ConfigRow[] {
  const rows: ConfigRow[] = [];
  for (const [name, setting] of Object.entries(table)) {
    rows.push({ path: prefix + name, setting });
    if (setting.fields !== undefined) rows.push(...configRows(setting.fields, `${prefix}${name}.`));
  }
  return rows;
}

/**
 * A number as the docs write it: digits grouped by three with spaces from
 * 10 000 up.
 *
 * @example
 * ```ts
 * import { formatNumber } from "./config_table.ts";
 * import assert from "node:assert/strict";
 * assert.equal(formatNumber(1000), "1000");
 * assert.equal(formatNumber(65_507), "65 507");
 * ```
 */
export function formatNumber(n: number): string {
  const text = String(n);
  return Math.abs(n) >= 10_000 && Number.isInteger(n)
    ? text.replace(/\B(?=(\d{3})+$)/g, " ")
    : text;
}

function withUnit(n: number, unit: Setting["unit"]): string {
  const text = formatNumber(n);
  if (unit === "ms") {
    const hours = n / 3_600_000;
    const minutes = n / 60_000;
    if (Number.isInteger(hours) && hours > 0) return `${text} ms (${hours} h)`;
    if (Number.isInteger(minutes) && minutes > 0) return `${text} ms (${minutes} min)`;
    return `${text} ms`;
  }
  if (unit === "bytes") {
    const kib = n / 1024;
    return Number.isInteger(kib) && kib > 0 ? `${text} bytes (${kib} KiB)` : `${text} bytes`;
  }
  return text;
}

/**
 * A setting's default as the README and the JSDoc write it (the JSDoc says
 * `Default: <this>.`): its words if it has some, else its value with the
 * unit, `required` for a required field, `none` for a field without one.
 *
 * @example
 * ```ts
 * import { formatDefault } from "./config_table.ts";
 * import assert from "node:assert/strict";
 * assert.equal(formatDefault({ kind: "positive", type: "number", unit: "ms", default: 7_200_000, description: "" }), "7 200 000 ms (2 h)");
 * ```
 */
export function formatDefault(setting: Setting): string {
  if (setting.required) return "required";
  if (setting.defaultText !== undefined) return setting.defaultText;
  if (typeof setting.default === "string") return `\`${JSON.stringify(setting.default)}\``;
  if (typeof setting.default === "number") return withUnit(setting.default, setting.unit);
  return setting.kind === "settings" ? "" : "none";
}

/**
 * The values a setting accepts, as the README writes them ("" when its type says it all).
 *
 * @example
 * ```ts
 * import { formatRange } from "./config_table.ts";
 * import assert from "node:assert/strict";
 * assert.equal(formatRange({ kind: "integer", type: "number", min: 1200, max: 65_507, description: "" }), "an integer from 1200 to 65 507");
 * ```
 */
export function formatRange(setting: Setting): string {
  if (setting.rangeText !== undefined) return setting.rangeText;
  const { min, max } = setting;
  switch (setting.kind) {
    case "integer":
      if (min !== undefined && max !== undefined) {
        return `an integer from ${formatNumber(min)} to ${formatNumber(max)}`;
      }
      if (min !== undefined) return `an integer of at least ${formatNumber(min)}`;
      return max === undefined ? "an integer" : `an integer of at most ${formatNumber(max)}`;
    case "positive":
      return max === undefined
        ? "a number above 0"
        : `a number above 0, at most ${formatNumber(max)}`;
    case "name":
      return `a string of 1 to ${WIRE_NAME_MAX_BYTES} UTF-8 bytes`;
    default:
      return "";
  }
}

function cell(text: string): string {
  return text.replaceAll("|", "\\|");
}

/**
 * The README's configuration table, in Markdown.
 *
 * @example
 * ```ts
 * import { renderConfigTable } from "./config_table.ts";
 * import assert from "node:assert/strict";
 * assert.match(renderConfigTable(), /^\| `gossipIntervalMs` \| `number` \| 1000 ms \|/m);
 * ```
 */
export function renderConfigTable(): string {
  const lines = [
    "| option | type | default | accepts | what it does |",
    "| --- | --- | --- | --- | --- |",
  ];
  for (const { path, setting } of configRows()) {
    lines.push(
      `| \`${path}\` | \`${cell(setting.type)}\` | ${cell(formatDefault(setting))} | ${
        cell(formatRange(setting))
      } | ${cell(setting.description)} |`,
    );
  }
  return lines.join("\n");
}

/**
 * Whether the README's block is the table {@linkcode renderConfigTable} renders.
 *
 * @example
 * ```ts
 * import { readmeIsCurrent } from "./config_table.ts";
 * import assert from "node:assert/strict";
 * assert.equal(typeof readmeIsCurrent(), "boolean");
 * ```
 */
export function readmeIsCurrent(readme: string = readFileSync(README_URL, "utf8")): boolean {
  return readMarkedBlock(readme, CONFIG_TABLE_BLOCK) === renderConfigTable();
}

if (import.meta.main) {
  const readme = readFileSync(README_URL, "utf8");
  if (process.argv.includes("--check")) {
    if (!readmeIsCurrent(readme)) {
      console.error("README.md: the configuration table is stale; run `npm run docs:config`.");
      process.exitCode = 1;
    }
  } else {
    const updated = replaceMarkedBlock(readme, CONFIG_TABLE_BLOCK, renderConfigTable());
    if (updated !== readme) writeFileSync(README_URL, updated);
    console.log(
      updated === readme
        ? "README.md: configuration table up to date"
        : "README.md: configuration table rewritten",
    );
  }
}
