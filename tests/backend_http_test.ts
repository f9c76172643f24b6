// The HTTP driver over the local Upstash REST server (in front of a real redis-server): the shared
// backend and consumer conformance suites, then what is particular to HTTP.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { Redis } from "@upstash/redis";
import {
  AsyncResult,
  BackendClosedError,
  consumerFor,
  createBackend,
  httpDriver,
  httpDriverFromUrl,
  httpStreaming,
  msgpackSerializer,
  type PollingConsumer,
  RedisAuthenticationError,
  RedisBackend,
  RedisConnectionError,
  RedisReplyError,
  waitForResult,
} from "../edge.ts";
import { createBackend as createMainBackend } from "../mod.ts";
import { defineBackendConformance } from "./_backend_conformance.ts";
import { defineChordConformance } from "./_chord_conformance.ts";
import { defineConsumerConformance } from "./_consumer_conformance.ts";
import { noChannelsLeft, subscriberCounts } from "./_pubsub.ts";
import { settled, until } from "./_time.ts";
import { type RedisServer, startRedisServer } from "./_redis_server.ts";
import { startUpstashServer, type UpstashServer } from "./_upstash_server.ts";

const TOKEN = "test-token-secret";
let redis: RedisServer;
let rest: UpstashServer;
before(async () => {
  redis = await startRedisServer();
  rest = await startUpstashServer({ redisPort: redis.port, token: TOKEN, db: 2 });
});
after(async () => {
  await rest.close();
  await redis[Symbol.asyncDispose]();
});

// The subscribe requests this file's clients made: whether each was aborted, failed, or had its
// body cancelled. When the server still counts a stream, this tells a stream we left open from
// one the server has not noticed closing.
interface SubscribeRequest {
  aborted: () => boolean;
  failed: boolean;
  cancelled: boolean;
}
const subscribeRequests: SubscribeRequest[] = [];
const realFetch = globalThis.fetch;
globalThis.fetch = async (input, init) => {
  const url = String(input instanceof Request ? input.url : input);
  if (!url.includes("/subscribe/")) return await realFetch(input, init);
  const entry = { aborted: () => init?.signal?.aborted === true, failed: false, cancelled: false };
  subscribeRequests.push(entry);
  let response: Response;
  try {
    response = await realFetch(input, init);
  } catch (error) {
    entry.failed = true;
    throw error;
  }
  if (!response.body) return response;
  const reader = response.body.getReader();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { value, done } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    async cancel(reason) {
      entry.cancelled = true;
      await reader.cancel(reason);
    },
  });
  return new Response(body, { status: response.status, headers: response.headers });
};

async function untilNoOpenStream(what: string, count = 0): Promise<void> {
  try {
    await until(what, () => rest.openStreams === count);
  } catch (error) {
    const ours = subscribeRequests.filter((r) => !r.cancelled && !r.failed).length;
    throw new Error(
      `${
        (error as Error).message
      }: the server counts ${rest.openStreams} (${rest.describeStreams()}); ` +
        `${ours} of our ${subscribeRequests.length} subscribe requests neither cancelled nor failed`,
    );
  }
}

const text = (bytes: unknown) => new TextDecoder().decode(bytes as Uint8Array);
const keysOf = (backend: RedisBackend, ids: string[]) => ids.map((id) => backend.keys.task(id));

// Streaming on: the backend suite's publish test then runs too, and the consumer suite waits over
// server-sent events (its polling test forces the PollingConsumer over the same driver).
defineBackendConformance("http", async () => {
  const driver = httpDriver({ url: rest.url, token: TOKEN, streaming: httpStreaming() });
  await driver.send(["FLUSHDB"]);
  return driver;
});

defineConsumerConformance("http", async () => {
  const driver = httpDriver({ url: rest.url, token: TOKEN, streaming: httpStreaming() });
  await driver.send(["FLUSHDB"]);
  return driver;
});

defineChordConformance("http", async () => {
  const driver = httpDriver({ url: rest.url, token: TOKEN });
  await driver.send(["FLUSHDB"]);
  return driver;
});

