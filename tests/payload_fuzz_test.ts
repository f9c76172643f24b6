// Property-based fuzzing of the two stored-payload decoders (fast-check, fixed seeds, bounded
// runs): random bytes, mutations of our own encodings and of real Celery captures either decode
// or fail with DecodeError (ContentDisallowedError for a foreign format), and every generated
// value survives encode -> decode. tests/fixtures/fuzz-corpus/ holds the captures and every input
// that once failed; each is replayed here.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import process from "node:process";
import fc from "fast-check";
import { DecodeError } from "../src/errors.ts";
import { createSerializer } from "../src/wire/create_serializer.ts";
import type { SerializerName } from "../src/wire/serializers.ts";
import { decodeKombuJson, encodeKombuJson } from "../src/wire/serialization/kombu_json.ts";
import { decodeMsgpack, encodeMsgpack } from "../src/wire/serialization/msgpack.ts";
import { PyDecimal, PyFloat, PyUUID } from "../src/wire/serialization/python_types.ts";

// Fixed, so a run is reproducible; FUZZ_SEED / FUZZ_RUNS explore further locally (an input found
// that way goes into the corpus).
const SEED = Number(process.env.FUZZ_SEED ?? 150_001);
const RUNS = Number(process.env.FUZZ_RUNS ?? 4_000);
const CORPUS = new URL("./fixtures/fuzz-corpus/", import.meta.url);
const CORPUS_FOLDER: Record<SerializerName, string> = { json: "kombu_json", msgpack: "msgpack" };

function corpus(name: SerializerName): { file: string; bytes: Uint8Array }[] {
  const folder = new URL(`${CORPUS_FOLDER[name]}/`, CORPUS);
  return readdirSync(folder).filter((file) => !file.startsWith(".")).sort().map((file) => ({
    file,
    bytes: new Uint8Array(readFileSync(new URL(file, folder))),
  }));
}

const serializers = {
  json: createSerializer("json"),
  msgpack: createSerializer("msgpack"),
};
const exact = {
  json: createSerializer("json", { preserveFloats: true }),
  msgpack: createSerializer("msgpack", { preserveFloats: true }),
};

/** Decodes with both float modes: a value, or a DecodeError; anything else fails the property. */
function decodesOrRefuses(name: SerializerName, bytes: Uint8Array): void {
  for (const serializer of [serializers[name], exact[name]]) {
    try {
      serializer.decode(bytes);
    } catch (error) {
      if (!(error instanceof DecodeError)) throw error;
      assert.ok(error.message.length < 400, `a short message: ${error.message.slice(0, 400)}`);
    }
  }
}

// Bytes that make decoders take their rare paths: container and length headers, markers.
const MSGPACK_BYTES = [
  0x90,
  0x91,
  0x80,
  0x81,
  0xa1,
  0xc0,
  0xc1,
  0xc4,
  0xc7,
  0xc9,
  0xca,
  0xcb,
  0xcf,
  0xd3,
  0xd4,
  0xd9,
  0xdb,
  0xdc,
  0xdd,
  0xde,
  0xdf,
  0xff,
  0x00,
  0x7f,
];
const JSON_TOKENS = [
  "[",
  "]",
  "{",
  "}",
  ",",
  ":",
  '"',
  "\\",
  "\\u00",
  "\\ud800",
  "NaN",
  "-Infinity",
  "1e999",
  "-0",
  "9007199254740993",
  "1.0",
  '"__type__"',
  '"__value__"',
  '{"__type__": "bytes", "__value__": ',
  '"base64"',
  '"uuid"',
  '"decimal"',
  "\u00e9",
  "\xff",
];

type Mutation = { op: number; at: number; value: number; length: number };

const mutations = fc.array(
  fc.record({
    op: fc.integer({ min: 0, max: 5 }),
    at: fc.nat(),
    value: fc.nat(),
    length: fc.integer({ min: 1, max: 16 }),
  }),
  { minLength: 1, maxLength: 6 },
);

/** Applies byte-level mutations: overwrite, insert, delete, duplicate, truncate, splice a token. */
function mutate(input: Uint8Array, steps: Mutation[], tokens: Uint8Array[]): Uint8Array {
  let bytes = Array.from(input);
  for (const { op, at, value, length } of steps) {
    const pos = bytes.length === 0 ? 0 : at % (bytes.length + 1);
    switch (op) {
      case 0:
        if (pos < bytes.length) bytes[pos] = value & 0xff;
        break;
      case 1:
        bytes.splice(pos, 0, ...Array.from({ length }, (_, i) => (value >> i) & 0xff));
        break;
      case 2:
        bytes.splice(pos, length);
        break;
      case 3:
        bytes.splice(pos, 0, ...bytes.slice(pos, pos + length));
        break;
      case 4:
        bytes = bytes.slice(0, pos);
        break;
      default:
        bytes.splice(pos, 0, ...tokens[value % tokens.length]!);
    }
  }
  return new Uint8Array(bytes);
}

