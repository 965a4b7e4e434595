/**
 * Helpers of the tests that play a hostile peer (`fuzz_test.ts`,
 * `replay_test.ts`, `member_admission_test.ts`): a socket whose receive
 * handler the test can call directly, and the heap in use after a collection.
 * Not a test file itself.
 * @module
 */

import process from "node:process";
import type { DatagramHandler, Socket } from "../src/runtime/socket.ts";

/** A socket (of a memory network, say) whose receive handler the test can also call directly, as an attacker's datagram. */
export class TapSocket implements Socket {
  #inner: Socket;
  /** The node's receive handler, once it listens. */
  handler: DatagramHandler | undefined;
  constructor(inner: Socket) {
    this.#inner = inner;
  }
  get localAddr(): string {
    return this.#inner.localAddr;
  }
  send(data: Uint8Array, to: string): Promise<void> {
    return this.#inner.send(data, to);
  }
  listen(handler: DatagramHandler): void {
    this.handler = handler;
    this.#inner.listen(handler);
  }
  close(): Promise<void> {
    return this.#inner.close();
  }
}

/**
 * Runs a full collection where the runtime offers one (Bun; V8 started with
 * `--expose-gc`, as `scripts/test.sh` starts `deno test`). Without one, a heap
 * figure includes garbage not yet collected and can be hundreds of MB high.
 */
export function collectGarbage(): void {
  const g = globalThis as { gc?: () => void; Bun?: { gc(force: boolean): void } };
  if (g.Bun !== undefined) g.Bun.gc(true);
  else g.gc?.();
}

/** The heap in use, after a collection where one is offered. */
export function heapUsed(): number {
  collectGarbage();
  return process.memoryUsage().heapUsed;
}
