// A worker's store (the SUCCESS guard's GET, then SETEX + PUBLISH) is retried as a whole by the
// retry policy, so markAsDone() rides out a Redis outage, a LOADING server and CLIENT KILL, where
// Celery retries only the SET. Against a real redis-server, plus drivers that fail on cue.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  createBackend,
  memoryDriver,
  RedisBackend,
  RedisConnectionError,
  type RedisDriver,
  RedisReplyError,
  retryingDriver,
} from "../mod.ts";
import { startRedisServer } from "./_redis_server.ts";
import { sleep, until } from "./_time.ts";

const fastRetries = { maxRetries: 10_000, intervalStart: 0.02, intervalStep: 0, intervalMax: 0.02 };

test("markAsDone() during an outage waits for Redis to come back and stores once", async () => {
  await using server = await startRedisServer();
  const retries: Error[] = [];
  await using backend = createBackend(`${server.url}/0`, {
    retryPolicy: fastRetries,
    onConnectionError: (error) => retries.push(error),
  });
  await backend.markAsDone("before", 1); // the connection is open
  await server.stop("SIGKILL");
  let settled = false;
  const storing = backend.markAsDone("outage", 42).finally(() => (settled = true));
  // Redis stays down until the store has been retried at least once.
  await until("a retry of the store", () => retries.length > 0 || settled);
  await server.restart();
  const meta = await storing;
  assert.equal(meta?.status, "SUCCESS");
  assert.ok(retries.length >= 1, "the store was retried");
  assert.equal((await backend.getTaskMeta("outage")).result, 42);
});

test("stores survive CLIENT KILL of their connection, none lost or changed", async () => {
  await using server = await startRedisServer();
  const retries: Error[] = [];
  await using worker = createBackend(`${server.url}/0`, {
    retryPolicy: fastRetries,
    onConnectionError: (error) => retries.push(error),
  });
  await using killer = createBackend(`${server.url}/0`);
  let storing = true;
  let kills = 0;
  const killing = (async () => {
    while (storing) {
      // SKIPME yes (the default): every client but the killer's own connection.
      kills += Number(await killer.driver.send(["CLIENT", "KILL", "TYPE", "normal"]));
      await sleep(1); // a kill every millisecond or so, while the stores go on
    }
  })();
  // A failed kill fails the test below (`await killing`), not as an unhandled rejection meanwhile.
  killing.catch(() => {});
  const ids = Array.from({ length: 150 }, (_, i) => `killed-${i}`);
  try {
    for (const id of ids) await worker.markAsDone(id, { id });
  } finally {
    storing = false;
    await killing;
  }
  assert.ok(kills > 0 && retries.length > 0, `kills ${kills}, retries ${retries.length}`);
  const metas = await killer.getTaskMetas(ids);
  assert.deepEqual(metas.map((m) => (m.result as { id: string }).id), ids);
});

/** Wraps a driver; `fail` may throw before (or after) a command reaches it. */
function faulty(
  inner: RedisDriver,
  fail: (kind: "send" | "transaction", name: string, ran: boolean) => Error | undefined,
): RedisDriver & { transactions: number } {
  const driver = {
    name: "faulty",
    transactions: 0,
    async send(command: readonly (string | number | bigint | Uint8Array)[]) {
      const error = fail("send", String(command[0]), false);
      if (error) throw error;
      return await inner.send(command);
    },
    async transaction(commands: readonly (readonly (string | number | bigint | Uint8Array)[])[]) {
      const error = fail("transaction", "MULTI", false);
      if (error) throw error;
      driver.transactions++;
      const replies = await inner.transaction(commands);
      const lost = fail("transaction", "MULTI", true);
      if (lost) throw lost;
      return replies;
    },
    close: () => inner.close(),
    [Symbol.asyncDispose]: () => inner.close(),
  };
  return driver;
}

const noSleep = () => Promise.resolve();

test("the guard's GET answered LOADING is retried with the store", async () => {
  let loading = 2;
  const driver = faulty(
    memoryDriver(),
    (kind) =>
      kind === "send" && loading-- > 0
        ? new RedisReplyError("LOADING Redis is loading the dataset in memory", "GET")
        : undefined,
  );
  await using backend = new RedisBackend(
    retryingDriver(driver, { retry: "writes", sleep: noSleep }),
  );
  const meta = await backend.markAsDone("loading", "ok");
  assert.equal(meta?.status, "SUCCESS");
  assert.equal(loading, -1, "the GET failed twice, then went through");
  assert.equal((await backend.getTaskMeta("loading")).result, "ok");
});

test("a store whose reply was lost is not written or published twice", async () => {
  let lose = true;
  const driver = faulty(memoryDriver(), (_kind, _name, ran) => {
    if (!ran || !lose) return undefined;
    lose = false;
    return new RedisConnectionError("Connection to Redis was closed by the server");
  });
  await using backend = new RedisBackend(
    retryingDriver(driver, { retry: "writes", sleep: noSleep }),
  );
  const meta = await backend.markAsDone("lost-reply", 7);
  assert.equal(meta?.status, "SUCCESS", "the retry recognised its own stored bytes");
  assert.equal(driver.transactions, 1, "SETEX + PUBLISH ran once");
});
