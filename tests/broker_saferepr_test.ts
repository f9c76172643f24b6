// argsrepr/kwargsrepr of simple arguments (lists of None, booleans and integers, an empty dict)
// take a fast path in saferepr(): its text is compared with Celery's own saferepr(value, 1024),
// run in Python, including lists long enough to be cut off (where the general path takes over).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { saferepr } from "../src/broker/python_repr.ts";
import { celeryAvailable } from "./_celery.ts";
import { celeryPythons, requirement } from "./_env.ts";

const cases: unknown[] = [
  [],
  {},
  [0],
  [1, 1],
  [-7, 0, 42, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER],
  [true, false, null],
  [1, [2, 3]], // nested: the general path
  Array.from({ length: 200 }, (_, i) => i), // about 1024 characters
  Array.from({ length: 400 }, (_, i) => i * 1000), // cut off
  Array.from({ length: 300 }, (_, i) => i % 2 === 0),
];

// Python literals for the cases (JSON but for True/False/None).
const PYTHON = `
import json, sys
from celery.utils.saferepr import saferepr
values = json.loads(sys.stdin.read())
print(json.dumps([saferepr(v, 1024) for v in values]))
`;

test("saferepr() of simple arguments is Celery's saferepr(value, 1024)", {
  skip: requirement(celeryAvailable("5.2"), "Celery 5.2 (/usr/bin/python3)"),
}, () => {
  const run = spawnSync(celeryPythons["5.2"], ["-c", PYTHON], {
    input: JSON.stringify(cases),
    encoding: "utf8",
    timeout: 60_000,
  });
  assert.equal(run.status, 0, run.stderr);
  const expected = JSON.parse(run.stdout) as string[];
  assert.deepEqual(cases.map((value) => saferepr(value, 1024)), expected);
});
