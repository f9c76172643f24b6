// getMany(): Celery's get_many — an async iterator that yields each task as it becomes ready —
// over the memory driver and a real redis-server, and side by side with Celery 5.2 and 5.6's
// backend.get_many() on the same keys.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import {
  consumerFor,
  createBackend,
  getMany,
  memoryDriver,
  RedisBackend,
  type RedisDriver,
  ResultConsumer,
  TaskError,
  TimeoutError,
} from "../mod.ts";
import { celeryAvailable, celeryUrls, celeryVersions, type PyException } from "./_celery.ts";
import { celeryNames } from "./_celery_names.ts";
import { celeryPythons, requirement } from "./_env.ts";
import { type RedisServer, startRedisServer } from "./_redis_server.ts";
import { until } from "./_time.ts";

/** Every value of an async iterable (Array.fromAsync, which Node 20 lacks). */
async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const values: T[] = [];
  for await (const value of iterable) values.push(value);
  return values;
}

let server: RedisServer;
before(async () => {
  server = await startRedisServer();
});
after(async () => {
  await server?.[Symbol.asyncDispose]();
});

/** Collects an iterator's pairs as [id, status], acting on each as it arrives. */
async function drain(
  pairs: AsyncIterable<[string, { status: string }]>,
  onEach: (id: string) => unknown = () => {},
): Promise<[string, string][]> {
  const seen: [string, string][] = [];
  for await (const [id, meta] of pairs) {
    seen.push([id, meta.status]);
    await onEach(id);
  }
  return seen;
}

/** How many channels the backend's pub/sub consumer holds on the server (0 = all released). */
function subscribed(backend: RedisBackend): number {
  const consumer = consumerFor(backend);
  assert.ok(consumer instanceof ResultConsumer);
  return consumer.subscribedChannels.size;
}

const backends: [string, () => RedisBackend][] = [
  ["memory", () => createBackend("memory://")],
  ["redis", () => createBackend(celeryUrls(server.url).resultUrl)],
];

for (const [name, make] of backends) {
  test(`${name}: getMany() yields ready tasks first, then each as it becomes ready`, async () => {
    await using backend = make();
    await backend.markAsDone("gm-a", 1);
    await backend.markAsDone("gm-b", 2);
    // c and d are stored only once the loop has seen b: they can only come from waiting.
    const seen = await drain(getMany(backend, ["gm-a", "gm-b", "gm-c", "gm-d"]), async (id) => {
      if (id === "gm-b") await backend.markAsDone("gm-d", 4);
      if (id === "gm-d") await backend.markAsDone("gm-c", 3);
    });
    assert.deepEqual(seen, [
      ["gm-a", "SUCCESS"],
      ["gm-b", "SUCCESS"],
      ["gm-d", "SUCCESS"],
      ["gm-c", "SUCCESS"],
    ]);
  });
}

test("getMany() yields a duplicate id once and never a state that is not ready", async () => {
  await using backend = createBackend("memory://");
  await backend.markAsStarted("gm-s", { pid: 1 });
  const heard: string[] = [];
  const pairs = getMany(backend, ["gm-s", "gm-s"], {
    onMessage: (meta) => heard.push(meta.status),
  });
  const first = pairs.next();
  await until("the wait to be registered", () => subscribed(backend) === 1);
  await backend.markAsRetry("gm-s", new Error("again"));
  await backend.markAsDone("gm-s", "done");
  const { value } = await first;
  assert.deepEqual(value?.[0], "gm-s");
  assert.equal(value?.[1].status, "SUCCESS");
  assert.deepEqual(heard, ["SUCCESS"], "onMessage hears each ready meta, as Celery's get_many");
  assert.deepEqual(await pairs.next(), { value: undefined, done: true });
});

test("getMany() yields FAILURE as a meta; propagate: true throws the task's error", async () => {
  await using backend = createBackend("memory://");
  await backend.markAsFailure("gm-f", new RangeError("bad"));
  const pairs = await collect(getMany(backend, ["gm-f"]));
  assert.equal(pairs.length, 1);
  const [id, meta] = pairs[0]!;
  assert.equal(id, "gm-f");
  assert.equal(meta.status, "FAILURE");
  assert.ok(meta.result instanceof TaskError && meta.result.name === "RangeError");
  await assert.rejects(
    collect(getMany(backend, ["gm-f"], { propagate: true })),
    (error) => error instanceof TaskError && error.name === "RangeError",
  );
});

