/**
 * Shrinking a failing schedule by delta debugging: remove chunks of
 * operations (halves, then quarters, ... then single ones) while the run
 * still fails the same property, then nodes no operation names, then halve
 * the waits. Every attempt is one full run, and attempts are bounded.
 * @module
 */

import { type Property, runSchedule } from "./checker.ts";
import type { Op, Schedule } from "./schedule.ts";

/** Result of {@linkcode shrinkSchedule}. */
export interface Shrunk {
  /** The smallest failing schedule found. */
  readonly schedule: Schedule;
  /** Runs made. */
  readonly attempts: number;
}

/** True when `schedule` still fails `property`. */
export async function failsWith(schedule: Schedule, property: Property): Promise<boolean> {
  const result = await runSchedule(schedule);
  return result.failures.some((f) => f.property === property);
}

function names(op: Op): string[] {
  if ("node" in op) return [op.node, ...("seedIds" in op && op.seedIds !== undefined ? op.seedIds : [])];
  if (op.op === "partition") return op.groups.flat();
  return [];
}

/**
 * Shrinks `schedule`, for which `fails` holds (say, `(s) => failsWith(s,
 * "noResurrection")`), in at most `maxAttempts` calls of `fails` (default 80).
 */
export async function shrinkSchedule(
  schedule: Schedule,
  fails: (candidate: Schedule) => Promise<boolean>,
  maxAttempts = 80,
): Promise<Shrunk> {
  let best = schedule;
  let attempts = 0;
  const attempt = async (candidate: Schedule): Promise<boolean> => {
    attempts++;
    if (!(await fails(candidate))) return false;
    best = candidate;
    return true;
  };
  // 1. Chunks of operations.
  let chunk = Math.max(1, Math.ceil(best.ops.length / 2));
  while (attempts < maxAttempts) {
    let progress = false;
    for (let start = 0; start < best.ops.length && attempts < maxAttempts;) {
      const ops = [...best.ops.slice(0, start), ...best.ops.slice(start + chunk)];
      if (await attempt({ ...best, ops })) progress = true;
      else start += chunk;
    }
    if (!progress) {
      if (chunk === 1) break;
      chunk = Math.ceil(chunk / 2);
    }
  }
  // 2. Nodes no operation names (never the first: it is the default seed).
  for (let i = best.nodes.length - 1; i > 0 && attempts < maxAttempts; i--) {
    const id = best.nodes[i].id;
    if (best.ops.some((op) => names(op).includes(id))) continue;
    if (best.nodes.some((node) => node.seedIds?.includes(id))) continue;
    if (best.nodes.length <= 2) break;
    await attempt({ ...best, nodes: best.nodes.filter((node) => node.id !== id) });
  }
  // 3. Shorter waits.
  for (let i = 0; i < best.ops.length && attempts < maxAttempts; i++) {
    const op = best.ops[i];
    if (op.op !== "advance" || op.ms < 500) continue;
    const ops = [...best.ops];
    ops[i] = { op: "advance", ms: Math.round(op.ms / 2 / 250) * 250 };
    if (await attempt({ ...best, ops })) i--;
  }
  return { schedule: best, attempts };
}
