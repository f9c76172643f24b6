// The TCP driver against a real redis-server: commands, binary safety, pipelining, MULTI/EXEC,
// AUTH/ACL/SELECT, connection failures and reconnects, pub/sub. Runs under Deno and Bun.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import type { PubSubMessage, RedisReply } from "../src/connection/driver.ts";
import {
  BackendClosedError,
  RedisAuthenticationError,
  RedisConnectionError,
  RedisReplyError,
} from "../src/errors.ts";
import { tcpDriver } from "../src/connection/drivers/tcp.ts";
import { streamTransport } from "../src/connection/drivers/_transport.ts";
import { freePort, startRedisServer } from "./_redis_server.ts";
import { redisServerBin, requirement } from "./_env.ts";
import { rejection } from "./_assert.ts";
import { sleep, until } from "./_time.ts";

const hasRedis = spawnSync(redisServerBin, ["--version"]).status === 0;
const skip = requirement(hasRedis, `${redisServerBin} (set REDIS_SERVER)`);
const server = skip === false ? await startRedisServer() : undefined;
after(async () => {
  await server?.[Symbol.asyncDispose]();
});
const port = server?.port ?? 0;

const enc = new TextEncoder();
const dec = new TextDecoder();

function text(reply: RedisReply): string {
  assert.ok(reply instanceof Uint8Array, `expected a bulk string, got ${String(reply)}`);
  return dec.decode(reply);
}

function texts(reply: RedisReply): string[] {
  assert.ok(Array.isArray(reply), `expected an array, got ${String(reply)}`);
  return reply.map(text);
}

async function stats(
  redis: { send(c: readonly string[]): Promise<RedisReply> },
): Promise<Record<string, number>> {
  const info = text(await redis.send(["INFO", "stats"]));
  const fields: Record<string, number> = {};
  for (const [, name, value] of info.matchAll(/^(\w+):(\d+)\r?$/gm)) fields[name!] = Number(value);
  return fields;
}

/**
 * Stops (SIGSTOP) a test server so it accepts connections but answers nothing; returns a function
 * that resumes it. Signals the pid Redis reports rather than using the helper's pause()/resume():
 * Deno's node:child_process ignores every kill() after the first, so SIGCONT never arrives there.
 */
async function freeze(target: { port: number }, password?: string): Promise<() => void> {
  await using redis = tcpDriver(
    password === undefined ? { port: target.port } : {
      port: target.port,
      password,
    },
  );
  const pid = Number(text(await redis.send(["INFO", "server"])).match(/^process_id:(\d+)/m)![1]);
  process.kill(pid, "SIGSTOP");
  return () => process.kill(pid, "SIGCONT");
}

test("tcpDriver() runs the commands the backend uses", { skip }, async () => {
  await using redis = tcpDriver({ port });
  assert.equal(await redis.send(["SET", "cmd:a", "alpha", "EX", 60]), "OK");
  assert.equal(text(await redis.send(["GET", "cmd:a"])), "alpha");
  assert.equal(await redis.send(["GET", "cmd:missing"]), null);
  const ttl = await redis.send(["TTL", "cmd:a"]);
  assert.ok(typeof ttl === "number" && ttl > 55 && ttl <= 60);
  await redis.send(["SET", "cmd:b", "beta"]);
  const mget = await redis.send(["MGET", "cmd:a", "cmd:missing", "cmd:b"]);
  assert.ok(Array.isArray(mget));
  assert.equal(text(mget[0]!), "alpha");
  assert.equal(mget[1], null);
  assert.equal(text(mget[2]!), "beta");
  assert.equal(await redis.send(["INCRBY", "cmd:n", 5]), 5);
  assert.equal(await redis.send(["INCRBY", "cmd:n", -7]), -2);
  assert.equal(await redis.send(["EXPIRE", "cmd:n", 30]), 1);
  assert.equal(await redis.send(["EXPIRE", "cmd:missing", 30]), 0);
  assert.equal(await redis.send(["PUBLISH", "cmd:channel", "nobody listens"]), 0);
  assert.equal(await redis.send(["RPUSH", "cmd:list", "x", "y", "z"]), 3);
  assert.equal(await redis.send(["LLEN", "cmd:list"]), 3);
  assert.deepStrictEqual(texts(await redis.send(["LRANGE", "cmd:list", 0, -1])), ["x", "y", "z"]);
  assert.equal(await redis.send(["ZADD", "cmd:z", 1, "one", 2, "two", 3.5, "three"]), 3);
  assert.equal(await redis.send(["ZCOUNT", "cmd:z", 2, "+inf"]), 2);
  assert.deepStrictEqual(texts(await redis.send(["ZRANGE", "cmd:z", 0, -1])), [
    "one",
    "two",
    "three",
  ]);
  assert.equal(await redis.send(["DEL", "cmd:a", "cmd:b", "cmd:missing"]), 2);
  assert.equal(await redis.send(["GET", "cmd:a"]), null);
});

