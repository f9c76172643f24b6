import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { DeadlineQueue, MAX_TIMER_DELAY } from "../src/results/consumer/deadline_queue.ts";
import { ManualClock } from "./_time.ts";

test("DeadlineQueue expires items in deadline order with one timer", () => {
  const clock = new ManualClock();
  const expired: string[] = [];
  const queue = new DeadlineQueue<string>((item) => expired.push(item), clock.now, clock.timers);
  const now = clock.now();
  queue.add(now + 40, "c");
  queue.add(now + 10, "a");
  queue.add(now + 25, "b");
  assert.equal(queue.size, 3);
  assert.equal(clock.pendingTimers, 1, "one timer for three deadlines");
  clock.advance(9);
  assert.deepEqual(expired, [], "nothing before the first deadline");
  clock.advance(1);
  assert.deepEqual(expired, ["a"]);
  clock.advance(30);
  assert.deepEqual(expired, ["a", "b", "c"]);
  assert.equal(queue.size, 0);
  assert.equal(clock.pendingTimers, 0);
});

test("DeadlineQueue.cancel() keeps a cancelled item from expiring and frees it", () => {
  const clock = new ManualClock();
  const expired: number[] = [];
  const queue = new DeadlineQueue<number>((item) => expired.push(item), clock.now, clock.timers);
  const now = clock.now();
  const handles = Array.from({ length: 5000 }, (_, i) => queue.add(now + 20 + (i % 50), i));
  for (const [i, handle] of handles.entries()) if (i % 1000 !== 0) queue.cancel(handle);
  queue.cancel(handles[1]); // idempotent
  assert.equal(queue.size, 5);
  clock.advance(70);
  assert.deepEqual(expired.sort((a, b) => a - b), [0, 1000, 2000, 3000, 4000]);
  assert.equal(queue.size, 0);
});

test("DeadlineQueue re-arms for an earlier deadline added later", () => {
  const clock = new ManualClock();
  const expired: string[] = [];
  const queue = new DeadlineQueue<string>((item) => expired.push(item), clock.now, clock.timers);
  const late = queue.add(clock.now() + 10_000, "late");
  queue.add(clock.now() + 10, "soon");
  assert.equal(clock.pendingTimers, 1);
  clock.advance(10);
  assert.deepEqual(expired, ["soon"]);
  assert.equal(queue.size, 1);
  queue.cancel(queue.add(clock.now() + 5, "x"));
  clock.advance(5);
  assert.deepEqual(expired, ["soon"]);
  queue.cancel(late);
  assert.equal(queue.size, 0);
  assert.equal(clock.pendingTimers, 0, "no timer left armed");
});

test("DeadlineQueue.cancel() of a deadline that has already expired changes nothing", () => {
  // Waiters cancel a settled wait's deadline later, in a batch: by then it may have expired.
  const clock = new ManualClock();
  const expired: string[] = [];
  const queue = new DeadlineQueue<string>((item) => expired.push(item), clock.now, clock.timers);
  const first = queue.add(clock.now() + 1, "first");
  clock.advance(1);
  assert.deepEqual(expired, ["first"]);
  queue.add(clock.now() + 10, "second");
  queue.cancel(first);
  assert.equal(queue.size, 1, "the live deadline is still counted");
  assert.equal(clock.pendingTimers, 1, "and its timer still armed");
  clock.advance(10);
  assert.deepEqual(expired, ["first", "second"]);
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

// Against a model (a map of live deadlines): any sequence of adds, cancels (of live, expired and
// already-cancelled deadlines, as Waiters' batched cancels do) and clock advances expires exactly
// the live items that fall due, each at its own time, and keeps one timer while any is live.
// Many cancels in a row exercise the compaction past 1,024 cancelled entries.
test("DeadlineQueue matches a map of live deadlines under any adds, cancels and advances", () => {
  const step = fc.oneof(
    fc.record({ op: fc.constant("add" as const), delay: fc.integer({ min: 0, max: 50 }) }),
    fc.record({ op: fc.constant("cancel" as const), pick: fc.nat() }),
    fc.record({ op: fc.constant("cancelMany" as const), count: fc.integer({ min: 0, max: 1500 }) }),
    fc.record({ op: fc.constant("advance" as const), ms: fc.integer({ min: 0, max: 30 }) }),
  );
  fc.assert(
    fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
      const clock = new ManualClock();
      const expired: [item: number, at: number][] = [];
      const queue = new DeadlineQueue<number>(
        (item) => expired.push([item, clock.now()]),
        clock.now,
        clock.timers,
      );
      const handles: ReturnType<typeof queue.add>[] = [];
      const live = new Map<number, number>(); // item -> the time it falls due
      const due: [number, number][] = [];
      const add = (delay: number) => {
        const at = clock.now() + delay;
        live.set(handles.length, at);
        handles.push(queue.add(at, handles.length));
      };
      const cancel = (item: number) => {
        queue.cancel(handles[item]);
        live.delete(item);
      };
      const advance = (ms: number) => {
        const end = clock.now() + ms;
        for (const [item, at] of live) {
          if (at <= end) {
            due.push([item, at]);
            live.delete(item);
          }
        }
        clock.advance(ms);
      };
      for (const s of steps) {
        if (s.op === "add") add(s.delay);
        else if (s.op === "cancel") {
          if (handles.length > 0) cancel(s.pick % handles.length);
        } else if (s.op === "cancelMany") {
          const from = handles.length;
          for (let i = 0; i < s.count; i++) add(40);
          for (let i = from; i < handles.length; i++) cancel(i);
        } else advance(s.ms);
        assert.equal(queue.size, live.size, "live deadlines counted");
        assert.equal(clock.pendingTimers, live.size > 0 ? 1 : 0, "one timer while any is live");
      }
      advance(100); // whatever remains expires at its time
      const byItem = (a: [number, number], b: [number, number]) => a[0] - b[0];
      assert.deepEqual([...expired].sort(byItem), due.sort(byItem), "each item once, on time");
      assert.ok(expired.every(([, at], i) => i === 0 || expired[i - 1]![1] <= at), "in order");
    }),
    { numRuns: 300 },
  );
});
