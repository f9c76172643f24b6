// One behaviour suite for RedisBackend, run over every driver (memory, TCP on Deno and Bun).
// Each driver's test file calls defineBackendConformance() with a factory for fresh drivers.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  BackendClosedError,
  ContentDisallowedError,
  DecodeError,
  msgpackSerializer,
  PyDecimal,
  RedisBackend,
  type RedisBackendOptions,
  type RedisDriver,
  RedisReplyError,
  TaskError,
} from "../mod.ts";
import type { DriverFactory } from "./_drivers.ts";
import { fixedClock } from "./_time.ts";

const text = (bytes: Uint8Array | null) => bytes === null ? null : new TextDecoder().decode(bytes);

export function defineBackendConformance(driverName: string, makeDriver: DriverFactory): void {
  const named = (subject: string) => `${driverName}: ${subject}`;
  async function backendWith(options: RedisBackendOptions = {}) {
    return new RedisBackend(await makeDriver(), { now: fixedClock, ...options });
  }

  test(named("getTaskMeta() reads a missing key as exactly Celery's PENDING"), async () => {
    await using backend = await backendWith();
    assert.deepEqual(await backend.getTaskMeta("nope"), { status: "PENDING", result: null });
    assert.equal(await backend.exists("nope"), false);
  });

  test(named("markAsDone() writes Celery's exact bytes, TTL and key"), async () => {
    await using backend = await backendWith();
    const meta = await backend.markAsDone("cli-1", 3, {});
    assert.ok(meta);
    const raw = text(await backend.get("celery-task-meta-cli-1"));
    assert.equal(
      raw,
      '{"status": "SUCCESS", "result": 3, "traceback": null, "children": [], ' +
        '"date_done": "2026-11-24T11:38:23.027000+00:00", "task_id": "cli-1"}',
    );
    assert.equal(await backend.driver.send(["TTL", "celery-task-meta-cli-1"]), 86400);
    assert.equal(await backend.exists("cli-1"), true);
  });

  test(
    named("storeResult() without a request writes children null, and TTL 0 means SET"),
    async () => {
      await using backend = await backendWith({ resultExpires: 0 });
      await backend.storeResult("t0", { done: 1 }, "PROGRESS");
      assert.equal(
        text(await backend.get("celery-task-meta-t0")),
        '{"status": "PROGRESS", "result": {"done": 1}, "traceback": null, "children": null, ' +
          '"date_done": null, "task_id": "t0"}',
      );
      assert.equal(await backend.driver.send(["TTL", "celery-task-meta-t0"]), -1);
    },
  );

  test(named("storeResult() truncates resultExpires like Celery's int()"), async () => {
    await using backend = await backendWith({ resultExpires: 90.9 });
    await backend.markAsDone("t-exp", 1);
    assert.equal(await backend.driver.send(["TTL", "celery-task-meta-t-exp"]), 90);
    await using noTtl = await backendWith({ resultExpires: 0.5 });
    await noTtl.markAsDone("t-exp2", 1);
    assert.equal(await noTtl.driver.send(["TTL", "celery-task-meta-t-exp2"]), -1);
  });

  test(named("markAsDone() with resultExtended writes every field in Celery's order"), async () => {
    await using backend = await backendWith({ resultExtended: true });
    await backend.markAsDone("t-ext", [1, 2], {
      task: "proj.add",
      args: [0, 0],
      kwargs: {},
      hostname: "celery@vm",
      retries: 0,
      deliveryInfo: { routingKey: "celery" },
      group: "g-1",
      parentId: "spawn-1",
      stamps: { on_stamp: "x" },
    });
    assert.equal(
      text(await backend.get("celery-task-meta-t-ext")),
      '{"status": "SUCCESS", "result": [1, 2], "traceback": null, "children": [], ' +
        '"date_done": "2026-11-24T11:38:23.027000+00:00", "group_id": "g-1", ' +
        '"parent_id": "spawn-1", "name": "proj.add", "args": [0, 0], "kwargs": {}, ' +
        '"worker": "celery@vm", "retries": 0, "queue": "celery", ' +
        '"stamped_headers": ["on_stamp"], "on_stamp": "x", "task_id": "t-ext"}',
    );
    const meta = await backend.getTaskMeta("t-ext");
    assert.equal(meta.name, "proj.add");
    assert.equal(meta.worker, "celery@vm");
    assert.equal(meta.queue, "celery");
  });

  test(named("storeResult() publishes the stored bytes on the key's channel"), async () => {
    await using backend = await backendWith();
    // Every driver under this suite has pub/sub: a missing one is a failure, never a silent skip.
    assert.ok(backend.driver.openSubscriber, "the driver has pub/sub");
    const received: { channel: string; payload: string }[] = [];
    let arrived!: () => void;
    const done = new Promise<void>((resolve) => (arrived = resolve));
    await using subscriber = await backend.driver.openSubscriber({
      onMessage: (m) => {
        received.push({ channel: m.channel, payload: text(m.payload)! });
        arrived();
      },
    });
    await subscriber.subscribe(["celery-task-meta-pub-1"]);
    await backend.storeResult("pub-1", { done: 2 }, "PROGRESS");
    await done;
    assert.deepEqual(received, [{
      channel: "celery-task-meta-pub-1",
      payload: text(await backend.get("celery-task-meta-pub-1")),
    }]);
  });

  test(named("storeResult() never overwrites SUCCESS, but overwrites other states"), async () => {
    await using backend = await backendWith();
    await backend.markAsStarted("g-1", { pid: 1, hostname: "w" });
    await backend.markAsFailure("g-1", new Error("first"));
    assert.equal((await backend.getTaskMeta("g-1")).status, "FAILURE");
    await backend.markAsDone("g-1", "ok");
    assert.equal(await backend.markAsFailure("g-1", new Error("late")), undefined);
    assert.equal(await backend.markAsStarted("g-1"), undefined);
    const meta = await backend.getTaskMeta("g-1");
    assert.equal(meta.status, "SUCCESS");
    assert.equal(meta.result, "ok");
  });

  test(
    named("getMany() reads every id with one MGET, in order, missing ones PENDING"),
    async () => {
      await using backend = await backendWith();
      await backend.markAsDone("m1", 1);
      await backend.markAsDone("m3", 3);
      const metas = await backend.getTaskMetas(["m3", "m2", "m1"]);
      assert.deepEqual(metas.map((m) => [m.status, m.result]), [
        ["SUCCESS", 3],
        ["PENDING", null],
        ["SUCCESS", 1],
      ]);
      assert.deepEqual(await backend.getTaskMetas([]), []);
    },
  );

  test(
    named("markAsFailure() stores a JS error as an exception record Python rebuilds"),
    async () => {
      await using backend = await backendWith();
      const error = new TypeError("unsupported operand");
      await backend.markAsFailure("f1", error);
      const raw = JSON.parse(text(await backend.get("celery-task-meta-f1"))!);
      assert.deepEqual(raw.result, {
        exc_type: "TypeError",
        exc_message: ["unsupported operand"],
        exc_module: "builtins",
      });
      assert.equal(raw.traceback, error.stack);
      const meta = await backend.getTaskMeta("f1");
      assert.ok(meta.result instanceof TaskError);
      assert.equal(meta.result.name, "TypeError");
      assert.equal(meta.result.message, "unsupported operand");
      assert.deepEqual(meta.result.excMessage, ["unsupported operand"]);
      assert.equal(meta.result.traceback, error.stack);
      assert.equal(meta.result.taskId, "f1");
    },
  );

  test(named("a TaskError round-trips with its remote class, module and args"), async () => {
    await using backend = await backendWith();
    const original = new TaskError("MyErr", ["custom", 42], "tasks", { traceback: "Traceback…" });
    await backend.markAsFailure("f2", original);
    const raw = JSON.parse(text(await backend.get("celery-task-meta-f2"))!);
    assert.deepEqual(raw.result, {
      exc_type: "MyErr",
      exc_message: ["custom", 42],
      exc_module: "tasks",
    });
    assert.equal(raw.traceback, "Traceback…");
    const rebuilt = (await backend.getTaskMeta("f2")).result as TaskError;
    assert.equal(rebuilt.excType, "MyErr");
    assert.equal(rebuilt.excModule, "tasks");
    assert.equal(rebuilt.message, "('custom', 42)");
  });

  test(named("markAsRevoked() and markAsRetry() store Celery's records"), async () => {
    await using backend = await backendWith();
    await backend.markAsRevoked("r1", "terminated");
    const raw = JSON.parse(text(await backend.get("celery-task-meta-r1"))!);
    assert.deepEqual(raw.result, {
      exc_type: "TaskRevokedError",
      exc_message: ["terminated"],
      exc_module: "celery.exceptions",
    });
    assert.equal(raw.traceback, null);
    assert.equal(raw.date_done, "2026-11-24T11:38:23.027000+00:00");
    await backend.markAsRetry("r2", null);
    const retry = await backend.getTaskMeta("r2");
    assert.equal(retry.status, "RETRY");
    assert.equal(retry.result, null);
    assert.equal(retry.date_done, null);
    await backend.markAsRetry("r3", new Error("again"), { traceback: "tb" });
    const retried = await backend.getTaskMeta("r3");
    assert.equal((retried.result as TaskError).excType, "Exception");
    assert.equal(retried.traceback, "tb");
  });

  test(named("date_done follows the chosen Celery version"), async () => {
    const clock = () => new Date(Date.UTC(2026, 10, 24, 11, 39, 15, 803));
    const cases: [RedisBackendOptions, string][] = [
      [{ celeryVersion: "5.2" }, "2026-11-24T11:39:15.803000"],
      [{ celeryVersion: "5.3" }, "2026-11-24T11:39:15.803000"],
      [{ celeryVersion: "5.4", timezone: "Europe/Berlin" }, "2026-11-24T11:39:15.803000+00:00"],
      [{ celeryVersion: "5.5", timezone: "Europe/Berlin" }, "2026-11-24T12:39:15.803000+01:00"],
      [{ celeryVersion: "5.6", timezone: "America/New_York" }, "2026-11-24T06:39:15.803000-05:00"],
    ];
    for (const [options, expected] of cases) {
      await using backend = await backendWith({ ...options, now: clock });
      const meta = await backend.markAsDone("d1", null);
      assert.equal(meta?.date_done, expected, JSON.stringify(options));
    }
  });

  test(named("globalKeyprefix is joined by each Celery version's rule"), async () => {
    const cases: [RedisBackendOptions, string][] = [
      [{ globalKeyprefix: "my_prefix_", celeryVersion: "5.4" }, "my_prefix__celery-task-meta-k"],
      [{ globalKeyprefix: "my_prefix_", celeryVersion: "5.5" }, "my_prefix_celery-task-meta-k"],
      [{ globalKeyprefix: "app:", celeryVersion: "5.6" }, "app:celery-task-meta-k"],
      [{ globalKeyprefix: "pfx", celeryVersion: "5.6" }, "pfx_celery-task-meta-k"],
    ];
    for (const [options, key] of cases) {
      await using backend = await backendWith(options);
      await backend.markAsDone("k", 1);
      assert.notEqual(await backend.get(key), null, key);
      assert.equal((await backend.getTaskMeta("k")).result, 1);
      await backend.forget("k");
    }
    assert.throws(
      () => new RedisBackend({} as RedisDriver, { globalKeyprefix: "x", celeryVersion: "5.2" }),
      TypeError,
    );
  });

  test(named("forget() deletes the result"), async () => {
    await using backend = await backendWith();
    await backend.markAsDone("fg", 1);
    await backend.forget("fg");
    assert.equal(await backend.get("celery-task-meta-fg"), null);
    assert.equal((await backend.getTaskMeta("fg")).status, "PENDING");
  });

  test(named("raw get/mget/set/delete/incr/expire act like Celery's"), async () => {
    await using backend = await backendWith({ resultExpires: 100 });
    await backend.set("raw-a", "x\r\ny");
    assert.equal(text(await backend.get("raw-a")), "x\r\ny");
    assert.equal(await backend.driver.send(["TTL", "raw-a"]), 100);
    assert.deepEqual((await backend.mget(["raw-a", "raw-none"])).map(text), ["x\r\ny", null]);
    assert.equal(await backend.incr("raw-n"), 1);
    assert.equal(await backend.incr("raw-n"), 2);
    await backend.expire("raw-n", 50);
    assert.equal(await backend.driver.send(["TTL", "raw-n"]), 50);
    await backend.delete("raw-a");
    assert.equal(await backend.get("raw-a"), null);
    await backend.set("raw-bin", new Uint8Array([0, 255, 13, 10]));
    assert.deepEqual(await backend.get("raw-bin"), new Uint8Array([0, 255, 13, 10]));
  });

  test(named("rich values survive a store and read"), async () => {
    await using backend = await backendWith();
    const value = {
      price: new PyDecimal("1.50"),
      big: 2n ** 70n,
      when: new Date(Date.UTC(2024, 0, 2, 3, 4, 5)),
      text: "héllo 😀",
      nan: NaN,
    };
    await backend.markAsDone("rich", value);
    const raw = text(await backend.get("celery-task-meta-rich"))!;
    assert.match(raw, /"price": \{"__type__": "decimal", "__value__": "1.50"\}/);
    assert.match(raw, /"big": 1180591620717411303424,/);
    assert.match(raw, /"text": "h\\u00e9llo \\ud83d\\ude00"/);
    assert.match(raw, /"nan": NaN/);
    const result = (await backend.getTaskMeta("rich")).result as Record<string, unknown>;
    assert.equal(String(result.price), "1.50");
    assert.equal(result.big, 2n ** 70n);
    assert.equal((result.when as Date).getTime(), Date.UTC(2024, 0, 2, 3, 4, 5));
    assert.equal(result.text, "héllo 😀");
    assert.ok(Number.isNaN(result.nan));
  });

  test(named("msgpack results round-trip and a JSON reader refuses them"), async () => {
    const driver = await makeDriver();
    const writer = new RedisBackend(driver, {
      resultSerializer: msgpackSerializer,
      now: fixedClock,
    });
    await writer.markAsDone("mp", { a: [1, 2.5, "x"] });
    assert.deepEqual((await writer.getTaskMeta("mp")).result, { a: [1, 2.5, "x"] });
    const reader = new RedisBackend(driver, { now: fixedClock });
    await assert.rejects(reader.getTaskMeta("mp"), ContentDisallowedError);
    await writer.close();
  });

  test(named("corrupt and foreign payloads fail with typed errors, not guesses"), async () => {
    await using backend = await backendWith();
    await backend.driver.send(["SET", "celery-task-meta-bad-json", '{"status": "SUCC']);
    await assert.rejects(backend.getTaskMeta("bad-json"), DecodeError);
    const pickle = new Uint8Array([0x80, 0x04, 0x95, 0x10, 0, 0, 0, 0, 0, 0, 0, 0x7d, 0x94]);
    await backend.driver.send(["SET", "celery-task-meta-pickled", pickle]);
    await assert.rejects(
      backend.getTaskMeta("pickled"),
      (e: unknown) => e instanceof ContentDisallowedError && /pickle/.test((e as Error).message),
    );
    await backend.driver.send([
      "SET",
      "celery-task-meta-no-type",
      '{"status": "FAILURE", "result": {"foo": 1}, "task_id": "no-type"}',
    ]);
    // Python's get() raises ValueError for it: the result is that error, its cause a DecodeError.
    const noType = (await backend.getTaskMeta("no-type")).result;
    assert.ok(noType instanceof Error && noType.name === "ValueError", String(noType));
    assert.ok(noType.cause instanceof DecodeError && /exception type/.test(noType.message));
    await backend.driver.send(["SET", "celery-task-meta-not-meta", "[1, 2]"]);
    await assert.rejects(
      backend.getTaskMeta("not-meta"),
      (e: unknown) =>
        e instanceof DecodeError && /task not-meta is not a Celery meta object/.test(e.message),
    );
    await backend.driver.send(["SET", "celery-task-meta-no-status", '{"result": 1}']);
    await assert.rejects(
      backend.getTaskMeta("no-status"),
      (e: unknown) => e instanceof DecodeError && /task no-status has no status/.test(e.message),
    );
    // Nothing was overwritten by the failed reads.
    assert.equal(text(await backend.get("celery-task-meta-bad-json")), '{"status": "SUCC');
  });

  test(named("a server error reply becomes a RedisReplyError carrying the message"), async () => {
    await using backend = await backendWith();
    await backend.driver.send(["RPUSH", "celery-task-meta-wrong", "x"]);
    await assert.rejects(
      backend.getTaskMeta("wrong"),
      (e: unknown) =>
        e instanceof RedisReplyError && e.code === "WRONGTYPE" &&
        /wrong kind of value/.test(e.message),
    );
  });

  test(named("an empty task id is refused before any I/O"), async () => {
    await using backend = await backendWith();
    await assert.rejects(backend.getTaskMeta(""), TypeError);
    await assert.rejects(backend.markAsDone("", 1), TypeError);
  });

  test(named("a closed backend refuses further commands"), async () => {
    const backend = await backendWith();
    await backend.close();
    await backend.close();
    await assert.rejects(backend.getTaskMeta("x"), BackendClosedError);
  });
}
