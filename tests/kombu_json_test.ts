// encodeKombuJson / decodeKombuJson and the Python value classes: byte-exact against the
// real-Celery fixtures, against Python's kombu 5.6.2 (dialect 5.3) and 5.2.4 (dialect 5.2), and
// every error path.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { decodeKombuJson, encodeKombuJson } from "../src/wire/serialization/kombu_json.ts";
import {
  dateIsoformat,
  PyDate,
  PyDateTime,
  PyDecimal,
  PyFloat,
  PyTime,
  PyUUID,
} from "../src/wire/serialization/python_types.ts";
import { DecodeError, EncodeError } from "../src/errors.ts";
import { celeryPythons, exists, requirement } from "./_env.ts";

// ---------------------------------------------------------------------------------------------
// Helpers

interface Fixture {
  ids: Record<string, unknown>;
  keys: Record<string, { type: string; value: string }>;
}

// Captured by scripts/capture_fixtures.sh; the tests read ids from the file, so a regenerated
// capture passes as well as the committed one.
const FIXTURES = {
  "5.2": "fixtures/celery-5.2.6-kombu-5.2.4.json",
  "5.3": "fixtures/celery-5.6.3-kombu-5.6.2.json",
} as const;

function loadFixture(dialect: "5.2" | "5.3"): Fixture {
  return JSON.parse(readFileSync(new URL(FIXTURES[dialect], import.meta.url), "utf8")) as Fixture;
}

function fixtureMeta(dialect: "5.2" | "5.3", id: string): string {
  const fixture = loadFixture(dialect);
  const key = fixture.keys[`celery-task-meta-${fixture.ids[id] as string}`];
  assert.ok(key, `fixture ${id}`);
  return key.value;
}

const hex = (bytes: Uint8Array) =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

function throwsWith(
  fn: () => unknown,
  type: new (...args: never[]) => Error,
  pattern: RegExp,
): Error {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof type, `expected ${type.name}, got ${String(caught)}`);
  assert.match(caught.message, pattern);
  return caught;
}

/** Python's `repr(float)`. */
function pyFloatRepr(x: number): string {
  if (x !== x) return "nan";
  if (x === Infinity) return "inf";
  if (x === -Infinity) return "-inf";
  return PyFloat.repr(x);
}

/**
 * How Python describes a value after `kombu.utils.json.loads` (see DESCRIBE_PY): the JS side
 * computes the same description of the value it meant (`dialect` says how Python received it).
 */
function describe(v: unknown, dialect: "5.2" | "5.3" = "5.3"): unknown {
  const markers = dialect === "5.3";
  if (v === null) return ["None"];
  if (typeof v === "boolean") return ["bool", v];
  if (typeof v === "bigint") return ["int", v.toString()];
  if (typeof v === "number") {
    if (Number.isInteger(v)) return ["int", BigInt(v).toString()];
    return ["float", pyFloatRepr(v)];
  }
  if (typeof v === "string") return ["str", v];
  if (v instanceof PyFloat) return ["float", pyFloatRepr(v.value)];
  if (Array.isArray(v)) return ["list", v.map((x) => describe(x, dialect))];
  if (v instanceof Date) {
    const iso = v instanceof PyDateTime ? v.isoformat : dateIsoformat(v);
    return markers ? ["datetime", iso] : ["str", iso.replace(/\+00:00$/, "Z")];
  }
  if (v instanceof PyDate) return markers ? ["date", v.isoformat] : ["str", `${v}T00:00:00`];
  if (v instanceof PyTime) return markers ? ["time", v.isoformat] : ["str", v.isoformat];
  if (v instanceof PyDecimal) return markers ? ["Decimal", v.text] : ["str", v.text];
  if (v instanceof PyUUID) return markers ? ["UUID", v.hex] : ["str", v.toString()];
  if (v instanceof Uint8Array) return ["bytes", hex(v)];
  if (typeof v === "object") {
    return ["dict", Object.entries(v).map(([k, x]) => [k, describe(x, dialect)])];
  }
  return ["?", String(v)];
}

const DESCRIBE_PY = `
import datetime as dt, decimal, uuid
def describe(v):
    if v is None: return ["None"]
    if isinstance(v, bool): return ["bool", v]
    if isinstance(v, int): return ["int", str(v)]
    if isinstance(v, float): return ["float", repr(v)]
    if isinstance(v, str): return ["str", v]
    if isinstance(v, list): return ["list", [describe(x) for x in v]]
    if isinstance(v, dict): return ["dict", [[k, describe(x)] for k, x in v.items()]]
    if isinstance(v, dt.datetime): return ["datetime", v.isoformat()]
    if isinstance(v, dt.date): return ["date", v.isoformat()]
    if isinstance(v, dt.time): return ["time", v.isoformat()]
    if isinstance(v, decimal.Decimal): return ["Decimal", str(v)]
    if isinstance(v, uuid.UUID): return ["UUID", v.hex]
    if isinstance(v, bytes): return ["bytes", v.hex()]
    return ["?", repr(v)]
`;

