/**
 * msgpack, the way kombu's `msgpack` serializer uses it: `packb(obj, use_bin_type=True)` and
 * `unpackb(s, raw=False)`.
 *
 * The encoder picks exactly the formats Python's msgpack picks, so a payload written here is
 * byte-for-byte what a Python worker would have stored for the same value: maps in insertion
 * order, strings as fixstr/str8/str16/str32, `Uint8Array` as bin, integers in the smallest format,
 * floats as float64. JavaScript has a single number type, so integral numbers are written as
 * integers; wrap a number in {@linkcode PyFloat} when Python must see a `float`.
 *
 * @example Round trip of a Celery task meta
 * ```ts
 * import { decodeMsgpack, encodeMsgpack } from "./msgpack.ts";
 *
 * const meta = { status: "SUCCESS", result: 3, traceback: null, children: [] };
 * const bytes = encodeMsgpack(meta);
 * console.assert(bytes[0] === 0x84); // a fixmap with four entries
 * console.assert(JSON.stringify(decodeMsgpack(bytes)) === JSON.stringify(meta));
 * ```
 *
 * @module
 */
import { DecodeError, EncodeError } from "../../errors.ts";
import { type DecodeLimits, resolveDecodeLimits } from "./decode_limits.ts";
import { PyFloat } from "./python_types.ts";

/** Options for {@linkcode decodeMsgpack}. */
export interface MsgpackDecodeOptions {
  /**
   * Return integral floats (`3.0`, `-0.0`, from float64 or float32) as {@linkcode PyFloat}
   * instead of plain numbers, so that encoding the decoded value again reproduces the same bytes
   * and Python still sees a `float`. Non-integral floats, NaN and the infinities stay numbers
   * (they are encoded as floats anyway).
   * @default {false}
   */
  preserveFloats?: boolean | undefined;
  /**
   * What to do with a map that has a key which is not a string. Python's `unpackb` (strict map
   * keys, its default) refuses every key that is neither `str` nor `bytes`. With `false` such a
   * map is refused too (`DecodeError`); with `true` it is returned as a `Map`, keeping the keys'
   * types and order (and `encodeMsgpack` writes a `Map` back as a map).
   * @default {false}
   */
  allowNonStringKeys?: boolean | undefined;
  /**
   * How deep containers may nest and how many values the payload may hold; each violation is a
   * `DecodeError` naming the limit.
   * @default {{ maxDepth: 1024, maxItems: 1_000_000 }}
   */
  limits?: DecodeLimits | undefined;
}

// ---------------------------------------------------------------------------------------------
// Encoder
// ---------------------------------------------------------------------------------------------

/** Containers may nest this deep; deeper (or cyclic) values are refused like Python's packer. */
const MAX_DEPTH = 512;
/** Strings shorter than this are UTF-8 encoded by hand; longer ones with `encodeInto`. */
const SHORT_STRING = 48;
/** A scratch buffer that grew past this size is not kept for the next call. */
const KEEP_SCRATCH_MAX = 1 << 20;

const TWO_32 = 0x1_0000_0000;
const TWO_63 = 2 ** 63;
const TWO_64 = 2 ** 64;
const UINT64_MAX = 0xffff_ffff_ffff_ffffn;
const INT64_MIN = -0x8000_0000_0000_0000n;

const textEncoder = new TextEncoder();
const hasIsWellFormed = typeof (String.prototype as { isWellFormed?: unknown }).isWellFormed ===
  "function";

class Encoder {
  buf: Uint8Array;
  view: DataView;
  pos = 0;

  constructor(size: number) {
    this.buf = new Uint8Array(size);
    this.view = new DataView(this.buf.buffer);
  }

  ensure(extra: number): void {
    const need = this.pos + extra;
    if (need > this.buf.length) this.grow(need);
  }

