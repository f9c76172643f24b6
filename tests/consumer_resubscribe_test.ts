// The ResultConsumer after a lost subscription connection: it subscribes again and then reads
// every pending key, so a result stored while nobody was subscribed (its PUBLISH reached no one)
// still resolves the wait. The gap is made deterministic by holding the reconnection until the
// result is stored.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { AsyncResult, RedisBackend, type RedisDriver, tcpDriver } from "../mod.ts";
import { type RedisServer, startRedisServer } from "./_redis_server.ts";
import { subscriberCounts } from "./_pubsub.ts";
import { until } from "./_time.ts";

let server: RedisServer;
before(async () => {
  server = await startRedisServer();
});
after(async () => {
  await server[Symbol.asyncDispose]();
});

test("ResultConsumer reads a result stored while its subscription was lost, after resubscribing", async () => {
  const inner = tcpDriver({ port: server.port, db: 5 });
  let opened = 0;
  let releaseReconnect!: () => void;
  const reconnectHeld = new Promise<void>((resolve) => (releaseReconnect = resolve));
  let reconnectAsked!: () => void;
  const reconnecting = new Promise<void>((resolve) => (reconnectAsked = resolve));
  const gated: RedisDriver = {
    name: inner.name,
    send: (command) => inner.send(command),
    transaction: (commands) => inner.transaction(commands),
    async openSubscriber(handlers) {
      if (++opened > 1) {
        reconnectAsked();
        await reconnectHeld;
      }
      return await inner.openSubscriber!(handlers);
    },
    close: () => inner.close(),
    [Symbol.asyncDispose]: () => inner.close(),
  };
  await using backend = new RedisBackend(gated, {
    consumer: {
      type: "pubsub",
      retryPolicy: { maxRetries: 5, intervalStart: 0, intervalStep: 0.01 },
    },
  });
  const key = backend.keys.task("gap-1");
  const waiting = new AsyncResult("gap-1", backend).get({ timeout: 10_000 });
  await until("the subscription", async () => (await subscriberCounts(inner, [key]))[0] === 1);

  await inner.send(["CLIENT", "KILL", "TYPE", "pubsub"]);
  await reconnecting;
  assert.deepEqual(await subscriberCounts(inner, [key]), [0], "nobody is subscribed");
  await backend.markAsDone("gap-1", "stored in the gap");
  releaseReconnect();

  assert.equal(await waiting, "stored in the gap");
  assert.equal(opened, 2, "one reconnection");
});
