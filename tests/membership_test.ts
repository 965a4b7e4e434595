import { test } from "node:test";
import assert from "node:assert/strict";
import { FailureDetector } from "../src/core/failure_detector.ts";
import { Membership } from "../src/core/membership.ts";
import { makeId } from "./_helpers.ts";

const B = makeId("b", 7002);

/** A membership whose node "b" beat every second from 0 to `until`. */
function beating(until: number, grace = 10_000): { fd: FailureDetector; members: Membership } {
  const fd = new FailureDetector({ initialIntervalMs: 1000, deadNodeGracePeriodMs: grace });
  for (let t = 0; t <= until; t += 1000) fd.reportHeartbeat("b", t);
  return { fd, members: new Membership(fd) };
}

test("Membership.evaluate() keeps a node joining until first seen live, then joined, died, revived", () => {
  const fd = new FailureDetector({ initialIntervalMs: 1000, deadNodeGracePeriodMs: 60_000 });
  const members = new Membership(fd);
  fd.reportHeartbeat("b", 0);
  assert.equal(members.evaluate("b", B, 0), undefined);
  assert.equal(members.status("b"), "joining", "one heartbeat: not live, and not dead either");
  fd.reportHeartbeat("b", 1000);
  assert.deepEqual(members.evaluate("b", B, 1000), { type: "joined", node: B });
  assert.equal(members.everLive("b"), true);
  assert.deepEqual(members.evaluate("b", B, 20_000), { type: "died", node: B });
  assert.equal(members.status("b"), "dead");
  fd.reportHeartbeat("b", 21_000);
  fd.reportHeartbeat("b", 22_000);
  assert.deepEqual(members.evaluate("b", B, 22_000), { type: "revived", node: B });
});

test("Membership.evaluate() schedules a node down for half the grace period, and removable() lists it at the end", () => {
  const { members } = beating(3000);
  members.evaluate("b", B, 3000);
  assert.equal(members.status("b"), "live");
  members.evaluate("b", B, 20_000); // dead from 20 s
  assert.equal(members.evaluate("b", B, 25_000), undefined);
  assert.equal(members.status("b"), "dead");
  members.evaluate("b", B, 25_001);
  assert.equal(members.status("b"), "scheduled");
  assert.deepEqual([...members.scheduled], ["b"]);
  assert.deepEqual(members.removable(29_999), []);
  assert.deepEqual(members.removable(30_000), ["b"]);
  members.remove("b");
  assert.equal(members.status("b"), undefined);
  assert.deepEqual([...members.scheduled], []);
});

test("Membership.evaluate() keeps the first time a node went down", () => {
  const { members } = beating(3000);
  members.evaluate("b", B, 3000);
  members.evaluate("b", B, 20_000);
  members.evaluate("b", B, 24_000);
  assert.deepEqual(members.removable(30_000), ["b"], "down since 20 s, not 24 s");
});

test("Membership.evaluate() reports a leave once, and a left node is scheduled and removed like a dead one", () => {
  const { members } = beating(3000);
  members.evaluate("b", B, 3000);
  assert.deepEqual(members.evaluate("b", B, 3500, { left: true }), { type: "left", node: B });
  assert.equal(members.evaluate("b", B, 4000, { left: true }), undefined);
  assert.equal(members.status("b"), "left");
  members.evaluate("b", B, 8501, { left: true });
  assert.equal(members.status("b"), "scheduled");
  assert.equal(
    members.evaluate("b", B, 9000, { left: true }),
    undefined,
    "no second left event once scheduled",
  );
  assert.deepEqual(members.removable(13_500), ["b"]);
});

test("Membership.keysWithStatus() lists nodes by status in the order they were first evaluated", () => {
  const fd = new FailureDetector({ initialIntervalMs: 1000 });
  const members = new Membership(fd);
  members.setSelf("self", false);
  for (const key of ["x", "y"]) members.evaluate(key, makeId(key, 1), 0);
  assert.deepEqual([...members.keysWithStatus("joining")], ["x", "y"]);
  assert.deepEqual([...members.keysWithStatus("live")], ["self"]);
  members.setSelf("self", true);
  assert.deepEqual([...members.keysWithStatus("left")], ["self"]);
});

test("Membership.evaluate() schedules a superseded incarnation at once: withheld, died if it was live, removed after the grace period", () => {
  const { members } = beating(3000);
  assert.deepEqual(members.evaluate("b", B, 3000), { type: "joined", node: B });
  assert.deepEqual(members.evaluate("b", B, 3500, { superseded: true }), { type: "died", node: B });
  assert.equal(members.status("b"), "scheduled");
  assert.ok(members.scheduled.has("b"));
  assert.deepEqual(members.removable(13_499), []);
  assert.deepEqual(members.removable(13_500), ["b"]);
});

test("Membership.evaluate() withholds a node learned from gossip until its heartbeat rises", () => {
  const fd = new FailureDetector({ initialIntervalMs: 1000, deadNodeGracePeriodMs: 60_000 });
  const members = new Membership(fd);
  members.evaluate("b", B, 0, { heartbeat: 40 });
  assert.ok(members.withheld.has("b"), "a dead node learned late is not handed on");
  members.evaluate("b", B, 1000, { heartbeat: 40 });
  assert.ok(members.withheld.has("b"));
  assert.equal(members.status("b"), "joining");
  members.evaluate("b", B, 2000, { heartbeat: 41 });
  assert.ok(!members.withheld.has("b"), "a rising heartbeat: it runs somewhere");
  members.evaluate("b", B, 3000, { heartbeat: 41 });
  assert.ok(!members.withheld.has("b"), "not withheld again");
  members.evaluate("c", makeId("c", 1), 0);
  assert.ok(!members.withheld.has("c"), "without a heartbeat, never withheld for it");
  members.remove("b");
  assert.ok(!members.withheld.has("b"));
});

test("Membership withholds a node whose heartbeat did not rise only once it was known for withholdAfterMs", () => {
  const fd = new FailureDetector({ initialIntervalMs: 1000, deadNodeGracePeriodMs: 60_000 });
  const members = new Membership(fd, { withholdAfterMs: 3000 });
  members.evaluate("b", B, 1000, { heartbeat: 40 });
  members.evaluate("b", B, 3999, { heartbeat: 40 });
  assert.ok(!members.withheld.has("b"), "handed on for its first 3 s");
  members.evaluate("b", B, 4000, { heartbeat: 40 });
  assert.ok(members.withheld.has("b"));
  members.evaluate("b", B, 5000, { heartbeat: 41 });
  assert.ok(!members.withheld.has("b"));
});
