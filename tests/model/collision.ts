/**
 * Finding two node ids with the same 32-bit fingerprint by a birthday
 * search over generation ids, using the library's own fingerprint (a
 * `NodeState`'s). Node `i` of a `SimulatedCluster` listens on
 * `127.0.0.1:(10000 + i)`, and the fingerprint covers the address too.
 * @module
 */

import { NodeState } from "../../src/core/mod.ts";

/** Two generation ids giving `nodeA` at port `portA` and `nodeB` at `portB` the same fingerprint. */
export interface Collision {
  /** Generation of the first node. */
  readonly generationA: number;
  /** Generation of the second node. */
  readonly generationB: number;
  /** The shared fingerprint. */
  readonly fingerprint: number;
}

function fingerprint(nodeId: string, generationId: number, port: number): number {
  return new NodeState({ nodeId, generationId, gossipAdvertiseAddr: `127.0.0.1:${port}` }).fingerprint;
}

/**
 * Searches generations `1..tries` of both ids (2 × 2¹⁷ by default: about
 * four collisions expected among 2³⁴ pairs) and returns the first
 * collision, or `undefined`.
 */
export function findCollision(
  nodeA: string,
  portA: number,
  nodeB: string,
  portB: number,
  tries = 1 << 17,
): Collision | undefined {
  const seen = new Map<number, number>();
  for (let g = 1; g <= tries; g++) seen.set(fingerprint(nodeA, g, portA), g);
  for (let g = 1; g <= tries; g++) {
    const fp = fingerprint(nodeB, g, portB);
    const generationA = seen.get(fp);
    if (generationA !== undefined) return { generationA, generationB: g, fingerprint: fp };
  }
  return undefined;
}
