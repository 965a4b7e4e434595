// The dashboard of examples/node.ts in a real headless browser: Debian's
// chromium driven by playwright-core. The nodes run under the runtime running
// this file. A screenshot is kept as artifacts/dashboard.png.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import {
  currentRuntime,
  type ExampleNode,
  getState,
  kill,
  type ReadyNode,
  startNode,
  stopAll,
  waitFor,
} from "./fixtures/example_nodes.ts";

const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
/** What the page's window offers, typed here since the checker has no DOM library. */
interface BrowserGlobals {
  getComputedStyle(element: unknown): { backgroundColor: string };
}

const NODES: Array<[string, string[]]> = [
  ["gateway", ["role=api", "zone=eu-west-1a", "version=2.4.1"]],
  ["indexer-1", ["role=indexer", "zone=eu-west-1b", "shards=0-31"]],
  ["indexer-2", ["role=indexer", "zone=eu-west-1c", "shards=32-63"]],
  ["searcher", ["role=searcher", "zone=eu-west-1a"]],
];

test(
  "the dashboard lists every node, recolours a dead one without reloading, and sets keys through its form",
  { timeout: 120_000 },
  async () => {
    assert.ok(
      existsSync(CHROMIUM),
      `${CHROMIUM} is missing: install it with "apt-get update && apt-get install -y chromium" (as .ci/run does)`,
    );
    const nodes: ExampleNode[] = [];
    const profile = mkdtempSync(join(tmpdir(), "chitchat-dashboard-"));
    let browser: Awaited<ReturnType<typeof chromium.launchPersistentContext>> | undefined;
    try {
      const ready: ReadyNode[] = [];
      for (const [id, keys] of NODES) {
        const seeds = ready.length === 0 ? [] : ["--seed", ready[0].gossip];
        const node = await startNode(currentRuntime(), [
          "--node-id",
          id,
          ...seeds,
          ...keys.flatMap((kv) => ["--key", kv]),
        ]);
        nodes.push(node);
        ready.push(node);
      }
      const [gateway, indexer1, , searcher] = ready;
      await waitFor("the gateway to see every node live", async () => {
        return (await getState(gateway)).live.length === NODES.length ? true : undefined;
      });

      browser = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        args: CHROMIUM_ARGS,
        viewport: { width: 1440, height: 1000 },
        timeout: 30_000,
      });
      const page = browser.pages()[0] ?? await browser.newPage();
      page.setDefaultTimeout(30_000);
      const errors: string[] = [];
      page.on("pageerror", (error) => errors.push(error.message));
      await page.goto(gateway.url);

      for (const [id] of NODES) {
        await page.waitForSelector(`article.card[data-node="${id}"][data-status="live"]`);
        await page.waitForSelector(`#ring g[data-node="${id}"][data-status="live"]`);
      }
      assert.equal(await page.locator("article.card").count(), NODES.length);
      const dotColour = (id: string) =>
        page.locator(`article.card[data-node="${id}"] .status-dot`).evaluate((el) =>
          (globalThis as unknown as BrowserGlobals).getComputedStyle(el).backgroundColor
        );
      const liveColour = await dotColour("searcher");
      await page.evaluate(
        () => ((globalThis as unknown as { loadMarker: number }).loadMarker = 42),
      );

      kill(searcher);
      await page.waitForSelector('article.card[data-node="searcher"][data-status="dead"]');
      await page.waitForSelector('#ring g[data-node="searcher"][data-status="dead"]');
      await waitFor("the dead node's dot to finish changing colour", async () => {
        const colour = await dotColour("searcher");
        return colour !== liveColour && colour === "rgb(239, 68, 68)" ? colour : undefined;
      }, 5_000);
      assert.equal(await dotColour("gateway"), liveColour);
      assert.equal(
        await page.evaluate(() => (globalThis as unknown as { loadMarker?: number }).loadMarker),
        42,
        "the page was not reloaded",
      );

      await page.fill("#kv-key", "color");
      await page.fill("#kv-value", "teal");
      await page.click("#kv-set");
      await page.waitForSelector("#form-status.ok");
      await waitFor("indexer-1's API to show the key set through the gateway's form", async () => {
        const seen = (await getState(indexer1)).nodes.find((n) => n.nodeId === "gateway");
        return seen?.keyValues.color === "teal" ? true : undefined;
      });
      await page.waitForSelector('article.card[data-node="gateway"] .chip[data-key="color"]');

      await page.fill("#kv-key", "version");
      await page.click("#kv-delete");
      await page.waitForSelector("#form-status.ok");
      await waitFor("indexer-1's API to show the key deleted through the form", async () => {
        const seen = (await getState(indexer1)).nodes.find((n) => n.nodeId === "gateway");
        return seen !== undefined && !("version" in seen.keyValues) ? true : undefined;
      });
      await page.waitForSelector('#events li:has-text("version deleted")');
      await page.fill("#kv-key", "load");
      await page.fill("#kv-value", "0.42");
      await page.click("#kv-set");
      await page.waitForSelector('article.card[data-node="gateway"] .chip[data-key="load"]');

      mkdirSync("artifacts", { recursive: true });
      await page.screenshot({ path: "artifacts/dashboard.png", fullPage: true });
      assert.deepEqual(errors, [], "no script errors on the page");
    } finally {
      await browser?.close().catch(() => {});
      await stopAll(nodes);
      rmSync(profile, { recursive: true, force: true });
    }
  },
);
