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

test("TaskError.fromExceptionInfo() gives what Python raises for records it cannot rebuild", () => {
  const python = (info: unknown) => {
    const e = TaskError.fromExceptionInfo(info, { taskId: "t9", state: "FAILURE" });
    assert.ok(e.cause instanceof DecodeError, "the cause says the record was unusable");
    assert.match((e.cause as Error).message, /The FAILURE record of task t9 holds no exception/);
    assert.equal(e.excModule, "builtins");
    assert.equal(e.taskId, "t9");
    return [e.name, e.message];
  };
  const notADict = "If the stored exception isn't an instance of BaseException, it must be a " +
    "dictionary.\nInstead got: ";
  // Python's exact class and str() (celery/backends/base.py exception_to_python, vine's throw).
  for (const empty of [null, 0, false, "", [], {}]) {
    assert.deepEqual(python(empty), ["RuntimeError", "No active exception to reraise"]);
  }
  assert.deepEqual(python({ foo: 1 }), [
    "ValueError",
    "Exception information must include the exception type",
  ]);
  assert.deepEqual(python([1, 2]), ["TypeError", `${notADict}[1, 2]`]);
  assert.deepEqual(python(5), ["TypeError", `${notADict}5`]);
  assert.deepEqual(python(true), ["TypeError", `${notADict}True`]);
  assert.deepEqual(python([["a", null], 1.5e-7, {}]), [
    "TypeError",
    `${notADict}[['a', None], 1.5e-07, {}]`,
  ]);
  assert.deepEqual(python(["it's", { k: "v" }]), [
    "ValueError",
    "dictionary update sequence element #0 has length 4; 2 is required",
  ]);
  assert.deepEqual(python("boom"), [
    "ValueError",
    "dictionary update sequence element #0 has length 1; 2 is required",
  ]);
  assert.deepEqual(python({ exc_type: 5, exc_message: [] }), [
    "TypeError",
    "type.__new__() argument 1 must be str, not int",
  ]);
  // dict() of pairs builds a record Python then reads like any other.
  const fromPairs = TaskError.fromExceptionInfo([["exc_type", "KeyError"], ["exc_message", ["k"]]]);
  assert.deepEqual([fromPairs.name, fromPairs.message, fromPairs.cause], [
    "KeyError",
    "k",
    undefined,
  ]);
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
