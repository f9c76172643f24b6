// Tasks sent from TypeScript are run by real Celery 5.2.6 and 5.6.3 workers: arguments of every
// kombu JSON type arrive as Python values, the result is subscribed before the push (a fast
// worker's STARTED is heard), eta, expires and priority are honoured, revoke discards a queued
// task and terminates a running one (prefork pool), and a chord completed by TypeScript header
// parts has its body sent through the broker and run by Python.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import {
  AsyncResult,
  type Broker,
  canvas,
  createBackend,
  createBroker,
  PyDate,
  PyDateTime,
  PyDecimal,
  PyFloat,
  PyUUID,
  type RedisBackend,
  setChordSize,
  TaskError,
  type TaskMeta,
} from "../mod.ts";
import { brokerOnBody } from "../src/broker/chord_body.ts";
import {
  celeryAvailable,
  celeryUrls,
  type CeleryVersion,
  celeryVersions,
  type CeleryWorker,
  type HarnessRead,
  runHarness,
  startCeleryWorker,
} from "./_celery.ts";
import { requirement } from "./_env.ts";
import { deferred } from "./_deferred.ts";
import { type RedisServer, startRedisServer } from "./_redis_server.ts";

interface Setup {
  server: RedisServer;
  worker: CeleryWorker;
  backend: RedisBackend;
  broker: Broker;
}
const setups = new Map<CeleryVersion, Setup>();

before(async () => {
  await Promise.all(
    celeryVersions.filter(celeryAvailable).map(async (version) => {
      const server = await startRedisServer();
      const worker = await startCeleryWorker(version, server.url, {
        hostname: `send${version}@live`,
      });
      const { brokerUrl, resultUrl } = celeryUrls(server.url);
      const backend = createBackend(resultUrl, { celeryVersion: version });
      const broker = createBroker(brokerUrl, { backend, celeryVersion: version });
      setups.set(version, { server, worker, backend, broker });
    }),
  );
});

after(async () => {
  for (const { server, worker, backend, broker } of setups.values()) {
    await broker.close();
    await backend.close();
    await worker.stop("SIGKILL");
    await server.stop();
  }
});

/** What Python's AsyncResult reads for a task (waiting until it is ready). */
function pythonRead(version: CeleryVersion, setup: Setup, id: string): Promise<HarnessRead> {
  return runHarness(version, setup.server.url, ["wait", id, "--timeout", "30"]) as Promise<
    HarnessRead
  >;
}

