// Stored payloads built to exhaust a decoder: headers that declare far more than the bytes hold,
// nesting hundreds of thousands deep, millions of one-byte values. Each is at most a few MB, so
// any memory it makes a decoder use beyond that is the decoder's fault.
import type { DecodeLimits } from "../src/wire/serialization/decode_limits.ts";

/** A payload and what reading it must give. */
export interface HostilePayload {
  name: string;
  serializer: "json" | "msgpack";
  /** Builds the bytes (on demand, so a process holds one payload at a time). */
  bytes: () => Uint8Array;
  /** Limits to read it with (the defaults when absent). */
  limits?: DecodeLimits;
  /** What the DecodeError's message must say (the limit or the declared size that was hit). */
  error: RegExp;
}

const text = new TextEncoder();

function u32(n: number): number[] {
  return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}

/**
 * `depth` container headers, each the first item of the one before and each declaring as many
 * entries as the bytes after it could hold, then `filler` one-byte values: before the fix every
 * level allocated its declared size up front (depth x filler x 8 bytes).
 */
function nestedClaims(marker: 0xdc | 0xdd | 0xdf, depth: number, filler: number): Uint8Array {
  const header = marker === 0xdc ? 3 : 5;
  const perEntry = marker === 0xdf ? 2 : 1;
  const bytes = new Uint8Array(depth * header + filler);
  let pos = 0;
  for (let level = 0; level < depth; level++) {
    const left = bytes.length - pos - header;
    const claim = Math.min(Math.floor(left / perEntry), marker === 0xdc ? 0xffff : 0xffff_ffff);
    bytes[pos] = marker;
    if (marker === 0xdc) bytes.set([claim >>> 8, claim & 0xff], pos + 1);
    else bytes.set(u32(claim), pos + 1);
    pos += header;
  }
  // Map keys must be strings: fill with empty fixstr keys and values (0xa0) for maps.
  bytes.fill(marker === 0xdf ? 0xa0 : 0x00, pos);
  return bytes;
}

function repeated(prefix: number[], byte: number, count: number): Uint8Array {
  const bytes = new Uint8Array(prefix.length + count).fill(byte);
  bytes.set(prefix);
  return bytes;
}

/** The hostile payloads, each with the DecodeError it must produce. */
export function hostilePayloads(): HostilePayload[] {
  const deepJson = 1_000_000;
  return [
    {
      name: "msgpack: 1,000 nested array32 headers, each claiming the rest of 300 KB",
      serializer: "msgpack",
      bytes: () => nestedClaims(0xdd, 1000, 300_000),
      error: /maxItems limit of 1000000/,
    },
    {
      name: "msgpack: the same with maxItems: Infinity (arrays grow as items arrive)",
      serializer: "msgpack",
      bytes: () => nestedClaims(0xdd, 1000, 300_000),
      limits: { maxItems: Infinity },
      error: /Truncated msgpack: the value at byte 305000 needs 1 more byte/,
    },
    {
      name: "msgpack: 1,000 nested array16 headers claiming 65,535 items each",
      serializer: "msgpack",
      bytes: () => nestedClaims(0xdc, 1000, 400_000),
      limits: { maxItems: Infinity },
      error: /Truncated msgpack: the value at byte 403000 needs 1 more byte/,
    },
    {
      name: "msgpack: 1,000 nested map32 headers, each claiming the rest",
      serializer: "msgpack",
      bytes: () => nestedClaims(0xdf, 1000, 300_000),
      error: /maxItems limit of 1000000/,
    },
    {
      name: "msgpack: str32 declaring 4 GiB",
      serializer: "msgpack",
      bytes: () => new Uint8Array([0xdb, 0xff, 0xff, 0xff, 0xff, 0x61]),
      error: /the str at byte 0 declares 4294967295 bytes but only 1 byte/,
    },
    {
      name: "msgpack: bin32 declaring 4 GiB",
      serializer: "msgpack",
      bytes: () => new Uint8Array([0xc6, 0xff, 0xff, 0xff, 0xff, 0x00]),
      error: /the bin at byte 0 declares 4294967295 bytes/,
    },
    {
      name: "msgpack: ext32 declaring 4 GiB",
      serializer: "msgpack",
      bytes: () => new Uint8Array([0xc9, 0xff, 0xff, 0xff, 0xff, 0x01]),
      error: /the ext at byte 0 declares 4294967296 bytes/,
    },
    {
      name: "msgpack: 2,000,000 empty arrays in one array (2 MB)",
      serializer: "msgpack",
      bytes: () => repeated([0xdd, ...u32(2_000_000)], 0x90, 2_000_000),
      error: /declares 2000000 items, which exceeds the maxItems limit of 1000000/,
    },
    {
      name: "msgpack: 300,000 nested fixarrays",
      serializer: "msgpack",
      bytes: () => repeated([], 0x91, 300_000),
      error: /nested deeper than the maxDepth limit of 1024/,
    },
    {
      name: "JSON: 100,000 unclosed [",
      serializer: "json",
      bytes: () => text.encode("[".repeat(100_000)),
      error: /maxDepth limit of 1024/,
    },
    {
      name: "JSON: 1,000,000 nested arrays that JSON.parse accepts (2 MB)",
      serializer: "json",
      bytes: () => text.encode("[".repeat(deepJson) + "]".repeat(deepJson)),
      error: /maxDepth limit of 1024/,
    },
    {
      name: 'JSON: 100,000 nested {"a": objects',
      serializer: "json",
      bytes: () => text.encode('{"a": '.repeat(100_000) + "1" + "}".repeat(100_000)),
      error: /maxDepth limit of 1024/,
    },
    {
      name: "JSON: 100,000 nested arrays after a NaN (the exact parser's path)",
      serializer: "json",
      bytes: () => text.encode("[NaN, " + "[".repeat(100_000) + "]".repeat(100_001)),
      error: /maxDepth limit of 1024/,
    },
    {
      name: "JSON: 100,000 nested arrays inside a kombu marker",
      serializer: "json",
      bytes: () =>
        text.encode(
          '{"__type__": "uuid", "__value__": ' + "[".repeat(100_000) + "]".repeat(100_000) + "}",
        ),
      error: /maxDepth limit of 1024/,
    },
    {
      name: "JSON: 3,000,000 empty arrays (12 MB)",
      serializer: "json",
      bytes: () => text.encode("[" + "[], ".repeat(3_000_000) + "[]]"),
      error: /maxItems limit of 1000000/,
    },
    {
      name: "JSON: 300,000 integers beyond 2^53 (the bigint walk)",
      serializer: "json",
      bytes: () => text.encode("[" + "9007199254740993, ".repeat(300_000) + "0]"),
      limits: { maxItems: 100_000 },
      error: /maxItems limit of 100000/,
    },
  ];
}
