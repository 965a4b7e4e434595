/**
 * The chaos scenarios of `scripts/chaos_netns.sh`, run inside its hub
 * namespace against the example nodes it started (one per namespace, HTTP
 * API on 10.77.0.N:8000): cut one host off, split the cluster 2/3, then drop
 * 30 % of the datagrams. Firewall rules go only into the nodes' namespaces.
 * Every wait has a deadline; the process exits 0 when every check passed.
 *
 *   deno run -A scripts/chaos_driver.ts --tag TAG --nodes 5 --fw iptables|nft [--loss-seconds 120]
 * @module
 */

import { execFileSync } from "node:child_process";
import process from "node:process";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    tag: { type: "string" },
    nodes: { type: "string", default: "5" },
    fw: { type: "string", default: "iptables" },
    "loss-seconds": { type: "string", default: "120" },
    "interval-ms": { type: "string", default: "500" },
  },
});
const TAG = values.tag ?? fail("--tag is required");
const NODES = Number(values.nodes);
const FW = values.fw === "nft" ? "nft" : "iptables";
const LOSS_SECONDS = Number(values["loss-seconds"]);
const INTERVAL_MS = Number(values["interval-ms"]);
const ids = Array.from({ length: NODES }, (_, i) => `n${i + 1}`);
const started = performance.now();

interface ApiState {
  live: string[];
  dead: string[];
  nodes: Array<{ nodeId: string; keyValues: Record<string, string> }>;
}

function fail(message: string): never {
  console.error(`chaos: FAILED: ${message}`);
  process.exit(1);
}

function log(message: string): void {
  console.log(`[${((performance.now() - started) / 1000).toFixed(1).padStart(6)} s] ${message}`);
}

function ip(id: string): string {
  return `10.77.0.${Number(id.slice(1))}`;
}

function namespace(id: string): string {
  return `chaos-${TAG}-${id}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function state(id: string): Promise<ApiState | undefined> {
  try {
    const response = await fetch(`http://${ip(id)}:8000/api/state`, { signal: AbortSignal.timeout(2_000) });
    if (!response.ok) return undefined;
    return await response.json() as ApiState;
  } catch {
    return undefined;
  }
}

async function states(of: readonly string[] = ids): Promise<Map<string, ApiState | undefined>> {
  return new Map(await Promise.all(of.map(async (id) => [id, await state(id)] as const)));
}

async function put(id: string, key: string, value: string): Promise<void> {
  const response = await fetch(`http://${ip(id)}:8000/api/kv/${encodeURIComponent(key)}`, {
    method: "PUT",
    body: value,
    signal: AbortSignal.timeout(2_000),
  });
  if (!response.ok) fail(`PUT ${key} on ${id}: HTTP ${response.status}`);
  await response.body?.cancel();
}

/** Polls every 250 ms until `check` returns true; fails with `what` after `limitMs`. */
async function waitFor(what: string, limitMs: number, check: () => Promise<boolean>): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < 100_000; i++) {
    if (await check()) return performance.now() - start;
    if (performance.now() - start > limitMs) break;
    await sleep(250);
  }
  const views = [...await states()].map(([id, s]) => `${id}: live=[${s?.live ?? "?"}] dead=[${s?.dead ?? "?"}]`);
  fail(`${what} not reached within ${limitMs / 1000} s\n  ${views.join("\n  ")}`);
}

function sorted(list: readonly string[]): string {
  return [...list].sort().join(",");
}

async function allLive(): Promise<boolean> {
  const all = sorted(ids);
  for (const s of (await states()).values()) if (s === undefined || sorted(s.live) !== all) return false;
  return true;
}

function run(ns: string, command: string[]): string {
  return execFileSync("ip", ["netns", "exec", ns, ...command], { encoding: "utf8", timeout: 10_000 });
}

