// Hostile replies: declared lengths are claims, not allocations. Every limit of the RESP decoder
// (depth, aggregate length, bulk length, line length) is refused with RedisProtocolError; a child
// process with a 256 MB heap survives hostile inputs; the TCP driver, facing a server that answers
// with them, rejects what it sent, drops that connection and works again on a new one; the HTTP
// driver turns a reply nested too deep into DecodeError.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer as createHttpServer } from "node:http";
import { createServer, type Server, type Socket } from "node:net";
import process from "node:process";
import { fileURLToPath } from "node:url";
import type { RedisReply } from "../src/connection/driver.ts";
import { httpDriver } from "../src/connection/drivers/http.ts";
import { tcpDriver } from "../src/connection/drivers/tcp.ts";
import { DecodeError, RedisConnectionError, RedisProtocolError } from "../src/errors.ts";
import { RespDecoder } from "../src/connection/resp/decode.ts";
import { DEFAULT_RESP_LIMITS } from "../src/connection/resp/limits.ts";
import { decodeChunks } from "./_resp_outcome.ts";
import { scriptCommand } from "./_env.ts";

const encoder = new TextEncoder();
const ascii = (text: string) => encoder.encode(text);

function assertRefused(
  outcome: ReturnType<typeof decodeChunks>,
  limit: string,
  what: string,
): void {
  assert.ok(outcome.thrown instanceof RedisProtocolError, `${what}: got ${String(outcome.thrown)}`);
  assert.ok(outcome.thrown instanceof RedisConnectionError);
  assert.match(outcome.thrown.message, new RegExp(limit), what);
}

// ---- the decoder's limits -------------------------------------------------------------------

test("RespDecoder() default limits: documented values", () => {
  assert.deepStrictEqual({ ...DEFAULT_RESP_LIMITS }, {
    maxDepth: 128,
    maxAggregateLength: 16_777_216,
    maxBulkLength: 536_870_912,
    maxLineLength: 65_536,
  });
});

test("RespDecoder() refuses aggregates declaring more than maxAggregateLength elements", () => {
  for (const type of ["*", "~", ">"]) {
    assertRefused(decodeChunks([ascii(`${type}16777217\r\n`)]), "maxAggregateLength", type);
    // At the limit: accepted, waiting for the elements (nothing is allocated for them yet).
    const atLimit = decodeChunks([ascii(`${type}16777216\r\n:1\r\n`)]);
    assert.equal(atLimit.error, undefined);
    assert.equal(atLimit.partial, true);
  }
  // A map counts its keys and values; an attribute too.
  assertRefused(decodeChunks([ascii("%8388609\r\n")]), "maxAggregateLength", "map");
  assertRefused(decodeChunks([ascii("|8388609\r\n")]), "maxAggregateLength", "attribute");
  assertRefused(
    decodeChunks([ascii("*4\r\n")], { maxAggregateLength: 3 }),
    "maxAggregateLength",
    "configured",
  );
  assert.deepStrictEqual(
    decodeChunks([ascii("*3\r\n:1\r\n:2\r\n:3\r\n")], { maxAggregateLength: 3 }).replies,
    [
      [1, 2, 3],
    ],
  );
});

test("RespDecoder() refuses nesting deeper than maxDepth", () => {
  const nested = (levels: number, inner: string) => ascii("*1\r\n".repeat(levels) + inner);
  let expected: unknown = 7;
  for (let i = 0; i < 128; i++) expected = [expected];
  assert.deepStrictEqual(decodeChunks([nested(128, ":7\r\n")]).replies, [expected]);
  assertRefused(decodeChunks([nested(129, ":7\r\n")]), "maxDepth", "129 levels");
  assertRefused(decodeChunks([nested(128, "*0\r\n")]), "maxDepth", "an empty array as level 129");
  assertRefused(decodeChunks([nested(500, "")]), "maxDepth", "500 levels, never closed");
  assertRefused(decodeChunks([nested(3, ":7\r\n")], { maxDepth: 2 }), "maxDepth", "configured");
});

