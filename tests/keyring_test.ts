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

test("unseal() opens a datagram once; a second copy is refused as replayed, before any decoding", async () => {
  const sender = new Keyring([KEY_A], { clusterId: "c" });
  const receiver = new Keyring([KEY_A], { clusterId: "c" });
  const sealed = await Promise.all(Array.from({ length: 50 }, (_, i) => sender.seal(new Uint8Array([i]))));
  for (const [i, datagram] of sealed.entries()) {
    assert.deepEqual(await receiver.unseal(datagram), { status: "opened", plaintext: new Uint8Array([i]) });
  }
  for (const datagram of sealed) {
    assert.deepEqual(await receiver.unseal(datagram), { status: "replayed" });
    assert.equal(await receiver.open(datagram), undefined);
  }
  // Two copies opened at the same time: exactly one opens.
  const twin = await sender.seal(new Uint8Array([9]));
  const results = await Promise.all([receiver.unseal(twin), receiver.unseal(twin.slice())]);
  assert.deepEqual(results.map((r) => r.status).sort(), ["opened", "replayed"]);
  // A forged copy of a fresh datagram is unauthenticated and does not use up its counter.
  const fresh = await sender.seal(new Uint8Array([1]));
  const forged = fresh.slice();
  forged[forged.length - 1] ^= 1;
  assert.deepEqual(await receiver.unseal(forged), { status: "unauthenticated" });
  assert.equal((await receiver.unseal(fresh)).status, "opened");
  assert.equal(receiver.trackedSenders, 1);
});

test("a restarted sender (a new ring, counting from 0 again) is accepted", async () => {
  const receiver = new Keyring([KEY_A], { clusterId: "c" });
  for (let restart = 0; restart < 5; restart++) {
    const sender = new Keyring([KEY_A], { clusterId: "c" });
    for (let i = 0; i < 3; i++) {
      assert.equal((await receiver.unseal(await sender.seal(new Uint8Array([i])))).status, "opened");
    }
  }
  assert.equal(receiver.trackedSenders, 5);
});

test("the epoch, counter and time are in the header and bound: changing them fails authentication", async () => {
  const ring = new Keyring([KEY_A], { clusterId: "c" });
  const first = await ring.seal(new Uint8Array([1]));
  const second = await ring.seal(new Uint8Array([2]));
  assert.deepEqual(first.subarray(5, 13), second.subarray(5, 13), "one epoch per ring");
  const counter = (d: Uint8Array) => new DataView(d.buffer, d.byteOffset).getUint32(17);
  assert.equal(counter(second), counter(first) + 1);
  const seconds = new DataView(first.buffer).getUint32(21);
  assert.ok(Math.abs(seconds - Date.now() / 1000) < 5, `time field ${seconds}`);
  // The counter of a replay rewritten to a new one: the tag no longer matches.
  const receiver = new Keyring([KEY_A], { clusterId: "c" });
  assert.equal((await receiver.unseal(first)).status, "opened");
  const renumbered = first.slice();
  new DataView(renumbered.buffer).setUint32(17, 1000);
  assert.equal((await receiver.unseal(renumbered)).status, "unauthenticated");
});

