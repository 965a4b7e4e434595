// The README's metrics table is generated from METRICS (scripts/metrics_doc.ts):
// this fails while the README block is stale.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { BEGIN, END, metricsBlock, withMetricsBlock } from "../scripts/metrics_doc.ts";
import { METRICS } from "../src/runtime/metrics.ts";

const README = readFileSync(new URL("../README.md", import.meta.url), "utf8");

test("README.md lists every metric of METRICS as scripts/metrics_doc.ts generates it", () => {
  assert.ok(README.includes(BEGIN) && README.includes(END), "README.md has the generated block's markers");
  assert.equal(
    withMetricsBlock(README),
    README,
    "README.md's metrics table is stale: run `npm run docs:metrics`",
  );
  for (const metric of METRICS) assert.ok(README.includes(`| \`${metric.name}\` | ${metric.type} |`), metric.name);
});

test("withMetricsBlock() rewrites a stale block and refuses a README without markers", () => {
  const stale = `# x\n\n${BEGIN}\n| old |\n${END}\n\nafter\n`;
  assert.equal(withMetricsBlock(stale), `# x\n\n${metricsBlock()}\n\nafter\n`);
  assert.throws(() => withMetricsBlock("# no markers\n"), /lacks the markers/);
});
