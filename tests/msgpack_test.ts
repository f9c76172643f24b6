// encodeMsgpack / decodeMsgpack against the real Python msgpack that kombu uses:
// byte-exact encoding, Python reading our bytes back to the same values, every size class.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { decodeMsgpack, encodeMsgpack } from "../src/wire/serialization/msgpack.ts";
import { PyFloat } from "../src/wire/serialization/python_types.ts";
import { DecodeError, EncodeError } from "../src/errors.ts";
import { celeryPythons, exists, requirement } from "./_env.ts";

interface Case {
  name: string;
  /** The JavaScript value to encode. */
  js: unknown;
  /** The same value as a Python expression. */
  py: string;
  /** What decodeMsgpack returns, when it differs from `js` with PyFloat unwrapped. */
  decoded?: unknown;
  /** Python must read it with strict_map_key=False (non-string keys). */
  looseKeys?: boolean;
}

const hex = (bytes: Uint8Array) =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
const fromHex = (text: string) =>
  new Uint8Array(text.match(/../g)?.map((h) => parseInt(h, 16)) ?? []);
const repeat = (s: string, n: number) => s.repeat(n);
const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const objectOf = (n: number) => Object.fromEntries(range(n).map((i) => [`k${i}`, i]));
const bytesOf = (n: number, f = 0) => new Uint8Array(n).fill(f);

