import { test } from "node:test";
import assert from "node:assert/strict";
import { DecodeError, TaskError, toExceptionInfo } from "../mod.ts";

test("TaskError.fromExceptionInfo() rebuilds Celery's record with Python's str()", () => {
  const e = TaskError.fromExceptionInfo(
    { exc_type: "ValueError", exc_message: ["bad thing", 42], exc_module: "builtins" },
    { taskId: "t", state: "FAILURE", traceback: "tb" },
  );
  assert.ok(e instanceof Error);
  assert.equal(e.name, "ValueError");
  assert.equal(e.message, "('bad thing', 42)");
  assert.equal(e.excModule, "builtins");
  assert.equal(e.traceback, "tb");
  assert.equal(
    TaskError.fromExceptionInfo({ exc_type: "E", exc_message: "old string" }).message,
    "old string",
  );
  assert.equal(TaskError.fromExceptionInfo({ exc_type: "E", exc_message: [] }).message, "");
});

test("TaskError.fromExceptionInfo() refuses records Python refuses", () => {
  assert.throws(
    () => TaskError.fromExceptionInfo({ foo: 1 }),
    (e: unknown) => e instanceof DecodeError && /must include the exception type/.test(e.message),
  );
  assert.throws(() => TaskError.fromExceptionInfo("boom"), DecodeError);
  assert.throws(() => TaskError.fromExceptionInfo([1]), DecodeError);
});

test("toExceptionInfo() maps JS errors to classes Python can rebuild", () => {
  assert.deepEqual(toExceptionInfo(new Error("x")), {
    exc_type: "Exception",
    exc_message: ["x"],
    exc_module: "builtins",
  });
  assert.deepEqual(toExceptionInfo(new TypeError("t")).exc_type, "TypeError");
  assert.deepEqual(toExceptionInfo(new RangeError("r")).exc_type, "RangeError");
  const custom = Object.assign(new Error("nope"), { excType: "KeyError", excMessage: ["k"] });
  assert.deepEqual(toExceptionInfo(custom), {
    exc_type: "KeyError",
    exc_message: ["k"],
    exc_module: "builtins",
  });
  assert.deepEqual(toExceptionInfo("just text"), {
    exc_type: "Exception",
    exc_message: ["just text"],
    exc_module: "builtins",
  });
});
