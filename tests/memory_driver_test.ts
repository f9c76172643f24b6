// memoryDriver(): its own behaviour, then a differential run of the same command sequences against
// a real redis-server (replies, error texts, tie order) over a raw RESP socket (tests/_resp_client.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createMemoryStore, memoryDriver } from "../src/connection/drivers/memory.ts";
import type {
  PubSubMessage,
  RedisArg,
  RedisCommand,
  RedisReply,
} from "../src/connection/driver.ts";
import { BackendClosedError, RedisReplyError } from "../src/errors.ts";
import { redisServerBin, requirement } from "./_env.ts";
import { rejection } from "./_assert.ts";
import type { Resp2Reply } from "./_independent_resp.ts";
import { startRedisServer } from "./_redis_server.ts";
import { RespServerError, RespTestClient } from "./_resp_client.ts";

const utf8 = new TextEncoder();
const text = (reply: RedisReply | undefined) => new TextDecoder().decode(reply as Uint8Array);
const texts = (reply: RedisReply | undefined) => (reply as Uint8Array[]).map((r) => text(r));

/** The server's own words inside a RedisReplyError. */
function serverText(error: Error): string {
  assert.ok(error instanceof RedisReplyError, `not a RedisReplyError: ${error}`);
  return error.message.replace(/^Redis replied (?:to .* )?with an error: /s, "");
}

/** A fake clock. */
function clock(start = 1_700_000_000_000) {
  const c = { ms: start, now: () => c.ms };
  return c;
}

// ---------------------------------------------------------------------------------------------
// Behaviour
// ---------------------------------------------------------------------------------------------

test("memoryDriver() stores and returns binary-safe values as Uint8Array", async () => {
  await using driver = memoryDriver();
  assert.equal(driver.name, "memory");
  const binary = new Uint8Array([0, 0xff, 0xc3, 0x28, 10]);
  assert.equal(await driver.send(["SET", binary, binary]), "OK");
  assert.deepEqual(await driver.send(["GET", binary]), binary);
  // A string argument is its UTF-8 bytes: both spellings name the same key.
  await driver.send(["SET", "clé", "vàlue"]);
  assert.equal(text(await driver.send(["GET", utf8.encode("clé")])), "vàlue");
  assert.equal(await driver.send(["GET", "missing"]), null);
  // Numbers and bigints are sent as their decimal text.
  await driver.send(["SET", 42, 1.5]);
  assert.equal(text(await driver.send(["GET", "42"])), "1.5");
  await driver.send(["SET", "big", 2n ** 70n]);
  assert.equal(text(await driver.send(["GET", "big"])), (2n ** 70n).toString());
});

test("memoryDriver() returns copies, so callers cannot change stored bytes", async () => {
  await using driver = memoryDriver();
  const value = new Uint8Array([1, 2, 3]);
  await driver.send(["SET", "k", value]);
  await driver.send(["RPUSH", "l", value]);
  value[0] = 9;
  const first = (await driver.send(["GET", "k"])) as Uint8Array;
  first[1] = 9;
  assert.deepEqual(await driver.send(["GET", "k"]), new Uint8Array([1, 2, 3]));
  assert.deepEqual(await driver.send(["LRANGE", "l", 0, -1]), [new Uint8Array([1, 2, 3])]);
});

test("memoryDriver() answers the commands the backend core uses like Redis", async () => {
  await using driver = memoryDriver();
  assert.equal(await driver.send(["PING"]), "PONG");
  assert.equal(await driver.send(["SET", "a", "1", "EX", 60]), "OK");
  assert.deepEqual((await driver.send(["MGET", "a", "b"])) as unknown[], [utf8.encode("1"), null]);
  assert.equal(await driver.send(["INCRBY", "a", 5]), 6);
  assert.equal(await driver.send(["INCR", "counter"]), 1);
  assert.equal(await driver.send(["EXISTS", "a", "a", "b"]), 2);
  assert.equal(await driver.send(["DEL", "a", "a", "b", "counter"]), 2);
  assert.equal(await driver.send(["RPUSH", "l", "x", "y", "z"]), 3);
  assert.equal(await driver.send(["LLEN", "l"]), 3);
  assert.deepEqual(texts(await driver.send(["LRANGE", "l", -2, -1])), ["y", "z"]);
  assert.equal(await driver.send(["ZADD", "z", 2, "b", 1, "a"]), 2);
  assert.equal(await driver.send(["ZADD", "z", 0, "b"]), 0); // updates the score
  assert.equal(await driver.send(["ZCOUNT", "z", "-inf", "+inf"]), 2);
  assert.deepEqual(texts(await driver.send(["ZRANGE", "z", 0, -1])), ["b", "a"]);
  assert.equal(await driver.send(["EXPIRE", "l", 10]), 1);
  assert.equal(await driver.send(["TTL", "l"]), 10);
  assert.equal(await driver.send(["PUBLISH", "channel", "nobody"]), 0);
  assert.equal(await driver.send(["FLUSHDB"]), "OK");
  assert.equal(await driver.send(["DBSIZE"]), 0);
});

test("memoryDriver() words errors exactly as Redis does", async () => {
  await using driver = memoryDriver();
  await driver.send(["RPUSH", "list", "x"]);
  await driver.send(["SET", "text", "abc"]);
  const cases: [RedisCommand, string][] = [
    [["GET", "list"], "WRONGTYPE Operation against a key holding the wrong kind of value"],
    [["INCR", "text"], "ERR value is not an integer or out of range"],
    [["GET"], "ERR wrong number of arguments for 'get' command"],
    [["FOO", "a", "b"], "ERR unknown command 'FOO', with args beginning with: 'a' 'b' "],
    [["SELECT", 16], "ERR DB index is out of range"],
    [["ZADD", "z", "x", "m"], "ERR value is not a valid float"],
    [["ZCOUNT", "z", "a", "b"], "ERR min or max is not a float"],
  ];
  for (const [command, expected] of cases) {
    const error = await rejection(driver.send(command));
    assert.equal(serverText(error), expected, command.join(" "));
    assert.equal((error as RedisReplyError).command, String(command[0]).toUpperCase());
    assert.equal((error as RedisReplyError).code, expected.split(" ")[0]);
  }
});