const sampleMetas: unknown[] = [
  { status: "SUCCESS", result: 3, traceback: null, children: [], date_done: "2024-01-01T00:00:00" },
  {
    status: "FAILURE",
    result: { exc_type: "ValueError", exc_message: ["bad", 1], exc_module: "builtins" },
    traceback: "Traceback (most recent call last):\n  ...",
    children: [[["c1", null], null]],
  },
  { result: [["g1", null], [[["a", null], null], [["b", null], [[["c", null], null]]]]] },
  { status: "SUCCESS", result: { bytes: new Uint8Array([0, 255, 7]), big: 2n ** 70n, f: 1.5 } },
  { status: "PROGRESS", result: { done: 3, total: 10, nested: [[1, [2, [3, null]]], {}] } },
];

const encoded = {
  json: sampleMetas.map((meta) => new TextEncoder().encode(encodeKombuJson(meta))),
  msgpack: sampleMetas.map((meta) =>
    encodeMsgpack(JSON.parse(JSON.stringify(meta, (_k, v) => typeof v === "bigint" ? 1 : v)))
  ),
};

for (const name of ["msgpack", "json"] as const) {
  const seeds = [...encoded[name], ...corpus(name).map((entry) => entry.bytes)];
  const tokens = name === "json"
    ? JSON_TOKENS.map((token) => new TextEncoder().encode(token))
    : MSGPACK_BYTES.map((byte) => new Uint8Array([byte]));

  test(`${name}: every corpus input decodes or is a DecodeError`, () => {
    const entries = corpus(name);
    assert.ok(entries.some((entry) => entry.file.startsWith("celery-")), "real captures");
    for (const { file, bytes } of entries) {
      try {
        decodesOrRefuses(name, bytes);
      } catch (error) {
        assert.fail(`${file}: ${(error as Error).stack ?? error}`);
      }
    }
    // The real captures decode as they are.
    for (const { file, bytes } of entries.filter((entry) => entry.file.startsWith("celery-"))) {
      const meta = serializers[name].decode(bytes) as { result?: unknown };
      assert.ok(meta !== null && typeof meta === "object" && "result" in meta, file);
    }
  });

  test(`${name}: random bytes decode or are a DecodeError`, () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => decodesOrRefuses(name, bytes)),
      { seed: SEED, numRuns: RUNS },
    );
  });

  test(`${name}: mutated encodings and Celery captures decode or are a DecodeError`, () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...seeds),
        mutations,
        (seed, steps) => decodesOrRefuses(name, mutate(seed, steps, tokens)),
      ),
      { seed: SEED, numRuns: RUNS },
    );
  });
}

// ---- Hostile shapes: deep nesting and oversized declarations, the inputs random bytes miss ----

const JSON_OPENERS = ["[", '{"k": ', '{"__type__": "uuid", "__value__": ', "[NaN, "];
const JSON_CLOSERS = ["]", "}", "}", "]"];

test("json: deeply nested texts (up to 200,000 levels) decode or are a DecodeError", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 4 }),
      fc.integer({ min: 1, max: 200_000 }),
      fc.boolean(),
      (kinds, depth, closed) => {
        let open = "";
        let close = "";
        for (let i = 0; i < depth; i++) {
          const kind = kinds[i % kinds.length]!;
          open += JSON_OPENERS[kind];
          if (closed) close = JSON_CLOSERS[kind] + close;
        }
        decodesOrRefuses("json", new TextEncoder().encode(`${open}0${close}`));
      },
    ),
    { seed: SEED, numRuns: Math.ceil(RUNS / 40) },
  );
});