function runPython(python: string, script: string, args: string[] = [], input = ""): string {
  const run = spawnSync(python, ["-c", script, ...args], {
    input,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  if (run.status !== 0) {
    throw new Error(`${python} failed (${run.status}): ${run.stderr}`);
  }
  return run.stdout;
}

const PY52 = celeryPythons["5.2"];
const PY56 = celeryPythons["5.6"];
const hasPy52 = exists(PY52) && spawnSync(PY52, ["-c", "import kombu"]).status === 0;
const hasPy56 = exists(PY56) && spawnSync(PY56, ["-c", "import kombu"]).status === 0;

// ---------------------------------------------------------------------------------------------
// Cases shared by the live Python cross-checks: the same values built on both sides.

const CASES_PY = `
import sys, json, uuid, datetime as dt
from decimal import Decimal
from kombu.utils.json import dumps, loads
${DESCRIBE_PY}
old = sys.argv[1] == "5.2"
utc = dt.timezone.utc
def tz(**kw): return dt.timezone(dt.timedelta(**kw))
cases = {
  "ints": [0, 1, -1, 3, 2**53 - 1, 2**53, 2**53 + 1, -2**53 - 1, 2**63, 2**70, -2**64, 10**20, 10**40],
  "floats": [3.0, -0.0, 0.0, 0.1, 0.30000000000000004, 2.5, -2.5, 1e16, 1e15, 9999999999999998.0,
             1e-05, 1.5e-05, 0.0001, 0.00011, 1e22, 1e21, 123456789.125, 5e-324,
             1.7976931348623157e308, 2.2250738585072014e-308, 1e100, -1.5e-7, 1/3],
  "specials": [float("nan"), float("inf"), float("-inf")],
  "literals": [None, True, False, [], {}, [[]], {"a": {}}],
  "strings": ["", "plain", 'q"uote', "back\\\\slash", "/slash", "\\n\\r\\t\\b\\f", "\\x00\\x01\\x1f\\x7f\\x80",
              "\\u00e9", "h\\u00e9llo \\u2603", "\\U0001F600", "\\ud800", "\\udfff x", "\\u2028\\u2029",
              "\\uffff", "\\ufeff", "tab\\there"],
  "dict": {"a": 1, "b": [1, 2, {"c": None}], "": "empty", "\\u00e9": "k", "__proto__": 1,
           "with space": 2, "z": 3},
  "tuple": (1, (2, 3)),
  "dt_utc_ms": dt.datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=utc),
  "dt_utc": dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=utc),
  "dt_naive": dt.datetime(2024, 5, 6, 7, 8, 9, 123456),
  "dt_naive_plain": dt.datetime(2024, 5, 6, 7, 8, 9),
  "dt_plus": dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=tz(hours=5, minutes=30)),
  "dt_minus": dt.datetime(2024, 5, 6, 7, 8, 9, 1, tzinfo=tz(hours=-3)),
  "dt_odd": dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=tz(hours=19)),
  "dt_seconds_offset": dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=tz(hours=1, seconds=30)),
  "dt_year1": dt.datetime(1, 1, 1, tzinfo=utc),
  "dt_year9999": dt.datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=utc),
  "date": dt.date(2024, 1, 2),
  "date_year1": dt.date(1, 1, 1),
  "time": dt.time(1, 2, 3),
  "time_micro": dt.time(1, 2, 3, 4),
  "time_utc": dt.time(1, 2, 3, tzinfo=utc),
  "time_offset": dt.time(23, 59, 59, 999999, tzinfo=tz(hours=-5, minutes=-30)),
  "decimals": [Decimal("1.50"), Decimal("1e2"), Decimal("-0"), Decimal("NaN"), Decimal("0.0000001"),
               Decimal("-Infinity"), Decimal("123.456e3"), Decimal(" 1_000 "), Decimal(".5"),
               Decimal("0.000001"), Decimal("1E-6"), Decimal("-sNaN012"), Decimal("0e5"),
               Decimal(1.1)],
  "uuids": [uuid.UUID("12345678-1234-5678-1234-567812345678"),
            uuid.UUID("{12345678-1234-5678-1234-567812345678}"),
            uuid.UUID(int=7)],
  "meta": {"status": "SUCCESS", "result": [1, 2.5, None, True, "\\u00fcn\\u00ef"], "traceback": None,
           "children": [], "date_done": dt.datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=utc),
           "task_id": "12cf318c-9767-4c89-8d96-69b6d31d40bd"},
}
if not old:
    cases.update({
      "bytes_utf8": b"hi",
      "bytes_empty": b"",
      "bytes_unicode": "\\u00e9\\U0001F600".encode(),
      "bytes_bom": b"\\xef\\xbb\\xbfbom",
      "bytes_binary": b"\\xff\\x00",
      "bytes_all": bytes(range(256)),
      "bytes_b64_1": b"\\xff",
      "bytes_b64_2": b"\\xff\\xfe",
      "bytes_b64_3": b"\\xff\\xfe\\xfd",
      "bytes_surrogate": b"\\xed\\xa0\\x80",
    })
out = {}
for name, value in cases.items():
    text = dumps(value)
    out[name] = {"text": text, "loads": describe(loads(text))}
print(json.dumps(out))
`;

function jsCases(dialect: "5.2" | "5.3"): Record<string, unknown> {
  const cases: Record<string, unknown> = {
    ints: [
      0,
      1,
      -1,
      3,
      2 ** 53 - 1,
      2 ** 53,
      2n ** 53n + 1n,
      -(2n ** 53n) - 1n,
      2n ** 63n,
      2n ** 70n,
      -(2n ** 64n),
      1e20,
      10n ** 40n,
    ],
    floats: [
      new PyFloat(3),
      new PyFloat(-0),
      new PyFloat(0),
      0.1,
      0.1 + 0.2,
      2.5,
      -2.5,
      new PyFloat(1e16),
      new PyFloat(1e15),
      new PyFloat(9999999999999998),
      1e-5,
      1.5e-5,
      0.0001,
      0.00011,
      new PyFloat(1e22),
      new PyFloat(1e21),
      123456789.125,
      5e-324,
      new PyFloat(1.7976931348623157e308),
      2.2250738585072014e-308,
      new PyFloat(1e100),
      -1.5e-7,
      1 / 3,
    ],
    specials: [NaN, Infinity, -Infinity],
    literals: [null, true, false, [], {}, [[]], { a: {} }],
    strings: [
      "",
      "plain",
      'q"uote',
      "back\\slash",
      "/slash",
      "\n\r\t\b\f",
      "\x00\x01\x1f\x7f\x80",
      "\u00e9",
      "h\u00e9llo \u2603",
      "\u{1F600}",
      "\ud800",
      "\udfff x",
      "\u2028\u2029",
      "\uffff",
      "\ufeff",
      "tab\there",
    ],
    dict: JSON.parse(
      '{"a": 1, "b": [1, 2, {"c": null}], "": "empty", "\\u00e9": "k", "__proto__": 1, ' +
        '"with space": 2, "z": 3}',
    ),
    tuple: [1, [2, 3]],
    dt_utc_ms: new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 678)),
    dt_utc: new Date(Date.UTC(2024, 0, 2, 3, 4, 5)),
    dt_naive: new PyDateTime("2024-05-06T07:08:09.123456"),
    dt_naive_plain: new PyDateTime("2024-05-06 07:08:09"),
    dt_plus: new PyDateTime("2024-05-06T07:08:09+0530"),
    dt_minus: new PyDateTime("2024-05-06T07:08:09.000001-03"),
    dt_odd: new PyDateTime("2024-05-06T07:08:09+19:00"),
    dt_seconds_offset: new PyDateTime("2024-05-06T07:08:09+01:00:30"),
    dt_year1: PyDateTime.fromDate(new PyDateTime("0001-01-01T00:00:00Z")),
    dt_year9999: new Date(Date.UTC(9999, 11, 31, 23, 59, 59, 999)),
    date: new PyDate(2024, 1, 2),
    date_year1: new PyDate("00010101"),
    time: new PyTime("01:02:03"),
    time_micro: new PyTime("T010203.000004"),
    time_utc: new PyTime("01:02:03Z"),
    time_offset: new PyTime("23:59:59.999999-05:30"),
    decimals: [
      "1.50",
      "1e2",
      "-0",
      "NaN",
      "0.0000001",
      "-Infinity",
      "123.456e3",
      " 1_000 ",
      ".5",
      "0.000001",
      "1E-6",
      "-sNaN012",
      "0e5",
    ].map((d) => new PyDecimal(d)).concat(PyDecimal.fromFloat(1.1)),
    uuids: [
      new PyUUID("12345678123456781234567812345678"),
      new PyUUID("{urn:uuid:12345678-1234-5678-1234-567812345678}"),
      new PyUUID("00000000-0000-0000-0000-000000000007".toUpperCase()),
    ],
    meta: {
      status: "SUCCESS",
      result: [1, 2.5, null, true, "\u00fcn\u00ef"],
      traceback: null,
      children: [],
      date_done: new PyDateTime("2024-01-02T03:04:05.678901+00:00"),
      task_id: "12cf318c-9767-4c89-8d96-69b6d31d40bd",
    },
  };
  if (dialect === "5.3") {
    const enc = new TextEncoder();
    Object.assign(cases, {
      bytes_utf8: enc.encode("hi"),
      bytes_empty: new Uint8Array(0),
      bytes_unicode: enc.encode("\u00e9\u{1F600}"),
      bytes_bom: new Uint8Array([0xef, 0xbb, 0xbf, 0x62, 0x6f, 0x6d]),
      bytes_binary: new Uint8Array([0xff, 0x00]),
      bytes_all: Uint8Array.from({ length: 256 }, (_, i) => i),
      bytes_b64_1: new Uint8Array([0xff]),
      bytes_b64_2: new Uint8Array([0xff, 0xfe]),
      bytes_b64_3: new Uint8Array([0xff, 0xfe, 0xfd]),
      bytes_surrogate: new Uint8Array([0xed, 0xa0, 0x80]),
    });
  }
  return cases;
}

