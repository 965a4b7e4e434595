// A node that was itself paused (its process suspended or starved: no round
// and no message for several gossip intervals) must not take the pause for
// silence of the others, and must still detect a node that really died.
import { test } from "node:test";
import assert from "node:assert/strict";
import { FailureDetector } from "../src/core/failure_detector.ts";
import { LocalPauses } from "../src/core/local_pause.ts";
import { CoreNetwork } from "../src/testing/core_network.ts";
import {
  createNode,
  gossipRounds,
  recordingLogger,
  recordMembership,
  soloRound,
  testCluster,
} from "./_helpers.ts";

const ROUND_MS = 1000;
const FD = { initialIntervalMs: ROUND_MS, deadNodeGracePeriodMs: 600_000 };

test("FailureDetector.discountPause() leaves phi where it was before the pause and samples no interval for it", () => {
  const fd = new FailureDetector({ initialIntervalMs: 1000 });
  for (let t = 0; t <= 10_000; t += 1000) fd.reportHeartbeat("a", t);
  const before = fd.phi("a", 10_500)!;
  fd.discountPause(60_000);
  assert.equal(fd.phi("a", 70_500), before);
  assert.equal(fd.isAlive("a", 70_500), true);
  // The next heartbeat samples 1 s, not 61 s: phi keeps its scale.
  fd.reportHeartbeat("a", 71_000);
  assert.equal(fd.phi("a", 71_500), before);
  // A node that stays silent after the pause still dies.
  assert.equal(fd.isAlive("a", 90_000), false);
  // Nothing to discount: no change.
  fd.discountPause(0);
  fd.discountPause(-5);
  assert.equal(fd.phi("a", 71_500), before);
});

test("a node paused for a minute keeps the others live on waking, warns, counts it, and still detects one that died meanwhile", () => {
  const logger = recordingLogger();
  const nodes = testCluster(4, { firstPort: 11_000, failureDetector: FD, logger });
  const [sleeper, , , victim] = nodes;
  let now = gossipRounds(nodes, 0, 8);
  assert.equal(sleeper.liveNodes().length, 4);
  const events = recordMembership(sleeper);
  // The sleeper is suspended for 60 s (it runs nothing and receives nothing);
  // the victim dies when the pause begins; the other two go on gossiping.
  now = gossipRounds(nodes, now, 60, { mtu: 65_507, active: (node) => node !== sleeper && node !== victim });
  // On waking, its first input is its overdue round.
  soloRound(sleeper, now + 1);
  assert.deepEqual(
    events.filter((e) => e.type === "died"),
    [],
    "nobody is declared dead for the sleeper's own pause",
  );
  assert.equal(sleeper.localPauses, 1);
  const warning = logger.warnings.find((w) => w.startsWith("This node was paused for"));
  assert.ok(warning?.includes("gossip interval 1000 ms"), `warning: ${warning}`);
  // Back in the cluster: the two that kept gossiping stay live; the victim,
  // silent since before the pause, dies within the detector's usual time.
  let after = 0;
  now += 1;
  while (sleeper.status(victim.id) === "live") {
    now = gossipRounds(nodes, now, 1, { mtu: 65_507, active: (node) => node !== victim });
    after++;
    assert.ok(after <= 20, `the victim is still live ${after} rounds after the pause`);
  }
  assert.deepEqual(events.map((e) => `${e.type} ${e.node.nodeId}`), ["died n3"]);
  assert.equal(sleeper.status(nodes[1].id), "live");
  assert.equal(sleeper.status(nodes[2].id), "live");
  assert.equal(sleeper.localPauses, 1, "rounds on time are no pause");
});

test("a node cut off from the network still runs its rounds, so it sees the others die and counts no pause", () => {
  const nodes = testCluster(3, { firstPort: 11_000, failureDetector: FD });
  const [cut] = nodes;
  let now = gossipRounds(nodes, 0, 8);
  const events = recordMembership(cut);
  for (let i = 0; i < 30; i++) {
    now += ROUND_MS;
    soloRound(cut, now);
  }
  assert.deepEqual(events.map((e) => `${e.type} ${e.node.nodeId}`).sort(), ["died n1", "died n2"]);
  assert.equal(cut.localPauses, 0);
});

test("a late round counts as a pause only past two gossip intervals with no input", () => {
  const nodes = testCluster(2, { firstPort: 11_000, failureDetector: FD });
  const [a] = nodes;
  let now = gossipRounds(nodes, 0, 5);
  // Due at now + 1 000: 1 000 ms late, two intervals after the last input.
  now += 2 * ROUND_MS;
  soloRound(a, now);
  assert.equal(a.localPauses, 0, "two intervals since the last input is no pause");
  now += 2 * ROUND_MS + 1;
  soloRound(a, now);
  assert.equal(a.localPauses, 1);
});

test("waiting out a leave with no round due is no pause", () => {
  const logger = recordingLogger();
  const nodes = testCluster(2, { firstPort: 11_000, failureDetector: FD, logger });
  const [a] = nodes;
  const now = gossipRounds(nodes, 0, 5);
  a.leave(now, 10 * ROUND_MS);
  soloRound(a, a.pollTimeout()!);
  assert.equal(a.localPauses, 0);
  assert.deepEqual(logger.warnings.filter((w) => w.startsWith("This node was paused")), []);
});

