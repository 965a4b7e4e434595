// Structured logging: recordLogger() records, consoleLogger() output, and the
// fields the library's own log calls pass.
import { test } from "node:test";
import assert from "node:assert/strict";
import { consoleLogger, type LogRecord, recordLogger } from "../src/runtime/logger.ts";
import { silentLogger, splitLogArgs } from "../src/core/logger.ts";
import { SimulatedCluster } from "../src/testing/simulated_cluster.ts";

test("recordLogger() hands over level, message, the trailing fields object and the other arguments", () => {
  const records: LogRecord[] = [];
  const logger = recordLogger((record) => records.push(record), { level: "info" });
  logger.debug("dropped", { event: "x" });
  logger.info("plain");
  logger.warn("with fields", { event: "bad_cluster", peer: "b" });
  const error = new Error("boom");
  logger.error("positional", error, 42);
  assert.deepEqual(records, [
    { level: "info", message: "plain", fields: {}, args: [] },
    { level: "warn", message: "with fields", fields: { event: "bad_cluster", peer: "b" }, args: [] },
    { level: "error", message: "positional", fields: {}, args: [error, 42] },
  ]);
  assert.throws(() => recordLogger(() => {}, { level: "loud" as "info" }), /Invalid log level "loud"/);
});

test("splitLogArgs() takes only a plain object as fields, never an Error, array or class instance", () => {
  class Thing {}
  for (const last of [new Error("e"), [1], new Thing(), "s", 1, null, undefined]) {
    assert.deepEqual(splitLogArgs(["x", last]), { fields: {}, rest: ["x", last] });
  }
  const bare = Object.create(null);
  bare.peer = "b";
  assert.equal(splitLogArgs([bare]).fields, bare);
});

test("consoleLogger() prints the message and a field's error, not the fields object", () => {
  const lines: unknown[][] = [];
  const saved = console.warn;
  console.warn = (...args: unknown[]) => void lines.push(args);
  try {
    const logger = consoleLogger({ prefix: "[svc]" });
    const error = new Error("boom");
    logger.warn("Sending failed", { event: "send_error", to: "127.0.0.1:1", error });
    logger.warn("No fields", 7);
    assert.deepEqual(lines, [["[svc] Sending failed", error], ["[svc] No fields", 7]]);
  } finally {
    console.warn = saved;
  }
});

test("an @std/log-shaped logger takes the library's calls unchanged: message first, fields last", async () => {
  // The shape of @std/log's Logger: methods taking (msg, ...args) and keeping the args.
  class StdLogShaped {
    readonly records: Array<{ level: string; msg: string; args: unknown[] }> = [];
    debug(msg: string, ...args: unknown[]): string {
      this.records.push({ level: "DEBUG", msg, args });
      return msg;
    }
    info(msg: string, ...args: unknown[]): string {
      this.records.push({ level: "INFO", msg, args });
      return msg;
    }
    warn(msg: string, ...args: unknown[]): string {
      this.records.push({ level: "WARN", msg, args });
      return msg;
    }
    error(msg: string, ...args: unknown[]): string {
      this.records.push({ level: "ERROR", msg, args });
      return msg;
    }
  }
  const logger = new StdLogShaped();
  const cluster = new SimulatedCluster({ seed: 2 });
  try {
    await cluster.addNode("a", { logger });
    await cluster.addNode("b");
    await cluster.runUntil(() => cluster.converged(), { maxMs: 60_000 });
    const joined = logger.records.find((r) => /^Node b .* joined$/.test(r.msg));
    assert.ok(joined !== undefined, logger.records.map((r) => r.msg).join("\n"));
    assert.equal(joined.level, "INFO");
    assert.deepEqual(joined.args, [{
      event: "node_joined",
      peer: "b",
      generationId: cluster.node("b").id.generationId,
      peerAddr: cluster.address("b"),
    }]);
  } finally {
    await cluster.close();
  }
});

test("the library's important log calls pass fields: joined, died, bad cluster, decode error, duplicate id", async () => {
  const records: LogRecord[] = [];
  const logger = recordLogger((record) => records.push(record));
  const cluster = new SimulatedCluster({ seed: 4 });
  const fields = (event: string) => records.filter((r) => r.fields.event === event).map((r) => r.fields);
  try {
    await cluster.addNode("a", { logger, generationId: 100 });
    await cluster.addNode("b", { logger: silentLogger });
    await cluster.addNode("stranger", { clusterId: "other", logger: silentLogger });
    await cluster.runUntil(() => cluster.liveView("a").length === 2, { maxMs: 60_000 });
    const junk = await cluster.network.open("127.0.0.1:9999");
    await junk.send(new Uint8Array([1, 2, 3]), cluster.address("a"));
    await cluster.advance(5_000);
    await junk.close();
    await cluster.kill("b");
    await cluster.runUntil(() => cluster.liveView("a").length === 1, { maxMs: 120_000 });
    await cluster.addNode("a2", { nodeId: "a", generationId: 200, seedIds: ["a"], logger: silentLogger });
    await cluster.advance(30_000);

    assert.equal(fields("node_joined").filter((f) => f.peer === "b").length, 1);
    assert.equal(fields("node_died").filter((f) => f.peer === "b").length, 1);
    assert.equal(records.find((r) => r.fields.event === "node_died")?.level, "info");
    const badCluster = fields("bad_cluster");
    assert.ok(badCluster.length > 0, "a Syn from the stranger's cluster is logged with fields");
    assert.ok(badCluster.every((f) => f.clusterId === "default"));
    assert.ok(badCluster.some((f) => f.peerClusterId === "other"));
    const decode = fields("decode_error");
    assert.equal(decode.length, 1);
    assert.equal(decode[0].from, "127.0.0.1:9999");
    assert.equal(typeof decode[0].reason, "string");
    const duplicate = fields("duplicate_node_id");
    assert.equal(duplicate.length, 1, records.map((r) => r.message).join("\n"));
    assert.equal(duplicate[0].peer, "a");
    assert.deepEqual([...(duplicate[0].generationIds as number[])].sort(), [100, 200]);
    for (const record of records) assert.equal(typeof record.fields.event, "string", record.message);
  } finally {
    await cluster.close();
  }
});