/** Every case as Python kombu writes it, and how Python's `loads` reads that text back. */
function pythonCases(
  python: string,
  dialect: "5.2" | "5.3",
): Record<string, { text: string; loads: unknown }> {
  return JSON.parse(runPython(python, CASES_PY, [dialect])) as Record<
    string,
    { text: string; loads: unknown }
  >;
}

// ---------------------------------------------------------------------------------------------
// Fixtures from real Celery

for (const dialect of ["5.2", "5.3"] as const) {
  test(`decodeKombuJson() reads every ${FIXTURES[dialect]} value and re-encodes it byte-identically`, () => {
    const fixture = loadFixture(dialect);
    let checked = 0;
    for (const [key, entry] of Object.entries(fixture.keys)) {
      if (entry.type !== "string") continue;
      for (const preserveFloats of [true, false]) {
        const value = decodeKombuJson(entry.value, { preserveFloats });
        assert.equal(encodeKombuJson(value, { dialect }), entry.value, key);
      }
      const bytes = new TextEncoder().encode(entry.value);
      assert.equal(
        encodeKombuJson(decodeKombuJson(bytes, { preserveFloats: true }), { dialect }),
        entry.value,
      );
      checked++;
    }
    assert.ok(checked >= 10);
    // The PROGRESS meta captured while running is stored in `ids`.
    const mid = fixture.ids.progress_mid as string;
    assert.equal(encodeKombuJson(decodeKombuJson(mid), { dialect }), mid);
  });
}

test("decodeKombuJson() turns kombu 5.3+ markers of the rich fixture into Python types", () => {
  const meta = decodeKombuJson(fixtureMeta("5.3", "rich")) as {
    result: Record<string, unknown>;
    date_done: unknown;
  };
  const { dt, d, dec, u, nested } = meta.result;
  assert.ok(dt instanceof PyDateTime);
  assert.equal(dt.isoformat, "2024-05-06T07:08:09.123456+00:00");
  assert.equal(dt.utcOffset, "+00:00");
  assert.equal(dt.microsecond, 123456);
  assert.equal(dt.getTime(), Date.UTC(2024, 4, 6, 7, 8, 9, 123));
  assert.ok(d instanceof PyDate);
  assert.equal(d.isoformat, "2024-05-06");
  assert.ok(dec instanceof PyDecimal);
  assert.equal(dec.text, "1.50");
  assert.ok(u instanceof PyUUID);
  assert.equal(u.toString(), "00000000-0000-0000-0000-000000000007");
  assert.deepEqual(nested, [1, 2.5, null, true, "\u00fcn\u00ef"]);
  // date_done stays the string Celery 5.6 wrote (UTC, microseconds), not a PyDateTime.
  assert.equal(typeof meta.date_done, "string");
  assert.match(String(meta.date_done), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/);
});

test("decodeKombuJson() leaves kombu 5.2's plain-string forms as strings", () => {
  const meta = decodeKombuJson(fixtureMeta("5.2", "rich")) as { result: Record<string, unknown> };
  assert.deepEqual(meta.result, {
    dt: "2024-05-06T07:08:09.123456Z",
    d: "2024-05-06T00:00:00",
    dec: "1.50",
    u: "00000000-0000-0000-0000-000000000007",
    nested: [1, 2.5, null, true, "\u00fcn\u00ef"],
  });
});

test("encodeKombuJson() writes the 5.2 rich fixture from Python-typed values", () => {
  const value = {
    dt: new PyDateTime("2024-05-06T07:08:09.123456+00:00"),
    d: new PyDate(2024, 5, 6),
    dec: new PyDecimal("1.50"),
    u: new PyUUID("00000000000000000000000000000007"),
    nested: [1, 2.5, null, true, "\u00fcn\u00ef"],
  };
  const expected = fixtureMeta("5.2", "rich").match(/"result": (\{.*?\]\})/)?.[1];
  assert.equal(encodeKombuJson(value, { dialect: "5.2" }), expected);
  const expected53 = fixtureMeta("5.3", "rich").match(/"result": (\{.*?\]\})/)?.[1];
  assert.equal(encodeKombuJson(value), expected53);
});

// ---------------------------------------------------------------------------------------------
// Encoder details

test("encodeKombuJson() uses Python's separators and keeps insertion order", () => {
  assert.equal(
    encodeKombuJson({ b: 1, a: [1, 2, { c: null }] }),
    '{"b": 1, "a": [1, 2, {"c": null}]}',
  );
  assert.equal(encodeKombuJson([]), "[]");
  assert.equal(encodeKombuJson({}), "{}");
  assert.equal(encodeKombuJson(Object.create(null)), "{}");
  assert.equal(encodeKombuJson([true, false, null]), "[true, false, null]");
});

test("encodeKombuJson() escapes strings as ensure_ascii does, with lowercase hex", () => {
  const cases: [string, string][] = [
    ["plain", '"plain"'],
    ['"\\/', '"\\"\\\\/"'],
    ["\n\r\t\b\f", '"\\n\\r\\t\\b\\f"'],
    ["\x00\x1f\x7f", '"\\u0000\\u001f\\u007f"'],
    ["\u00e9\u{1F600}", '"\\u00e9\\ud83d\\ude00"'],
    ["\ud800", '"\\ud800"'],
    ["\udc00x", '"\\udc00x"'],
    ["\u2028\uABCD", '"\\u2028\\uabcd"'],
  ];
  for (const [input, expected] of cases) assert.equal(encodeKombuJson(input), expected, input);
  assert.equal(encodeKombuJson({ "\u00e9": 1 }), '{"\\u00e9": 1}');
});

test("encodeKombuJson() writes NaN and Infinity bare, as Python's allow_nan does", () => {
  assert.equal(encodeKombuJson([NaN, Infinity, -Infinity]), "[NaN, Infinity, -Infinity]");
  assert.equal(encodeKombuJson(new PyFloat(NaN)), "NaN");
});

test("encodeKombuJson() writes integral numbers as ints and bigints in full", () => {
  assert.equal(
    encodeKombuJson([0, -0, 3, -7, 2 ** 53, 1e20]),
    "[0, 0, 3, -7, 9007199254740992, 100000000000000000000]",
  );
  assert.equal(encodeKombuJson(2n ** 100n), "1267650600228229401496703205376");
  assert.equal(encodeKombuJson(-(2n ** 64n)), "-18446744073709551616");
  assert.equal(encodeKombuJson(-(10n ** 4299n)), `-1${"0".repeat(4299)}`);
});

test("PyFloat.repr() formats floats as Python's repr", () => {
  const cases: [number, string][] = [
    [3, "3.0"],
    [-0, "-0.0"],
    [0, "0.0"],
    [0.1, "0.1"],
    [1e16, "1e+16"],
    [1.5e16, "1.5e+16"],
    [9999999999999998, "9999999999999998.0"],
    [1e15, "1000000000000000.0"],
    [1e-4, "0.0001"],
    [1e-5, "1e-05"],
    [1.5e-5, "1.5e-05"],
    [-1.5e-7, "-1.5e-07"],
    [1e22, "1e+22"],
    [1e100, "1e+100"],
    [5e-324, "5e-324"],
    [1.7976931348623157e308, "1.7976931348623157e+308"],
    [123456789.125, "123456789.125"],
    [0.30000000000000004, "0.30000000000000004"],
    [NaN, "NaN"],
    [Infinity, "Infinity"],
    [-Infinity, "-Infinity"],
  ];
  for (const [x, expected] of cases) {
    assert.equal(PyFloat.repr(x), expected, String(x));
    assert.equal(encodeKombuJson(new PyFloat(x)), expected);
  }
  assert.equal(encodeKombuJson([2.5, 1e-5, 1.5e-10]), "[2.5, 1e-05, 1.5e-10]");
  assert.equal(String(new PyFloat(2)), "2.0");
  assert.equal(new PyFloat(2).valueOf() * 3, 6);
  assert.equal(JSON.stringify(new PyFloat(2)), "2");
  assert.throws(() => new PyFloat("3" as unknown as number), TypeError);
});

