// Canvas interop with real Python Celery 5.2.6 and 5.6.3, live: chords whose header parts are
// split between Python workers and TypeScript (in ordered and list mode), chord failures,
// add_to_chord from either side, groups saved by one side and restored by the other, chain
// failure propagation, and every record a TypeScript worker writes compared with Python's bytes.
//
// TypeScript plays the worker of queue `ts`, which no Python worker consumes: Python clients route
// some header tasks there (`.set(queue="ts")`), TypeScript takes their messages from the broker
// (tests/_broker_messages.ts), stores results and completes the chord parts. Bodies are routed to
// `ts` too, so every body message sent, by Python or by TypeScript, is seen and counted here.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import {
  addToChord,
  canvas,
  type ChordPartOptions,
  createBackend,
  GroupResult,
  type RedisBackend,
  type RedisDriver,
  resultFromTuple,
  type ResultTuple,
  TaskError,
  tcpDriver,
} from "../mod.ts";
import {
  moveTaskMessages,
  requestOf,
  takeTaskMessages,
  type TaskMessage,
} from "./_broker_messages.ts";
import {
  type CanvasClient,
  type CanvasWorker,
  startCanvasClient,
  startCanvasWorker,
} from "./_canvas.ts";
import {
  celeryAvailable,
  celeryUrls,
  type CeleryVersion,
  celeryVersions,
  type HarnessRead,
  type PyException,
} from "./_celery.ts";
import { celeryPythons, requirement } from "./_env.ts";
import { type RedisServer, startRedisServer } from "./_redis_server.ts";
import { sleep } from "./_time.ts";

const HOST = "ts@worker";

interface Setup {
  server: RedisServer;
  workers: CanvasWorker[];
  client: CanvasClient;
  /** Ordered-mode chords (the default), like the worker on queue `celery`. */
  backend: RedisBackend;
  /** List-mode chords, like the worker on queue `pylist`. */
  listBackend: RedisBackend;
  /** The broker database (db 0), where task messages are. */
  broker: RedisDriver;
}

const setups = new Map<CeleryVersion, Setup>();

before(async () => {
  await Promise.all(
    celeryVersions.filter(celeryAvailable).map(async (version) => {
      const server = await startRedisServer();
      const workers = await Promise.all([
        startCanvasWorker(version, server.url, {
          queues: "celery",
          hostname: `py${version}@ordered`,
        }),
        startCanvasWorker(version, server.url, {
          queues: "pylist",
          list: true,
          hostname: `py${version}@list`,
        }),
      ]);
      const { resultUrl } = celeryUrls(server.url);
      setups.set(version, {
        server,
        workers,
        client: startCanvasClient(version, server.url),
        backend: createBackend(resultUrl, { celeryVersion: version, resultExtended: true }),
        listBackend: createBackend(resultUrl, {
          celeryVersion: version,
          resultExtended: true,
          resultChordOrdered: false,
        }),
        broker: tcpDriver({ port: server.port, db: 0 }),
      });
    }),
  );
});

after(async () => {
  for (const s of setups.values()) {
    await s.client[Symbol.asyncDispose]();
    await s.backend.close();
    await s.listBackend.close();
    await s.broker.close();
    for (const w of s.workers) await w[Symbol.asyncDispose]();
    await s.server[Symbol.asyncDispose]();
  }
});

interface SentChord {
  group_id: string;
  body_id: string;
  header_ids: string[];
}

const text = (bytes: unknown) =>
  bytes instanceof Uint8Array ? new TextDecoder().decode(bytes) : bytes;

/**
 * Polls until the Python parts of chord `groupId` are SUCCESS and counted by the chord. A Celery
 * worker stores a part's result before its on_chord_part_return counts it: a part run in between
 * would see the chord one part short (on a loaded machine it did, and Python fired the body).
 */
