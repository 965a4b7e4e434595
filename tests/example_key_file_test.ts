// examples/node.ts --key-file: sealed nodes talk to each other and to nobody else.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateClusterKey } from "../src/runtime/keyring.ts";
import {
  type ExampleNode,
  exitOf,
  getState,
  runExample,
  startNode,
  stopAll,
  waitFor,
} from "./fixtures/example_nodes.ts";

test("examples/node.ts --key-file seals gossip: keyed nodes form a cluster, a keyless one stays out", {
  timeout: 120_000,
}, async () => {
  const dir = await mkdtemp(join(tmpdir(), "chitchat-keys-"));
  const nodes: ExampleNode[] = [];
  try {
    const keyFile = join(dir, "keys");
    await writeFile(keyFile, `# cluster keys, primary first\n${generateClusterKey()}\n\n${generateClusterKey()}\n`);
    const badFile = join(dir, "bad");
    await writeFile(badFile, "not base64 at all!\n");

    const bad = runExample("deno", ["--key-file", badFile]);
    nodes.push(bad);
    assert.equal(await exitOf(bad, 30_000), 2, bad.output());
    assert.match(bad.output(), /--key-file .*bad/);

    const a = await startNode("deno", ["--node-id", "sealed-a", "--key-file", keyFile]);
    nodes.push(a);
    assert.match(a.output(), /sealed with 2 cluster key\(s\)/);
    const b = await startNode("bun", ["--node-id", "sealed-b", "--key-file", keyFile, "--seed", a.gossip]);
    nodes.push(b);
    const outsider = await startNode("deno", ["--node-id", "outsider", "--seed", a.gossip]);
    nodes.push(outsider);
    await waitFor("the sealed nodes to see each other", async () => {
      const state = await getState(a);
      return state.live.includes("sealed-b") ? state : undefined;
    });
    // Give the outsider several rounds to try.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const seenByA = await getState(a);
    assert.ok(!seenByA.nodes.some((node) => node.nodeId === "outsider"), "the keyless node never joins");
    const seenByOutsider = await getState(outsider);
    assert.deepEqual(seenByOutsider.live, ["outsider"]);
  } finally {
    await stopAll(nodes);
    await rm(dir, { recursive: true, force: true });
  }
});
