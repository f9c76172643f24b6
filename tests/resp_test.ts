// The RESP codec: commands encode to exact RESP2 bytes, replies decode incrementally however the
// bytes are split, bulk strings by declared length (CRLF and every byte value survive).
import { test } from "node:test";
import assert from "node:assert/strict";
import type { RedisReply } from "../src/connection/driver.ts";
import { RedisConnectionError, RedisProtocolError, RedisReplyError } from "../src/errors.ts";
import { RespDecoder } from "../src/connection/resp/decode.ts";
import {
  commandByteLength,
  encodeCommand,
  encodeCommands,
  utf8Length,
  writeCommand,
} from "../src/connection/resp/encode.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const bytes = (text: string) => enc.encode(text);
const text = (b: Uint8Array) => dec.decode(b);

/** Replies in a form deepStrictEqual compares the same way on every runtime. */
type Plain = string | number | null | Uint8Array | { error: string; code: string } | Plain[];
function plain(reply: RedisReply): Plain {
  if (Array.isArray(reply)) return reply.map(plain);
  if (reply instanceof RedisReplyError) return { error: reply.message, code: reply.code };
  if (reply instanceof Error) return { error: reply.message, code: "?" };
  return reply;
}

function decodeAll(...chunks: Uint8Array[]): Plain[] {
  const replies: Plain[] = [];
  const decoder = new RespDecoder((reply) => replies.push(plain(reply)));
  for (const chunk of chunks) decoder.feed(chunk);
  assert.equal(decoder.partial, false, "no reply should be left half-read");
  return replies;
}

const allBytes = Uint8Array.from({ length: 256 }, (_, i) => i);

test("encodeCommand() writes a RESP2 array of bulk strings", () => {
  assert.equal(
    text(encodeCommand(["SET", "key", "value", "EX", 60])),
    "*5\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n$2\r\nEX\r\n$2\r\n60\r\n",
  );
  assert.equal(text(encodeCommand(["PING"])), "*1\r\n$4\r\nPING\r\n");
  assert.equal(text(encodeCommand(["SET", "k", ""])), "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n");
});

test("encodeCommand() sends strings as UTF-8, like TextEncoder", () => {
  const samples = [
    "héllo",
    "€uro",
    "emoji 😀 and more 🎉",
    "lone \ud800 surrogate",
    "trailing high \udbff",
    "lone low \udc00 x",
    "日本語".repeat(50), // long: the TextEncoder path
    "a".repeat(97) + "ü",
    "b".repeat(500),
  ];
  for (const sample of samples) {
    const expected = enc.encode(sample);
    assert.equal(utf8Length(sample), expected.length, `length of ${JSON.stringify(sample)}`);
    const encoded = encodeCommand(["SET", sample]);
    const header = `*2\r\n$3\r\nSET\r\n$${expected.length}\r\n`;
    assert.equal(text(encoded.subarray(0, header.length)), header);
    assert.deepStrictEqual(
      encoded.subarray(header.length, header.length + expected.length),
      expected,
    );
    assert.equal(encoded.length, header.length + expected.length + 2);
  }
});

test("encodeCommand() sends numbers and bigints as decimal text", () => {
  const cases: [number | bigint, string][] = [
    [0, "0"],
    [7, "7"],
    [42, "42"],
    [1_000_000_000, "1000000000"],
    [4294967296, "4294967296"],
    [Number.MAX_SAFE_INTEGER, "9007199254740991"],
    [-1, "-1"],
    [-0, "0"],
    [1.5, "1.5"],
    [12345678901234567890n, "12345678901234567890"],
    [-5n, "-5"],
  ];
  for (const [value, expected] of cases) {
    assert.equal(
      text(encodeCommand(["INCRBY", "n", value])),
      `*3\r\n$6\r\nINCRBY\r\n$1\r\nn\r\n$${expected.length}\r\n${expected}\r\n`,
    );
  }
});