const cases: Case[] = [
  { name: "nil", js: null, py: "None" },
  { name: "true", js: true, py: "True" },
  { name: "false", js: false, py: "False" },
  // integers: every format boundary, both sides
  ...[
    0,
    1,
    127,
    128,
    255,
    256,
    65535,
    65536,
    2 ** 32 - 1,
    2 ** 32,
    2 ** 53 - 1,
    2 ** 53,
    2 ** 63,
    2 ** 64 - 2048,
    -1,
    -32,
    -33,
    -128,
    -129,
    -32768,
    -32769,
    -(2 ** 31),
    -(2 ** 31) - 1,
    -(2 ** 53) + 1,
    -(2 ** 53),
    -(2 ** 63),
  ].map((n) => ({ name: `int ${n}`, js: n, py: BigInt(n).toString() })),
  ...[
    0n,
    5n,
    -5n,
    255n,
    2n ** 32n,
    2n ** 53n + 1n,
    2n ** 63n,
    2n ** 64n - 1n,
    -(2n ** 63n),
    -(2n ** 53n) - 1n,
    -(2n ** 31n) - 1n,
  ].map((n) => ({ name: `bigint ${n}`, js: n, py: n.toString() })),
  { name: "negative zero number is int 0", js: -0, py: "0", decoded: 0 },
  // floats: Python floats are always float64
  { name: "float 3.0", js: new PyFloat(3), py: "3.0" },
  { name: "float 0.0", js: new PyFloat(0), py: "0.0" },
  { name: "float -0.0", js: new PyFloat(-0), py: "-0.0" },
  { name: "float 1.5", js: 1.5, py: "1.5" },
  { name: "float -0.1", js: -0.1, py: "-0.1" },
  { name: "float 5e-324", js: 5e-324, py: "5e-324" },
  { name: "float 1e300", js: 1e300, py: "1e300" },
  { name: "float nan", js: NaN, py: "float('nan')" },
  { name: "float inf", js: Infinity, py: "float('inf')" },
  { name: "float -inf", js: -Infinity, py: "float('-inf')" },
  { name: "integral beyond uint64 is a float", js: 2 ** 64, py: "float(2**64)" },
  { name: "integral beyond int64 is a float", js: -(2 ** 64), py: "float(-2**64)" },
  { name: "float 1e20", js: 1e20, py: "1e20" },
  // strings: fixstr up to 31 bytes, str8 from 32, str16, str32; multi-byte characters
  ...[0, 1, 31, 32, 255, 256, 65535, 65536].map((n) => ({
    name: `str ${n} bytes`,
    js: repeat("a", n),
    py: `'a' * ${n}`,
  })),
  ...([
    ["é", 15],
    ["é", 16],
    ["€", 10],
    ["€", 11],
    ["😀", 7],
    ["😀", 8],
    ["é", 23],
    ["é", 24],
    ["é", 100],
    ["é", 127],
    ["é", 128],
    ["€", 21845],
    ["€", 21846],
    ["é", 30000],
    ["é", 40000],
    ["😀", 20000],
  ] as const).map(([ch, n]) => ({
    name: `str ${ch} x ${n}`,
    js: repeat(ch, n),
    py: `'\\u${ch.codePointAt(0)!.toString(16).padStart(4, "0")}' * ${n}`.replace(
      "\\u1f600",
      "\\U0001f600",
    ),
  })),
  {
    name: "str mixed",
    js: "h\u00e9llo \u2603 \u{1F600} \0 \n",
    py: "'h\\u00e9llo \\u2603 \\U0001f600 \\x00 \\n'",
  },
  // bin
  ...[0, 1, 255, 256, 65535, 65536].map((n) => ({
    name: `bin ${n} bytes`,
    js: bytesOf(n, 7),
    py: `bytes([7]) * ${n}`,
  })),
  { name: "bin all byte values", js: new Uint8Array(range(256)), py: "bytes(range(256))" },
  // arrays
  ...[0, 1, 15, 16, 65535, 65536].map((n) => ({
    name: `array ${n} items`,
    js: range(n),
    py: `list(range(${n}))`,
  })),
  { name: "nested arrays", js: [[[[1, [2]]]], []], py: "[[[[1, [2]]]], []]" },
  // maps, insertion order
  ...[0, 1, 15, 16, 65535, 65536].map((n) => ({
    name: `map ${n} entries`,
    js: objectOf(n),
    py: `{'k%d' % i: i for i in range(${n})}`,
  })),
  {
    name: "map order",
    js: { z: 1, a: 2, m: { y: null, b: [] } },
    py: "{'z': 1, 'a': 2, 'm': {'y': None, 'b': []}}",
  },
  {
    name: "map unicode keys",
    js: { "clé": "vàl", "☃": 1 },
    py: "{'cl\\u00e9': 'v\\u00e0l', '\\u2603': 1}",
  },
  {
    name: "Map with int keys",
    js: new Map<unknown, unknown>([[1, "a"], ["b", 2]]),
    py: "{1: 'a', 'b': 2}",
    looseKeys: true,
  },
  {
    name: "celery meta",
    js: {
      status: "SUCCESS",
      result: 3,
      traceback: null,
      children: [],
      date_done: "2026-11-24T11:37:25.514756+00:00",
      task_id: "x",
    },
    py: "{'status': 'SUCCESS', 'result': 3, 'traceback': None, 'children': [], " +
      "'date_done': '2026-11-24T11:37:25.514756+00:00', 'task_id': 'x'}",
  },
  {
    name: "celery failure meta",
    js: {
      status: "FAILURE",
      result: {
        exc_type: "ValueError",
        exc_message: ["boom", new PyFloat(2)],
        exc_module: "builtins",
      },
      traceback: 'Traceback (most recent call last):\n  File "t.py", line 1\nValueError: boom\n',
      children: [[["4ad5c7e2-1f4b-4d2c-9a53-5f2d3c1e8b7a", null], null]],
      date_done: "2026-11-24T11:37:25.514756+00:00",
      task_id: "4ad5c7e2-1f4b-4d2c-9a53-5f2d3c1e8b7a",
    },
    py:
      "{'status': 'FAILURE', 'result': {'exc_type': 'ValueError', 'exc_message': ['boom', 2.0], " +
      "'exc_module': 'builtins'}, 'traceback': 'Traceback (most recent call last):\\n  File " +
      "\"t.py\", line 1\\nValueError: boom\\n', 'children': [[['4ad5c7e2-1f4b-4d2c-9a53-5f2d3c1e8b7a'," +
      " None], None]], 'date_done': '2026-11-24T11:37:25.514756+00:00', " +
      "'task_id': '4ad5c7e2-1f4b-4d2c-9a53-5f2d3c1e8b7a'}",
  },
];

