// examples/node.ts as a user runs it: real processes under Deno, Bun and Node
// (tsx) on loopback, seen only through their flags, exit codes and HTTP API.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  type ExampleNode,
  exitOf,
  getState,
  kill,
  runExample,
  type Runtime,
  startNode,
  statusSeenBy,
  stopAll,
  terminate,
  waitFor,
} from "./fixtures/example_nodes.ts";

const TIMEOUT = { timeout: 120_000 };

test(
  "examples/node.ts exits with status 2 and names the flag when a flag is unknown or malformed",
  TIMEOUT,
  async () => {
    const cases: Array<[Runtime, string[], RegExp]> = [
      ["deno", ["--bogus"], /unknown flag --bogus/],
      ["bun", ["--interval-ms", "soon"], /--interval-ms expects a positive integer, got "soon"/],
      ["node", ["--listen", "nowhere"], /--listen: Invalid address "nowhere"/],
      ["deno", ["--key", "novalue"], /--key expects K=V/],
      [
        "bun",
        ["--log-level", "loud"],
        /--log-level must be one of debug, info, warn, error, got "loud"/,
      ],
      ["node", ["--seed"], /--seed needs a value/],
      ["bun", ["--listen", "0.0.0.0:0"], /--advertise is required/],
      ["bun", ["-x"], /unknown flag -x/],
    ];
    const runs = cases.map(([runtime, args]) => runExample(runtime, args));
    try {
      for (const [i, [runtime, args, message]] of cases.entries()) {
        const code = await exitOf(runs[i], 30_000);
        assert.equal(
          code,
          2,
          `${runtime} ${args.join(" ")} exits with 2; printed:\n${runs[i].output()}`,
        );
        assert.match(runs[i].output(), message, `${runtime} ${args.join(" ")}`);
      }
    } finally {
      await stopAll(runs);
    }
  },
);

test(
  "examples/node.ts --help lists every flag and exits 0 under Deno, Bun and Node",
  TIMEOUT,
  async () => {
    const runs = (["deno", "bun", "node"] as const).map((runtime) =>
      runExample(runtime, ["--help"])
    );
    try {
      for (const run of runs) {
        assert.equal(await exitOf(run, 30_000), 0, run.output());
        for (
          const flag of [
            "--listen",
            "--advertise",
            "--node-id",
            "--seed",
            "--cluster-id",
            "--interval-ms",
            "--http",
            "--key",
            "--log-level",
          ]
        ) {
          assert.ok(run.output().includes(flag), `${run.runtime} --help mentions ${flag}`);
        }
      }
    } finally {
      await stopAll(runs);
    }
  },
);

test(
  "the HTTP API refuses bad requests with 400 and a reason, and a missing key's DELETE with 404",
  TIMEOUT,
  async () => {
    const nodes: ExampleNode[] = [];
    try {
      const node = await startNode("bun", ["--node-id", "api-test"]);
      nodes.push(node);
      const call = async (method: string, path: string, body?: string) => {
        const res = await fetch(node.url + path.replace(/^\//, ""), {
          method,
          body,
          signal: AbortSignal.timeout(5_000),
        });
        const text = await res.text();
        return { status: res.status, text, type: res.headers.get("content-type") ?? "" };
      };
      const refusals: Array<[string, string, string | undefined, number, RegExp]> = [
        ["PUT", "/api/kv/", "v", 400, /Missing key/],
        ["PUT", "/api/kv/__chitchat.left", "1", 400, /reserved prefix/],
        ["PUT", "/api/kv/k?ttl=2", "v", 400, /"ttl" must be 0 or 1, got "2"/],
        ["PUT", "/api/kv/k?color=red", "v", 400, /Unknown query parameter "color"/],
        ["PUT", "/api/kv/%E0%A4%A", "v", 400, /not valid percent-encoding/],
        ["PUT", "/api/kv/big", "x".repeat(40_000), 400, /value|bytes/i],
        ["DELETE", "/api/kv/missing", undefined, 404, /Key "missing" does not exist/],
        ["POST", "/api/state", "", 405, /POST is not allowed/],
        ["GET", "/api/kv/k", undefined, 405, /GET is not allowed/],
        ["GET", "/nowhere", undefined, 404, /No such path/],
      ];
      for (const [method, path, body, status, reason] of refusals) {
        const res = await call(method, path, body);
        assert.equal(res.status, status, `${method} ${path}: ${res.text}`);
        assert.match(res.type, /application\/json/);
        assert.match(JSON.parse(res.text).error, reason, `${method} ${path}`);
      }
      assert.equal((await call("PUT", "/api/kv/role", "searcher")).status, 204);
      assert.equal((await call("PUT", "/api/kv/lease?ttl=1", "held")).status, 204);
      const self = (await getState(node)).nodes[0];
      assert.deepEqual(self.keyValues, { role: "searcher", lease: "held" });
      assert.equal((await call("DELETE", "/api/kv/role")).status, 204);
      assert.equal((await call("DELETE", "/api/kv/role")).status, 404);
      const page = await call("GET", "/");
      assert.equal(page.status, 200);
      assert.match(page.type, /text\/html/);
      assert.match(page.text, /<title>chitchat dashboard<\/title>/);
    } finally {
      await stopAll(nodes);
    }
  },
);