test("encodeCommand() copies Uint8Array arguments byte for byte, CRLF included", () => {
  const value = new Uint8Array([...allBytes, 13, 10, 13, 10, 0]);
  const encoded = encodeCommand(["SET", "k", value]);
  const header = `*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$${value.length}\r\n`;
  assert.equal(text(encoded.subarray(0, header.length)), header);
  assert.deepStrictEqual(encoded.subarray(header.length, header.length + value.length), value);
  assert.equal(encoded.length, commandByteLength(["SET", "k", value]));
});

test("encodeCommand() rejects empty commands and unsupported arguments", () => {
  assert.throws(() => encodeCommand([]), TypeError);
  assert.throws(() => encodeCommand(["GET", null as unknown as string]), TypeError);
  assert.throws(() => encodeCommand(["GET", undefined as unknown as string]), TypeError);
  assert.throws(() => encodeCommand(["SET", "k", true as unknown as string]), TypeError);
  assert.throws(() => encodeCommand(["ZADD", "z", NaN, "m"]), RangeError);
  assert.throws(() => encodeCommand(["ZADD", "z", Infinity, "m"]), RangeError);
});

test("encodeCommands() packs several commands into one buffer", () => {
  const commands = [["MULTI"], ["SET", "k", "v"], ["INCRBY", "n", 5], ["EXEC"]];
  const packed = encodeCommands(commands);
  assert.equal(text(packed), commands.map((c) => text(encodeCommand(c))).join(""));
  // writeCommand at an offset, into a caller's buffer.
  const buffer = new Uint8Array(packed.length + 3);
  let offset = 3;
  for (const command of commands) offset = writeCommand(buffer, offset, command);
  assert.equal(offset, buffer.length);
  assert.deepStrictEqual(buffer.subarray(3), packed);
});

test("RespDecoder() decodes every RESP2 reply type", () => {
  const stream = "+OK\r\n+QUEUED\r\n+\r\n:0\r\n:-42\r\n:9007199254740991\r\n$5\r\nhello\r\n" +
    "$0\r\n\r\n$-1\r\n*-1\r\n*0\r\n*3\r\n$1\r\na\r\n$-1\r\n:7\r\n" +
    "-ERR unknown command 'FOO'\r\n-WRONGTYPE Operation against a key\r\n";
  assert.deepStrictEqual(decodeAll(bytes(stream)), [
    "OK",
    "QUEUED",
    "",
    0,
    -42,
    9007199254740991,
    bytes("hello"),
    new Uint8Array(0),
    null,
    null,
    [],
    [bytes("a"), null, 7],
    {
      error: "Redis replied with an error: ERR unknown command 'FOO'",
      code: "ERR",
    },
    { error: "Redis replied with an error: WRONGTYPE Operation against a key", code: "WRONGTYPE" },
  ]);
});

test("RespDecoder() emits error replies as RedisReplyError values", () => {
  const replies: RedisReply[] = [];
  new RespDecoder((reply) => replies.push(reply)).feed(
    bytes("-NOAUTH Authentication required.\r\n"),
  );
  const error = replies[0];
  assert.ok(error instanceof RedisReplyError);
  assert.equal(error.code, "NOAUTH");
  assert.match(error.message, /Authentication required/);
});

test("RespDecoder() reads bulk strings by length: CRLF and all 256 byte values survive", () => {
  const value = new Uint8Array([13, 10, ...allBytes, 13, 10, 36, 45, 49, 13, 10]);
  const header = bytes(`$${value.length}\r\n`);
  const stream = new Uint8Array(header.length + value.length + 6);
  stream.set(header, 0);
  stream.set(value, header.length);
  stream.set(bytes("\r\n:1\r\n"), header.length + value.length);
  assert.deepStrictEqual(decodeAll(stream), [value, 1]);
});