test("encodeKombuJson() writes kombu 5.3 markers for Python types", () => {
  const cases: [unknown, string][] = [
    [
      new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 678)),
      '{"__type__": "datetime", "__value__": "2024-01-02T03:04:05.678000+00:00"}',
    ],
    [
      new Date(Date.UTC(2024, 0, 2)),
      '{"__type__": "datetime", "__value__": "2024-01-02T00:00:00+00:00"}',
    ],
    [
      new PyDateTime("2024-01-02T03:04:05.000001"),
      '{"__type__": "datetime", "__value__": "2024-01-02T03:04:05.000001"}',
    ],
    [
      new PyDateTime("2024-01-02T03:04:05Z"),
      '{"__type__": "datetime", "__value__": "2024-01-02T03:04:05+00:00"}',
    ],
    [new PyDate(2024, 1, 2), '{"__type__": "date", "__value__": "2024-01-02"}'],
    [new PyTime("01:02:03.000004"), '{"__type__": "time", "__value__": "01:02:03.000004"}'],
    [new PyDecimal("1.10"), '{"__type__": "decimal", "__value__": "1.10"}'],
    [
      new PyUUID("12345678-1234-5678-1234-567812345678"),
      '{"__type__": "uuid", "__value__": {"hex": "12345678123456781234567812345678"}}',
    ],
    [new TextEncoder().encode("hi"), '{"__type__": "bytes", "__value__": "hi"}'],
    [new TextEncoder().encode("\u00e9"), '{"__type__": "bytes", "__value__": "\\u00e9"}'],
    [new Uint8Array([0xff, 0x00]), '{"__type__": "base64", "__value__": "/wA="}'],
    [new Uint8Array([0xff]), '{"__type__": "base64", "__value__": "/w=="}'],
    [new Uint8Array([0xff, 1, 2]), '{"__type__": "base64", "__value__": "/wEC"}'],
  ];
  for (const [value, expected] of cases) {
    assert.equal(encodeKombuJson(value), expected);
    assert.equal(encodeKombuJson(value, { dialect: "5.3" }), expected);
  }
});

test("encodeKombuJson() writes kombu 5.2's string forms with dialect 5.2", () => {
  const cases: [unknown, string][] = [
    [new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 678)), '"2024-01-02T03:04:05.678000Z"'],
    [new PyDateTime("2024-01-02T03:04:05+00:00"), '"2024-01-02T03:04:05Z"'],
    [new PyDateTime("2024-01-02T03:04:05"), '"2024-01-02T03:04:05"'],
    [new PyDateTime("2024-01-02T03:04:05-05:00"), '"2024-01-02T03:04:05-05:00"'],
    [new PyDate(2024, 1, 2), '"2024-01-02T00:00:00"'],
    [new PyTime("01:02:03+00:00"), '"01:02:03+00:00"'],
    [new PyDecimal("1.10"), '"1.10"'],
    [new PyUUID("12345678123456781234567812345678"), '"12345678-1234-5678-1234-567812345678"'],
  ];
  for (const [value, expected] of cases) {
    assert.equal(encodeKombuJson(value, { dialect: "5.2" }), expected);
  }
  throwsWith(
    () => encodeKombuJson({ result: new Uint8Array(1) }, { dialect: "5.2" }),
    EncodeError,
    /bytes.*5\.2.*at result/,
  );
  assert.throws(() => encodeKombuJson(1, { dialect: "5.4" as "5.3" }), RangeError);
});

test("encodeKombuJson() refuses values Python could not have, naming where they are", () => {
  class Point {
    x = 1;
  }
  const cases: [unknown, RegExp][] = [
    [{ result: { foo: [1, 2, undefined] } }, /undefined.* at result\.foo\[2\]$/],
    [undefined, /undefined.* at the top level$/],
    [{ a: () => 1 }, /a function at a$/],
    [[Symbol("s")], /a symbol at \[0\]$/],
    [{ "a b": new Map() }, /a Map at \["a b"\]$/],
    [{ s: new Set([1]) }, /a Set at s$/],
    [{ p: new Point() }, /a Point at p$/],
    [{ j: { toJSON: () => 1 } }, /toJSON.* at j\.toJSON$|a function at j\.toJSON$/],
    [{ u: new URL("http://x/") }, /a URL with a toJSON\(\) method/],
    [{ n: new Number(1) }, /a Number at n$/],
    [{ f: new Float64Array(1) }, /a Float64Array at f$/],
    [{ d: new Date(NaN) }, /Invalid Date.* at d$/],
    [{ d: new Date(Date.UTC(10000, 0, 1)) }, /Year 10000.* at d$/],
    [[{}, { e: [new Error("x")] }], /an Error at \[1\]\.e\[0\]$/],
    [{ big: 10n ** 4300n }, /more than 4300 digits.* at big$/],
    [{ b: new ArrayBuffer(1) }, /an ArrayBuffer at b$/],
    [
      JSON.parse("[".repeat(1001) + "]".repeat(1001)),
      /nested more than 1000 deep .* at (\[0\]){26}\[0…0\](\[0\]){26}$/,
    ],
  ];
  for (const [value, pattern] of cases) {
    throwsWith(() => encodeKombuJson(value), EncodeError, pattern);
  }
});

test("encodeKombuJson() refuses circular references but allows shared ones", () => {
  const a: Record<string, unknown> = { x: 1 };
  a.self = { inner: [a] };
  throwsWith(
    () => encodeKombuJson({ a }),
    EncodeError,
    /Circular reference.* at a\.self\.inner\[0\]$/,
  );
  const list: unknown[] = [];
  list.push(list);
  throwsWith(() => encodeKombuJson(list), EncodeError, /Circular reference.* at \[0\]$/);
  const shared = { n: 1 };
  assert.equal(encodeKombuJson([shared, shared]), '[{"n": 1}, {"n": 1}]');
});

test("encodeKombuJson() writes marker-shaped user objects as they are (custom kombu types)", () => {
  assert.equal(
    encodeKombuJson({ __type__: "money", __value__: "1.00 EUR" }),
    '{"__type__": "money", "__value__": "1.00 EUR"}',
  );
});

// ---------------------------------------------------------------------------------------------
// Decoder details

test("decodeKombuJson() reads NaN, Infinity and -Infinity", () => {
  const value = decodeKombuJson('{"a": [NaN, Infinity, -Infinity, 1.5]}') as { a: number[] };
  assert.ok(Number.isNaN(value.a[0]));
  assert.deepEqual(value.a.slice(1), [Infinity, -Infinity, 1.5]);
  assert.ok(Number.isNaN(decodeKombuJson("NaN")));
  assert.equal(decodeKombuJson(" -Infinity "), -Infinity);
});