async function waitForPythonParts(
  backend: RedisBackend,
  groupId: string,
  ids: string[],
  timeoutMs = 20_000,
) {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const metas = await backend.getTaskMetas(ids);
    const counted = await chordPartsCounted(backend, groupId);
    if (metas.every((m) => m.status === "SUCCESS") && counted >= ids.length) return;
    if (Date.now() > deadline) {
      throw new Error(`Tasks not done (${counted} counted): ${JSON.stringify(metas)}`);
    }
    await sleep(25);
  }
}

/** How many parts chord `groupId` has counted (its `.j` key: a sorted set, or a list). */
async function chordPartsCounted(backend: RedisBackend, groupId: string): Promise<number> {
  const key = backend.keys.chord(groupId).results;
  const type = text(await backend.driver.send(["TYPE", key]));
  if (type === "zset") return Number(await backend.driver.send(["ZCARD", key]));
  if (type === "list") return Number(await backend.driver.send(["LLEN", key]));
  return 0;
}

/** Chord options of the TypeScript worker: bodies are sent by Python's `signature(...).apply_async`. */
function sendBodiesThrough(client: CanvasClient, fired: unknown[][]): ChordPartOptions {
  return {
    onBody: async (body, results, context) => {
      fired.push(results);
      await client.call("send_body", {
        body,
        results,
        parent_id: context.parentId,
        root_id: context.rootId,
      });
    },
  };
}

/** Runs `celery_app.add` for a message as the TypeScript worker. */
function runAdd(backend: RedisBackend, m: TaskMessage, chord: ChordPartOptions) {
  const [x, y] = m.args as [number, number];
  return backend.markAsDone(m.id, x + y, requestOf(m, HOST), { canvas: canvas(chord) });
}

/** Polls until the chord's keys are gone: the completing part deletes them after sending the body. */
async function waitForChordKeysDeleted(backend: RedisBackend, groupId: string, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while ((await chordKeys(backend, groupId)).length > 0) {
    if (Date.now() > deadline) throw new Error(`The keys of chord ${groupId} were not deleted`);
    await sleep(25);
  }
}

/**
 * Takes the chord body's message from `ts` (whoever sent it), checks it was sent exactly once, and
 * runs `celery_app.echo` for it as the TypeScript worker.
 */
async function runBodyOnce(s: Setup, sent: SentChord, v: CeleryVersion): Promise<TaskMessage> {
  const [body] = await takeTaskMessages(s.broker, "ts", 1, 30_000);
  assert.equal(body!.id, sent.body_id);
  assert.equal(body!.task, "celery_app.echo");
  // Celery 5.6 freezes the body into the header's group; 5.2 leaves it without a group.
  assert.equal(body!.group, v === "5.2" ? null : sent.group_id);
  // The completing part sends the body, then deletes the chord keys: once they are gone, every
  // body that will ever be sent has been, and only the one taken above was.
  await waitForChordKeysDeleted(s.backend, sent.group_id);
  assert.equal(await s.broker.send(["LLEN", "ts"]), 0, "the body was sent exactly once");
  await s.backend.markAsDone(body!.id, body!.args[0], requestOf(body!, HOST));
  return body!;
}

const chordKeys = async (backend: RedisBackend, groupId: string) =>
  ((await backend.driver.send(["KEYS", `celery-taskset-meta-${groupId}*`])) as Uint8Array[])
    .map(text).sort();