test("RespDecoder() decodes nested arrays", () => {
  const stream = "*3\r\n*2\r\n:1\r\n*1\r\n$3\r\nx\ry\r\n*0\r\n*2\r\n*-1\r\n-ERR inner\r\n";
  assert.deepStrictEqual(decodeAll(bytes(stream)), [
    [[1, [bytes("x\ry")]], [], [null, {
      error: "Redis replied with an error: ERR inner",
      code: "ERR",
    }]],
  ]);
});

/** A stream mixing every shape, with values holding CRLF and binary bytes. */
function mixedStream(): Uint8Array {
  const parts: Uint8Array[] = [
    bytes("+OK\r\n:12345\r\n$-1\r\n"),
    bytes(`$${allBytes.length}\r\n`),
    allBytes,
    bytes("\r\n*4\r\n$4\r\na\r\nb\r\n:-1\r\n*2\r\n+PONG\r\n$0\r\n\r\n-ERR x\r\n"),
    bytes("*-1\r\n$2\r\n\r\n\r\n-WRONGTYPE bad\r\n*0\r\n+done\r\n"),
  ];
  let total = 0;
  for (const part of parts) total += part.length;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

test("RespDecoder() gives the same replies when split at every byte boundary", () => {
  const stream = mixedStream();
  const expected = decodeAll(stream);
  assert.equal(expected.length, 10);
  for (let i = 0; i <= stream.length; i++) {
    assert.deepStrictEqual(
      decodeAll(stream.subarray(0, i), stream.subarray(i)),
      expected,
      `at ${i}`,
    );
  }
  // Three pieces, every pair of cut points.
  for (let i = 0; i <= stream.length; i += 3) {
    for (let j = i; j <= stream.length; j += 5) {
      assert.deepStrictEqual(
        decodeAll(stream.subarray(0, i), stream.subarray(i, j), stream.subarray(j)),
        expected,
      );
    }
  }
  // One byte at a time.
  const oneByOne = Array.from({ length: stream.length }, (_, i) => stream.subarray(i, i + 1));
  assert.deepStrictEqual(decodeAll(...oneByOne), expected);
});

test("RespDecoder() copies what it keeps, so a reused read buffer is safe", () => {
  const stream = mixedStream();
  const expected = decodeAll(stream);
  const replies: Plain[] = [];
  const decoder = new RespDecoder((reply) => replies.push(plain(reply)));
  const buffer = new Uint8Array(7);
  for (let i = 0; i < stream.length; i += 7) {
    const n = Math.min(7, stream.length - i);
    buffer.set(stream.subarray(i, i + n));
    decoder.feed(buffer.subarray(0, n));
    buffer.fill(0xee); // the transport overwrites its buffer with the next read
  }
  assert.deepStrictEqual(replies, expected);
});

test("RespDecoder() with freshChunks returns views into the chunks, not copies", () => {
  const stream = mixedStream();
  const expected = decodeAll(stream);
  const chunk = stream.slice();
  const replies: RedisReply[] = [];
  const decoder = new RespDecoder((reply) => replies.push(reply), { freshChunks: true });
  decoder.feed(chunk);
  assert.deepStrictEqual(replies.map(plain), expected);
  const bulk = replies[3];
  assert.ok(bulk instanceof Uint8Array && bulk.length === 256);
  assert.equal(bulk.buffer, chunk.buffer, "a view, not a copy");
  // Split anywhere, the values are still right (split values are copied into their own buffer).
  for (let i = 0; i <= stream.length; i += 7) {
    const parts: Plain[] = [];
    const split = new RespDecoder((reply) => parts.push(plain(reply)), { freshChunks: true });
    split.feed(stream.slice(0, i));
    split.feed(stream.slice(i));
    assert.deepStrictEqual(parts, expected);
  }
});

test("RespDecoder() decodes big replies fed in chunks", () => {
  // A 1 MiB bulk string of pseudo-random bytes, in 1000-byte chunks.
  const big = new Uint8Array(1 << 20);
  let seed = 1;
  for (let i = 0; i < big.length; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    big[i] = seed >>> 24;
  }
  const header = bytes(`$${big.length}\r\n`);
  const stream = new Uint8Array(header.length + big.length + 2);
  stream.set(header);
  stream.set(big, header.length);
  stream.set(bytes("\r\n"), header.length + big.length);
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < stream.length; i += 1000) chunks.push(stream.subarray(i, i + 1000));
  const [reply] = decodeAll(...chunks);
  assert.ok(reply instanceof Uint8Array);
  assert.equal(reply.length, big.length);
  assert.deepStrictEqual(reply, big);

  // An array of 10,000 values (like LRANGE), split into 4 KiB chunks.
  const items = Array.from({ length: 10_000 }, (_, i) => `value-${i}\r\n`);
  const array = bytes(
    `*${items.length}\r\n` + items.map((item) => `$${bytes(item).length}\r\n${item}\r\n`).join(""),
  );
  const arrayChunks: Uint8Array[] = [];
  for (let i = 0; i < array.length; i += 4096) arrayChunks.push(array.subarray(i, i + 4096));
  const [list] = decodeAll(...arrayChunks);
  assert.ok(Array.isArray(list));
  assert.equal(list.length, items.length);
  assert.deepStrictEqual(list[9_999], bytes("value-9999\r\n"));
});