test("decodeKombuJson() reads integers beyond 2^53 exactly as bigint", () => {
  const text =
    "[9007199254740991, 9007199254740992, -9007199254740992, 123456789012345678901234567890, " +
    "1234567890123456, 1e400, 12345678901234567.5, -0, -0.0]";
  const value = decodeKombuJson(text) as unknown[];
  assert.deepEqual(value.slice(0, 6), [
    9007199254740991,
    9007199254740992n,
    -9007199254740992n,
    123456789012345678901234567890n,
    1234567890123456,
    Infinity,
  ]);
  assert.equal(value[6], 12345678901234568);
  assert.ok(Object.is(value[7], 0), "the int -0 is 0");
  assert.ok(Object.is(value[8], -0), "the float -0.0 keeps its sign");
  assert.equal(decodeKombuJson("18446744073709551616"), 18446744073709551616n);
  assert.ok(Object.is(decodeKombuJson("-0"), 0));
  assert.equal(
    encodeKombuJson(decodeKombuJson(text)),
    "[9007199254740991, 9007199254740992, -9007199254740992, 123456789012345678901234567890, " +
      "1234567890123456, Infinity, 12345678901234568, 0, 0]",
  );
});

test("decodeKombuJson() with preserveFloats keeps integral floats as PyFloat", () => {
  const text = "[3.0, 1e+16, -0.0, 2.5, 3, 1E2, 1.5e1, 0.0]";
  const value = decodeKombuJson(text, { preserveFloats: true }) as unknown[];
  assert.deepEqual(value, [
    new PyFloat(3),
    new PyFloat(1e16),
    new PyFloat(-0),
    2.5,
    3,
    new PyFloat(100),
    new PyFloat(15),
    new PyFloat(0),
  ]);
  assert.equal(encodeKombuJson(value), "[3.0, 1e+16, -0.0, 2.5, 3, 100.0, 15.0, 0.0]");
  assert.deepEqual(decodeKombuJson(text), [3, 1e16, -0, 2.5, 3, 100, 15, 0]);
});

test("decodeKombuJson() reads every kombu 5.3 marker", () => {
  const text = '[{"__type__": "datetime", "__value__": "2024-01-02T03:04:05.678901-05:30"}, ' +
    '{"__type__": "date", "__value__": "2024-01-02"}, ' +
    '{"__type__": "date", "__value__": "2024-01-02T03:04:05"}, ' +
    '{"__type__": "time", "__value__": "01:02:03.000004"}, ' +
    '{"__type__": "decimal", "__value__": "1.10"}, ' +
    '{"__type__": "uuid", "__value__": {"hex": "12345678-1234-5678-1234-567812345678"}}, ' +
    '{"__type__": "uuid", "__value__": {"hex": "12345678123456781234567812345678", "version": 4}}, ' +
    '{"__type__": "uuid", "__value__": {"hex": "12345678123456781234567812345678", "version": null}}, ' +
    '{"__type__": "bytes", "__value__": "h\\u00e9"}, ' +
    '{"__type__": "base64", "__value__": "/wA="}, ' +
    '{"__value__": "2024-01-02", "__type__": "date"}, ' +
    '{"__type__": "date", "__value__": "2024-01-02", "extra": 1}]';
  for (const preserveFloats of [false, true]) {
    const v = decodeKombuJson(text, { preserveFloats }) as unknown[];
    const dt = v[0] as PyDateTime;
    assert.ok(dt instanceof PyDateTime);
    assert.equal(dt.isoformat, "2024-01-02T03:04:05.678901-05:30");
    assert.equal(dt.utcOffset, "-05:30");
    assert.equal(dt.toISOString(), "2024-01-02T08:34:05.678Z");
    assert.deepEqual([v[1], v[2]], [new PyDate(2024, 1, 2), new PyDate(2024, 1, 2)]);
    assert.equal((v[3] as PyTime).isoformat, "01:02:03.000004");
    assert.equal((v[4] as PyDecimal).text, "1.10");
    assert.equal((v[5] as PyUUID).hex, "12345678123456781234567812345678");
    assert.equal((v[6] as PyUUID).toString(), "12345678-1234-4678-9234-567812345678");
    assert.equal((v[6] as PyUUID).version, 4);
    assert.equal((v[7] as PyUUID).hex, "12345678123456781234567812345678");
    assert.deepEqual(v[8], new Uint8Array([0x68, 0xc3, 0xa9]));
    assert.deepEqual(v[9], new Uint8Array([0xff, 0x00]));
    assert.deepEqual(v[10], new PyDate(2024, 1, 2));
    assert.deepEqual(v[11], { __type__: "date", __value__: "2024-01-02", extra: 1 });
  }
});

test("decodeKombuJson() decodes base64 markers as Python's lenient b64decode does", () => {
  const b64 = (s: string) =>
    decodeKombuJson(`{"__type__": "base64", "__value__": ${JSON.stringify(s)}}`) as Uint8Array;
  assert.deepEqual(b64("YQ=="), new Uint8Array([0x61]));
  assert.deepEqual(b64("Y Q = ="), new Uint8Array([0x61]));
  assert.deepEqual(b64("YQ==YQ=="), new Uint8Array([0x61]));
  assert.deepEqual(b64("YWJj"), new Uint8Array([0x61, 0x62, 0x63]));
  assert.deepEqual(b64(""), new Uint8Array(0));
  throwsWith(() => b64("YQ"), DecodeError, /padding/);
  throwsWith(() => b64("Y"), DecodeError, /1 more than a multiple of 4/);
});

test("decodeKombuJson() converts markers bottom-up, nested in any container", () => {
  const text = '{"a": {"b": [{"__type__": "decimal", "__value__": "2"}]}, ' +
    '"c": {"__type__": "bytes", "__value__": "x"}}';
  assert.deepEqual(decodeKombuJson(text), {
    a: { b: [new PyDecimal("2")] },
    c: new Uint8Array([0x78]),
  });
  assert.deepEqual(decodeKombuJson('{"__type__": "decimal", "__value__": 5}'), new PyDecimal("5"));
  assert.deepEqual(
    decodeKombuJson('{"__type__": "decimal", "__value__": 0.5}'),
    new PyDecimal("0.5"),
  );
});

test("decodeKombuJson() fails on unknown or malformed markers, as kombu does", () => {
  const cases: [string, RegExp][] = [
    ['{"__type__": "foo", "__value__": 1}', /"foo".*Unsupported type/],
    ['[{"__type__": 3, "__value__": 1}, NaN]', /number.*Unsupported type/],
    ['{"__type__": "datetime", "__value__": "yesterday"}', /"datetime".*Invalid isoformat/],
    ['{"__type__": "datetime", "__value__": 5}', /"datetime".*expected a string/],
    ['{"__type__": "date", "__value__": "2024-02-30"}', /"date".*Day 30/],
    ['{"__type__": "time", "__value__": "25:00"}', /"time".*Hour 25/],
    ['{"__type__": "decimal", "__value__": "1.2.3"}', /"decimal".*Invalid decimal/],
    ['{"__type__": "uuid", "__value__": "1234"}', /"uuid".*expected an object/],
    ['{"__type__": "uuid", "__value__": {"hex": "xyz"}}', /"uuid".*Badly formed/],
    [
      '{"__type__": "uuid", "__value__": {"hex": "' + "0".repeat(32) + '", "bytes": 1}}',
      /unexpected keyword/,
    ],
    [
      '{"__type__": "uuid", "__value__": {"hex": "' + "0".repeat(32) + '", "version": 9}}',
      /illegal version/,
    ],
    ['{"__type__": "bytes", "__value__": "\\ud800"}', /"bytes".*lone surrogate/],
    ['{"__type__": "base64", "__value__": "Y"}', /"base64"/],
  ];
  for (const [text, pattern] of cases) {
    throwsWith(() => decodeKombuJson(text), DecodeError, pattern);
    throwsWith(() => decodeKombuJson(text, { preserveFloats: true }), DecodeError, pattern);
  }
});

