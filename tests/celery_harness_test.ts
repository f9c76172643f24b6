// Proves the Python side of the interop tests works against a real redis-server, for every
// Celery version: a real worker's results are visible through the harness, and the harness's
// `encode-meta` (Celery's own store_result path) yields the very bytes a worker writes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { requirement } from "./_env.ts";
import { startRedisServer } from "./_redis_server.ts";
import {
  celeryAvailable,
  celeryVersions,
  harness,
  type HarnessRead,
  type HarnessStored,
  type HarnessStoreSpec,
  startCeleryWorker,
} from "./_celery.ts";
import { sleep } from "./_time.ts";

for (const v of celeryVersions) {
  const skip = requirement(celeryAvailable(v), `Celery ${v}`);

  test(`Celery ${v}: a real worker runs add, and wait/read show SUCCESS`, {
    skip,
    timeout: 120_000,
  }, async () => {
    await using redis = await startRedisServer();
    await using worker = await startCeleryWorker(v, redis.url, { hostname: `add-${v}@harness` });

    const sent = await harness(v, redis.url, "send", "add", "[2, 3]", "--task-id", "add-1");
    assert.deepEqual(sent, { id: "add-1" });

    const waited = await harness(v, redis.url, "wait", "add-1", "--timeout", "30") as HarnessRead;
    assert.equal(waited.state, "SUCCESS", worker.output());
    assert.equal(waited.result, 5);
    assert.equal(waited.traceback, null);
    assert.equal(waited.name, "celery_app.add");
    assert.deepEqual(waited.args, [2, 3]);
    assert.deepEqual(waited.kwargs, {});
    assert.equal(waited.worker, worker.hostname);
    assert.equal(waited.retries, 0);
    assert.equal(waited.queue, "celery");
    assert.deepEqual(waited.children, []);
    assert.equal(waited.key, "celery-task-meta-add-1");
    assert.equal(waited.ttl > 86_000 && waited.ttl <= 86_400, true);
    assert.ok(waited.date_done?.iso);

    const meta = JSON.parse(waited.raw!) as Record<string, unknown>;
    assert.deepEqual(Object.keys(meta), [
      "status",
      "result",
      "traceback",
      "children",
      "date_done",
      "name",
      "args",
      "kwargs",
      "worker",
      "retries",
      "queue",
      "task_id",
    ]);
    assert.equal(meta.status, "SUCCESS");
    assert.equal(meta.task_id, "add-1");
    // The spec's §2.4: naive date_done up to 5.3, explicit +00:00 from 5.4.
    if (v === "5.2") {
      assert.match(meta.date_done as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?$/);
      assert.equal(waited.date_done?.tzinfo, "None");
    } else {
      assert.match(meta.date_done as string, /\+00:00$/);
    }

    const read = await harness(v, redis.url, "read", "add-1") as HarnessRead;
    assert.deepEqual({ ...read, ttl: 0 }, { ...waited, ttl: 0 });

    const pending = await harness(v, redis.url, "read", "never-sent") as HarnessRead;
    assert.equal(pending.state, "PENDING");
    assert.equal(pending.raw, null);
    assert.equal(pending.result, null);
  });

  test(
    `Celery ${v}: encode-meta yields the bytes a worker wrote`,
    { skip, timeout: 120_000 },
    async () => {
      await using redis = await startRedisServer();
      await using worker = await startCeleryWorker(v, redis.url, { hostname: `enc-${v}@harness` });
      await harness(v, redis.url, "send", "add", "[20, 22]", "--task-id", "ok-1");
      await harness(v, redis.url, "send", "boom", '["bad input"]', "--task-id", "boom-1");
      const ok = await harness(v, redis.url, "wait", "ok-1") as HarnessRead;
      const boom = await harness(v, redis.url, "wait", "boom-1") as HarnessRead;
      assert.equal(ok.state, "SUCCESS", worker.output());
      assert.equal(boom.state, "FAILURE", worker.output());
      assert.deepEqual(boom.result, {
        exception: {
          class: "ValueError",
          qualname: "ValueError",
          module: "builtins",
          args: ["bad input"],
          is_instance_of_builtin: true,
          str: "bad input",
          bases: ["builtins.Exception", "builtins.BaseException", "builtins.object"],
        },
      });

      const request = (task: string, args: unknown[]) => ({
        task,
        args,
        kwargs: {},
        hostname: worker.hostname,
        retries: 0,
        delivery_info: { routing_key: "celery" },
      });
      const dateOf = (raw: string) => (JSON.parse(raw) as { date_done: string }).date_done;
      const withoutDate = (raw: string) => raw.replace(/"date_done": "[^"]*"/, '"date_done": "*"');

      const okSpec: HarnessStoreSpec = {
        task_id: "ok-1",
        state: "SUCCESS",
        result: 42,
        request: request("celery_app.add", [20, 22]),
      };
      const okLive = await harness(
        v,
        redis.url,
        "encode-meta",
        JSON.stringify(okSpec),
      ) as HarnessStored;
      assert.equal(okLive.key, "celery-task-meta-ok-1");
      assert.equal(withoutDate(okLive.raw), withoutDate(ok.raw!));
      // With the worker's clock frozen in, the bytes are identical, date_done included.
      const okFrozen = await harness(
        v,
        redis.url,
        "encode-meta",
        JSON.stringify({ ...okSpec, now: dateOf(ok.raw!) }),
      ) as HarnessStored;
      assert.equal(okFrozen.raw, ok.raw);

      const boomSpec: HarnessStoreSpec = {
        task_id: "boom-1",
        state: "FAILURE",
        result: { exception: { module: "builtins", class: "ValueError", args: ["bad input"] } },
        traceback: boom.traceback,
        now: dateOf(boom.raw!),
        request: request("celery_app.boom", ["bad input"]),
      };
      const boomEncoded = await harness(
        v,
        redis.url,
        "encode-meta",
        JSON.stringify(boomSpec),
      ) as HarnessStored;
      assert.equal(boomEncoded.raw, boom.raw);

      // encode-meta does no I/O: the stored values are untouched.
      assert.equal((await harness(v, redis.url, "read", "ok-1") as HarnessRead).raw, ok.raw);
    },
  );

  test(
    `Celery ${v}: store then read round-trips typed values`,
    { skip, timeout: 120_000 },
    async () => {
      await using redis = await startRedisServer();
      const spec: HarnessStoreSpec = {
        task_id: "typed-1",
        state: "SUCCESS",
        result: {
          dec: { py: "Decimal", value: "1.50" },
          big: { py: "int", value: "1180591620717411303424" },
          whole: { py: "float", value: "3.0" },
          uni: "é😀",
          nested: [1, null, true, [false]],
        },
      };
      const stored = await harness(v, redis.url, "store", JSON.stringify(spec)) as HarnessStored;
      assert.equal(stored.ttl, 86_400);
      assert.match(
        stored.raw,
        /"big": 1180591620717411303424, "whole": 3\.0, "uni": "\\u00e9\\ud83d\\ude00"/,
      );
      const read = await harness(v, redis.url, "read", "typed-1") as HarnessRead;
      assert.equal(read.raw, stored.raw);
      assert.equal(read.children, null); // stored without a request
      const result = read.result as Record<string, unknown>;
      assert.deepEqual(result.big, spec.result && (spec.result as Record<string, unknown>).big);
      assert.deepEqual(result.whole, { py: "float", value: "3.0" });
      assert.equal(result.uni, "é😀");
      assert.deepEqual(result.nested, [1, null, true, [false]]);
      // kombu 5.2 writes Decimal as a plain string; kombu >= 5.3 as a marker Python decodes back.
      assert.deepEqual(result.dec, v === "5.2" ? "1.50" : { py: "Decimal", value: "1.50" });

      const failure: HarnessStoreSpec = {
        task_id: "err-1",
        state: "FAILURE",
        result: { exception: { module: "celery_app", class: "MyErr", args: ["custom", 42] } },
        traceback: "Traceback (most recent call last):\n",
      };
      await harness(v, redis.url, "store", JSON.stringify(failure));
      const err = await harness(v, redis.url, "read", "err-1") as HarnessRead;
      assert.equal(err.state, "FAILURE");
      assert.equal(err.traceback, failure.traceback);
      const exc = (err.result as { exception: Record<string, unknown> }).exception;
      assert.equal(exc.class, "MyErr");
      assert.equal(exc.module, "celery_app");
      assert.deepEqual(exc.args, ["custom", 42]);
      assert.equal(exc.is_instance_of_builtin, false);
    },
  );

  test(`Celery ${v}: progress is readable mid-run and revoke marks REVOKED`, {
    skip,
    timeout: 120_000,
  }, async () => {
    await using redis = await startRedisServer();
    await using worker = await startCeleryWorker(v, redis.url, { hostname: `rev-${v}@harness` });

    // Revoke first (the worker acknowledges), then send: the worker must skip it.
    const revoked = await harness(v, redis.url, "revoke", "rev-1") as { replies: unknown[] };
    assert.equal(revoked.replies.length, 1, worker.output());
    await harness(v, redis.url, "send", "add", "[1, 1]", "--task-id", "rev-1");
    const rev = await harness(v, redis.url, "wait", "rev-1") as HarnessRead;
    assert.equal(rev.state, "REVOKED", worker.output());
    assert.equal(
      (rev.result as { exception: { class: string; module: string } }).exception.class,
      "TaskRevokedError",
    );

    await harness(v, redis.url, "send", "progress", "[3, 0.4]", "--task-id", "prog-1");
    let seen: HarnessRead | undefined;
    for (let i = 0; i < 100 && !seen; i++) {
      const r = await harness(v, redis.url, "read", "prog-1") as HarnessRead;
      if (r.state === "PROGRESS") seen = r;
      else await sleep(50);
    }
    assert.ok(seen, worker.output());
    const progress = seen.result as { done: number; total: number };
    assert.equal(progress.total, 3);
    assert.ok(progress.done >= 1 && progress.done <= 3);
    assert.equal(seen.date_done, null);
    const done = await harness(v, redis.url, "wait", "prog-1") as HarnessRead;
    assert.equal(done.result, "finished");
  });
}