test("msgpack: nested headers declaring up to the rest of the bytes decode or are a DecodeError", () => {
  fc.assert(
    fc.property(
      fc.array(fc.constantFrom(0x91, 0x81, 0xdc, 0xdd, 0xde, 0xdf), { minLength: 1, maxLength: 4 }),
      fc.integer({ min: 1, max: 3_000 }),
      fc.integer({ min: 0, max: 100_000 }),
      fc.constantFrom(0x00, 0x90, 0xa0, 0xc0),
      (markers, depth, filler, fill) => {
        const bytes = new Uint8Array(depth * 5 + filler);
        let pos = 0;
        for (let i = 0; i < depth; i++) {
          const marker = markers[i % markers.length]!;
          bytes[pos++] = marker;
          if (marker === 0x81) bytes[pos++] = 0xa0; // a key, then the nested value
          if (marker < 0xdc) continue;
          // Claim as many entries as the remaining bytes could hold (the most a check allows).
          const claim = Math.min(bytes.length - pos, marker <= 0xde ? 0xffff : 0xffff_ffff);
          if (marker === 0xdc || marker === 0xde) {
            bytes.set([claim >>> 8, claim & 0xff], pos);
            pos += 2;
          } else {
            bytes.set(
              [claim >>> 24, (claim >>> 16) & 0xff, (claim >>> 8) & 0xff, claim & 0xff],
              pos,
            );
            pos += 4;
          }
        }
        bytes.fill(fill, pos);
        decodesOrRefuses("msgpack", bytes.subarray(0, pos + filler));
      },
    ),
    { seed: SEED, numRuns: Math.ceil(RUNS / 40) },
  );
});

// ---- Round trips ----------------------------------------------------------------------------

const safeKey = fc.string({ maxLength: 12 }).filter((key) =>
  key !== "__type__" && key !== "__value__"
);

/** Values both formats carry, and what decoding gives back for them. */
function valueArbitrary(leaf: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  const { tree } = fc.letrec<{ tree: unknown }>((self) => ({
    tree: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      leaf,
      fc.array(self("tree"), { maxLength: 6 }),
      fc.dictionary(safeKey, self("tree"), { maxKeys: 6, noNullPrototype: true }),
    ),
  }));
  return tree;
}

const int64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n });
const beyondSafe = (n: bigint) => n > 9007199254740991n || n < -9007199254740991n;
const commonLeaves = [
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.maxSafeInteger(),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.uint8Array({ maxLength: 24 }),
];

test("msgpack: decode(encode(x)) equals x for generated values", () => {
  const leaf = fc.oneof(
    ...commonLeaves,
    // Integral numbers are written as ints: the non-integral ones stay floats.
    fc.double().filter((x) => !Number.isInteger(x)),
    int64.filter(beyondSafe),
    fc.double({ noNaN: true }).filter(Number.isInteger).map((x) => new PyFloat(x)),
  );
  fc.assert(
    fc.property(valueArbitrary(leaf), (value) => {
      const bytes = encodeMsgpack(value);
      assert.deepStrictEqual(decodeMsgpack(bytes, { preserveFloats: true }), value);
      assert.deepStrictEqual(encodeMsgpack(decodeMsgpack(bytes, { preserveFloats: true })), bytes);
    }),
    { seed: SEED, numRuns: RUNS },
  );
});

test("kombu JSON: decode(encode(x)) equals x for generated values", () => {
  const leaf = fc.oneof(
    ...commonLeaves,
    fc.double().filter((x) => !Object.is(x, -0)),
    fc.bigInt({ min: -(10n ** 80n), max: 10n ** 80n }).filter(beyondSafe),
    fc.double({ noNaN: true }).filter((x) => Number.isInteger(x) && !Object.is(x, -0))
      .map((x) => new PyFloat(x)),
    fc.uuid().map((text) => new PyUUID(text)),
    fc.tuple(fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }), fc.integer({ min: 0, max: 12 }))
      .map(([digits, scale]) => {
        const text = digits.toString().replace("-", "").padStart(scale + 1, "0");
        const point = scale === 0 ? text : `${text.slice(0, -scale)}.${text.slice(-scale)}`;
        return new PyDecimal(`${digits < 0n ? "-" : ""}${point}`);
      }),
  );
  fc.assert(
    fc.property(valueArbitrary(leaf), (value) => {
      const text = encodeKombuJson(value);
      assert.deepStrictEqual(
        decodeKombuJson(text, { preserveFloats: true }),
        normalizeJson(value),
      );
      assert.equal(encodeKombuJson(decodeKombuJson(text, { preserveFloats: true })), text);
    }),
    { seed: SEED, numRuns: RUNS },
  );
});

/** What kombu JSON gives back: integral numbers beyond 2^53 are Python ints, so bigints. */
function normalizeJson(value: unknown): unknown {
  if (typeof value === "number" && Number.isInteger(value) && !Number.isSafeInteger(value)) {
    return BigInt(value);
  }
  if (Array.isArray(value)) return value.map(normalizeJson);
  if (
    value !== null && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype
  ) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalizeJson(v)]));
  }
  return value;
}