test("memoryDriver() expires keys lazily by an injected clock", async () => {
  const time = clock();
  await using driver = memoryDriver({ now: time.now });
  await driver.send(["SET", "ex", "v", "EX", 10]);
  await driver.send(["SET", "px", "v", "PX", 1500]);
  await driver.send(["SETEX", "setex", 5, "v"]);
  await driver.send(["SET", "forever", "v"]);
  assert.equal(await driver.send(["TTL", "ex"]), 10);
  assert.equal(await driver.send(["TTL", "px"]), 2); // 1.5 s rounds like Redis: (ms + 500) / 1000
  assert.equal(await driver.send(["PTTL", "px"]), 1500);
  assert.equal(await driver.send(["TTL", "forever"]), -1);
  assert.equal(await driver.send(["TTL", "missing"]), -2);
  time.ms += 1500; // exactly at expiry the key still exists, as in Redis
  assert.equal(await driver.send(["EXISTS", "px"]), 1);
  time.ms += 1;
  assert.equal(await driver.send(["GET", "px"]), null);
  time.ms += 5000;
  assert.deepEqual(await driver.send(["KEYS", "*"]).then(texts), ["ex", "forever"]);
  assert.equal(await driver.send(["DBSIZE"]), 2);
  time.ms += 5000;
  assert.equal(await driver.send(["EXISTS", "ex", "setex", "forever"]), 1);
  // EXPIRE with a time in the past deletes at once; KEEPTTL and INCR keep the TTL.
  await driver.send(["SET", "n", "1", "EX", 100]);
  await driver.send(["INCR", "n"]);
  await driver.send(["SET", "n", "5", "KEEPTTL"]);
  assert.equal(await driver.send(["TTL", "n"]), 100);
  assert.equal(await driver.send(["EXPIRE", "n", -1]), 1);
  assert.equal(await driver.send(["EXISTS", "n"]), 0);
});

test("memoryDriver() reclaims expired keys without being asked for them", async () => {
  const time = clock();
  await using driver = memoryDriver({ now: time.now });
  for (let i = 0; i < 100; i++) await driver.send(["SET", `k${i}`, "v", "EX", 1]);
  time.ms += 2000;
  // Touch only one other key, many times: the incremental sweep removes the rest.
  for (let i = 0; i < 50; i++) await driver.send(["GET", "other"]);
  await driver.send(["SET", "other", "v"]);
  assert.equal(await driver.send(["DBSIZE"]), 1);
});

test("memoryDriver() shares a store between drivers and keeps databases apart", async () => {
  const store = createMemoryStore({ databases: 4 });
  await using worker = memoryDriver({ store });
  await using client = memoryDriver({ store });
  await using other = memoryDriver({ store, db: 3 });
  await using alone = memoryDriver();
  await worker.send(["SET", "k", "shared"]);
  assert.equal(text(await client.send(["GET", "k"])), "shared");
  assert.equal(await other.send(["GET", "k"]), null);
  assert.equal(await alone.send(["GET", "k"]), null);
  assert.equal(await client.send(["SELECT", 3]), "OK");
  await client.send(["SET", "k", "db3"]);
  assert.equal(text(await other.send(["GET", "k"])), "db3");
  assert.equal(text(await worker.send(["GET", "k"])), "shared");
  assert.equal(
    serverText(await rejection(worker.send(["SELECT", 4]))),
    "ERR DB index is out of range",
  );
  assert.equal(await client.send(["FLUSHALL"]), "OK");
  assert.equal(await worker.send(["DBSIZE"]), 0);
  assert.equal(client.store, store);
});

test("memoryDriver() validates its options", () => {
  assert.throws(() => memoryDriver({ db: 16 }), RangeError);
  assert.throws(() => memoryDriver({ db: -1 }), RangeError);
  assert.throws(() => memoryDriver({ databases: 0 }), RangeError);
  assert.throws(() => createMemoryStore({ databases: 1.5 }), RangeError);
  const store = createMemoryStore();
  assert.throws(() => memoryDriver({ store, now: Date.now }), TypeError);
  assert.throws(() => memoryDriver({ store: { databases: 16, now: Date.now } }), TypeError);
  assert.equal(memoryDriver({ databases: 2, db: 1 }).store.databases, 2);
});

test("memoryDriver() rejects malformed commands with TypeError", async () => {
  await using driver = memoryDriver();
  assert.ok((await rejection(driver.send([]))) instanceof TypeError);
  assert.ok(
    (await rejection(driver.send(["SET", "k", true as unknown as string]))) instanceof TypeError,
  );
  assert.ok((await rejection(driver.transaction([["GET", "k"], []]))) instanceof TypeError);
});

test("memoryDriver() runs commands in call order, before their promises settle", async () => {
  await using driver = memoryDriver();
  const set = driver.send(["SET", "k", "1"]);
  const incr = driver.send(["INCR", "k"]);
  const get = driver.send(["GET", "k"]);
  assert.deepEqual(await Promise.all([set, incr, get.then(text)]), ["OK", 2, "2"]);
});

test("memoryDriver() transaction() returns one reply per command, errors as items", async () => {
  await using driver = memoryDriver();
  await driver.send(["RPUSH", "list", "x"]);
  const replies = await driver.transaction([
    ["SET", "a", "1"],
    ["INCR", "a"],
    ["GET", "list"],
    ["INCRBY", "a", "x"],
    ["GET", "a"],
    ["RPUSH", "chord", "r1"],
    ["LLEN", "chord"],
  ]);
  assert.equal(replies.length, 7);
  assert.deepEqual(replies.slice(0, 2), ["OK", 2]);
  assert.ok(replies[2] instanceof RedisReplyError);
  assert.equal(
    serverText(replies[2] as Error),
    "WRONGTYPE Operation against a key holding the wrong kind of value",
  );
  assert.equal((replies[2] as RedisReplyError).command, "GET");
  assert.equal(serverText(replies[3] as Error), "ERR value is not an integer or out of range");
  assert.equal(text(replies[4]), "2");
  assert.deepEqual(replies.slice(5), [1, 1]);
  assert.deepEqual(await driver.transaction([]), []);
});

