// Imports flow one way: the package's edge (mod.ts) picks the default socket
// opener, so src/runtime loads no adapter, and the socket the adapters share
// touches no runtime global.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";

const SRC = new URL("../src/", import.meta.url);

function source(path: string): string {
  return readFileSync(new URL(path, SRC), "utf8");
}

/** The module specifiers a file imports or re-exports, dynamic imports included. */
function imports(text: string): string[] {
  const found = text.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)["']([^"']+)["']/g);
  return [...found].map((match) => match[1]);
}

test("src/runtime imports no adapter", () => {
  const files = readdirSync(new URL("runtime/", SRC)).filter((name) => name.endsWith(".ts"));
  assert.ok(files.includes("node.ts"), `runtime files: ${files.join(", ")}`);
  for (const name of files) {
    const upward = imports(source(`runtime/${name}`)).filter((spec) => spec.includes("adapters/"));
    assert.deepEqual(upward, [], `src/runtime/${name} imports ${upward.join(", ")}`);
  }
});

test("src/adapters/udp_socket.ts touches no runtime global", () => {
  const code = source("adapters/udp_socket.ts")
    .split("\n")
    .filter((line) => !/^\s*(\/\/|\*|\/\*\*)/.test(line))
    .join("\n");
  assert.ok(code.includes("openTransportSocket"));
  assert.doesNotMatch(code, /\b(Deno|Bun|process|globalThis)\b/);
  assert.deepEqual(imports(code).filter((spec) => !spec.startsWith(".")), ["node:dns/promises"]);
});