  grow(need: number): void {
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  value(value: unknown, depth: number): void {
    switch (typeof value) {
      case "string":
        this.string(value);
        return;
      case "number":
        this.number(value);
        return;
      case "boolean":
        this.ensure(1);
        this.buf[this.pos++] = value ? 0xc3 : 0xc2;
        return;
      case "bigint":
        this.bigint(value);
        return;
      case "undefined":
        this.ensure(1);
        this.buf[this.pos++] = 0xc0;
        return;
      case "object": {
        if (value === null) {
          this.ensure(1);
          this.buf[this.pos++] = 0xc0;
          return;
        }
        if (depth >= MAX_DEPTH) {
          throw new EncodeError(
            `Cannot encode a value nested deeper than ${MAX_DEPTH} levels as msgpack ` +
              "(is it cyclic?)",
          );
        }
        const proto = Object.getPrototypeOf(value);
        if (proto === Object.prototype) {
          this.object(value as Record<string, unknown>, depth + 1);
        } else if (Array.isArray(value)) {
          this.array(value, depth + 1);
        } else if (value instanceof Uint8Array) {
          this.bin(value);
        } else if (value instanceof PyFloat) {
          this.float(value.value);
        } else if (value instanceof Map) {
          this.map(value, depth + 1);
        } else if (proto === null) {
          this.object(value as Record<string, unknown>, depth + 1);
        } else {
          throw unsupported(value);
        }
        return;
      }
      default:
        throw new EncodeError(`Cannot encode a ${typeof value} as msgpack`);
    }
  }

  number(n: number): void {
    if (Number.isInteger(n)) {
      if (n >= 0) {
        if (n < TWO_64) return this.uint(n);
      } else if (n >= -TWO_63) {
        return this.int(n);
      }
    }
    this.float(n);
  }

  /** A non-negative integer below 2^64, in the smallest format. */
  uint(n: number): void {
    this.ensure(9);
    const buf = this.buf;
    const pos = this.pos;
    if (n < 0x80) {
      buf[pos] = n;
      this.pos = pos + 1;
    } else if (n <= 0xff) {
      buf[pos] = 0xcc;
      buf[pos + 1] = n;
      this.pos = pos + 2;
    } else if (n <= 0xffff) {
      buf[pos] = 0xcd;
      buf[pos + 1] = n >>> 8;
      buf[pos + 2] = n & 0xff;
      this.pos = pos + 3;
    } else if (n <= 0xffff_ffff) {
      buf[pos] = 0xce;
      this.view.setUint32(pos + 1, n);
      this.pos = pos + 5;
    } else {
      buf[pos] = 0xcf;
      this.view.setUint32(pos + 1, Math.floor(n / TWO_32));
      this.view.setUint32(pos + 5, n % TWO_32);
      this.pos = pos + 9;
    }
  }

  /** A negative integer not below -2^63, in the smallest format. */
  int(n: number): void {
    this.ensure(9);
    const buf = this.buf;
    const pos = this.pos;
    if (n >= -0x20) {
      buf[pos] = n & 0xff;
      this.pos = pos + 1;
    } else if (n >= -0x80) {
      buf[pos] = 0xd0;
      buf[pos + 1] = n & 0xff;
      this.pos = pos + 2;
    } else if (n >= -0x8000) {
      buf[pos] = 0xd1;
      this.view.setInt16(pos + 1, n);
      this.pos = pos + 3;
    } else if (n >= -0x8000_0000) {
      buf[pos] = 0xd2;
      this.view.setInt32(pos + 1, n);
      this.pos = pos + 5;
    } else {
      buf[pos] = 0xd3;
      const hi = Math.floor(n / TWO_32);
      this.view.setInt32(pos + 1, hi);
      this.view.setUint32(pos + 5, n - hi * TWO_32);
      this.pos = pos + 9;
    }
  }

  bigint(n: bigint): void {
    if (n >= 0n) {
      if (n <= 0xffff_ffffn) return this.uint(Number(n));
      if (n <= UINT64_MAX) {
        this.ensure(9);
        this.buf[this.pos] = 0xcf;
        this.view.setBigUint64(this.pos + 1, n);
        this.pos += 9;
        return;
      }
    } else {
      if (n >= -0x8000_0000n) return this.int(Number(n));
      if (n >= INT64_MIN) {
        this.ensure(9);
        this.buf[this.pos] = 0xd3;
        this.view.setBigInt64(this.pos + 1, n);
        this.pos += 9;
        return;
      }
    }
    throw new EncodeError(
      `Cannot encode the integer ${n} as msgpack: it is outside the 64-bit range ` +
        "(-2^63 to 2^64-1)",
    );
  }

  float(n: number): void {
    this.ensure(9);
    this.buf[this.pos] = 0xcb;
    this.view.setFloat64(this.pos + 1, n);
    this.pos += 9;
  }

  string(s: string): void {
    const length = s.length;
    // UTF-8 needs at most 3 bytes per UTF-16 code unit (a surrogate pair: 4 bytes for 2 units).
    const max = length * 3;
    this.ensure(max + 5);
    const header = max < 0x20 ? 1 : max <= 0xff ? 2 : max <= 0xffff ? 3 : 5;
    const start = this.pos + header;
    let end: number;
    if (length < SHORT_STRING) {
      end = writeUtf8(s, this.buf, start);
    } else {
      if (hasIsWellFormed && !(s as unknown as { isWellFormed(): boolean }).isWellFormed()) {
        throw loneSurrogate();
      }
      end = start + textEncoder.encodeInto(s, this.buf.subarray(start)).written;
    }
    const size = end - start;
    const need = size < 0x20 ? 1 : size <= 0xff ? 2 : size <= 0xffff ? 3 : 5;
    if (need !== header) this.buf.copyWithin(this.pos + need, start, end);
    this.header(size, need, 0xa0, 0xd9);
    this.pos += need + size;
  }

  /** Writes a str/bin/array/map header of `width` bytes (1 = fix format) at `pos`. */
  header(size: number, width: number, fix: number, first: number): void {
    const buf = this.buf;
    const pos = this.pos;
    if (width === 1) {
      buf[pos] = fix | size;
    } else if (width === 2) {
      buf[pos] = first;
      buf[pos + 1] = size;
    } else if (width === 3) {
      buf[pos] = first + 1;
      buf[pos + 1] = size >>> 8;
      buf[pos + 2] = size & 0xff;
    } else {
      buf[pos] = first + 2;
      this.view.setUint32(pos + 1, size);
    }
  }

  bin(bytes: Uint8Array): void {
    const size = bytes.length;
    if (size > 0xffff_ffff) throw tooLarge("bytes", size);
    this.ensure(size + 5);
    const width = size <= 0xff ? 2 : size <= 0xffff ? 3 : 5;
    this.header(size, width, 0, 0xc4);
    this.buf.set(bytes, this.pos + width);
    this.pos += width + size;
  }

  containerHeader(size: number, fix: number, first: number): void {
    if (size > 0xffff_ffff) throw tooLarge("container", size);
    const width = size < 16 ? 1 : size <= 0xffff ? 3 : 5;
    this.ensure(width);
    // array16 is 0xdc, map16 0xde: `first` is the 16-bit variant minus one, as for str/bin.
    this.header(size, width, fix, first);
    this.pos += width;
  }

  array(items: readonly unknown[], depth: number): void {
    const length = items.length;
    this.containerHeader(length, 0x90, 0xdb);
    for (let i = 0; i < length; i++) this.value(items[i], depth);
  }

  map(map: ReadonlyMap<unknown, unknown>, depth: number): void {
    this.containerHeader(map.size, 0x80, 0xdd);
    for (const [key, value] of map) {
      this.value(key, depth);
      this.value(value, depth);
    }
  }

  object(object: Record<string, unknown>, depth: number): void {
    const keys = Object.keys(object);
    let count = keys.length;
    for (let i = 0; i < keys.length; i++) {
      if (object[keys[i]!] === undefined) count--;
    }
    this.containerHeader(count, 0x80, 0xdd);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      const value = object[key];
      if (value === undefined) continue;
      this.string(key);
      this.value(value, depth);
    }
  }
}

