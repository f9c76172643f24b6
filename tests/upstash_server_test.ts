// The local Upstash REST server (tests/_upstash_server.ts) proven faithful by @upstash/redis's own
// client: plain commands, JSON values, pipelines, transactions, errors, auth, both response
// encodings, and streaming subscribe.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { Redis } from "@upstash/redis";
import { type RedisServer, startRedisServer } from "./_redis_server.ts";
import { startUpstashServer, type UpstashServer } from "./_upstash_server.ts";
import { sleep } from "./_time.ts";

const TOKEN = "fidelity-token";
let redis: RedisServer;
let rest: UpstashServer;
before(async () => {
  redis = await startRedisServer();
  rest = await startUpstashServer({ redisPort: redis.port, token: TOKEN, db: 1 });
});
after(async () => {
  await rest.close();
  await redis[Symbol.asyncDispose]();
});

const client = (extra: Record<string, unknown> = {}) =>
  new Redis({ url: rest.url, token: TOKEN, enableTelemetry: false, ...extra });

test("upstash server: @upstash/redis set/get round-trips strings, JSON and UTF-8", async () => {
  const r = client();
  assert.equal(await r.set("fid:s", "plain text"), "OK");
  assert.equal(await r.get("fid:s"), "plain text");
  await r.set("fid:j", { a: 1, b: [true, null], c: "é€😀" });
  assert.deepEqual(await r.get("fid:j"), { a: 1, b: [true, null], c: "é€😀" });
  assert.deepEqual(await r.mget("fid:s", "fid:missing"), ["plain text", null]);
  assert.equal(await r.incr("fid:n"), 1);
  assert.equal(await r.incrby("fid:n", 41), 42);
  assert.equal(await r.expire("fid:n", 100), 1);
  assert.equal(await r.ttl("fid:n"), 100);
  assert.equal(await r.del("fid:n", "fid:s"), 2);
  assert.equal(await r.exists("fid:s"), 0);
  assert.equal(await r.ping(), "PONG");
});

test("upstash server: @upstash/redis without base64 encoding reads the same values", async () => {
  const r = client({ responseEncoding: false });
  await r.set("fid:raw", "über");
  assert.equal(await r.get("fid:raw"), "über");
  assert.deepEqual(await r.lrange("fid:none", 0, -1), []);
  await r.rpush("fid:list", "a", "b");
  assert.deepEqual(await r.lrange("fid:list", 0, -1), ["a", "b"]);
});

test("upstash server: @upstash/redis pipelines and transactions", async () => {
  const r = client();
  const p = r.pipeline();
  p.set("fid:p", 5);
  p.incr("fid:p");
  p.get("fid:p");
  assert.deepEqual(await p.exec(), ["OK", 6, 6]);
  const m = r.multi();
  m.set("fid:m", "x");
  m.append("fid:m", "yz");
  m.zadd("fid:z", { score: 1, member: "one" });
  m.zrange("fid:z", 0, -1);
  assert.deepEqual(await m.exec(), ["OK", 3, 1, ["one"]]);
  assert.deepEqual(rest.commands.slice(-6), ["MULTI", "SET", "APPEND", "ZADD", "ZRANGE", "EXEC"]);
});

test("upstash server: errors come back as UpstashError with Redis's message", async () => {
  const r = client();
  await r.set("fid:str", "not a number");
  await assert.rejects(r.incr("fid:str"), /ERR value is not an integer or out of range/);
  await assert.rejects(r.lpush("fid:str", "x"), /WRONGTYPE Operation against a key/);
  const p = r.pipeline();
  p.get("fid:str");
  p.incr("fid:str");
  await assert.rejects(p.exec(), /ERR value is not an integer/);
  // A queueing error discards the whole transaction.
  const response = await fetch(`${rest.url}/multi-exec`, {
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify([["SET", "fid:never", "1"], ["NOSUCHCOMMAND"]]),
  });
  assert.equal(response.status, 400);
  assert.match((await response.json()).error, /^EXECABORT .*unknown command/);
  assert.equal(await r.exists("fid:never"), 0);
});

test("upstash server: a wrong token is refused with 401 Unauthorized", async () => {
  const r = new Redis({
    url: rest.url,
    token: "wrong",
    enableTelemetry: false,
    retry: { retries: 0 },
  });
  await assert.rejects(r.get("x"), /Unauthorized/);
  const viaQuery = await fetch(`${rest.url}/get/x?_token=${TOKEN}`);
  assert.deepEqual(await viaQuery.json(), { result: null });
});

test("upstash server: base64 encoding and path commands carry exact bytes", async () => {
  const bytes = new Uint8Array(256).map((_, i) => i);
  const post = await fetch(`${rest.url}/set/fid:bin?EX=100`, {
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}` },
    body: bytes,
  });
  assert.deepEqual(await post.json(), { result: "OK" });
  const got = await fetch(rest.url, {
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}`, "upstash-encoding": "base64" },
    body: JSON.stringify(["GET", "fid:bin"]),
  });
  const { result } = await got.json();
  const decoded = Uint8Array.from(atob(result), (c) => c.charCodeAt(0));
  assert.deepEqual(decoded, bytes);
  assert.equal(await client().ttl("fid:bin"), 100);
});

test("upstash server: @upstash/redis streaming subscribe receives messages", async () => {
  const r = client();
  const subscriber = r.subscribe<string>(["fid:ch1", "fid:ch2"]);
  const received: string[] = [];
  subscriber.on("message", (m) => received.push(`${m.channel}=${JSON.stringify(m.message)}`));
  // @upstash/redis does not wait for the server's confirmation: wait for it here.
  for (let i = 0; i < 200; i++) {
    const counts = await r.exec<unknown[]>(["PUBSUB", "NUMSUB", "fid:ch1", "fid:ch2"]);
    if (counts[1] === 1 && counts[3] === 1) break;
    await sleep(10);
  }
  assert.equal(await r.publish("fid:ch1", { n: 1 }), 1);
  assert.equal(await r.publish("fid:ch2", "two"), 1);
  for (let i = 0; i < 200 && received.length < 2; i++) await sleep(10);
  assert.deepEqual(received.sort(), ['fid:ch1={"n":1}', 'fid:ch2="two"']);
  await subscriber.unsubscribe();
  for (let i = 0; i < 200 && rest.openStreams > 0; i++) await sleep(10);
  assert.equal(rest.openStreams, 0);
});

test("upstash server: a stream sends confirmations, then messages split over data lines", async () => {
  const controller = new AbortController();
  const response = await fetch(`${rest.url}/subscribe/fid:raw1`, {
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}`, accept: "text/event-stream" },
    body: "[]",
    signal: controller.signal,
  });
  assert.equal(response.headers.get("content-type"), "text/event-stream");
  const reader = response.body!.getReader();
  let text = "";
  const readUntil = async (part: string) => {
    while (!text.includes(part)) text += new TextDecoder().decode((await reader.read()).value);
  };
  await readUntil("\n\n");
  assert.equal(text, "data: subscribe,fid:raw1,1\n\n");
  await client().publish("fid:raw1", "line one\nline two");
  await readUntil("line two\n\n");
  assert.equal(
    text.slice(text.indexOf("\n\n") + 2),
    "data: message,fid:raw1,line one\ndata: line two\n\n",
  );
  controller.abort();
  await reader.cancel().catch(() => {});
});

test("upstash server: commands that need a connection of their own are refused", async () => {
  const r = client();
  await assert.rejects(r.exec(["SUBSCRIBE", "x"]), /not available/);
  await assert.rejects(r.exec(["BLPOP", "x", "1"]), /not available/);
});