/** Drops UDP in `id`'s namespace: all of it, to/from some peers, or a random share of what arrives. */
function block(id: string, rule: { peers?: readonly string[]; probability?: number }): void {
  const ns = namespace(id);
  if (FW === "iptables") {
    if (rule.probability !== undefined) {
      const p = String(rule.probability);
      run(ns, ["iptables", "-A", "INPUT", "-p", "udp", "-m", "comment", "--comment", "arriving"]);
      run(ns, ["iptables", "-A", "INPUT", "-p", "udp", "-m", "statistic", "--mode", "random", "--probability", p, "-j", "DROP"]);
    } else if (rule.peers !== undefined) {
      for (const peer of rule.peers) {
        run(ns, ["iptables", "-A", "INPUT", "-p", "udp", "-s", ip(peer), "-j", "DROP"]);
        run(ns, ["iptables", "-A", "OUTPUT", "-p", "udp", "-d", ip(peer), "-j", "DROP"]);
      }
    } else {
      run(ns, ["iptables", "-A", "INPUT", "-p", "udp", "-j", "DROP"]);
      run(ns, ["iptables", "-A", "OUTPUT", "-p", "udp", "-j", "DROP"]);
    }
    return;
  }
  run(ns, ["nft", "add", "table", "inet", "chaos"]);
  run(ns, ["nft", "add", "chain", "inet", "chaos", "in", "{ type filter hook input priority 0; }"]);
  run(ns, ["nft", "add", "chain", "inet", "chaos", "out", "{ type filter hook output priority 0; }"]);
  if (rule.probability !== undefined) {
    const percent = Math.round(rule.probability * 100);
    run(ns, ["nft", "add", "rule", "inet", "chaos", "in", "meta", "l4proto", "udp", "counter", "comment", '"arriving"']);
    run(ns, ["nft", "add", "rule", "inet", "chaos", "in", "meta", "l4proto", "udp", "numgen", "random", "mod", "100", "<", String(percent), "counter", "drop"]);
  } else if (rule.peers !== undefined) {
    for (const peer of rule.peers) {
      run(ns, ["nft", "add", "rule", "inet", "chaos", "in", "ip", "saddr", ip(peer), "meta", "l4proto", "udp", "drop"]);
      run(ns, ["nft", "add", "rule", "inet", "chaos", "out", "ip", "daddr", ip(peer), "meta", "l4proto", "udp", "drop"]);
    }
  } else {
    run(ns, ["nft", "add", "rule", "inet", "chaos", "in", "meta", "l4proto", "udp", "drop"]);
    run(ns, ["nft", "add", "rule", "inet", "chaos", "out", "meta", "l4proto", "udp", "drop"]);
  }
}

/** Removes every rule this driver put in `id`'s namespace. */
function unblock(id: string): void {
  const ns = namespace(id);
  if (FW === "iptables") {
    run(ns, ["iptables", "-F", "INPUT"]);
    run(ns, ["iptables", "-F", "OUTPUT"]);
  } else {
    try {
      run(ns, ["nft", "delete", "table", "inet", "chaos"]);
    } catch {
      // No table: nothing was blocked.
    }
  }
}

/** Datagrams dropped by the random rule in `id`'s namespace, and all that arrived. */
function lossCounters(id: string): { dropped: number; seen: number } {
  if (FW === "nft") {
    const rules = run(namespace(id), ["nft", "list", "chain", "inet", "chaos", "in"]).split("\n");
    const packets = (rule: string | undefined): number => Number(/counter packets (\d+)/.exec(rule ?? "")?.[1] ?? NaN);
    return {
      dropped: packets(rules.find((l) => l.includes("numgen"))),
      seen: packets(rules.find((l) => l.includes("arriving"))),
    };
  }
  const lines = run(namespace(id), ["iptables", "-L", "INPUT", "-v", "-x", "-n"]).split("\n");
  const packets = (marker: string): number =>
    Number(lines.find((l) => l.includes(marker))?.trim().split(/\s+/)[0] ?? Number.NaN);
  return { dropped: packets("statistic"), seen: packets("arriving") };
}