/** UTF-8 encodes a short string at `pos`; returns the end. Refuses lone surrogates. */
function writeUtf8(s: string, buf: Uint8Array, pos: number): number {
  const length = s.length;
  for (let i = 0; i < length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) {
      buf[pos++] = c;
    } else if (c < 0x800) {
      buf[pos++] = 0xc0 | (c >> 6);
      buf[pos++] = 0x80 | (c & 0x3f);
    } else if (c < 0xd800 || c > 0xdfff) {
      buf[pos++] = 0xe0 | (c >> 12);
      buf[pos++] = 0x80 | ((c >> 6) & 0x3f);
      buf[pos++] = 0x80 | (c & 0x3f);
    } else {
      const d = i + 1 < length ? s.charCodeAt(i + 1) : 0;
      if (c > 0xdbff || d < 0xdc00 || d > 0xdfff) throw loneSurrogate();
      i++;
      const cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
      buf[pos++] = 0xf0 | (cp >> 18);
      buf[pos++] = 0x80 | ((cp >> 12) & 0x3f);
      buf[pos++] = 0x80 | ((cp >> 6) & 0x3f);
      buf[pos++] = 0x80 | (cp & 0x3f);
    }
  }
  return pos;
}

function loneSurrogate(): EncodeError {
  return new EncodeError(
    "Cannot encode a string with a lone UTF-16 surrogate as msgpack: it is not valid Unicode " +
      "(Python refuses such strings too)",
  );
}

