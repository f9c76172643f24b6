// Python's repr() and an exception's str(), as the ChordError, refused-record and TaskError
// messages write them: compared with what Python itself prints for the same decoded payloads
// (kombu's loads, under each Celery version's Python).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { DecodeError, decodeKombuJson, TaskError } from "../mod.ts";
import { pythonRepr, pythonStr } from "../src/wire/python_repr.ts";
import { celeryAvailable, type CeleryVersion, celeryVersions } from "./_celery.ts";
import { celeryPythons, requirement } from "./_env.ts";

// JSON payloads, decoded on both sides. Strings cover the quote choice and every escape repr
// makes: control characters, DEL and C1, no-break space, line separator, zero-width space,
// a lone surrogate; numbers cover ints beyond 2^53, integral and tiny floats, -0.0, NaN, inf.
const PLAIN = [
  "null",
  "true",
  "false",
  '"plain"',
  `"it's"`,
  `"say \\"hi\\""`,
  `"both ' and \\""`,
  '"back\\\\slash"',
  '"tab\\tnew\\nline\\rret"',
  '"\\u0000\\u0007\\u001f\\u007f\\u0085\\u00a0"',
  '"\\u2028\\u200b\\u00e9\\u4e2d"',
  '"\\ud83d\\ude00 emoji"',
  '"\\ud800 lone"',
  "0",
  "-7",
  "9007199254740993",
  "-123456789012345678901234567890",
  "1.5",
  "2.0",
  "-0.0",
  "1e20",
  "1e16",
  "1e-5",
  "0.0001",
  "123456789.125",
  "NaN",
  "Infinity",
  "-Infinity",
  "[]",
  "{}",
  '[1, "a", [null, true], {"k": [2.5]}]',
  `{"it's": {"nested": ["x", "y'z"]}, "": 0}`,
];

// kombu ≥ 5.3's typed markers: Decimal, UUID, datetime (naive, UTC, an offset), date, time.
const TYPED = [
  '{"__type__": "decimal", "__value__": "1.50"}',
  '{"__type__": "uuid", "__value__": {"hex": "12345678123456781234567812345678"}}',
  '{"__type__": "datetime", "__value__": "2026-12-03T07:08:09.123456"}',
  '{"__type__": "datetime", "__value__": "2026-12-03T07:08:00+00:00"}',
  '{"__type__": "datetime", "__value__": "2026-12-03T07:08:09-05:30"}',
  '{"__type__": "date", "__value__": "2026-12-03"}',
  '{"__type__": "time", "__value__": "07:08:09.000100"}',
  '[{"__type__": "decimal", "__value__": "-0"}, {"__type__": "date", "__value__": "2026-01-01"}]',
];

// Exception args (a JSON list each): str(ValueError(*args)).
const EXCEPTION_ARGS = [
  "[]",
  '["bad input"]',
  `["it's"]`,
  "[42]",
  '[{"a": 1}]',
  `["it's", {"a": [1, 2.5]}, null]`,
  "[1.0, 2]",
];

const PYTHON = `
import json, sys
from kombu.utils.json import loads
cases = json.loads(sys.stdin.read())
print(json.dumps({
    "repr": [repr(loads(text)) for text in cases["repr"]],
    "str": [str(ValueError(*loads(text))) for text in cases["str"]],
}))
`;

function python(version: CeleryVersion, cases: { repr: string[]; str: string[] }) {
  const run = spawnSync(celeryPythons[version], ["-c", PYTHON], {
    input: JSON.stringify(cases),
    encoding: "utf8",
    timeout: 60_000,
  });
  assert.equal(run.status, 0, run.stderr);
  return JSON.parse(run.stdout) as { repr: string[]; str: string[] };
}

const decoded = (text: string) => decodeKombuJson(text, { preserveFloats: true });

for (const version of celeryVersions) {
  // kombu 5.2 has no typed markers: it reads them as the dicts they are, and so do we not.
  const reprCases = version === "5.2" ? PLAIN : [...PLAIN, ...TYPED];
  test(
    `Celery ${version}: pythonRepr() and an exception's str() are what Python prints`,
    {
      skip: requirement(celeryAvailable(version), `Celery ${version} (${celeryPythons[version]})`),
    },
    () => {
      const expected = python(version, { repr: reprCases, str: EXCEPTION_ARGS });
      assert.deepEqual(reprCases.map((text) => pythonRepr(decoded(text))), expected.repr);
      assert.deepEqual(
        EXCEPTION_ARGS.map((text) => pythonStr(decoded(text) as unknown[])),
        expected.str,
      );
      // TaskError's message is that str().
      assert.deepEqual(
        EXCEPTION_ARGS.map((text) =>
          new TaskError("ValueError", decoded(text) as unknown[]).message
        ),
        expected.str,
      );
    },
  );
}

test("pythonRepr() of an exception is its class and args; bytes are a bytes literal", () => {
  assert.equal(
    pythonRepr(new TaskError("mod.KeyError", ["k", 2], "mod")),
    "KeyError('k', 2)",
  );
  assert.equal(pythonRepr(new RangeError("out")), "RangeError('out')");
  assert.equal(
    pythonRepr(new Uint8Array([0x61, 0x27, 0x00, 0x7f, 0xff, 0x5c])),
    `b"a'\\x00\\x7f\\xff\\\\"`,
  );
});

test("pythonRepr() refuses values nested deeper than the decoders allow", () => {
  let deep: unknown = [];
  for (let i = 0; i < 2000; i++) deep = [deep];
  assert.throws(
    () => pythonRepr(deep),
    (e: unknown) => e instanceof DecodeError && /nested deeper than 1024 levels/.test(e.message),
  );
});