test("decodeKombuJson() reports corrupt JSON with position and a short reason", () => {
  const cases: [string, RegExp][] = [
    ["", /Expecting value at line 1 column 1 \(char 0\)/],
    ["   ", /Expecting value .*char 3/],
    ['{"a": 1', /Expecting ',' delimiter .*char 7/],
    ['{"a" 1}', /Expecting ':' delimiter .*char 5/],
    ["{a: 1}", /property name .*char 1/],
    ["[1, 2,]", /Expecting value .*char 6/],
    ["[1 2]", /Expecting ',' delimiter .*char 3/],
    ['{"a": 1} x', /Extra data .*char 9/],
    ["01", /Extra data .*char 1/],
    ["1.", /Extra data .*char 1/],
    ["-", /Expecting value .*char 0/],
    ["-NaN", /Expecting value .*char 0/],
    ["nan", /Expecting value/],
    ["[tru]", /Expecting value .*char 1/],
    ['"abc', /Unterminated string .*char 0/],
    ['"a\tb"', /Invalid control character .*char 2/],
    ['"\\x"', /Invalid \\escape .*char 1/],
    ['"\\u12"', /Invalid \\uXXXX escape/],
    ["\ufeff{}", /Expecting value .*char 0/],
    ['{\n  "a": [1,\n  ]\n}', /Expecting value at line 3 column 3 \(char 15\)/],
    ["1".repeat(4301), /4301 digits exceeds Python's limit of 4300/],
    ["[".repeat(100000), /nested too deeply|Expecting value/],
  ];
  for (const [text, pattern] of cases) {
    const error = throwsWith(() => decodeKombuJson(text), DecodeError, pattern);
    assert.ok(error.message.length < 200, `short message for ${text.slice(0, 20)}`);
  }
  // Long payloads are never dumped into the message.
  const big = `{"secret": "${"s".repeat(10000)}", "x": ]}`;
  const error = throwsWith(() => decodeKombuJson(big), DecodeError, /Expecting value/);
  assert.ok(error.message.length < 200);
  assert.equal(decodeKombuJson("1".repeat(4300)), BigInt("1".repeat(4300)));
});

test("decodeKombuJson() decodes UTF-8 bytes strictly, keeping a BOM as Python does", () => {
  const enc = new TextEncoder();
  assert.deepEqual(decodeKombuJson(enc.encode('{"a": "\u00e9\u{1F600}"}')), {
    a: "\u00e9\u{1F600}",
  });
  assert.deepEqual(decodeKombuJson(enc.encode('"\ufffd"')), "\ufffd");
  throwsWith(
    () => decodeKombuJson(new Uint8Array([0x22, 0xff, 0x22])),
    DecodeError,
    /not valid UTF-8/,
  );
  throwsWith(
    () => decodeKombuJson(new Uint8Array([0x22, 0xed, 0xa0, 0x80, 0x22])),
    DecodeError,
    /UTF-8/,
  );
  throwsWith(
    () => decodeKombuJson(new Uint8Array([0xef, 0xbb, 0xbf, 0x31])),
    DecodeError,
    /Expecting value/,
  );
  assert.throws(() => decodeKombuJson(42 as unknown as string), TypeError);
});

test("decodeKombuJson() accepts what Python's json.loads accepts", () => {
  assert.deepEqual(decodeKombuJson(' \t\n\r{"a" : [ 1 , "\\/\\u00e9\\ud83d\\ude00" ] } \n'), {
    a: [1, "/\u00e9\u{1F600}"],
  });
  assert.equal(decodeKombuJson('"\\ud800"'), "\ud800");
  assert.deepEqual(decodeKombuJson('{"a": 1, "b": 2, "a": 3}'), { a: 3, b: 2 });
  assert.deepEqual(decodeKombuJson('{"a": 1, "b": 2, "a": 3, "c": NaN}'), { a: 3, b: 2, c: NaN });
  assert.equal(decodeKombuJson("1E400"), Infinity);
  assert.equal(decodeKombuJson("-1.5e-3"), -0.0015);
});

test("decodeKombuJson() never lets a __proto__ key reach a prototype", () => {
  for (
    const text of ['{"__proto__": {"polluted": 1}}', '{"__proto__": {"polluted": 1}, "n": NaN}']
  ) {
    for (const preserveFloats of [false, true]) {
      const value = decodeKombuJson(text, { preserveFloats }) as Record<string, unknown>;
      assert.equal(Object.getPrototypeOf(value), Object.prototype);
      assert.deepEqual(Object.keys(value)[0], "__proto__");
      assert.deepEqual(Object.getOwnPropertyDescriptor(value, "__proto__")?.value, { polluted: 1 });
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
      assert.equal((value as Record<string, unknown>).polluted, undefined);
    }
  }
  // A converted marker under a __proto__ key is stored as an own property too.
  const v = decodeKombuJson('{"__proto__": {"__type__": "decimal", "__value__": "1"}}') as object;
  assert.ok(Object.getOwnPropertyDescriptor(v, "__proto__")?.value instanceof PyDecimal);
  assert.equal(Object.getPrototypeOf(v), Object.prototype);
  assert.equal(encodeKombuJson(v), '{"__proto__": {"__type__": "decimal", "__value__": "1"}}');
});

test("decodeKombuJson() gives the same values on its fast and exact paths", () => {
  const docs = [
    fixtureMeta("5.3", "rich"),
    fixtureMeta("5.3", "add"),
    fixtureMeta("5.3", "boom"),
    fixtureMeta("5.2", "rich"),
    '{"a": "\\u005f_type__", "__type__": "x"}',
    '{"\\u005f_type__": "decimal", "__value__": "3"}',
    '[1.5, -2, "x\\ny", {"k": [true, false, null]}, 0.25]',
  ];
  for (const doc of docs) {
    // preserveFloats forces the exact parser; these docs have no integral floats.
    assert.deepEqual(decodeKombuJson(doc), decodeKombuJson(doc, { preserveFloats: true }), doc);
  }
  assert.deepEqual(decodeKombuJson(docs[5] as string), new PyDecimal("3"));
});

// ---------------------------------------------------------------------------------------------
// The value classes

test("PyDateTime keeps Python's isoformat, offset and microseconds", () => {
  const cases: [string, string, string | null, number][] = [
    [
      "2024-01-02T03:04:05.678901+00:00",
      "2024-01-02T03:04:05.678901+00:00",
      "+00:00",
      Date.UTC(2024, 0, 2, 3, 4, 5, 678),
    ],
    ["2024-01-02T03:04:05Z", "2024-01-02T03:04:05+00:00", "+00:00", Date.UTC(2024, 0, 2, 3, 4, 5)],
    [
      "2024-01-02T03:04:05-00:00",
      "2024-01-02T03:04:05+00:00",
      "+00:00",
      Date.UTC(2024, 0, 2, 3, 4, 5),
    ],
    [
      "2024-01-02 03:04:05.1",
      "2024-01-02T03:04:05.100000",
      null,
      Date.UTC(2024, 0, 2, 3, 4, 5, 100),
    ],
    [
      "2024-01-02T03:04:05.1234567",
      "2024-01-02T03:04:05.123456",
      null,
      Date.UTC(2024, 0, 2, 3, 4, 5, 123),
    ],
    [
      "2024-01-02T03:04:05,5+0530",
      "2024-01-02T03:04:05.500000+05:30",
      "+05:30",
      Date.UTC(2024, 0, 1, 21, 34, 5, 500),
    ],
    ["20240102T0304", "2024-01-02T03:04:00", null, Date.UTC(2024, 0, 2, 3, 4)],
    ["2024-01-02", "2024-01-02T00:00:00", null, Date.UTC(2024, 0, 2)],
    ["2024-01-02T03", "2024-01-02T03:00:00", null, Date.UTC(2024, 0, 2, 3)],
    [
      "2024-01-02T03:04:05+19:00",
      "2024-01-02T03:04:05+19:00",
      "+19:00",
      Date.UTC(2024, 0, 1, 8, 4, 5),
    ],
    [
      "2024-01-02T03:04:05+01:02:03.5",
      "2024-01-02T03:04:05+01:02:03.500000",
      "+01:02:03.500000",
      Date.UTC(2024, 0, 2, 2, 2, 1, 500),
    ],
    ["0001-01-01T00:00:00+01:00", "0001-01-01T00:00:00+01:00", "+01:00", -62135600400000],
    ["9999-12-31T23:59:59.999999", "9999-12-31T23:59:59.999999", null, 253402300799999],
  ];
  for (const [input, iso, offset, time] of cases) {
    const dt = new PyDateTime(input);
    assert.equal(dt.isoformat, iso, input);
    assert.equal(dt.utcOffset, offset, input);
    assert.equal(dt.getTime(), time, input);
    assert.equal(String(dt), iso);
    assert.equal(JSON.stringify(dt), JSON.stringify(iso));
  }
  const dt = new PyDateTime("2024-05-06T07:08:09.123456+02:00");
  assert.deepEqual(
    [dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second, dt.microsecond],
    [2024, 5, 6, 7, 8, 9, 123456],
  );
  assert.ok(dt instanceof Date);
  assert.throws(() => dt.setTime(0), TypeError);
  assert.throws(() => dt.setUTCFullYear(2000), TypeError);
  assert.equal(dt.getTime(), Date.UTC(2024, 4, 6, 5, 8, 9, 123));
  assert.throws(() => {
    (dt as { microsecond: number }).microsecond = 1;
  }, TypeError);
  for (
    const bad of [
      "2024-01-02T03:04:05z",
      "2024-01-0203:04",
      "yesterday",
      "2024-13-01",
      "2024-01-02T24:00",
      "2024-01-02T03:04:05+24:00",
      "0000-01-01",
    ]
  ) {
    assert.throws(
      () => new PyDateTime(bad),
      (e: unknown) => e instanceof TypeError || e instanceof RangeError,
      bad,
    );
  }
  assert.equal(PyDateTime.fromDate(new Date(0)).isoformat, "1970-01-01T00:00:00+00:00");
  assert.equal(PyDateTime.fromDate(new Date(1)).isoformat, "1970-01-01T00:00:00.001000+00:00");
  assert.throws(() => PyDateTime.fromDate(new Date(NaN)), RangeError);
});

test("PyDate, PyTime, PyDecimal and PyUUID validate and print like Python", () => {
  const d = new PyDate(2024, 2, 29);
  assert.equal(d.isoformat, "2024-02-29");
  assert.equal(d.toDate().toISOString(), "2024-02-29T00:00:00.000Z");
  assert.equal(JSON.stringify({ d }), '{"d":"2024-02-29"}');
  assert.throws(() => new PyDate(2023, 2, 29), RangeError);
  assert.throws(() => new PyDate(0, 1, 1), RangeError);
  assert.throws(() => new PyDate("2024-1-2"), TypeError);
  assert.throws(() => new PyDate(2024, 1), TypeError);

  assert.equal(new PyTime("01:02").isoformat, "01:02:00");
  assert.equal(new PyTime("010203").isoformat, "01:02:03");
  assert.equal(new PyTime("01:02:03.5+01:00").isoformat, "01:02:03.500000+01:00");
  assert.equal(new PyTime("01:02:03.5+01:00").utcOffset, "+01:00");
  assert.throws(() => new PyTime("24:00"), RangeError);
  assert.throws(() => new PyTime("1:02"), TypeError);

  const decimals: [string, string][] = [
    ["1.50", "1.50"],
    [" 1.5 ", "1.5"],
    ["1_000", "1000"],
    ["1e2", "1E+2"],
    [".5", "0.5"],
    ["5.", "5"],
    ["-0", "-0"],
    ["0.0000001", "1E-7"],
    ["0.000001", "0.000001"],
    ["0.000000", "0.000000"],
    ["0.0000000", "0E-7"],
    ["NaN012", "NaN12"],
    ["-sNaN", "-sNaN"],
    ["inf", "Infinity"],
    ["-Infinity", "-Infinity"],
    ["123.456e3", "123456"],
    ["0e5", "0E+5"],
    ["00012.3400", "12.3400"],
  ];
  for (const [input, text] of decimals) assert.equal(new PyDecimal(input).text, text, input);
  assert.equal(new PyDecimal(10n ** 30n).text, "1000000000000000000000000000000");
  assert.equal(
    PyDecimal.fromFloat(1.1).text,
    "1.100000000000000088817841970012523233890533447265625",
  );
  assert.equal(PyDecimal.fromFloat(-0).text, "-0");
  assert.equal(PyDecimal.fromFloat(1e20).text, "100000000000000000000");
  assert.equal(new PyDecimal("1.50").toNumber(), 1.5);
  assert.ok(Number.isNaN(new PyDecimal("sNaN").toNumber()));
  assert.equal(JSON.stringify(new PyDecimal("1.50")), '"1.50"');
  assert.throws(() => new PyDecimal("1.2.3"), TypeError);
  assert.throws(() => new PyDecimal("e5"), TypeError);

  const u = new PyUUID(
    "{URN:UUID:12345678-1234-5678-1234-567812345678}".replace("URN:UUID:", "urn:uuid:"),
  );
  assert.equal(u.hex, "12345678123456781234567812345678");
  assert.equal(`${u}`, "12345678-1234-5678-1234-567812345678");
  assert.equal(JSON.stringify(u), '"12345678-1234-5678-1234-567812345678"');
  assert.equal(u.version, null);
  assert.equal(new PyUUID(crypto.randomUUID()).version, 4);
  assert.equal(
    new PyUUID("ABCDEF00ABCDEF00ABCDEF00ABCDEF00").hex,
    "abcdef00abcdef00abcdef00abcdef00",
  );
  for (const bad of ["", "1234", "g".repeat(32), "1".repeat(33)]) {
    assert.throws(() => new PyUUID(bad), TypeError, bad);
  }
});

// ---------------------------------------------------------------------------------------------
// Live cross-checks against real kombu

for (
  const [dialect, python, has, version] of [
    ["5.3", PY56, hasPy56, "kombu 5.6.2"],
    ["5.2", PY52, hasPy52, "kombu 5.2.4"],
  ] as const
) {
  test(
    `encodeKombuJson() with dialect ${dialect} writes the bytes ${version} writes`,
    { skip: requirement(has, `${python} with ${version}`) },
    () => {
      const expected = pythonCases(python, dialect);
      const ours = jsCases(dialect);
      assert.deepEqual(Object.keys(ours).sort(), Object.keys(expected).sort());
      for (const [name, value] of Object.entries(ours)) {
        const py = expected[name];
        assert.ok(py);
        assert.equal(encodeKombuJson(value, { dialect }), py.text, name);
        // What Python's loads made of its own bytes is what we meant.
        assert.deepEqual(describe(value, dialect), py.loads, name);
        // And our decoder reads Python's bytes back to the same bytes.
        assert.equal(
          encodeKombuJson(decodeKombuJson(py.text, { preserveFloats: true }), { dialect }),
          py.text,
          name,
        );
      }
    },
  );

  test(
    `decodeKombuJson() reads ${version}'s bytes as Python's loads does`,
    { skip: requirement(has, `${python} with ${version}`) },
    () => {
      for (const [name, py] of Object.entries(pythonCases(python, dialect))) {
        const decoded = decodeKombuJson(py.text, { preserveFloats: true });
        // 5.2's loads has no object hook, but 5.2 bytes hold no markers either.
        assert.deepEqual(describe(decoded), py.loads, name);
      }
    },
  );

  test(
    `${version} loads what encodeKombuJson() with dialect ${dialect} writes`,
    { skip: requirement(has, `${python} with ${version}`) },
    () => {
      const ours = jsCases(dialect);
      const names = Object.keys(ours);
      const document = encodeKombuJson(names.map((n) => ours[n]), { dialect });
      const script =
        `import sys, json\nfrom kombu.utils.json import loads, dumps\n${DESCRIBE_PY}\n` +
        `v = loads(sys.stdin.buffer.read())\nprint(json.dumps([describe(v), dumps(v)]))`;
      const [described, redumped] = JSON.parse(runPython(python, script, [], document)) as [
        unknown,
        string,
      ];
      assert.deepEqual(
        described,
        ["list", names.map((n) => describe(ours[n], dialect))],
      );
      assert.equal(redumped, document);
    },
  );

  test(
    `encodeKombuJson() formats random floats as ${version}'s Python does`,
    { skip: requirement(has, `${python} with ${version}`) },
    () => {
      // Deterministic pseudo-random doubles across the whole exponent range, plus decimal-ish ones.
      let seed = 0x2545f491;
      const next = () => {
        seed ^= seed << 13;
        seed ^= seed >>> 17;
        seed ^= seed << 5;
        return seed >>> 0;
      };
      const view = new DataView(new ArrayBuffer(8));
      const floats: unknown[] = [];
      while (floats.length < 3000) {
        view.setUint32(0, next());
        view.setUint32(4, next());
        const x = view.getFloat64(0);
        if (Number.isFinite(x)) floats.push(new PyFloat(x));
        floats.push(new PyFloat((next() % 2000000) / 10 ** (next() % 12)));
        floats.push(new PyFloat((next() - 2 ** 31) * 10 ** ((next() % 40) - 20)));
      }
      const document = encodeKombuJson(floats);
      const script = "import sys\nfrom kombu.utils.json import loads, dumps\n" +
        "sys.stdout.write(dumps(loads(sys.stdin.read())))";
      assert.equal(runPython(python, script, [], document), document);
      assert.equal(encodeKombuJson(decodeKombuJson(document, { preserveFloats: true })), document);
    },
  );
}

// Inputs no Python writer produces but a reader may meet: both sides must agree on the value, or
// both must refuse.
const ODD_INPUTS = [
  '{"__type__": "datetime", "__value__": "2024-01-02T03:04:05Z"}',
  '{"__type__": "datetime", "__value__": "2024-01-02 03:04:05.1234567-0000"}',
  '{"__type__": "datetime", "__value__": "20240102T030405"}',
  '{"__type__": "datetime", "__value__": "2024-01-02T03:04:05,5+05"}',
  '{"__type__": "datetime", "__value__": "2024-01-02T03:04:05+01:02:03.5"}',
  '{"__type__": "datetime", "__value__": "2024-01-02"}',
  '{"__type__": "datetime", "__value__": "2024-02-30T00:00:00"}',
  '{"__type__": "datetime", "__value__": "2024-01-02T03:04:05z"}',
  '{"__type__": "date", "__value__": "2024-01-02T23:59:59+05:00"}',
  '{"__type__": "time", "__value__": "T0102"}',
  '{"__type__": "time", "__value__": "01:02:03.5Z"}',
  '{"__type__": "decimal", "__value__": " 1_000.50 "}',
  '{"__type__": "decimal", "__value__": "-sNaN0"}',
  '{"__type__": "decimal", "__value__": 7}',
  '{"__type__": "decimal", "__value__": 2.5}',
  '{"__type__": "decimal", "__value__": "x"}',
  '{"__type__": "uuid", "__value__": {"hex": "12345678123456781234567812345678", "version": 4}}',
  '{"__type__": "uuid", "__value__": {"hex": "1234567812345678f234567812345678", "version": 1}}',
  '{"__type__": "uuid", "__value__": {"hex": "urn:uuid:{12345678-1234-5678-1234-567812345678}"}}',
  '{"__type__": "uuid", "__value__": {"int": 255}}',
  '{"__type__": "uuid", "__value__": {"hex": "12345678123456781234567812345678", "x": 1}}',
  '{"__type__": "base64", "__value__": "Y Q = = junk"}',
  '{"__type__": "base64", "__value__": "YW=I="}',
  '{"__type__": "base64", "__value__": "YQ"}',
  '{"__type__": "bytes", "__value__": "\\u00e9\\ud83d\\ude00"}',
  '{"__type__": "bytes", "__value__": "\\udc00"}',
  '{"__type__": "nope", "__value__": 1}',
  '{"__type__": "date", "__value__": "2024-01-02", "x": 1}',
  '{"__type__": "date", "__type__": "time", "__value__": "01:02"}',
  '[{"__type__": "decimal", "__value__": {"__type__": "bytes", "__value__": "1"}}]',
  '{"a": 1, "b": 2, "a": 3}',
  "[-0, -0.0, 0.0, 1E2, 1e400, -1e400, 123456789012345678901234567890]",
  "[NaN, Infinity, -Infinity]",
  "[1.]",
  "[.5]",
  "[+1]",
  "[01]",
  '"\\ud800\\udc00\\ud800"',
  '"a\\u0000b"',
  '"\u007f\u0080"',
  " \t\r\n[ ] ",
  "[1,]",
  '{"a":1,}',
  "[true, false, null]",
  "[True]",
];

test(
  "decodeKombuJson() agrees with kombu 5.6.2's loads on odd inputs",
  { skip: requirement(hasPy56, `${PY56} with kombu 5.6.2`) },
  () => {
    const script = `import sys, json\nfrom kombu.utils.json import loads\n${DESCRIBE_PY}\n` +
      "out = []\n" +
      "for text in json.loads(sys.stdin.read()):\n" +
      "    try: out.append(describe(loads(text)))\n" +
      "    except Exception as e: out.append(['error', type(e).__name__, str(e)])\n" +
      "print(json.dumps(out))";
    const python = JSON.parse(runPython(PY56, script, [], JSON.stringify(ODD_INPUTS))) as unknown[];
    ODD_INPUTS.forEach((text, i) => {
      const expected = python[i] as unknown[];
      let ours: unknown;
      try {
        ours = describe(decodeKombuJson(text, { preserveFloats: true }));
      } catch (error) {
        assert.ok(error instanceof DecodeError, `${text}: ${error}`);
        ours = "error";
      }
      if (expected[0] === "error") {
        assert.equal(ours, "error", `${text}: Python refused it (${expected.slice(1).join(": ")})`);
      } else {
        assert.deepEqual(ours, expected, text);
      }
    });
  },
);