/** The value decodeMsgpack returns for `value` without preserveFloats. */
function plain(value: unknown): unknown {
  if (value instanceof PyFloat) return value.value;
  if (typeof value === "bigint") {
    return value >= -(2n ** 53n) + 1n && value <= 2n ** 53n - 1n ? Number(value) : value;
  }
  if (typeof value === "number" && Number.isInteger(value) && Math.abs(value) > 2 ** 53 - 1) {
    return Math.abs(value) < 2 ** 64 ? BigInt(value) : value;
  }
  if (Array.isArray(value)) return value.map(plain);
  if (value instanceof Uint8Array) return value;
  if (value instanceof Map) return new Map([...value].map(([k, v]) => [plain(k), plain(v)]));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

const PYTHON_SCRIPT = String.raw`
import json, math, sys, msgpack
def same(a, b):
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (a != a and b != b) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return len(a) == len(b) and all(
            same(ka, kb) and same(a[ka], b[kb]) for ka, kb in zip(a, b))
    return a == b
out = {}
for case in json.load(sys.stdin):
    value = eval(case["py"])
    result = {"packed": msgpack.packb(value, use_bin_type=True).hex()}
    try:
        ours = msgpack.unpackb(bytes.fromhex(case["ours"]), raw=False,
                               strict_map_key=not case["loose"])
        result["same"] = same(ours, value)
        if not result["same"]:
            result["got"] = repr(ours)[:200]
    except Exception as e:
        result["same"] = False
        result["got"] = repr(e)
    out[case["name"]] = result
json.dump(out, sys.stdout)
`;

interface PythonResult {
  packed: string;
  same: boolean;
  got?: string;
}

function python(interpreter: string, script: string, input: string): string {
  const run = spawnSync(interpreter, ["-c", script], {
    input,
    encoding: "utf8",
    maxBuffer: 1 << 28,
  });
  if (run.status !== 0) throw new Error(`${interpreter} failed: ${run.stderr}`);
  return run.stdout;
}

function hasMsgpack(interpreter: string): boolean {
  if (!exists(interpreter)) return false;
  return spawnSync(interpreter, ["-c", "import msgpack"]).status === 0;
}

const interpreters = [...new Set(Object.values(celeryPythons))].map((path) => {
  const ok = hasMsgpack(path);
  const version = ok
    ? spawnSync(path, ["-c", "import msgpack; print(msgpack.version)"], { encoding: "utf8" }).stdout
      .trim()
    : "?";
  return { path, ok, version };
});

let pythonRuns: Map<string, Record<string, PythonResult>> | undefined;
function pythonResults(interpreter: string): Record<string, PythonResult> {
  pythonRuns ??= new Map();
  let results = pythonRuns.get(interpreter);
  if (results === undefined) {
    const input = JSON.stringify(
      cases.map((c) => ({
        name: c.name,
        py: c.py,
        ours: hex(encodeMsgpack(c.js)),
        loose: c.looseKeys ?? false,
      })),
    );
    results = JSON.parse(python(interpreter, PYTHON_SCRIPT, input)) as Record<string, PythonResult>;
    pythonRuns.set(interpreter, results);
  }
  return results;
}

for (const { path, ok, version } of interpreters) {
  const skip = requirement(ok, `Python msgpack under ${path}`);
  const label = `Python msgpack ${version} at ${path}`;

  test(
    `encodeMsgpack() writes the same bytes as packb(use_bin_type=True) (${label})`,
    { skip },
    () => {
      const results = pythonResults(path);
      for (const c of cases) {
        const theirs = results[c.name]!.packed;
        const ours = hex(encodeMsgpack(c.js));
        if (ours !== theirs) {
          assert.fail(`${c.name}: ours ${ours.slice(0, 80)}… != Python ${theirs.slice(0, 80)}…`);
        }
      }
    },
  );

  test(`encodeMsgpack() output is read back by unpackb(raw=False) as the same values (${label})`, {
    skip,
  }, () => {
    const results = pythonResults(path);
    for (const c of cases) {
      const r = results[c.name]!;
      assert.ok(r.same, `${c.name}: Python read ${r.got}`);
    }
  });

  test(`decodeMsgpack() reads what Python packs (${label})`, { skip }, () => {
    const results = pythonResults(path);
    for (const c of cases) {
      const bytes = fromHex(results[c.name]!.packed);
      const decoded = decodeMsgpack(bytes, { allowNonStringKeys: c.looseKeys ?? false });
      assert.deepStrictEqual(decoded, "decoded" in c ? c.decoded : plain(c.js), c.name);
      // With preserveFloats, decoding and encoding again reproduces Python's bytes exactly.
      const kept = decodeMsgpack(bytes, {
        preserveFloats: true,
        allowNonStringKeys: c.looseKeys ?? false,
      });
      assert.equal(hex(encodeMsgpack(kept)), results[c.name]!.packed, `${c.name} (round trip)`);
    }
  });

  test(`decodeMsgpack() refuses what Python's unpackb refuses (${label})`, { skip }, () => {
    const bad = [
      "",
      "a1",
      "a1ff",
      "a2c080",
      "a3eda080",
      "c1",
      "9201",
      "81",
      "810101",
      "01c0",
      "ce0000",
    ];
    const script = String.raw`
import json, sys, msgpack
out = []
for h in json.load(sys.stdin):
    try:
        msgpack.unpackb(bytes.fromhex(h), raw=False)
        out.append(False)
    except Exception:
        out.append(True)
json.dump(out, sys.stdout)
`;
    const refused = JSON.parse(python(path, script, JSON.stringify(bad))) as boolean[];
    bad.forEach((h, i) => {
      assert.equal(refused[i], true, `Python accepts ${h}`);
      assert.throws(() => decodeMsgpack(fromHex(h)), DecodeError, h);
    });
  });
}

test("encodeMsgpack() writes a Celery meta like kombu's observed bytes", () => {
  const date = "2026-11-24T11:37:25.514756+00:00";
  const bytes = encodeMsgpack({
    status: "SUCCESS",
    result: 3,
    traceback: null,
    children: [],
    date_done: date,
    task_id: "x",
  });
  const utf8 = (s: string) => [...new TextEncoder().encode(s)];
  const str = (s: string) => [0xa0 | s.length, ...utf8(s)];
  assert.deepEqual([...bytes], [
    0x86,
    ...str("status"),
    ...str("SUCCESS"),
    ...str("result"),
    0x03,
    ...str("traceback"),
    0xc0,
    ...str("children"),
    0x90,
    ...str("date_done"),
    0xd9, // 32 bytes: str8, not fixstr or str16
    0x20,
    ...utf8(date),
    ...str("task_id"),
    ...str("x"),
  ]);
});

test("encodeMsgpack() picks the smallest integer format at every boundary", () => {
  const first = (v: unknown) => encodeMsgpack(v)[0];
  const length = (v: number | bigint) => encodeMsgpack(v).length;
  assert.deepEqual([first(0), length(0), first(127), length(127)], [0x00, 1, 0x7f, 1]);
  assert.deepEqual([first(128), length(128), first(255)], [0xcc, 2, 0xcc]);
  assert.deepEqual([first(256), length(256), first(65535)], [0xcd, 3, 0xcd]);
  assert.deepEqual([first(65536), length(65536), first(2 ** 32 - 1)], [0xce, 5, 0xce]);
  assert.deepEqual([first(2 ** 32), length(2 ** 32), first(2n ** 64n - 1n)], [0xcf, 9, 0xcf]);
  assert.deepEqual([first(-1), first(-32), length(-32)], [0xff, 0xe0, 1]);
  assert.deepEqual([first(-33), first(-128), length(-128)], [0xd0, 0xd0, 2]);
  assert.deepEqual([first(-129), first(-32768), length(-32768)], [0xd1, 0xd1, 3]);
  assert.deepEqual([first(-32769), first(-(2 ** 31)), length(-(2 ** 31))], [0xd2, 0xd2, 5]);
  assert.deepEqual([first(-(2 ** 31) - 1), first(-(2n ** 63n)), length(-(2n ** 63n))], [
    0xd3,
    0xd3,
    9,
  ]);
  assert.deepEqual([first(0.5), first(new PyFloat(1)), first(2 ** 64), length(2 ** 64)], [
    0xcb,
    0xcb,
    0xcb,
    9,
  ]);
});

test("encodeMsgpack() picks str, bin, array and map header sizes at every boundary", () => {
  const header = (v: unknown) => hex(encodeMsgpack(v).subarray(0, 5));
  assert.equal(header(""), "a0");
  assert.equal(header("a".repeat(31)).slice(0, 2), "bf");
  assert.equal(header("a".repeat(32)).slice(0, 4), "d920");
  assert.equal(header("a".repeat(255)).slice(0, 4), "d9ff");
  assert.equal(header("a".repeat(256)).slice(0, 6), "da0100");
  assert.equal(header("a".repeat(65535)).slice(0, 6), "daffff");
  assert.equal(header("a".repeat(65536)), "db00010000");
  assert.equal(header("é".repeat(16)).slice(0, 4), "d920"); // 16 characters, 32 bytes
  assert.equal(header("😀".repeat(7)).slice(0, 2), "bc"); // 14 code units, 28 bytes
  assert.equal(header(new Uint8Array(0)), "c400");
  assert.equal(header(new Uint8Array(255)).slice(0, 4), "c4ff");
  assert.equal(header(new Uint8Array(256)).slice(0, 6), "c50100");
  assert.equal(header(new Uint8Array(65536)), "c600010000");
  assert.equal(header([]), "90");
  assert.equal(header(range(15)).slice(0, 2), "9f");
  assert.equal(header(range(16)).slice(0, 6), "dc0010");
  assert.equal(header(range(65536)).slice(0, 10), "dd00010000");
  assert.equal(header({}), "80");
  assert.equal(header(objectOf(15)).slice(0, 2), "8f");
  assert.equal(header(objectOf(16)).slice(0, 6), "de0010");
  assert.equal(header(objectOf(65536)).slice(0, 10), "df00010000");
});

test("encodeMsgpack() leaves out undefined properties and writes other undefined as nil", () => {
  assert.deepEqual([...encodeMsgpack({ a: undefined, b: 1 })], [0x81, 0xa1, 0x62, 0x01]);
  assert.deepEqual([...encodeMsgpack([undefined])], [0x91, 0xc0]);
  assert.deepEqual([...encodeMsgpack(undefined)], [0xc0]);
});

test("encodeMsgpack() refuses values kombu's msgpack cannot encode", () => {
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  let deep: unknown = 1;
  for (let i = 0; i < 600; i++) deep = [deep];
  class Custom {}
  for (
    const [name, value] of [
      ["Date", new Date(0)],
      ["class instance", new Custom()],
      ["function", () => 1],
      ["symbol", Symbol("s")],
      ["Set", new Set([1])],
      ["Uint16Array", new Uint16Array(1)],
      ["bigint 2^64", 2n ** 64n],
      ["bigint -2^63-1", -(2n ** 63n) - 1n],
      ["short lone surrogate", "a\ud800"],
      ["short reversed pair", "\udc00\ud800"],
      ["long lone surrogate", "a".repeat(100) + "\udfff"],
      ["cycle", cyclic],
      ["too deep", deep],
    ] as const
  ) {
    assert.throws(() => encodeMsgpack(value), EncodeError, name);
  }
  assert.throws(() => encodeMsgpack(new Date(0)), /datetime/);
  // The encoder is usable again after an error.
  assert.deepEqual([...encodeMsgpack([1])], [0x91, 0x01]);
});

test("decodeMsgpack() reads every format, including float32 and non-canonical ints", () => {
  const cases: [string, unknown][] = [
    ["ca3fc00000", 1.5],
    ["ca40400000", 3],
    ["cc05", 5],
    ["cd0005", 5],
    ["ce00000005", 5],
    ["cf0000000000000005", 5],
    ["d0fb", -5],
    ["d1fffb", -5],
    ["d2fffffffb", -5],
    ["d3fffffffffffffffb", -5],
    ["cf001fffffffffffff", 2 ** 53 - 1],
    ["cf0020000000000000", 2n ** 53n],
    ["cfffffffffffffffff", 2n ** 64n - 1n],
    ["d3ffe0000000000001", -(2 ** 53) + 1],
    ["d3ffe0000000000000", -(2n ** 53n)],
    ["d38000000000000000", -(2n ** 63n)],
    ["d90161", "a"],
    ["da000161", "a"],
    ["db0000000161", "a"],
    ["c50001ff", new Uint8Array([0xff])],
    ["c6000000010a", new Uint8Array([0x0a])],
    ["dc000101", [1]],
    ["dd0000000101", [1]],
    ["de0001a16101", { a: 1 }],
    ["df00000001a16101", { a: 1 }],
    ["82a16101a16102", { a: 2 }], // duplicate key: the last value wins, as in Python
  ];
  for (const [h, expected] of cases) assert.deepStrictEqual(decodeMsgpack(fromHex(h)), expected, h);
  const float = decodeMsgpack(fromHex("ca40400000"), { preserveFloats: true });
  assert.ok(float instanceof PyFloat && float.value === 3);
  assert.equal(decodeMsgpack(fromHex("cb3ff8000000000000"), { preserveFloats: true }), 1.5);
});

test("decodeMsgpack() returns copies of bin data and safe objects for __proto__ keys", () => {
  const input = fromHex("c40201028100");
  const out = decodeMsgpack(input.subarray(0, 4)) as Uint8Array;
  input[2] = 9;
  assert.deepEqual([...out], [1, 2]);
  const object = decodeMsgpack(
    encodeMsgpack(JSON.parse('{"__proto__": {"polluted": 1}}')),
  ) as Record<
    string,
    unknown
  >;
  assert.equal(Object.getPrototypeOf(object), Object.prototype);
  assert.deepEqual(Object.keys(object), ["__proto__"]);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test("decodeMsgpack() reports truncation, trailing bytes, ext types and bad UTF-8 with positions", () => {
  const meta = encodeMsgpack({
    status: "SUCCESS",
    result: [1.5, "x".repeat(40)],
    bin: new Uint8Array(3),
  });
  for (let n = 0; n < meta.length; n++) {
    assert.throws(() => decodeMsgpack(meta.subarray(0, n)), DecodeError, `prefix ${n}`);
  }
  assert.throws(() => decodeMsgpack(fromHex("a16100")), /1 unexpected byte.*byte 2/);
  assert.throws(() => decodeMsgpack(fromHex("91a2")), /Truncated.*byte 1/);
  assert.throws(() => decodeMsgpack(fromHex("d6ff00000000")), /ext type -1 at byte 0.*Timestamp/);
  assert.throws(() => decodeMsgpack(fromHex("d40100")), /ext type 1/);
  assert.throws(() => decodeMsgpack(fromHex("c7010501")), /ext type 5/);
  assert.throws(() => decodeMsgpack(fromHex("9201a2c328")), /string at byte 2 is not valid UTF-8/);
  assert.throws(() => decodeMsgpack(fromHex("c1")), /0xc1 at position 0/);
  // A huge declared length fails fast instead of allocating.
  assert.throws(() => decodeMsgpack(fromHex("ddffffffff")), DecodeError);
  assert.throws(() => decodeMsgpack(fromHex("dbffffffff")), DecodeError);
  assert.throws(() => decodeMsgpack(new Uint8Array(2000).fill(0x91)), /nested deeper/);
});

test("decodeMsgpack() refuses non-string map keys unless allowNonStringKeys is set", () => {
  const bytes = encodeMsgpack(new Map<unknown, unknown>([["a", 1], [2, "b"], [null, [3]]]));
  assert.throws(() => decodeMsgpack(bytes), /map key at byte 4: a number/);
  const map = decodeMsgpack(bytes, { allowNonStringKeys: true });
  assert.deepStrictEqual(map, new Map<unknown, unknown>([["a", 1], [2, "b"], [null, [3]]]));
  assert.deepEqual(encodeMsgpack(map), bytes);
});

test("decodeMsgpack() with preserveFloats re-encodes integral floats byte-exactly", () => {
  const stored = encodeMsgpack({ result: [new PyFloat(3), new PyFloat(-0), 2.5, 4, NaN] });
  const value = decodeMsgpack(stored, { preserveFloats: true }) as { result: unknown[] };
  assert.ok(value.result[0] instanceof PyFloat);
  assert.ok(
    value.result[1] instanceof PyFloat && Object.is((value.result[1] as PyFloat).value, -0),
  );
  assert.equal(value.result[2], 2.5);
  assert.equal(value.result[3], 4);
  assert.deepEqual(encodeMsgpack(value), stored);
  const lossy = decodeMsgpack(stored) as { result: unknown[] };
  assert.equal(lossy.result[0], 3);
  assert.notDeepEqual(encodeMsgpack(lossy), stored);
});

test("encodeMsgpack() and decodeMsgpack() round-trip large values", () => {
  const value = {
    list: range(100_000),
    text: "é☃😀".repeat(50_000),
    bytes: new Uint8Array(1 << 20).fill(3),
  };
  assert.deepStrictEqual(decodeMsgpack(encodeMsgpack(value)), value);
  // And the scratch buffer still serves small values afterwards.
  assert.deepEqual([...encodeMsgpack("ok")], [0xa2, 0x6f, 0x6b]);
});

test("decodeMsgpack() rejects a non-Uint8Array input with TypeError", () => {
  assert.throws(() => decodeMsgpack("abc" as unknown as Uint8Array), TypeError);
});