test("tcpDriver() round-trips all 256 byte values, CRLF and UTF-8", { skip }, async () => {
  await using redis = tcpDriver({ port });
  const value = new Uint8Array(256 * 3 + 4);
  for (let i = 0; i < 256 * 3; i++) value[i] = i % 256;
  value.set([13, 10, 13, 10], 256 * 3);
  await redis.send(["SET", enc.encode("bin:\r\nkey\0"), value]);
  const back = await redis.send(["GET", enc.encode("bin:\r\nkey\0")]);
  assert.deepStrictEqual(back, value);
  const unicode = "clé 日本語 😀\r\n$5\r\n*1\r\n";
  await redis.send(["SET", "bin:text", unicode]);
  assert.equal(text(await redis.send(["GET", "bin:text"])), unicode);
  assert.equal(await redis.send(["STRLEN", "bin:text"]), enc.encode(unicode).length);
});

test("tcpDriver() answers 1,000 concurrent GETs each with its own value", { skip }, async () => {
  await using redis = tcpDriver({ port });
  const keys = Array.from({ length: 1000 }, (_, i) => `many:${i}`);
  await Promise.all(keys.map((key, i) => redis.send(["SET", key, `${i}:${"v".repeat(300)}`])));
  const values = await Promise.all(keys.map((key) => redis.send(["GET", key])));
  values.forEach((value, i) => assert.equal(text(value), `${i}:${"v".repeat(300)}`));
  const mget = await redis.send(["MGET", ...keys.slice(0, 100)]);
  assert.ok(Array.isArray(mget) && mget.length === 100);
  assert.equal(text(mget[99]!), `99:${"v".repeat(300)}`);
});

test("tcpDriver() pipelines the commands of one tick into one write", { skip }, async () => {
  await using redis = tcpDriver({ port });
  await using observer = tcpDriver({ port });
  await redis.connect();
  await observer.connect();
  const before = await stats(observer);
  // 1,000 commands issued synchronously: without pipelining the server would do ~1,000 reads.
  const replies = await Promise.all(
    Array.from({ length: 1000 }, () => redis.send(["INCR", "pipeline:counter"])),
  );
  const after = await stats(observer);
  // Replies come back in the order the commands were issued.
  assert.deepStrictEqual(replies, Array.from({ length: 1000 }, (_, i) => i + 1));
  // 1,000 INCRs plus the observer's first INFO ran in between.
  assert.equal(after.total_commands_processed! - before.total_commands_processed!, 1001);
  // ~30 KB of commands: a handful of socket reads on the server (it reads 16 KiB at a time),
  // plus one for the observer's INFO.
  const reads = after.total_reads_processed! - before.total_reads_processed!;
  assert.ok(reads <= 12, `the server needed ${reads} reads for 1,000 commands`);
});

test("tcpDriver() transaction() runs MULTI/EXEC atomically", { skip }, async () => {
  await using a = tcpDriver({ port });
  await using b = tcpDriver({ port });
  await Promise.all([a.connect(), b.connect()]);
  const block = Array.from({ length: 50 }, (_, i) => ["RPUSH", "tx:list", `tx${i}`]);
  // Another connection pushes at the same time; none of its pushes may land inside the block.
  const others = Array.from({ length: 200 }, (_, i) => b.send(["RPUSH", "tx:list", `b${i}`]));
  const [results] = await Promise.all([a.transaction(block), ...others]);
  assert.ok(Array.isArray(results) && results.length === 50);
  const list = texts(await a.send(["LRANGE", "tx:list", 0, -1]));
  assert.equal(list.length, 250);
  const first = list.indexOf("tx0");
  assert.deepStrictEqual(list.slice(first, first + 50), block.map((command) => command[2]));

  const replies = await a.transaction([["SET", "tx:k", "v"], ["INCR", "tx:n"], ["GET", "tx:k"]]);
  assert.equal(replies[0], "OK");
  assert.equal(replies[1], 1);
  assert.equal(text(replies[2]!), "v");
  assert.deepStrictEqual(await a.transaction([]), []);
});

