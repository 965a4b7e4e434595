/**
 * The chaos scenarios of `scripts/chaos_netns.sh`, run inside its hub
 * namespace against the example nodes it started (one per namespace, HTTP
 * API on 10.77.0.N:8000, gossip sealed with the key files in LOGS/keys, seeded
 * only by the DNS name seeds.chaos.test that the script's dnsmasq serves):
 *
 * 0. the nodes join through the seed name (its three addresses are their seeds);
 * 1. cut one host off; 2. split the cluster 2/3; 3. drop 30 % of the datagrams;
 * 4. rotate the cluster keys on every host, one host after the other, in three
 *    steps: [K1] -> [K1, K2] -> [K2, K1] -> [K2], each step done on all hosts
 *    before the next. No false death at any time, and no auth failure in any
 *    step: every host can open what every other seals throughout. The only
 *    datagrams that could fail are ones sealed under K1 and still in flight
 *    when a host drops K1 in step 3 (none are expected: every host seals with
 *    K2 from step 2 on); the driver allows at most 5 there. Then a Syn sealed
 *    under K2 is sent twice from the hub: the first is answered, the copy is
 *    refused as a replay; one sealed under K1 is refused as unauthenticated;
 * 5. change the seed record: every node follows it at its next refresh;
 * 6. stop the DNS server: gossip goes on with the last known addresses, every
 *    round runs, and each node warns once that the name stopped resolving.
 * The name missing.chaos.test never resolves: each node warns about it once.
 * Firewall rules go only into the nodes' namespaces. Every wait has a
 * deadline; the process exits 0 when every check passed.
 *
 *   deno run -A scripts/chaos_driver.ts --tag TAG --nodes 5 --fw iptables|nft --logs DIR \
 *     --pids n1=PID,... --dns-pid PID [--loss-seconds 120] [--seed-refresh-ms 2000]
 * @module
 */

import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import process from "node:process";
import { parseArgs } from "node:util";
import { openUdpSocket } from "../src/adapters/open.ts";
import { encodeMessage } from "../src/core/codec.ts";
import { generateClusterKey, Keyring } from "../src/runtime/keyring.ts";

const { values } = parseArgs({
  options: {
    tag: { type: "string" },
    nodes: { type: "string", default: "5" },
    fw: { type: "string", default: "iptables" },
    "loss-seconds": { type: "string", default: "120" },
    "interval-ms": { type: "string", default: "500" },
    "seed-refresh-ms": { type: "string", default: "2000" },
    logs: { type: "string" },
    pids: { type: "string" },
    "dns-pid": { type: "string" },
  },
});
const TAG = values.tag ?? fail("--tag is required");
const NODES = Number(values.nodes);
const FW = values.fw === "nft" ? "nft" : "iptables";
const LOSS_SECONDS = Number(values["loss-seconds"]);
const INTERVAL_MS = Number(values["interval-ms"]);
const SEED_REFRESH_MS = Number(values["seed-refresh-ms"]);
const LOGS = values.logs ?? fail("--logs is required");
const PIDS = new Map((values.pids ?? fail("--pids is required")).split(",").map((pair) => {
  const [id, pid] = pair.split("=");
  return [id, Number(pid)] as const;
}));
const DNS_PID = Number(values["dns-pid"] ?? fail("--dns-pid is required"));
const SEED_NAME = "seeds.chaos.test";
const MISSING_NAME = "missing.chaos.test";
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

interface ApiStats {
  authFailures: number;
  replays: number;
  rounds: number;
  datagramsIn: number;
  seeds: string[];
}

/** Every node's counters and seeds; retried a few times, fatal when a node does not answer. */
async function allStats(): Promise<Map<string, ApiStats>> {
  const result = new Map<string, ApiStats>();
  for (const id of ids) {
    for (let attempt = 0; attempt < 5 && !result.has(id); attempt++) {
      try {
        const response = await fetch(`http://${ip(id)}:8000/api/stats`, { signal: AbortSignal.timeout(2_000) });
        if (response.ok) result.set(id, await response.json() as ApiStats);
        else await response.body?.cancel();
      } catch {
        await sleep(250);
      }
    }
    if (!result.has(id)) fail(`${id} did not answer GET /api/stats`);
  }
  return result;
}

/** Per node, `field` of `after` minus `field` of `before`. */
function delta(before: Map<string, ApiStats>, after: Map<string, ApiStats>, field: "authFailures" | "replays" | "rounds"): Map<string, number> {
  return new Map(ids.map((id) => [id, after.get(id)![field] - before.get(id)![field]]));
}

function total(counts: Map<string, number>): number {
  return [...counts.values()].reduce((a, b) => a + b, 0);
}

function describe(counts: Map<string, number>): string {
  return ids.map((id) => `${id} ${counts.get(id)}`).join(", ");
}

