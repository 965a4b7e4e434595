// The dashboard of examples/node.ts in a real headless browser: Debian's
// chromium driven by playwright-core. The nodes run under the runtime running
// this file; one test serves the page with a scripted /api/state instead, to
// show generations and statuses no real cluster shows on cue. Screenshots are
// kept as artifacts/dashboard.png and artifacts/dashboard-generations.png.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import type { ApiNode, ApiState } from "../examples/node/http_api.ts";
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

type Browser = Awaited<ReturnType<typeof chromium.launchPersistentContext>>;

/** Headless Chromium with a fresh profile; `close()` also removes the profile. */
async function openBrowser(): Promise<{ browser: Browser; close(): Promise<void> }> {
  assert.ok(
    existsSync(CHROMIUM),
    `${CHROMIUM} is missing: install it with "apt-get update && apt-get install -y chromium" (as .ci/run does)`,
  );
  const profile = mkdtempSync(join(tmpdir(), "chitchat-dashboard-"));
  try {
    const browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1440, height: 1000 },
      timeout: 30_000,
    });
    return {
      browser,
      close: async () => {
        await browser.close().catch(() => {});
        rmSync(profile, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(profile, { recursive: true, force: true });
    throw error;
  }
}

const NODES: Array<[string, string[]]> = [
  ["gateway", ["role=api", "zone=eu-west-1a", "version=2.4.1"]],
  ["indexer-1", ["role=indexer", "zone=eu-west-1b", "shards=0-31"]],
  ["indexer-2", ["role=indexer", "zone=eu-west-1c", "shards=32-63"]],
  ["searcher", ["role=searcher", "zone=eu-west-1a"]],
];

test(
  "the dashboard lists every node, recolours a dead one without reloading, folds a restarted one's old generation under its card, and sets keys through its form",
  { timeout: 120_000 },
  async () => {
    const nodes: ExampleNode[] = [];
    let opened: Awaited<ReturnType<typeof openBrowser>> | undefined;
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

      opened = await openBrowser();
      const browser = opened.browser;
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
      assert.equal(await page.textContent("#n-dead"), "1");
      assert.equal(await page.textContent("#n-live"), String(NODES.length - 1));

      // The searcher restarts: a new generation under the same node id; the old one is
      // scheduled for deletion as soon as the new one is known.
      const deadGeneration = await page.getAttribute(
        'article.card[data-node="searcher"]',
        "data-generation",
      );
      const restarted = await startNode(currentRuntime(), [
        "--node-id",
        "searcher",
        "--seed",
        gateway.gossip,
        ...NODES[3][1].flatMap((kv) => ["--key", kv]),
      ]);
      nodes.push(restarted);
      await page.waitForSelector('article.card[data-node="searcher"][data-status="live"]');
      await page.waitForSelector(
        `article.card[data-node="searcher"] .older-gens li[data-generation="${deadGeneration}"][data-status="scheduled"]`,
        { state: "attached" },
      );
      assert.equal(await page.locator('article.card[data-node="searcher"]').count(), 1);
      assert.equal(await page.locator('#ring g[data-node="searcher"]').count(), 1);
      assert.notEqual(
        await page.getAttribute('article.card[data-node="searcher"]', "data-generation"),
        deadGeneration,
        "the card shows the new generation",
      );
      assert.equal(
        (await getState(gateway)).nodes.filter((n) => n.nodeId === "searcher").length,
        2,
        "the API still lists both generations",
      );
      await waitFor("the header to count the restarted node live", async () => {
        return (await page.textContent("#n-live")) === String(NODES.length) ? true : undefined;
      }, 5_000);
      assert.equal(await page.textContent("#n-dead"), "0");
      assert.equal(await page.textContent("#n-older"), "+ 1 older generation");
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
      await opened?.close();
      await stopAll(nodes);
    }
  },
);

/** An API node in the shape `/api/state` gives, with what the scripted test does not vary filled in. */
function member(nodeId: string, generationId: number, status: string, port: number): ApiNode {
  return {
    nodeId,
    generationId,
    addr: `127.0.0.1:${port}`,
    status: status as ApiNode["status"], // the scripted test also sends a status the page does not know
    heartbeat: 10,
    maxVersion: 3,
    phi: status === "live" ? 0.4 : null,
    keyValues: { role: nodeId },
  };
}

