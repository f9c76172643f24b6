// One behaviour suite for chords, groups and chain propagation, run over every driver (memory and
// TCP). Each driver's test file calls defineChordConformance() with a factory for fresh drivers.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  addToChord,
  applyChord,
  AsyncResult,
  canvas,
  type ChordPartOptions,
  type ChordRequest,
  GroupResult,
  onChordPartReturn,
  RedisBackend,
  type RedisBackendOptions,
  RedisReplyError,
  resultFromTuple,
  setChordSize,
  type Signature,
  TaskError,
} from "../mod.ts";
import { type DriverFactory, recordingDriver } from "./_drivers.ts";
import { fixedClock } from "./_time.ts";

const decoder = new TextDecoder();
const text = (bytes: unknown) =>
  bytes === null ? null : bytes instanceof Uint8Array ? decoder.decode(bytes) : String(bytes);
const DATE = "2026-11-24T11:38:23.027000+00:00";

/** A chord body as a header task's message carries it. */
function bodySignature(id: string, groupId: string, extra: Partial<Signature> = {}): Signature {
  return {
    task: "celery_app.echo",
    args: [],
    kwargs: {},
    options: { task_id: id, reply_to: "r-1", group_id: groupId },
    subtask_type: null,
    immutable: false,
    ...extra,
  };
}

/** Records the bodies sent. */
function bodySpy(extra: Partial<ChordPartOptions> = {}) {
  const fired: { body: Signature; results: unknown[]; parentId: string }[] = [];
  const options: ChordPartOptions = {
    onBody: (body, results, context) => {
      fired.push({ body, results, parentId: context.parentId });
    },
    ...extra,
  };
  return { fired, options };
}