test("a died event from failure detection says how long the node was silent", () => {
  const nodes = testCluster(3, { firstPort: 11_000, failureDetector: FD });
  const [a, , victim] = nodes;
  let now = gossipRounds(nodes, 0, 8);
  const events = recordMembership(a);
  const lastHeard = now;
  while (a.status(victim.id) === "live") {
    now = gossipRounds(nodes, now, 1, { mtu: 65_507, active: (node) => node !== victim });
    assert.ok(now < 60_000);
  }
  // The victim was last heard of during the 8 shared rounds (through a peer at most one round later).
  const died = events.find((e) => e.type === "died");
  assert.ok(died?.silentMs !== undefined, `event: ${JSON.stringify(died)}`);
  assert.ok(
    died.silentMs >= now - lastHeard - ROUND_MS && died.silentMs <= now - lastHeard + ROUND_MS,
    `silentMs ${died.silentMs}, ${now - lastHeard} ms since the victim stopped`,
  );
  // A revival carries no silence.
  gossipRounds(nodes, now, 4);
  assert.equal(events.find((e) => e.type === "revived")?.silentMs, undefined);
});

test("with a short interval, a stall of a few intervals is a pause (a 250 ms stall matters at 100 ms)", () => {
  const node = createNode("quick", 11_100, { gossipIntervalMs: 100 });
  let now = 0;
  soloRound(node, now);
  now += 200; // two intervals: a late timer, no pause
  soloRound(node, now);
  assert.equal(node.localPauses, 0);
  now += 250;
  soloRound(node, now);
  assert.equal(node.localPauses, 1);
});

test("the first input only sets the baseline: a core driven long after it was built was not paused", () => {
  const logger = recordingLogger();
  const node = createNode("late", 11_200, { gossipIntervalMs: ROUND_MS, logger });
  soloRound(node, 600_000);
  soloRound(node, 601_000);
  assert.equal(node.localPauses, 0);
  assert.deepEqual(logger.warnings, []);
});

test("pauses are all counted, but warned about once a minute at most, with the number left unwarned", () => {
  const logger = recordingLogger();
  const node = createNode("starved", 11_300, { gossipIntervalMs: ROUND_MS, logger });
  let now = 0;
  soloRound(node, now);
  for (let i = 0; i < 5; i++) {
    now += 5 * ROUND_MS; // a 5 s stall every 5 s
    soloRound(node, now);
  }
  assert.equal(node.localPauses, 5);
  const pauseWarnings = () => logger.warnings.filter((w) => w.startsWith("This node was paused"));
  assert.equal(pauseWarnings().length, 1);
  now += 60_000;
  soloRound(node, now);
  assert.equal(node.localPauses, 6);
  assert.equal(pauseWarnings().length, 2);
  assert.match(pauseWarnings()[1], /paused for 60000 ms .*\(4 shorter or earlier pause\(s\) since the last warning\)/);
});

test("LocalPauses: times that go back are no gap, a quiet wait during a leave moves the baseline, the bound is exclusive", () => {
  const pauses = new LocalPauses(1000);
  assert.equal(pauses.observe(10_000, true), 0);
  assert.equal(pauses.observe(9_000, true), 0, "an earlier time");
  assert.equal(pauses.observe(12_000, true), 0, "exactly two intervals");
  assert.equal(pauses.observe(30_000, false), 0, "a leave under way");
  assert.equal(pauses.observe(31_000, true), 0, "measured from the leave's input");
  assert.equal(pauses.observe(33_001, true), 1_001);
  assert.equal(pauses.count, 1);
  assert.throws(() => new LocalPauses(0), /intervalMs must be a positive number, got 0/);
});

test("at a 100 ms interval, a node stalled for 950 ms declares nobody dead on waking (the default detector)", () => {
  const nodes = Array.from({ length: 4 }, (_, i) =>
    createNode(`q${i}`, 12_000 + i, { gossipIntervalMs: 100 })
  );
  const [sleeper] = nodes.slice(3);
  for (const node of nodes) node.setSeeds([nodes[0].id.gossipAdvertiseAddr]);
  const network = new CoreNetwork();
  for (const node of nodes) network.add(node);
  let now = network.runUntil(120_000);
  assert.ok(nodes.every((node) => node.liveNodes().length === 4));
  // The other three go on without it for 950 ms; it runs nothing and hears nothing.
  const awake = new CoreNetwork({ admit: (_m, _from, to) => to !== sleeper.id.gossipAdvertiseAddr });
  for (const node of nodes.slice(0, 3)) awake.add(node);
  now = awake.runUntil(now + 950);
  const events = recordMembership(sleeper);
  soloRound(sleeper, now); // its overdue round, then its events
  assert.deepEqual(events.filter((e) => e.type === "died"), [], "nobody is declared dead for the sleeper's own stall");
  assert.deepEqual(nodes.slice(0, 3).map((node) => sleeper.status(node.id)), ["live", "live", "live"]);
  assert.equal(sleeper.localPauses, 1);
});
