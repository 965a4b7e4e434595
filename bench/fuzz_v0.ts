/**
 * The full fuzz run of the chitchat v0 codec: 10^6 mutated vectors (the test
 * runs a slice of the same seeded stream). Every input must decode or throw
 * `SyntaxError`; an accepted one must re-encode and decode to the same bytes.
 * Prints the wall time, the count per kind, and the slowest inputs (a
 * decompressor that does not bound its work shows there).
 *
 * zstd: the runtime's libzstd where it has one, else (or with --wasm) libzstd
 * built to WebAssembly.
 *
 *   deno run -A bench/fuzz_v0.ts [--count N] [--seed S] [--wasm]
 *   bun bench/fuzz_v0.ts [--count N] [--seed S] [--wasm]
 *   npx tsx bench/fuzz_v0.ts
 * @module
 */

import process from "node:process";
import { parseArgs } from "node:util";
import { decodeChitchatV0, encodeChitchatV0 } from "../src/core/wire/chitchat_v0.ts";
import type { ZstdDecompressor } from "../src/core/wire/zstd.ts";
import { loadZstd, wasmZstd } from "../src/runtime/zstd.ts";
import { V0FuzzInputs } from "../tests/chitchat_v0_fuzz_inputs.ts";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    count: { type: "string", default: "1000000" },
    seed: { type: "string", default: "1300013" },
    wasm: { type: "boolean", default: false },
  },
});
const count = Number(values.count);
const seed = Number(values.seed);
const decompressor: ZstdDecompressor = values.wasm ? await wasmZstd() : await loadZstd();
const backend = values.wasm || !("compress" in decompressor) ? "WebAssembly" : "native";

const runtime = "Deno" in globalThis ? "deno" : "Bun" in globalThis ? "bun" : `node ${process.version}`;
const inputs = new V0FuzzInputs(seed);
const kinds = new Map<string, { ok: number; refused: number; ms: number }>();
const slowest: { ms: number; kind: string; index: number }[] = [];
let problems = 0;
const start = performance.now();
for (let i = 0; i < count; i++) {
  const { kind, bytes } = inputs.next();
  const tally = kinds.get(kind) ?? { ok: 0, refused: 0, ms: 0 };
  kinds.set(kind, tally);
  const t0 = performance.now();
  try {
    const message = decodeChitchatV0(bytes, { decompressor });
    tally.ok++;
    let again: Uint8Array | undefined;
    try {
      again = encodeChitchatV0(message);
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
    }
    if (again !== undefined && encodeChitchatV0(decodeChitchatV0(again)).join() !== again.join()) {
      throw new Error("re-encoded message differs");
    }
  } catch (error) {
    if (error instanceof SyntaxError) {
      tally.refused++;
    } else {
      problems++;
      console.error(`input ${i} (${kind}): ${String(error)}`);
    }
  }
  const ms = performance.now() - t0;
  tally.ms += ms;
  if (slowest.length < 5 || ms > slowest[slowest.length - 1].ms) {
    slowest.push({ ms, kind, index: i });
    slowest.sort((a, b) => b.ms - a.ms);
    slowest.length = Math.min(slowest.length, 5);
  }
}
const seconds = (performance.now() - start) / 1000;
console.log(`chitchat v0 fuzz: ${count} inputs, seed ${seed}, ${runtime}, ${backend} libzstd`);
console.log(`${seconds.toFixed(1)} s wall (${((seconds / count) * 1e6).toFixed(1)} µs per input), ${problems} problems`);
for (const [kind, t] of [...kinds].sort()) {
  console.log(`  ${kind.padEnd(16)} ${String(t.ok).padStart(7)} decoded ${String(t.refused).padStart(7)} refused ${t.ms.toFixed(0).padStart(7)} ms`);
}
console.log(`slowest: ${slowest.map((s) => `${s.ms.toFixed(1)} ms (#${s.index} ${s.kind})`).join(", ")}`);
if (problems > 0) process.exitCode = 1;
