/**
 * Feeds: web-standard async iterables over what a node publishes. A `Watch`
 * keeps only the latest value (a slow reader skips to it); a `Queue` keeps a
 * bounded buffer and, when full, drops the oldest items and tells the reader
 * how many with one `overflow` item. Both end on abort, on `close()`, and
 * when the reader leaves its `for await`.
 * @module
 */

/**
 * Marks a gap in a queue feed: `dropped` items were discarded because the
 * reader fell behind by more than the buffer size.
 */
export interface FeedOverflow {
  /** Discriminant. */
  readonly type: "overflow";
  /** How many items were discarded. */
  readonly dropped: number;
}

/** Options of every feed. */
export interface FeedOptions {
  /** Ends the feed when aborted. */
  readonly signal?: AbortSignal;
}

/** Options of queue feeds. */
export interface QueueFeedOptions extends FeedOptions {
  /** Items kept for a slow reader before the oldest are dropped. Default 1024. */
  readonly bufferSize?: number;
}

/**
 * An async iterable that is also its own iterator and can be disposed with
 * `await using`.
 */
export interface Feed<T> extends AsyncIterableIterator<T>, AsyncDisposable {
  /** Ends the feed: a pending `next()` resolves as done. Idempotent. */
  close(): void;
}

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

/**
 * What {@linkcode WatchFeed} and {@linkcode QueueFeed} share: the single
 * pending reader, the end on abort, on `close()` and on leaving a
 * `for await`, and `await using` disposal. A subclass says what is ready
 * (`take`) and what to forget when the feed ends (`dropBuffered`), and calls
 * `wake()` when something new is ready.
 *
 * @example A feed of fixed items
 * ```ts
 * import { BaseFeed } from "@scope/chitchat";
 * import assert from "node:assert/strict";
 *
 * class ItemsFeed<T> extends BaseFeed<T> {
 *   #items: T[];
 *   constructor(items: readonly T[]) {
 *     super(() => {}, undefined);
 *     this.#items = [...items];
 *   }
 *   protected take(): IteratorResult<T> | undefined {
 *     if (this.#items.length === 0) return undefined;
 *     return { done: false, value: this.#items.shift() as T };
 *   }
 *   protected dropBuffered(): void {
 *     this.#items = [];
 *   }
 * }
 *
 * const feed = new ItemsFeed(["a", "b"]);
 * assert.deepEqual(await feed.next(), { done: false, value: "a" });
 * feed.close();
 * assert.equal((await feed.next()).done, true);
 * ```
 */
export abstract class BaseFeed<T> implements Feed<T> {
  #closed = false;
  #waiter: ((result: IteratorResult<T>) => void) | undefined;
  #onClose: () => void;
  #signal: AbortSignal | undefined;
  #abort = (): void => this.close();