function tooLarge(what: string, size: number): EncodeError {
  return new EncodeError(
    `Cannot encode a ${what} of ${size} items as msgpack: the limit is 2^32-1`,
  );
}

function unsupported(value: object): EncodeError {
  if (value instanceof Date) {
    return new EncodeError(
      "Cannot encode a Date as msgpack: kombu's msgpack serializer does not support datetime " +
        "(store an ISO 8601 string instead)",
    );
  }
  const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
  return new EncodeError(
    `Cannot encode ${typeof name === "string" && name ? `a ${name}` : "this object"} as msgpack: ` +
      "only null, booleans, numbers, bigints, strings, Uint8Array, arrays, Maps, plain objects " +
      "and PyFloat are supported",
  );
}

let scratch: Encoder | undefined;

/**
 * Encodes a value as msgpack, exactly as Python's `msgpack.packb(value, use_bin_type=True)`
 * encodes the corresponding Python value (kombu's `msgpack` serializer).
 *
 * | JavaScript | msgpack (Python) |
 * |---|---|
 * | `null`, `undefined` | nil (`None`) |
 * | `boolean` | true/false |
 * | integral `number` from -2^63 to 2^64-1, `bigint` in that range | the smallest int format (`int`) |
 * | other `number` (fractional, NaN, ±Infinity, integral beyond 64 bits), `PyFloat` | float64 (`float`) |
 * | `string` | fixstr/str8/str16/str32 (`str`) |
 * | `Uint8Array` | bin8/bin16/bin32 (`bytes`) |
 * | array | array (`list`) |
 * | plain object (string keys, insertion order), `Map` | map (`dict`) |
 *
 * Object properties whose value is `undefined` are left out, as `JSON.stringify` does.
 *
 * @param value The value to encode.
 * @returns The encoded bytes (a fresh array the caller owns).
 * @throws {EncodeError} for a `Date` (kombu's msgpack cannot encode datetime either), a class
 * instance, a function or symbol, a `bigint` outside the 64-bit range, a string with a lone
 * surrogate, or a value nested deeper than 512 levels (a cycle).
 *
 * @example Encoding a Celery task meta
 * ```ts
 * import { encodeMsgpack } from "./msgpack.ts";
 *
 * const bytes = encodeMsgpack({ status: "SUCCESS", result: 3, traceback: null });
 * console.assert(bytes[0] === 0x83); // fixmap, 3 entries
 * console.assert(bytes[1] === 0xa6); // fixstr, 6 bytes: "status"
 * ```
 *
 * @example Making Python see a float
 * ```ts
 * import { encodeMsgpack } from "./msgpack.ts";
 * import { PyFloat } from "./python_types.ts";
 *
 * console.assert(encodeMsgpack(3)[0] === 0x03); // int 3
 * console.assert(encodeMsgpack(new PyFloat(3))[0] === 0xcb); // float 3.0
 * ```
 */
export function encodeMsgpack(value: unknown): Uint8Array {
  let encoder = scratch;
  // A getter could call us again while the scratch encoder is in use: give it its own.
  if (encoder === undefined) encoder = new Encoder(256);
  else scratch = undefined;
  encoder.pos = 0;
  try {
    encoder.value(value, 0);
    return encoder.buf.slice(0, encoder.pos);
  } finally {
    if (encoder.buf.length <= KEEP_SCRATCH_MAX) scratch = encoder;
  }
}

// ---------------------------------------------------------------------------------------------
// Decoder
// ---------------------------------------------------------------------------------------------