test("memoryDriver() transaction() discards the whole block on a queueing error", async () => {
  await using driver = memoryDriver();
  for (const bad of [["GET"], ["NOPE", "x"], ["MULTI"]] as RedisCommand[]) {
    const error = await rejection(driver.transaction([["SET", "a", "1"], bad, ["SET", "b", "2"]]));
    assert.equal(serverText(error), "EXECABORT Transaction discarded because of previous errors.");
    assert.ok((error as Error).cause instanceof RedisReplyError);
    assert.equal(await driver.send(["EXISTS", "a", "b"]), 0);
  }
});

test("memoryDriver() transaction() is atomic: nothing interleaves with it", async () => {
  const store = createMemoryStore();
  await using a = memoryDriver({ store });
  await using b = memoryDriver({ store });
  const seen: RedisReply[] = [];
  const sub = await a.openSubscriber({ onMessage: () => void seen.push("message") });
  await sub.subscribe(["c"]);
  const tx = a.transaction([["SET", "x", "1"], ["PUBLISH", "c", "m"], ["SET", "x", "2"]]);
  const read = b.send(["GET", "x"]);
  assert.deepEqual(seen, []); // delivered after the transaction, asynchronously
  assert.deepEqual(await tx, ["OK", 1, "OK"]);
  assert.equal(text(await read), "2");
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(seen, ["message"]);
  await sub.close();
});

test("memoryDriver() transaction() keeps SELECT for the following commands", async () => {
  await using driver = memoryDriver();
  const replies = await driver.transaction([["SELECT", 1], ["SET", "k", "one"], ["SELECT", 0]]);
  assert.deepEqual(replies, ["OK", "OK", "OK"]);
  assert.equal(await driver.send(["GET", "k"]), null);
  await driver.send(["SELECT", 1]);
  assert.equal(text(await driver.send(["GET", "k"])), "one");
});

test("memoryDriver() openSubscriber() delivers copies asynchronously and in order", async () => {
  const store = createMemoryStore();
  await using publisher = memoryDriver({ store });
  await using listener = memoryDriver({ store });
  const first: PubSubMessage[] = [];
  const second: PubSubMessage[] = [];
  await using s1 = await listener.openSubscriber({ onMessage: (m) => void first.push(m) });
  await using s2 = await listener.openSubscriber({ onMessage: (m) => void second.push(m) });
  await s1.subscribe(["celery-task-meta-1", "celery-task-meta-2"]);
  await s2.subscribe(["celery-task-meta-1"]);
  const payload = utf8.encode("one");
  const published = publisher.send(["PUBLISH", "celery-task-meta-1", payload]);
  assert.equal(first.length, 0, "delivery is asynchronous");
  assert.equal(await published, 2);
  assert.equal(await publisher.send(["PUBLISH", "celery-task-meta-2", "two"]), 1);
  assert.equal(await publisher.send(["PUBLISH", "celery-task-meta-1", "three"]), 2);
  payload[0] = 0x21;
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(first.map((m) => [m.channel, text(m.payload)]), [
    ["celery-task-meta-1", "one"],
    ["celery-task-meta-2", "two"],
    ["celery-task-meta-1", "three"],
  ]);
  assert.deepEqual(second.map((m) => text(m.payload)), ["one", "three"]);
  assert.notEqual(first[0]!.payload, second[0]!.payload, "each subscriber gets its own copy");
});

test("memoryDriver() reports subscriptions through PUBSUB and releases them", async () => {
  await using driver = memoryDriver();
  const sub = await driver.openSubscriber({ onMessage: () => {} });
  await sub.subscribe(["a", "b", "é"]);
  assert.deepEqual(texts(await driver.send(["PUBSUB", "CHANNELS"])).sort(), ["a", "b", "é"]);
  assert.deepEqual(texts(await driver.send(["PUBSUB", "CHANNELS", "[ab]"])).sort(), ["a", "b"]);
  const numsub = (await driver.send(["PUBSUB", "NUMSUB", "a", "z"])) as RedisReply[];
  assert.deepEqual([text(numsub[0]), numsub[1], text(numsub[2]), numsub[3]], ["a", 1, "z", 0]);
  await sub.unsubscribe(["a"]);
  assert.equal(await driver.send(["PUBLISH", "a", "x"]), 0);
  assert.deepEqual(texts(await driver.send(["PUBSUB", "CHANNELS"])).sort(), ["b", "é"]);
  await sub.unsubscribe([]); // like UNSUBSCRIBE without arguments: every channel
  assert.deepEqual(await driver.send(["PUBSUB", "CHANNELS"]), []);
  await sub.subscribe(["c"]);
  await sub.close();
  await sub.close();
  assert.deepEqual(await driver.send(["PUBSUB", "CHANNELS"]), []);
  assert.ok((await rejection(sub.subscribe(["d"]))) instanceof BackendClosedError);
});

test("memoryDriver() never calls onMessage after the subscriber is closed", async () => {
  await using driver = memoryDriver();
  const got: string[] = [];
  const sub = await driver.openSubscriber({ onMessage: (m) => void got.push(text(m.payload)) });
  await sub.subscribe(["c"]);
  const published = driver.send(["PUBLISH", "c", "before-close"]);
  const closed = sub.close(); // the message is still queued
  assert.equal(await published, 1);
  await closed;
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(got, []);
});

test("memoryDriver() close() is idempotent, closes subscribers and rejects later calls", async () => {
  const store = createMemoryStore();
  const driver = memoryDriver({ store });
  await using observer = memoryDriver({ store });
  const sub = await driver.openSubscriber({ onMessage: () => {} });
  await sub.subscribe(["c"]);
  await driver.close();
  await driver.close();
  await driver[Symbol.asyncDispose]();
  assert.equal(await observer.send(["PUBLISH", "c", "x"]), 0);
  for (
    const attempt of [
      driver.send(["PING"]),
      driver.transaction([["PING"]]),
      driver.openSubscriber({ onMessage: () => {} }),
      sub.subscribe(["c"]),
    ]
  ) {
    assert.ok((await rejection(attempt)) instanceof BackendClosedError);
  }
  // The store outlives the driver.
  await observer.send(["SET", "k", "v"]);
  assert.equal(text(await memoryDriver({ store }).send(["GET", "k"])), "v");
});