test("tcpDriver() transaction() returns per-command errors as RedisReplyError items", {
  skip,
}, async () => {
  await using redis = tcpDriver({ port });
  await redis.send(["SET", "txerr:s", "not a number"]);
  const replies = await redis.transaction([
    ["INCR", "txerr:s"],
    ["SET", "txerr:t", "ok"],
    ["LLEN", "txerr:s"],
  ]);
  const [incr, set, llen] = replies;
  assert.ok(incr instanceof RedisReplyError);
  assert.equal(incr.code, "ERR");
  assert.equal(incr.command, "INCR");
  assert.match(incr.message, /not an integer/);
  assert.equal(set, "OK");
  assert.ok(llen instanceof RedisReplyError);
  assert.equal(llen.code, "WRONGTYPE");
  assert.equal(llen.command, "LLEN");
});

test("tcpDriver() transaction() rejects when Redis discards the block", { skip }, async () => {
  await using redis = tcpDriver({ port });
  const error = await rejection(
    redis.transaction([["SET", "txabort:k", "v"], ["NOSUCHCOMMAND", "x"]]),
  );
  assert.ok(error instanceof RedisReplyError);
  assert.equal(error.code, "EXECABORT");
  assert.ok(error.cause instanceof RedisReplyError);
  assert.match(error.cause.message, /unknown command/);
  // Nothing of the block ran, and the connection is still in step.
  assert.equal(await redis.send(["GET", "txabort:k"]), null);
  assert.equal(await redis.send(["PING"]), "PONG");
});

test("tcpDriver() rejects an error reply with a typed RedisReplyError", { skip }, async () => {
  await using redis = tcpDriver({ port });
  await redis.send(["SET", "err:s", "text"]);
  const incr = redis.send(["INCR", "err:s"]);
  const llen = redis.send(["LLEN", "err:s"]);
  const get = redis.send(["GET", "err:s"]);
  const error = await rejection(incr);
  assert.ok(error instanceof RedisReplyError);
  assert.equal(error.name, "RedisReplyError");
  assert.equal(error.code, "ERR");
  assert.equal(error.command, "INCR");
  assert.match(error.message, /value is not an integer or out of range/);
  const wrongType = await rejection(llen);
  assert.ok(wrongType instanceof RedisReplyError);
  assert.equal(wrongType.code, "WRONGTYPE");
  // Replies after an error still reach the right command.
  assert.equal(text(await get), "text");
  await assert.rejects(redis.send([]), TypeError);
  await assert.rejects(redis.send(["GET", null as unknown as string]), TypeError);
});

test("tcpDriver() authenticates with a password", { skip }, async () => {
  await using secured = await startRedisServer({ args: ["--requirepass", "s3cret-pass"] });
  await using redis = tcpDriver({ port: secured.port, password: "s3cret-pass" });
  assert.equal(await redis.send(["SET", "auth:k", "v"]), "OK");
  assert.equal(text(await redis.send(["GET", "auth:k"])), "v");

  await using anonymous = tcpDriver({ port: secured.port });
  const error = await rejection(anonymous.send(["GET", "auth:k"]));
  assert.ok(error instanceof RedisAuthenticationError);
  assert.match(error.message, /NOAUTH/);
});

test("tcpDriver() authenticates as an ACL user", { skip }, async () => {
  await using secured = await startRedisServer({
    args: ["--user", "alice", "on", ">alice-pass", "~*", "&*", "+@all"],
  });
  await using redis = tcpDriver({
    port: secured.port,
    username: "alice",
    password: "alice-pass",
  });
  assert.equal(text(await redis.send(["ACL", "WHOAMI"])), "alice");
  assert.equal(await redis.send(["SET", "acl:k", "v"]), "OK");
});