/**
 * Arrays declaring up to this many items are allocated at their size; longer ones grow as their
 * items arrive, so a header claiming millions of items costs nothing until the bytes are there.
 */
const PREALLOCATE_MAX = 64;
const utf8Decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

// Floats are read through one shared 8-byte scratch rather than a DataView per call.
const f64 = new Float64Array(1);
const f64Bytes = new Uint8Array(f64.buffer);
const f32 = new Float32Array(1);
const f32Bytes = new Uint8Array(f32.buffer);
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function readFloat64(bytes: Uint8Array, pos: number): number {
  if (littleEndian) { for (let i = 0; i < 8; i++) f64Bytes[7 - i] = bytes[pos + i]!; }
  else for (let i = 0; i < 8; i++) f64Bytes[i] = bytes[pos + i]!;
  return f64[0]!;
}

function readFloat32(bytes: Uint8Array, pos: number): number {
  if (littleEndian) { for (let i = 0; i < 4; i++) f32Bytes[3 - i] = bytes[pos + i]!; }
  else for (let i = 0; i < 4; i++) f32Bytes[i] = bytes[pos + i]!;
  return f32[0]!;
}

function readUint16(bytes: Uint8Array, pos: number): number {
  return (bytes[pos]! << 8) | bytes[pos + 1]!;
}

function readUint32(bytes: Uint8Array, pos: number): number {
  return bytes[pos]! * 0x100_0000 +
    ((bytes[pos + 1]! << 16) | (bytes[pos + 2]! << 8) | bytes[pos + 3]!);
}

function readInt32(bytes: Uint8Array, pos: number): number {
  return (bytes[pos]! << 24) | (bytes[pos + 1]! << 16) | (bytes[pos + 2]! << 8) | bytes[pos + 3]!;
}

/** Short ASCII strings (map keys, states) are interned here: decoding them is then a lookup. */
const CACHE_SLOTS = 4096;
const CACHED_MAX = 16;
const stringCache: (string | undefined)[] = new Array<string | undefined>(CACHE_SLOTS);
/** Strings up to this many bytes are decoded by hand when ASCII (TextDecoder has a high fixed cost). */
const SHORT_DECODE = 64;

function asciiString(bytes: Uint8Array, pos: number, size: number): string {
  const units = new Array<number>(size);
  for (let i = 0; i < size; i++) units[i] = bytes[pos + i]!;
  return String.fromCharCode.apply(null, units);
}

class Decoder {
  readonly bytes: Uint8Array;
  readonly preserveFloats: boolean;
  readonly allowNonStringKeys: boolean;
  readonly maxDepth: number;
  readonly maxItems: number;
  /** What is left of `maxItems`: every container's declared count is taken from it up front. */
  itemsLeft: number;
  pos = 0;

  constructor(bytes: Uint8Array, options: MsgpackDecodeOptions) {
    this.bytes = bytes;
    this.preserveFloats = options.preserveFloats ?? false;
    this.allowNonStringKeys = options.allowNonStringKeys ?? false;
    const limits = resolveDecodeLimits(options.limits);
    this.maxDepth = limits.maxDepth;
    this.maxItems = limits.maxItems;
    this.itemsLeft = limits.maxItems;
  }

  /**
   * Refuses a str/bin/ext/array/map whose declared size cannot fit in the bytes left: `unit` is
   * the fewest bytes one unit takes (1 for a byte or an item, 2 for a map entry).
   */
  declared(kind: string, size: number, unit: number, start: number): void {
    const left = this.bytes.length - this.pos;
    if (size * unit > left) {
      throw new DecodeError(
        `Truncated msgpack: the ${kind} at byte ${start} declares ${size} ${
          kind === "array" ? "items" : kind === "map" ? "entries" : "bytes"
        } but only ${left} byte(s) follow`,
      );
    }
  }

  /** Checks a container's depth and takes its declared count from the item budget. */
  enter(kind: string, size: number, depth: number, start: number): void {
    if (depth >= this.maxDepth) {
      throw new DecodeError(
        `Invalid msgpack: containers nested deeper than the maxDepth limit of ${this.maxDepth} ` +
          `(the ${kind} at byte ${start})`,
      );
    }
    if (size > this.itemsLeft) {
      throw new DecodeError(
        `Invalid msgpack: the ${kind} at byte ${start} declares ${size} ${
          kind === "array" ? "items" : "entries"
        }, which exceeds the maxItems limit of ${this.maxItems} values per payload`,
      );
    }
    this.itemsLeft -= size;
  }

