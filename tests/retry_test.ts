// Retry policy and reconnection: ensure() and retryDelayMs() against kombu's own retry_over_time /
// fxrange, retryingDriver() (idempotent commands retried, INCRBY/RPUSH not), a redis-server
// restarted during a stream of stores (none lost, none changed), the health check noticing a
// paused server within its interval, and the connection pool bounded by maxConnections.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  BackendClosedError,
  createBackend,
  DEFAULT_RETRY_POLICY,
  ensure,
  isIdempotentCommand,
  RedisAuthenticationError,
  RedisConnectionError,
  type RedisDriver,
  type RedisReply,
  RedisReplyError,
  retryDelayMs,
  retryingDriver,
  tcpDriver,
} from "../mod.ts";
import { type RedisServer, startRedisServer } from "./_redis_server.ts";
import { celeryPythons, requirement } from "./_env.ts";
import { celeryAvailable } from "./_celery.ts";
import { sleep, until } from "./_time.ts";

let server: RedisServer;
before(async () => {
  // Persistence on, fsync per write: a restart keeps every acknowledged write.
  server = await startRedisServer({ args: ["--appendonly", "yes", "--appendfsync", "always"] });
});
after(async () => {
  await server[Symbol.asyncDispose]();
});

const noSleep = () => Promise.resolve();

test("ensure() follows Celery's default policy: 20 retries sleeping 0 s then 1 s, then rethrows", async () => {
  const sleeps: number[] = [];
  const callbacks: [string, number, number][] = [];
  let attempts = 0;
  const failure = new RedisConnectionError("down");
  await assert.rejects(
    ensure(
      () => {
        attempts++;
        return Promise.reject(failure);
      },
      {},
      {
        sleep: (ms) => {
          sleeps.push(ms);
          return Promise.resolve();
        },
        onConnectionError: (error, retry, ms) => callbacks.push([error.message, retry, ms]),
      },
    ),
    (e: unknown) => e === failure,
  );
  assert.equal(DEFAULT_RETRY_POLICY.maxRetries, 20);
  assert.equal(attempts, 21);
  assert.deepEqual(sleeps, [0, ...Array(19).fill(1000)]);
  assert.deepEqual(callbacks[0], ["down", 1, 0]);
  assert.deepEqual(callbacks[19], ["down", 20, 1000]);
});

test("ensure() rethrows other errors at once and stops on timeout or abort", async () => {
  let attempts = 0;
  await assert.rejects(
    ensure(
      () => {
        attempts++;
        return Promise.reject(new RedisReplyError("WRONGTYPE nope"));
      },
      {},
      { sleep: noSleep },
    ),
    RedisReplyError,
  );
  assert.equal(attempts, 1);
  // kombu's `timeout`: no retry once it has passed.
  let clock = 0;
  attempts = 0;
  await assert.rejects(
    ensure(
      () => {
        attempts++;
        clock += 4000;
        return Promise.reject(new RedisConnectionError("down"));
      },
      { maxRetries: 100, timeout: 10 },
      { sleep: noSleep, now: () => clock },
    ),
    RedisConnectionError,
  );
  assert.equal(attempts, 3);
  const controller = new AbortController();
  const stop = new Error("stop");
  await assert.rejects(
    ensure(
      () => {
        controller.abort(stop);
        return Promise.reject(new RedisConnectionError("down"));
      },
      { maxRetries: Infinity },
      { signal: controller.signal },
    ),
    (e: unknown) => e === stop,
  );
});