test("tcpDriver() reports a wrong password as RedisAuthenticationError without the password", {
  skip,
}, async () => {
  await using secured = await startRedisServer({
    args: ["--requirepass", "right-pass", "--user", "bob", "on", ">bob-pass", "~*", "+@all"],
  });
  for (
    const options of [{ password: "WrongPassword123" }, {
      username: "bob",
      password: "WrongPassword123",
    }]
  ) {
    await using redis = tcpDriver({ port: secured.port, ...options });
    const first = redis.send(["GET", "k"]);
    const second = redis.send(["SET", "k", "v"]);
    const error = await rejection(first);
    assert.ok(error instanceof RedisAuthenticationError, String(error));
    assert.equal(error.name, "RedisAuthenticationError");
    assert.match(error.message, /WRONGPASS/);
    assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${secured.port}`));
    const everything = `${error.message} ${String(error.stack)} ${
      error.cause instanceof Error ? error.cause.message : ""
    }`;
    assert.ok(!everything.includes("WrongPassword123"), "the password leaked into the error");
    // Commands queued behind the handshake fail the same way and are never sent.
    assert.ok((await rejection(second)) instanceof RedisAuthenticationError);
    await assert.rejects(redis.connect(), RedisAuthenticationError);
  }
});

test("tcpDriver() selects the db and sets the client name", { skip }, async () => {
  await using db3 = tcpDriver({ port, db: 3, clientName: "celery-results-test" });
  await using db0 = tcpDriver({ port });
  await db3.send(["SET", "select:k", "in-db-3"]);
  assert.equal(await db0.send(["GET", "select:k"]), null);
  assert.equal(text(await db3.send(["GET", "select:k"])), "in-db-3");
  assert.equal(text(await db3.send(["CLIENT", "GETNAME"])), "celery-results-test");
  await using badDb = tcpDriver({ port, db: 99999 });
  const error = await rejection(badDb.send(["PING"]));
  assert.ok(error instanceof RedisReplyError);
  assert.equal(error.command, "SELECT");
  assert.throws(() => tcpDriver({ db: -1 }), RangeError);
  assert.throws(() => tcpDriver({ port: 70000 }), RangeError);
  assert.throws(() => tcpDriver({ username: "u" }), TypeError);
  assert.throws(() => tcpDriver({ clientName: "has space" }), TypeError);
});

test("tcpDriver() connects over a unix socket", { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "redis-sock-"));
  try {
    const path = join(dir, "redis.sock");
    await using local = await startRedisServer({ args: ["--unixsocket", path] });
    await using redis = tcpDriver({ path });
    assert.equal(await redis.send(["SET", "unix:k", "v"]), "OK");
    assert.equal(text(await redis.send(["GET", "unix:k"])), "v");
    assert.ok(local.port > 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("tcpDriver() fails with RedisConnectionError when the connection is refused", {
  skip,
}, async () => {
  const closedPort = await freePort();
  await using redis = tcpDriver({ port: closedPort });
  const error = await rejection(redis.send(["PING"]));
  assert.ok(error instanceof RedisConnectionError);
  assert.equal(error.name, "RedisConnectionError");
  assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${closedPort}`));
  assert.ok(error.cause !== undefined);
});

test("tcpDriver() times out connecting to a server that does not answer", { skip }, async () => {
  await using frozen = await startRedisServer();
  // The kernel still accepts the connection; nothing answers the handshake.
  const thaw = await freeze(frozen);
  try {
    await using redis = tcpDriver({ port: frozen.port, connectTimeout: 300 });
    const started = Date.now();
    const error = await rejection(redis.send(["PING"]));
    const elapsed = Date.now() - started;
    assert.ok(error instanceof RedisConnectionError);
    assert.match(error.message, /Timed out after 300 ms/);
    assert.ok(elapsed >= 250 && elapsed < 3000, `took ${elapsed} ms`);
  } finally {
    thaw();
  }
});

