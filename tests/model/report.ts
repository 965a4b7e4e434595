/**
 * Failure reports of the model checker: the seed, the properties violated
 * with what was seen, and the (shrunk) schedule as one line of JSON that
 * `bench/model_check.ts --replay` or `runSchedule(JSON.parse(...))` runs.
 * @module
 */

import type { RunResult, Schedule } from "./checker.ts";

/** A report of one failing run. */
export function formatFailure(label: string, result: RunResult, schedule: Schedule, note = ""): string {
  const counts = [...result.counts].map(([property, n]) => `${property} (${n})`).join(", ");
  const lines = [`model checker: ${label} fails ${counts}`];
  for (const f of result.failures) lines.push(`  ${f.property} at ${Math.round(f.at)} ms: ${f.message}`);
  if (note !== "") lines.push(`  ${note}`);
  lines.push(`  replay: deno run -A bench/model_check.ts --replay '${JSON.stringify(schedule)}'`);
  return lines.join("\n");
}

/** The first property a run violated, if any. */
export function firstProperty(result: RunResult): RunResult["failures"][number]["property"] | undefined {
  return result.failures[0]?.property;
}