  /** Throws unless `n` more bytes are available at the current position. */
  need(n: number, start: number): void {
    if (this.pos + n > this.bytes.length) {
      throw new DecodeError(
        `Truncated msgpack: the value at byte ${start} needs ${this.pos + n - this.bytes.length} ` +
          `more byte(s) than the ${this.bytes.length} given`,
      );
    }
  }

  value(depth: number): unknown {
    const start = this.pos;
    const bytes = this.bytes;
    if (start >= bytes.length) this.need(1, start);
    const type = bytes[this.pos++]!;
    if (type < 0x80) return type;
    if (type < 0x90) return this.map(type & 0x0f, depth, start);
    if (type < 0xa0) return this.array(type & 0x0f, depth, start);
    if (type < 0xc0) return this.str(type & 0x1f, start);
    if (type >= 0xe0) return type - 0x100;
    switch (type) {
      case 0xc0:
        return null;
      case 0xc2:
        return false;
      case 0xc3:
        return true;
      case 0xc4:
        return this.bin(this.length(1, start), start);
      case 0xc5:
        return this.bin(this.length(2, start), start);
      case 0xc6:
        return this.bin(this.length(4, start), start);
      case 0xc7:
      case 0xc8:
      case 0xc9:
      case 0xd4:
      case 0xd5:
      case 0xd6:
      case 0xd7:
      case 0xd8:
        return this.ext(type, start);
      case 0xca: {
        this.need(4, start);
        const f = readFloat32(bytes, this.pos);
        this.pos += 4;
        return this.float(f);
      }
      case 0xcb: {
        this.need(8, start);
        const f = readFloat64(bytes, this.pos);
        this.pos += 8;
        return this.float(f);
      }
      case 0xcc:
        return this.length(1, start);
      case 0xcd:
        return this.length(2, start);
      case 0xce:
        return this.length(4, start);
      case 0xcf: {
        this.need(8, start);
        const hi = readUint32(bytes, this.pos);
        const lo = readUint32(bytes, this.pos + 4);
        this.pos += 8;
        return hi < 0x20_0000 ? hi * TWO_32 + lo : (BigInt(hi) << 32n) | BigInt(lo);
      }
      case 0xd0: {
        this.need(1, start);
        const n = bytes[this.pos++]!;
        return n < 0x80 ? n : n - 0x100;
      }
      case 0xd1: {
        this.need(2, start);
        const n = readUint16(bytes, this.pos);
        this.pos += 2;
        return n < 0x8000 ? n : n - 0x1_0000;
      }
      case 0xd2: {
        this.need(4, start);
        const n = readInt32(bytes, this.pos);
        this.pos += 4;
        return n;
      }
      case 0xd3: {
        this.need(8, start);
        const hi = readInt32(bytes, this.pos);
        const lo = readUint32(bytes, this.pos + 4);
        this.pos += 8;
        const safe = hi >= -0x20_0000 && hi < 0x20_0000 && !(hi === -0x20_0000 && lo === 0);
        return safe ? hi * TWO_32 + lo : (BigInt(hi) << 32n) | BigInt(lo);
      }
      case 0xd9:
        return this.str(this.length(1, start), start);
      case 0xda:
        return this.str(this.length(2, start), start);
      case 0xdb:
        return this.str(this.length(4, start), start);
      case 0xdc:
        return this.array(this.length(2, start), depth, start);
      case 0xdd:
        return this.array(this.length(4, start), depth, start);
      case 0xde:
        return this.map(this.length(2, start), depth, start);
      case 0xdf:
        return this.map(this.length(4, start), depth, start);
      default: // 0xc1, the one byte msgpack never uses
        throw new DecodeError(
          `Invalid msgpack: byte 0x${type.toString(16)} at position ${start} is not a type marker`,
        );
    }
  }

  /** Reads a big-endian unsigned integer of `width` bytes (1, 2 or 4). */
  length(width: number, start: number): number {
    this.need(width, start);
    const pos = this.pos;
    this.pos = pos + width;
    if (width === 1) return this.bytes[pos]!;
    if (width === 2) return readUint16(this.bytes, pos);
    return readUint32(this.bytes, pos);
  }