/** Fails at once on a false death: every node must see every node live, and none dead. */
async function assertAllLive(what: string): Promise<void> {
  const all = sorted(ids);
  for (const [id, s] of await states()) {
    if (s === undefined) continue;
    if (sorted(s.live) !== all || s.dead.length > 0) fail(`false death ${what}: ${id} sees live=[${s.live}] dead=[${s.dead}]`);
  }
}

/** Polls the cluster every 250 ms for `ms`, failing on any false death. */
async function watchAllLive(ms: number, what: string): Promise<void> {
  const start = performance.now();
  for (let i = 0; i < 10_000 && performance.now() - start < ms; i++) {
    await assertAllLive(what);
    await sleep(250);
  }
}

/** The lines of `id`'s log (its stdout and stderr). */
function logLines(id: string): string[] {
  return readFileSync(`${LOGS}/${id}.log`, "utf8").split("\n");
}

function count(lines: readonly string[], pattern: RegExp): number {
  return lines.filter((line) => pattern.test(line)).length;
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return sorted(a) === sorted(b);
}

function seedsOf(hosts: readonly number[]): string[] {
  return hosts.map((n) => `10.77.0.${n}:7000`);
}

/** Serves `hosts` as the seed name's A records (dnsmasq rereads its hosts file on SIGHUP). */
function setSeedRecord(hosts: readonly number[]): void {
  writeFileSync(`${LOGS}/seeds.hosts`, hosts.map((n) => `10.77.0.${n} ${SEED_NAME}\n`).join(""));
  process.kill(DNS_PID, "SIGHUP");
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

  // 0. Joined through the seed name: its three addresses are every node's seeds.
  const firstRecord = seedsOf([1, 2, 3]);
  await waitFor(`every node seeded by the 3 addresses of ${SEED_NAME}`, 30_000, async () => {
    const stats = await allStats();
    return ids.every((id) => sameSet(stats.get(id)!.seeds, firstRecord));
  });
  log(`joined through ${SEED_NAME} alone: every node's seeds are ${firstRecord.join(", ")}`);

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
  const beforeRotation = await allStats();
  const earlier = new Map(ids.map((id) => [id, beforeRotation.get(id)!.authFailures]));
  if (total(earlier) > 0) fail(`auth failures before the key rotation: ${describe(earlier)}`);
  const replaysEarly = new Map(ids.map((id) => [id, beforeRotation.get(id)!.replays]));
  if (total(replaysEarly) > 0) fail(`genuine datagrams taken for replays: ${describe(replaysEarly)}`);
  log("no auth failure and no replay counted in phases 0 to 3");

  const retired = await rotateKeys();
  await replayProbe(retired);
  await followSeedRecord();
  const { replays } = await stopDnsServer();

  // The name that never resolves: retried at every refresh, warned about once per node.
  for (const id of ids) {
    const warnings = count(logLines(id), new RegExp(`Seed ${MISSING_NAME}:7000 did not resolve`));
    if (warnings !== 1) fail(`${id} warned ${warnings} times about ${MISSING_NAME}; expected once`);
  }
  log(`${MISSING_NAME} (NXDOMAIN) warned about exactly once per node over the whole run`);
  // The probe's copy is the only replay there was: no genuine datagram was taken for one.
  if (replays !== 1) fail(`${replays} replays counted over the whole run; only the probe's copy was one`);
  log("no genuine datagram taken for a replay in the whole run (1 replay counted: the probe's copy)");
  log("PASSED");
}

/** 4. Rolling rotation in three steps, one host after the other; auth failures counted per step. */
async function rotateKeys(): Promise<string> {
  const k1 = readFileSync(`${LOGS}/keys/n1.keys`, "utf8").trim();
  const k2 = generateClusterKey();
  const steps: Array<[string, string[], number]> = [
    ["[K1] -> [K1, K2]", [k1, k2], 0],
    ["[K1, K2] -> [K2, K1]", [k2, k1], 0],
    ["[K2, K1] -> [K2]", [k2], 5],
  ];
  for (const [index, [name, keys, allowed]] of steps.entries()) {
    const before = await allStats();
    const start = performance.now();
    for (const id of ids) {
      const loaded = count(logLines(id), /SIGHUP: \d+ cluster key\(s\) loaded/);
      writeFileSync(`${LOGS}/keys/${id}.keys`, keys.join("\n") + "\n");
      process.kill(PIDS.get(id)!, "SIGHUP");
      await waitFor(`${id} loading the keys of step ${index + 1}`, 10_000, async () => {
        await assertAllLive(`during rotation step ${index + 1}`);
        return count(logLines(id), /SIGHUP: \d+ cluster key\(s\) loaded/) > loaded;
      });
      await watchAllLive(2 * INTERVAL_MS, `during rotation step ${index + 1}`);
    }
    await watchAllLive(4 * INTERVAL_MS, `after rotation step ${index + 1}`);
    const failures = delta(before, await allStats(), "authFailures");
    log(`rotation step ${index + 1} ${name} on all ${NODES} hosts in ${((performance.now() - start) / 1000).toFixed(1)} s: ` +
      `no false death, auth failures ${total(failures)} (${describe(failures)})`);
    if (total(failures) > allowed) fail(`${total(failures)} auth failures in rotation step ${index + 1}; at most ${allowed} allowed`);
  }
  return k1;
}

