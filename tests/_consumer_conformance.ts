// One behaviour suite for waiting (ResultConsumer, PollingConsumer, AsyncResult, GroupResult),
// run over every driver. Each driver's test file calls defineConsumerConformance().
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  AsyncResult,
  BackendClosedError,
  consumerFor,
  DecodeError,
  GroupResult,
  PollingConsumer,
  RedisBackend,
  type RedisBackendOptions,
  RedisConnectionError,
  TaskError,
  type TaskMeta,
  TimeoutError,
} from "../mod.ts";
import { type DriverFactory, heldReads, recordingDriver } from "./_drivers.ts";
import { channels, noChannelsLeft, watching } from "./_pubsub.ts";
import { settled, sleep, until } from "./_time.ts";

export function defineConsumerConformance(driverName: string, makeDriver: DriverFactory): void {
  const named = (subject: string) => `${driverName}: ${subject}`;
  async function backendWith(options: RedisBackendOptions = {}) {
    return new RedisBackend(await makeDriver(), options);
  }

  test(
    named("AsyncResult.get() resolves when a later result is stored, seeing every state"),
    async () => {
      await using backend = await backendWith();
      const seen: string[] = [];
      const result = new AsyncResult("w1", backend);
      const waiting = result.get({ onMessage: (m) => seen.push(m.status), timeout: 5000 });
      await watching(backend, ["w1"]);
      await backend.markAsStarted("w1", { pid: 1, hostname: "w" });
      await backend.storeResult("w1", { done: 1, total: 2 }, "PROGRESS");
      await backend.markAsRetry("w1", new Error("again"));
      await backend.markAsDone("w1", 99);
      assert.equal(await waiting, 99);
      assert.deepEqual(seen, ["STARTED", "PROGRESS", "RETRY", "SUCCESS"]);
      assert.deepEqual(await noChannelsLeft(backend.driver), []);
    },
  );

  test(named("AsyncResult.get() reads a result stored before the wait began"), async () => {
    await using backend = await backendWith();
    await backend.markAsDone("w2", "early");
    assert.equal(await new AsyncResult("w2", backend).get({ timeout: 2000 }), "early");
    assert.deepEqual(await noChannelsLeft(backend.driver), []);
  });

  test(
    named("AsyncResult.get() rejects FAILURE and REVOKED, or returns them with propagate false"),
    async () => {
      await using backend = await backendWith();
      await backend.markAsFailure("w3", new TaskError("ValueError", ["bad"], "builtins"));
      await assert.rejects(
        new AsyncResult("w3", backend).get(),
        (e: unknown) => e instanceof TaskError && e.name === "ValueError" && e.message === "bad",
      );
      const returned = await new AsyncResult("w3", backend).get({ propagate: false });
      assert.ok(returned instanceof TaskError);
      await backend.markAsRevoked("w4", "revoked");
      await assert.rejects(
        new AsyncResult("w4", backend).get(),
        (e: unknown) => e instanceof TaskError && e.name === "TaskRevokedError",
      );
    },
  );

  test(
    named("a wait with a timeout hears its result before the release arms its timer"),
    async () => {
      // The release after a settled wait (UNSUBSCRIBE, cancelling its deadline) arms a 0 ms
      // timer; arming one costs microseconds the waiter should not wait for.
      await using backend = await backendWith();
      const realSetTimeout = globalThis.setTimeout;
      let zeroTimers = 0;
      let armedBeforeResult: number | undefined;
      const waiting = new AsyncResult("order1", backend).get({ timeout: 60_000 }).then(
        (value) => {
          armedBeforeResult = zeroTimers;
          return value;
        },
      );
      await watching(backend, ["order1"]);
      globalThis.setTimeout = ((callback: () => void, ms?: number) => {
        if (!ms) zeroTimers++;
        return realSetTimeout(callback, ms);
      }) as typeof setTimeout;
      try {
        await backend.markAsDone("order1", 7);
        assert.equal(await waiting, 7);
        await new Promise((resolve) => realSetTimeout(resolve, 20));
      } finally {
        globalThis.setTimeout = realSetTimeout;
      }
      assert.equal(armedBeforeResult, 0, "the release armed its timer before the waiter heard");
      assert.ok(zeroTimers > 0, "the release armed no timer at all");
      assert.deepEqual(await noChannelsLeft(backend.driver), []);
    },
  );

  test(
    named("AsyncResult.get() times out with TimeoutError and releases the channel"),
    async () => {
      await using backend = await backendWith();
      await assert.rejects(
        new AsyncResult("never", backend).get({ timeout: 50 }),
        (e: unknown) =>
          e instanceof TimeoutError &&
          e.message.startsWith("The operation timed out: waited 50 ms for task never"),
      );
      assert.deepEqual(await noChannelsLeft(backend.driver), []);
    },
  );

  test(
    named("every wait times out, however many timed out before it"),
    async () => {
      await using backend = await backendWith();
      // A timed-out wait's deadline is cancelled later, with others: that must not cost the
      // next wait its own deadline (it once did, and the next wait hung forever).
      for (const [i, timeout] of [0, 1, 10, 0, 5].entries()) {
        const what = `wait ${i} (timeout ${timeout} ms)`;
        const waiting = new AsyncResult(`times-out-${i}`, backend).get({ timeout });
        await assert.rejects(settled(what, waiting), TimeoutError, what);
      }
      assert.deepEqual(await noChannelsLeft(backend.driver), []);
    },
  );

  /** The consumer types a backend on this driver can use (polling always; pub/sub if it can). */
  async function consumerTypes(): Promise<("pubsub" | "polling")[]> {
    await using driver = await makeDriver();
    return driver.openSubscriber ? ["pubsub", "polling"] : ["polling"];
  }

  /** How a wait ended, and whether the test had let the consumer read by then. */
  function outcome(waiting: Promise<unknown>, readAllowed: () => boolean) {
    return waiting.then(
      (value) => ({ value, error: undefined, afterRead: readAllowed() }),
      (error: unknown) => ({ value: undefined, error, afterRead: readAllowed() }),
    );
  }

  test(
    named("a timeout that passes before the first read is decided by it: ready resolves"),
    async () => {
      // Celery's get() reads the state once before its clock starts: a task already ready is
      // returned whatever the timeout, even when that read is slower than the timeout.
      for (const consumer of await consumerTypes()) {
        const reads = heldReads(await makeDriver());
        await using backend = new RedisBackend(reads.driver, { consumer });
        await backend.markAsDone("read-first-ready", 42);
        await backend.markAsStarted("read-first-started", { pid: 1, hostname: "w" });
        reads.hold();
        let readAllowed = false;
        const ready = outcome(
          new AsyncResult("read-first-ready", backend).get({ timeout: 1 }),
          () => readAllowed,
        );
        const started = outcome(
          new AsyncResult("read-first-started", backend).get({ timeout: 1 }),
          () => readAllowed,
        );
        await sleep(20); // both deadlines fall due while the consumer's first read is held
        readAllowed = true;
        reads.release();
        assert.deepEqual(await settled(`${consumer}: the ready task`, ready), {
          value: 42,
          error: undefined,
          afterRead: true,
        });
        const late = await settled(`${consumer}: the started task`, started);
        assert.ok(late.error instanceof TimeoutError, `${consumer}: ${late.error}`);
        assert.equal(late.afterRead, true, `${consumer}: timed out before its first read`);
        assert.deepEqual(await noChannelsLeft(backend.driver), []);
      }
    },
  );

  test(
    named("a message before the first read does not stand in for it: the read decides"),
    async () => {
      // The read may return a newer state than a message that overtook it (a SUCCESS stored just
      // after the STARTED message was published), so only the read ends a wait past its deadline.
      if (!(await consumerTypes()).includes("pubsub")) return;
      const reads = heldReads(await makeDriver());
      await using backend = new RedisBackend(reads.driver, { consumer: "pubsub" });
      reads.hold();
      let readAllowed = false;
      const seen: string[] = [];
      const waiting = outcome(
        new AsyncResult("message-first", backend).get({
          timeout: 1,
          onMessage: (meta) => seen.push(meta.status),
        }),
        () => readAllowed,
      );
      await watching(backend, ["message-first"]);
      await backend.markAsStarted("message-first", { pid: 1, hostname: "w" });
      await until("the STARTED message", () => seen.length > 0);
      await sleep(20); // the deadline falls due too, still before the first read
      readAllowed = true;
      reads.release();
      const { error, afterRead } = await settled("the wait", waiting);
      assert.ok(error instanceof TimeoutError, String(error));
      assert.equal(afterRead, true, "timed out before its first read");
      assert.deepEqual(seen, ["STARTED"]);
    },
  );

  test(
    named("a timeout that passed before the first read times out when that read fails"),
    async () => {
      for (const consumer of await consumerTypes()) {
        const reads = heldReads(await makeDriver());
        const retryPolicy = {
          maxRetries: 100,
          intervalStart: 0.01,
          intervalStep: 0,
          intervalMax: 0.01,
        };
        await using backend = new RedisBackend(reads.driver, {
          consumer: consumer === "pubsub" ? { type: "pubsub", retryPolicy } : consumer,
        });
        reads.hold();
        let readAllowed = false;
        const waiting = outcome(
          new AsyncResult("read-first-fails", backend).get({ timeout: 1 }),
          () => readAllowed,
        );
        await sleep(20);
        readAllowed = true;
        const lost = new RedisConnectionError("the test refused the read");
        reads.fail(lost);
        const { error, afterRead } = await settled(`${consumer}: the wait`, waiting);
        assert.ok(error instanceof TimeoutError, `${consumer}: ${error}`);
        assert.equal(error.cause, lost, `${consumer}: the cause is the failed read`);
        assert.equal(afterRead, true);
        reads.release();
      }
    },
  );

  test(
    named("an aborted wait rejects with the signal's reason and releases the channel"),
    async () => {
      await using backend = await backendWith();
      const controller = new AbortController();
      const other = new AsyncResult("keep", backend).get({ timeout: 5000 });
      const waiting = new AsyncResult("abort-me", backend).get({ signal: controller.signal });
      await watching(backend, ["keep", "abort-me"]);
      controller.abort(new Error("caller gave up"));
      await assert.rejects(waiting, /caller gave up/);
      if (
        backend.driver.openSubscriber && consumerFor(backend) instanceof PollingConsumer === false
      ) {
        await until(
          "the aborted wait's channel to go",
          async () => (await channels(backend.driver)).length === 1,
        );
        assert.deepEqual(await channels(backend.driver), ["celery-task-meta-keep"]);
      }
      await backend.markAsDone("keep", 1);
      assert.equal(await other, 1);
      assert.deepEqual(await noChannelsLeft(backend.driver), []);
    },
  );

  test(
    named("pending get()s of one task settle each by its own propagate, then read the cache"),
    async () => {
      await using backend = await backendWith();
      const result = new AsyncResult("w3p", backend);
      const propagating = result.get({ timeout: 5000 });
      const returning = result.get({ timeout: 5000, propagate: false });
      const mapped = consumerFor(backend).waitThen("w3p", {}, (target: string[], meta) => {
        throw new Error(`${target.join("")} ${meta.status}`);
      }, ["map", "ped"]);
      // Handlers attached now: the rejections come while the test is still storing.
      const propagated = assert.rejects(
        propagating,
        (e: unknown) => e instanceof TaskError && e.message === "bad",
      );
      const mappedRejects = assert.rejects(mapped, { message: "mapped FAILURE" });
      await watching(backend, ["w3p"]);
      await backend.markAsFailure("w3p", new TaskError("ValueError", ["bad"], "builtins"));
      await propagated;
      const returned = await returning;
      assert.ok(returned instanceof TaskError && returned.message === "bad");
      await mappedRejects;
      // The ready meta is cached: no read, no wait (the store is emptied behind its back).
      await backend.forget("w3p");
      assert.equal(await result.state(), "FAILURE");
      await assert.rejects(result.get(), (e: unknown) => e instanceof TaskError);
      assert.deepEqual(await noChannelsLeft(backend.driver), []);
    },
  );

  test(named("forget() stops waits on the task and releases its channel"), async () => {
    await using backend = await backendWith();
    const waiting = new AsyncResult("fg", backend).get();
    const stopped = assert.rejects(waiting, /Stopped waiting for task fg/);
    await watching(backend, ["fg"]);
    await new AsyncResult("fg", backend).forget();
    // Stored after forget(): a wait that forget() did not stop would resolve with it.
    await backend.markAsDone("fg", "too late");
    await stopped;
    assert.deepEqual(await noChannelsLeft(backend.driver), []);
  });

  test(named("close() rejects pending waits with BackendClosedError"), async () => {
    const backend = await backendWith();
    // The timeout only bounds a broken close(): a working one rejects the wait before it returns.
    const waiting = new AsyncResult("cl", backend).get({ timeout: 20_000 });
    let settled = false;
    const closed = assert.rejects(waiting, BackendClosedError).finally(() => (settled = true));
    await watching(backend, ["cl"]);
    await backend.close();
    await sleep(0); // every promise reaction queued by close() has run
    assert.ok(settled, "close() settled the pending wait");
    await closed;
  });

  test(named("AsyncResult.states() yields each state until ready; break releases"), async () => {
    await using backend = await backendWith();
    const states: string[] = [];
    const iterate = (async () => {
      for await (const meta of new AsyncResult("st", backend).states()) states.push(meta.status);
    })();
    await watching(backend, ["st"]);
    await backend.storeResult("st", { step: 1 }, "PROGRESS");
    await until("the PROGRESS state", () => states.length === 1);
    await backend.markAsDone("st", "done");
    await iterate;
    assert.deepEqual(states, ["PROGRESS", "SUCCESS"]);

    await backend.storeResult("st-break", { step: 1 }, "PROGRESS");
    for await (const meta of new AsyncResult("st-break", backend).states()) {
      assert.equal(meta.status, "PROGRESS");
      break;
    }
    assert.deepEqual(await noChannelsLeft(backend.driver), []);
  });

  test(named("AsyncResult reads state, extended fields, dateDone and exists()"), async () => {
    await using backend = await backendWith({ resultExtended: true });
    const r = new AsyncResult("info", backend);
    assert.equal(await r.state(), "PENDING");
    assert.equal(await r.exists(), false);
    await backend.markAsDone("info", [1], {
      task: "proj.t",
      args: [1],
      kwargs: { a: 1 },
      hostname: "w@h",
      retries: 2,
      deliveryInfo: { routingKey: "q1" },
    });
    assert.equal(await r.exists(), true);
    assert.equal(await r.ready(), true);
    assert.equal(await r.successful(), true);
    assert.equal(await r.failed(), false);
    assert.deepEqual(await r.result(), [1]);
    assert.equal(await r.name(), "proj.t");
    assert.deepEqual(await r.args(), [1]);
    assert.deepEqual(await r.kwargs(), { a: 1 });
    assert.equal(await r.worker(), "w@h");
    assert.equal(await r.retries(), 2);
    assert.equal(await r.queue(), "q1");
    assert.ok((await r.dateDone()) instanceof Date);
    assert.deepEqual(await r.children(), []);
  });

  test(
    named("AsyncResult.get() re-throws a failed parent's error before waiting, the root's first"),
    async () => {
      await using backend = await backendWith();
      await backend.markAsFailure(
        "fp-root",
        new TaskError("ValueError", ["root broke"], "builtins"),
      );
      await backend.markAsRevoked("fp-mid", "revoked");
      const chain = (leaf: string) =>
        new AsyncResult(
          leaf,
          backend,
          new AsyncResult("fp-mid", backend, new AsyncResult("fp-root", backend)),
        );
      await assert.rejects(
        chain("fp-leaf").get({ timeout: 5000 }),
        (e: unknown) =>
          e instanceof TaskError && e.name === "ValueError" && e.message === "root broke",
      );
      // Not followed: the wait goes on for the leaf itself.
      for (const options of [{ followParents: false }, { propagate: false }]) {
        const waiting = chain("fp-leaf").get({ ...options, timeout: 5000 });
        await watching(backend, ["fp-leaf"]);
        await backend.markAsDone("fp-leaf", "own result");
        assert.equal(await waiting, "own result");
        await backend.forget("fp-leaf");
      }
      // A parent that succeeded is no reason to stop.
      await backend.markAsDone("fp-ok", 1);
      const after = new AsyncResult("fp-leaf2", backend, new AsyncResult("fp-ok", backend));
      const waiting = after.get({ timeout: 5000 });
      await watching(backend, ["fp-leaf2"]);
      await backend.markAsDone("fp-leaf2", 2);
      assert.equal(await waiting, 2);
      assert.deepEqual(await noChannelsLeft(backend.driver), []);
    },
  );

  test(
    named("AsyncResult.get() ends with the error of a parent revoked while it waits"),
    async () => {
      const { driver, log } = recordingDriver(await makeDriver());
      await using backend = new RedisBackend(driver);
      const reads = (taskId: string) =>
        log.filter((command) => command.includes(backend.keys.task(taskId))).length;
      // A wait that resolved looks at its parent no more.
      await backend.markAsDone("fp-p1", 1);
      const done = new AsyncResult("fp-done", backend, new AsyncResult("fp-p1", backend));
      const doneWaiting = done.get({ timeout: 5000 });
      await watching(backend, ["fp-done"]);
      await backend.markAsDone("fp-done", 7);
      assert.equal(await doneWaiting, 7);
      const readsOfP1 = reads("fp-p1");
      // A chain's last result whose parent is a group (Celery's chord body, say), after a task.
      const group = new GroupResult(
        "fp-g",
        ["fp-a", "fp-b"].map((id) => new AsyncResult(id, backend)),
        backend,
        new AsyncResult("fp-first", backend),
      );
      await backend.markAsDone("fp-first", 0);
      await backend.markAsDone("fp-a", 1);
      const waiting = new AsyncResult("fp-last", backend, group).get({ timeout: 30_000 });
      waiting.catch(() => {});
      await watching(backend, ["fp-last"]);
      // Once a check during the wait has read the parents, revoke a member.
      await until("a parent check during the wait", () => reads("fp-b") >= 2);
      await backend.markAsRevoked("fp-b", "revoked");
      await assert.rejects(
        waiting,
        (e: unknown) => e instanceof TaskError && e.name === "TaskRevokedError",
      );
      // fp-done's timer would have fired before fp-last's first check, had it been left running.
      assert.equal(reads("fp-p1"), readsOfP1);
      assert.deepEqual(await noChannelsLeft(backend.driver), []);
    },
  );

  test(
    named("waits on chain results share one MGET of all their parents per check"),
    async () => {
      const { driver, log } = recordingDriver(await makeDriver());
      await using backend = new RedisBackend(driver);
      const n = 30;
      const parentKeys = Array.from({ length: n }, (_, i) => backend.keys.task(`sp-p${i}`));
      const leaves = Array.from({ length: n }, (_, i) => `sp-l${i}`);
      const waits = leaves.map((leaf, i) =>
        new AsyncResult(leaf, backend, new AsyncResult(`sp-p${i}`, backend)).get({
          timeout: 30_000,
        })
      );
      for (const waiting of waits) waiting.catch(() => {});
      await watching(backend, leaves);
      const from = log.length;
      // (The writes below read too: the SUCCESS guard's GET. Only MGETs are checks.)
      const parentReads = () =>
        log.slice(from).filter((command) =>
          command[0] === "MGET" && parentKeys.some((key) => command.includes(key))
        );
      await until("a check during the waits", () => parentReads().length >= 1);
      // A revoked parent ends its own wait; an unreadable one its own; the others go on.
      await backend.markAsRevoked("sp-p3", "revoked");
      await backend.set(parentKeys[7]!, new TextEncoder().encode("{not json"));
      await assert.rejects(waits[3]!, (e: unknown) => e instanceof TaskError);
      await assert.rejects(waits[7]!, DecodeError);
      assert.ok(parentReads().length >= 2);
      for (const command of parentReads()) {
        assert.deepEqual(new Set(command.slice(1)), new Set(parentKeys), "every parent, once");
        assert.equal(command.length, n + 1);
      }
      await Promise.all(
        leaves.filter((_, i) => i !== 3 && i !== 7).map((leaf) => backend.markAsDone(leaf, leaf)),
      );
      const results = await Promise.all(waits.filter((_, i) => i !== 3 && i !== 7));
      assert.deepEqual(results, leaves.filter((_, i) => i !== 3 && i !== 7));
      assert.deepEqual(await noChannelsLeft(backend.driver), []);
    },
  );

  test(
    named("GroupResult saves and restores Celery's nested tuples, and joins in order"),
    async () => {
      await using backend = await backendWith();
      const tuple = [["grp-9", null], [[["c1", null], null], [["c2", [["p0", null], null]], null], [
        ["inner", null],
        [[["c3", null], null]],
      ]]];
      await backend.set(backend.keys.group("grp-9"), backend.encode({ result: tuple }));
      const group = await GroupResult.restore(backend, "grp-9");
      assert.ok(group);
      assert.deepEqual(group.leaves().map((r) => r.id), ["c1", "c2", "c3"]);
      assert.equal(
        new TextDecoder().decode((await backend.get(backend.keys.group("grp-9")))!),
        '{"result": [["grp-9", null], [[["c1", null], null], [["c2", [["p0", null], null]], null], [["inner", null], [[["c3", null], null]]]]]}',
      );
      const joining = group.join({ timeout: 5000 });
      await backend.markAsDone("c3", 3);
      await backend.markAsDone("c1", 1);
      assert.equal(await group.completedCount(), 2);
      assert.equal(await group.waiting(), true);
      await backend.markAsDone("c2", 2);
      assert.deepEqual(await joining, [1, 2, [3]]);
      assert.equal(await group.ready(), true);
      assert.equal(await group.successful(), true);
      assert.equal(await GroupResult.restore(backend, "nothing"), null);
      await group.delete();
      assert.equal(await GroupResult.restore(backend, "grp-9"), null);
    },
  );

  test(named("GroupResult.save() writes what Python's save() writes"), async () => {
    await using backend = await backendWith();
    const group = new GroupResult(
      "g2",
      [new AsyncResult("a", backend), new AsyncResult("b", backend)],
      backend,
    );
    await group.save();
    assert.equal(
      new TextDecoder().decode((await backend.get("celery-taskset-meta-g2"))!),
      '{"result": [["g2", null], [[["a", null], null], [["b", null], null]]]}',
    );
    assert.equal(await backend.driver.send(["TTL", "celery-taskset-meta-g2"]), 86400);
  });

  test(named("GroupResult iterates members as they complete and propagates failures"), async () => {
    await using backend = await backendWith();
    const group = new GroupResult(
      "g3",
      ["x", "y", "z"].map((id) => new AsyncResult(id, backend)),
      backend,
    );
    const order: string[] = [];
    const iterate = (async () => {
      for await (const [member] of group) order.push(member.id);
    })();
    await watching(backend, ["x", "y", "z"]);
    for (const [i, id] of ["z", "x", "y"].entries()) {
      await backend.markAsDone(id, id);
      await until(`member ${id}`, () => order.length === i + 1);
    }
    await iterate;
    assert.deepEqual(order, ["z", "x", "y"]);
    await backend.markAsFailure("y2", new Error("member failed"));
    const failing = new GroupResult(
      "g4",
      ["x", "y2"].map((id) => new AsyncResult(id, backend)),
      backend,
    );
    await assert.rejects(failing.join(), /member failed/);
    assert.equal(await failing.failed(), true);
    const values = await failing.join({ propagate: false });
    assert.equal(values[0], "x");
    assert.ok(values[1] instanceof TaskError);
    assert.deepEqual(await noChannelsLeft(backend.driver), []);
  });

  test(named("1,000 concurrent waits all resolve and leave no channel behind"), async () => {
    await using backend = await backendWith();
    const ids = Array.from({ length: 1000 }, (_, i) => `many-${i}`);
    const seen: TaskMeta[] = [];
    const waits = ids.map((id) =>
      consumerFor(backend).wait(id, { onMessage: (m) => seen.push(m) })
    );
    await watching(backend, ids);
    await Promise.all(ids.map((id, i) => backend.markAsDone(id, i)));
    const metas = await Promise.all(waits);
    assert.deepEqual(metas.map((m) => m.result), ids.map((_, i) => i));
    assert.equal(seen.length, 1000);
    assert.deepEqual(await noChannelsLeft(backend.driver), []);
  });

  test(
    named("PollingConsumer reads all pending results with one MGET per tick, never a GET"),
    async () => {
      const inner = await makeDriver();
      const { driver, log } = recordingDriver(inner);
      // Results are stored through another backend, so the log holds the consumer's reads only.
      const writer = new RedisBackend(inner);
      await using backend = new RedisBackend(driver, {
        consumer: { type: "polling", minInterval: 5, maxInterval: 5, jitter: 0 },
      });
      const consumer = consumerFor(backend);
      assert.ok(consumer instanceof PollingConsumer);
      const ids = Array.from({ length: 100 }, (_, i) => `poll-${i}`);
      const keys = ids.map((id) => backend.keys.task(id));
      const seen: string[] = [];
      log.length = 0;
      const waits = ids.map((id) =>
        new AsyncResult(id, backend).get({ onMessage: (m) => seen.push(m.status) })
      );
      await until("three polls", () => consumer.ticks >= 3);
      const reads = log.filter((c) => c[0] === "GET" || c[0] === "MGET");
      // Every read so far is one MGET of all 100 keys: one per tick, not one GET per waiter.
      assert.ok(reads.length >= 3, `reads: ${reads.length}`);
      assert.ok(reads.length <= consumer.ticks, `${reads.length} reads in ${consumer.ticks} ticks`);
      for (const read of reads) assert.deepEqual(read, ["MGET", ...keys]);
      await Promise.all(ids.map((id) => writer.markAsDone(id, id)));
      assert.deepEqual(await Promise.all(waits), ids);
      assert.equal(seen.length, 100);
      assert.equal(log.filter((c) => c[0] === "GET").length, 0, "no GET per waiter");
      assert.equal(log.filter((c) => c[0] === "MGET").length, consumer.ticks, "one MGET a tick");
    },
  );

  definePollingRegressions(driverName, makeDriver);
}

const pollingRegressionsDefined = new Set<string>();

/**
 * Regressions of the polling consumer, run over every driver (defineConsumerConformance() calls
 * this; a second call for the same driver name adds nothing).
 */
export function definePollingRegressions(driverName: string, makeDriver: DriverFactory): void {
  if (pollingRegressionsDefined.has(driverName)) return;
  pollingRegressionsDefined.add(driverName);
  test(`${driverName}: PollingConsumer polls for a wait started as the previous one resolves`, async () => {
    await using backend = new RedisBackend(await makeDriver(), {
      consumer: { type: "polling", minInterval: 10, maxInterval: 20 },
    });
    await backend.markAsDone("first", 1);
    await backend.markAsDone("second", 2);
    // The second wait is registered in the first microtask after the first one resolves, before
    // the polling loop that resolved it has finished exiting.
    const second = await consumerFor(backend).wait("first").then(() =>
      consumerFor(backend).wait("second", { timeout: 2000 })
    );
    assert.equal(second.result, 2);
  });
}