test("RespDecoder() refuses bulk strings longer than maxBulkLength", () => {
  for (const type of ["$", "!", "="]) {
    assertRefused(decodeChunks([ascii(`${type}536870913\r\n`)]), "maxBulkLength", type);
  }
  const atLimit = decodeChunks([ascii("$536870912\r\nabc")]);
  assert.equal(atLimit.error, undefined);
  assert.equal(atLimit.partial, true);
  // Configured: refused whether the bulk arrives whole (the fast path) or split.
  const whole = ascii("$5\r\nhello\r\n");
  assertRefused(decodeChunks([whole], { maxBulkLength: 4 }), "maxBulkLength", "whole");
  assertRefused(
    decodeChunks([whole.subarray(0, 3), whole.subarray(3)], { maxBulkLength: 4 }),
    "maxBulkLength",
    "split",
  );
  assert.deepStrictEqual(decodeChunks([whole], { maxBulkLength: 5 }).replies, [
    Array.from(ascii("hello")),
  ]);
});

test("RespDecoder() refuses lines longer than maxLineLength, ended or not", () => {
  const longest = "+" + "x".repeat(65_535); // 65,536 bytes with its type byte
  assert.deepStrictEqual(decodeChunks([ascii(longest + "\r\n")]).replies, [longest.slice(1)]);
  assertRefused(decodeChunks([ascii(longest + "x\r\n")]), "maxLineLength", "ended");
  assertRefused(decodeChunks([ascii(longest + "xx")]), "maxLineLength", "not ended");
  assertRefused(
    decodeChunks([ascii("-ERR " + "e".repeat(20))], { maxLineLength: 16 }),
    "maxLineLength",
    "error line",
  );
  assertRefused(
    decodeChunks([ascii(":123456789\r\n")], { maxLineLength: 8 }),
    "maxLineLength",
    "number",
  );
});

test("RespDecoder() buffers at most maxLineLength + 1 bytes of a line that never ends", () => {
  const chunk = new Uint8Array(2048).fill(120); // "x", no CR or LF
  const decoder = new RespDecoder(() => {});
  decoder.feed(ascii("+"));
  let fed = 1;
  assert.throws(() => {
    for (;;) {
      decoder.feed(chunk);
      fed += chunk.length;
    }
  }, RedisProtocolError);
  // Refused by the first chunk that takes the line past the limit (and its possible CR).
  assert.ok(fed <= 65_537 && fed + chunk.length > 65_537, `refused after ${fed} bytes`);
});

test("RespDecoder() joins a 16 MiB line from 8,192 chunks once (linear, not quadratic, copying)", {
  // Copying the line so far on every chunk would move ~68 GB here; joining once moves 16 MiB.
  timeout: 60_000,
}, () => {
  const replies: RedisReply[] = [];
  const decoder = new RespDecoder((reply) => replies.push(reply), { maxLineLength: 32 << 20 });
  const chunk = new Uint8Array(2048).fill(120);
  decoder.feed(ascii("+"));
  for (let i = 0; i < 8192; i++) decoder.feed(chunk);
  decoder.feed(ascii("\r\n"));
  assert.equal(replies.length, 1);
  assert.equal((replies[0] as string).length, 8192 * 2048);
  assert.equal(decoder.partial, false);
});

test("RespDecoder() grows a split bulk string as it arrives and gets every byte right", () => {
  const size = 3_000_017;
  const body = Uint8Array.from({ length: size }, (_, i) => (i * 7) & 0xff);
  const header = ascii(`$${size}\r\n`);
  const stream = new Uint8Array(header.length + size + 2);
  stream.set(header);
  stream.set(body, header.length);
  stream.set(ascii("\r\n"), header.length + size);
  for (const step of [1000, 65_536, 1_000_003]) {
    for (const freshChunks of [false, true]) {
      const replies: RedisReply[] = [];
      const decoder = new RespDecoder((reply) => replies.push(reply), { freshChunks });
      for (let at = 0; at < stream.length; at += step) decoder.feed(stream.slice(at, at + step));
      assert.equal(replies.length, 1);
      assert.deepStrictEqual(replies[0], body);
    }
  }
});

test("RespDecoder() refuses malformed lengths: negatives other than -1, non-decimal numbers", () => {
  for (
    const input of [
      "*-2\r\n",
      "$-5\r\n",
      "%-3\r\n",
      "|-1\r\n",
      "$1e3\r\n",
      "*0000000000000001e3\r\n", // long enough to reach Number(), which would take "1e3"
      ":0x0000000000000001f\r\n",
      "$ 12\r\n",
    ]
  ) {
    const outcome = decodeChunks([ascii(input)]);
    assert.ok(outcome.thrown instanceof RedisProtocolError, `${JSON.stringify(input)}`);
  }
  assert.deepStrictEqual(decodeChunks([ascii("*-1\r\n$-1\r\n:00000000000000000042\r\n")]).replies, [
    null,
    null,
    42,
  ]);
});

