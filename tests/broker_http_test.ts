// sendTask() over the HTTP driver (Upstash's REST API; the local server fronts a real
// redis-server): messages sent from TypeScript through /multi-exec and plain LPUSH requests are
// run by real Celery 5.2.6 and 5.6.3 workers, with results read over REST by polling and by the
// streaming SUBSCRIBE (subscribed before the push, so a fast worker's STARTED is heard), and
// revoke() reaches the workers through PUBLISH over REST.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import {
  type Broker,
  createBackend,
  createBroker,
  httpStreaming,
  PyDecimal,
  type RedisBackend,
  TaskError,
  type TaskMeta,
} from "../edge.ts";
import {
  celeryAvailable,
  type CeleryVersion,
  celeryVersions,
  type CeleryWorker,
  startCeleryWorker,
} from "./_celery.ts";
import { requirement } from "./_env.ts";
import { deferred } from "./_deferred.ts";
import { type RedisServer, startRedisServer } from "./_redis_server.ts";
import { startUpstashServer, type UpstashServer } from "./_upstash_server.ts";

const TOKEN = "broker-http-token";

interface Setup {
  server: RedisServer;
  brokerRest: UpstashServer; // db 0, Celery's broker
  resultRest: UpstashServer; // db 1, Celery's result backend
  worker: CeleryWorker;
}
const setups = new Map<CeleryVersion, Setup>();

before(async () => {
  await Promise.all(
    celeryVersions.filter(celeryAvailable).map(async (version) => {
      const server = await startRedisServer();
      const brokerRest = await startUpstashServer({ redisPort: server.port, token: TOKEN, db: 0 });
      const resultRest = await startUpstashServer({ redisPort: server.port, token: TOKEN, db: 1 });
      const worker = await startCeleryWorker(version, server.url, {
        hostname: `http${version}@live`,
        pool: "prefork", // control messages (revoke) are heard while a task runs
        concurrency: 1,
      });
      setups.set(version, { server, brokerRest, resultRest, worker });
    }),
  );
});

after(async () => {
  for (const { server, brokerRest, resultRest, worker } of setups.values()) {
    await worker.stop("SIGKILL");
    await brokerRest.close();
    await resultRest.close();
    await server.stop();
  }
});

/** A broker over REST (db 0) whose results are read over REST (db 1). */
function connect(
  setup: Setup,
  version: CeleryVersion,
  streaming: boolean,
): { broker: Broker; backend: RedisBackend } {
  const backend = createBackend(setup.resultRest.url, {
    token: TOKEN,
    celeryVersion: version,
    streaming: streaming && httpStreaming(),
  });
  const broker = createBroker(setup.brokerRest.url, {
    token: TOKEN,
    backend,
    celeryVersion: version,
  });
  return { broker, backend };
}

for (const version of celeryVersions) {
  const skip = requirement(celeryAvailable(version), `Celery ${version}`);

  test(
    `Celery ${version} over REST: sent tasks run; the first send declares the queue in one /multi-exec`,
    {
      skip,
    },
    async () => {
      const setup = setups.get(version)!;
      const { broker, backend } = connect(setup, version, false);
      try {
        setup.brokerRest.resetCounts();
        const first = await broker.sendTask("celery_app.add", { args: [2, 3] });
        const second = await broker.sendTask("celery_app.echo", {
          args: [{ dec: new PyDecimal("1.50"), big: 2n ** 70n, uni: "h\u00e9llo \u{1F600}" }],
        });
        // kombu's queue binding and the first message in one atomic request, then plain LPUSHes.
        assert.equal(setup.brokerRest.requests["/multi-exec"], 1);
        assert.deepEqual(setup.brokerRest.commands, ["MULTI", "SADD", "LPUSH", "EXEC", "LPUSH"]);
        assert.equal(await first.get({ timeout: 30_000 }), 5);
        const echoed = await second.get({ timeout: 30_000 }) as Record<string, unknown>;
        assert.equal(echoed.big, 2n ** 70n);
        assert.equal(echoed.uni, "h\u00e9llo \u{1F600}");
        // Celery 5.2's kombu has no Decimal marker: the worker got (and returned) its text.
        if (version === "5.2") assert.equal(echoed.dec, "1.50");
        else assert.ok(echoed.dec instanceof PyDecimal && echoed.dec.toString() === "1.50");
      } finally {
        await broker.close();
        await backend.close();
      }
    },
  );

  test(`Celery ${version} over REST: with streaming SUBSCRIBE every state is heard`, {
    skip,
  }, async () => {
    const setup = setups.get(version)!;
    const { broker, backend } = connect(setup, version, true);
    try {
      const states: string[] = [];
      const result = await broker.sendTask("celery_app.progress", {
        kwargs: { steps: 2, delay: 0 },
        onMessage: (meta: TaskMeta) =>
          states.push(
            meta.status === "PROGRESS"
              ? `PROGRESS ${(meta.result as { done: number }).done}`
              : meta.status,
          ),
      });
      assert.equal(await result.get({ timeout: 30_000 }), "finished");
      assert.deepEqual(states, ["STARTED", "PROGRESS 1", "PROGRESS 2", "SUCCESS"]);
      assert.ok(setup.resultRest.requests["/subscribe"]! >= 1);
    } finally {
      await broker.close();
      await backend.close();
    }
  });

  test(`Celery ${version} over REST: revoke terminates a running task`, { skip }, async () => {
    const setup = setups.get(version)!;
    const { broker, backend } = connect(setup, version, true);
    try {
      const started = deferred<void>();
      const running = await broker.sendTask("celery_app.sleepy", {
        args: [60],
        onMessage: (meta: TaskMeta) => meta.status === "STARTED" && started.resolve(),
      });
      await started.promise;
      const receivers = await broker.revoke(running.id, { terminate: true, signal: "SIGKILL" });
      assert.ok(receivers >= 1, "the worker is subscribed to the control channel");
      const error = await running.get({ timeout: 30_000, propagate: false });
      assert.ok(error instanceof TaskError);
      assert.equal(error.name, "TaskRevokedError");
    } finally {
      await broker.close();
      await backend.close();
    }
  });
}