test("getMany() times out after yielding the ready tasks, and releases every wait", async () => {
  await using backend = createBackend(celeryUrls(server.url).resultUrl);
  await backend.markAsDone("gm-t1", 1);
  const seen: string[] = [];
  // Long enough for the first read even on a loaded machine: gm-t1 is ready before it ends.
  await assert.rejects(
    (async () => {
      for await (const [id] of getMany(backend, ["gm-t1", "gm-t2", "gm-t3"], { timeout: 500 })) {
        seen.push(id);
      }
    })(),
    TimeoutError,
  );
  assert.deepEqual(seen, ["gm-t1"]);
  await until("every subscription to be released", () => subscribed(backend) === 0);
});

test("breaking out of getMany() early releases every wait", async () => {
  await using backend = createBackend(celeryUrls(server.url).resultUrl);
  await backend.markAsDone("gm-e1", 1);
  for await (const [id] of getMany(backend, ["gm-e1", "gm-e2", "gm-e3"])) {
    assert.equal(id, "gm-e1");
    // Subscribed before the read that found gm-e1, so gm-e2 and gm-e3 are held now.
    assert.ok(subscribed(backend) >= 2, "gm-e2 and gm-e3 are waited for");
    break;
  }
  await until("every subscription to be released", () => subscribed(backend) === 0);
});

test("aborting getMany() throws the signal's reason and releases every wait", async () => {
  await using backend = createBackend(celeryUrls(server.url).resultUrl);
  const controller = new AbortController();
  const pairs = getMany(backend, ["gm-x1", "gm-x2"], { signal: controller.signal });
  const first = pairs.next();
  await until("both waits to be subscribed", () => subscribed(backend) === 2);
  const reason = new Error("the caller left");
  controller.abort(reason);
  await assert.rejects(first, (error) => error === reason);
  await until("every subscription to be released", () => subscribed(backend) === 0);
});

test("getMany() refuses bad ids and timeouts before any I/O", async () => {
  let commands = 0;
  const counting = (driver: RedisDriver): RedisDriver =>
    new Proxy(driver, {
      get(target, key, receiver) {
        const value = Reflect.get(target, key, receiver);
        if (typeof value !== "function") return value;
        // Methods run on the driver itself (its private fields are not on the proxy).
        return (...args: unknown[]) => {
          if (key === "send" || key === "transaction" || key === "openSubscriber") commands++;
          return value.apply(target, args);
        };
      },
    });
  await using watched = new RedisBackend(counting(memoryDriver()));
  assert.throws(() => getMany(watched, "gm-1" as never), TypeError);
  assert.throws(() => getMany(watched, ["gm-1", ""]), /task_id must not be empty/);
  assert.throws(() => getMany(watched, [42 as never]), TypeError);
  assert.throws(() => getMany(watched, ["gm-1"], { timeout: -1 }), RangeError);
  assert.throws(() => getMany(watched, ["gm-1"], { timeout: "1" as never }), TypeError);
  assert.deepEqual(await collect(getMany(watched, [])), []);
  assert.equal(commands, 0);
});

for (const version of celeryVersions) {
  test(
    `getMany() yields what Celery ${version}'s backend.get_many() yields, and times out alike`,
    {
      skip: requirement(celeryAvailable(version), `Celery ${version} (${celeryPythons[version]})`),
    },
    async () => {
      await using backend = createBackend(celeryUrls(server.url).resultUrl);
      const ids = [`gm-py${version}-ok`, `gm-py${version}-fail`, `gm-py${version}-pending`];
      await backend.markAsDone(ids[0]!, { n: 1 });
      await backend.markAsFailure(ids[1]!, new TypeError("nope"));
      const asked = [...ids, ids[0]!];
      const python = await celeryNames<
        { yielded: [string, string, unknown][]; error: string | null }
      >(version, server.url, "get-many", JSON.stringify(asked), "0.3");
      const ours: [string, string, unknown][] = [];
      let error: string | null = null;
      try {
        for await (const [id, meta] of getMany(backend, asked, { timeout: 300 })) {
          const value = meta.result instanceof TaskError ? meta.result.name : meta.result;
          ours.push([id, meta.status, value]);
        }
      } catch (e) {
        error = e instanceof TimeoutError ? "TimeoutError" : String(e);
      }
      const theirs = python.yielded.map(([id, status, value]) =>
        [id, status, (value as PyException).exception?.class ?? value] as const
      );
      const byId = (a: readonly unknown[], b: readonly unknown[]) =>
        String(a[0]).localeCompare(String(b[0]));
      assert.deepEqual([...ours].sort(byId), [...theirs].sort(byId));
      assert.equal(ours.length, 2, "the pending task is not yielded, the repeated id once");
      assert.equal(python.error, "TimeoutError");
      assert.equal(error, python.error);
    },
  );
}
