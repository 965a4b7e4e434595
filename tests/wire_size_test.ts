import { test } from "node:test";
import assert from "node:assert/strict";
import { Encoder } from "cbor-x/encode";
import {
  digestEntrySize,
  headSize,
  idFieldsSize,
  mutationSize,
  nodeDeltaHeaderSize,
  textSize,
  uintSize,
} from "../src/core/wire_size.ts";
import { createRandom, makeId } from "./_helpers.ts";

/** The same settings as the codec's encoder. */
const encoder = new Encoder({ useRecords: false, variableMapSize: true } as never);

function encodedSize(value: unknown): number {
  return (encoder.encode(value) as Uint8Array).length;
}

const BOUNDARIES = [
  0,
  1,
  23,
  24,
  255,
  256,
  65_535,
  65_536,
  2 ** 32 - 1,
  2 ** 32,
  1_700_000_000_000,
  2 ** 53 - 1,
];

test("headSize() follows the CBOR head boundaries", () => {
  assert.deepEqual(
    [0, 23, 24, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32].map(headSize),
    [1, 1, 2, 2, 3, 3, 5, 5, 9],
  );
});

test("uintSize() equals the encoded size of every boundary integer", () => {
  for (const n of BOUNDARIES) assert.equal(uintSize(n), encodedSize(n), `n = ${n}`);
});

test("textSize() equals the encoded size of strings at the length boundaries", () => {
  for (const length of [0, 1, 23, 24, 255, 256, 65_535, 65_536]) {
    const text = "k".repeat(length);
    assert.equal(textSize(text), encodedSize(text), `length ${length}`);
  }
});

test("textSize() counts UTF-8 bytes of non-ASCII text", () => {
  for (const text of ["é", "€".repeat(8), "😀".repeat(6), "é".repeat(12), "\ud800"]) {
    assert.equal(textSize(text), encodedSize(text), JSON.stringify(text));
  }
});

test("digestEntrySize() equals the encoded size of the six flat digest items", () => {
  const random = createRandom(21);
  for (let i = 0; i < 300; i++) {
    const id = makeId(
      "n".repeat(1 + Math.floor(random() * 40)),
      1 + Math.floor(random() * 65_535),
      BOUNDARIES[Math.floor(random() * BOUNDARIES.length)],
    );
    const [hb, gc, max] = [0, 0, 0].map(() => BOUNDARIES[Math.floor(random() * BOUNDARIES.length)]);
    const items = [id.nodeId, id.generationId, id.gossipAdvertiseAddr, hb, gc, max];
    // Items of a flat list: the list's own head is one byte for six items.
    assert.equal(digestEntrySize(id, hb, gc, max), encodedSize(items) - 1);
    assert.equal(idFieldsSize(id), encodedSize(items.slice(0, 3)) - 1);
  }
});

test("mutationSize() equals the encoded size of key, value, version and status", () => {
  const random = createRandom(22);
  for (let i = 0; i < 300; i++) {
    const key = "ké".repeat(Math.floor(random() * 150));
    const value = "v😀".repeat(Math.floor(random() * 300));
    const version = BOUNDARIES[Math.floor(random() * BOUNDARIES.length)];
    const status = Math.floor(random() * 3);
    assert.equal(
      mutationSize(key || "k", value, version),
      encodedSize([key || "k", value, version, status]) - 1,
    );
  }
});

test("nodeDeltaHeaderSize() equals the encoded size of a node delta without mutations", () => {
  for (const n of BOUNDARIES) {
    const id = makeId("node-with-a-name", 7000, n);
    const versions = { from: n, lastGc: Math.floor(n / 2), max: n };
    for (const items of [0, 4, 24, 400, 70_000]) {
      const wire = [
        id.nodeId,
        id.generationId,
        id.gossipAdvertiseAddr,
        versions.from,
        versions.lastGc,
        versions.max,
        [],
      ];
      // The empty mutation list encodes as one byte; a list of `items` has a larger head.
      const expected = encodedSize(wire) - 1 + headSize(items);
      assert.equal(
        nodeDeltaHeaderSize(id, versions, items),
        expected,
        `n = ${n}, items = ${items}`,
      );
    }
  }
});
