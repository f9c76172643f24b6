// Bad input to sendTask() is a typed error thrown before any command reaches Redis; a broker that
// is down is retried by Celery's publish policy and the message arrives once and whole, or not at
// all when the retries run out.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import {
  Broker,
  createBackend,
  EncodeError,
  type RedisCommand,
  RedisConnectionError,
  type RedisDriver,
  type RedisReply,
  tcpDriver,
} from "../mod.ts";
import { parseTaskMessage } from "./_broker_messages.ts";
import { deferred } from "./_deferred.ts";
import { type RedisServer, startRedisServer } from "./_redis_server.ts";

/** A driver that records every command and answers nothing. */
function recordingDriver(): RedisDriver & { commands: RedisCommand[] } {
  const commands: RedisCommand[] = [];
  return {
    name: "recording",
    commands,
    send(command: RedisCommand): Promise<RedisReply> {
      commands.push(command);
      return Promise.resolve(null);
    },
    transaction(block: readonly RedisCommand[]): Promise<RedisReply[]> {
      commands.push(...block);
      return Promise.resolve(block.map(() => 1));
    },
    close: () => Promise.resolve(),
    [Symbol.asyncDispose]: () => Promise.resolve(),
  };
}

const cyclic: Record<string, unknown> = { a: 1 };
cyclic.self = cyclic;

const refused: [string, unknown, Record<string, unknown>, new (...a: never[]) => Error, RegExp][] =
  [
    ["a name that is not a string", 42, {}, TypeError, /task name must be a non-empty string/],
    ["an empty name", "", {}, TypeError, /task name/],
    ["args that are not an array", "t", { args: { 0: 1 } }, TypeError, /args must be an array/],
    ["kwargs that are an array", "t", { kwargs: [1] }, TypeError, /kwargs must be a plain object/],
    ["a function argument", "t", { args: [() => 1] }, EncodeError, /function at \[0\]\[0\]/],
    ["a symbol argument", "t", { kwargs: { s: Symbol("x") } }, EncodeError, /symbol at \[1\]\.s/],
    ["a cyclic argument", "t", { args: [cyclic] }, EncodeError, /Circular reference/],
    ["undefined in kwargs", "t", { kwargs: { u: undefined } }, EncodeError, /undefined/],
    ["an eta that is not a date", "t", { eta: "2030-01-01" }, TypeError, /eta must be a Date/],
    ["an invalid eta", "t", { eta: new Date(NaN) }, RangeError, /eta is an invalid Date/],
    [
      "a negative countdown",
      "t",
      { countdown: -1 },
      RangeError,
      /countdown must be .*non-negative/,
    ],
    [
      "countdown and eta",
      "t",
      { countdown: 1, eta: new Date() },
      TypeError,
      /either countdown or eta/,
    ],
    [
      "priority 256",
      "t",
      { priority: 256 },
      RangeError,
      /priority must be an integer from 0 to 255/,
    ],
    ["priority -1", "t", { priority: -1 }, RangeError, /priority must be an integer from 0 to 255/],
    ["priority 1.5", "t", { priority: 1.5 }, RangeError, /priority must be an integer/],
    ["an infinite expires", "t", { expires: Infinity }, RangeError, /expires must be a finite/],
    ["an empty task id", "t", { taskId: "" }, TypeError, /taskId must not be empty/],
    ["an empty queue", "t", { queue: "" }, TypeError, /queue must be a non-empty string/],
    ["an unknown serializer", "t", { serializer: "pickle" }, RangeError, /serializer must be/],
  ];

for (const [label, name, options, type, message] of refused) {
  test(`sendTask refuses ${label} before sending anything`, async () => {
    const driver = recordingDriver();
    await using broker = new Broker(driver);
    await assert.rejects(
      // deno-lint-ignore no-explicit-any
      broker.sendTask(name as any, options as any),
      (error: Error) => {
        assert.ok(error instanceof type, `${error.name}: ${error.message}`);
        assert.match(error.message, message);
        return true;
      },
    );
    assert.deepEqual(driver.commands, []);
  });
}

test("revoke refuses ids that are not strings before sending anything", async () => {
  const driver = recordingDriver();
  await using broker = new Broker(driver);
  // deno-lint-ignore no-explicit-any
  await assert.rejects(broker.revoke([42 as any]), TypeError);
  await assert.rejects(broker.revoke("id", { signal: "" }), TypeError);
  assert.deepEqual(driver.commands, []);
});

let server: RedisServer;
before(async () => {
  server = await startRedisServer();
});
after(async () => {
  await server.stop();
});

test("a broker that is down is retried by the publish policy; the message arrives once", async () => {
  await server.stop();
  const failures: number[] = [];
  const restarted = deferred<void>();
  await using broker = new Broker(tcpDriver({ host: server.host, port: server.port }), {
    publishRetryPolicy: {
      maxRetries: 1000,
      intervalStart: 0.02,
      intervalStep: 0,
      intervalMax: 0.02,
    },
    onConnectionError: (_error, retry) => {
      failures.push(retry);
      // Bring the server back once the first attempt has failed.
      if (retry === 1) void server.restart().then(restarted.resolve, restarted.reject);
    },
  });
  const sent = await broker.sendTask("proj.add", { args: [1, 2], ignoreResult: true });
  await restarted.promise;
  assert.ok(failures.length >= 1);
  await using check = createBackend(`${server.url}/0`);
  const messages = (await check.driver.send(["LRANGE", "celery", 0, -1])) as Uint8Array[];
  assert.equal(messages.length, 1);
  const message = parseTaskMessage(messages[0]!);
  assert.equal(message.id, sent.id);
  assert.deepEqual(message.args, [1, 2]);
});

test("when the retries run out the send fails and nothing was pushed", async () => {
  await using check = createBackend(`${server.url}/0`);
  await check.driver.send(["FLUSHDB"]);
  await server.stop();
  const failures: number[] = [];
  await using broker = new Broker(tcpDriver({ host: server.host, port: server.port }), {
    publishRetryPolicy: { maxRetries: 2, intervalStart: 0, intervalStep: 0.01, intervalMax: 0.01 },
    onConnectionError: (_error, retry) => failures.push(retry),
  });
  await assert.rejects(
    broker.sendTask("proj.add", { args: [1, 2], ignoreResult: true }),
    RedisConnectionError,
  );
  assert.deepEqual(failures, [1, 2]);
  await server.restart();
  assert.equal(await check.driver.send(["EXISTS", "celery"]), 0);
});