test("memoryDriver() orders sorted-set ties by member bytes", async () => {
  await using driver = memoryDriver();
  const members: (string | Uint8Array)[] = [
    "b",
    "a",
    "ab",
    "",
    "A",
    new Uint8Array([0xff]),
    "aa",
    "é",
    "\0",
  ];
  for (const m of members) await driver.send(["ZADD", "z", 1, m]);
  await driver.send(["ZADD", "z", 0, "zero", 2, "two"]);
  const order = ((await driver.send(["ZRANGE", "z", 0, -1])) as Uint8Array[]).map((m) => [...m]);
  assert.deepEqual(order, [
    [...utf8.encode("zero")],
    [],
    [0],
    [0x41],
    [0x61],
    [0x61, 0x61],
    [0x61, 0x62],
    [0x62],
    [0xc3, 0xa9],
    [0xff],
    [...utf8.encode("two")],
  ]);
  assert.deepEqual(texts(await driver.send(["ZRANGE", "z", 0, 1, "REV", "WITHSCORES"])), [
    "two",
    "2",
    "\ufffd",
    "1",
  ]);
});

// ---------------------------------------------------------------------------------------------
// Differential: the same commands against a real redis-server
// ---------------------------------------------------------------------------------------------

const hasRedis = spawnSync(redisServerBin, ["--version"]).status === 0;
const redisSkip = requirement(hasRedis, `redis-server (${redisServerBin})`);

type Wire = Resp2Reply;

/** A comparable form of a reply from either side. */
function normal(reply: Wire | RedisReply | Error, sort = false): unknown {
  if (reply instanceof RespServerError) return `-${reply.message}`;
  if (reply instanceof Error) return `-${serverText(reply)}`;
  if (reply instanceof Uint8Array) {
    const printable = reply.every((b) => b >= 0x20 && b < 0x7f);
    return printable ? `$${new TextDecoder().decode(reply)}` : `$hex:${[...reply].join(",")}`;
  }
  if (Array.isArray(reply)) {
    const items = reply.map((r) => normal(r, sort));
    return sort ? items.sort() : items;
  }
  if (typeof reply === "string") return `+${reply}`;
  return reply;
}

const UNORDERED = new Set(["KEYS", "PUBSUB", "SMEMBERS"]);

function label(command: RedisCommand): string {
  return command.map((a) => (a instanceof Uint8Array ? `<${[...a].join(",")}>` : String(a))).join(
    " ",
  );
}

/** Runs every command on both sides and returns `[label, real, memory]` for each mismatch. */
async function differential(
  commands: RedisCommand[],
): Promise<{ mismatches: [string, unknown, unknown][]; count: number }> {
  await using server = await startRedisServer();
  const connection = await RespTestClient.connect(server.port);
  await using driver = memoryDriver();
  const mismatches: [string, unknown, unknown][] = [];
  try {
    for (const command of commands) {
      const name = String(command[0]).toUpperCase();
      if (name === "SCAN") {
        const wire = await connection.call(command);
        const reply = await driver.send(command).catch((e: Error) => e);
        mismatches.push(...compareScan(command, wire, reply));
        continue;
      }
      const sort = UNORDERED.has(name);
      const real = normal(await connection.call(command), sort);
      let mine: unknown;
      try {
        mine = normal(await driver.send(command), sort);
      } catch (error) {
        mine = normal(error as Error);
      }
      if (JSON.stringify(real) !== JSON.stringify(mine)) {
        mismatches.push([label(command), real, mine]);
      }
    }
  } finally {
    connection.close();
  }
  return { mismatches, count: commands.length };
}

function compareScan(
  command: RedisCommand,
  real: Wire,
  mine: RedisReply | Error,
): [string, unknown, unknown][] {
  // A real SCAN may need several calls; with our small data sets it answers in one, cursor 0.
  const r = Array.isArray(real)
    ? [normal(real[0] as Wire), normal(real[1] as Wire, true)]
    : normal(real);
  const m = Array.isArray(mine) ? [normal(mine[0]!), normal(mine[1]!, true)] : normal(mine);
  return JSON.stringify(r) === JSON.stringify(m) ? [] : [[label(command), r, m]];
}

async function assertSameAsRedis(commands: RedisCommand[]): Promise<void> {
  const { mismatches } = await differential(commands);
  assert.deepEqual(
    mismatches,
    [],
    `memory driver differs from redis-server:\n${
      mismatches.map(([c, r, m]) =>
        `  ${c}\n    redis:  ${JSON.stringify(r)}\n    memory: ${JSON.stringify(m)}`
      )
        .join("\n")
    }`,
  );
}

