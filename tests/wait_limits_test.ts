// Waiting limits: timeouts up to Number.MAX_SAFE_INTEGER and Infinity without timers beyond what a
// runtime holds (2^31-1 ms), type checks on the timeout, and a TimeoutError that names the task,
// the time waited and the connection error that kept the result away.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  AsyncResult,
  memoryDriver,
  RedisBackend,
  RedisConnectionError,
  TimeoutError,
} from "../mod.ts";
import { createBackend } from "../mod.ts";
import { MAX_TIMER_DELAY } from "../src/results/consumer/deadline_queue.ts";
import { freePort } from "./_redis_server.ts";

/** Records every delay given to setTimeout/setInterval while `fn` runs. */
async function recordingTimers<T>(fn: () => Promise<T>): Promise<{ value: T; delays: number[] }> {
  const delays: number[] = [];
  const realTimeout = globalThis.setTimeout;
  const realInterval = globalThis.setInterval;
  const spy = <F extends (...args: never[]) => unknown>(real: F) =>
    ((callback: () => void, ms?: number, ...rest: unknown[]) => {
      delays.push(ms ?? 0);
      return (real as unknown as (...a: unknown[]) => unknown)(callback, ms, ...rest);
    }) as unknown as F;
  globalThis.setTimeout = spy(realTimeout);
  globalThis.setInterval = spy(realInterval);
  try {
    return { value: await fn(), delays };
  } finally {
    globalThis.setTimeout = realTimeout;
    globalThis.setInterval = realInterval;
  }
}

for (const timeout of [Number.MAX_SAFE_INTEGER, Infinity]) {
  test(`a wait with timeout ${timeout} waits for its result, with no timer beyond 2^31-1 ms`, async () => {
    await using backend = new RedisBackend(memoryDriver());
    const { value, delays } = await recordingTimers(async () => {
      const waiting = new AsyncResult("far", backend).get({ timeout });
      // Let the wait's timers be armed and any too-short one fire before the result arrives.
      for (let i = 0; i < 5; i++) await new Promise((r) => nextMacrotask(r));
      await backend.markAsDone("far", "arrived");
      return await waiting;
    });
    assert.equal(value, "arrived");
    assert.ok(
      delays.every((ms) => ms <= MAX_TIMER_DELAY),
      `timer delays ${delays.filter((ms) => ms > MAX_TIMER_DELAY)} exceed 2^31-1 ms`,
    );
  });
}

function nextMacrotask(callback: (value: unknown) => void): void {
  queueMicrotask(() => setTimeout(callback, 0));
}

test("a non-number timeout is a TypeError; a negative or NaN one a RangeError", async () => {
  await using backend = new RedisBackend(memoryDriver());
  const result = new AsyncResult("t", backend);
  await assert.rejects(
    result.get({ timeout: "1000" as unknown as number }),
    (e: unknown) => e instanceof TypeError && /timeout must be a number/.test((e as Error).message),
  );
  await assert.rejects(result.get({ timeout: -1 }), RangeError);
  await assert.rejects(result.get({ timeout: Number.NaN }), RangeError);
});

test("a TimeoutError names the task and the wait, and carries the last connection error", async () => {
  const port = await freePort(); // nothing listens there: every connection is refused
  const errors: Error[] = [];
  await using backend = createBackend(`redis://127.0.0.1:${port}/0`, {
    retryPolicy: { maxRetries: 10_000, intervalStart: 0.02, intervalStep: 0, intervalMax: 0.02 },
    onConnectionError: (error) => errors.push(error),
  });
  const first = new AsyncResult("keeps-it-reconnecting", backend).get();
  first.catch(() => {});
  while (errors.length === 0) await new Promise((r) => setTimeout(r, 5));
  const error = await new AsyncResult("late-task", backend).get({ timeout: 50 }).then(
    () => assert.fail("the wait should time out"),
    (e: unknown) => e,
  );
  assert.ok(error instanceof TimeoutError);
  assert.match(error.message, /^The operation timed out: waited 50 ms for task late-task/);
  assert.ok(error.cause instanceof RedisConnectionError, "the cause is the connection error");
  assert.match(error.message, /the connection is down: Cannot connect to Redis/);
});
