import { test } from "node:test";
import assert from "node:assert/strict";
import { compareStaleness, stalenessHead, type StaleNode } from "../src/core/stale_nodes.ts";
import { createRandom } from "../src/testing/random.ts";

/** What the delta builder read before `stalenessHead`: everything sorted, `first` moved to the front. */
function sortedAll(stale: readonly StaleNode[], first: string | undefined): StaleNode[] {
  const all = [...stale].sort(compareStaleness);
  const at = first === undefined ? -1 : all.findIndex((node) => node.key === first);
  if (at > 0) all.unshift(...all.splice(at, 1));
  return all;
}

test("stalenessHead() is the prefix of the sorted nodes that a delta of the budget can open, ties kept in input order", () => {
  const random = createRandom(7);
  for (let round = 0; round < 300; round++) {
    const n = Math.floor(random() * 60);
    const stale = Array.from({ length: n }, (_, i) => {
      const unknown = random() < 0.5;
      return {
        key: `n${i}`,
        state: { maxVersion: Math.floor(random() * 3) },
        from: unknown ? 0 : 1,
        unknown,
        intro: unknown && random() < 0.5,
        staleCount: Math.floor(random() * 3),
        hasPriority: random() < 0.1,
        // Few distinct values: many ties, which a stable sort keeps in input order.
        tieBreak: Math.floor(random() * 2),
      } as unknown as StaleNode;
    });
    const sizes = new Map(stale.map((node) => [node, 5 + Math.floor(random() * 20)]));
    const budget = Math.floor(random() * 300);
    const first = n > 0 && random() < 0.5 ? `n${Math.floor(random() * n)}` : undefined;
    const head = stalenessHead(stale, { budget, first, headerSize: (node) => sizes.get(node)! });
    const expected = sortedAll(stale, first);
    let used = 0;
    let length = 0;
    while (length < expected.length && used <= budget) used += sizes.get(expected[length++])!;
    assert.deepEqual(
      head.map((node) => node.key),
      expected.slice(0, length).map((node) => node.key),
      `round ${round}`,
    );
  }
});

test("stalenessHead() orders only what fits: 20 000 nodes, a budget for 3 headers", () => {
  const stale = Array.from({ length: 20_000 }, (_, i) =>
    ({
      key: `n${i}`,
      state: { maxVersion: 0 },
      from: 0,
      unknown: true,
      intro: true,
      staleCount: 0,
      hasPriority: false,
      tieBreak: (i * 7919) % 20_000,
    }) as unknown as StaleNode);
  const head = stalenessHead(stale, { budget: 25, headerSize: () => 10 });
  assert.deepEqual(head.map((node) => node.key), ["n0", "n17679", "n15358"]);
});