for (const v of celeryVersions) {
  const skip = requirement(celeryAvailable(v), `Celery ${v} (${celeryPythons[v]})`);
  const named = (subject: string) => `Celery ${v}: ${subject}`;

  for (const mode of ["ordered", "list"] as const) {
    const pythonQueue = mode === "list" ? "pylist" : "celery";

    test(
      named(`a mixed chord completed by TypeScript fires once, in order (${mode})`),
      { skip },
      async () => {
        const s = setups.get(v)!;
        const backend = mode === "list" ? s.listBackend : s.backend;
        const sent = await s.client.call<SentChord>("chord", {
          n: 8,
          ts_every: 2,
          python_queue: pythonQueue,
        });
        const parts = await takeTaskMessages(s.broker, "ts", 4);
        assert.deepEqual(parts.map((p) => p.groupIndex), [1, 3, 5, 7]);
        assert.ok(
          parts.every((p) =>
            p.group === sent.group_id && p.chord?.options?.task_id === sent.body_id
          ),
        );
        const tsIds = new Set(parts.map((p) => p.id));
        const pythonIds = sent.header_ids.filter((id) => !tsIds.has(id));
        await waitForPythonParts(backend, sent.group_id, pythonIds);

        const fired: unknown[][] = [];
        const chord = sendBodiesThrough(s.client, fired);
        for (const part of parts.toReversed()) await runAdd(backend, part, chord);
        assert.equal(fired.length, 1);
        const body = await runBodyOnce(s, sent, v);
        if (mode === "ordered") {
          assert.deepEqual(body.args[0], [0, 2, 4, 6, 8, 10, 12, 14]);
        } else {
          // List mode: completion order — Python's parts first, then ours in the order we ran them.
          const values = body.args[0] as number[];
          assert.deepEqual(values.slice(0, 4).toSorted((a, b) => a - b), [0, 4, 8, 12]);
          assert.deepEqual(values.slice(4), [14, 10, 6, 2]);
        }
        assert.equal(body.parentId, parts[0]!.id, "the body's parent is the completing part");

        const read = await s.client.call<HarnessRead>("wait", { id: sent.body_id });
        assert.equal(read.state, "SUCCESS");
        assert.deepEqual(read.result, body.args[0]);
        assert.deepEqual((await backend.getTaskMeta(sent.body_id)).result, body.args[0]);
        assert.deepEqual(await chordKeys(backend, sent.group_id), [], "the chord keys are deleted");
      },
    );

    test(
      named(`a mixed chord completed by Python fires once, in order (${mode})`),
      { skip },
      async () => {
        const s = setups.get(v)!;
        const backend = mode === "list" ? s.listBackend : s.backend;
        // Python's parts wait on queue `hold` until ours are done.
        const sent = await s.client.call<SentChord>("chord", {
          n: 6,
          ts_every: 3,
          python_queue: "hold",
        });
        const parts = await takeTaskMessages(s.broker, "ts", 2);
        const fired: unknown[][] = [];
        const chord = sendBodiesThrough(s.client, fired);
        for (const part of parts) await runAdd(backend, part, chord);
        assert.equal(fired.length, 0, "the chord waits for Python's parts");
        const ts = await backend.driver.send(["TTL", `celery-taskset-meta-${sent.group_id}.j`]);
        assert.ok(Number(ts) > 86_000, "our parts set the chord keys' TTL");
        assert.equal(await moveTaskMessages(s.broker, "hold", pythonQueue), 4);

        const body = await runBodyOnce(s, sent, v);
        assert.equal(fired.length, 0, "Python sent the body");
        const values = body.args[0] as number[];
        if (mode === "ordered") assert.deepEqual(values, [0, 2, 4, 6, 8, 10]);
        else {
          assert.deepEqual(values.slice(0, 2), [4, 10]);
          assert.deepEqual(values.slice(2).toSorted((a, b) => a - b), [0, 2, 6, 8]);
        }
        const pythonIds = sent.header_ids.filter((id) => !parts.some((p) => p.id === id));
        assert.ok(pythonIds.includes(body.parentId!), "a Python part completed the chord");
        const read = await s.client.call<HarnessRead>("wait", { id: sent.body_id });
        assert.equal(read.state, "SUCCESS");
        assert.deepEqual(read.result, values);
        assert.deepEqual(await chordKeys(backend, sent.group_id), []);
      },
    );
  }

  test(
    named("a part failed by TypeScript gives the body Python's own FAILURE record"),
    { skip },
    async () => {
      const s = setups.get(v)!;
      // All Python: part 1 raises ValueError('x').
      const py = await s.client.call<SentChord>("chord", { n: 3, fail_index: 1 });
      const pyBody = await s.client.call<HarnessRead>("wait", { id: py.body_id });
      // Mixed: part 1 is ours, and fails with the same error.
      const ts = await s.client.call<SentChord>("chord", { n: 3, ts_every: 2 });
      const [part] = await takeTaskMessages(s.broker, "ts", 1);
      await waitForPythonParts(
        s.backend,
        ts.group_id,
        ts.header_ids.filter((id) => id !== part!.id),
      );
      const fired: unknown[][] = [];
      await s.backend.markAsFailure(part!.id, new TaskError("ValueError", ["x"], "builtins"), {
        request: requestOf(part!, HOST),
        canvas: canvas(sendBodiesThrough(s.client, fired)),
      });
      assert.equal(fired.length, 0);
      const tsBody = await s.client.call<HarnessRead>("read", { id: ts.body_id });

      const normalize = (raw: string, sent: SentChord) => {
        const meta = JSON.parse(raw);
        return raw
          .replace(JSON.stringify(meta.traceback), '"<traceback>"')
          .replaceAll(sent.body_id, "<body>")
          .replaceAll(sent.header_ids[1]!, "<part>")
          .replace(`"date_done": "${meta.date_done}"`, '"date_done": "<date>"');
      };
      assert.equal(normalize(tsBody.raw!, ts), normalize(pyBody.raw!, py));
      assert.equal(
        normalize(tsBody.raw!, ts),
        '{"status": "FAILURE", "result": {"exc_type": "ChordError", "exc_message": ' +
          `["Dependency <part> raised ValueError('x')"], "exc_module": "celery.exceptions"}, ` +
          '"traceback": "<traceback>", "children": [], "date_done": "<date>", "task_id": "<body>"}',
      );
      // The same shape; Python's isoformat() drops the fraction when the microseconds are 0, and
      // so do we (1 write in 1,000 from a millisecond clock), hence the optional fraction.
      const form = (r: HarnessRead) =>
        (JSON.parse(r.raw!).date_done as string).replace(/\.\d{6}/, "").replace(/\d/g, "9");
      assert.equal(form(tsBody), form(pyBody), "date_done in the version's form");
      // The traceback: same shape, same first and last lines.
      const lines = (r: HarnessRead, sent: SentChord) => {
        const tb = r.traceback!.replaceAll(sent.header_ids[1]!, "<part>").trimEnd().split("\n");
        return [tb[0], tb.at(-1)];
      };
      assert.deepEqual(lines(tsBody, ts), lines(pyBody, py));
      assert.equal(
        lines(tsBody, ts)[1],
        "celery.exceptions.ChordError: Dependency <part> raised ValueError('x')",
      );
      if (v === "5.6") assert.equal(lines(tsBody, ts)[0], "ValueError: x");

      // Python rebuilds it as celery.exceptions.ChordError; the chord keys are left to expire.
      const error = (tsBody.result as PyException).exception;
      assert.equal(error.module, "celery.exceptions");
      assert.equal(error.class, "ChordError");
      assert.equal(error.is_instance_of_builtin, false);
      for (const sent of [ts, py]) {
        const keys = await chordKeys(s.backend, sent.group_id);
        assert.deepEqual(keys, [".j", ".s"].map((k) => `celery-taskset-meta-${sent.group_id}${k}`));
      }
      assert.equal(await s.broker.send(["LLEN", "ts"]), 0, "no body was sent");
    },
  );

  test(
    named("Python's add_to_chord extends a chord that TypeScript completes"),
    { skip },
    async () => {
      const s = setups.get(v)!;
      const sent = await s.client.call<SentChord>("chord", { n: 2, ts_every: 2 });
      const [part] = await takeTaskMessages(s.broker, "ts", 1);
      // Celery's own Task.add_to_chord, run with the request of the part we hold.
      const extraId = (await s.client.call<{ id: string }>("add_to_chord", {
        id: part!.id,
        group: part!.group,
        group_index: part!.groupIndex,
        chord: part!.chord,
        root_id: part!.rootId,
        args: [50, 50],
        queue: "ts",
      })).id;
      assert.equal(text(await s.backend.get(`celery-taskset-meta-${sent.group_id}.t`)), "1");
      const [extra] = await takeTaskMessages(s.broker, "ts", 1);
      assert.equal(extra!.id, extraId);
      assert.equal(extra!.group, sent.group_id);
      assert.equal(extra!.groupIndex, part!.groupIndex);
      assert.deepEqual(extra!.chord, part!.chord);
      await waitForPythonParts(s.backend, sent.group_id, [sent.header_ids[0]!]);

      const fired: unknown[][] = [];
      const chord = sendBodiesThrough(s.client, fired);
      await runAdd(s.backend, extra!, chord);
      assert.equal(fired.length, 0, "size 2 + 1 added: still one part to go");
      await runAdd(s.backend, part!, chord);
      assert.equal(fired.length, 1);
      const body = await runBodyOnce(s, sent, v);
      const values = body.args[0] as number[];
      // Same group index, so the two tie and sort by their member bytes.
      assert.equal(values[0], 0);
      assert.deepEqual(values.toSorted((a, b) => a - b), [0, 2, 100]);
      assert.equal(
        (await s.client.call<HarnessRead>("wait", { id: sent.body_id })).state,
        "SUCCESS",
      );
    },
  );

  test(
    named("TypeScript's addToChord extends a chord that Python completes"),
    { skip },
    async () => {
      const s = setups.get(v)!;
      const sent = await s.client.call<SentChord>("chord", { n: 2, ts_every: 2 });
      const [part] = await takeTaskMessages(s.broker, "ts", 1);
      assert.equal(await addToChord(s.backend, part!.group!), 1);
      // The extra part runs on the Python worker, with our part's chord options.
      const fired: unknown[][] = [];
      const chord = sendBodiesThrough(s.client, fired);
      // The extra part is held on its own queue until ours is done, so Python's completes the chord.
      const extra = await s.client.call<{ id: string }>("send_extra", {
        args: [50, 50],
        queue: "hold-extra",
        group: part!.group,
        group_index: part!.groupIndex,
        chord: part!.chord,
        root_id: part!.rootId,
      });
      await runAdd(s.backend, part!, chord);
      assert.equal(fired.length, 0, "size 2 + 1 added: our part is not the last");
      assert.equal(await moveTaskMessages(s.broker, "hold-extra", "celery"), 1);
      const body = await runBodyOnce(s, sent, v);
      assert.equal(fired.length, 0, "Python sent the body");
      assert.ok(
        [extra.id, sent.header_ids[0]].includes(body.parentId!),
        "a Python part completed the chord",
      );
      assert.deepEqual((body.args[0] as number[]).toSorted((a, b) => a - b), [0, 2, 100]);
      assert.equal((await s.backend.getTaskMeta(extra.id)).result, 100);
      const read = await s.client.call<HarnessRead>("wait", { id: sent.body_id });
      assert.deepEqual((read.result as number[]).toSorted((a, b) => a - b), [0, 2, 100]);
    },
  );

  test(
    named("groups saved by either side are restored and joined by the other"),
    { skip },
    async () => {
      const s = setups.get(v)!;
      const id = (name: string) => `grp-${v}-${name}`;
      const tupleOf = (gid: string): ResultTuple =>
        [[gid, null], [
          [[id(`${gid}-a`), null], null],
          [[id(`${gid}-b`), [[id("parent"), null], null]], null],
          [[id(`${gid}-inner`), null], [[[id(`${gid}-c`), null], null]]],
        ]] as ResultTuple;

      // TypeScript saves, Python restores (nested group and parent intact) and joins.
      const tsTuple = tupleOf(id("ts"));
      const tsGroup = resultFromTuple(tsTuple, s.backend) as GroupResult;
      await s.backend.saveGroup(tsGroup.id, tsGroup);
      for (const [i, leaf] of tsGroup.leaves().entries()) {
        await s.backend.markAsDone(leaf.id, i + 1);
      }
      const restored = await s.client.call<{ tuple: unknown; values: unknown }>("restore_group", {
        id: tsGroup.id,
        join: true,
        timeout: 10,
      });
      assert.deepEqual(restored.tuple, tsTuple);
      assert.deepEqual(restored.values, [1, 2, [3]]);

      // Python saves: the same bytes TypeScript writes; TypeScript restores and joins.
      const pyTuple = tupleOf(id("py"));
      const saved = await s.client.call<{ raw: string }>("save_group", { tuple: pyTuple });
      await using memory = createBackend("memory://", { celeryVersion: v });
      await memory.saveGroup(id("py"), resultFromTuple(pyTuple, memory) as GroupResult);
      assert.equal(text(await memory.get(`celery-taskset-meta-${id("py")}`)), saved.raw);
      const group = await GroupResult.restore(s.backend, id("py"));
      assert.ok(group);
      assert.deepEqual(group.asTuple(), pyTuple);
      for (const [i, leaf] of group.leaves().entries()) {
        await s.backend.markAsDone(leaf.id, i * 10);
      }
      assert.deepEqual(await group.join({ timeout: 10_000 }), [0, 10, [20]]);
      await s.backend.deleteGroup(id("py"));
      assert.equal(
        await s.client.call("restore_group", { id: id("py") }),
        null,
        "Python sees the group deleted",
      );
    },
  );

  test(
    named("a chain failed by TypeScript fails for a Python client waiting on its end"),
    { skip },
    async () => {
      const s = setups.get(v)!;
      const { ids } = await s.client.call<{ ids: string[] }>("chain", { first_queue: "ts" });
      const [first] = await takeTaskMessages(s.broker, "ts", 1);
      assert.equal(first!.id, ids[0]);
      assert.deepEqual(first!.chain?.map((e) => e.options?.task_id), [ids[2], ids[1]]);
      await s.backend.markAsFailure(first!.id, new TaskError("ValueError", ["y"], "builtins"), {
        request: requestOf(first!, HOST),
        traceback:
          'Traceback (most recent call last):\n  File "add.ts", line 1, in add\nValueError: y\n',
        canvas: canvas(),
      });
      const last = await s.client.call<HarnessRead>("wait", { id: ids[2], timeout: 10 });
      assert.equal(last.state, "FAILURE");
      const error = (last.result as PyException).exception;
      assert.equal(error.class, "ValueError");
      assert.equal(error.is_instance_of_builtin, true);
      assert.deepEqual(error.args, ["y"]);
      assert.equal((await s.client.call<HarnessRead>("read", { id: ids[1] })).state, "FAILURE");

      // The records are the ones a Python worker writes when it fails the same chain.
      const py = await s.client.call<{ ids: string[] }>("chain", { first: "boom" });
      const pyLast = await s.client.call<HarnessRead>("wait", { id: py.ids[2], timeout: 10 });
      const normalize = (r: HarnessRead, chainIds: string[]) => {
        const meta = JSON.parse(r.raw!);
        return r.raw!
          .replace(chainIds[2]!, "<id>")
          .replace(`"date_done": "${meta.date_done}"`, '"date_done": "<date>"')
          .replace(JSON.stringify(meta.traceback), '"<traceback>"');
      };
      assert.equal(normalize(last, ids), normalize(pyLast, py.ids));
      assert.equal(
        normalize(last, ids),
        '{"status": "FAILURE", "result": {"exc_type": "ValueError", "exc_message": ["y"], ' +
          '"exc_module": "builtins"}, "traceback": "<traceback>", "children": [], ' +
          '"date_done": "<date>", "name": "celery_app.add", "args": [2], "kwargs": {}, ' +
          '"worker": null, "retries": 0, "queue": null, "task_id": "<id>"}',
      );
    },
  );

  test(
    named("every record a TypeScript worker writes is byte-identical to Python's"),
    { skip },
    async () => {
      const s = setups.get(v)!;
      const instant = new Date(Date.UTC(2026, 10, 24, 11, 38, 23, 27));
      await using ts = createBackend("memory://", {
        celeryVersion: v,
        resultExtended: true,
        now: () => instant,
      });
      const pyRequest = {
        task: "celery_app.add",
        args: [1, 2],
        kwargs: { k: "v" },
        hostname: HOST,
        retries: 0,
        delivery_info: { routing_key: "ts" },
        group: "grp-1",
        parent_id: "parent-1",
      };
      const tsRequest = {
        task: "celery_app.add",
        args: [1, 2],
        kwargs: { k: "v" },
        hostname: HOST,
        retries: 0,
        deliveryInfo: { routingKey: "ts" },
        group: "grp-1",
        parentId: "parent-1",
      };
      const children: ResultTuple[] = [
        [["c1", null], null],
        [["c4", [["p0", null], null]], null],
        [["g1", null], [[["c2", null], null], [["c3", null], null]]],
      ] as ResultTuple[];
      const retryTb =
        "Traceback (most recent call last):\n  File \"t.ts\", line 1\nKeyError: 'again'\n";
      const revoked = (reason: string) => ({
        exception: { module: "celery.exceptions", class: "TaskRevokedError", args: [reason] },
      });
      const cases: [object, () => Promise<unknown>][] = [
        [
          {
            task_id: "w-started",
            state: "STARTED",
            result: { pid: 4242, hostname: HOST },
            request: pyRequest,
          },
          () => ts.markAsStarted("w-started", { pid: 4242, hostname: HOST }, tsRequest),
        ],
        [
          {
            task_id: "w-retry",
            state: "RETRY",
            result: { exception: { module: "builtins", class: "KeyError", args: ["again"] } },
            traceback: retryTb,
            request: { ...pyRequest, retries: 1, children: [[["w-retry", null], null]] },
          },
          () =>
            ts.markAsRetry("w-retry", new TaskError("KeyError", ["again"], "builtins"), {
              traceback: retryTb,
              request: { ...tsRequest, retries: 1, children: [[["w-retry", null], null]] },
            }),
        ],
        [
          { task_id: "w-retry-bare", state: "RETRY", result: null, request: pyRequest },
          () => ts.markAsRetry("w-retry-bare", null, { request: tsRequest }),
        ],
        ...["revoked", "expired", "terminated"].map((reason): [object, () => Promise<unknown>] => [
          { task_id: `w-${reason}`, state: "REVOKED", result: revoked(reason), request: pyRequest },
          () => ts.markAsRevoked(`w-${reason}`, reason, tsRequest),
        ]),
        [
          {
            task_id: "w-children",
            state: "SUCCESS",
            result: 3,
            request: { ...pyRequest, children },
          },
          () => ts.markAsDone("w-children", 3, { ...tsRequest, children }),
        ],
        [
          {
            task_id: "w-stamps",
            state: "SUCCESS",
            result: 3,
            request: {
              ...pyRequest,
              stamps: { on_stamp: "x", n: 1 },
              stamped_headers: ["on_stamp", "n"],
            },
          },
          () =>
            ts.markAsDone("w-stamps", 3, {
              ...tsRequest,
              stamps: { on_stamp: "x", n: 1 },
              stampedHeaders: ["on_stamp", "n"],
            }),
        ],
      ];
      const now = "2026-11-24T11:38:23.027000";
      const expected = await s.client.call<string[]>("encode_meta", {
        specs: cases.map(([spec]) => ({ ...spec, now })),
      });
      for (const [i, [spec, store]] of cases.entries()) {
        await store();
        const id = (spec as { task_id: string }).task_id;
        assert.equal(text(await ts.get(`celery-task-meta-${id}`)), expected[i], id);
      }
    },
  );
}