test("GET /api/events streams key changes as Server-Sent Events", TIMEOUT, async () => {
  const nodes: ExampleNode[] = [];
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), 30_000);
  try {
    const node = await startNode("deno", ["--node-id", "sse-test"]);
    nodes.push(node);
    const res = await fetch(`${node.url}api/events`, { signal: abort.signal });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /text\/event-stream/);
    const put = await fetch(`${node.url}api/kv/color`, { method: "PUT", body: "teal" });
    assert.equal(put.status, 204);
    let text = "";
    const decoder = new TextDecoder();
    for await (const chunk of res.body!) {
      text += decoder.decode(chunk, { stream: true });
      if (text.includes('"key":"color"')) break;
    }
    const block = text.split("\n\n").find((b) => b.includes('"key":"color"'))!;
    assert.match(block, /^event: keyChanged$/m);
    const data = JSON.parse(/^data: (.*)$/m.exec(block)![1]);
    assert.equal(data.value, "teal");
    assert.equal(data.node.nodeId, "sse-test");
    assert.equal(data.deleted, false);
  } finally {
    clearTimeout(timer);
    abort.abort();
    await stopAll(nodes);
  }
});

test(
  "a Deno, a Bun and a Node process form a cluster, share keys, and see a crash as dead and a stop as left",
  TIMEOUT,
  async () => {
    const nodes: ExampleNode[] = [];
    try {
      const deno = await startNode("deno", ["--node-id", "deno-node", "--key", "runtime=deno"]);
      nodes.push(deno);
      const bun = await startNode("bun", [
        "--node-id",
        "bun-node",
        "--seed",
        deno.gossip,
        "--key",
        "runtime=bun",
      ]);
      nodes.push(bun);
      const node = await startNode("node", [
        "--node-id",
        "node-node",
        "--seed",
        deno.gossip,
        "--key",
        "runtime=node",
      ]);
      nodes.push(node);
      const all = [deno, bun, node];
      const ids = ["bun-node", "deno-node", "node-node"];

      for (const observer of all) {
        await waitFor(`${observer.runtime} to see all three live`, async () => {
          const state = await getState(observer);
          return JSON.stringify([...state.live].sort()) === JSON.stringify(ids) ? state : undefined;
        });
      }
      const state = await getState(node);
      assert.equal(state.clusterId, "default");
      assert.equal(state.self.nodeId, "node-node");
      assert.equal(state.self.addr, node.gossip);
      assert.deepEqual(state.dead, []);
      assert.equal(state.nodes[0].nodeId, "node-node", "self comes first");
      for (const n of state.nodes) {
        assert.equal(n.status, "live");
        assert.equal(n.keyValues.runtime, n.nodeId.replace("-node", ""));
        assert.equal(typeof n.heartbeat, "number");
        assert.equal(typeof n.generationId, "number");
      }

      const put = await fetch(`${bun.url}api/kv/color`, { method: "PUT", body: "teal" });
      assert.equal(put.status, 204);
      for (const observer of [deno, node]) {
        await waitFor(`${observer.runtime} to read the key set through Bun's API`, async () => {
          const bunSeen = (await getState(observer)).nodes.find((n) => n.nodeId === "bun-node");
          return bunSeen?.keyValues.color === "teal" ? true : undefined;
        });
      }

      kill(node);
      for (const observer of [deno, bun]) {
        await waitFor(`${observer.runtime} to see the killed Node process dead`, async () => {
          const seen = await getState(observer);
          return seen.dead.includes("node-node") && !seen.live.includes("node-node")
            ? true
            : undefined;
        });
        assert.equal(await statusSeenBy(observer, "node-node"), "dead");
      }

      terminate(bun);
      assert.equal(await exitOf(bun), 0, `Bun's node exits 0 after SIGTERM:\n${bun.output()}`);
      await waitFor("Deno to see the stopped Bun process leave", async () => {
        return (await statusSeenBy(deno, "bun-node")) === "left" ? true : undefined;
      });
      const final = await getState(deno);
      assert.deepEqual(final.live, ["deno-node"]);
      const left = final.nodes.find((n) => n.nodeId === "bun-node")!;
      assert.deepEqual(
        left.keyValues,
        { runtime: "bun", color: "teal" },
        "no reserved key is shown",
      );

      terminate(deno);
      assert.equal(await exitOf(deno), 0, deno.output());
    } finally {
      await stopAll(nodes);
    }
  },
);