test("memoryDriver() matches redis-server on strings, counters and their errors", {
  skip: redisSkip,
}, async () => {
  await assertSameAsRedis([
    ["SET", "s", "hello"],
    ["GET", "s"],
    ["GET", "missing"],
    ["MGET", "s", "missing", "s"],
    ["SET", "s", "v", "NX"],
    ["SET", "s", "v2", "XX"],
    ["SET", "new", "v", "XX"],
    ["SET", "new", "v", "NX", "GET"],
    ["SET", "new", "v3", "GET"],
    ["SET", "s", "v", "NX", "XX"],
    ["SET", "s", "v", "EX"],
    ["SET", "s", "v", "EX", "0"],
    ["SET", "s", "v", "EX", "-5"],
    ["SET", "s", "v", "EX", "abc"],
    ["SET", "s", "v", "EX", "1.5"],
    ["SET", "s", "v", "PX", "9223372036854775807"],
    ["SET", "s", "v", "EX", "9223372036854775807"],
    ["SET", "s", "v", "EX", "10", "PX", "100"],
    ["SET", "s", "v", "EX", "10", "EX", "20"],
    ["SET", "s", "v", "KEEPTTL", "EX", "10"],
    ["SET", "s", "v", "FOO"],
    ["SET", "s"],
    ["SETEX", "s", "0", "v"],
    ["SETEX", "s", "x", "v"],
    ["SETEX", "s", "100", "v"],
    ["SETNX", "s", "v"],
    ["SETNX", "fresh", "v"],
    ["MSET", "m1", "a", "m2", "b"],
    ["MSET", "m1", "a", "m2"],
    ["GETDEL", "m1"],
    ["GETDEL", "m1"],
    ["STRLEN", "m2"],
    ["STRLEN", "nothing"],
    ["INCR", "n"],
    ["INCRBY", "n", "41"],
    ["INCRBY", "n", "-100"],
    ["DECR", "n"],
    ["DECRBY", "n", "10"],
    ["INCRBY", "n", "1.5"],
    ["INCRBY", "n", " 1"],
    ["INCRBY", "n", "+1"],
    ["INCRBY", "n", "01"],
    ["INCRBY", "n", "-0"],
    ["INCRBY", "n", "9223372036854775808"],
    ["DECRBY", "n", "-9223372036854775808"],
    ["SET", "n", "9223372036854775807"],
    ["INCR", "n"],
    ["SET", "n", "-9223372036854775808"],
    ["DECR", "n"],
    ["SET", "n", "10 "],
    ["INCR", "n"],
    ["SET", "n", "007"],
    ["INCR", "n"],
    ["SET", "n", "abc"],
    ["INCR", "n"],
    ["RPUSH", "list", "x"],
    ["INCR", "list"],
    ["INCRBY", "list", "x"],
    ["GET", "list"],
    ["STRLEN", "list"],
    ["SET", "list", "v", "GET"],
    ["MGET", "list", "s"],
    ["SET", "list", "now a string"],
    ["GET", "list"],
    ["DEL", "s", "s", "new", "missing"],
    ["EXISTS", "list", "list", "missing", "m2"],
    ["TYPE", "list"],
    ["TYPE", "missing"],
  ]);
});

test("memoryDriver() matches redis-server on lists and negative LRANGE indices", {
  skip: redisSkip,
}, async () => {
  const indices = [-7, -5, -3, -1, 0, 1, 2, 4, 5, 7];
  const commands: RedisCommand[] = [
    ["RPUSH", "l", "a", "b", "c"],
    ["LPUSH", "l", "y", "z"],
    ["LLEN", "l"],
    ["LLEN", "missing"],
    ["LRANGE", "missing", 0, -1],
    ["LRANGE", "l", "x", 1],
    ["LRANGE", "l", 0, "1.0"],
    ["LRANGE", "l", 0],
  ];
  for (const start of indices) {
    for (const stop of indices) commands.push(["LRANGE", "l", start, stop]);
  }
  commands.push(
    ["SET", "s", "v"],
    ["RPUSH", "s", "x"],
    ["LLEN", "s"],
    ["LRANGE", "s", 0, -1],
    ["LRANGE", "s", "x", -1],
    ["RPUSH", "l"],
  );
  await assertSameAsRedis(commands);
});

test("memoryDriver() matches redis-server on LPOP/RPOP: counts, emptied lists, errors", {
  skip: redisSkip,
}, async () => {
  await assertSameAsRedis([
    ["RPUSH", "l", "a", "b", "c", "d", "e"],
    ["LPOP", "l"],
    ["RPOP", "l"],
    ["LPOP", "l", 2],
    ["RPUSH", "l", "f", "g"],
    ["RPOP", "l", 2],
    ["RPOP", "l", 0],
    ["LPOP", "l", 10],
    ["EXISTS", "l"], // an emptied list is deleted
    ["LPOP", "l"],
    ["RPOP", "l", 3],
    ["LPOP", "missing", 0],
    ["RPUSH", "l", "x"],
    ["LPOP", "l", -1],
    ["LPOP", "l", "x"],
    ["LPOP", "l", "1.5"],
    ["RPOP", "l", "99999999999999999999"],
    ["LPOP", "l", 1, 2],
    ["LPOP"],
    ["SET", "s", "v"],
    ["LPOP", "s"],
    ["RPOP", "s", 1],
  ]);
});

test("memoryDriver() matches redis-server on sets (kombu's queue bindings)", {
  skip: redisSkip,
}, async () => {
  const binding = "_kombu.binding.celery";
  const member = "celery\x06\x16\x06\x16celery";
  await assertSameAsRedis([
    ["SADD", binding, member],
    ["SADD", binding, member],
    ["SADD", binding, "b", "c", "b"],
    ["SCARD", binding],
    ["SMEMBERS", binding],
    ["SISMEMBER", binding, member],
    ["SISMEMBER", binding, "z"],
    ["SISMEMBER", "missing", "z"],
    ["TYPE", binding],
    ["SCAN", 0, "TYPE", "set"],
    ["SREM", binding, "b", "z"],
    ["SREM", "missing", "b"],
    ["SMEMBERS", "missing"],
    ["SCARD", "missing"],
    ["SADD", "bytes", new Uint8Array([0, 255, 10])],
    ["SMEMBERS", "bytes"],
    ["SREM", binding, "c", member],
    ["EXISTS", binding], // an emptied set is deleted
    ["SADD", binding],
    ["SISMEMBER", binding],
    ["SET", "s", "v"],
    ["SADD", "s", "x"],
    ["SMEMBERS", "s"],
    ["SCARD", "s"],
    ["SREM", "s", "x"],
    ["SISMEMBER", "s", "x"],
    ["RPUSH", "l", "x"],
    ["SADD", "l", "x"],
    ["LPUSH", binding, "x"],
    ["SADD", binding, "x"],
    ["LPUSH", binding, "x"],
  ]);
});

