import { test } from "node:test";
import assert from "node:assert/strict";
import {
  generateClusterKey,
  Keyring,
  parseClusterKeys,
  SEAL_OVERHEAD,
  SEALED_FORMAT_MARKER,
} from "../src/runtime/keyring.ts";
import { createRandom } from "../src/testing/random.ts";

const KEY_A = generateClusterKey();
const KEY_B = generateClusterKey();

test("parseClusterKeys() names the bad key by position, never by content", () => {
  const short = btoa("x".repeat(16));
  const cases: Array<[unknown[], RegExp]> = [
    [[], /non-empty array/],
    [[KEY_A, "not base64!"], /key #2 of 2 is not valid base64/],
    [[KEY_A, KEY_B, short], /key #3 of 3 decodes to 16 bytes; expected 32/],
    [[KEY_A.slice(0, -2)], /key #1 of 1 is not valid base64/],
    [[42], /key #1 of 1 is not a string/],
    [[KEY_A, KEY_B, KEY_A], /key #3 of 3 repeats an earlier key/],
  ];
  for (const [keys, pattern] of cases) {
    assert.throws(() => parseClusterKeys(keys as string[]), (error: Error) => {
      assert.ok(error instanceof TypeError);
      assert.match(error.message, pattern);
      assert.ok(!error.message.includes(KEY_A.slice(0, 12)), "the message must not echo key material");
      return true;
    });
  }
  assert.equal(parseClusterKeys([` ${KEY_A}\n`]).length, 1, "surrounding whitespace is trimmed");
});

test("generateClusterKey() gives distinct 32-byte keys", () => {
  const keys = new Set(Array.from({ length: 20 }, generateClusterKey));
  assert.equal(keys.size, 20);
  for (const key of keys) assert.equal(parseClusterKeys([key])[0].length, 32);
});

test("seal() adds SEAL_OVERHEAD bytes and a fresh nonce each time; open() restores the bytes", async () => {
  const ring = new Keyring([KEY_A], { clusterId: "c" });
  const plain = new TextEncoder().encode("hello gossip");
  const one = await ring.seal(plain);
  const two = await ring.seal(plain);
  assert.equal(one.length, plain.length + SEAL_OVERHEAD);
  assert.equal(one[0], SEALED_FORMAT_MARKER);
  assert.notDeepEqual(one.subarray(25, 37), two.subarray(25, 37), "nonces differ");
  assert.notDeepEqual(one, two);
  assert.deepEqual(await ring.open(one), plain);
  assert.deepEqual(await ring.open(two), plain);
  assert.deepEqual(await ring.open(await ring.seal(new Uint8Array())), new Uint8Array());
});

test("open() refuses every single-bit change and every truncation", async () => {
  const ring = new Keyring([KEY_A], { clusterId: "c" });
  const sealed = await ring.seal(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]));
  for (let bit = 0; bit < sealed.length * 8; bit++) {
    const copy = sealed.slice();
    copy[bit >> 3] ^= 1 << (bit & 7);
    assert.equal(await ring.open(copy), undefined, `bit ${bit} flipped`);
  }
  for (let length = 0; length < sealed.length; length++) {
    assert.equal(await ring.open(sealed.subarray(0, length)), undefined, `truncated to ${length}`);
  }
  const longer = new Uint8Array(sealed.length + 1);
  longer.set(sealed);
  assert.equal(await ring.open(longer), undefined, "one byte appended");
});

test("open() needs the same cluster id and a key of the ring; secondaries open, only the primary seals", async () => {
  const plain = new Uint8Array([9, 9, 9]);
  const a = new Keyring([KEY_A], { clusterId: "c" });
  const sealed = await a.seal(plain);
  assert.equal(await new Keyring([KEY_A], { clusterId: "d" }).open(sealed), undefined);
  assert.equal(await new Keyring([KEY_B], { clusterId: "c" }).open(sealed), undefined);
  const both = new Keyring([KEY_B, KEY_A], { clusterId: "c" });
  assert.deepEqual(await both.open(sealed), plain, "a secondary key opens");
  const byB = await both.seal(plain);
  assert.equal(await a.open(byB), undefined, "the primary (B) sealed it, A cannot open");
  assert.deepEqual(await new Keyring([KEY_B], { clusterId: "c" }).open(byB), plain);
  const ids = await both.keyIds();
  assert.equal(ids.length, 2);
  assert.deepEqual((await a.keyIds())[0], ids[1]);
  assert.match(ids[0], /^[0-9a-f]{8}$/);
});

test("open() never throws or rejects, whatever it is given", async () => {
  const ring = new Keyring([KEY_A], { clusterId: "c" });
  const random = createRandom(5);
  const inputs: unknown[] = [undefined, null, "text", 42, {}, new ArrayBuffer(40), new Uint8Array(0)];
  for (let i = 0; i < 300; i++) {
    const bytes = new Uint8Array(Math.floor(random() * 120));
    for (let j = 0; j < bytes.length; j++) bytes[j] = Math.floor(random() * 256);
    if (bytes.length > 0 && random() < 0.5) bytes[0] = SEALED_FORMAT_MARKER;
    inputs.push(bytes);
  }
  // A datagram naming the right key id but with a forged body.
  const forged = await ring.seal(new Uint8Array(50));
  forged.fill(7, 37);
  inputs.push(forged);
  for (const input of inputs) assert.equal(await ring.open(input as Uint8Array), undefined);
});

test("new Keyring() checks its keys and cluster id synchronously", () => {
  assert.throws(() => new Keyring(["bad"], { clusterId: "c" }), TypeError);
  assert.throws(() => new Keyring([KEY_A], {} as { clusterId: string }), /clusterId/);
  assert.equal(new Keyring([KEY_A, KEY_B], { clusterId: "c" }).size, 2);
});
