// Property-based fuzzing of the RESP decoder (fast-check, fixed seed, bounded budget): random
// valid replies, and mutations of them, fed whole and split at random chunk boundaries, must
// either decode (the split feed giving exactly what the whole one gives) or fail with
// RedisProtocolError; never another error, never a different result for a different split.
// Inputs that once broke that are kept in tests/fixtures/fuzz-corpus/resp/ and replayed here.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { RedisProtocolError } from "../src/errors.ts";
import type { RespDecoderOptions } from "../src/connection/resp/decode.ts";
import { comparable, cut, decodeChunks } from "./_resp_outcome.ts";

const SEED = 20_251_505;
const encoder = new TextEncoder();

function bytesOf(...parts: (string | Uint8Array)[]): Uint8Array {
  const arrays = parts.map((p) => (typeof p === "string" ? encoder.encode(p) : p));
  const out = new Uint8Array(arrays.reduce((n, a) => n + a.length, 0));
  let at = 0;
  for (const a of arrays) {
    out.set(a, at);
    at += a.length;
  }
  return out;
}

// ---- valid replies --------------------------------------------------------------------------

/** Printable ASCII with no CR or LF: what status and error lines hold. */
const lineText = fc.uint8Array({ min: 32, max: 126, maxLength: 24 });

const { reply } = fc.letrec<{ reply: Uint8Array }>((tie) => ({
  reply: fc.oneof(
    { depthSize: "small", maxDepth: 4 },
    lineText.map((t) => bytesOf("+", t, "\r\n")),
    lineText.map((t) => bytesOf("-ERR ", t, "\r\n")),
    fc.oneof(fc.integer(), fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }))
      .map((n) => bytesOf(`:${n}\r\n`)),
    fc.uint8Array({ maxLength: 48 }).map((b) => bytesOf(`$${b.length}\r\n`, b, "\r\n")),
    fc.constantFrom("$-1\r\n", "*-1\r\n", "_\r\n", "#t\r\n", "#f\r\n", ",3.25\r\n", "(1234\r\n")
      .map((t) => bytesOf(t)),
    fc.uint8Array({ maxLength: 16 }).map((b) => bytesOf(`=${b.length + 4}\r\ntxt:`, b, "\r\n")),
    lineText.map((t) => bytesOf(`!${t.length}\r\n`, t, "\r\n")),
    fc.tuple(fc.constantFrom("*", "~", ">"), fc.array(tie("reply"), { maxLength: 4 }))
      .map(([type, items]) => bytesOf(`${type}${items.length}\r\n`, ...items)),
    fc.array(fc.tuple(tie("reply"), tie("reply")), { maxLength: 3 })
      .map((pairs) => bytesOf(`%${pairs.length}\r\n`, ...pairs.flat())),
    fc.tuple(tie("reply"), tie("reply"), tie("reply"))
      .map(([key, value, annotated]) => bytesOf("|1\r\n", key, value, annotated)),
  ),
}));

/** One to four replies back to back, as a server streams them. */
const stream = fc.array(reply, { minLength: 1, maxLength: 4 }).map((replies) => ({
  count: replies.length,
  bytes: bytesOf(...replies),
}));

// ---- mutations ------------------------------------------------------------------------------

/** Bytes that matter to RESP: CR, LF, type bytes, signs, digits; and any byte. */
const interestingByte = fc.oneof(
  fc.constantFrom(13, 10, 36, 42, 37, 126, 62, 124, 45, 43, 58, 95, 35, 44, 40, 33, 61, 48, 57),
  fc.integer({ min: 0, max: 255 }),
);

/** Lengths and counts a hostile or broken server might declare. */
const hostileNumber = fc.constantFrom(
  "-2",
  "-1",
  "0",
  "99",
  "65537",
  "16777217",
  "536870913",
  "2147483647",
  "4294967296",
  "99999999999999999999",
  "1e3",
  "0x10",
  "",
);

type Mutation =
  | { kind: "flip"; at: number; byte: number }
  | { kind: "insert"; at: number; bytes: number[] }
  | { kind: "delete"; at: number; length: number }
  | { kind: "duplicate"; at: number; length: number }
  | { kind: "truncate"; at: number }
  | { kind: "header"; which: number; number: string }
  | { kind: "pad"; which: number; zeros: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), byte: interestingByte }),
  fc.record({
    kind: fc.constant("insert" as const),
    at: fc.nat(),
    bytes: fc.array(interestingByte, { minLength: 1, maxLength: 4 }),
  }),
  fc.record({
    kind: fc.constant("delete" as const),
    at: fc.nat(),
    length: fc.integer({ min: 1, max: 8 }),
  }),
  fc.record({
    kind: fc.constant("duplicate" as const),
    at: fc.nat(),
    length: fc.integer({ min: 1, max: 24 }),
  }),
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("header" as const), which: fc.nat(), number: hostileNumber }),
  fc.record({
    kind: fc.constant("pad" as const),
    which: fc.nat(),
    zeros: fc.integer({ min: 1, max: 24 }),
  }),
);

const LENGTH_TYPES = new Set([36, 42, 37, 126, 62, 124, 33, 61]); // $ * % ~ > | ! =

