// Interop with real Python Celery 5.2.6 and 5.6.3, live: Python workers store results that
// TypeScript reads and waits for; TypeScript stores results that Python's AsyncResult reads; for
// the same meta both sides write the same bytes.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import process from "node:process";
import {
  AsyncResult,
  createBackend,
  GroupResult,
  PyDateTime,
  PyDecimal,
  PyFloat,
  PyUUID,
  type RedisBackend,
  TaskError,
  type TaskMeta,
} from "../mod.ts";
import {
  celeryAvailable,
  celeryUrls,
  type CeleryVersion,
  celeryVersions,
  type CeleryWorker,
  harness,
  type HarnessRead,
  type HarnessStored,
  type PyException,
  rawBytes,
  startCeleryWorker,
} from "./_celery.ts";
import { celeryPythons, requirement } from "./_env.ts";
import { type RedisServer, startRedisServer } from "./_redis_server.ts";

interface Setup {
  server: RedisServer;
  worker: CeleryWorker;
  backend: RedisBackend;
}

const setups = new Map<CeleryVersion, Setup>();
const available = (v: CeleryVersion) => celeryAvailable(v);

before(async () => {
  await Promise.all(
    celeryVersions.filter(available).map(async (version) => {
      const server = await startRedisServer();
      const worker = await startCeleryWorker(version, server.url, {
        hostname: `py${version}@interop`,
      });
      const backend = createBackend(celeryUrls(server.url).resultUrl, {
        celeryVersion: version,
        resultExtended: true,
      });
      setups.set(version, { server, worker, backend });
    }),
  );
});

after(async () => {
  for (const { server, worker, backend } of setups.values()) {
    await backend.close();
    await worker[Symbol.asyncDispose]();
    await server[Symbol.asyncDispose]();
  }
});

const send = async (v: CeleryVersion, task: string, args: unknown[] = [], ...extra: string[]) =>
  ((await harness(v, setups.get(v)!.server.url, "send", task, JSON.stringify(args), ...extra)) as {
    id: string;
  }).id;
const pyRead = async (v: CeleryVersion, id: string) =>
  (await harness(v, setups.get(v)!.server.url, "read", id)) as HarnessRead;
const text = (bytes: Uint8Array | null) => bytes === null ? null : new TextDecoder().decode(bytes);