async function main(): Promise<void> {
  log(`${NODES} nodes, firewall ${FW}, gossip interval ${INTERVAL_MS} ms`);
  await waitFor("every node answering HTTP", 60_000, async () => [...(await states()).values()].every((s) => s));
  const converge = await waitFor("a converged cluster", 60_000, allLive);
  log(`converged in ${(converge / 1000).toFixed(1)} s`);

  // 1. Cut one host off: declared dead by all others, live again after healing.
  const cut = ids[2];
  const others = ids.filter((id) => id !== cut);
  block(cut, {});
  log(`cut ${cut} off (all its UDP dropped)`);
  const detect = await waitFor(`${cut} dead for everyone else`, 60_000, async () => {
    const views = await states(others);
    return [...views.values()].every((s) => s !== undefined && s.dead.includes(cut) && !s.live.includes(cut));
  });
  log(`${cut} declared dead by ${others.join(", ")} after ${(detect / 1000).toFixed(1)} s`);
  unblock(cut);
  const back = await waitFor(`${cut} live again everywhere`, 60_000, allLive);
  log(`healed: ${cut} live again everywhere after ${(back / 1000).toFixed(1)} s`);

  // 2. Split 2/3, write keys on both sides, heal: both sides merge with every key.
  const small = ids.slice(0, 2);
  const large = ids.slice(2);
  for (const id of small) block(id, { peers: large });
  for (const id of large) block(id, { peers: small });
  log(`split {${small}} | {${large}}`);
  await waitFor("each side declaring the other dead", 60_000, async () => {
    const views = await states();
    return ids.every((id) => {
      const s = views.get(id);
      const otherSide = small.includes(id) ? large : small;
      return s !== undefined && otherSide.every((o) => !s.live.includes(o));
    });
  });
  const written = new Map<string, string>();
  for (const id of ids) {
    const value = `written-during-split-by-${id}-${Date.now()}`;
    await put(id, "split", value);
    written.set(id, value);
  }
  log("each side declared the other dead; every node wrote key 'split' during the split");
  for (const id of ids) unblock(id);
  const merged = await waitFor("a merged cluster with every key everywhere", 90_000, async () => {
    const views = await states();
    return [...views.values()].every((s) =>
      s !== undefined && sorted(s.live) === sorted(ids) &&
      ids.every((owner) => s.nodes.find((n) => n.nodeId === owner)?.keyValues.split === written.get(owner))
    );
  });
  log(`healed: both sides merged, all ${ids.length} 'split' keys on every node, after ${(merged / 1000).toFixed(1)} s`);

  // 3. 30 % of datagrams dropped at random on arrival at every node: no false death.
  for (const id of ids) block(id, { probability: 0.3 });
  log(`dropping 30 % of arriving UDP on every node for ${LOSS_SECONDS} s`);
  const lossStart = performance.now();
  let polls = 0;
  let unanswered = 0;
  for (let i = 0; i < 100_000 && performance.now() - lossStart < LOSS_SECONDS * 1000; i++) {
    const views = await states();
    for (const [id, s] of views) {
      if (s === undefined) {
        unanswered++;
        continue;
      }
      if (sorted(s.live) !== sorted(ids) || s.dead.length > 0) {
        fail(`false death under 30 % loss after ${((performance.now() - lossStart) / 1000).toFixed(1)} s: ` +
          `${id} sees live=[${s.live}] dead=[${s.dead}]`);
      }
    }
    polls++;
    await sleep(500);
  }
  if (unanswered > polls) fail(`${unanswered} state requests unanswered in ${polls} polls`);
  const counters = ids.map(lossCounters);
  const dropped = counters.reduce((a, c) => a + c.dropped, 0);
  const seen = counters.reduce((a, c) => a + c.seen, 0);
  const share = Number.isNaN(dropped) ? "n/a" : `${((100 * dropped) / seen).toFixed(1)} % of ${seen}`;
  log(`no false death in ${LOSS_SECONDS} s under loss (${polls} polls of ${NODES} nodes; dropped ${share} datagrams)`);
  for (const id of ids) unblock(id);
  log("PASSED");
}

await main();