test("retryDelayMs() sleeps as kombu's retry_over_time does (live fxrange)", {
  skip: requirement(celeryAvailable("5.6"), "Python with Celery 5.6 (kombu)"),
}, () => {
  const policies = [
    {},
    { intervalStart: 2, intervalStep: 2, intervalMax: 30 },
    { intervalStart: 0.5, intervalStep: 0.1, intervalMax: 0.5 },
    { intervalStart: 0.2, intervalStep: 0, intervalMax: 1 },
    { intervalStart: 1, intervalStep: 0.5, intervalMax: 3 },
    { intervalStart: 0, intervalStep: 0.25, intervalMax: 0 },
  ];
  const script = String.raw`
import json, sys
from itertools import islice
from kombu.utils.functional import fxrange
out = []
for p in json.load(sys.stdin):
    start = p.get("intervalStart", 0); step = p.get("intervalStep", 1); mx = p.get("intervalMax", 1)
    out.append([round(x * 1000, 6) for x in islice(fxrange(start, mx + start, step, repeatlast=True), 40)])
json.dump(out, sys.stdout)
`;
  const run = spawnSync(celeryPythons["5.6"], ["-c", script], {
    input: JSON.stringify(policies),
    encoding: "utf8",
  });
  assert.equal(run.status, 0, run.stderr);
  const kombu = JSON.parse(run.stdout) as number[][];
  policies.forEach((policy, i) => {
    const ours = Array.from({ length: 40 }, (_, n) => retryDelayMs(policy, n + 1));
    ours.forEach((ms, n) => {
      assert.ok(Math.abs(ms - kombu[i]![n]!) < 1e-6, `${JSON.stringify(policy)} #${n}: ${ms}`);
    });
  });
});

/** A driver whose next `failures` calls fail with the given error (after running, or not). */
function flakyDriver(failures: number, error: () => Error = () => new RedisConnectionError("x")) {
  const calls: string[] = [];
  let left = failures;
  const driver: RedisDriver = {
    name: "flaky",
    send(command) {
      calls.push(String(command[0]));
      if (left-- > 0) return Promise.reject(error());
      return Promise.resolve("OK" as RedisReply);
    },
    transaction(commands) {
      calls.push(commands.map((c) => String(c[0])).join("+"));
      if (left-- > 0) return Promise.reject(error());
      return Promise.resolve(commands.map(() => "OK" as RedisReply));
    },
    close: () => Promise.resolve(),
    [Symbol.asyncDispose]: () => Promise.resolve(),
  };
  return { driver, calls };
}

test("retryingDriver() resends idempotent commands and transactions on connection errors", async () => {
  const { driver, calls } = flakyDriver(2);
  const retries: number[] = [];
  const redis = retryingDriver(driver, {
    sleep: noSleep,
    onConnectionError: (_e, retry) => retries.push(retry),
  });
  assert.equal(await redis.send(["GET", "k"]), "OK");
  assert.deepEqual(calls, ["GET", "GET", "GET"]);
  assert.deepEqual(retries, [1, 2]);
  const tx = flakyDriver(1);
  const txRedis = retryingDriver(tx.driver, { sleep: noSleep });
  await txRedis.transaction([["SETEX", "k", 60, "v"], ["PUBLISH", "k", "v"]]);
  assert.deepEqual(tx.calls, ["SETEX+PUBLISH", "SETEX+PUBLISH"]);
});

test("retryingDriver() never resends INCRBY, RPUSH, SET NX, or a transaction holding one", async () => {
  for (
    const run of [
      (r: RedisDriver) => r.send(["INCRBY", "k", 1]),
      (r: RedisDriver) => r.send(["RPUSH", "k", "v"]),
      (r: RedisDriver) => r.send(["SET", "k", "v", "NX"]),
      (r: RedisDriver) => r.transaction([["ZADD", "k", 1, "m"], ["INCRBY", "c", 1]]),
      (r: RedisDriver) => r.send(["ZADD", "k", "INCR", 1, "m"]),
    ]
  ) {
    const { driver, calls } = flakyDriver(1);
    await assert.rejects(run(retryingDriver(driver, { sleep: noSleep })), RedisConnectionError);
    assert.equal(calls.length, 1);
  }
  assert.ok(isIdempotentCommand(["ZADD", "k", 1, "m"]));
  assert.ok(isIdempotentCommand(["set", "k", "v", "EX", 10]));
  assert.ok(!isIdempotentCommand(["INCR", "k"]));
  assert.ok(!isIdempotentCommand(["EVAL", "return 1", 0]));
});