/** A genuine Syn sealed under the current key, sent twice from the hub; one sealed under the retired key. */
async function replayProbe(retiredKey: string): Promise<void> {
  const keys = readFileSync(`${LOGS}/keys/n1.keys`, "utf8").trim().split("\n");
  const ring = new Keyring(keys, { clusterId: "default" });
  const retired = new Keyring([retiredKey], { clusterId: "default" });
  const socket = await openUdpSocket("10.77.0.254:0");
  let answers = 0;
  socket.listen((data) => void ring.open(data).then((plain) => plain !== undefined && answers++));
  try {
    const syn = await ring.seal(encodeMessage({ type: "syn", clusterId: "default", digest: [], partialDigest: false }));
    const target = `${ip("n1")}:7000`;
    const before = (await allStats()).get("n1")!;
    await socket.send(syn, target);
    await waitFor("an answer to the genuine Syn", 5_000, () => Promise.resolve(answers === 1));
    await socket.send(syn, target);
    await socket.send(await retired.seal(encodeMessage({ type: "syn", clusterId: "default", digest: [], partialDigest: false })), target);
    await sleep(2_000);
    const after = (await allStats()).get("n1")!;
    const replays = after.replays - before.replays;
    if (answers !== 1 || replays !== 1) fail(`the copy of a sealed Syn: ${answers} answers, ${replays} replays counted; expected 1 and 1`);
    if (after.authFailures - before.authFailures !== 1) fail("a Syn sealed under the retired key K1 was not refused");
    log("a sealed Syn sent twice from the hub: answered once, the copy dropped as a replay; one sealed under K1 refused");
  } finally {
    await socket.close();
  }
}

/** 5. The seed record changes: every node follows it at its next refresh. */
async function followSeedRecord(): Promise<void> {
  const next = seedsOf([3, 4, 5]);
  setSeedRecord([3, 4, 5]);
  log(`${SEED_NAME} now resolves to ${next.join(", ")}`);
  const followed = await waitFor(`every node following the new ${SEED_NAME} record`, 5 * SEED_REFRESH_MS + 10_000, async () => {
    await assertAllLive("while the seed record changed");
    const stats = await allStats();
    return ids.every((id) => sameSet(stats.get(id)!.seeds, next));
  });
  log(`every node's seeds are the new record after ${(followed / 1000).toFixed(1)} s (refresh every ${SEED_REFRESH_MS / 1000} s)`);
}

/** 6. The DNS server stops: the last known addresses stay seeds, every round runs, one warning per node. */
async function stopDnsServer(): Promise<{ replays: number }> {
  const linesAtStop = new Map(ids.map((id) => [id, logLines(id).length]));
  const before = await allStats();
  process.kill(DNS_PID, "SIGTERM");
  const watchMs = 5 * SEED_REFRESH_MS;
  log(`DNS server stopped; watching for ${watchMs / 1000} s`);
  const start = performance.now();
  await watchAllLive(watchMs, "with the DNS server stopped");
  const elapsed = performance.now() - start;
  const after = await allStats();
  const rounds = delta(before, after, "rounds");
  const expected = Math.floor(elapsed / INTERVAL_MS);
  for (const id of ids) {
    if (!sameSet(after.get(id)!.seeds, seedsOf([3, 4, 5]))) fail(`${id} lost its last known seeds: [${after.get(id)!.seeds}]`);
    if (rounds.get(id)! < 0.8 * expected) fail(`${id} ran ${rounds.get(id)} rounds in ${elapsed.toFixed(0)} ms; expected about ${expected}`);
    const since = logLines(id).slice(linesAtStop.get(id)! - 1);
    const warnings = count(since, new RegExp(`Seed ${SEED_NAME}:7000 did not resolve`));
    if (warnings !== 1) fail(`${id} warned ${warnings} times that ${SEED_NAME} stopped resolving; expected once`);
  }
  log(`gossip went on without DNS: last known seeds kept, rounds ${describe(rounds)} (about ${expected} expected), ` +
    `one warning per node`);
  return { replays: total(new Map(ids.map((id) => [id, after.get(id)!.replays]))) };
}

await main();