  float(f: number): unknown {
    return this.preserveFloats && Number.isInteger(f) ? new PyFloat(f) : f;
  }

  bin(size: number, start: number): Uint8Array {
    this.declared("bin", size, 1, start);
    const pos = this.pos;
    this.pos = pos + size;
    return this.bytes.slice(pos, pos + size);
  }

  str(size: number, start: number): string {
    this.declared("str", size, 1, start);
    const bytes = this.bytes;
    const pos = this.pos;
    const end = pos + size;
    this.pos = end;
    if (size <= CACHED_MAX) {
      let hash = size;
      let ascii = true;
      for (let i = pos; i < end; i++) {
        const c = bytes[i]!;
        if (c >= 0x80) {
          ascii = false;
          break;
        }
        hash = (Math.imul(hash, 31) + c) | 0;
      }
      if (ascii) {
        const slot = hash & (CACHE_SLOTS - 1);
        const cached = stringCache[slot];
        if (cached !== undefined && cached.length === size) {
          let i = 0;
          while (i < size && cached.charCodeAt(i) === bytes[pos + i]) i++;
          if (i === size) return cached;
        }
        const s = asciiString(bytes, pos, size);
        stringCache[slot] = s;
        return s;
      }
    } else if (size <= SHORT_DECODE) {
      let i = pos;
      while (i < end && bytes[i]! < 0x80) i++;
      if (i === end) return asciiString(bytes, pos, size);
    }
    try {
      return utf8Decoder.decode(bytes.subarray(pos, end));
    } catch (error) {
      throw new DecodeError(
        `Invalid msgpack: the string at byte ${start} is not valid UTF-8`,
        { cause: error },
      );
    }
  }

  array(size: number, depth: number, start: number): unknown[] {
    // Every item takes at least one byte: refuse absurd sizes before building anything.
    this.declared("array", size, 1, start);
    this.enter("array", size, depth, start);
    if (size <= PREALLOCATE_MAX) {
      const items = new Array<unknown>(size);
      for (let i = 0; i < size; i++) items[i] = this.value(depth + 1);
      return items;
    }
    // Nested headers may each claim nearly all the remaining bytes: grow only as items arrive.
    const items: unknown[] = [];
    for (let i = 0; i < size; i++) items.push(this.value(depth + 1));
    return items;
  }

