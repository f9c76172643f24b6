// sendTask() over memory:// (the embedded driver): the message lands on the queue's list and the
// queue binding in its set, as on redis-server, and a TypeScript "worker" taking the message with
// RPOP can complete the result the sender is waiting for.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createBroker } from "../mod.ts";
import { parseTaskMessage, requestOf, takeTaskMessages } from "./_broker_messages.ts";

test("sendTask over memory:// pushes the message and binds the queue", async () => {
  await using broker = createBroker("memory://");
  await broker.sendTask("proj.add", { args: [2, 3], ignoreResult: true });
  await broker.sendTask("proj.add", { args: [4, 5], ignoreResult: true, priority: 7 });
  const driver = broker.driver;
  assert.deepEqual(
    (await driver.send(["SMEMBERS", "_kombu.binding.celery"]) as Uint8Array[]).map((m) =>
      new TextDecoder().decode(m)
    ),
    ["celery\x06\x16\x06\x16celery"],
  );
  const low = await driver.send(["LRANGE", "celery", 0, -1]) as Uint8Array[];
  const high = await driver.send(["LRANGE", "celery\x06\x166", 0, -1]) as Uint8Array[];
  assert.deepEqual(low.map((raw) => parseTaskMessage(raw).args), [[2, 3]]);
  assert.deepEqual(high.map((raw) => parseTaskMessage(raw).args), [[4, 5]]);
});

test("sendTask over memory:// is answered by a worker sharing the store", async () => {
  await using broker = createBroker("memory://");
  const states: string[] = [];
  const result = await broker.sendTask("proj.add", {
    args: [20, 22],
    onMessage: (meta) => states.push(meta.status),
  });
  const [message] = await takeTaskMessages(broker.driver, "celery", 1);
  assert.equal(message!.id, result.id);
  const request = requestOf(message!, "celery@memory");
  await broker.backend.markAsStarted(result.id, {}, request);
  await broker.backend.markAsDone(result.id, 42, request);
  assert.equal(await result.get({ timeout: 10_000 }), 42);
  assert.deepEqual(states, ["STARTED", "SUCCESS"]);
  assert.equal(await broker.driver.send(["LLEN", "celery"]), 0);
});
