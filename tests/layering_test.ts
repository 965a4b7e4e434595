// The core's import graph: no cycle among its modules, and the modules that
// only need the wire's constants or sizes never load the CBOR library.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const IMPORT = /^\s*(?:import|export)\b[^;]*?\bfrom\s+"([^"]+)"/gm;

/** The modules `file` imports or re-exports: project files by path, packages by name. */
function importsOf(file: string): string[] {
  const source = readFileSync(file, "utf8");
  return [...source.matchAll(IMPORT)].map((match) =>
    match[1].startsWith(".") ? resolve(dirname(file), match[1]) : match[1]
  );
}

/** Every module `file` loads, itself included. */
function reachable(file: string): Set<string> {
  const seen = new Set<string>();
  const visit = (module: string) => {
    if (seen.has(module)) return;
    seen.add(module);
    if (existsSync(module)) for (const next of importsOf(module)) visit(next);
  };
  visit(resolve(ROOT, file));
  return seen;
}

function coreFiles(dir = join(ROOT, "src/core")): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? coreFiles(join(dir, entry.name)) : entry.name.endsWith(".ts") ? [join(dir, entry.name)] : []
  );
}

test("src/core has no import cycle", () => {
  const files = coreFiles();
  const cycles: string[] = [];
  const state = new Map<string, "open" | "done">();
  const path: string[] = [];
  const visit = (file: string) => {
    if (state.get(file) === "done") return;
    if (state.get(file) === "open") {
      cycles.push(path.slice(path.indexOf(file)).concat(file).map((f) => relative(ROOT, f)).join(" -> "));
      return;
    }
    state.set(file, "open");
    path.push(file);
    for (const next of importsOf(file)) if (files.includes(next)) visit(next);
    path.pop();
    state.set(file, "done");
  };
  for (const file of files) visit(file);
  assert.deepEqual(cycles, []);
});

test("configuration, sealing, sizes and the cluster state load no CBOR library", () => {
  for (
    const file of [
      "src/core/config.ts",
      "src/runtime/keyring.ts",
      "src/core/wire_constants.ts",
      "src/core/wire_size.ts",
      "src/core/types.ts",
      "src/core/node_state.ts",
      "src/core/cluster_state.ts",
      "src/core/chitchat.ts",
      "src/core/handshake.ts",
      "src/core/membership.ts",
    ]
  ) {
    const loaded = [...reachable(file)].map((module) => module.startsWith("/") ? relative(ROOT, module) : module);
    assert.deepEqual(loaded.filter((module) => module.startsWith("cbor-x") || module === "src/core/codec.ts"), [], file);
  }
});

test("types.ts is a leaf: it imports only the id type", () => {
  assert.deepEqual(importsOf(join(ROOT, "src/core/types.ts")).map((module) => relative(ROOT, module)), [
    "src/core/chitchat_id.ts",
  ]);
});