test("memoryDriver() matches redis-server on sorted sets: ties, ranges, bounds, options", {
  skip: redisSkip,
}, async () => {
  const tieMembers: (string | Uint8Array)[] = [
    "b",
    "a",
    "ab",
    "",
    "A",
    new Uint8Array([0xff]),
    "aa",
    "é",
    new Uint8Array([0]),
    "B",
    "a\0b",
    new Uint8Array([0x80, 0x01]),
    "~",
  ];
  const commands: RedisCommand[] = [];
  for (const m of tieMembers) commands.push(["ZADD", "z", 1, m]);
  commands.push(
    ["ZADD", "z", 0, "low", 2, "high", "-inf", "bottom", "+inf", "top", "1.5", "mid"],
    ["ZADD", "z", 3, "b"], // moves an existing member
    ["ZADD", "z", 1, "b"], // and back into the tie
    ["ZCARD", "z"],
  );
  const ranges: RedisArg[][] = [
    [0, -1],
    [1, 2],
    [-2, -1],
    [5, 1],
    [0, 100],
    [-100, 100],
    [-100, -50],
    [3, 3],
    [0, -1, "WITHSCORES"],
    [0, -1, "REV"],
    [0, 2, "REV", "WITHSCORES"],
    [0, -1, "withscores", "rev"],
    ["-inf", "+inf", "BYSCORE"],
    ["(1", "2", "BYSCORE"],
    ["1", "(2", "BYSCORE", "WITHSCORES"],
    ["(1", "(1.5", "BYSCORE"],
    ["-inf", "+inf", "BYSCORE", "LIMIT", 1, 3],
    ["-inf", "+inf", "BYSCORE", "LIMIT", 0, -1],
    ["-inf", "+inf", "BYSCORE", "LIMIT", -1, 2],
    ["-inf", "+inf", "BYSCORE", "LIMIT", 20, 2],
    ["-inf", "+inf", "BYSCORE", "LIMIT", 2, 0],
    ["+inf", "-inf", "BYSCORE", "REV"],
    ["2", "(1", "BYSCORE", "REV", "WITHSCORES"],
    ["+inf", "-inf", "BYSCORE", "REV", "LIMIT", 2, 3],
    ["1", "2", "BYSCORE", "REV"],
    [0, -1, "LIMIT", 0, 1],
    [0, -1, "LIMIT", 0, -1],
    [0, -1, "BYSCORE", "BYLEX"],
    [0, -1, "REV", "REV"],
    [0, -1, "FOO"],
    ["x", 1],
    [0, "1.5"],
    ["a", "b", "BYSCORE"],
    [0, -1, "LIMIT", "x", 1, "BYSCORE"],
    [0, -1, "LIMIT", 1],
    ["-", "+", "BYLEX", "WITHSCORES"],
    ["a", "b", "BYLEX"],
  ];
  for (const r of ranges) commands.push(["ZRANGE", "z", ...r]);
  // BYLEX is only meaningful when all scores are equal.
  for (const m of ["a", "b", "c", "ab", "", "d\xff"]) commands.push(["ZADD", "lex", 0, m]);
  for (
    const r of [
      ["-", "+"],
      ["[a", "[b"],
      ["(a", "[c"],
      ["[a", "(ab"],
      ["+", "-", "REV"],
      ["[c", "(a", "REV"],
      ["-", "+", "LIMIT", 1, 2],
      ["+", "-", "REV", "LIMIT", 0, 2],
      ["[", "+"],
      ["(", "+"],
      ["-", "-"],
      ["+", "+"],
      ["a", "+"],
    ] as RedisArg[][]
  ) {
    commands.push(["ZRANGE", "lex", ...r]);
  }
  const bounds = [
    "-inf",
    "+inf",
    "inf",
    "-INF",
    "(1",
    "1",
    "(2",
    "2",
    "(",
    "",
    " 1",
    "1 ",
    "abc",
    "nan",
    "(nan",
    "1e400",
    "0x10",
    "+1",
    ".5",
    "5.",
    "1e",
    "(-inf",
    "((1",
    "1.5",
  ];
  for (const min of bounds) {
    for (const max of ["+inf", "(2", "1", "abc"]) commands.push(["ZCOUNT", "z", min, max]);
  }
  for (const min of ["-inf", "(1"]) {
    for (const max of bounds) commands.push(["ZCOUNT", "z", min, max]);
  }
  commands.push(["ZCOUNT", "missing", "-inf", "+inf"], ["ZCOUNT", "missing", "x", "+inf"]);
  // Score parsing and reply formatting (Redis 7.0 prints %.17g).
  const scores = [
    "1",
    "-1",
    "+1",
    "1.5",
    ".5",
    "5.",
    "1e3",
    "1E3",
    "1e",
    " 1",
    "1 ",
    "",
    "abc",
    "inf",
    "-inf",
    "+inf",
    "Infinity",
    "-infinity",
    "nan",
    "NaN",
    "1e400",
    "-1e400",
    "1e-400",
    "1e-310",
    "0x1p3",
    "0x",
    "0x1.8p1",
    "1_0",
    "0.1",
    "1e20",
    "1e-5",
    "-0",
    "123456789012345680",
    "2.5e-7",
    "1e16",
    "1e17",
    "0.30000000000000004",
    "-12.75",
    "100000000000000000000000",
  ];
  scores.forEach((s, i) =>
    commands.push(["ZADD", "scores", s, `m${i}`], ["ZSCORE", "scores", `m${i}`])
  );
  commands.push(["ZRANGE", "scores", 0, -1, "WITHSCORES"]);
  // Options.
  commands.push(
    ["ZADD", "o", "NX", 1, "a"],
    ["ZADD", "o", "NX", 2, "a"],
    ["ZADD", "o", "XX", 3, "a", 1, "new"],
    ["ZADD", "o", "CH", 4, "a", 1, "b"],
    ["ZADD", "o", "GT", "CH", 2, "a", 5, "b", 1, "c"],
    ["ZADD", "o", "LT", "CH", 2, "a", 9, "b"],
    ["ZADD", "o", "XX", "GT", 10, "a"],
    ["ZADD", "o", "INCR", 2.5, "a"],
    ["ZADD", "o", "INCR", 1, "fresh"],
    ["ZADD", "o", "INCR", "XX", 1, "absent"],
    ["ZADD", "o", "INCR", "NX", 1, "a"],
    ["ZADD", "o", "INCR", "GT", -1, "a"],
    ["ZADD", "o", "INCR", "+inf", "inf-member"],
    ["ZADD", "o", "INCR", "-inf", "inf-member"],
    ["ZADD", "o", "INCR", 1, "a", 2, "b"],
    ["ZADD", "o", "NX", "XX", 1, "a"],
    ["ZADD", "o", "GT", "LT", 1, "a"],
    ["ZADD", "o", "NX", "GT", 1, "a"],
    ["ZADD", "o", 1, "a", 2],
    ["ZADD", "o", "NX"],
    ["ZADD", "o", 1],
    ["ZADD", "o", "x", "a", 1, "b"],
    ["ZADD", "absent", "XX", 1, "a"],
    ["EXISTS", "absent"],
    ["ZADD", "absent", "XX", "INCR", 1, "a"],
    ["ZRANGE", "o", 0, -1, "WITHSCORES"],
    ["ZREM", "o", "a", "zz", "b"],
    ["ZCARD", "o"],
    ["ZREM", "o", "c", "fresh", "inf-member"],
    ["EXISTS", "o"],
    ["ZSCORE", "o", "a"],
    ["ZSCORE", "missing", "a"],
    ["SET", "str", "v"],
    ["ZADD", "str", 1, "a"],
    ["ZADD", "str", "x", "a"],
    ["ZCOUNT", "str", "-inf", "+inf"],
    ["ZCOUNT", "str", "x", "+inf"],
    ["ZRANGE", "str", 0, -1],
    ["ZRANGE", "str", "x", -1],
    ["ZCARD", "str"],
    ["GET", "z"],
    ["TYPE", "z"],
  );
  await assertSameAsRedis(commands);
});

