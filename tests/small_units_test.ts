// Direct tests of small exported helpers that other tests only reach indirectly: the state
// predicates, result tuples, chain element requests and chain failure propagation, and the
// PollingConsumer's limit on consecutive failed polls.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  AsyncResult,
  CeleryBackendError,
  chainElementRequest,
  GroupResult,
  isFinalState,
  isReady,
  memoryDriver,
  PollingConsumer,
  propagateChainFailure,
  RedisBackend,
  RedisConnectionError,
  type RedisDriver,
  resultFromTuple,
  resultTuple,
  type Signature,
  TaskError,
  type TaskMeta,
} from "../mod.ts";

const ALL_STATES = [
  "PENDING",
  "RECEIVED",
  "STARTED",
  "SUCCESS",
  "FAILURE",
  "REVOKED",
  "REJECTED",
  "RETRY",
  "IGNORED",
  "PROGRESS",
];
const READY = ["SUCCESS", "FAILURE", "REVOKED"];

test("isFinalState() is true for SUCCESS, FAILURE and REVOKED only", () => {
  assert.deepEqual(ALL_STATES.filter(isFinalState), READY);
  assert.equal(isFinalState("success"), false, "states are case-sensitive, as in Celery");
});

test("isReady() is true for metas in SUCCESS, FAILURE and REVOKED only", () => {
  const meta = (status: string) => ({ status, result: null }) as unknown as TaskMeta;
  assert.deepEqual(ALL_STATES.filter((s) => isReady(meta(s))), READY);
});

test("resultTuple() gives [[id, parent], null] for a task and the nested form for a group", async () => {
  await using backend = new RedisBackend(memoryDriver());
  assert.deepEqual(resultTuple(new AsyncResult("t1", backend)), [["t1", null], null]);
  const withParent = [["c2", [["p0", null], null]], null];
  assert.deepEqual(resultTuple(resultFromTuple(withParent, backend)), withParent);
  const group = new GroupResult(
    "g1",
    [new AsyncResult("a", backend), new AsyncResult("b", backend)],
    backend,
  );
  assert.deepEqual(resultTuple(group), [["g1", null], [[["a", null], null], [["b", null], null]]]);
});

test("chainElementRequest() maps a signature's options to the request Celery stores with", () => {
  const body: Signature = { task: "proj.body", args: [], kwargs: {}, options: { task_id: "b" } };
  const errback: Signature = { task: "proj.err", args: [], kwargs: {}, options: {} };
  const request = chainElementRequest({
    task: "proj.add",
    args: [1, 2],
    kwargs: { k: "v" },
    options: {
      task_id: "t3",
      group_id: "g",
      group_index: 4,
      parent_id: "p",
      root_id: "r",
      chord: body,
      link_error: [errback],
      hostname: "w@h",
      retries: 2,
      delivery_info: { routing_key: "q" },
      stamps: { s: 1 },
      stamped_headers: ["s"],
    },
  });
  assert.deepEqual(request, {
    children: [],
    retries: 2,
    id: "t3",
    task: "proj.add",
    args: [1, 2],
    kwargs: { k: "v" },
    group: "g",
    groupIndex: 4,
    parentId: "p",
    rootId: "r",
    chord: body,
    errbacks: [errback],
    hostname: "w@h",
    deliveryInfo: { routingKey: "q" },
    stamps: { s: 1 },
    stampedHeaders: ["s"],
  });
  // Missing or mistyped options are left out, not guessed.
  assert.deepEqual(
    chainElementRequest({
      task: "proj.x",
      options: { task_id: "", group_index: "1" as unknown as number },
    }),
    { children: [], retries: 0, task: "proj.x" },
  );
});

test("propagateChainFailure() stores the error under every chain id, last task first", async () => {
  await using backend = new RedisBackend(memoryDriver());
  const chain: Signature[] = [
    { task: "proj.c", args: [], kwargs: {}, options: { task_id: "c3" } },
    { task: "proj.b", args: [], kwargs: {}, options: {} }, // no id: nothing to store
    { task: "proj.b", args: [], kwargs: {}, options: { task_id: "c2" } },
  ];
  const stored = await propagateChainFailure(
    backend,
    { id: "c1", chain },
    "FAILURE",
    new TaskError("ValueError", ["y"], "builtins"),
    { traceback: "Traceback (most recent call last):\nValueError: y\n" },
  );
  assert.deepEqual(stored, ["c3", "c2"]);
  for (const id of stored) {
    const meta = await backend.getTaskMeta(id);
    assert.equal(meta.status, "FAILURE");
    assert.ok(meta.result instanceof TaskError && meta.result.name === "ValueError");
    assert.equal(meta.traceback, "Traceback (most recent call last):\nValueError: y\n");
  }
  // Only FAILURE and REVOKED propagate.
  assert.deepEqual(
    await propagateChainFailure(backend, { chain: [chain[0]!] }, "RETRY", new Error("x")),
    [],
  );
  // A chain element that is a chord part needs chord options.
  await assert.rejects(
    propagateChainFailure(
      backend,
      {
        chain: [{ task: "proj.p", options: { task_id: "p1", group_id: "g", chord: {} } }],
      },
      "FAILURE",
      new Error("x"),
    ),
    (e: unknown) => e instanceof TypeError && /p1 is a chord part/.test(e.message),
  );
});

test("PollingConsumer rejects pending waits after maxErrors + 1 failed polls in a row", async () => {
  let mgets = 0;
  const failing: RedisDriver = {
    name: "failing",
    send(command) {
      if (command[0] === "MGET") mgets++;
      return Promise.reject(new RedisConnectionError("down"));
    },
    transaction: () => Promise.reject(new RedisConnectionError("down")),
    close: () => Promise.resolve(),
    [Symbol.asyncDispose]: () => Promise.resolve(),
  };
  await using backend = new RedisBackend(failing);
  await using consumer = new PollingConsumer(backend, {
    minInterval: 1,
    maxInterval: 1,
    maxErrors: 3,
    sleep: () => Promise.resolve(),
  });
  await assert.rejects(
    consumer.wait("t1"),
    (e: unknown) =>
      e instanceof CeleryBackendError && e.message === "Polling failed 4 times in a row" &&
      e.cause instanceof RedisConnectionError,
  );
  assert.equal(mgets, 4);
});
