// Task and group ids must be well-formed Unicode: a lone surrogate has no UTF-8 form (it would
// be encoded as U+FFFD, folding several ids onto one key), so every entry point refuses it with
// a TypeError before any I/O, as it refuses an empty id.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  addToChord,
  AsyncResult,
  consumerFor,
  GroupResult,
  KeyBuilder,
  memoryDriver,
  RedisBackend,
  type RedisDriver,
  setChordSize,
  sseResponse,
  waitForResult,
} from "../edge.ts";

const LONE_HIGH = "task-\uD800";
const LONE_LOW = "\uDC00-task";
const REPLACEMENT = "task-\uFFFD"; // well-formed: what a lone surrogate would have become

/** A memory driver that records every command it is given. */
function recordingDriver(): { driver: RedisDriver; commands: string[] } {
  const inner = memoryDriver();
  const commands: string[] = [];
  const driver: RedisDriver = {
    name: "recording",
    send: (command) => {
      commands.push(String(command[0]));
      return inner.send(command);
    },
    transaction: (batch) => {
      commands.push(...batch.map((c) => String(c[0])));
      return inner.transaction(batch);
    },
    openSubscriber: (handlers) => {
      commands.push("SUBSCRIBER");
      return inner.openSubscriber!(handlers);
    },
    close: () => inner.close(),
    [Symbol.asyncDispose]: () => inner.close(),
  };
  return { driver, commands };
}

const isLoneSurrogateError = (e: unknown) =>
  e instanceof TypeError &&
  /well-formed Unicode: lone surrogate U\+D[89A-F][0-9A-F]{2}/.test(e.message);

test("KeyBuilder refuses ids holding a lone surrogate, high or low, and names it", () => {
  const keys = new KeyBuilder(undefined, "5.6");
  for (const id of [LONE_HIGH, LONE_LOW, "a\uDBFFb", "\uD83D"]) {
    assert.throws(() => keys.task(id), isLoneSurrogateError, JSON.stringify(id));
    assert.throws(() => keys.group(id), isLoneSurrogateError, JSON.stringify(id));
    assert.throws(() => keys.chord(id), isLoneSurrogateError, JSON.stringify(id));
  }
  assert.throws(() => keys.task(LONE_HIGH), /lone surrogate U\+D800 at index 5/);
  // Surrogate pairs (emoji, CJK extension B) and U+FFFD itself are well-formed.
  assert.equal(keys.task("\u{1F389}\u{20000}"), "celery-task-meta-\u{1F389}\u{20000}");
  assert.equal(keys.task(REPLACEMENT), `celery-task-meta-${REPLACEMENT}`);
});

test("every entry point taking an id refuses a lone surrogate with TypeError before any I/O", async () => {
  const { driver, commands } = recordingDriver();
  await using backend = new RedisBackend(driver);
  const calls: [string, () => unknown][] = [
    ["getTaskMeta", () => backend.getTaskMeta(LONE_HIGH)],
    ["getMany", () => backend.getTaskMetas(["ok", LONE_LOW])],
    ["exists", () => backend.exists(LONE_HIGH)],
    ["storeResult", () => backend.storeResult(LONE_HIGH, 1, "SUCCESS")],
    ["markAsDone", () => backend.markAsDone(LONE_HIGH, 1)],
    ["markAsFailure", () => backend.markAsFailure(LONE_HIGH, new Error("x"))],
    ["markAsStarted", () => backend.markAsStarted(LONE_HIGH)],
    ["markAsRetry", () => backend.markAsRetry(LONE_HIGH, new Error("x"))],
    ["markAsRevoked", () => backend.markAsRevoked(LONE_HIGH)],
    ["forget", () => backend.forget(LONE_LOW)],
    ["asyncResult", () => new AsyncResult(LONE_HIGH, backend)],
    ["consumer.wait", () => consumerFor(backend).wait(LONE_HIGH)],
    ["waitForResult", () => waitForResult(backend, LONE_LOW, { deadline: Date.now() + 60_000 })],
    ["saveGroup", () => backend.saveGroup(LONE_HIGH, new GroupResult("g", [], backend))],
    ["restoreGroup", () => GroupResult.restore(backend, LONE_HIGH)],
    ["deleteGroup", () => backend.deleteGroup(LONE_LOW)],
    ["GroupResult.save", () => new GroupResult(LONE_HIGH, [], backend).save()],
    ["GroupResult.restore", () => GroupResult.restore(backend, LONE_LOW)],
    ["setChordSize", () => setChordSize(backend, LONE_HIGH, 2)],
    ["addToChord", () => addToChord(backend, LONE_HIGH)],
  ];
  for (const [name, call] of calls) {
    // Synchronous throw or rejection: either way a TypeError, and nothing sent.
    await assert.rejects(async () => await call(), isLoneSurrogateError, name);
  }
  // The consumer was created (lazily, no I/O) but never subscribed nor read anything.
  assert.deepEqual(commands, []);
});

test("sseResponse() answers a lone-surrogate id with a TypeError event and no I/O", async () => {
  const { driver, commands } = recordingDriver();
  await using backend = new RedisBackend(driver);
  const text = await sseResponse(backend, LONE_HIGH).text();
  assert.match(text, /event: error\ndata: .*"error":"TypeError".*lone surrogate/);
  assert.deepEqual(commands, []);
});

test("ids that would fold onto one key stay apart: U+FFFD is stored, lone surrogates are not", async () => {
  await using backend = new RedisBackend(memoryDriver());
  await backend.markAsDone(REPLACEMENT, "replacement");
  assert.equal((await backend.getTaskMeta(REPLACEMENT)).result, "replacement");
  // Before the check, "task-\uD800" read (and overwrote) the record of "task-\uFFFD".
  await assert.rejects(backend.getTaskMeta(LONE_HIGH), TypeError);
  await assert.rejects(backend.markAsDone(LONE_HIGH, "other"), TypeError);
  assert.equal((await backend.getTaskMeta(REPLACEMENT)).result, "replacement");
});