test("httpDriver() finds its URL and token in options, env, process.env, a client or a URL", async () => {
  const drivers = [
    httpDriver({ url: rest.url, token: TOKEN }),
    httpDriver({ env: { UPSTASH_REDIS_REST_URL: rest.url, UPSTASH_REDIS_REST_TOKEN: TOKEN } }),
    httpDriver({ env: { KV_REST_API_URL: `${rest.url}/`, KV_REST_API_TOKEN: TOKEN } }),
    // A client with @upstash/redis's defaults: its URL and token are used, not its settings.
    httpDriver({ redis: new Redis({ url: rest.url, token: TOKEN, enableTelemetry: false }) }),
    httpDriverFromUrl(rest.url.replace("http://", `http://default:${TOKEN}@`)),
    httpDriverFromUrl(rest.url, { token: TOKEN }),
  ];
  const saved = { ...process.env };
  process.env.UPSTASH_REDIS_REST_URL = rest.url;
  process.env.UPSTASH_REDIS_REST_TOKEN = TOKEN;
  try {
    drivers.push(httpDriver());
  } finally {
    for (const name of ["UPSTASH_REDIS_REST_URL", "UPSTASH_REDIS_REST_TOKEN"]) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  }
  await drivers[0]!.send(["SET", "cfg", '{"a": 1}']);
  for (const driver of drivers) {
    // No JSON parsing, no UTF-8 text: the stored bytes.
    assert.equal(text(await driver.send(["GET", "cfg"])), '{"a": 1}', driver.url);
    assert.equal(await driver.send(["PING"]), "PONG");
    assert.equal(driver.url, rest.url);
    await driver.close();
  }
  assert.throws(() => httpDriver({ env: {} }), TypeError);
  assert.throws(() => httpDriver({ env: { UPSTASH_REDIS_REST_URL: rest.url } }), /token/);
  assert.throws(() => httpDriver({ url: "redis://x", token: "t" }), /https:\/\//);
  await using backend = createBackend(rest.url, { token: TOKEN });
  await backend.markAsDone("cfg-1", 5);
  assert.equal((await backend.getTaskMeta("cfg-1")).result, 5);
  assert.throws(() => createBackend("redis://127.0.0.1:6379/0"), /needs TCP/);
});

test("httpDriver() fails with RedisAuthenticationError on a wrong token, hiding it", async () => {
  await using driver = httpDriver({ url: rest.url, token: "not-the-token-xyz" });
  await assert.rejects(
    driver.send(["GET", "x"]),
    (e: unknown) =>
      e instanceof RedisAuthenticationError && !String(e.message).includes("not-the-token-xyz"),
  );
  assert.equal(driver.name, "http");
});

test("httpDriver() reads exact bytes and writes bytes that are not UTF-8 through EVAL", async () => {
  await using driver = httpDriver({ url: rest.url, token: TOKEN });
  const bytes = new Uint8Array(256).map((_, i) => i);
  rest.resetCounts();
  assert.equal(await driver.send(["SET", "bin:1", bytes]), "OK");
  assert.deepEqual(rest.commands, ["EVAL"]);
  assert.deepEqual(await driver.send(["GET", "bin:1"]), bytes);
  // The atomic store of a result: SETEX + PUBLISH in one request, exact bytes.
  rest.resetCounts();
  const replies = await driver.transaction([
    ["SETEX", "bin:2", 100, bytes],
    ["PUBLISH", "bin:2", bytes],
  ]);
  assert.deepEqual(replies, ["OK", 0]);
  assert.deepEqual(rest.requests, { "/": 1 });
  assert.deepEqual(await driver.send(["GET", "bin:2"]), bytes);
  assert.equal(await driver.send(["TTL", "bin:2"]), 100);
  // Errors keep their slot, as in MULTI/EXEC.
  const mixed = await driver.transaction([["INCR", "bin:2"], ["SET", "bin:3", bytes]]);
  assert.ok(mixed[0] instanceof RedisReplyError && /not an integer/.test(mixed[0].message));
  assert.equal(mixed[1], "OK");
  // Valid UTF-8 (what Celery's JSON is) goes as plain JSON, byte for byte.
  rest.resetCounts();
  const utf8 = new TextEncoder().encode('{"s": "é€😀"}');
  await driver.transaction([["SET", "bin:4", utf8]]);
  assert.deepEqual(rest.commands, ["MULTI", "SET", "EXEC"]);
  assert.deepEqual(await driver.send(["GET", "bin:4"]), utf8);
  await using strict = httpDriver({ url: rest.url, token: TOKEN, binaryWrites: "reject" });
  await assert.rejects(strict.send(["SET", "bin:5", bytes]), TypeError);
});

test("httpDriver() never resends a write whose answer was lost, and retries reads", async () => {
  await using driver = httpDriver({ url: rest.url, token: TOKEN, backoff: () => 1 });
  await driver.send(["SET", "n", "0"]);
  rest.dropAnswers(1);
  await assert.rejects(driver.send(["INCRBY", "n", 1]), RedisConnectionError);
  assert.equal(text(await driver.send(["GET", "n"])), "1"); // applied once, not twice
  rest.dropAnswers(1);
  await assert.rejects(
    driver.transaction([["INCRBY", "n", 1], ["PUBLISH", "n", "x"]]),
    RedisConnectionError,
  );
  assert.equal(text(await driver.send(["GET", "n"])), "2");
  rest.resetCounts();
  rest.dropAnswers(2);
  assert.equal(text(await driver.send(["GET", "n"])), "2"); // a read is retried
  assert.equal(rest.requests["/"], 3);
});

test("httpDriver() close() ends a read's pause before its retry, with BackendClosedError", async () => {
  let pausing = false;
  const driver = httpDriver({
    url: rest.url,
    token: TOKEN,
    readRetries: 1,
    backoff: () => {
      pausing = true; // called as the pause starts
      return 600_000;
    },
  });
  rest.dropAnswers(1);
  const reading = driver.send(["GET", "paused"]);
  await until("the pause before the retry", () => pausing);
  await driver.close();
  await assert.rejects(settled("the paused read", reading), BackendClosedError);
});

test("httpDriver() rejects on timeout or close instead of resolving 'Aborted'", async () => {
  // The server holds every request until the test ends, then drops it unanswered and unexecuted:
  // no answer ever comes in time, and no held command runs later, into the next test's counts.
  let release!: (reason: Error) => void;
  const held = new Promise<void>((_, reject) => (release = reject));
  held.catch(() => {});
  const arrived: string[] = [];
  rest.setHook((_path, body) => {
    arrived.push(String((body as unknown[])[0]));
    return held;
  });
  try {
    await using slow = httpDriver({
      url: rest.url,
      token: TOKEN,
      requestTimeout: 50,
      readRetries: 0,
    });
    await assert.rejects(slow.send(["GET", "x"]), /timed out after 50 ms/);
    // Closed while a request is at the server: a timeout long enough that only close() ends it.
    await using closing = httpDriver({ url: rest.url, token: TOKEN, requestTimeout: 600_000 });
    const pending = closing.send(["SET", "x", "1"]);
    await until("the SET at the server", () => arrived.includes("SET"));
    await closing.close();
    await assert.rejects(
      pending,
      (e: unknown) => e instanceof BackendClosedError && e.message.length > 0,
    );
  } finally {
    rest.setHook(undefined);
    release(new Error("the test is over"));
  }
});

test("httpDriver() polling sends one HTTP request, one MGET of every key, per tick for 1, 10 or 100 waiters", async () => {
  for (const n of [1, 10, 100]) {
    const driver = httpDriver({ url: rest.url, token: TOKEN });
    await using backend = new RedisBackend(driver, {
      consumer: { type: "polling", minInterval: 5, maxInterval: 5, jitter: 0 },
    });
    const consumer = consumerFor(backend) as PollingConsumer;
    const ids = Array.from({ length: n }, (_, i) => `tick-${n}-${i}`);
    rest.resetCounts();
    const waits = ids.map((id) => consumerFor(backend).wait(id));
    await until("three polls", () => consumer.ticks >= 3);
    // What the server received while the results were pending: MGETs only, one per request.
    const commands = [...rest.commands];
    const requests = { ...rest.requests };
    assert.ok(commands.length >= 2, `${n} waiters: ${commands.length} commands`);
    assert.deepEqual(new Set(commands), new Set(["MGET"]), `${n} waiters: ${commands}`);
    assert.deepEqual(requests, { "/": commands.length }, `${n} waiters`);
    assert.ok(commands.length <= consumer.ticks);
    await Promise.all(ids.map((id) => backend.markAsDone(id, 1)));
    await Promise.all(waits);
  }
});

test("waitForResult() returns the last state at the deadline, or the ready state", async () => {
  await using backend = createBackend(rest.url, {
    token: TOKEN,
    consumer: { type: "polling", minInterval: 10, maxInterval: 20 },
  });
  assert.deepEqual(
    await waitForResult(backend, "dl-none", { deadline: Date.now() + 80 }),
    { status: "PENDING", result: null },
  );
  await backend.storeResult("dl-1", { done: 1, total: 3 }, "PROGRESS");
  const partial = await waitForResult(backend, "dl-1", { deadline: new Date(Date.now() + 80) });
  assert.equal(partial.status, "PROGRESS");
  assert.deepEqual(partial.result, { done: 1, total: 3 });
  rest.resetCounts();
  const finishing = waitForResult(backend, "dl-1", { deadline: Date.now() + 10_000 });
  await until("an MGET", () => rest.commands.includes("MGET")); // it is polling: now the result comes
  await backend.markAsDone("dl-1", "finished");
  const done = await finishing;
  assert.equal(done.result, "finished");
  const controller = new AbortController();
  const aborted = waitForResult(backend, "dl-2", { signal: controller.signal, deadline: 1e15 });
  controller.abort(new Error("request gone"));
  await assert.rejects(aborted, /request gone/);
});

test("httpDriver({ streaming }) keeps one stream for every channel, confirmed before reading", async () => {
  const driver = httpDriver({ url: rest.url, token: TOKEN, streaming: httpStreaming() });
  await using backend = new RedisBackend(driver);
  rest.resetCounts();
  const ids = Array.from({ length: 50 }, (_, i) => `one-stream-${i}`);
  const waits = ids.map((id) => consumerFor(backend).wait(id));
  await until(
    "50 subscriptions",
    async () => (await subscriberCounts(driver, keysOf(backend, ids))).every((c) => c === 1),
  );
  assert.equal(rest.openStreams, 1);
  assert.equal(rest.requests["/subscribe"], 1);
  await Promise.all(ids.map((id) => backend.markAsDone(id, id)));
  assert.deepEqual((await Promise.all(waits)).map((m) => m.result), ids);
  await untilNoOpenStream("no open stream");
});

test("httpDriver({ streaming }) cancels the body of a stream it closes, not only aborts it", async () => {
  const driver = httpDriver({ url: rest.url, token: TOKEN, streaming: httpStreaming() });
  await using backend = new RedisBackend(driver);
  const from = subscribeRequests.length;
  const controller = new AbortController();
  const waiting = consumerFor(backend).wait("cancelled-body", { signal: controller.signal });
  waiting.catch(() => {});
  await until("the stream", () => rest.openStreams === 1);
  const [request] = subscribeRequests.slice(from);
  assert.ok(request);
  assert.equal(request.cancelled, false);
  controller.abort(new Error("given up"));
  await until("the body cancelled", () => request.cancelled);
  await untilNoOpenStream("the stream closed at the server");
});

test("httpDriver({ streaming }) closes a replacement stream whose channels were given up while it opened", async () => {
  const driver = httpDriver({
    url: rest.url,
    token: TOKEN,
    streaming: httpStreaming({ compactDelay: 10 }),
  });
  await using backend = new RedisBackend(driver);
  const waitA = consumerFor(backend).wait("given-up-a");
  const waitB = consumerFor(backend).wait("given-up-b");
  await until(
    "one stream for a and b",
    async () =>
      rest.openStreams === 1 &&
      (await subscriberCounts(driver, keysOf(backend, ["given-up-a", "given-up-b"])))
        .every((c) => c === 1),
  );
  const ended = rest.endedStreams;
  // Hold the confirmation of the next stream: the one compaction opens for b alone.
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let holding = false;
  rest.setSubscribeHook(async () => {
    holding = true;
    await held;
  });
  try {
    await backend.markAsDone("given-up-a", "a");
    await waitA;
    await until("the replacement stream for b", () => holding);
    // b completes over the old stream while its replacement is still unconfirmed.
    await backend.markAsDone("given-up-b", "b");
    assert.equal((await waitB).result, "b");
    await until("b given up (the old stream closed)", () => rest.openStreams === 0);
  } finally {
    release();
    rest.setSubscribeHook(undefined);
  }
  // Released, the replacement is confirmed and must then be closed: two streams ended in all.
  await until("the replacement stream closed", () => rest.endedStreams === ended + 2);
  assert.equal(rest.openStreams, 0);
  assert.deepEqual(await noChannelsLeft(driver), []);
});

test("httpDriver({ streaming }) polls when the stream drops, then re-opens it", async () => {
  const driver = httpDriver({
    url: rest.url,
    token: TOKEN,
    streaming: httpStreaming({ pollInterval: 20, reopenBackoff: () => 150 }),
  });
  await using backend = new RedisBackend(driver);
  const seen: string[] = [];
  const waiting = consumerFor(backend).wait("drop-1", { onMessage: (m) => seen.push(m.status) });
  await until("one open stream", () => rest.openStreams === 1);
  rest.setStreaming(false);
  rest.dropStreams();
  rest.resetCounts();
  await backend.storeResult("drop-1", { step: 1 }, "PROGRESS");
  await until("the PROGRESS state", () => seen.includes("PROGRESS")); // seen by polling, the stream being refused
  assert.equal(rest.openStreams, 0);
  assert.ok(rest.commands.includes("MGET"), "polled");
  rest.setStreaming(true);
  await until("one open stream", () => rest.openStreams === 1); // re-opened
  await until(
    "the subscription to drop-1",
    async () => (await subscriberCounts(driver, ["celery-task-meta-drop-1"]))[0] === 1,
  );
  await backend.markAsDone("drop-1", "after reopen");
  assert.equal((await waiting).result, "after reopen");
  assert.deepEqual(seen, ["PROGRESS", "SUCCESS"]);
});

test("httpDriver({ streaming }) polls from the start where streaming is refused", async () => {
  rest.setStreaming(false);
  try {
    const driver = httpDriver({
      url: rest.url,
      token: TOKEN,
      streaming: httpStreaming({ pollInterval: 20, reopenBackoff: () => 10_000 }),
    });
    await using backend = new RedisBackend(driver);
    rest.resetCounts();
    const waiting = new AsyncResult("refused-1", backend).get({ timeout: 10_000 });
    await until("an MGET", () => rest.commands.includes("MGET")); // polling, since the stream is refused
    await backend.markAsDone("refused-1", 11);
    assert.equal(await waiting, 11);
  } finally {
    rest.setStreaming(true);
  }
});

test("httpDriver({ streaming }) re-reads a streamed payload that is not UTF-8 (msgpack)", async () => {
  const driver = httpDriver({ url: rest.url, token: TOKEN, streaming: httpStreaming() });
  await using backend = new RedisBackend(driver, { resultSerializer: msgpackSerializer });
  const seen: unknown[] = [];
  const waiting = consumerFor(backend).wait("mp-1", { onMessage: (m) => seen.push(m.result) });
  await until("one open stream", () => rest.openStreams === 1);
  const value = { bytes: "\u00ff\u0000\n", n: 1234567, list: [1.5, -2, "x"] };
  await backend.storeResult("mp-1", value, "PROGRESS");
  // The streamed text lost bytes, so the key is read instead: wait for that before the next state.
  await until("the first state", () => seen.length === 1);
  await backend.markAsDone("mp-1", [value, value]);
  assert.deepEqual((await waiting).result, [value, value]);
  assert.deepEqual(seen, [value, [value, value]]);
});

test("mod.ts createBackend() takes an https:// (here http://) REST URL with a token", async () => {
  await using backend = createMainBackend(rest.url, { token: TOKEN, http: { streaming: false } });
  assert.equal(backend.driver.name, "http");
  await backend.markAsDone("via-url", { ok: true });
  assert.deepEqual(await new AsyncResult("via-url", backend).get({ timeout: 5000 }), { ok: true });
  await using wrongToken = createMainBackend(rest.url, { token: "not-the-token" });
  await assert.rejects(
    wrongToken.getTaskMeta("via-url"),
    (e: unknown) =>
      e instanceof RedisAuthenticationError && !e.message.includes("not-the-token") &&
      !String(e.stack).includes("not-the-token"),
  );
});