test("retryingDriver() does not retry refused credentials, reply errors, or after close()", async () => {
  const auth = flakyDriver(5, () => new RedisAuthenticationError("refused"));
  await assert.rejects(
    retryingDriver(auth.driver, { sleep: noSleep }).send(["GET", "k"]),
    RedisAuthenticationError,
  );
  assert.equal(auth.calls.length, 1);
  const reply = flakyDriver(5, () => new RedisReplyError("WRONGTYPE x"));
  await assert.rejects(
    retryingDriver(reply.driver, { sleep: noSleep }).send(["GET", "k"]),
    RedisReplyError,
  );
  assert.equal(reply.calls.length, 1);
  // Celery's own scope retries result writes only.
  const writes = flakyDriver(1);
  const celery = retryingDriver(writes.driver, { retry: "writes", sleep: noSleep });
  await assert.rejects(celery.send(["GET", "k"]), RedisConnectionError);
  await celery.transaction([["SETEX", "k", 1, "v"], ["PUBLISH", "k", "v"]]);
  assert.deepEqual(writes.calls, ["GET", "SETEX+PUBLISH"]);
  // close() ends a retry that is sleeping.
  const down = flakyDriver(Infinity);
  let asleep!: () => void;
  const sleeping = new Promise<void>((resolve) => (asleep = resolve));
  const closing = retryingDriver(down.driver, {
    retryPolicy: { maxRetries: Infinity },
    // Called as a retry is scheduled: one with a delay is sleeping when close() comes.
    onConnectionError: (_error, _retry, sleepMs) => sleepMs > 0 && asleep(),
  });
  const pending = closing.send(["GET", "k"]);
  await sleeping;
  await closing.close();
  await assert.rejects(pending, BackendClosedError);
});

test("a redis-server restarted during a stream of stores loses none and changes none", async () => {
  const url = `redis://127.0.0.1:${server.port}/3`;
  let retries = 0;
  await using backend = createBackend(url, {
    alwaysRetry: true,
    retryPolicy: { maxRetries: 100, intervalStart: 0, intervalStep: 0.05, intervalMax: 0.1 },
    onConnectionError: () => retries++,
  });
  await backend.driver.send(["FLUSHDB"]);
  const total = 400;
  const stores: Promise<unknown>[] = [];
  const counted: Promise<"counted" | "failed">[] = [];
  let restarted = false;
  for (let i = 0; i < total; i++) {
    stores.push(backend.markAsDone(`restart-${i}`, { i, square: i * i }));
    // INCRBY is not idempotent: during the restart it fails rather than count twice.
    counted.push(backend.incr("restart-counter").then(() => "counted", () => "failed"));
    if (i === total / 2) {
      // Crash mid-stream and come back on the same port.
      await server.stop("SIGKILL");
      // Back once the stores have met the outage (a retry was scheduled), not after a guess.
      void until("a retry during the outage", () => retries > 0)
        .then(() => server.restart())
        .then(() => (restarted = true));
    }
    await sleep(2); // a stream of stores, spread over the restart
  }
  await Promise.all(stores);
  assert.ok(restarted);
  assert.ok(retries > 0, "the restart was ridden out by retries");
  const metas = await backend.getTaskMetas(Array.from({ length: total }, (_, i) => `restart-${i}`));
  metas.forEach((meta, i) => {
    assert.equal(meta.status, "SUCCESS", `restart-${i}`);
    assert.deepEqual(meta.result, { i, square: i * i });
  });
  const keys = await backend.driver.send(["KEYS", "celery-task-meta-restart-*"]);
  assert.equal((keys as unknown[]).length, total);
  const outcomes = await Promise.all(counted);
  const ok = outcomes.filter((o) => o === "counted").length;
  const counter = Number(new TextDecoder().decode(
    (await backend.driver.send(["GET", "restart-counter"])) as Uint8Array,
  ));
  // Each INCRBY counted at most once: acknowledged ones all, failed ones at most once each.
  assert.ok(counter >= ok && counter <= total, `counter ${counter}, acknowledged ${ok}`);
});