test("RespDecoder() and tcpDriver() refuse limits that are not positive integers", () => {
  for (const bad of [0, -1, 1.5, Number.NaN, Infinity, 2 ** 60]) {
    assert.throws(() => new RespDecoder(() => {}, { maxDepth: bad }), RangeError);
    assert.throws(() => new RespDecoder(() => {}, { maxLineLength: bad }), RangeError);
    assert.throws(() => tcpDriver({ replyLimits: { maxBulkLength: bad } }), RangeError);
    assert.throws(
      () => tcpDriver({ replyLimits: { maxAggregateLength: bad } }),
      /maxAggregateLength/,
    );
  }
});

// ---- a 256 MB heap survives -----------------------------------------------------------------

const isBun = process.versions.bun !== undefined;
const childScript = fileURLToPath(new URL("./_resp_hostile_child.ts", import.meta.url));

interface ChildReport {
  results: Record<string, string>;
  maxRssKiB: number;
}

function runChild(): Promise<
  { code: number | null; report: ChildReport | undefined; stderr: string }
> {
  // Deno: V8's old space capped at 256 MB, so an allocation past it kills the child. Bun: JSC has
  // no hard heap cap, so its GC is told the machine has 256 MB (forceRAMSize) and the test checks
  // the child's peak RSS, which bounds its heap, against 256 MB. (No type check in the child: the
  // checker's memory would count in its RSS.)
  const [command, args, env] = isBun
    ? [process.execPath, [childScript], { ...process.env, BUN_JSC_forceRAMSize: String(256 << 20) }]
    : [
      ...scriptCommand(childScript, [], {
        deno: ["-A", "--no-check", "--v8-flags=--max-old-space-size=256"],
        node: ["--max-old-space-size=256"],
      }),
      process.env,
    ];
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env,
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 120_000,
    });
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d) => (stdout += d));
    child.stderr!.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => {
      const line = stdout.trim().split("\n").at(-1) ?? "";
      resolve({ code, report: line.startsWith("{") ? JSON.parse(line) : undefined, stderr });
    });
  });
}

test("a child process with a 256 MB heap survives every hostile input, limits default or raised", {
  timeout: 120_000,
}, async () => {
  const { code, report, stderr } = await runChild();
  assert.equal(code, 0, `the child died:\n${stderr.slice(-2000)}`);
  assert.ok(report !== undefined);
  const { results } = report;
  const refused = (key: string, limit: string) =>
    assert.match(results[key] ?? "", new RegExp(`^RedisProtocolError: .*${limit}`), key);
  refused("default: nested big counts", "maxDepth");
  refused("default: nested big maps", "maxDepth");
  refused("default: deep nesting", "maxDepth");
  refused("default: count beyond any limit", "maxAggregateLength");
  refused("default: bulk beyond the limit", "maxBulkLength");
  refused("default: endless line", "maxLineLength");
  refused("default: garbage type byte", "unexpected type byte");
  refused("generous: garbage type byte", "unexpected type byte");
  assert.equal(results["default: count at the default limit"], "partial");
  assert.equal(results["default: bulk claims"], "partial");
  // Raised limits refuse nothing here: only memory that follows the bytes keeps the child alive.
  for (const [key, value] of Object.entries(results)) {
    if (key.startsWith("generous:") && !key.endsWith("garbage type byte")) {
      assert.equal(value, "partial", key);
    }
  }
  assert.ok(report.maxRssKiB < 256 * 1024, `peak RSS ${report.maxRssKiB} KiB`);
});

// ---- the TCP driver against a hostile server ------------------------------------------------

/** A fake Redis on 127.0.0.1: PONG to the handshake, then `hostile` (or "ok") to every command. */
class HostileServer implements AsyncDisposable {
  hostile: Uint8Array | null = null;
  connections = 0;
  closed = 0;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #waiters: (() => void)[] = [];