/** Runs tests/python/group_client.py with the worker's configuration. */
function groupClient(v: CeleryVersion, ...args: string[]): Promise<Record<string, unknown>> {
  const { brokerUrl, resultUrl } = celeryUrls(setups.get(v)!.server.url);
  return new Promise((resolve, reject) => {
    const child = spawn(celeryPythons[v], ["group_client.py", ...args], {
      cwd: fileURLToPath(new URL("./python/", import.meta.url)),
      env: {
        ...process.env,
        BROKER_URL: brokerUrl,
        RESULT_BACKEND: resultUrl,
        PYTHONDONTWRITEBYTECODE: "1",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (c) => (out += c));
    child.stderr.on("data", (c) => (err += c));
    child.once("close", (code) => code === 0 ? resolve(JSON.parse(out)) : reject(new Error(err)));
  });
}

for (const v of celeryVersions) {
  const skip = requirement(available(v), `Celery ${v} (${celeryPythons[v]})`);
  const named = (subject: string) => `Celery ${v}: ${subject}`;
  const dateDoneForm = v === "5.2" ? /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?$/ : /\+00:00$/;

  test(named("TypeScript waits for and reads a Python worker's SUCCESS"), { skip }, async () => {
    const { backend } = setups.get(v)!;
    const id = await send(v, "add", [2, 3]);
    assert.equal(await new AsyncResult(id, backend).get({ timeout: 20_000 }), 5);
    const meta = await backend.getTaskMeta(id);
    assert.equal(meta.status, "SUCCESS");
    assert.equal(meta.name, "celery_app.add");
    assert.deepEqual(meta.args, [2, 3]);
    assert.deepEqual(meta.kwargs, {});
    assert.equal(meta.worker, `py${v}@interop`);
    assert.equal(meta.queue, "celery");
    assert.equal(meta.task_id, id);
    assert.match(String(meta.date_done), dateDoneForm);
    const done = await new AsyncResult(id, backend).dateDone();
    assert.ok(
      done && Math.abs(done.getTime() - Date.now()) < 60_000,
      `date_done ${meta.date_done}`,
    );
  });

  test(
    named("TypeScript reads builtin and custom exceptions with their traceback"),
    { skip },
    async () => {
      const { backend } = setups.get(v)!;
      const boom = await send(v, "boom", ["bad input"]);
      await assert.rejects(
        new AsyncResult(boom, backend).get({ timeout: 20_000 }),
        (e: unknown) =>
          e instanceof TaskError && e.name === "ValueError" && e.message === "bad input" &&
          e.excModule === "builtins" && /ValueError: bad input/.test(e.traceback ?? ""),
      );
      const custom = await send(v, "custom_err");
      const error = await new AsyncResult(custom, backend).get({
        timeout: 20_000,
        propagate: false,
      });
      assert.ok(error instanceof TaskError);
      assert.equal(error.excType, "MyErr");
      assert.equal(error.excModule, "celery_app");
      assert.deepEqual(error.excMessage, ["custom", 42]);
    },
  );

  test(named("TypeScript sees RETRY, then the SUCCESS after the retry"), { skip }, async () => {
    const { backend } = setups.get(v)!;
    const id = await send(v, "flaky");
    const seen: TaskMeta[] = [];
    const value = await new AsyncResult(id, backend).get({
      timeout: 20_000,
      onMessage: (m) => seen.push(m),
    });
    assert.equal(value, "ok after retry");
    const retry = seen.find((m) => m.status === "RETRY");
    assert.ok(retry, `states seen: ${seen.map((m) => m.status)}`);
    assert.ok(retry.result instanceof TaskError && retry.result.excType === "KeyError");
    assert.equal((await backend.getTaskMeta(id)).retries, 1);
  });

  test(
    named("TypeScript follows STARTED and custom PROGRESS states to the result"),
    { skip },
    async () => {
      const { backend } = setups.get(v)!;
      const id = await send(v, "progress", [3, 0.15]);
      const states: string[] = [];
      const progress: unknown[] = [];
      for await (const meta of new AsyncResult(id, backend).states()) {
        states.push(meta.status);
        if (meta.status === "PROGRESS") progress.push(meta.result);
        if (meta.status === "STARTED") {
          assert.equal((meta.result as { hostname: string }).hostname, `py${v}@interop`);
        }
      }
      assert.equal(states.at(-1), "SUCCESS");
      assert.ok(states.includes("PROGRESS"), `states: ${states}`);
      assert.deepEqual(progress.at(-1), { done: 3, total: 3 });
      assert.equal(await new AsyncResult(id, backend).result(), "finished");
    },
  );

  test(
    named("TypeScript decodes datetime, Decimal, UUID, unicode and big integers"),
    { skip },
    async () => {
      const { backend } = setups.get(v)!;
      const id = await send(v, "rich");
      const r = await new AsyncResult(id, backend).get({ timeout: 20_000 }) as Record<
        string,
        unknown
      >;
      assert.equal(r.uni, "h\u00e9llo \u00e9\u{1F600}");
      assert.equal(r.big, 2n ** 70n);
      assert.equal(r.f, 2.5);
      assert.equal(r.whole, 3);
      if (v === "5.2") {
        // kombu 5.2 wrote plain strings.
        assert.equal(r.dt, "2024-05-06T07:08:09.123456Z");
        assert.equal(r.d, "2024-05-06T00:00:00");
        assert.equal(r.dec, "1.50");
        assert.equal(r.u, "12345678-1234-5678-1234-567812345678");
      } else {
        assert.ok(r.dt instanceof PyDateTime);
        assert.equal(r.dt.isoformat, "2024-05-06T07:08:09.123456+00:00");
        assert.equal((r.dt as Date).getTime(), Date.UTC(2024, 4, 6, 7, 8, 9, 123));
        assert.equal(String(r.d), "2024-05-06");
        assert.ok(r.dec instanceof PyDecimal);
        assert.equal(String(r.dec), "1.50");
        assert.ok(r.u instanceof PyUUID);
        assert.equal(String(r.u), "12345678-1234-5678-1234-567812345678");
      }
    },
  );

  test(named("TypeScript reads a task revoked before it ran"), { skip }, async () => {
    const { backend, server } = setups.get(v)!;
    const id = await send(v, "sleepy", [0.1], "--countdown", "1.5");
    await harness(v, server.url, "revoke", id);
    await assert.rejects(
      new AsyncResult(id, backend).get({ timeout: 20_000 }),
      (e: unknown) =>
        e instanceof TaskError && e.name === "TaskRevokedError" &&
        e.excModule === "celery.exceptions",
    );
  });

  test(
    named("Python reads every state TypeScript stores, as if a worker wrote it"),
    { skip },
    async () => {
      const { backend } = setups.get(v)!;
      const run = `ts-${v}-${Date.now()}`;
      const request = {
        task: "celery_app.add",
        args: [1, 2],
        kwargs: { k: "v" },
        hostname: "ts@worker",
        retries: 0,
        deliveryInfo: { routingKey: "celery" },
      };
      await backend.markAsDone(`${run}-ok`, { total: 3, items: [1, "two", null] }, request);
      await backend.markAsFailure(`${run}-type`, new TypeError("unsupported operand"), { request });
      await backend.markAsFailure(
        `${run}-custom`,
        new TaskError("MyErr", ["custom", 42], "celery_app", { traceback: "Traceback (ts)" }),
      );
      await backend.markAsRetry(`${run}-retry`, new TaskError("KeyError", ["again"], "builtins"), {
        request: { ...request, retries: 1 },
      });
      await backend.markAsStarted(`${run}-started`, { pid: 4242, hostname: "ts@worker" }, request);
      await backend.storeResult(`${run}-progress`, { done: 1, total: 4 }, "PROGRESS", { request });
      await backend.markAsRevoked(`${run}-revoked`, "terminated", request);

      const ok = await pyRead(v, `${run}-ok`);
      assert.equal(ok.state, "SUCCESS");
      assert.deepEqual(ok.result, { total: 3, items: [1, "two", null] });
      assert.equal(ok.name, "celery_app.add");
      assert.deepEqual(ok.args, [1, 2]);
      assert.deepEqual(ok.kwargs, { k: "v" });
      assert.equal(ok.worker, "ts@worker");
      assert.equal(ok.queue, "celery");
      assert.equal(ok.retries, 0);
      assert.ok(ok.date_done?.iso, "Python parsed date_done");
      assert.equal(ok.ttl > 86_000, true);

      const type = await pyRead(v, `${run}-type`);
      assert.equal(type.state, "FAILURE");
      const typeErr = (type.result as PyException).exception;
      assert.equal(typeErr.class, "TypeError");
      assert.equal(typeErr.is_instance_of_builtin, true);
      assert.deepEqual(typeErr.args, ["unsupported operand"]);
      assert.match(type.traceback ?? "", /TypeError: unsupported operand/);

      const custom = await pyRead(v, `${run}-custom`);
      const customErr = (custom.result as PyException).exception;
      assert.equal(customErr.class, "MyErr");
      assert.equal(customErr.module, "celery_app");
      assert.deepEqual(customErr.args, ["custom", 42]);
      assert.equal(custom.traceback, "Traceback (ts)");

      const retry = await pyRead(v, `${run}-retry`);
      assert.equal(retry.state, "RETRY");
      assert.equal((retry.result as PyException).exception.class, "KeyError");
      assert.equal(retry.retries, 1);

      const started = await pyRead(v, `${run}-started`);
      assert.equal(started.state, "STARTED");
      assert.deepEqual(started.result, { pid: 4242, hostname: "ts@worker" });
      assert.equal(started.date_done, null);

      const progress = await pyRead(v, `${run}-progress`);
      assert.equal(progress.state, "PROGRESS");
      assert.deepEqual(progress.result, { done: 1, total: 4 });

      const revoked = await pyRead(v, `${run}-revoked`);
      assert.equal(revoked.state, "REVOKED");
      const revokedErr = (revoked.result as PyException).exception;
      assert.equal(revokedErr.class, "TaskRevokedError");
      assert.equal(revokedErr.module, "celery.exceptions");
      assert.deepEqual(revokedErr.args, ["terminated"]);
    },
  );

  test(named("for the same meta, TypeScript writes exactly Python's bytes"), { skip }, async () => {
    const { server } = setups.get(v)!;
    const instant = new Date(Date.UTC(2026, 10, 24, 11, 38, 23, 27));
    await using ts = createBackend("memory://", {
      celeryVersion: v,
      resultExtended: true,
      now: () => instant,
    });
    const request = {
      task: "celery_app.add",
      args: [1, 2],
      kwargs: {},
      hostname: "w@h",
      retries: 0,
      delivery_info: { routing_key: "celery" },
      group: "g-1",
      parent_id: "p-1",
      children: [[["c-1", null], null]],
    };
    const tsRequest = {
      task: "celery_app.add",
      args: [1, 2],
      kwargs: {},
      hostname: "w@h",
      retries: 0,
      deliveryInfo: { routingKey: "celery" },
      group: "g-1",
      parentId: "p-1",
      children: [[["c-1", null], null]] as [[string, null], null][],
    };
    const richPy = {
      when: { py: "datetime", value: "2024-05-06T07:08:09.123456+00:00" },
      price: { py: "Decimal", value: "1.50" },
      id: { py: "UUID", value: "12345678-1234-5678-1234-567812345678" },
      big: { py: "int", value: String(2n ** 70n) },
      whole: { py: "float", value: "3.0" },
      half: 0.5,
      text: 'h\u00e9llo \u{1F600}\n"q"',
      nan: { py: "float", value: "nan" },
      nested: [1, [true, false, null], {}],
    };
    const richTs = {
      when: new PyDateTime("2024-05-06T07:08:09.123456+00:00"),
      price: new PyDecimal("1.50"),
      id: new PyUUID("12345678-1234-5678-1234-567812345678"),
      big: 2n ** 70n,
      whole: new PyFloat(3),
      half: 0.5,
      text: 'h\u00e9llo \u{1F600}\n"q"',
      nan: NaN,
      nested: [1, [true, false, null], {}],
    };
    const cases: [object, () => Promise<unknown>][] = [
      [
        { task_id: "b-1", state: "SUCCESS", result: richPy, request },
        () => ts.markAsDone("b-1", richTs, tsRequest),
      ],
      [
        {
          task_id: "b-2",
          state: "FAILURE",
          result: { exception: { module: "builtins", class: "ValueError", args: ["bad", 42] } },
          traceback: 'Traceback (most recent call last):\n  File "x"\nValueError: bad',
          request,
        },
        () =>
          ts.markAsFailure("b-2", new TaskError("ValueError", ["bad", 42], "builtins"), {
            traceback: 'Traceback (most recent call last):\n  File "x"\nValueError: bad',
            request: tsRequest,
          }),
      ],
      [
        { task_id: "b-3", state: "PROGRESS", result: { done: 1 }, request: null },
        () => ts.storeResult("b-3", { done: 1 }, "PROGRESS"),
      ],
    ];
    for (const [spec, store] of cases) {
      const py = (await harness(
        v,
        server.url,
        "encode-meta",
        JSON.stringify({ ...spec, now: "2026-11-24T11:38:23.027000" }),
      )) as HarnessStored;
      await store();
      const id = (spec as { task_id: string }).task_id;
      assert.equal(text(await ts.get(`celery-task-meta-${id}`)), text(rawBytes(py.raw)), id);
    }
  });

  test(
    named("a group of 100 Python tasks is joined by TypeScript, in order"),
    { skip },
    async () => {
      const { backend } = setups.get(v)!;
      const sent = await groupClient(v, "send", "100") as { group_id: string; ids: string[] };
      const group = await GroupResult.restore(backend, sent.group_id);
      assert.ok(group, "the group Python saved is restored");
      assert.deepEqual(group.leaves().map((r) => r.id), sent.ids);
      const values = await group.joinNative({ timeout: 60_000 });
      assert.deepEqual(values, Array.from({ length: 100 }, (_, i) => i + i));
      assert.equal(await group.completedCount(), 100);
    },
  );

  test(
    named("a group saved by TypeScript is restored and joined by Python"),
    { skip },
    async () => {
      const { backend } = setups.get(v)!;
      const members = ["a", "b", "c"].map((s) => new AsyncResult(`tsg-${v}-${s}`, backend));
      const group = new GroupResult(`tsg-${v}`, members, backend);
      await group.save();
      await Promise.all(members.map((m, i) => backend.markAsDone(m.id, i * 10)));
      const joined = await groupClient(v, "join", group.id) as { ids: string[]; values: string[] };
      assert.deepEqual(joined.ids, members.map((m) => m.id));
      assert.deepEqual(joined.values, ["0", "10", "20"]);
    },
  );
}
