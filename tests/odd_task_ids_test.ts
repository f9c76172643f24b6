// Task ids holding commas, spaces, line breaks, glob characters or non-ASCII text are stored,
// read and waited on over every driver: memory, TCP, HTTP polling and HTTP streaming (whose
// `message,<channel>,<payload>` lines must not be split at a comma inside the channel).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import {
  AsyncResult,
  httpDriver,
  httpStreaming,
  memoryDriver,
  RedisBackend,
  type RedisDriver,
  tcpDriver,
} from "../mod.ts";
import { channels } from "./_pubsub.ts";
import { until } from "./_time.ts";
import { type RedisServer, startRedisServer } from "./_redis_server.ts";
import { startUpstashServer, type UpstashServer } from "./_upstash_server.ts";

const ODD_IDS = [
  "comma,separated,id",
  "x", // with "x,y" and "x,y,z": one channel name is the start of another's message line
  "x,y",
  "x,y,z",
  "with space",
  "new\nline",
  "crlf\r\nid",
  "cr\ronly",
  "star*",
  "question?",
  "[brackets]-glob",
  "ünïcødé-任务-🎉",
  "replacement-\uFFFD",
  "trailing,",
  ",leading",
];

const TOKEN = "odd-ids-token";
// Streaming with no early fallback to polling (which would hide a channel the stream mishandles).
const NO_FALLBACK = { pollInterval: 60_000, confirmTimeout: 60_000 };
let redis: RedisServer;
let rest: UpstashServer;
before(async () => {
  redis = await startRedisServer();
  rest = await startUpstashServer({ redisPort: redis.port, token: TOKEN, db: 7 });
});
after(async () => {
  await rest.close();
  await redis[Symbol.asyncDispose]();
});

interface DriverCase {
  name: string;
  make(): RedisDriver;
  polling?: boolean;
}

const cases: DriverCase[] = [
  { name: "memory", make: () => memoryDriver() },
  { name: "tcp", make: () => tcpDriver({ port: redis.port, db: 6 }) },
  { name: "http polling", make: () => httpDriver({ url: rest.url, token: TOKEN }), polling: true },
  {
    name: "http streaming",
    // Nothing to fall back on: an unconfirmed channel or a dropped message hangs the wait.
    make: () => httpDriver({ url: rest.url, token: TOKEN, streaming: httpStreaming(NO_FALLBACK) }),
  },
];

for (const { name, make, polling } of cases) {
  test(`${name}: odd task ids are stored, read and waited on, each under its own key`, async () => {
    await using backend = new RedisBackend(make(), {
      consumer: polling ? { type: "polling", minInterval: 10, maxInterval: 20 } : undefined,
    });
    await backend.driver.send(["FLUSHDB"]);
    // Waits first, so results arrive as published messages (or polls), not as the first read.
    const waits = ODD_IDS.map((id) => new AsyncResult(id, backend).get({ timeout: 20_000 }));
    const keys = ODD_IDS.map((id) => backend.keys.task(id));
    if (!polling) {
      await until("every channel subscribed", async () => {
        const subscribed = new Set(await channels(backend.driver));
        return keys.every((key) => subscribed.has(key));
      }, 20_000);
    }
    for (const id of ODD_IDS) await backend.markAsDone(id, `value of ${id}`);
    assert.deepEqual(await Promise.all(waits), ODD_IDS.map((id) => `value of ${id}`));

    // Each record sits under exactly its own key, and reads back with its own id.
    for (const [i, id] of ODD_IDS.entries()) {
      assert.equal(await backend.driver.send(["EXISTS", keys[i]!]), 1, JSON.stringify(id));
      const meta = await backend.getTaskMeta(id);
      assert.deepEqual([meta.task_id, meta.result], [id, `value of ${id}`]);
    }
    assert.deepEqual(
      (await backend.getTaskMetas(ODD_IDS)).map((m) => m.result),
      ODD_IDS.map((id) => `value of ${id}`),
    );
    assert.equal(await backend.driver.send(["DBSIZE"]), ODD_IDS.length);
    await backend.forget("x,y");
    assert.equal((await backend.getTaskMeta("x,y")).status, "PENDING");
    assert.equal((await backend.getTaskMeta("x")).status, "SUCCESS");
  });
}

test("http streaming: a result for one id never resolves a wait on an id it starts with", async () => {
  const driver = httpDriver({ url: rest.url, token: TOKEN, streaming: httpStreaming(NO_FALLBACK) });
  await using backend = new RedisBackend(driver);
  await backend.driver.send(["FLUSHDB"]);
  const seen: string[] = [];
  const short = new AsyncResult("p", backend).get({
    timeout: 20_000,
    onMessage: (m) => seen.push(String(m.result)),
  });
  const long = new AsyncResult("p,q", backend).get({ timeout: 20_000 });
  const keys = ["p", "p,q"].map((id) => backend.keys.task(id));
  await until("both channels subscribed", async () => {
    const subscribed = new Set(await channels(backend.driver));
    return keys.every((key) => subscribed.has(key));
  }, 20_000);
  await backend.markAsDone("p,q", "long");
  assert.equal(await long, "long");
  await backend.markAsDone("p", "short");
  assert.equal(await short, "short");
  assert.deepEqual(seen, ["short"]);
});