test("the health check drops a connection to a paused server, a command pending or not", async () => {
  const interval = 600;
  await using driver = tcpDriver({ port: server.port, healthCheckInterval: interval });
  assert.equal(await driver.send(["PING"]), "PONG");
  // A command waiting on a paused server.
  server.pause();
  try {
    // The health check's error, naming its interval (not a socket timeout: none is set).
    await assert.rejects(
      driver.send(["GET", "x"]),
      (e: unknown) =>
        e instanceof RedisConnectionError && /stopped answering/.test(e.message) &&
        e.message.includes(`(${interval} ms)`),
    );
  } finally {
    server.resume();
  }
  // An idle subscriber: nothing is pending, the health check's PING goes unanswered.
  let lost: (error: unknown) => void = () => {};
  const noticed = new Promise<unknown>((resolve) => (lost = resolve));
  const subscriber = await driver.openSubscriber({
    onMessage: () => {},
    onClose: (error) => lost(error),
  });
  await subscriber.subscribe(["health"]);
  server.pause();
  try {
    const error = await noticed;
    assert.match(String(error), /stopped answering/);
  } finally {
    server.resume();
  }
  await subscriber.close();
  // The driver reconnects once the server answers again.
  assert.equal(await driver.send(["PING"]), "PONG");
});

test("createBackend() applies health_check_interval from the URL (seconds, as Celery)", async () => {
  await using backend = createBackend(
    `redis://127.0.0.1:${server.port}/0?health_check_interval=1`,
    { retryPolicy: false },
  );
  await backend.getTaskMeta("warm");
  server.pause();
  try {
    // The health check of the URL's 1 s notices (Celery's socket_timeout, 120 s, would not).
    await assert.rejects(backend.getTaskMeta("x"), /stopped answering.*\(1000 ms\)/s);
  } finally {
    server.resume();
  }
});

test("tcpDriver() keeps its pool within maxConnections, subscribers included", async () => {
  await using driver = tcpDriver({ port: server.port, maxConnections: 3, clientName: "pooled" });
  await using observer = tcpDriver({ port: server.port });
  const count = async () => {
    const list = new TextDecoder().decode(
      (await observer.send(["CLIENT", "LIST"])) as Uint8Array,
    );
    return list.split("\n").filter((line) => line.includes("name=pooled")).length;
  };
  const replies = await Promise.all(
    Array.from({ length: 300 }, (_, i) => driver.send(["ECHO", i])),
  );
  assert.equal(new TextDecoder().decode(replies[299] as Uint8Array), "299");
  assert.equal(await count(), 3, "a burst spreads over the pool, up to its bound");
  const subscriber = await driver.openSubscriber({ onMessage: () => {} });
  await Promise.all(Array.from({ length: 100 }, () => driver.send(["PING"])));
  assert.ok(await count() <= 3, "an idle connection made room for the subscriber");
  await subscriber.close();
  // Without maxConnections: one pipelined connection carries everything.
  await using single = tcpDriver({ port: server.port, clientName: "single" });
  await Promise.all(Array.from({ length: 300 }, () => single.send(["PING"])));
  const list = new TextDecoder().decode((await observer.send(["CLIENT", "LIST"])) as Uint8Array);
  assert.equal(list.split("\n").filter((line) => line.includes("name=single")).length, 1);
});

test("retryingDriver() and ensure() retry LOADING replies, as Celery retries BusyLoadingError", async () => {
  const loading = () =>
    new RedisReplyError("LOADING Redis is loading the dataset in memory", "GET");
  const { driver, calls } = flakyDriver(2, loading);
  assert.equal(await retryingDriver(driver, { sleep: noSleep }).send(["GET", "k"]), "OK");
  assert.deepEqual(calls, ["GET", "GET", "GET"]);
  let attempts = 0;
  const value = await ensure(
    () => attempts++ < 1 ? Promise.reject(loading()) : Promise.resolve("done"),
    {},
    { sleep: noSleep },
  );
  assert.equal(value, "done");
  // Other error replies are the server's answer, not a passing state: never retried.
  const wrongType = flakyDriver(1, () => new RedisReplyError("WRONGTYPE Operation", "GET"));
  await assert.rejects(retryingDriver(wrongType.driver, { sleep: noSleep }).send(["GET", "k"]));
  assert.equal(wrongType.calls.length, 1);
});