test("memoryDriver() matches redis-server on expiry commands", { skip: redisSkip }, async () => {
  await assertSameAsRedis([
    ["SET", "e", "v"],
    ["TTL", "e"],
    ["EXPIRE", "e", 100],
    ["TTL", "e"],
    ["EXPIRE", "e", 50, "NX"],
    ["EXPIRE", "e", 50, "XX"],
    ["TTL", "e"],
    ["EXPIRE", "e", 200, "LT"],
    ["EXPIRE", "e", 200, "GT"],
    ["TTL", "e"],
    ["PERSIST", "e"],
    ["PERSIST", "e"],
    ["TTL", "e"],
    ["EXPIRE", "e", 100, "GT"],
    ["EXPIRE", "e", 100, "LT"],
    ["TTL", "e"],
    ["EXPIRE", "e", 100, "nx", "xx"],
    ["EXPIRE", "e", 100, "gt", "lt"],
    ["EXPIRE", "e", 100, "foo"],
    ["EXPIRE", "e", "abc", "foo"],
    ["EXPIRE", "e", "abc"],
    ["EXPIRE", "e", "1.5"],
    ["EXPIRE", "e", "9223372036854775807"],
    ["EXPIRE", "e", "-9223372036854775808"],
    ["PEXPIRE", "e", "9223372036854775807"],
    ["EXPIRE", "e"],
    ["EXPIRE", "missing", 10],
    ["TTL", "missing"],
    ["PTTL", "missing"],
    ["PERSIST", "missing"],
    ["PEXPIRE", "e", 100000],
    ["TTL", "e"],
    ["EXPIREAT", "e", 4102444800],
    ["EXISTS", "e"],
    ["EXPIREAT", "e", 1000],
    ["EXISTS", "e"],
    ["SET", "e", "v"],
    ["PEXPIREAT", "e", 1000],
    ["EXISTS", "e"],
    ["SET", "e", "v"],
    ["EXPIRE", "e", 0],
    ["EXISTS", "e"],
    ["SET", "e", "v", "EX", 100],
    ["SET", "e", "w", "KEEPTTL"],
    ["TTL", "e"],
    ["SET", "e", "x"],
    ["TTL", "e"],
    ["SET", "e", "v", "PX", 100000],
    ["TTL", "e"],
    ["SETEX", "e", 100, "v"],
    ["INCR", "counter"],
    ["EXPIRE", "counter", 100],
    ["INCR", "counter"],
    ["TTL", "counter"],
    ["RPUSH", "l", "x"],
    ["EXPIRE", "l", 100],
    ["RPUSH", "l", "y"],
    ["TTL", "l"],
    ["SET", "l", "v"],
    ["TTL", "l"],
  ]);
});