test("withKeys() keeps the epoch, counter and replay memory through [old, new] -> [new, old] -> [new]", async () => {
  let sender = new Keyring([KEY_A], { clusterId: "c" });
  let receiver = new Keyring([KEY_A], { clusterId: "c" });
  const recorded = await Promise.all(Array.from({ length: 20 }, () => sender.seal(new Uint8Array([1]))));
  for (const datagram of recorded) assert.equal((await receiver.unseal(datagram)).status, "opened");
  const steps: Array<[string[], "replayed" | "unauthenticated"]> = [
    [[KEY_A, KEY_B], "replayed"],
    [[KEY_B, KEY_A], "replayed"],
    [[KEY_B], "unauthenticated"],
  ];
  for (const [keys, oldDatagrams] of steps) {
    const before = await sender.seal(new Uint8Array([0]));
    sender = sender.withKeys(keys);
    receiver = receiver.withKeys(keys);
    const after = await sender.seal(new Uint8Array([2]));
    assert.deepEqual(after.subarray(5, 13), before.subarray(5, 13), "the epoch survives rotation");
    const counter = (d: Uint8Array) => new DataView(d.buffer, d.byteOffset).getUint32(17);
    assert.equal(counter(after), counter(before) + 1, "the counter goes on");
    assert.equal((await receiver.unseal(after)).status, "opened", `keys ${keys.length}: new traffic opens`);
    for (const datagram of recorded) assert.equal((await receiver.unseal(datagram)).status, oldDatagrams);
  }
  assert.equal(receiver.trackedSenders, 1);
  assert.throws(() => receiver.withKeys(["bad"]), TypeError);
});

test("a datagram from a sender not remembered is refused as stale when sealed far from our clock", async () => {
  const clock = { t: 0, now: () => clock.t, setTimer: () => () => {} };
  const sender = new Keyring([KEY_A], { clusterId: "c", clock });
  const recorded = await sender.seal(new Uint8Array([1]));
  clock.t = 299_000;
  const soon = new Keyring([KEY_A], { clusterId: "c", clock });
  assert.equal((await soon.unseal(recorded)).status, "opened", "within five minutes: a new sender");
  clock.t = 301_000;
  const late = new Keyring([KEY_A], { clusterId: "c", clock });
  const result = await late.unseal(recorded);
  assert.equal(result.status, "stale");
  assert.ok(result.status === "stale" && result.skewMs < -300_000 && result.skewMs > -302_000, JSON.stringify(result));
  assert.equal(late.trackedSenders, 0);
  for (let i = 0; i < 1100; i++) await sender.seal(new Uint8Array([2]));
  assert.equal((await late.unseal(await sender.seal(new Uint8Array([2])))).status, "opened", "its new datagrams do");
  assert.equal((await late.unseal(recorded)).status, "replayed", "and the recording is far behind them");
  const lenient = new Keyring([KEY_A], { clusterId: "c", clock, maxClockSkewMs: 3_600_000 });
  assert.equal((await lenient.unseal(recorded)).status, "opened");
  assert.throws(() => new Keyring([KEY_A], { clusterId: "c", maxSenders: 0 }), RangeError);
});

test("a ring opening datagrams of 10 000 senders remembers at most maxSenders of them", async () => {
  const receiver = new Keyring([KEY_A], { clusterId: "c", maxSenders: 1000 });
  const senders = Array.from({ length: 10_000 }, () => new Keyring([KEY_A], { clusterId: "c" }));
  const firsts: Uint8Array[] = [];
  for (let start = 0; start < senders.length; start += 500) {
    const batch = await Promise.all(senders.slice(start, start + 500).map((s) => s.seal(new Uint8Array([1]))));
    for (const datagram of batch) {
      assert.equal((await receiver.unseal(datagram)).status, "opened");
      firsts.push(datagram);
    }
    assert.ok(receiver.trackedSenders <= 1000);
  }
  assert.equal(receiver.trackedSenders, 1000);
  assert.equal((await receiver.unseal(firsts[9_999])).status, "replayed", "the latest senders are remembered");
});

test("a new sender's datagrams opened out of order all open (decryptions may finish in any order)", async () => {
  const sender = new Keyring([KEY_A], { clusterId: "c" });
  const receiver = new Keyring([KEY_A], { clusterId: "c" });
  const sealed = await Promise.all(Array.from({ length: 4 }, (_, i) => sender.seal(new Uint8Array([i]))));
  for (const i of [3, 1, 0, 2]) assert.equal((await receiver.unseal(sealed[i])).status, "opened", `datagram ${i}`);
  for (const datagram of sealed) assert.equal((await receiver.unseal(datagram)).status, "replayed");
});