  constructor() {
    this.#server = createServer((socket) => {
      this.connections++;
      this.#sockets.add(socket);
      const decoder = new RespDecoder((command) => {
        const name = Array.isArray(command) && command[0] instanceof Uint8Array
          ? new TextDecoder().decode(command[0])
          : "";
        if (name === "PING") socket.write("+PONG\r\n");
        else socket.write(this.hostile ?? ascii("$2\r\nok\r\n"));
      });
      socket.on("data", (data: Uint8Array) => decoder.feed(data));
      socket.on("error", () => {});
      socket.on("close", () => {
        this.#sockets.delete(socket);
        this.closed++;
        for (const wake of this.#waiters.splice(0)) wake();
      });
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.#server.listen(0, "127.0.0.1", resolve));
    const address = this.#server.address();
    return typeof address === "object" && address !== null ? address.port : 0;
  }

  /** Resolves once `count` connections have closed. */
  async closedAtLeast(count: number): Promise<void> {
    while (this.closed < count) await new Promise<void>((wake) => this.#waiters.push(wake));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

const HOSTILE_REPLIES: [string, string, Uint8Array][] = [
  ["a huge declared aggregate count", "maxAggregateLength", ascii("*4294967296\r\n:1\r\n")],
  ["a huge declared map", "maxAggregateLength", ascii("%2147483647\r\n")],
  ["deep nesting", "maxDepth", ascii("*1\r\n".repeat(500) + ":1\r\n")],
  ["an endless line", "maxLineLength", ascii("+" + "x".repeat(200_000))],
  ["a bulk length beyond the limit", "maxBulkLength", ascii("$1073741824\r\nxxxx")],
  ["a garbage type byte", "unexpected type byte", ascii("@hello\r\n")],
];

test("tcpDriver() rejects pending commands on hostile replies, drops the connection, recovers", {
  timeout: 60_000,
}, async () => {
  await using server = new HostileServer();
  const port = await server.listen();
  await using redis = tcpDriver({ port, connectTimeout: 10_000 });
  assert.deepStrictEqual(await redis.send(["GET", "k"]), ascii("ok"));
  for (const [what, limit, reply] of HOSTILE_REPLIES) {
    const connectionsBefore = server.connections;
    const closedBefore = server.closed;
    server.hostile = reply;
    const results = await Promise.allSettled([
      redis.send(["GET", "a"]),
      redis.send(["GET", "b"]),
      redis.send(["MGET", "c", "d"]),
    ]);
    for (const result of results) {
      assert.equal(result.status, "rejected", what);
      const error = (result as PromiseRejectedResult).reason;
      assert.ok(error instanceof RedisProtocolError, `${what}: ${error}`);
      assert.ok(error instanceof RedisConnectionError);
      assert.match(error.message, new RegExp(limit), what);
    }
    // The driver closed that connection (the server sees it go)...
    await server.closedAtLeast(closedBefore + 1);
    // ...and the next command, the server behaving again, works on a new one.
    server.hostile = null;
    assert.deepStrictEqual(await redis.send(["GET", "k"]), ascii("ok"), what);
    assert.equal(server.connections, connectionsBefore + 1, what);
  }
});

test("tcpDriver() applies replyLimits it is given", { timeout: 60_000 }, async () => {
  await using server = new HostileServer();
  const port = await server.listen();
  await using redis = tcpDriver({ port, replyLimits: { maxBulkLength: 4 } });
  server.hostile = ascii("$5\r\nhello\r\n");
  await assert.rejects(redis.send(["GET", "k"]), (error: Error) => {
    assert.ok(error instanceof RedisProtocolError);
    assert.match(error.message, /maxBulkLength \(4\)/);
    return true;
  });
  server.hostile = ascii("$4\r\nhell\r\n");
  assert.deepStrictEqual(await redis.send(["GET", "k"]), ascii("hell"));
});

// ---- the HTTP driver's walk over replies ----------------------------------------------------

test("httpDriver() turns a reply nested too deep into DecodeError, not a stack overflow", {
  timeout: 60_000,
}, async () => {
  let depth = 0;
  const server = createHttpServer((request, response) => {
    request.resume();
    request.on("end", () => {
      response.setHeader("content-type", "application/json");
      response.end(`{"result":${"[".repeat(depth)}1${"]".repeat(depth)}}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const address = server.address();
    const port = typeof address === "object" && address !== null ? address.port : 0;
    await using redis = httpDriver({
      url: `http://127.0.0.1:${port}`,
      token: "t0ken",
      readRetries: 0,
    });
    depth = 128;
    let reply: RedisReply = await redis.send(["GET", "k"]);
    for (let i = 0; i < 128; i++) {
      assert.ok(Array.isArray(reply) && reply.length === 1);
      reply = reply[0]!;
    }
    assert.equal(reply, 1);
    for (const deep of [129, 200_000]) {
      depth = deep;
      await assert.rejects(redis.send(["GET", "k"]), (error: Error) => {
        assert.ok(error instanceof DecodeError, `depth ${deep}: ${error}`);
        assert.match(error.message, /deeper than 128/);
        return true;
      });
    }
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
