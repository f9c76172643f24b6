import { test } from "node:test";
import assert from "node:assert/strict";
import { KeyBuilder } from "../mod.ts";

test("KeyBuilder builds task, group and chord keys as Celery does", () => {
  const keys = new KeyBuilder(undefined, "5.6");
  assert.equal(keys.task("abc"), "celery-task-meta-abc");
  assert.equal(keys.group("g"), "celery-taskset-meta-g");
  assert.deepEqual(keys.chord("g"), {
    results: "celery-taskset-meta-g.j",
    added: "celery-taskset-meta-g.t",
    size: "celery-taskset-meta-g.s",
  });
  assert.equal(keys.taskIdOf("celery-task-meta-abc"), "abc");
  assert.equal(keys.taskIdOf("other"), undefined);
});

test("KeyBuilder joins globalKeyprefix by the 5.3/5.4 rule and the 5.5+ rule", () => {
  for (const p of ["pfx", "pfx_", "app:", "a-", "a."]) {
    assert.equal(new KeyBuilder(p, "5.3").task("i"), `${p}_celery-task-meta-i`);
  }
  assert.equal(new KeyBuilder("pfx", "5.5").task("i"), "pfx_celery-task-meta-i");
  assert.equal(new KeyBuilder("pfx_", "5.5").task("i"), "pfx_celery-task-meta-i");
  assert.equal(new KeyBuilder("app:", "5.6").group("g"), "app:celery-taskset-meta-g");
  assert.equal(new KeyBuilder("a-", "5.6").chord("g").size, "a-celery-taskset-meta-g.s");
  assert.equal(new KeyBuilder("a.", "5.5").task("i"), "a.celery-task-meta-i");
});

test("KeyBuilder refuses empty ids", () => {
  const keys = new KeyBuilder(undefined, "5.6");
  assert.throws(() => keys.task(""), TypeError);
  assert.throws(() => keys.group(""), TypeError);
});
