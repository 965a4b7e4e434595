import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import {
  FAILURE_DETECTOR_SETTINGS,
  MEMBER_LIMIT_SETTINGS,
  NODE_STATE_LIMIT_SETTINGS,
  PROTOCOL_SETTINGS,
  type SettingsTable,
} from "../src/core/settings_table.ts";
import { NODE_SETTINGS, RECEIVE_LIMIT_SETTINGS } from "../src/runtime/node_settings.ts";
import {
  CONFIG_TABLE_BLOCK,
  formatDefault,
  README_URL,
  readmeIsCurrent,
  renderConfigTable,
} from "../scripts/config_table.ts";
import { readMarkedBlock } from "../scripts/_marked_block.ts";

/** The rows `NodeConfig` declares itself: the node's own, not the ones it takes from `ChitchatConfig`. */
const NODE_OWN_SETTINGS: SettingsTable = Object.fromEntries(
  Object.entries(NODE_SETTINGS).filter(([name, row]) =>
    (PROTOCOL_SETTINGS as SettingsTable)[name] !== row
  ),
);

/** Each documented config interface, its file and its rows. */
const INTERFACES: ReadonlyArray<[name: string, file: string, table: SettingsTable]> = [
  ["ChitchatConfig", "src/core/config.ts", PROTOCOL_SETTINGS],
  ["FailureDetectorConfig", "src/core/failure_detector.ts", FAILURE_DETECTOR_SETTINGS],
  ["NodeStateLimits", "src/core/node_limits.ts", NODE_STATE_LIMIT_SETTINGS],
  ["MemberLimits", "src/core/member_admission.ts", MEMBER_LIMIT_SETTINGS],
  ["NodeConfig", "src/runtime/node_config.ts", NODE_OWN_SETTINGS],
  ["ReceiveLimits", "src/runtime/receive_budget.ts", RECEIVE_LIMIT_SETTINGS],
];

/** The JSDoc of each field of interface `name` in `source`, whitespace collapsed. */
function fieldDocs(source: string, name: string): Map<string, string> {
  const start = source.indexOf(`export interface ${name} `);
  assert.ok(start >= 0, `interface ${name} not found`);
  const body = source.slice(source.indexOf("{", start) + 1, source.indexOf("\n}", start));
  const docs = new Map<string, string>();
  for (const match of body.matchAll(/\/\*\*([\s\S]*?)\*\/\s*readonly (\w+)\??:/g)) {
    docs.set(match[2], match[1].replace(/^\s*\*/gm, " ").replace(/\s+/g, " ").trim());
  }
  assert.equal(
    docs.size,
    (body.match(/^\s*readonly \w+/gm) ?? []).length,
    `${name}: a field has no JSDoc`,
  );
  return docs;
}

test("the README's configuration table is the one the settings table renders", () => {
  const readme = readFileSync(README_URL, "utf8");
  assert.equal(
    readMarkedBlock(readme, CONFIG_TABLE_BLOCK),
    renderConfigTable(),
    "README.md's configuration table is stale: run `npm run docs:config`",
  );
  assert.equal(readmeIsCurrent(readme), true);
});

test("renderConfigTable() lists every setting by its path, with its default and range", () => {
  const table = renderConfigTable();
  assert.match(
    table,
    /^\| `failureDetector\.deadNodeGracePeriodMs` \| `number` \| 86 400 000 ms \(24 h\) \| a number above 0 \|/m,
  );
  assert.match(
    table,
    /^\| `mtu` \| `number` \| 65 507 bytes \| an integer from 1200 to 65 507 \|/m,
  );
  assert.match(table, /^\| `socket` \| `Socket \\\| SocketOpener` \|/m);
  assert.match(table, /^\| `nodeId` \| `string` \| required \|/m);
  const paths = [...table.matchAll(/^\| `([\w.]+)` \|/gm)].map((match) => match[1]);
  assert.ok(paths.includes("receiveLimits.inFlight"));
  assert.ok(!paths.includes("id"), "the node builds the id itself");
  assert.equal(new Set(paths).size, paths.length);
});

test("readmeIsCurrent() is false for a README whose table is stale", () => {
  const readme = readFileSync(README_URL, "utf8");
  assert.equal(
    readmeIsCurrent(
      readme.replace(
        "| `gossipIntervalMs` | `number` | 1000 ms |",
        "| `gossipIntervalMs` | `number` | 2000 ms |",
      ),
    ),
    false,
  );
});

test("the JSDoc of every config field states its row's description and default", () => {
  for (const [name, file, table] of INTERFACES) {
    const docs = fieldDocs(readFileSync(new URL(`../${file}`, import.meta.url), "utf8"), name);
    assert.deepEqual(
      [...docs.keys()].sort(),
      Object.keys(table).sort(),
      `${name}: fields and rows differ`,
    );
    for (const [field, setting] of Object.entries(table)) {
      const doc = docs.get(field)!;
      assert.ok(
        doc.startsWith(setting.description),
        `${name}.${field}: JSDoc "${doc}" should start "${setting.description}"`,
      );
      if (setting.required || setting.kind === "settings") continue;
      const sentence = `Default: ${formatDefault(setting)}.`;
      assert.ok(
        doc.includes(sentence),
        `${name}.${field}: JSDoc "${doc}" should say "${sentence}"`,
      );
    }
  }
});
