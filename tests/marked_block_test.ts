import { test } from "node:test";
import assert from "node:assert/strict";
import { readMarkedBlock, replaceMarkedBlock } from "../scripts/_marked_block.ts";

const TEXT =
  "# Title\n\n<!-- t:start -->\nold\n<!-- t:end -->\n\n<!-- u:start -->\nother\n<!-- u:end -->\n";

test("replaceMarkedBlock() rewrites only the named block, keeping the markers", () => {
  const updated = replaceMarkedBlock(TEXT, "t", "new\nlines");
  assert.equal(
    updated,
    "# Title\n\n<!-- t:start -->\nnew\nlines\n<!-- t:end -->\n\n<!-- u:start -->\nother\n<!-- u:end -->\n",
  );
  assert.equal(readMarkedBlock(updated, "t"), "new\nlines");
  assert.equal(readMarkedBlock(updated, "u"), "other");
  assert.equal(replaceMarkedBlock(updated, "t", "new\nlines"), updated);
});

test("readMarkedBlock() reads an empty block as empty", () => {
  assert.equal(readMarkedBlock("<!-- t:start -->\n<!-- t:end -->", "t"), "");
});

test("replaceMarkedBlock() refuses a missing, repeated or reversed marker", () => {
  for (
    const text of [
      "no markers",
      "<!-- t:start -->\n",
      "<!-- t:end -->\n<!-- t:start -->\n",
      "<!-- t:start -->\n<!-- t:end -->\n<!-- t:start -->\n<!-- t:end -->\n",
    ]
  ) {
    assert.throws(() => replaceMarkedBlock(text, "t", "x"), SyntaxError);
    assert.throws(() => readMarkedBlock(text, "t"), SyntaxError);
  }
});