test(
  "the dashboard shows one card and one ring dot per node id, folds older generations, and counts each status on its own",
  { timeout: 120_000 },
  async () => {
    const self = member("gateway", 100, "live", 7000);
    let nodes: ApiNode[] = [
      self,
      member("worker", 1, "left", 7001),
      member("worker", 2, "dead", 7002),
      member("worker", 3, "live", 7003),
      member("cache", 5, "joining", 7005),
      member("archive", 7, "scheduled", 7007),
      member("batch", 9, "dead", 7009),
      member("probe", 11, "quarantined", 7011),
    ];
    const state = (): ApiState => ({
      clusterId: "scripted",
      self: { nodeId: self.nodeId, generationId: self.generationId, addr: self.addr },
      live: nodes.filter((n) => n.status === "live").map((n) => n.nodeId),
      dead: nodes.filter((n) => n.status === "dead").map((n) => n.nodeId),
      nodes,
    });
    const page = readFileSync(new URL("../examples/node/dashboard.html", import.meta.url), "utf8");
    const streams = new Set<ServerResponse>();
    const server = createServer((req, res) => {
      if (req.url === "/") {
        res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(page);
      } else if (req.url === "/api/state") {
        res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" })
          .end(JSON.stringify(state()));
      } else if (req.url === "/api/events") {
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.write(": open\n\n");
        streams.add(res);
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    const url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}/`;
    let opened: Awaited<ReturnType<typeof openBrowser>> | undefined;
    try {
      opened = await openBrowser();
      const tab = opened.browser.pages()[0] ?? await opened.browser.newPage();
      tab.setDefaultTimeout(30_000);
      const errors: string[] = [];
      tab.on("pageerror", (error) => errors.push(error.message));
      await tab.goto(url);
      await tab.waitForSelector('article.card[data-node="probe"]');

      const cardIds = () =>
        tab.locator("article.card").evaluateAll((els) =>
          els.map((el) => (el as unknown as { dataset: Record<string, string> }).dataset.node)
        );
      assert.deepEqual(await cardIds(), [
        "gateway",
        "archive",
        "batch",
        "cache",
        "probe",
        "worker",
      ]);
      assert.equal(await tab.locator("#ring g[data-node]").count(), 6);
      assert.equal(await tab.locator('#ring g[data-node="worker"]').count(), 1);
      const worker = 'article.card[data-node="worker"]';
      assert.equal(await tab.getAttribute(worker, "data-generation"), "3");
      assert.equal(await tab.getAttribute(worker, "data-status"), "live");
      assert.equal(await tab.getAttribute('#ring g[data-node="worker"]', "data-status"), "live");
      assert.deepEqual(
        await tab.locator(`${worker} .older-gens li`).evaluateAll((els) =>
          els.map((el) => (el as unknown as { textContent: string }).textContent)
        ),
        ["deadgen 2 · 127.0.0.1:7002", "leftgen 1 · 127.0.0.1:7001"],
        "older generations are listed newest first",
      );
      assert.equal(await tab.textContent(`${worker} .older-gens summary`), "2 older generations");
      assert.equal(await tab.isVisible(`${worker} .older-gens li`), false, "folded until opened");
      await tab.click(`${worker} .older-gens summary`);
      assert.equal(await tab.isVisible(`${worker} .older-gens li[data-generation="2"]`), true);
      assert.equal(await tab.isHidden('article.card[data-node="batch"] .older-gens'), true);

      const counts = async () =>
        Object.fromEntries(
          await Promise.all(
            ["live", "joining", "dead", "scheduled", "left", "quarantined"].map(async (status) => [
              status,
              await tab.textContent(`#n-${status}`),
            ]),
          ),
        );
      assert.deepEqual(await counts(), {
        live: "2",
        joining: "1",
        dead: "1",
        scheduled: "1",
        left: "0",
        quarantined: "1",
      });
      assert.equal(await tab.textContent("#n-older"), "+ 2 older generations");
      for (const status of ["live", "joining", "dead", "scheduled", "left", "quarantined"]) {
        assert.equal(
          await tab.locator(`#legend [data-status="${status}"]`).count(),
          1,
          `the legend explains ${status}`,
        );
      }
      const dotColour = (id: string) =>
        tab.locator(`article.card[data-node="${id}"] .status-dot`).evaluate((el) =>
          (globalThis as unknown as BrowserGlobals).getComputedStyle(el).backgroundColor
        );
      const colours = new Set(
        await Promise.all(["gateway", "cache", "batch", "archive", "probe"].map(dotColour)),
      );
      assert.equal(colours.size, 5, "live, joining, dead, scheduled and other each have a colour");

      // The live worker crashes and restarts: no generation is live, so the newest is the card.
      nodes = nodes.map((n) =>
        n.nodeId === "worker" && n.generationId === 3 ? { ...n, status: "dead" } : n
      );
      nodes.push(member("worker", 4, "joining", 7004));
      await tab.waitForSelector(`${worker}[data-generation="4"][data-status="joining"]`);
      await tab.waitForSelector(
        `${worker} .older-gens li[data-generation="3"][data-status="dead"]`,
      );
      assert.equal(await tab.locator(worker).count(), 1);
      assert.equal(await tab.locator('#ring g[data-node="worker"]').count(), 1);
      assert.equal(await tab.getAttribute('#ring g[data-node="worker"]', "data-status"), "joining");
      assert.equal(
        await tab.isVisible(`${worker} .older-gens li[data-generation="3"]`),
        true,
        "stays open",
      );
      assert.deepEqual(await counts(), {
        live: "1",
        joining: "2",
        dead: "1",
        scheduled: "1",
        left: "0",
        quarantined: "1",
      });
      assert.equal(await tab.textContent("#n-older"), "+ 3 older generations");
      mkdirSync("artifacts", { recursive: true });
      await tab.screenshot({ path: "artifacts/dashboard-generations.png", fullPage: true });

      // Alone, the page says how to start a second node from a fresh clone.
      assert.equal(await tab.isVisible("#hint"), false);
      nodes = [self];
      await tab.waitForSelector("#hint.show");
      assert.equal(
        await tab.textContent("#hint-cmd"),
        "npm run node -- --listen 127.0.0.1:7001 --seed 127.0.0.1:7000 --cluster-id scripted",
      );
      assert.equal(await tab.locator("article.card").count(), 1);
      assert.equal(await tab.locator("#ring g[data-node]").count(), 1);
      assert.equal(await tab.isHidden("#n-older"), true);
      assert.deepEqual(errors, [], "no script errors on the page");
    } finally {
      await opened?.close();
      for (const res of streams) res.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  },
);
