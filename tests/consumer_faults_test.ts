// Fault tests of the pub/sub ResultConsumer against a real redis-server that is killed,
// restarted and shared by many waiters.
import { test } from "node:test";
import assert from "node:assert/strict";
import { AsyncResult, consumerFor, RedisBackend, tcpDriver } from "../mod.ts";
import { startRedisServer } from "./_redis_server.ts";
import { noChannelsLeft } from "./_pubsub.ts";
import { until } from "./_time.ts";
const text = new TextDecoder();

/** Clients from CLIENT LIST with their subscription counts. */
async function subscriptionsPerClient(backend: RedisBackend): Promise<number[]> {
  const list = text.decode((await backend.driver.send(["CLIENT", "LIST"])) as Uint8Array);
  return list.trim().split("\n").map((line) => Number(/ sub=(\d+)/.exec(line)?.[1] ?? 0))
    .filter((n) => n > 0);
}

test("ResultConsumer: 1,000 waits survive redis-server being killed and restarted", async () => {
  await using server = await startRedisServer();
  const reconnects: number[] = [];
  await using waiter = new RedisBackend(tcpDriver({ port: server.port }), {
    // The first retry waits 0.5 s, so results stored right after the restart can only be found
    // by the MGET that follows the resubscription.
    consumer: {
      type: "pubsub",
      retryPolicy: { maxRetries: 50, intervalStart: 0.5, intervalStep: 0.1, intervalMax: 0.5 },
      onConnectionError: (_e, retry) => reconnects.push(retry),
    },
  });
  await using writer = new RedisBackend(tcpDriver({ port: server.port }));
  const ids = Array.from({ length: 1000 }, (_, i) => `crash-${i}`);
  const waits = ids.map((id) => new AsyncResult(id, waiter).get({ timeout: 20_000 }));
  await until(
    "1,000 subscriptions",
    async () => (await subscriptionsPerClient(waiter))[0] === 1000,
  );
  assert.deepEqual(await subscriptionsPerClient(waiter), [1000]);

  await server.stop("SIGKILL");
  // The consumer has found the server gone (a reconnection attempt failed) before it comes back.
  await until("a failed reconnection attempt", () => reconnects.length >= 1);
  await server.restart();
  // Half complete while the consumer is still disconnected, half after it is back.
  for (const id of ids.slice(0, 500)) await writer.markAsDone(id, `value-${id}`);
  await until(
    "the consumer to subscribe again",
    async () => (await subscriptionsPerClient(writer)).length > 0,
  );
  await Promise.all(ids.slice(500).map((id) => writer.markAsDone(id, `value-${id}`)));

  const values = await Promise.all(waits);
  assert.deepEqual(values, ids.map((id) => `value-${id}`));
  assert.ok(reconnects.length >= 1, "the consumer reconnected at least once");
  assert.deepEqual(await noChannelsLeft(writer.driver), []);
});

test("ResultConsumer: 10,000 concurrent waiters share one subscription connection", async () => {
  await using server = await startRedisServer();
  await using backend = new RedisBackend(tcpDriver({ port: server.port }));
  const ids = Array.from({ length: 10_000 }, (_, i) => `shared-${i}`);
  const waits = ids.map((id) => consumerFor(backend).wait(id));
  await until(
    "10,000 subscriptions",
    async () => (await subscriptionsPerClient(backend))[0] === 10_000,
  );
  assert.deepEqual(await subscriptionsPerClient(backend), [10_000]);
  const info = text.decode((await backend.driver.send(["INFO", "clients"])) as Uint8Array);
  // This backend's command connection and its one subscriber connection.
  assert.match(info, /connected_clients:2\r\n/);
  await Promise.all(ids.map((id) => backend.markAsDone(id, 1)));
  await Promise.all(waits);
  // Unsubscribes are confirmed asynchronously after the waits resolve.
  assert.deepEqual(await noChannelsLeft(backend.driver, 10_000), []);
});

test("ResultConsumer: a retry limit exhausted rejects the pending waits with a clear error", async () => {
  await using server = await startRedisServer();
  await using backend = new RedisBackend(tcpDriver({ port: server.port }), {
    consumer: {
      type: "pubsub",
      retryPolicy: { maxRetries: 2, intervalStart: 0.05, intervalStep: 0, intervalMax: 0.05 },
    },
  });
  const waiting = new AsyncResult("lost", backend).get();
  await until("the subscription", async () => (await subscriptionsPerClient(backend)).length === 1);
  await server.stop("SIGKILL");
  await assert.rejects(waiting, /Retry limit exceeded while trying to reconnect/);
});