for (const version of celeryVersions) {
  const skip = requirement(celeryAvailable(version), `Celery ${version}`);
  const modern = version !== "5.2"; // kombu 5.3+ JSON carries the Python types

  test(`Celery ${version}: every kombu JSON type reaches the worker as a Python value`, {
    skip,
  }, async () => {
    const setup = setups.get(version)!;
    const states: string[] = [];
    const value = {
      dt: new PyDateTime("2024-05-06T07:08:09.123456+00:00"),
      date: new PyDate("2024-05-06"),
      dec: new PyDecimal("1.50"),
      uuid: new PyUUID("12345678-1234-5678-1234-567812345678"),
      big: 2n ** 70n,
      negative: -(2n ** 64n),
      uni: "h\u00e9llo \u{1F600} \u4e2d",
      whole: new PyFloat(3),
      half: 0.5,
      nested: [1, [2, [null, true, false]], { k: [null] }],
    };
    const result = await setup.broker.sendTask("celery_app.echo", {
      args: [value],
      onMessage: (meta) => states.push(meta.status),
    });
    const read = await pythonRead(version, setup, result.id);
    assert.equal(read.state, "SUCCESS");
    const got = read.result as Record<string, unknown>;
    assert.deepEqual(got.big, { py: "int", value: (2n ** 70n).toString() });
    assert.deepEqual(got.negative, { py: "int", value: (-(2n ** 64n)).toString() });
    assert.equal(got.uni, "h\u00e9llo \u{1F600} \u4e2d");
    assert.deepEqual(got.whole, { py: "float", value: "3.0" });
    assert.deepEqual(got.nested, [1, [2, [null, true, false]], { k: [null] }]);
    if (modern) {
      assert.deepEqual(got.dt, {
        py: "datetime",
        value: "2024-05-06T07:08:09.123456+00:00",
        tzinfo: "datetime.timezone.utc",
      });
      assert.deepEqual(got.date, { py: "date", value: "2024-05-06" });
      assert.deepEqual(got.dec, { py: "Decimal", value: "1.50" });
      assert.deepEqual(got.uuid, { py: "UUID", value: "12345678-1234-5678-1234-567812345678" });
    } else {
      // kombu 5.2 has no type markers: Python gets the text, exactly as from a Python sender.
      assert.equal(got.dt, "2024-05-06T07:08:09.123456Z");
      assert.equal(got.date, "2024-05-06T00:00:00");
      assert.equal(got.dec, "1.50");
      assert.equal(got.uuid, "12345678-1234-5678-1234-567812345678");
    }
    // Subscribed before the push: the worker's STARTED was heard, then SUCCESS.
    assert.deepEqual(states, ["STARTED", "SUCCESS"]);
    assert.equal((await result.get({ timeout: 10_000 }) as Record<string, unknown>).half, 0.5);
  });

  test(`Celery ${version}: countdown and eta — the task runs no earlier`, { skip }, async () => {
    const setup = setups.get(version)!;
    const eta = new Date(Date.now() + 1500);
    const byEta = await setup.broker.sendTask("celery_app.add", { args: [1, 2], eta });
    const sentAt = Date.now();
    const byCountdown = await setup.broker.sendTask("celery_app.add", {
      args: [2, 2],
      countdown: 1,
    });
    assert.equal(await byEta.get({ timeout: 20_000 }), 3);
    assert.equal(await byCountdown.get({ timeout: 20_000 }), 4);
    assert.ok((await byEta.dateDone())!.getTime() >= eta.getTime());
    assert.ok((await byCountdown.dateDone())!.getTime() >= sentAt + 1000);
  });

  test(`Celery ${version}: an expired task is REVOKED, not run`, { skip }, async () => {
    const setup = setups.get(version)!;
    const result = await setup.broker.sendTask("celery_app.add", {
      args: [1, 1],
      expires: new Date(Date.now() - 60_000),
    });
    const error = await result.get({ timeout: 20_000, propagate: false });
    assert.ok(error instanceof TaskError);
    assert.equal(error.name, "TaskRevokedError");
    assert.equal(await result.state(), "REVOKED");
  });

  // The solo pool blocks the worker's event loop while a task runs, so control messages wait
  // too: revoke is proved on a prefork worker (one process), as Celery documents terminate.
  test(`Celery ${version}: revoke discards a queued task and terminates a running one (prefork)`, {
    skip,
  }, async () => {
    const setup = setups.get(version)!;
    const queue = `ctl${version}`;
    await using _prefork = await startCeleryWorker(version, setup.server.url, {
      hostname: `prefork${version}@live`,
      pool: "prefork",
      concurrency: 1,
      queues: queue,
    });
    const started = deferred<void>();
    const running = await setup.broker.sendTask("celery_app.sleepy", {
      args: [60],
      queue,
      onMessage: (meta: TaskMeta) => meta.status === "STARTED" && started.resolve(),
    });
    await started.promise; // the only pool process is busy: the next task waits its turn
    const queued = await setup.broker.sendTask("celery_app.add", { args: [5, 5], queue });
    const receivers = await setup.broker.revoke(queued.id);
    assert.ok(receivers >= 1, "workers are subscribed to the control channel");
    await setup.broker.revoke(running.id, { terminate: true, signal: "SIGKILL" });
    for (const result of [running, queued]) {
      const error = await result.get({ timeout: 30_000, propagate: false });
      assert.ok(error instanceof TaskError, `${result.id} is REVOKED`);
      assert.equal(error.name, "TaskRevokedError");
    }
    const read = await pythonRead(version, setup, queued.id);
    assert.equal(read.state, "REVOKED");
  });

  test(`Celery ${version}: priority — lower steps are taken first`, { skip }, async () => {
    const setup = setups.get(version)!;
    const queue = `prio${version}`;
    const sent: AsyncResult[] = [];
    for (const priority of [9, 9, 6, 0, 0]) {
      sent.push(
        await setup.broker.sendTask("celery_app.add", { args: [priority, 0], priority, queue }),
      );
    }
    // Only now a worker for the queue: it pops the lists in kombu's priority order.
    await using _worker = await startCeleryWorker(version, setup.server.url, {
      hostname: `prio${version}@live`,
      queues: queue,
    });
    const done: [number, number][] = [];
    for (const result of sent) {
      const value = await result.get({ timeout: 30_000 }) as number;
      // Microseconds count: tasks finishing within one millisecond would tie on getTime().
      const at = (await result.dateDone())!;
      const micro = "microsecond" in at ? (at as { microsecond: number }).microsecond % 1000 : 0;
      done.push([value, at.getTime() * 1000 + micro]);
    }
    const order = done.slice().sort((a, b) => a[1] - b[1]).map(([value]) => value);
    assert.deepEqual(order, [0, 0, 6, 9, 9]);
  });

  test(`Celery ${version}: a chord whose header TypeScript completes has its body sent and run`, {
    skip,
  }, async () => {
    const setup = setups.get(version)!;
    const group = crypto.randomUUID();
    const bodyId = crypto.randomUUID();
    const body = {
      task: "celery_app.echo",
      args: [],
      kwargs: {},
      options: { task_id: bodyId },
      subtask_type: null,
      immutable: false,
    };
    await setChordSize(setup.backend, group, 2);
    const hook = canvas({ onBody: brokerOnBody(setup.broker) });
    for (const [index, value] of [[1, 20], [0, 10]] as const) {
      const id = crypto.randomUUID();
      await setup.backend.markAsDone(id, value, {
        id,
        group,
        groupIndex: index,
        chord: body,
        rootId: group,
      }, { canvas: hook });
    }
    assert.deepEqual(await new AsyncResult(bodyId, setup.backend).get({ timeout: 20_000 }), [
      10,
      20,
    ]);
  });
}
