import { test } from "node:test";
import assert from "node:assert/strict";
import { QueueFeed, WatchFeed } from "../src/runtime/feed.ts";

test("WatchFeed.next() yields the initial value at once", async () => {
  const feed = new WatchFeed("first", () => {});
  assert.deepEqual(await feed.next(), { done: false, value: "first" });
});

test("WatchFeed skips to the latest value when the reader is slow", async () => {
  const feed = new WatchFeed(0, () => {});
  await feed.next();
  for (let i = 1; i <= 1000; i++) feed.publish(i);
  assert.deepEqual(await feed.next(), { done: false, value: 1000 });
  let settled = false;
  const pending = feed.next().then((r) => (settled = true, r));
  await Promise.resolve();
  assert.equal(settled, false);
  feed.publish(1001);
  assert.deepEqual(await pending, { done: false, value: 1001 });
});

test("WatchFeed ends a pending next() on abort and runs onClose once", async () => {
  const controller = new AbortController();
  let closes = 0;
  const feed = new WatchFeed(1, () => closes++, { signal: controller.signal });
  await feed.next();
  const pending = feed.next();
  controller.abort();
  assert.deepEqual(await pending, { done: true, value: undefined });
  feed.close();
  assert.equal(closes, 1);
});

test("WatchFeed with an already aborted signal is done at once", async () => {
  const feed = new WatchFeed(1, () => {}, { signal: AbortSignal.abort() });
  assert.equal((await feed.next()).done, true);
});

test("leaving a for await over a feed closes it", async () => {
  let closed = false;
  const feed = new WatchFeed(1, () => (closed = true));
  for await (const value of feed) {
    assert.equal(value, 1);
    break;
  }
  assert.equal(closed, true);
});

test("QueueFeed yields items in order", async () => {
  const feed = new QueueFeed<number>(() => {});
  feed.push(1);
  feed.push(2);
  assert.equal((await feed.next()).value, 1);
  assert.equal((await feed.next()).value, 2);
});

test("QueueFeed drops the oldest items past its buffer and reports how many", async () => {
  const feed = new QueueFeed<number>(() => {}, { bufferSize: 10 });
  for (let i = 0; i < 100_000; i++) feed.push(i);
  assert.ok(feed.buffered <= 10);
  assert.deepEqual((await feed.next()).value, { type: "overflow", dropped: 99_990 });
  const rest: unknown[] = [];
  for (let i = 0; i < 10; i++) rest.push((await feed.next()).value);
  assert.deepEqual(rest, [99_990, 99_991, 99_992, 99_993, 99_994, 99_995, 99_996, 99_997, 99_998, 99_999]);
});

test("QueueFeed refuses a bad buffer size", () => {
  assert.throws(() => new QueueFeed(() => {}, { bufferSize: 0 }), /bufferSize 0/);
});

test("QueueFeed rejects a second concurrent next()", async () => {
  const feed = new QueueFeed<number>(() => {});
  const first = feed.next();
  await assert.rejects(feed.next(), TypeError);
  feed.close();
  assert.equal((await first).done, true);
});

test("QueueFeed works with await using", async () => {
  let closed = false;
  {
    await using feed = new QueueFeed<number>(() => (closed = true));
    feed.push(1);
  }
  assert.equal(closed, true);
});
