import { test } from "node:test";
import assert from "node:assert/strict";
import {
  type AddressInput,
  formatAddress,
  isIPv4,
  isIPv6,
  normalizeAddress,
  parseAddress,
} from "../src/core/address.ts";

test("parseAddress() splits an IPv4 address", () => {
  assert.deepEqual(parseAddress("127.0.0.1:10000"), { hostname: "127.0.0.1", port: 10000 });
  assert.deepEqual(parseAddress("0.0.0.0:0"), { hostname: "0.0.0.0", port: 0 });
  assert.deepEqual(parseAddress("255.255.255.255:65535"), {
    hostname: "255.255.255.255",
    port: 65535,
  });
});

test("parseAddress() unbrackets an IPv6 address", () => {
  assert.deepEqual(parseAddress("[::1]:7000"), { hostname: "::1", port: 7000 });
  assert.deepEqual(parseAddress("[::]:0"), { hostname: "::", port: 0 });
  assert.deepEqual(parseAddress("[fe80::1%eth0]:1"), { hostname: "fe80::1%eth0", port: 1 });
  assert.deepEqual(parseAddress("[::ffff:127.0.0.1]:2"), { hostname: "::ffff:127.0.0.1", port: 2 });
});

test("parseAddress() writes IPv6 hosts in RFC 5952 form", () => {
  const cases: Array<[string, string]> = [
    ["[0:0:0:0:0:0:0:1]:1", "::1"],
    ["[FE80::ABCD]:1", "fe80::abcd"],
    ["[2001:0db8:0000:0000:0000:0000:0000:0001]:1", "2001:db8::1"],
    ["[2001:db8:0:0:1:0:0:1]:1", "2001:db8::1:0:0:1"],
    ["[2001:db8:0:1:1:1:1:1]:1", "2001:db8:0:1:1:1:1:1"],
    ["[1:0:0:2:0:0:0:3]:1", "1:0:0:2::3"],
    ["[::FFFF:7f00:1]:1", "::ffff:127.0.0.1"],
    ["[1:2:3:4:5:6:7::]:1", "1:2:3:4:5:6:7:0"],
  ];
  for (const [input, hostname] of cases) {
    assert.equal(parseAddress(input).hostname, hostname, input);
  }
});

test("parseAddress() keeps host names as written", () => {
  assert.deepEqual(parseAddress("localhost:7000"), { hostname: "localhost", port: 7000 });
  assert.deepEqual(parseAddress("node-1.cluster.local:1"), {
    hostname: "node-1.cluster.local",
    port: 1,
  });
  assert.deepEqual(parseAddress("_gossip.example.com.:2"), {
    hostname: "_gossip.example.com.",
    port: 2,
  });
  assert.deepEqual(parseAddress("Node7:3"), { hostname: "Node7", port: 3 });
});

test("parseAddress() reads the object form, bracketed or not", () => {
  assert.deepEqual(parseAddress({ hostname: "10.0.0.1", port: 5 }), {
    hostname: "10.0.0.1",
    port: 5,
  });
  assert.deepEqual(parseAddress({ hostname: "::1", port: 6 }), { hostname: "::1", port: 6 });
  assert.deepEqual(parseAddress({ hostname: "[::1]", port: 7 }), { hostname: "::1", port: 7 });
  assert.deepEqual(parseAddress({ hostname: "example.com", port: 8 }), {
    hostname: "example.com",
    port: 8,
  });
});

test("parseAddress() returns only hostname and port from a wider object", () => {
  const netAddr = { transport: "udp", hostname: "127.0.0.1", port: 9 };
  assert.deepEqual(parseAddress(netAddr), { hostname: "127.0.0.1", port: 9 });
});

