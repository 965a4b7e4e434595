// examples/node.ts flags that reach the node's settings: parsed, defaulted and refused.
import { test } from "node:test";
import assert from "node:assert/strict";
import { HELP, parseCli, UsageError } from "../examples/node/cli.ts";

const BASE = ["--listen", "127.0.0.1:7000"];

test("--tombstone-grace-ms sets how long deleted and TTL keys are kept; absent, the library's default applies", () => {
  assert.equal(parseCli([...BASE, "--tombstone-grace-ms", "10000"]).tombstoneGraceMs, 10_000);
  assert.equal(parseCli(BASE).tombstoneGraceMs, undefined);
});

test("--tombstone-grace-ms refuses zero, negatives and non-integers", () => {
  for (const value of ["0", "-5", "1.5", "ten"]) {
    assert.throws(
      () => parseCli([...BASE, "--tombstone-grace-ms", value]),
      (error: unknown) =>
        error instanceof UsageError && error.message.includes("--tombstone-grace-ms"),
      value,
    );
  }
});

test("--help names --tombstone-grace-ms", () => {
  assert.match(HELP, /--tombstone-grace-ms N/);
});
