// A task waited for again right after an earlier wait on it settled — while the consumer still
// holds the channel's subscription (the UNSUBSCRIBE is deferred) — is read again, not left to a
// message that was published before the new wait began. sendTask() hits this whenever the worker
// finishes before the caller calls get(): its own subscribe-first wait has just settled.
import { test } from "node:test";
import assert from "node:assert/strict";
import { AsyncResult, createBackend } from "../mod.ts";

test("a new wait on a task whose previous wait just settled sees its stored result", async () => {
  await using backend = createBackend("memory://");
  const first = new AsyncResult("rewait-1", backend).get({ timeout: 10_000 });
  await backend.markAsDone("rewait-1", 1, {});
  assert.equal(await first, 1);
  // The first wait's key is released but still subscribed: this wait must read the stored state.
  assert.equal(await new AsyncResult("rewait-1", backend).get({ timeout: 10_000 }), 1);
});

test("several tasks re-waited in one tick are each read", async () => {
  await using backend = createBackend("memory://");
  const ids = ["rewait-a", "rewait-b", "rewait-c"];
  const firsts = ids.map((id) => new AsyncResult(id, backend).get({ timeout: 10_000 }));
  for (const [i, id] of ids.entries()) await backend.markAsDone(id, i, {});
  assert.deepEqual(await Promise.all(firsts), [0, 1, 2]);
  const again = ids.map((id) => new AsyncResult(id, backend).get({ timeout: 10_000 }));
  assert.deepEqual(await Promise.all(again), [0, 1, 2]);
});