  map(size: number, depth: number, start: number): unknown {
    this.declared("map", size, 2, start);
    this.enter("map", size, depth, start);
    const object: Record<string, unknown> = {};
    for (let i = 0; i < size; i++) {
      const keyStart = this.pos;
      const key = this.value(depth + 1);
      if (typeof key !== "string") {
        if (!this.allowNonStringKeys) {
          throw new DecodeError(
            `Invalid map key at byte ${keyStart}: a ${describe(key)} (Python's unpackb accepts ` +
              "only str and bytes keys; pass allowNonStringKeys to decode such maps as Map)",
          );
        }
        return this.mapFrom(object, key, size - i, depth);
      }
      const value = this.value(depth + 1);
      if (key === "__proto__") {
        Object.defineProperty(object, key, {
          value,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      } else {
        object[key] = value;
      }
    }
    return object;
  }

  /** Continues a map as a `Map` once a non-string key appeared. */
  mapFrom(
    object: Record<string, unknown>,
    firstKey: unknown,
    remaining: number,
    depth: number,
  ): Map<unknown, unknown> {
    const map = new Map<unknown, unknown>(Object.entries(object));
    map.set(firstKey, this.value(depth + 1));
    for (let i = 1; i < remaining; i++) {
      const key = this.value(depth + 1);
      map.set(key, this.value(depth + 1));
    }
    return map;
  }

  ext(type: number, start: number): never {
    let size: number;
    if (type >= 0xd4) size = 1 << (type - 0xd4);
    else size = this.length(type === 0xc7 ? 1 : type === 0xc8 ? 2 : 4, start);
    this.declared("ext", 1 + size, 1, start);
    const byte = this.bytes[this.pos]!;
    const code = byte < 0x80 ? byte : byte - 0x100;
    throw new DecodeError(
      `Unsupported msgpack: ext type ${code} at byte ${start}` +
        (code === -1 ? " (a msgpack Timestamp)" : "") +
        " cannot be decoded (kombu results never contain ext types)",
    );
  }
}

function describe(value: unknown): string {
  if (value === null) return "nil";
  if (value instanceof Uint8Array) return "bin (bytes)";
  if (Array.isArray(value)) return "array";
  if (value instanceof PyFloat) return "float";
  return typeof value === "object" ? "map" : typeof value;
}

/**
 * Decodes msgpack bytes as Python's `msgpack.unpackb(data, raw=False)` does (kombu's `msgpack`
 * serializer), into JavaScript values.
 *
 * | msgpack | JavaScript |
 * |---|---|
 * | nil | `null` |
 * | true/false | `boolean` |
 * | int formats | `number`; `bigint` when beyond ±(2^53-1) |
 * | float32, float64 | `number` (`PyFloat` for integral values with `preserveFloats`) |
 * | str formats | `string` (must be valid UTF-8) |
 * | bin formats | `Uint8Array` (a copy) |
 * | array formats | array |
 * | map formats | plain object in the stored order (a `Map` with `allowNonStringKeys` when a key is not a string) |
 *
 * Note that JavaScript objects list integer-like keys (`"1"`, `"42"`) before the others, so a map
 * mixing them does not keep its stored order when encoded again.
 *
 * @param bytes The complete encoded value.
 * @param options How to represent floats and non-string map keys; the decode limits.
 * @returns The decoded value.
 * @throws {DecodeError} when the input is empty or truncated, has bytes after the value, uses the
 * reserved byte 0xc1 or an ext type (including Timestamp), holds a string that is not valid
 * UTF-8, a map key that is not a string (unless `allowNonStringKeys`), declares a str, bin, ext,
 * array or map longer than the bytes that follow, or exceeds `limits` (nesting deeper than
 * `maxDepth`, more than `maxItems` values). The message names the limit and the byte position.
 * Memory stays proportional to the bytes given, whatever the headers claim.
 *
 * @example Decoding what Python stored
 * ```ts
 * import { decodeMsgpack } from "./msgpack.ts";
 *
 * // packb({"status": "SUCCESS", "result": 3.0}, use_bin_type=True)
 * const bytes = new Uint8Array([
 *   0x82, 0xa6, ...new TextEncoder().encode("status"), 0xa7, ...new TextEncoder().encode("SUCCESS"),
 *   0xa6, ...new TextEncoder().encode("result"), 0xcb, 0x40, 0x08, 0, 0, 0, 0, 0, 0,
 * ]);
 * const meta = decodeMsgpack(bytes) as { status: string; result: number };
 * console.assert(meta.status === "SUCCESS" && meta.result === 3);
 * ```
 *
 * @example Keeping floats floats
 * ```ts
 * import { decodeMsgpack, encodeMsgpack } from "./msgpack.ts";
 * import { PyFloat } from "./python_types.ts";
 *
 * const stored = encodeMsgpack(new PyFloat(3)); // what Python writes for 3.0
 * const value = decodeMsgpack(stored, { preserveFloats: true });
 * console.assert(value instanceof PyFloat);
 * console.assert(encodeMsgpack(value).join() === stored.join());
 * ```
 */
export function decodeMsgpack(bytes: Uint8Array, options: MsgpackDecodeOptions = {}): unknown {
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError("decodeMsgpack() expects a Uint8Array");
  }
  const decoder = new Decoder(bytes, options);
  let value: unknown;
  try {
    value = decoder.value(0);
  } catch (error) {
    // maxDepth keeps recursion shallow, but a caller already deep in its own stack may still hit
    // the engine's limit: that is a payload too deep for here, not a crash.
    if (error instanceof RangeError) {
      throw new DecodeError(
        `Invalid msgpack: the value is nested too deeply for the call stack (${error.message})`,
        { cause: error },
      );
    }
    throw error;
  }
  if (decoder.pos !== bytes.length) {
    throw new DecodeError(
      `Invalid msgpack: ${bytes.length - decoder.pos} unexpected byte(s) after the value, ` +
        `starting at byte ${decoder.pos}`,
    );
  }
  return value;
}
