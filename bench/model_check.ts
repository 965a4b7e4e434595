/**
 * The model checker's long mode: thousands of seeded random schedules (the
 * test suite runs a few hundred), printing each failing seed with the
 * properties it violates, the first few failures shrunk, and seeds/s.
 *
 *   deno run -A bench/model_check.ts --schedules 5000 --seed-start 1
 *   bun bench/model_check.ts --schedules 500 --shrink 3
 *   deno run -A bench/model_check.ts --replay '{"simSeed":1,...}'   # or --replay failing.json
 *
 * Options: `--schedules N` (default 1000), `--seed-start S` (default 1),
 * `--shrink K` (shrink the first K failures, default 3), `--attempts A`
 * (runs per shrink, default 80), `--replay JSON-or-file` (run one schedule
 * and print what it finds), `--json` (print the summary as JSON). Exits 1
 * when any schedule fails.
 * @module
 */

import { readFileSync } from "node:fs";
import process from "node:process";
import { parseArgs } from "node:util";
import { type Property, runSchedule, type Schedule } from "../tests/model/checker.ts";
import { formatFailure } from "../tests/model/report.ts";
import { generateSchedule } from "../tests/model/schedule.ts";
import { failsWith, shrinkSchedule } from "../tests/model/shrink.ts";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    schedules: { type: "string", default: "1000" },
    "seed-start": { type: "string", default: "1" },
    shrink: { type: "string", default: "3" },
    attempts: { type: "string", default: "80" },
    replay: { type: "string" },
    json: { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
});

if (values.help) {
  console.log(
    "Usage: bench/model_check.ts [--schedules 1000] [--seed-start 1] [--shrink 3] [--attempts 80] [--json]\n" +
      "       bench/model_check.ts --replay '<schedule JSON>' | --replay file.json",
  );
  process.exit(0);
}

function count(name: string, text: string, min: number): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < min) {
    console.error(`Bad --${name} "${text}": expected an integer of at least ${min}`);
    process.exit(2);
  }
  return n;
}

if (values.replay !== undefined) {
  const text = values.replay.trimStart().startsWith("{") ? values.replay : readFileSync(values.replay, "utf8");
  const schedule = JSON.parse(text) as Schedule;
  const result = await runSchedule(schedule);
  if (result.failures.length === 0) {
    console.log(`replay: every property holds (${Math.round(result.virtualMs)} virtual ms, ${result.datagrams} datagrams)`);
    process.exit(0);
  }
  console.log(formatFailure("replay", result, schedule));
  process.exit(1);
}

const schedules = count("schedules", values.schedules, 1);
const seedStart = count("seed-start", values["seed-start"], 0);
let shrinksLeft = count("shrink", values.shrink, 0);
const attempts = count("attempts", values.attempts, 1);
const failing: Array<{ seed: number; properties: Property[] }> = [];
const byProperty = new Map<Property, number>();
const started = performance.now();
let virtualMs = 0;
for (let seed = seedStart; seed < seedStart + schedules; seed++) {
  const schedule = generateSchedule(seed);
  const result = await runSchedule(schedule);
  virtualMs += result.virtualMs;
  if (result.failures.length === 0) continue;
  const properties = [...result.counts.keys()];
  for (const property of properties) byProperty.set(property, (byProperty.get(property) ?? 0) + 1);
  failing.push({ seed, properties });
  if (shrinksLeft > 0) {
    shrinksLeft--;
    const property = result.failures[0].property;
    const shrunk = await shrinkSchedule(schedule, (s) => failsWith(s, property), attempts);
    const again = await runSchedule(shrunk.schedule);
    const note = `shrunk from ${schedule.ops.length} to ${shrunk.schedule.ops.length} operations in ${shrunk.attempts} runs`;
    console.log(formatFailure(`seed ${seed}`, again, shrunk.schedule, note));
  } else if (!values.json) {
    console.log(`seed ${seed}: ${properties.join(", ")}: ${result.failures[0].message}`);
  }
}
const seconds = (performance.now() - started) / 1000;
const summary = {
  schedules,
  seedStart,
  failed: failing.length,
  byProperty: Object.fromEntries(byProperty),
  failingSeeds: failing.map((f) => f.seed),
  seconds: Math.round(seconds * 10) / 10,
  seedsPerSecond: Math.round((schedules / seconds) * 10) / 10,
  virtualSecondsPerSecond: Math.round(virtualMs / 1000 / seconds),
};
if (values.json) {
  console.log(JSON.stringify(summary, null, 2));
} else {
  const properties = [...byProperty].map(([p, n]) => `${p} ${n}`).join(", ");
  console.log(
    `\n${schedules} schedules from seed ${seedStart}: ${failing.length} failed` +
      (failing.length > 0 ? ` (${properties})` : "") +
      `; ${summary.seedsPerSecond} seeds/s, ${summary.virtualSecondsPerSecond} virtual s/s, ${summary.seconds} s`,
  );
}
process.exit(failing.length > 0 ? 1 : 0);