test("RespDecoder() decodes what encodeCommand() writes (commands are RESP arrays)", () => {
  const command = ["SET", "clé", new Uint8Array([0, 13, 10, 255]), 60, 12n];
  assert.deepStrictEqual(decodeAll(encodeCommand(command)), [[
    bytes("SET"),
    bytes("clé"),
    new Uint8Array([0, 13, 10, 255]),
    bytes("60"),
    bytes("12"),
  ]]);
});

test("RespDecoder() maps RESP3 types onto RESP2 shapes", () => {
  const stream = "_\r\n#t\r\n#f\r\n,3.14\r\n(12345678901234567890\r\n=8\r\ntxt:hi\r\n\r\n" +
    "!9\r\nERR boom!\r\n%1\r\n+k\r\n:1\r\n~2\r\n:1\r\n:2\r\n>2\r\n+a\r\n+b\r\n" +
    "|1\r\n+meta\r\n+data\r\n+after-attribute\r\n";
  assert.deepStrictEqual(decodeAll(bytes(stream)), [
    null,
    1,
    0,
    bytes("3.14"),
    bytes("12345678901234567890"),
    bytes("hi\r\n"),
    { error: "Redis replied with an error: ERR boom!", code: "ERR" },
    ["k", 1],
    [1, 2],
    ["a", "b"],
    "after-attribute",
  ]);
});

test("RespDecoder() passes depth and index to createError", () => {
  const seen: [string, number, number][] = [];
  const replies: RedisReply[] = [];
  const decoder = new RespDecoder((reply) => replies.push(reply), {
    createError: (message, depth, index) => {
      seen.push([message, depth, index]);
      return new RedisReplyError(message, "EXEC");
    },
  });
  decoder.feed(bytes("-ERR top\r\n*3\r\n+OK\r\n-ERR second\r\n-ERR third\r\n"));
  assert.deepStrictEqual(seen, [["ERR top", 0, 0], ["ERR second", 1, 1], ["ERR third", 1, 2]]);
  assert.equal((replies[0] as RedisReplyError).command, "EXEC");
});

test("RespDecoder() rejects bytes that are not RESP with RedisProtocolError", () => {
  for (const bad of ["?what\r\n", ":12a\r\n", "$3\r\nabcd\r\n", "$3\r\nabc\rX", "+OK\n"]) {
    const decoder = new RespDecoder(() => {});
    assert.throws(() => decoder.feed(bytes(bad)), RedisProtocolError, bad);
    // A connection error: what the connection owed fails as if it had dropped.
    assert.throws(() => new RespDecoder(() => {}).feed(bytes(bad)), RedisConnectionError, bad);
  }
});
