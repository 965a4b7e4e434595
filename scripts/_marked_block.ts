/**
 * Reads and rewrites a generated block of a text file, the lines between
 * `<!-- NAME:start -->` and `<!-- NAME:end -->`, so a script can keep one
 * part of a hand-written document in step with the code.
 * @module
 */

function markers(name: string): [string, string] {
  return [`<!-- ${name}:start -->`, `<!-- ${name}:end -->`];
}

function bounds(text: string, name: string): [number, number] {
  const [start, end] = markers(name);
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (
    from < 0 || to < 0 || to < from || text.indexOf(start, from + 1) >= 0 ||
    text.indexOf(end, to + 1) >= 0
  ) {
    throw new SyntaxError(`Expected one "${start}" followed by one "${end}"`);
  }
  return [from + start.length, to];
}

/**
 * The text between the markers of block `name`, without the newlines next
 * to the markers. Throws `SyntaxError` unless each marker is there once, in
 * order.
 *
 * @example
 * ```ts
 * import { readMarkedBlock } from "./_marked_block.ts";
 * import assert from "node:assert/strict";
 * assert.equal(readMarkedBlock("a\n<!-- t:start -->\nbody\n<!-- t:end -->\n", "t"), "body");
 * ```
 */
export function readMarkedBlock(text: string, name: string): string {
  const [from, to] = bounds(text, name);
  return text.slice(from, to).replace(/^\n/, "").replace(/\n$/, "");
}

/**
 * `text` with the body of block `name` replaced by `body`, each marker on
 * its own line. Throws `SyntaxError` unless each marker is there once, in
 * order.
 *
 * @example
 * ```ts
 * import { replaceMarkedBlock } from "./_marked_block.ts";
 * import assert from "node:assert/strict";
 * const text = "a\n<!-- t:start -->\nold\n<!-- t:end -->\nb\n";
 * assert.equal(replaceMarkedBlock(text, "t", "new"), "a\n<!-- t:start -->\nnew\n<!-- t:end -->\nb\n");
 * ```
 */
export function replaceMarkedBlock(text: string, name: string, body: string): string {
  const [from, to] = bounds(text, name);
  return `${text.slice(0, from)}\n${body}\n${text.slice(to)}`;
}
