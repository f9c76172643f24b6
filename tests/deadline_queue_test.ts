import { test } from "node:test";
import assert from "node:assert/strict";
import { DeadlineQueue, MAX_TIMER_DELAY } from "../src/results/consumer/deadline_queue.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("DeadlineQueue expires items in deadline order with one timer", async () => {
  const expired: string[] = [];
  const queue = new DeadlineQueue<string>((item) => expired.push(item));
  const now = Date.now();
  queue.add(now + 40, "c");
  queue.add(now + 10, "a");
  queue.add(now + 25, "b");
  assert.equal(queue.size, 3);
  await sleep(80);
  assert.deepEqual(expired, ["a", "b", "c"]);
  assert.equal(queue.size, 0);
});

test("DeadlineQueue.cancel() keeps a cancelled item from expiring and frees it", async () => {
  const expired: number[] = [];
  const queue = new DeadlineQueue<number>((item) => expired.push(item));
  const now = Date.now();
  const handles = Array.from({ length: 5000 }, (_, i) => queue.add(now + 20 + (i % 50), i));
  for (const [i, handle] of handles.entries()) if (i % 1000 !== 0) queue.cancel(handle);
  queue.cancel(handles[1]); // idempotent
  assert.equal(queue.size, 5);
  await sleep(120);
  assert.deepEqual(expired.sort((a, b) => a - b), [0, 1000, 2000, 3000, 4000]);
  assert.equal(queue.size, 0);
});

test("DeadlineQueue re-arms for an earlier deadline added later", async () => {
  const expired: string[] = [];
  const queue = new DeadlineQueue<string>((item) => expired.push(item));
  const late = queue.add(Date.now() + 10_000, "late");
  queue.add(Date.now() + 10, "soon");
  await sleep(50);
  assert.deepEqual(expired, ["soon"]);
  assert.equal(queue.size, 1);
  queue.cancel(queue.add(Date.now() + 5, "x"));
  await sleep(30);
  assert.deepEqual(expired, ["soon"]);
  queue.cancel(late);
  assert.equal(queue.size, 0);
});

test("DeadlineQueue reaches a far deadline by re-arming at most 2^31-1 ms ahead", () => {
  let now = 1_000;
  let armed = 0;
  let longest = 0;
  let lastDelay = 0;
  let pending: (() => void) | undefined;
  const timers = {
    set: (callback: () => void, ms: number) => {
      armed++;
      longest = Math.max(longest, ms);
      lastDelay = ms;
      pending = callback;
      return armed;
    },
    clear: () => (pending = undefined),
  };
  const expired: string[] = [];
  const queue = new DeadlineQueue<string>((item) => expired.push(item), () => now, timers);
  const at = now + Number.MAX_SAFE_INTEGER;
  queue.add(at, "far");
  // Fire each timer as the runtime would, the clock advancing by its delay.
  while (pending) {
    const callback = pending;
    pending = undefined;
    now += lastDelay;
    if (now < at) assert.equal(expired.length, 0, "nothing expires before its deadline");
    callback();
  }
  assert.deepEqual(expired, ["far"]);
  assert.equal(longest, MAX_TIMER_DELAY, "no delay beyond what a runtime timer holds");
  assert.equal(armed, Math.ceil(Number.MAX_SAFE_INTEGER / MAX_TIMER_DELAY), "one timer per step");
});

test("DeadlineQueue refuses a deadline that is not a finite time", () => {
  const queue = new DeadlineQueue<string>(() => {});
  assert.throws(() => queue.add(Infinity, "x"), RangeError);
  assert.throws(() => queue.add(Number.NaN, "x"), RangeError);
  assert.equal(queue.size, 0);
});
