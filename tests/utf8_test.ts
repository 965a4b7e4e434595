import { test } from "node:test";
import assert from "node:assert/strict";
import { utf8Length } from "../src/core/utf8.ts";
import { createRandom } from "./_helpers.ts";

const encoder = new TextEncoder();

function encodedLength(text: string): number {
  return encoder.encode(text).length;
}

test("utf8Length() counts one byte per ASCII character", () => {
  assert.equal(utf8Length(""), 0);
  assert.equal(utf8Length("hello, world"), 12);
  assert.equal(utf8Length("\u0000\u007f"), 2);
});

test("utf8Length() counts two bytes for U+0080 to U+07FF", () => {
  assert.equal(utf8Length("\u0080"), 2);
  assert.equal(utf8Length("é"), 2);
  assert.equal(utf8Length("\u07ff"), 2);
  assert.equal(utf8Length("héllo"), 6);
});

test("utf8Length() counts three bytes for the rest of the basic plane", () => {
  assert.equal(utf8Length("\u0800"), 3);
  assert.equal(utf8Length("€"), 3);
  assert.equal(utf8Length("\uffff"), 3);
  assert.equal(utf8Length("\ue000"), 3);
});

test("utf8Length() counts four bytes for a surrogate pair", () => {
  assert.equal(utf8Length("😀"), 4);
  assert.equal(utf8Length("\ud800\udc00"), 4);
  assert.equal(utf8Length("\udbff\udfff"), 4);
  assert.equal(utf8Length("a😀b"), 6);
});

test("utf8Length() counts a lone surrogate as the 3-byte replacement character", () => {
  for (
    const text of ["\ud800", "\udc00", "\ud800x", "x\udfff", "\udc00\ud800", "\ud800\ud800\udc00"]
  ) {
    assert.equal(utf8Length(text), encodedLength(text), JSON.stringify(text));
  }
  assert.equal(utf8Length("\ud800"), 3);
  assert.equal(utf8Length("\ud800\ud800\udc00"), 7);
});

test("utf8Length() matches TextEncoder on random strings of code units", () => {
  const random = createRandom(8);
  const ranges = [0x80, 0x800, 0x10000];
  for (let i = 0; i < 3000; i++) {
    const units: number[] = [];
    const length = Math.floor(random() * 12);
    for (let j = 0; j < length; j++) {
      const pick = random();
      if (pick < 0.15) units.push(0xd800 + Math.floor(random() * 0x800)); // any surrogate, paired or not
      else units.push(Math.floor(random() * ranges[Math.floor(random() * ranges.length)]));
    }
    const text = String.fromCharCode(...units);
    assert.equal(utf8Length(text), encodedLength(text), JSON.stringify(text));
  }
});