  /** `onClose` runs once when the feed ends; an aborted `signal` ends it at once. */
  constructor(onClose: () => void, signal: AbortSignal | undefined) {
    this.#onClose = onClose;
    this.#signal = signal;
    if (signal?.aborted) {
      // Subclass fields do not exist yet: end without touching them.
      this.#closed = true;
      onClose();
    } else {
      signal?.addEventListener("abort", this.#abort, { once: true });
    }
  }

  /** True once the feed has ended. */
  get closed(): boolean {
    return this.#closed;
  }

  /** The next ready result, or `undefined` when nothing is ready yet. */
  protected abstract take(): IteratorResult<T> | undefined;

  /** Wakes a pending reader when an item is ready. */
  protected wake(): void {
    if (this.#waiter === undefined) return;
    const result = this.take();
    if (result === undefined) return;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter(result);
  }

  /** The next item, waiting for one; done once the feed has ended. One pending call at a time. */
  next(): Promise<IteratorResult<T>> {
    if (this.#waiter !== undefined) {
      return Promise.reject(new TypeError("This feed already has a pending next() call"));
    }
    const ready = this.take();
    if (ready !== undefined) return Promise.resolve(ready);
    if (this.#closed) return Promise.resolve(DONE);
    return new Promise((resolve) => (this.#waiter = resolve));
  }

  /** Ends the feed (called when a `for await` loop is left). */
  return(): Promise<IteratorResult<T>> {
    this.close();
    return Promise.resolve(DONE);
  }

  /** Ends the feed: a pending `next()` resolves as done. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#signal?.removeEventListener("abort", this.#abort);
    this.#onClose();
    this.dropBuffered();
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.(DONE);
  }

  /** Forgets whatever is buffered; called once when the feed ends. */
  protected abstract dropBuffered(): void;

  /** The feed is its own iterator. */
  [Symbol.asyncIterator](): this {
    return this;
  }

  /** Ends the feed (for `await using`). */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}

/**
 * A feed of the latest value: the current value first, then each newer one;
 * a reader that falls behind gets only the latest.
 *
 * @example
 * ```ts
 * import { WatchFeed } from "@scope/chitchat";
 * import assert from "node:assert/strict";
 * const feed = new WatchFeed(1, () => {});
 * feed.publish(2);
 * feed.publish(3);
 * assert.deepEqual(await feed.next(), { done: false, value: 3 });
 * feed.close();
 * assert.equal((await feed.next()).done, true);
 * ```
 */
export class WatchFeed<T> extends BaseFeed<T> {
  #value: T;
  #fresh = true;

  /** Starts with `initial`; `onClose` runs once when the feed ends. */
  constructor(initial: T, onClose: () => void, options: FeedOptions = {}) {
    super(onClose, options.signal);
    this.#value = initial;
  }

  /** Replaces the latest value and wakes the reader. */
  publish(value: T): void {
    if (this.closed) return;
    this.#value = value;
    this.#fresh = true;
    this.wake();
  }

  /** The latest value when the reader has not seen it yet. */
  protected take(): IteratorResult<T> | undefined {
    if (!this.#fresh || this.closed) return undefined;
    this.#fresh = false;
    return { done: false, value: this.#value };
  }

  /** Marks the latest value as seen. */
  protected dropBuffered(): void {
    this.#fresh = false;
  }
}

/**
 * A feed of discrete items with a bounded buffer. When a push finds the
 * buffer full, the oldest item is dropped; the reader then receives one
 * `{ type: "overflow", dropped }` item before the items that were kept.
 *
 * @example
 * ```ts
 * import { QueueFeed } from "@scope/chitchat";
 * import assert from "node:assert/strict";
 * const feed = new QueueFeed<number>(() => {}, { bufferSize: 2 });
 * feed.push(1);
 * feed.push(2);
 * feed.push(3);
 * assert.deepEqual((await feed.next()).value, { type: "overflow", dropped: 1 });
 * assert.equal((await feed.next()).value, 2);
 * ```
 */
export class QueueFeed<T> extends BaseFeed<T | FeedOverflow> {
  #items: T[] = [];
  #head = 0;
  #dropped = 0;
  #bufferSize: number;

  /** `onClose` runs once when the feed ends. */
  constructor(onClose: () => void, options: QueueFeedOptions = {}) {
    super(onClose, options.signal);
    const size = options.bufferSize ?? 1024;
    if (!Number.isInteger(size) || size < 1) {
      throw new RangeError(`Invalid bufferSize ${size}: expected a positive integer`);
    }
    this.#bufferSize = size;
  }

  /** Number of items waiting to be read. */
  get buffered(): number {
    return this.#items.length - this.#head;
  }

  /** Appends an item, dropping the oldest when the buffer is full. */
  push(item: T): void {
    if (this.closed) return;
    if (this.buffered >= this.#bufferSize) {
      this.#head++;
      this.#dropped++;
    }
    this.#items.push(item);
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    this.wake();
  }

  /** The overflow marker when items were dropped, else the oldest buffered item. */
  protected take(): IteratorResult<T | FeedOverflow> | undefined {
    if (this.closed) return undefined;
    if (this.#dropped > 0) {
      const dropped = this.#dropped;
      this.#dropped = 0;
      return { done: false, value: { type: "overflow", dropped } };
    }
    if (this.#head >= this.#items.length) return undefined;
    const value = this.#items[this.#head];
    this.#items[this.#head] = undefined as T;
    this.#head++;
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    }
    return { done: false, value };
  }

  /**
   * Takes every buffered item at once, without waiting (the overflow marker
   * first when items were dropped): for readers that poll, such as a
   * simulation checking what happened between two steps.
   *
   * @example
   * ```ts
   * import { QueueFeed } from "@scope/chitchat";
   * import assert from "node:assert/strict";
   * const feed = new QueueFeed<number>(() => {});
   * feed.push(1);
   * feed.push(2);
   * assert.deepEqual(feed.drain(), [1, 2]);
   * assert.deepEqual(feed.drain(), []);
   * ```
   */
  drain(): Array<T | FeedOverflow> {
    const items: Array<T | FeedOverflow> = [];
    for (let next = this.take(); next !== undefined && next.done !== true; next = this.take()) items.push(next.value);
    return items;
  }

  /** Empties the buffer and forgets the dropped count. */
  protected dropBuffered(): void {
    this.#items = [];
    this.#head = 0;
    this.#dropped = 0;
  }
}