test("tcpDriver() drops the connection when a command outlives socketTimeout", {
  skip,
}, async () => {
  await using slow = await startRedisServer();
  await using redis = tcpDriver({ port: slow.port, socketTimeout: 300 });
  assert.equal(await redis.send(["SET", "timeout:k", "v"]), "OK");
  const thaw = await freeze(slow);
  const error = await rejection(redis.send(["GET", "timeout:k"]));
  thaw();
  assert.ok(error instanceof RedisConnectionError);
  // The socket timeout's own error (the server only paused: nothing else drops the connection).
  assert.match(error.message, /did not answer GET within 300 ms/);
  // The next command opens a new connection.
  assert.equal(text(await redis.send(["GET", "timeout:k"])), "v");
});

test("tcpDriver() rejects in-flight commands when the server dies, then reconnects", {
  skip,
}, async () => {
  await using mortal = await startRedisServer({ args: ["--requirepass", "Mortal-Secret"] });
  await using redis = tcpDriver({ port: mortal.port, password: "Mortal-Secret" });
  assert.equal(await redis.send(["PING"]), "PONG");
  await freeze(mortal, "Mortal-Secret");
  // Handlers attached at once: the rejections arrive while the test awaits stop().
  const inFlight = [
    redis.send(["GET", "a"]),
    redis.send(["INCR", "b"]),
    redis.transaction([["GET", "c"]]),
  ].map(rejection);
  await sleep(50); // written, unanswered
  await mortal.stop("SIGKILL");
  for (const pending of inFlight) {
    const error = await pending;
    assert.ok(error instanceof RedisConnectionError, String(error));
    assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${mortal.port}`));
    assert.ok(!error.message.includes("Mortal-Secret"));
  }
  // While the server is down, new commands fail fast with a connection error.
  assert.ok((await rejection(redis.send(["PING"]))) instanceof RedisConnectionError);
  await mortal.restart();
  assert.equal(await redis.send(["PING"]), "PONG");
  assert.equal(await redis.send(["INCR", "after-restart"]), 1);
});

test("tcpDriver() close() is idempotent and rejects later calls", { skip }, async () => {
  const redis = tcpDriver({ port });
  assert.equal(await redis.send(["PING"]), "PONG");
  const subscriber = await redis.openSubscriber({ onMessage() {} });
  await Promise.all([redis.close(), redis.close()]);
  await redis.close();
  await redis[Symbol.asyncDispose]();
  await assert.rejects(redis.send(["PING"]), BackendClosedError);
  await assert.rejects(redis.transaction([["PING"]]), BackendClosedError);
  await assert.rejects(redis.openSubscriber({ onMessage() {} }), BackendClosedError);
  // The driver closed its subscribers too.
  await assert.rejects(subscriber.subscribe(["x"]), BackendClosedError);
  await subscriber.close();

  // Closing with commands still queued rejects them rather than leaving them hanging.
  const other = tcpDriver({ port });
  const pending = assert.rejects(other.send(["PING"]), BackendClosedError);
  await other.close();
  await pending;
});

test("openSubscriber() confirms subscriptions and delivers binary messages in order", {
  skip,
}, async () => {
  await using redis = tcpDriver({ port });
  const messages: PubSubMessage[] = [];
  let closed = 0;
  await using subscriber = await redis.openSubscriber({
    onMessage: (message) => messages.push(message),
    onClose: () => closed++,
  });
  const channels = ["ps:one", "ps:two", "ps:three"];
  await subscriber.subscribe(channels);
  // Resolved means confirmed: the server already counts the subscriptions.
  const numsub = await redis.send(["PUBSUB", "NUMSUB", ...channels]);
  assert.ok(Array.isArray(numsub));
  assert.deepStrictEqual(numsub.filter((item) => typeof item === "number"), [1, 1, 1]);

  const payloads = Array.from({ length: 100 }, (_, i) => {
    const payload = new Uint8Array(258);
    payload[0] = i;
    for (let b = 0; b < 256; b++) payload[b + 1] = b;
    payload[257] = 10;
    return payload;
  });
  const published = await Promise.all(
    payloads.map((payload, i) => redis.send(["PUBLISH", channels[i % 3]!, payload])),
  );
  assert.ok(published.every((receivers) => receivers === 1));
  await redis.send(["PUBLISH", "ps:two", "\r\nlast\r\n"]);
  await until("101 messages", () => messages.length >= 101);
  assert.equal(messages.length, 101);
  messages.slice(0, 100).forEach((message, i) => {
    assert.equal(message.channel, channels[i % 3]);
    assert.deepStrictEqual(message.payload, payloads[i]);
  });
  assert.equal(dec.decode(messages[100]!.payload), "\r\nlast\r\n");

  await subscriber.unsubscribe(["ps:one", "ps:two"]);
  assert.deepStrictEqual(texts(await redis.send(["PUBSUB", "CHANNELS", "ps:*"])), ["ps:three"]);
  await subscriber.unsubscribe(["ps:three"]);
  assert.deepStrictEqual(await redis.send(["PUBSUB", "CHANNELS", "ps:*"]), []);
  assert.equal(await redis.send(["PUBLISH", "ps:one", "after"]), 0);
  await subscriber.close();
  await subscriber.close();
  assert.equal(closed, 0, "onClose is not called after close()");
});

test("openSubscriber() calls onClose once when the server is killed", { skip }, async () => {
  await using doomed = await startRedisServer({ args: ["--requirepass", "Sub-Secret"] });
  await using redis = tcpDriver({ port: doomed.port, password: "Sub-Secret" });
  const closes: Error[] = [];
  const subscriber = await redis.openSubscriber({
    onMessage() {},
    onClose: (error) => closes.push(error),
  });
  await subscriber.subscribe(["doomed:a"]);
  await freeze(doomed, "Sub-Secret");
  const pending = rejection(subscriber.subscribe(["doomed:b"]));
  await sleep(50);
  await doomed.stop("SIGKILL");
  const error = await pending;
  assert.ok(error instanceof RedisConnectionError);
  await until("onClose", () => closes.length > 0);
  await sleep(50); // room for a second onClose, which must not come
  assert.equal(closes.length, 1);
  assert.ok(closes[0] instanceof RedisConnectionError);
  assert.match(closes[0].message, new RegExp(`127\\.0\\.0\\.1:${doomed.port}`));
  assert.ok(!closes[0].message.includes("Sub-Secret"));
  await assert.rejects(subscriber.subscribe(["doomed:c"]), RedisConnectionError);
  await subscriber.close();
  assert.equal(closes.length, 1);
});

test("openSubscriber() rejects wrong credentials with RedisAuthenticationError", {
  skip,
}, async () => {
  await using secured = await startRedisServer({ args: ["--requirepass", "pubsub-pass"] });
  await using redis = tcpDriver({ port: secured.port, password: "not-it" });
  await assert.rejects(redis.openSubscriber({ onMessage() {} }), RedisAuthenticationError);
});

test("streamTransport() adapts a { readable, writable, close() } socket", async () => {
  let push: (chunk: Uint8Array) => void = () => {};
  let end: () => void = () => {};
  const readable = new ReadableStream<Uint8Array>({
    start(controller) {
      push = (chunk) => controller.enqueue(chunk);
      end = () => controller.close();
    },
  });
  const written: number[] = [];
  const writable = new WritableStream<Uint8Array>({
    write: (chunk) => void written.push(...chunk),
  });
  let socketClosed = 0;
  const received: number[] = [];
  const closes: (Error | undefined)[] = [];
  const transport = streamTransport({ readable, writable, close: () => void socketClosed++ }, {
    onData: (chunk) => received.push(...chunk),
    onClose: (error) => closes.push(error),
  });
  transport.write(new Uint8Array([1, 2]));
  transport.write(new Uint8Array([3]));
  push(new Uint8Array([9, 8]));
  push(new Uint8Array([7]));
  await until("the bytes both ways", () => written.length === 3 && received.length === 3);
  assert.deepStrictEqual(written, [1, 2, 3]);
  assert.deepStrictEqual(received, [9, 8, 7]);
  end(); // the peer closes
  await until("onClose", () => closes.length > 0);
  assert.deepStrictEqual(closes, [undefined]);
  assert.equal(socketClosed, 1);
  await transport.close();
  await transport.close();
  assert.equal(closes.length, 1, "onClose is reported once");

  // Closed by us: no onClose.
  const quiet: (Error | undefined)[] = [];
  const other = streamTransport({
    readable: new ReadableStream<Uint8Array>(),
    writable: new WritableStream<Uint8Array>(),
    close: () => {},
  }, { onData() {}, onClose: (error) => quiet.push(error) });
  await other.close();
  assert.deepStrictEqual(quiet, []);
});