test("parseAddress() refuses malformed strings with a TypeError quoting them", () => {
  const malformed = [
    "",
    "host",
    "1.2.3.4:99999",
    "1.2.3.4:65536",
    ":80",
    "::1:80",
    "[::1]80",
    "[::1]:",
    "[::1",
    "[1.2.3.4]:80",
    "[::1]:80:90",
    "a b:1",
    " 1.2.3.4:80",
    "host:",
    "host:port",
    "host:0x50",
    "host:+80",
    "host:-1",
    "host:1e3",
    "host:123456",
    "1.2.3.999:80",
    "01.2.3.4:80",
    "-host:1",
    "host-:1",
    "a..b:1",
    `${"a".repeat(64)}:1`,
    "[1::2::3]:1",
    "[:::]:1",
    "[1::2:]:1",
    "[:1::]:1",
    "[1:2:3:4:5:6:7:8:9]:1",
    "[1:2:3:4:5:6:7]:1",
    "[12345::]:1",
    "[::1%]:1",
    "[::1%a b]:1",
  ];
  for (const input of malformed) {
    assert.throws(
      () => parseAddress(input),
      (error: unknown) => {
        assert.ok(error instanceof TypeError, `${JSON.stringify(input)} threw ${String(error)}`);
        assert.ok(
          error.message.includes(JSON.stringify(input)),
          `message ${error.message} quotes the input`,
        );
        return true;
      },
      JSON.stringify(input),
    );
  }
});

test("parseAddress() refuses malformed objects with a TypeError naming the bad field", () => {
  const cases: Array<[unknown, string]> = [
    [{ hostname: "a", port: 1.5 }, "1.5"],
    [{ hostname: "a", port: Number.NaN }, "NaN"],
    [{ hostname: "a", port: -1 }, "-1"],
    [{ hostname: "a", port: 70000 }, "70000"],
    [{ hostname: "a", port: "80" }, '"80"'],
    [{ hostname: "a", port: 1n }, "1n"],
    [{ hostname: 1, port: 1 }, "hostname: 1"],
    [{ hostname: "", port: 1 }, '""'],
    [{ hostname: "[example.com]", port: 1 }, '"[example.com]"'],
    [{ hostname: "a b", port: 1 }, '"a b"'],
    [{ port: 1 }, "undefined"],
  ];
  for (const [input, named] of cases) {
    assert.throws(
      () => parseAddress(input as AddressInput),
      (error: unknown) => {
        assert.ok(error instanceof TypeError);
        assert.ok(error.message.includes(named), `message ${error.message} names ${named}`);
        return true;
      },
    );
  }
});

test("parseAddress() refuses non-string, non-object inputs with a TypeError", () => {
  for (const input of [null, undefined, 80, true]) {
    assert.throws(() => parseAddress(input as unknown as AddressInput), TypeError);
  }
});

test("formatAddress() brackets IPv6 hosts only", () => {
  assert.equal(formatAddress({ hostname: "::1", port: 7000 }), "[::1]:7000");
  assert.equal(formatAddress({ hostname: "127.0.0.1", port: 1 }), "127.0.0.1:1");
  assert.equal(formatAddress({ hostname: "localhost", port: 0 }), "localhost:0");
});

test("normalizeAddress() returns one canonical string for equivalent inputs", () => {
  const canonical = "[2001:db8::1]:7000";
  for (
    const input of [
      "[2001:db8::1]:7000",
      "[2001:DB8:0:0:0:0:0:1]:7000",
      "[2001:db8::1]:07000",
      { hostname: "2001:db8::1", port: 7000 },
      { hostname: "[2001:0db8::0001]", port: 7000 },
    ]
  ) {
    assert.equal(normalizeAddress(input), canonical, JSON.stringify(input));
  }
  assert.equal(normalizeAddress("127.0.0.1:80"), "127.0.0.1:80");
  assert.equal(normalizeAddress({ hostname: "localhost", port: 1 }), "localhost:1");
});

test("normalizeAddress() is a fixed point on its own output", () => {
  for (const input of ["[::ffff:10.0.0.1]:1", "[fe80::1%eth0]:2", "10.0.0.1:3", "my-host:4"]) {
    const once = normalizeAddress(input);
    assert.equal(normalizeAddress(once), once);
  }
});

test("normalizeAddress() throws like parseAddress()", () => {
  assert.throws(() => normalizeAddress("::1:80"), /"::1:80"/);
});

test("isIPv4() and isIPv6() recognise literals only", () => {
  assert.equal(isIPv4("10.1.2.3"), true);
  assert.equal(isIPv4("10.1.2"), false);
  assert.equal(isIPv4("256.1.2.3"), false);
  assert.equal(isIPv6("::"), true);
  assert.equal(isIPv6("::1.2.3.4"), true);
  assert.equal(isIPv6("1.2.3.4::"), false);
  assert.equal(isIPv6("localhost"), false);
  assert.equal(isIPv6("[::1]"), false);
});