test("memoryDriver() matches redis-server on misc commands, unknown commands and arity", {
  skip: redisSkip,
}, async () => {
  const arity: RedisCommand[] = [
    ["GET"],
    ["GET", "a", "b"],
    ["MGET"],
    ["SET", "k"],
    ["SETEX", "k", 1],
    ["DEL"],
    ["EXISTS"],
    ["INCR"],
    ["INCR", "a", "b"],
    ["INCRBY", "a"],
    ["DECRBY", "a", 1, 2],
    ["EXPIRE", "a"],
    ["TTL"],
    ["PUBLISH", "c"],
    ["RPUSH", "l"],
    ["LLEN"],
    ["LRANGE", "l", 0],
    ["ZADD", "z", 1],
    ["ZCOUNT", "z", 1],
    ["ZRANGE", "z", 0],
    ["KEYS"],
    ["SELECT"],
    ["PING", "a", "b"],
    ["ECHO"],
    ["TYPE"],
    ["DBSIZE", "x"],
    ["PUBSUB"],
    ["PUBSUB", "NUMPAT", "x"],
    ["PUBSUB", "CHANNELS", "a", "b"],
    ["ZSCORE", "z"],
    ["ZREM", "z"],
    ["ZCARD"],
    ["PTTL"],
    ["PERSIST"],
    ["SETNX", "k"],
    ["STRLEN"],
    ["GETDEL"],
    ["MSET"],
    ["SCAN"],
  ];
  await assertSameAsRedis([
    ["PING"],
    ["PING", "hello"],
    ["ping"],
    ["ECHO", "hi"],
    ["FOO"],
    ["FOO", "a", "b"],
    ["foo", "x".repeat(200), "y"],
    ["NOPE", "a\r\nb"],
    ["PUBSUB", "FOO"],
    ["PUBSUB", "foo", "bar"],
    ...arity,
    ["SELECT", 16],
    ["SELECT", -1],
    ["SELECT", "abc"],
    ["SELECT", 1],
    ["SET", "in1", "v"],
    ["DBSIZE"],
    ["SELECT", 0],
    ["GET", "in1"],
    ["DBSIZE"],
    ["SET", "alpha", "1"],
    ["SET", "beta", "2"],
    ["SET", "h?llo", "3"],
    ["SET", "hello", "4"],
    ["SET", "hallo", "5"],
    ["SET", "hxllo", "6"],
    ["RPUSH", "alist", "x"],
    ["KEYS", "*"],
    ["KEYS", "h?llo"],
    ["KEYS", "h[ae]llo"],
    ["KEYS", "h[^e]llo"],
    ["KEYS", "h[a-f]llo"],
    ["KEYS", "h\\?llo"],
    ["KEYS", "*a*"],
    ["KEYS", "nomatch*"],
    ["SCAN", 0],
    ["SCAN", 0, "MATCH", "h*"],
    ["SCAN", 0, "COUNT", 1000, "TYPE", "list"],
    ["SCAN", 0, "COUNT", 0],
    ["SCAN", 0, "COUNT", "x"],
    ["SCAN", 0, "FOO"],
    ["SCAN", "abc"],
    ["SCAN", ""],
    ["SCAN", "+"],
    ["SCAN", " 0"],
    ["SCAN", "18446744073709551616"],
    ["PUBLISH", "nobody", "x"],
    ["PUBSUB", "CHANNELS"],
    ["PUBSUB", "NUMSUB"],
    ["PUBSUB", "NUMSUB", "a", "b"],
    ["PUBSUB", "NUMPAT"],
    ["FLUSHDB", "FOO"],
    ["FLUSHDB", "ASYNC", "SYNC"],
    ["FLUSHDB", "sync"],
    ["DBSIZE"],
    ["SELECT", 1],
    ["DBSIZE"],
    ["FLUSHALL"],
    ["DBSIZE"],
  ]);
});

test("memoryDriver() matches redis-server on MULTI/EXEC results", { skip: redisSkip }, async () => {
  await using server = await startRedisServer();
  const connection = await RespTestClient.connect(server.port);
  await using driver = memoryDriver();
  const blocks: RedisCommand[][] = [
    [["SET", "a", "1"], ["INCR", "a"], ["LPUSH", "a", "x"], ["GET", "a"], ["INCRBY", "a", "x"]],
    [["SET", "b", "1"], ["GET"]],
    [["SET", "c", "1"], ["NOSUCH", "x"]],
    [["SELECT", 1], ["SET", "d", "1"], ["SELECT", 0], ["GET", "d"]],
    [["RPUSH", "chord", "r1"], ["LLEN", "chord"], ["EXPIRE", "chord", 86400], [
      "ZADD",
      "zc",
      0,
      "r",
    ], ["ZCOUNT", "zc", "-inf", "+inf"]],
    [],
  ];
  const after: RedisCommand[] = [["EXISTS", "b", "c"], ["GET", "d"], ["SELECT", 1], ["GET", "d"], [
    "SELECT",
    0,
  ]];
  try {
    for (const block of blocks) {
      await connection.call(["MULTI"]);
      for (const command of block) await connection.call(command);
      const real = normal(await connection.call(["EXEC"]));
      let mine: unknown;
      try {
        mine = normal(await driver.transaction(block));
      } catch (error) {
        mine = normal(error as Error);
      }
      assert.deepEqual(mine, real, block.map(label).join("; "));
    }
    for (const command of after) {
      assert.deepEqual(
        normal(await driver.send(command)),
        normal(await connection.call(command)),
        label(command),
      );
    }
  } finally {
    connection.close();
  }
});

test("memoryDriver() matches redis-server on PUBLISH counts and PUBSUB with subscribers", {
  skip: redisSkip,
}, async () => {
  await using server = await startRedisServer();
  const connection = await RespTestClient.connect(server.port);
  const subscriber1 = await RespTestClient.connect(server.port);
  const subscriber2 = await RespTestClient.connect(server.port);
  await using driver = memoryDriver();
  const received: string[] = [];
  await using memory1 = await driver.openSubscriber({
    onMessage: (m) => void received.push(m.channel),
  });
  await using memory2 = await driver.openSubscriber({
    onMessage: (m) => void received.push(m.channel),
  });
  try {
    for (const channel of ["a", "b", "celery-task-meta-1"]) {
      await subscriber1.call(["SUBSCRIBE", channel]);
      await memory1.subscribe([channel]);
    }
    await subscriber2.call(["SUBSCRIBE", "a"]);
    await memory2.subscribe(["a"]);
    const commands: RedisCommand[] = [
      ["PUBLISH", "a", "x"],
      ["PUBLISH", "b", "x"],
      ["PUBLISH", "c", "x"],
      ["PUBSUB", "CHANNELS"],
      ["PUBSUB", "CHANNELS", "celery-*"],
      ["PUBSUB", "CHANNELS", "?"],
      ["PUBSUB", "NUMSUB", "a", "b", "c", "a"],
      ["PUBSUB", "NUMPAT"],
    ];
    for (const command of commands) {
      const sort = command[1] === "CHANNELS";
      assert.deepEqual(
        normal(await driver.send(command), sort),
        normal(await connection.call(command), sort),
        label(command),
      );
    }
    await memory1.unsubscribe(["a"]);
    await subscriber1.call(["UNSUBSCRIBE", "a"]);
    assert.deepEqual(
      normal(await driver.send(["PUBLISH", "a", "y"])),
      normal(await connection.call(["PUBLISH", "a", "y"])),
    );
  } finally {
    connection.close();
    subscriber1.close();
    subscriber2.close();
  }
});