/** Where the numbers of length-bearing headers start. */
function numberStarts(input: Uint8Array): number[] {
  const starts: number[] = [];
  for (let i = 0; i + 1 < input.length; i++) {
    const next = input[i + 1]!;
    if (LENGTH_TYPES.has(input[i]!) && (next === 45 || (next >= 48 && next <= 57))) {
      starts.push(i + 1);
    }
  }
  return starts;
}

function mutate(input: Uint8Array, m: Mutation): Uint8Array {
  const n = input.length;
  const at = n === 0 || m.kind === "header" || m.kind === "pad" ? 0 : m.at % (n + 1);
  switch (m.kind) {
    case "flip": {
      const out = input.slice();
      if (at < n) out[at] = m.byte;
      return out;
    }
    case "insert":
      return bytesOf(input.subarray(0, at), Uint8Array.from(m.bytes), input.subarray(at));
    case "delete":
      return bytesOf(input.subarray(0, at), input.subarray(at + m.length));
    case "duplicate":
      return bytesOf(input.subarray(0, at + m.length), input.subarray(at));
    case "truncate":
      return input.slice(0, at);
    case "pad": {
      // Leading zeros keep a header's value but lengthen its line.
      const starts = numberStarts(input);
      if (starts.length === 0) return input;
      const start = starts[m.which % starts.length]!;
      return bytesOf(input.subarray(0, start), "0".repeat(m.zeros), input.subarray(start));
    }
    case "header": {
      // Replace the number of one length-bearing header (a bulk length, an aggregate count).
      const starts = numberStarts(input);
      if (starts.length === 0) return input;
      const start = starts[m.which % starts.length]!;
      let end = start;
      if (input[end] === 45) end++;
      while (end < n && input[end]! >= 48 && input[end]! <= 57) end++;
      return bytesOf(input.subarray(0, start), m.number, input.subarray(end));
    }
  }
}

/** Tight limits, so that fuzzed headers hit them often; and the defaults. */
const SMALL_LIMITS: RespDecoderOptions = {
  maxDepth: 3,
  maxAggregateLength: 5,
  maxBulkLength: 20,
  maxLineLength: 12,
};
const limits = fc.constantFrom<RespDecoderOptions>({}, SMALL_LIMITS);

/** Up to 8 cut points; offsets beyond the input are ignored by cut(). */
const cuts = fc.array(fc.nat({ max: 600 }), { maxLength: 8 });

// ---- the property ---------------------------------------------------------------------------

/** Whole and split feeds agree, and the only error is RedisProtocolError. */
function checkAgreement(
  bytes: Uint8Array,
  offsets: readonly number[],
  options: RespDecoderOptions,
): ReturnType<typeof decodeChunks> {
  const whole = decodeChunks([bytes], options);
  if (whole.error !== undefined) {
    assert.ok(
      whole.thrown instanceof RedisProtocolError,
      `expected RedisProtocolError, got ${String(whole.thrown)}`,
    );
  }
  for (const fresh of [false, true]) {
    const split = decodeChunks(cut(bytes, offsets), { ...options, freshChunks: fresh });
    assert.deepStrictEqual(comparable(split), comparable(whole));
  }
  return whole;
}

test("RESP fuzz: valid replies decode whole and split alike, completely", () => {
  fc.assert(
    fc.property(stream, cuts, ({ count, bytes }, offsets) => {
      const whole = checkAgreement(bytes, offsets, {});
      assert.equal(whole.error, undefined);
      assert.equal(whole.partial, false);
      // Attributes are dropped, so each reply of the stream is one emitted reply.
      assert.equal(whole.replies.length, count);
    }),
    { seed: SEED, numRuns: 2000 },
  );
});

test("RESP fuzz: mutated replies decode or fail with RedisProtocolError, whatever the split", () => {
  fc.assert(
    fc.property(
      stream,
      fc.array(mutation, { minLength: 1, maxLength: 3 }),
      cuts,
      limits,
      ({ bytes }, mutations, offsets, options) => {
        const mutated = mutations.reduce(mutate, bytes);
        checkAgreement(mutated, offsets, options);
      },
    ),
    { seed: SEED, numRuns: 12000 },
  );
});

test("RESP fuzz: random bytes decode or fail with RedisProtocolError, whatever the split", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 64 }),
      fc.array(interestingByte, { maxLength: 64 }),
      cuts,
      limits,
      (random, interesting, offsets, options) => {
        checkAgreement(bytesOf(random, Uint8Array.from(interesting)), offsets, options);
      },
    ),
    { seed: SEED, numRuns: 4000 },
  );
});

// ---- the corpus -----------------------------------------------------------------------------

const corpusDir = fileURLToPath(new URL("./fixtures/fuzz-corpus/resp/", import.meta.url));

test("RESP fuzz corpus: every input that once failed, split at every offset", () => {
  const files = readdirSync(corpusDir).filter((name) => name.endsWith(".resp")).sort();
  assert.ok(files.length > 0, "the corpus is empty");
  for (const name of files) {
    const bytes = new Uint8Array(readFileSync(corpusDir + name));
    for (const options of [{}, SMALL_LIMITS]) {
      for (let offset = 0; offset < bytes.length; offset++) {
        checkAgreement(bytes, [offset], options);
      }
      // One byte at a time.
      checkAgreement(bytes, Array.from({ length: bytes.length }, (_, i) => i), options);
    }
  }
});
