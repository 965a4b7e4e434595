/**
 * The feeds of a node and what fills them: the live view, membership
 * events and key changes, as the driver takes them out of the state
 * machine. Rules kept here: a feed that ended at once (an aborted signal, a
 * node shut down) subscribes to nothing; leaving a `for await` unsubscribes.
 * @module
 */

import type { KeyChangedEvent, MembershipEvent } from "../core/chitchat.ts";
import type { ReadonlyNodeStateLike } from "../core/config.ts";
import type { KeyChange } from "../core/node_state.ts";
import { type FeedOptions, QueueFeed, type QueueFeedOptions, WatchFeed } from "./feed.ts";

/** The open feeds of one node. */
export class FeedHub {
  #feeds = new Set<{ close(): void }>();
  #views = new Set<(view: readonly ReadonlyNodeStateLike[]) => void>();
  #events = new Set<(event: MembershipEvent | KeyChangedEvent) => void>();
  #keys = new Set<{ prefix: string; fn: (change: KeyChange) => void }>();
  #closed = false;

  /** A watch feed of the live view, starting at `current`. */
  liveNodes(current: readonly ReadonlyNodeStateLike[], options: FeedOptions): WatchFeed<readonly ReadonlyNodeStateLike[]> {
    return this.#open(
      (onClose) => new WatchFeed<readonly ReadonlyNodeStateLike[]>(current, onClose, options),
      (feed) => this.#listen(this.#views, (view) => feed.publish(view)),
    );
  }

  /** A queue feed of membership events and key changes. */
  events(options: QueueFeedOptions): QueueFeed<MembershipEvent | KeyChangedEvent> {
    return this.#open(
      (onClose) => new QueueFeed<MembershipEvent | KeyChangedEvent>(onClose, options),
      (feed) => this.#listen(this.#events, (event) => feed.push(event)),
    );
  }

  /** A queue feed of the key changes under `prefix`. */
  keyChanges(prefix: string, options: QueueFeedOptions): QueueFeed<KeyChange> {
    return this.#open(
      (onClose) => new QueueFeed<KeyChange>(onClose, options),
      (feed) => this.#listen(this.#keys, { prefix, fn: (change: KeyChange) => feed.push(change) }),
    );
  }

  /** Publishes a new live view. */
  liveView(view: readonly ReadonlyNodeStateLike[]): void {
    for (const listener of this.#views) listener(view);
  }

  /** Publishes a membership event. */
  membership(event: MembershipEvent): void {
    for (const listener of this.#events) listener(event);
  }

  /** Publishes a key change. */
  keyChanged(event: KeyChangedEvent): void {
    for (const listener of this.#events) listener(event);
    if (this.#keys.size === 0) return;
    const { type: _type, ...change } = event;
    for (const { prefix, fn } of this.#keys) if (change.key.startsWith(prefix)) fn(change);
  }

  /** From now on, a feed opened ends at once (the node is shutting down). */
  refuseNew(): void {
    this.#closed = true;
  }

  /** Ends every feed; feeds opened later end at once. */
  close(): void {
    this.#closed = true;
    for (const feed of [...this.#feeds]) feed.close();
    this.#feeds.clear();
  }

  /**
   * Builds a feed and subscribes it, unless it ended at once. The close
   * callback may run inside the feed's constructor (an aborted signal), so
   * it refers to the feed only once it exists.
   */
  #open<F extends { close(): void; readonly closed: boolean }>(
    create: (onClose: () => void) => F,
    subscribe: (feed: F) => () => void,
  ): F {
    const opened: { feed?: F } = {};
    let unsubscribe: (() => void) | undefined;
    const onClose = (): void => {
      unsubscribe?.();
      unsubscribe = undefined;
      if (opened.feed !== undefined) this.#feeds.delete(opened.feed);
    };
    const feed = create(onClose);
    opened.feed = feed;
    if (this.#closed) feed.close();
    if (feed.closed) return feed;
    unsubscribe = subscribe(feed);
    this.#feeds.add(feed);
    return feed;
  }

  #listen<T>(listeners: Set<T>, listener: T): () => void {
    listeners.add(listener);
    return () => listeners.delete(listener);
  }
}