export function defineChordConformance(driverName: string, makeDriver: DriverFactory): void {
  const named = (subject: string) => `${driverName}: ${subject}`;
  async function backendWith(options: RedisBackendOptions = {}) {
    return new RedisBackend(await makeDriver(), { now: fixedClock, ...options });
  }
  async function recordedBackend(options: RedisBackendOptions = {}) {
    const { driver, log } = recordingDriver(await makeDriver());
    return { backend: new RedisBackend(driver, { now: fixedClock, ...options }), log };
  }
  const part = (id: string, group: string, body: Signature, groupIndex?: number): ChordRequest =>
    groupIndex === undefined ? { id, group, chord: body } : { id, group, groupIndex, chord: body };

  test(named("onChordPartReturn() runs Celery's exact transaction in ordered mode"), async () => {
    const { backend, log } = await recordedBackend();
    await using _ = backend;
    const body = bodySignature("body-o", "g-o");
    await setChordSize(backend, "g-o", 2);
    log.length = 0;
    const spy = bodySpy();
    const outcome = await onChordPartReturn(
      backend,
      part("t1", "g-o", body, 0),
      "SUCCESS",
      10,
      spy.options,
    );
    assert.deepEqual(outcome, { status: "waiting", readyCount: 1, total: 2 });
    const j = "celery-taskset-meta-g-o.j";
    const t = "celery-taskset-meta-g-o.t";
    const s = "celery-taskset-meta-g-o.s";
    assert.deepEqual(log, [
      ["MULTI"],
      ["ZADD", j, "0", '[1, "t1", "SUCCESS", 10]'],
      ["ZCOUNT", j, "-inf", "+inf"],
      ["GET", t],
      ["GET", s],
      ["EXPIRE", j, "86400"],
      ["EXPIRE", t, "86400"],
      ["EXPIRE", s, "86400"],
      ["EXEC"],
    ]);
    log.length = 0;
    const last = await onChordPartReturn(
      backend,
      part("t2", "g-o", body, 1),
      "SUCCESS",
      20,
      spy.options,
    );
    assert.deepEqual(last, { status: "fired", readyCount: 2, total: 2 });
    assert.deepEqual(spy.fired, [{ body, results: [10, 20], parentId: "t2" }]);
    // The completing part also reads the saved header (GET), then ZRANGE, then deletes the keys.
    assert.deepEqual(log.slice(9), [
      ["GET", "celery-taskset-meta-g-o"],
      ["MULTI"],
      ["ZRANGE", j, "0", "-1"],
      ["EXEC"],
      ["MULTI"],
      ["DEL", j],
      ["DEL", t],
      ["DEL", s],
      ["EXEC"],
    ]);
    assert.deepEqual(await backend.driver.send(["KEYS", "celery-taskset-meta-g-o*"]), []);
  });

  test(named("onChordPartReturn() in list mode uses RPUSH/LLEN and LRANGE 0 <total>"), async () => {
    const { backend, log } = await recordedBackend({ resultChordOrdered: false, resultExpires: 0 });
    await using _ = backend;
    const body = bodySignature("body-l", "g-l");
    await setChordSize(backend, "g-l", 2);
    log.length = 0;
    const spy = bodySpy();
    await onChordPartReturn(backend, part("t2", "g-l", body, 1), "SUCCESS", "b", spy.options);
    const j = "celery-taskset-meta-g-l.j";
    // No EXPIRE without result_expires.
    assert.deepEqual(log, [
      ["MULTI"],
      ["RPUSH", j, '[1, "t2", "SUCCESS", "b"]'],
      ["LLEN", j],
      ["GET", "celery-taskset-meta-g-l.t"],
      ["GET", "celery-taskset-meta-g-l.s"],
      ["EXEC"],
    ]);
    log.length = 0;
    await onChordPartReturn(backend, part("t1", "g-l", body, 0), "SUCCESS", "a", spy.options);
    assert.deepEqual(log.slice(7, 10), [["MULTI"], ["LRANGE", j, "0", "2"], ["EXEC"]]);
    // List mode keeps completion order, whatever the group index.
    assert.deepEqual(spy.fired.map((f) => f.results), [["b", "a"]]);
  });

  test(named("chord members are encoded exactly as Celery encodes them"), async () => {
    await using backend = await backendWith();
    const body = bodySignature("body-m", "g-m");
    const spy = bodySpy();
    await onChordPartReturn(backend, part("t1", "g-m", body, 0), "SUCCESS", 10, spy.options);
    await onChordPartReturn(
      backend,
      part("f1", "g-m", body, 1),
      "FAILURE",
      new TaskError("KeyError", ["boom"], "builtins"),
      spy.options,
    );
    await onChordPartReturn(
      backend,
      part("n1", "g-m", body),
      "SUCCESS",
      { a: [1.5, null] },
      spy.options,
    );
    const members = await backend.driver.send([
      "ZRANGE",
      "celery-taskset-meta-g-m.j",
      "0",
      "-1",
      "WITHSCORES",
    ]) as Uint8Array[];
    assert.deepEqual(members.map(text), [
      '[1, "t1", "SUCCESS", 10]',
      "0",
      '[1, "f1", "FAILURE", {"exc_type": "KeyError", "exc_message": ["boom"], "exc_module": "builtins"}]',
      "1",
      '[1, "n1", "SUCCESS", {"a": [1.5, null]}]',
      "inf",
    ]);
    assert.equal(spy.fired.length, 0, "no size stored: the chord cannot complete");
  });

  test(named("results come in group-index order, whatever the completion order"), async () => {
    await using backend = await backendWith();
    const body = bodySignature("body-r", "g-r");
    await setChordSize(backend, "g-r", 6);
    const spy = bodySpy();
    for (const i of [3, 0, 5, 1, 4, 2]) {
      const outcome = await backend.markAsDone(`r${i}`, i * i, part(`r${i}`, "g-r", body, i), {
        canvas: canvas(spy.options),
      });
      assert.ok(outcome, "the part's own result is stored");
    }
    assert.equal(spy.fired.length, 1);
    assert.deepEqual(spy.fired[0]!.results, [0, 1, 4, 9, 16, 25]);
    assert.equal(spy.fired[0]!.parentId, "r2");
    assert.equal((await backend.getTaskMeta("r3")).result, 9);
  });

  test(named("the chord completes at exactly size + added, once the size is known"), async () => {
    await using backend = await backendWith();
    const body = bodySignature("body-c", "g-c");
    const spy = bodySpy();
    const a = await onChordPartReturn(
      backend,
      part("c0", "g-c", body, 0),
      "SUCCESS",
      0,
      spy.options,
    );
    assert.deepEqual(a, { status: "waiting", readyCount: 1, total: null });
    await setChordSize(backend, "g-c", 2);
    assert.equal(await addToChord(backend, "g-c"), 1);
    // .t has no TTL until the next part sets one.
    assert.equal(await backend.driver.send(["TTL", "celery-taskset-meta-g-c.t"]), -1);
    const b = await onChordPartReturn(
      backend,
      part("c1", "g-c", body, 1),
      "SUCCESS",
      1,
      spy.options,
    );
    assert.deepEqual(b, { status: "waiting", readyCount: 2, total: 3 });
    assert.equal(await backend.driver.send(["TTL", "celery-taskset-meta-g-c.t"]), 86400);
    const c = await onChordPartReturn(
      backend,
      part("c2", "g-c", body, 1),
      "SUCCESS",
      2,
      spy.options,
    );
    assert.deepEqual(c, { status: "fired", readyCount: 3, total: 3 });
    assert.deepEqual(spy.fired.map((f) => f.results), [[0, 1, 2]]);
    // A late duplicate part starts a new count that never reaches the (deleted) size.
    const late = await onChordPartReturn(
      backend,
      part("c3", "g-c", body, 2),
      "SUCCESS",
      3,
      spy.options,
    );
    assert.deepEqual(late, { status: "waiting", readyCount: 1, total: null });
    assert.equal(spy.fired.length, 1);
  });

  test(
    named("a part that brings the count above the total does not fire the body"),
    async () => {
      // Celery fires at exact equality only: parts counted before the size was stored can take the
      // count past the total while the chord keys still exist, and no later part may fire then.
      for (const ordered of [true, false]) {
        await using backend = await backendWith({ resultChordOrdered: ordered });
        const gid = `g-over-${ordered}`;
        const body = bodySignature(`body-over-${ordered}`, gid);
        const spy = bodySpy();
        for (const i of [0, 1, 2]) {
          const early = await onChordPartReturn(
            backend,
            part(`o${i}`, gid, body, i),
            "SUCCESS",
            i,
            spy.options,
          );
          assert.deepEqual(early, { status: "waiting", readyCount: i + 1, total: null });
        }
        await setChordSize(backend, gid, 2);
        const over = await onChordPartReturn(
          backend,
          part("o3", gid, body, 3),
          "SUCCESS",
          3,
          spy.options,
        );
        assert.deepEqual(over, { status: "waiting", readyCount: 4, total: 2 });
        assert.deepEqual(spy.fired, [], `ordered=${ordered}: no body beyond the total`);
        assert.equal((await backend.getTaskMeta(`body-over-${ordered}`)).status, "PENDING");
        assert.equal(
          (await backend.driver.send(["KEYS", `celery-taskset-meta-${gid}*`]) as unknown[]).length,
          2,
          "the .j and .s keys are still there",
        );
      }
    },
  );

  test(
    named("a part replayed after the chord fired does not fire the body again"),
    async () => {
      for (const ordered of [true, false]) {
        await using backend = await backendWith({ resultChordOrdered: ordered });
        const gid = `g-replay-${ordered}`;
        const body = bodySignature(`body-replay-${ordered}`, gid);
        await setChordSize(backend, gid, 2);
        const spy = bodySpy();
        await onChordPartReturn(backend, part("rp0", gid, body, 0), "SUCCESS", 0, spy.options);
        const last = await onChordPartReturn(
          backend,
          part("rp1", gid, body, 1),
          "SUCCESS",
          1,
          spy.options,
        );
        assert.equal(last.status, "fired");
        // Redelivered parts (acks_late, a worker lost after storing): both of them, again.
        for (const [id, i] of [["rp1", 1], ["rp0", 0]] as const) {
          const replay = await onChordPartReturn(
            backend,
            part(id, gid, body, i),
            "SUCCESS",
            i,
            spy.options,
          );
          assert.equal(replay.status, "waiting");
          assert.equal(replay.total, null, "the size went with the fired chord");
        }
        assert.equal(spy.fired.length, 1, `ordered=${ordered}: the body fired once`);
        assert.deepEqual(spy.fired[0]!.results, [0, 1]);
      }
    },
  );

  test(
    named("a part counted after a failed chord neither fires the body nor fails it again"),
    async () => {
      // A failed chord keeps its keys (to expire): a later part takes the count past the total.
      await using backend = await backendWith({ resultChordOrdered: false });
      const { driver, log } = recordingDriver(backend.driver);
      await using recorded = new RedisBackend(driver, {
        now: fixedClock,
        resultChordOrdered: false,
      });
      const body = bodySignature("body-ff", "g-ff");
      await setChordSize(recorded, "g-ff", 2);
      const spy = bodySpy();
      await onChordPartReturn(recorded, part("ff0", "g-ff", body, 0), "SUCCESS", 0, spy.options);
      const failed = await onChordPartReturn(
        recorded,
        part("ff1", "g-ff", body, 1),
        "FAILURE",
        new TaskError("ValueError", ["x"], "builtins"),
        spy.options,
      );
      assert.equal(failed.status, "failed");
      const bodyWrites = () =>
        log.filter((c) => c[0] === "SETEX" && c[1] === "celery-task-meta-body-ff").length;
      assert.equal(bodyWrites(), 1);
      const late = await onChordPartReturn(
        recorded,
        part("ff2", "g-ff", body, 2),
        "SUCCESS",
        2,
        spy.options,
      );
      assert.deepEqual(late, { status: "waiting", readyCount: 3, total: 2 });
      assert.equal(bodyWrites(), 1, "the body's FAILURE is stored once");
      assert.deepEqual(spy.fired, []);
    },
  );

  test(named("a request without group or id is skipped, as in Celery"), async () => {
    await using backend = await backendWith();
    const spy = bodySpy();
    const body = bodySignature("body-s", "g-s");
    const outcome = await onChordPartReturn(
      backend,
      { id: "x", group: "", chord: body },
      "SUCCESS",
      1,
      spy.options,
    );
    assert.deepEqual(outcome, { status: "skipped", readyCount: null, total: null });
    assert.deepEqual(await backend.driver.send(["KEYS", "*"]), []);
  });

  test(named("setChordSize() stores a plain decimal with the TTL"), async () => {
    await using backend = await backendWith();
    await setChordSize(backend, "g-size", 3);
    assert.equal(text(await backend.get("celery-taskset-meta-g-size.s")), "3");
    assert.equal(await backend.driver.send(["TTL", "celery-taskset-meta-g-size.s"]), 86400);
    await assert.rejects(setChordSize(backend, "g-size", -1), RangeError);
    await assert.rejects(setChordSize(backend, "g-size", 1.5), RangeError);
  });

  test(
    named("a failed part stores Celery's ChordError on the body and keeps the keys"),
    async () => {
      for (const celeryVersion of ["5.6", "5.2"] as const) {
        await using backend = await backendWith({ celeryVersion });
        const gid = `g-f-${celeryVersion}`;
        const body = bodySignature(`body-f-${celeryVersion}`, gid);
        await setChordSize(backend, gid, 2);
        const spy = bodySpy();
        await backend.markAsDone("ok1", 1, part("ok1", gid, body, 0), {
          canvas: canvas(spy.options),
        });
        await backend.markAsFailure("f1", new TaskError("KeyError", ["boom"], "builtins"), {
          request: part("f1", gid, body, 1),
          traceback: "Traceback (most recent call last):\nKeyError: 'boom'\n",
          canvas: canvas(spy.options),
        });
        assert.equal(spy.fired.length, 0, "the body is not sent");
        const raw = text(await backend.get(`celery-task-meta-body-f-${celeryVersion}`))!;
        const stored = JSON.parse(raw);
        const dateDone = celeryVersion === "5.2" ? "2026-11-24T11:38:23.027000" : DATE;
        assert.equal(
          raw,
          '{"status": "FAILURE", "result": {"exc_type": "ChordError", "exc_message": ' +
            `["Dependency f1 raised KeyError('boom')"], "exc_module": "celery.exceptions"}, ` +
            `"traceback": ${JSON.stringify(stored.traceback)}, "children": [], ` +
            `"date_done": "${dateDone}", "task_id": "body-f-${celeryVersion}"}`,
        );
        assert.match(
          stored.traceback,
          /\ncelery\.exceptions\.ChordError: Dependency f1 raised KeyError\('boom'\)\n$/,
        );
        if (celeryVersion === "5.6") {
          assert.match(
            stored.traceback,
            /^KeyError: 'boom'\n\nThe above exception was the direct cause of the following exception:\n\nTraceback/,
          );
        } else {
          assert.match(stored.traceback, /^Traceback \(most recent call last\):\n {2}File /);
        }
        const meta = await backend.getTaskMeta(`body-f-${celeryVersion}`);
        assert.ok(meta.result instanceof TaskError);
        assert.equal(meta.result.name, "ChordError");
        // The chord keys stay, to expire.
        for (const suffix of [".j", ".s"]) {
          assert.equal(
            await backend.driver.send(["TTL", `celery-taskset-meta-${gid}${suffix}`]),
            86400,
          );
        }
      }
    },
  );

  test(named("a revoked part fails the body with TaskRevokedError's repr"), async () => {
    await using backend = await backendWith();
    const body = bodySignature("body-rv", "g-rv");
    await setChordSize(backend, "g-rv", 1);
    const spy = bodySpy();
    await backend.markAsRevoked("rv1", "revoked", part("rv1", "g-rv", body, 0), {
      canvas: canvas(spy.options),
    });
    const meta = await backend.getTaskMeta("body-rv");
    assert.equal(meta.status, "FAILURE");
    assert.deepEqual((meta.result as TaskError).excMessage, [
      "Dependency rv1 raised TaskRevokedError('revoked')",
    ]);
  });

  test(
    named("a body that cannot be sent fails with 'Callback error' and the keys go"),
    async () => {
      await using backend = await backendWith();
      const body = bodySignature("body-cb", "g-cb");
      await setChordSize(backend, "g-cb", 1);
      const outcome = await onChordPartReturn(backend, part("cb1", "g-cb", body, 0), "SUCCESS", 1, {
        onBody: () => {
          throw new Error("broker down");
        },
      });
      assert.equal(outcome.status, "failed");
      assert.deepEqual(outcome.error?.excMessage, ["Callback error: Exception('broker down')"]);
      assert.equal((await backend.getTaskMeta("body-cb")).status, "FAILURE");
      assert.deepEqual(await backend.driver.send(["KEYS", "celery-taskset-meta-g-cb*"]), []);
    },
  );

  test(named("the body's errbacks are sent when the chord fails"), async () => {
    await using backend = await backendWith();
    const errback: Signature = { task: "proj.on_error", args: [], kwargs: {}, options: {} };
    const body = bodySignature("body-eb", "g-eb");
    body.options!.link_error = [errback];
    await setChordSize(backend, "g-eb", 1);
    const sent: unknown[] = [];
    await backend.markAsFailure("eb1", new Error("x"), {
      request: part("eb1", "g-eb", body, 0),
      canvas: canvas({
        onBody: () => assert.fail("the body must not be sent"),
        onErrback: (sig, context) => void sent.push([sig.task, context.taskId, context.rootId]),
      }),
    });
    assert.deepEqual(sent, [["proj.on_error", "body-eb", "body-eb"]]);
  });

  test(named("a group body fails task by task with the original error (Celery 5.6)"), async () => {
    await using backend = await backendWith();
    const tasks = ["gb-a", "gb-b"].map((id) => bodySignature(id, "g-gb"));
    const body: Signature = {
      task: "celery.group",
      args: [],
      kwargs: { tasks },
      options: { task_id: "gb-group", group_id: "g-gb" },
      subtask_type: "group",
      immutable: false,
    };
    await setChordSize(backend, "g-gb", 1);
    const revoked: string[][] = [];
    await backend.markAsFailure("gb1", new TaskError("ValueError", ["z"], "builtins"), {
      request: part("gb1", "g-gb", body, 0),
      canvas: canvas({
        onBody: () => assert.fail("not sent"),
        onRevoke: (ids) => void revoked.push(ids),
      }),
    });
    assert.deepEqual(revoked, [["gb-a", "gb-b"]]);
    for (const id of ["gb-a", "gb-b", "gb-group"]) {
      const meta = await backend.getTaskMeta(id);
      assert.equal(meta.status, "FAILURE", id);
      assert.equal((meta.result as TaskError).name, "ValueError", id);
    }
    assert.equal((await backend.getTaskMeta("gb-group")).traceback, null);
  });

  test(named("a header with a nested group is saved and joined for nested results"), async () => {
    await using backend = await backendWith();
    const inner = new GroupResult("g-n-inner", [
      new AsyncResult("n1", backend),
      new AsyncResult("n2", backend),
    ], backend);
    assert.equal(await applyChord(backend, "g-n", [new AsyncResult("n0", backend), inner]), true);
    assert.equal(await applyChord(backend, "g-flat", [new AsyncResult("x", backend)]), false);
    assert.equal(await backend.get("celery-taskset-meta-g-flat"), null);
    assert.equal(
      text(await backend.get("celery-taskset-meta-g-n")),
      '{"result": [["g-n", null], [[["n0", null], null], [["g-n-inner", null], ' +
        '[[["n1", null], null], [["n2", null], null]]]]]}',
    );
    const body = bodySignature("body-n", "g-n");
    await setChordSize(backend, "g-n", 3);
    const spy = bodySpy();
    // Parts before the last never join the header; if one fired early, its join of the parts not
    // yet stored would fail at once (1 ms) and store a 'Join error' on the body instead of hanging.
    for (const [id, value] of [["n1", 1], ["n0", 0]] as const) {
      await backend.markAsDone(id, value, part(id, "g-n", body), {
        canvas: canvas({ ...spy.options, joinTimeout: 1 }),
      });
      assert.deepEqual(spy.fired, [], `${id} is not the last part: no body yet`);
      assert.equal((await backend.getTaskMeta("body-n")).status, "PENDING");
    }
    await backend.markAsDone("n2", 2, part("n2", "g-n", body), { canvas: canvas(spy.options) });
    assert.deepEqual(spy.fired.map((f) => f.results), [[0, [1, 2]]]);
    // The saved header is not deleted (it expires).
    assert.notEqual(await backend.get("celery-taskset-meta-g-n"), null);
  });

  test(named("a saved header whose join fails stores 'Join error'"), async () => {
    await using backend = await backendWith();
    const inner = new GroupResult("g-j-inner", [new AsyncResult("j1", backend)], backend);
    await applyChord(backend, "g-j", [new AsyncResult("j0", backend), inner]);
    await setChordSize(backend, "g-j", 2);
    const body = bodySignature("body-j", "g-j");
    const spy = bodySpy();
    // Not the last part: it never joins (a body fired early would fail its 1 ms join at once).
    await backend.markAsDone("j0", 0, part("j0", "g-j", body), {
      canvas: canvas({ ...spy.options, joinTimeout: 1 }),
    });
    assert.equal((await backend.getTaskMeta("body-j")).status, "PENDING", "no body before j1");
    // Counted in the chord, but no result is stored for j1: the join times out.
    await backend.markAsDone("j1", 1, { ...part("j1", "g-j", body), ignoreResult: true }, {
      canvas: canvas({ ...spy.options, joinTimeout: 50 }),
    });
    assert.equal(spy.fired.length, 0);
    const meta = await backend.getTaskMeta("body-j");
    assert.deepEqual((meta.result as TaskError).excMessage, [
      "Join error: TimeoutError('The operation timed out.')",
    ]);
  });

  test(
    named("markAsDone() of a chord part needs chord options, and stores nothing without"),
    async () => {
      await using backend = await backendWith();
      const body = bodySignature("body-x", "g-x");
      await assert.rejects(backend.markAsDone("x1", 1, part("x1", "g-x", body, 0)), TypeError);
      await assert.rejects(
        backend.markAsFailure("x1", new Error("e"), { request: part("x1", "g-x", body, 0) }),
        TypeError,
      );
      assert.equal(await backend.exists("x1"), false);
    },
  );

  test(named("ignoreResult and storeResult: false still count the part"), async () => {
    await using backend = await backendWith();
    const body = bodySignature("body-i", "g-i");
    await setChordSize(backend, "g-i", 2);
    const spy = bodySpy();
    await backend.markAsDone("i0", "a", { ...part("i0", "g-i", body, 0), ignoreResult: true }, {
      canvas: canvas(spy.options),
    });
    await backend.markAsDone("i1", "b", part("i1", "g-i", body, 1), {
      canvas: canvas(spy.options),
      storeResult: false,
    });
    assert.equal(await backend.exists("i0"), false);
    assert.equal(await backend.exists("i1"), false);
    assert.deepEqual(spy.fired.map((f) => f.results), [["a", "b"]]);
  });

  test(named("200 parts completed concurrently fire the body exactly once"), async () => {
    await using backend = await backendWith();
    const body = bodySignature("body-cc", "g-cc");
    await setChordSize(backend, "g-cc", 200);
    const spy = bodySpy();
    const order = Array.from({ length: 200 }, (_, i) => (i * 37) % 200);
    const outcomes = await Promise.all(
      order.map((i) =>
        onChordPartReturn(backend, part(`cc${i}`, "g-cc", body, i), "SUCCESS", i, spy.options)
      ),
    );
    assert.equal(outcomes.filter((o) => o.status === "fired").length, 1);
    assert.equal(spy.fired.length, 1);
    assert.deepEqual(spy.fired[0]!.results, Array.from({ length: 200 }, (_, i) => i));
  });

  test(named("ordered and list workers on one chord collide with WRONGTYPE"), async () => {
    await using backend = await backendWith();
    const body = bodySignature("body-w", "g-w");
    const spy = bodySpy();
    await onChordPartReturn(backend, part("w0", "g-w", body, 0), "SUCCESS", 0, spy.options);
    await assert.rejects(
      onChordPartReturn(backend, part("w1", "g-w", body, 1), "SUCCESS", 1, {
        ...spy.options,
        ordered: false,
      }),
      (e: unknown) => e instanceof RedisReplyError && /WRONGTYPE/.test(e.message),
    );
  });

  test(named("markAsFailure() fails the rest of the chain with Celery's records"), async () => {
    await using backend = await backendWith({ resultExtended: true });
    const chain: Signature[] = [
      {
        task: "celery_app.add",
        args: [2],
        kwargs: {},
        options: { task_id: "ch-3", reply_to: "r" },
        subtask_type: null,
        immutable: false,
      },
      {
        task: "celery_app.add",
        args: [1],
        kwargs: {},
        options: { task_id: "ch-2", reply_to: "r" },
        subtask_type: null,
        immutable: false,
      },
    ];
    const { driver, log } = recordingDriver(backend.driver);
    await using recorded = new RedisBackend(driver, { now: fixedClock, resultExtended: true });
    await recorded.markAsFailure("ch-1", new TaskError("ValueError", ["y"], "builtins"), {
      traceback: "Traceback (most recent call last):\nValueError: y\n",
      request: {
        id: "ch-1",
        task: "celery_app.boom",
        args: ["y"],
        kwargs: {},
        hostname: "ts@worker",
        retries: 0,
        deliveryInfo: { routingKey: "celery" },
        chain,
      },
      canvas: canvas(),
    });
    // Stored in the message's order: the chain's last task first.
    assert.deepEqual(
      log.filter((c) => c[0] === "SETEX").map((c) => c[1]),
      ["celery-task-meta-ch-1", "celery-task-meta-ch-3", "celery-task-meta-ch-2"],
    );
    for (const [id, args] of [["ch-2", "[1]"], ["ch-3", "[2]"]]) {
      assert.equal(
        text(await backend.get(`celery-task-meta-${id}`)),
        '{"status": "FAILURE", "result": {"exc_type": "ValueError", "exc_message": ["y"], ' +
          '"exc_module": "builtins"}, "traceback": "Traceback (most recent call last):\\n' +
          'ValueError: y\\n", "children": [], "date_done": "' + DATE + '", ' +
          `"name": "celery_app.add", "args": ${args}, "kwargs": {}, "worker": null, ` +
          `"retries": 0, "queue": null, "task_id": "${id}"}`,
      );
    }
  });

  test(
    named("markAsFailure() of a chain without options.canvas refuses before storing"),
    async () => {
      await using backend = await backendWith();
      const chain: Signature[] = [{
        task: "t.a",
        args: [],
        kwargs: {},
        options: { task_id: "nc-2" },
      }];
      await assert.rejects(
        backend.markAsFailure("nc-1", new Error("x"), { request: { id: "nc-1", chain } }),
        (e: unknown) => e instanceof TypeError && /has a chain to fail/.test(e.message),
      );
      assert.equal(await backend.exists("nc-1"), false);
      assert.equal(await backend.exists("nc-2"), false);
    },
  );

  test(named("a chain element that is a chord part is counted in its chord"), async () => {
    await using backend = await backendWith();
    const body = bodySignature("body-chc", "g-chc");
    await setChordSize(backend, "g-chc", 2);
    const spy = bodySpy();
    await backend.markAsDone("chc-0", 0, part("chc-0", "g-chc", body, 0), {
      canvas: canvas(spy.options),
    });
    const chain: Signature[] = [{
      task: "celery_app.add",
      args: [1],
      kwargs: {},
      options: { task_id: "chc-1b", group_id: "g-chc", group_index: 1, chord: body },
    }];
    await backend.markAsFailure("chc-1a", new Error("early"), {
      request: { id: "chc-1a", chain },
      canvas: canvas(spy.options),
    });
    assert.equal((await backend.getTaskMeta("chc-1b")).status, "FAILURE");
    const meta = await backend.getTaskMeta("body-chc");
    assert.deepEqual((meta.result as TaskError).excMessage, [
      "Dependency chc-1b raised Exception('early')",
    ]);
  });

  test(named("markAsFailure() sends the task's errbacks with Celery's ids"), async () => {
    await using backend = await backendWith();
    const sent: unknown[] = [];
    await backend.markAsFailure("e-1", new Error("x"), {
      request: {
        id: "e-1",
        rootId: "root-1",
        errbacks: [{ task: "proj.handle", args: [], kwargs: {}, options: {} }],
      },
      onErrback: (sig, context) => void sent.push([sig.task, context.taskId, context.rootId]),
    });
    assert.deepEqual(sent, [["proj.handle", "e-1", "root-1"]]);
    await backend.markAsFailure("e-2", new Error("x"), {
      request: { id: "e-2", errbacks: [{ task: "proj.handle" }] },
      callErrbacks: false,
      onErrback: () => assert.fail("not called"),
    });
  });

  test(named("saveGroup() writes Python's bytes, nested groups and parents included"), async () => {
    await using backend = await backendWith();
    const tuple = [["grp-9", null], [
      [["c1", null], null],
      [["c2", [["p0", null], null]], null],
      [["inner", null], [[["c3", null], null]]],
    ]];
    const group = resultFromTuple(tuple, backend) as GroupResult;
    await backend.saveGroup("grp-9", group);
    const expected = '{"result": [["grp-9", null], [[["c1", null], null], [["c2", [["p0", null], ' +
      'null]], null], [["inner", null], [[["c3", null], null]]]]]}';
    assert.equal(text(await backend.get("celery-taskset-meta-grp-9")), expected);
    assert.equal(await backend.driver.send(["TTL", "celery-taskset-meta-grp-9"]), 86400);
    const restored = await GroupResult.restore(backend, "grp-9");
    assert.ok(restored);
    assert.deepEqual(restored.asTuple(), tuple);
    assert.deepEqual(restored.leaves().map((r) => r.id), ["c1", "c2", "c3"]);
    await backend.saveGroup("grp-9", restored);
    assert.equal(text(await backend.get("celery-taskset-meta-grp-9")), expected);
    await backend.deleteGroup("grp-9");
    assert.equal(await GroupResult.restore(backend, "grp-9"), null);
  });

  test(
    named("storeResult() writes the running task's children when given no request"),
    async () => {
      await using backend = await backendWith();
      await backend.storeResult("ch-none", 1, "SUCCESS", { children: [] });
      assert.match(text(await backend.get("celery-task-meta-ch-none"))!, /"children": \[\],/);
    },
  );
}
