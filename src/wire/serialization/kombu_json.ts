/**
 * kombu's JSON serializer, byte for byte: what Python's `json.dumps` writes with kombu's
 * `JSONEncoder` (Python separators, ASCII escaping, Python float `repr`, big ints, bare `NaN`), and
 * what `kombu.utils.json.loads` reads, including kombu ≥ 5.3's `{"__type__", "__value__"}` markers.
 *
 * Python values without a JavaScript counterpart use the classes of `python_types.ts`; bytes are
 * `Uint8Array`s and integers beyond ±(2^53 − 1) are `bigint`s.
 *
 * @example Round trip
 * ```ts
 * import { decodeKombuJson, encodeKombuJson } from "./kombu_json.ts";
 * import { PyDecimal } from "./python_types.ts";
 *
 * const text = encodeKombuJson({ status: "SUCCESS", result: { price: new PyDecimal("1.50") } });
 * // {"status": "SUCCESS", "result": {"price": {"__type__": "decimal", "__value__": "1.50"}}}
 * const meta = decodeKombuJson(text) as { result: { price: PyDecimal } };
 * console.log(meta.result.price.toString()); // "1.50"
 * ```
 *
 * @module
 */
import { DecodeError, EncodeError } from "../../errors.ts";
import { type DecodeLimits, resolveDecodeLimits } from "./decode_limits.ts";
import {
  dateIsoformat,
  PyDate,
  PyDateTime,
  PyDecimal,
  PyFloat,
  PyTime,
  PyUUID,
} from "./python_types.ts";

/** Options for {@linkcode encodeKombuJson}. */
export interface KombuJsonEncodeOptions {
  /**
   * `"5.3"`: kombu ≥ 5.3, with `{"__type__": ..., "__value__": ...}` markers for datetime, date,
   * time, Decimal, UUID and bytes. `"5.2"`: kombu 5.2, which writes those as plain strings
   * (datetimes ending in `Z`, dates widened to midnight) and cannot write bytes.
   *
   * @default {"5.3"}
   */
  dialect?: "5.2" | "5.3" | undefined;
}

/** Options for {@linkcode decodeKombuJson}. */
export interface KombuJsonDecodeOptions {
  /**
   * Decode integral float literals (`3.0`, `1e+16`, `-0.0`) as {@linkcode PyFloat} instead of
   * plain numbers, so re-encoding gives the same bytes and Python sees a float again.
   *
   * @default {false}
   */
  preserveFloats?: boolean | undefined;
  /**
   * How deep containers may nest and how many values (array items plus object entries) the
   * payload may hold; each violation is a `DecodeError` naming the limit.
   *
   * @default {{ maxDepth: 1024, maxItems: 1_000_000 }}
   */
  limits?: DecodeLimits | undefined;
}

// =============================================================================================
// Encoder

// Printable ASCII except `"` and `\`: written as is.
const PLAIN_STRING = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;
const NON_ASCII = /[\x7f-\uffff]/;
const NON_ASCII_GLOBAL = /[\x7f-\uffff]/g;

function escapeNonAscii(ch: string): string {
  return "\\u" + ch.charCodeAt(0).toString(16).padStart(4, "0");
}

/** A string as Python's `json.dumps(ensure_ascii=True)` writes it. */
function quote(s: string): string {
  if (PLAIN_STRING.test(s)) return `"${s}"`;
  // JSON.stringify escapes `"`, `\`, control characters (lowercase \u00xx, same short escapes as
  // Python) and lone surrogates; Python also escapes DEL and everything non-ASCII.
  const json = JSON.stringify(s);
  return NON_ASCII.test(json) ? json.replace(NON_ASCII_GLOBAL, escapeNonAscii) : json;
}

/** Object keys repeat (meta field names): their quoted form is cached, up to a bound. */
const KEY_CACHE = new Map<string, string>();

/** Thrown inside the encoder; collects the path while unwinding, then becomes an EncodeError. */
class EncodeFailure extends Error {
  readonly path: (string | number)[] = [];
  readonly reason: string;
  constructor(reason: string) {
    super(reason);
    this.reason = reason;
  }
}

function formatPath(path: readonly (string | number)[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(part)) out += out === "" ? part : `.${part}`;
    else out += `[${JSON.stringify(part.length > 40 ? `${part.slice(0, 40)}…` : part)}]`;
  }
  return out.length > 160 ? `${out.slice(0, 80)}…${out.slice(-80)}` : out;
}

function describe(value: unknown): string {
  switch (typeof value) {
    case "undefined":
      return "undefined (use null for Python's None)";
    case "function":
      return "a function";
    case "symbol":
      return "a symbol";
    case "object": {
      if (value === null) return "null";
      const proto = Object.getPrototypeOf(value) as { constructor?: { name?: unknown } } | null;
      const name = proto?.constructor?.name;
      const what = typeof name === "string" && name !== ""
        ? `${/^[AEIO]/.test(name) ? "an" : "a"} ${name}`
        : "an object";
      if (typeof (value as { toJSON?: unknown }).toJSON === "function") {
        return `${what} with a toJSON() method (convert it to a plain value first)`;
      }
      return what;
    }
    default:
      return typeof value;
  }
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
/** Python's default `sys.get_int_max_str_digits()` (3.11+, and security releases back to 3.7). */
const MAX_INT_DIGITS = 4300;
/** Python's default recursion limit bounds how deep `json.dumps` can go. */
const MAX_DEPTH = 1000;

class Encoder {
  /** The containers being encoded, outermost first (for cycle detection). */
  private readonly stack: object[] = [];
  private readonly markers: boolean;

  constructor(markers: boolean) {
    this.markers = markers;
  }

  value(v: unknown): string {
    switch (typeof v) {
      case "string":
        return quote(v);
      case "number":
        if (Number.isInteger(v)) {
          return v <= MAX_SAFE && v >= -MAX_SAFE ? String(v === 0 ? 0 : v) : BigInt(v).toString();
        }
        return PyFloat.repr(v);
      case "boolean":
        return v ? "true" : "false";
      case "bigint": {
        const text = v.toString();
        if (text.length > MAX_INT_DIGITS && text.length - (v < 0n ? 1 : 0) > MAX_INT_DIGITS) {
          throw new EncodeFailure(
            `Cannot encode an integer of more than ${MAX_INT_DIGITS} digits (Python refuses to ` +
              "read or write it)",
          );
        }
        return text;
      }
      case "object":
        if (v === null) return "null";
        if (Array.isArray(v)) return this.array(v);
        {
          const proto = Object.getPrototypeOf(v);
          if (proto === Object.prototype || proto === null) {
            return this.object(v as Record<string, unknown>);
          }
        }
        return this.special(v);
      default:
        throw new EncodeFailure(`Cannot encode ${describe(v)}`);
    }
  }

  private enter(container: object): void {
    const stack = this.stack;
    // Ancestors only (a shared, non-circular reference is fine, as in Python).
    if (stack.includes(container)) {
      throw new EncodeFailure("Circular reference detected");
    }
    if (stack.length >= MAX_DEPTH) {
      throw new EncodeFailure(
        `Cannot encode containers nested more than ${MAX_DEPTH} deep (Python's recursion limit)`,
      );
    }
    stack.push(container);
  }

  private array(a: readonly unknown[]): string {
    this.enter(a);
    let i = 0;
    let out = "[";
    try {
      for (; i < a.length; i++) {
        if (i !== 0) out += ", ";
        out += this.value(a[i]);
      }
    } catch (error) {
      if (error instanceof EncodeFailure) error.path.unshift(i);
      throw error;
    }
    this.stack.pop();
    return out + "]";
  }

  private object(o: Record<string, unknown>): string {
    this.enter(o);
    const keys = Object.keys(o);
    let key = "";
    let out = "{";
    try {
      for (let i = 0; i < keys.length; i++) {
        key = keys[i] as string;
        if (i !== 0) out += ", ";
        let prefix = KEY_CACHE.get(key);
        if (prefix === undefined) {
          prefix = quote(key) + ": ";
          if (key.length <= 64 && KEY_CACHE.size < 4096) KEY_CACHE.set(key, prefix);
        }
        out += prefix + this.value(o[key]);
      }
    } catch (error) {
      if (error instanceof EncodeFailure) error.path.unshift(key);
      throw error;
    }
    this.stack.pop();
    return out + "}";
  }

  private special(v: object): string {
    const markers = this.markers;
    if (v instanceof Date) {
      let iso: string;
      if (v instanceof PyDateTime) {
        iso = v.isoformat;
      } else {
        try {
          iso = dateIsoformat(v);
        } catch (error) {
          throw new EncodeFailure((error as Error).message);
        }
      }
      if (markers) return `{"__type__": "datetime", "__value__": "${iso}"}`;
      return `"${iso.endsWith("+00:00") ? `${iso.slice(0, -6)}Z` : iso}"`;
    }
    if (v instanceof PyFloat) return PyFloat.repr(v.value);
    if (v instanceof PyDecimal) {
      return markers ? `{"__type__": "decimal", "__value__": "${v.text}"}` : `"${v.text}"`;
    }
    if (v instanceof PyUUID) {
      return markers
        ? `{"__type__": "uuid", "__value__": {"hex": "${v.hex}"}}`
        : `"${v.toString()}"`;
    }
    if (v instanceof PyDate) {
      return markers
        ? `{"__type__": "date", "__value__": "${v.isoformat}"}`
        : `"${v.isoformat}T00:00:00"`;
    }
    if (v instanceof PyTime) {
      return markers ? `{"__type__": "time", "__value__": "${v.isoformat}"}` : `"${v.isoformat}"`;
    }
    if (v instanceof Uint8Array) {
      if (!markers) {
        throw new EncodeFailure(
          "Cannot encode bytes in the kombu 5.2 JSON dialect (Object of type bytes is not JSON " +
            "serializable)",
        );
      }
      let text: string | null = null;
      try {
        text = decodeUtf8(v);
      } catch {
        // not UTF-8: base64
      }
      return text === null
        ? `{"__type__": "base64", "__value__": "${base64Encode(v)}"}`
        : `{"__type__": "bytes", "__value__": ${quote(text)}}`;
    }
    throw new EncodeFailure(`Cannot encode ${describe(v)}`);
  }
}

const utf8Strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const utf8Loose = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

/**
 * Strict UTF-8 decoding (a BOM is kept, as Python's `bytes.decode("utf-8")` does). The lenient
 * decoder is several times faster on some runtimes; only text with U+FFFD needs the strict check.
 *
 * @throws {TypeError} When the bytes are not valid UTF-8.
 */
function decodeUtf8(bytes: Uint8Array): string {
  const text = utf8Loose.decode(bytes);
  return text.includes("\ufffd") ? utf8Strict.decode(bytes) : text;
}

/**
 * Serializes a value exactly as Python's `kombu.utils.json.dumps` would serialize the equivalent
 * Python value.
 *
 * Accepted values: `null`, booleans, strings, numbers (integral numbers are written as Python ints,
 * others as Python float `repr`; `NaN`/`±Infinity` bare; note that every number of magnitude
 * 2^52 or more is integral, so a large value meant as a float needs `PyFloat`), `bigint` (in full), {@linkcode PyFloat},
 * arrays, plain objects (own enumerable string keys in insertion order), `Date` (an aware UTC
 * datetime), {@linkcode PyDateTime}, {@linkcode PyDate}, {@linkcode PyTime},
 * {@linkcode PyDecimal}, {@linkcode PyUUID} and `Uint8Array` (bytes).
 *
 * Everything else is refused with an `EncodeError` naming what and where (e.g.
 * `result.foo[2]`), as Python refuses unknown types: `undefined`, functions, symbols, `Map`,
 * `Set`, class instances — including objects with a `toJSON()` method, which is not called
 * (convert them first, so what is stored is never a surprise). Circular references are refused.
 *
 * Objects that have exactly the keys `__type__` and `__value__` are written as they are (as kombu
 * does), so markers of types registered on the Python side with `register_type` can be produced
 * on purpose; kombu ≥ 5.3 readers will interpret them.
 *
 * @param value The value.
 * @param options The dialect (default kombu ≥ 5.3).
 * @returns The JSON text (pure ASCII).
 * @throws {EncodeError} When a value cannot be represented.
 *
 * @example Python's spelling
 * ```ts
 * import { encodeKombuJson } from "./kombu_json.ts";
 * import { PyFloat } from "./python_types.ts";
 *
 * console.log(encodeKombuJson({ a: [1, new PyFloat(2), 1e-5, NaN], s: "é" }));
 * // {"a": [1, 2.0, 1e-05, NaN], "s": "\u00e9"}
 * console.log(encodeKombuJson(new Date(0), { dialect: "5.2" })); // "1970-01-01T00:00:00Z"
 * ```
 */
export function encodeKombuJson(value: unknown, options?: KombuJsonEncodeOptions): string {
  const markers = (options?.dialect ?? "5.3") !== "5.2";
  if (options?.dialect !== undefined && options.dialect !== "5.2" && options.dialect !== "5.3") {
    throw new RangeError(`Unknown kombu JSON dialect "${String(options.dialect)}"`);
  }
  try {
    return new Encoder(markers).value(value);
  } catch (error) {
    if (error instanceof EncodeFailure) {
      const where = error.path.length === 0 ? "the top level" : formatPath(error.path);
      throw new EncodeError(`${error.reason} at ${where}`);
    }
    if (error instanceof RangeError) {
      const why = /call stack/i.test(error.message) ? "it is nested too deeply" : error.message;
      throw new EncodeError(`Cannot encode the value: ${why}`, { cause: error });
    }
    throw error;
  }
}

// =============================================================================================
// Base64 (standard alphabet, padded; decoding mirrors binascii.a2b_base64 in non-strict mode)

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64_INDEX = new Int8Array(256).fill(-1);
for (let i = 0; i < 64; i++) B64_INDEX[B64.charCodeAt(i)] = i;

function base64Encode(bytes: Uint8Array): string {
  let out = "";
  const n = bytes.length;
  let i = 0;
  for (; i + 2 < n; i += 3) {
    const t = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8) |
      (bytes[i + 2] as number);
    out += B64.charAt(t >>> 18) + B64.charAt((t >>> 12) & 63) + B64.charAt((t >>> 6) & 63) +
      B64.charAt(t & 63);
  }
  if (i < n) {
    const a = bytes[i] as number;
    const b = i + 1 < n ? (bytes[i + 1] as number) : 0;
    const t = (a << 16) | (b << 8);
    out += B64.charAt(t >>> 18) + B64.charAt((t >>> 12) & 63) +
      (i + 1 < n ? B64.charAt((t >>> 6) & 63) : "=") + "=";
  }
  return out;
}

/** Python's `base64.b64decode(s.encode("utf-8"))`: skips foreign characters, stops at padding. */
function base64Decode(text: string): Uint8Array {
  const out = new Uint8Array(Math.floor((text.length * 3) / 4) + 3);
  let o = 0;
  let quad = 0;
  let pads = 0;
  let left = 0;
  let data = 0;
  let done = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 61 /* = */) {
      if (quad >= 2 && quad + ++pads >= 4) {
        done = true;
        break;
      }
      continue;
    }
    const v = c < 256 ? (B64_INDEX[c] as number) : -1;
    if (v < 0) continue;
    data++;
    switch (quad) {
      case 0:
        quad = 1;
        left = v;
        break;
      case 1:
        quad = 2;
        out[o++] = (left << 2) | (v >> 4);
        left = v & 0xf;
        break;
      case 2:
        quad = 3;
        out[o++] = ((left << 4) | (v >> 2)) & 0xff;
        left = v & 0x3;
        break;
      default:
        quad = 0;
        out[o++] = ((left << 6) | v) & 0xff;
        left = 0;
    }
  }
  if (!done && quad !== 0) {
    throw new TypeError(
      quad === 1
        ? `Invalid base64-encoded string: number of data characters (${data}) cannot be 1 more ` +
          "than a multiple of 4"
        : "Incorrect base64 padding",
    );
  }
  return out.slice(0, o);
}

// =============================================================================================
// Decoder

const utf8Encoder = new TextEncoder();
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function markerError(tag: unknown, reason: string, cause?: unknown): DecodeError {
  const name = typeof tag === "string" ? JSON.stringify(tag.slice(0, 40)) : describeJson(tag);
  return new DecodeError(
    `Cannot decode a kombu ${name} type marker: ${reason}`,
    cause === undefined ? undefined : { cause },
  );
}

function describeJson(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (v instanceof PyFloat) return "a float";
  return typeof v === "object" ? "an object" : typeof v;
}

function expectString(tag: string, v: unknown): string {
  if (typeof v !== "string") throw markerError(tag, `expected a string, got ${describeJson(v)}`);
  return v;
}

/** kombu ≥ 5.3's object hook for an object whose keys are exactly `__type__` and `__value__`. */
function fromMarker(tag: unknown, v: unknown): unknown {
  try {
    switch (tag) {
      case "datetime":
        return new PyDateTime(expectString(tag, v));
      case "date": {
        const text = expectString(tag, v);
        if (ISO_DATE.test(text)) return new PyDate(text);
        const dt = new PyDateTime(text);
        return new PyDate(dt.year, dt.month, dt.day);
      }
      case "time":
        return new PyTime(expectString(tag, v));
      case "decimal":
        if (typeof v === "string" || typeof v === "bigint") return new PyDecimal(v);
        if (typeof v === "number") {
          return Number.isInteger(v) && Number.isSafeInteger(v)
            ? new PyDecimal(String(v))
            : PyDecimal.fromFloat(v);
        }
        if (v instanceof PyFloat) return PyDecimal.fromFloat(v.value);
        throw markerError(tag, `expected a string or a number, got ${describeJson(v)}`);
      case "uuid":
        return uuidFromKwargs(v);
      case "bytes": {
        const s = expectString(tag, v);
        if (LONE_SURROGATE.test(s)) throw markerError(tag, "the text has a lone surrogate");
        return utf8Encoder.encode(s);
      }
      case "base64":
        return base64Decode(expectString(tag, v));
      default:
        throw markerError(tag, "Unsupported type (not one kombu registers by default)");
    }
  } catch (error) {
    if (error instanceof DecodeError) throw error;
    throw markerError(tag, (error as Error).message, error);
  }
}

/** `uuid.UUID(**value)` for the kwargs kombu writes: `hex` (or `int`), optional `version`. */
function uuidFromKwargs(v: unknown): PyUUID {
  if (v === null || typeof v !== "object" || Array.isArray(v) || v instanceof PyFloat) {
    throw markerError("uuid", `expected an object, got ${describeJson(v)}`);
  }
  const kwargs = v as Record<string, unknown>;
  let hex: string | undefined;
  let version: unknown = null;
  for (const key of Object.keys(kwargs)) {
    const value = kwargs[key];
    if (key === "hex") {
      if (typeof value !== "string") throw markerError("uuid", "hex is not a string");
      hex = new PyUUID(value).hex;
    } else if (key === "int") {
      if (typeof value !== "bigint" && !(typeof value === "number" && Number.isInteger(value))) {
        throw markerError("uuid", "int is not an integer");
      }
      const n = BigInt(value);
      if (n < 0n || n >= 1n << 128n) throw markerError("uuid", "int is out of range");
      hex = n.toString(16).padStart(32, "0");
    } else if (key === "version") {
      version = value;
    } else if (key !== "is_safe") {
      throw markerError("uuid", `unexpected keyword argument ${JSON.stringify(key.slice(0, 40))}`);
    }
  }
  if (hex === undefined || ("hex" in kwargs && "int" in kwargs)) {
    throw markerError("uuid", "exactly one of hex or int must be given");
  }
  if (version !== null) {
    if (typeof version !== "number" || !Number.isInteger(version) || version < 1 || version > 8) {
      throw markerError("uuid", "illegal version number");
    }
    // As Python: force the RFC 4122 variant and the version bits.
    const variant = ((parseInt(hex.charAt(16), 16) & 0x3) | 0x8).toString(16);
    hex = hex.slice(0, 12) + version.toString(16) + hex.slice(13, 16) + variant + hex.slice(17);
  }
  return new PyUUID(hex);
}

/** Returned by the walk when JSON.parse may have lost information (the exact parser must run). */
const INEXACT: unique symbol = Symbol("inexact");

/** Whether JSON.parse gave a number the exact parser would not (a big int, or `-0`). */
function inexactNumber(n: number): boolean {
  return n > MAX_SAFE || n < -MAX_SAFE || (n === 0 && 1 / n < 0);
}

// The limits of the walk in progress (set by decodeKombuJson; the walk never re-enters it).
let walkMaxDepth = 0;
let walkMaxItems = 0;
let walkItemsLeft = 0;

function tooDeep(maxDepth: number): DecodeError {
  return new DecodeError(
    `Cannot decode kombu JSON: nested too deeply (containers deeper than the maxDepth limit of ` +
      `${maxDepth})`,
  );
}

function tooManyItems(maxItems: number): DecodeError {
  return new DecodeError(
    `Cannot decode kombu JSON: more than the maxItems limit of ${maxItems} values ` +
      "(array items plus object entries)",
  );
}

/**
 * Walks a JSON.parse result: reports numbers JSON.parse may have rounded (integers beyond 2^53,
 * `-0` which Python reads as the int 0), and when `markers` is set, converts kombu markers in
 * place, bottom-up as kombu's object hook does. `depth` is the nesting of `v` (0 at the top); the
 * decode limits are enforced here, so the recursion stays bounded.
 */
function walk(v: object, markers: boolean, depth: number): unknown {
  if (depth >= walkMaxDepth) throw tooDeep(walkMaxDepth);
  if (Array.isArray(v)) {
    if ((walkItemsLeft -= v.length) < 0) throw tooManyItems(walkMaxItems);
    for (let i = 0; i < v.length; i++) {
      const item: unknown = v[i];
      if (typeof item === "number") {
        if (inexactNumber(item)) return INEXACT;
      } else if (item !== null && typeof item === "object") {
        const converted = walk(item, markers, depth + 1);
        if (converted === INEXACT) return INEXACT;
        if (converted !== item) v[i] = converted;
      }
    }
    return v;
  }
  const o = v as Record<string, unknown>;
  // for-in over a JSON.parse result (plain objects, no inherited enumerables) avoids allocating
  // a key array per object on this hot path.
  let count = 0;
  for (const key in o) {
    count++;
    const item = o[key];
    if (typeof item === "number") {
      if (inexactNumber(item)) return INEXACT;
    } else if (item !== null && typeof item === "object") {
      const converted = walk(item, markers, depth + 1);
      if (converted === INEXACT) return INEXACT;
      if (converted !== item) setKey(o, key, converted);
    }
  }
  if ((walkItemsLeft -= count) < 0) throw tooManyItems(walkMaxItems);
  if (
    markers && count === 2 && Object.hasOwn(o, "__type__") && Object.hasOwn(o, "__value__")
  ) {
    return fromMarker(o.__type__, o.__value__);
  }
  return v;
}

/**
 * Whether a JSON.parse result holds no object with a `__type__` key (no possible kombu marker)
 * and every number is what the exact parser gives (see {@linkcode inexactNumber}). Only for
 * values whose nesting is known to be shallow. Exported for the benchmarks' byte-exact floor,
 * which must run the same check.
 */
export function plainAndExact(v: object): boolean {
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const item: unknown = v[i];
      if (typeof item === "number") {
        if (inexactNumber(item)) return false;
      } else if (item !== null && typeof item === "object" && !plainAndExact(item)) {
        return false;
      }
    }
    return true;
  }
  const o = v as Record<string, unknown>;
  for (const key in o) {
    if (key === "__type__") return false;
    const item = o[key];
    if (typeof item === "number") {
      if (inexactNumber(item)) return false;
    } else if (item !== null && typeof item === "object" && !plainAndExact(item)) {
      return false;
    }
  }
  return true;
}

function setKey(o: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__") {
    Object.defineProperty(o, key, { value, writable: true, enumerable: true, configurable: true });
  } else {
    o[key] = value;
  }
}

// A `__type__` key, possibly spelled with \u escapes.
const MAY_HAVE_MARKER = /__type__|\\u00(?:5[fF]|7[049]|65)/;

// indexOf first: a plain substring search is much cheaper than the regex's alternation.
function mayHaveMarker(text: string): boolean {
  return text.includes("__type__") || (text.includes("\\u00") && MAY_HAVE_MARKER.test(text));
}

/**
 * Parses JSON exactly as kombu's `loads` does (Python's `json.loads` plus kombu ≥ 5.3's object
 * hook).
 *
 * - Accepts bare `NaN`, `Infinity` and `-Infinity`; bytes input is decoded as strict UTF-8.
 * - Integers outside ±(2^53 − 1) become exact `bigint`s; other numbers are `number`s (or, with
 *   `preserveFloats`, integral float literals become {@linkcode PyFloat}).
 * - An object whose keys are exactly `__type__` and `__value__` becomes the Python value:
 *   `datetime` → {@linkcode PyDateTime}, `date` → {@linkcode PyDate}, `time` →
 *   {@linkcode PyTime}, `decimal` → {@linkcode PyDecimal}, `uuid` → {@linkcode PyUUID},
 *   `bytes`/`base64` → `Uint8Array`. An unknown tag fails, as in Python.
 * - kombu 5.2's plain-string forms stay strings.
 * - A `__proto__` key becomes an ordinary own property.
 *
 * @param input The JSON text or its UTF-8 bytes.
 * @param options Decoding options.
 * @returns The value.
 * @throws {DecodeError} For invalid JSON (with the position and a short reason), invalid UTF-8,
 *   integers over 4300 digits (Python's limit), an invalid or unsupported type marker, or a
 *   payload beyond `limits` (nested deeper than `maxDepth`, more than `maxItems` values); never a
 *   stack overflow, however deep the input.
 *
 * @example Reading a stored meta
 * ```ts
 * import { decodeKombuJson } from "./kombu_json.ts";
 *
 * const meta = decodeKombuJson('{"result": [NaN, 123456789012345678901], "n": 1.0}', {
 *   preserveFloats: true,
 * });
 * console.log(meta); // { result: [ NaN, 123456789012345678901n ], n: PyFloat { value: 1 } }
 * ```
 */
export function decodeKombuJson(
  input: string | Uint8Array,
  options?: KombuJsonDecodeOptions,
): unknown {
  let text: string;
  if (typeof input === "string") {
    text = input;
  } else if (input instanceof Uint8Array) {
    try {
      text = decodeUtf8(input);
    } catch (error) {
      throw new DecodeError("Cannot decode kombu JSON: the bytes are not valid UTF-8", {
        cause: error,
      });
    }
  } else {
    throw new TypeError(`decodeKombuJson expects a string or a Uint8Array, got ${typeof input}`);
  }
  const preserveFloats = options?.preserveFloats === true;
  const limits = resolveDecodeLimits(options?.limits);
  const mayExceed = mayExceedItems(text, limits.maxItems);
  // Refused before anything is built: each comma between values is one more value.
  if (mayExceed && commasBetweenValues(text) >= limits.maxItems) {
    throw tooManyItems(limits.maxItems);
  }
  if (!preserveFloats && !mayExceed) {
    // Fast path: JSON.parse, then a walk that checks it lost nothing. It throws on NaN/Infinity
    // and rounds big ints; both send the text to the exact parser, which also reports errors.
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return new Parser(text, false, limits.maxDepth, limits.maxItems).parseDocument();
    }
    if (typeof value === "object") {
      if (value === null) return value;
      // The common case, a short payload: no limit can be exceeded (every container and item
      // takes at least two characters), so a walk with no bookkeeping checks the numbers and
      // that no object has a `__type__` key (however it was spelled: the walk sees parsed keys,
      // so no scan of the text is needed); a payload it passes needs nothing converted.
      if (text.length <= 2 * limits.maxDepth && plainAndExact(value)) return value;
      walkMaxDepth = limits.maxDepth;
      walkMaxItems = walkItemsLeft = limits.maxItems;
      let result: unknown;
      try {
        result = walk(value, mayHaveMarker(text), 0);
      } catch (error) {
        // The depth limit keeps the walk shallow; a caller already deep in its own stack may
        // still reach the engine's limit, which is then the payload's fault, not a crash.
        if (error instanceof RangeError) throw stackExhausted(error);
        throw error;
      }
      if (result !== INEXACT) return result;
    } else if (typeof value !== "number" || !inexactNumber(value)) {
      return value;
    }
  }
  return new Parser(text, preserveFloats, limits.maxDepth, limits.maxItems).parseDocument();
}

/**
 * Whether JSON.parse could build more than `maxItems` values from `text` (it cannot be stopped
 * midway, so such a text goes to the exact parser, which stops at the limit). Every item owns two
 * characters (the `[`, `{` or `,` before it, and its own first or closing one), so a text of up
 * to `2 * maxItems` characters cannot; a longer one is counted, brackets and commas inside
 * strings only overcounting.
 */
function mayExceedItems(text: string, maxItems: number): boolean {
  if (text.length <= 2 * maxItems) return false;
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c === 44 || c === 91 || c === 123) && ++count > maxItems) return true;
  }
  return false;
}

/**
 * The commas outside strings: each separates two array items or object entries, so a text holding
 * `maxItems` of them holds more than `maxItems` values, whatever else it holds.
 */
function commasBetweenValues(text: string): number {
  let count = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* backslash */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 44) count++;
  }
  return count;
}

function stackExhausted(error: RangeError): DecodeError {
  return new DecodeError(
    `Cannot decode kombu JSON: the value is nested too deeply for the call stack (${error.message})`,
    { cause: error },
  );
}

/**
 * A JSON parser with Python's `json.loads` grammar (NaN, Infinity, big ints), within the decode
 * limits.
 */
class Parser {
  private readonly src: string;
  private readonly preserveFloats: boolean;
  private readonly maxDepth: number;
  private readonly maxItems: number;
  private pos = 0;
  private itemsLeft: number;

  constructor(src: string, preserveFloats: boolean, maxDepth: number, maxItems: number) {
    this.src = src;
    this.preserveFloats = preserveFloats;
    this.maxDepth = maxDepth;
    this.maxItems = maxItems;
    this.itemsLeft = maxItems;
  }

  parseDocument(): unknown {
    let value: unknown;
    try {
      this.skipWs();
      value = this.value(0);
      this.skipWs();
    } catch (error) {
      if (error instanceof RangeError) {
        if (/call stack|recursion/i.test(error.message)) throw stackExhausted(error);
        throw new DecodeError(`Cannot decode kombu JSON: ${error.message}`, { cause: error });
      }
      throw error;
    }
    if (this.pos < this.src.length) throw this.fail("Extra data");
    return value;
  }

  private fail(reason: string, at: number = this.pos): DecodeError {
    const near = this.src.slice(at, at + 16);
    const shown = near === "" ? "end of input" : `near ${JSON.stringify(near)}`;
    return new DecodeError(`Cannot decode kombu JSON: ${reason} ${this.where(at)}, ${shown}`);
  }

  private where(at: number): string {
    const src = this.src;
    let line = 1;
    let lineStart = 0;
    for (let i = 0; i < at && i < src.length; i++) {
      if (src.charCodeAt(i) === 10) {
        line++;
        lineStart = i + 1;
      }
    }
    return `at line ${line} column ${at - lineStart + 1} (char ${at})`;
  }

  private skipWs(): void {
    const src = this.src;
    let pos = this.pos;
    for (;;) {
      const c = src.charCodeAt(pos);
      if (c === 32 || c === 10 || c === 13 || c === 9) pos++;
      else break;
    }
    this.pos = pos;
  }

  /** A container opens at `depth` (0 at the top): refused beyond `maxDepth`. */
  private enter(depth: number): void {
    if (depth >= this.maxDepth) {
      throw this.fail(
        `nested too deeply (containers deeper than the maxDepth limit of ${this.maxDepth})`,
      );
    }
  }

  /** One more array item or object entry: refused beyond `maxItems`. */
  private count(): void {
    if (--this.itemsLeft < 0) {
      throw this.fail(
        `more than the maxItems limit of ${this.maxItems} values (array items plus object entries)`,
      );
    }
  }

  private value(depth: number): unknown {
    const src = this.src;
    const pos = this.pos;
    const c = src.charCodeAt(pos);
    switch (c) {
      case 34: // "
        return this.string();
      case 123: // {
        return this.object(depth);
      case 91: // [
        return this.array(depth);
      case 116: // t
        if (src.startsWith("true", pos)) {
          this.pos = pos + 4;
          return true;
        }
        break;
      case 102: // f
        if (src.startsWith("false", pos)) {
          this.pos = pos + 5;
          return false;
        }
        break;
      case 110: // n
        if (src.startsWith("null", pos)) {
          this.pos = pos + 4;
          return null;
        }
        break;
      case 78: // N
        if (src.startsWith("NaN", pos)) {
          this.pos = pos + 3;
          return NaN;
        }
        break;
      case 73: // I
        if (src.startsWith("Infinity", pos)) {
          this.pos = pos + 8;
          return Infinity;
        }
        break;
      case 45: // -
        if (src.startsWith("-Infinity", pos)) {
          this.pos = pos + 9;
          return -Infinity;
        }
        return this.number();
      default:
        if (c >= 48 && c <= 57) return this.number();
    }
    throw this.fail("Expecting value");
  }

  private number(): unknown {
    const src = this.src;
    const start = this.pos;
    let pos = start;
    if (src.charCodeAt(pos) === 45) pos++;
    const intStart = pos;
    let c = src.charCodeAt(pos);
    if (c === 48) {
      pos++;
    } else if (c >= 49 && c <= 57) {
      do c = src.charCodeAt(++pos); while (c >= 48 && c <= 57);
    } else {
      throw this.fail("Expecting value", start);
    }
    const intEnd = pos;
    let isFloat = false;
    if (src.charCodeAt(pos) === 46) {
      c = src.charCodeAt(pos + 1);
      if (c >= 48 && c <= 57) {
        isFloat = true;
        pos += 2;
        while ((c = src.charCodeAt(pos)) >= 48 && c <= 57) pos++;
      }
    }
    c = src.charCodeAt(pos);
    if (c === 101 || c === 69) {
      let p = pos + 1;
      c = src.charCodeAt(p);
      if (c === 43 || c === 45) c = src.charCodeAt(++p);
      if (c >= 48 && c <= 57) {
        isFloat = true;
        do c = src.charCodeAt(++p); while (c >= 48 && c <= 57);
        pos = p;
      }
    }
    this.pos = pos;
    const literal = src.slice(start, pos);
    if (isFloat) {
      const n = Number(literal);
      return this.preserveFloats && Number.isInteger(n) ? new PyFloat(n) : n;
    }
    const digits = intEnd - intStart;
    if (digits <= 15) {
      const n = Number(literal);
      return n === 0 ? 0 : n; // "-0" is the int 0 in Python
    }
    if (digits > MAX_INT_DIGITS) {
      throw this.fail(
        `integer literal of ${digits} digits exceeds Python's limit of ${MAX_INT_DIGITS}`,
        start,
      );
    }
    const big = BigInt(literal);
    return big <= 9007199254740991n && big >= -9007199254740991n ? Number(big) : big;
  }

  private string(): string {
    const src = this.src;
    const start = this.pos + 1;
    let pos = start;
    for (;;) {
      const c = src.charCodeAt(pos);
      if (c === 34) {
        this.pos = pos + 1;
        return src.slice(start, pos);
      }
      if (c === 92) break;
      if (c < 32 || c !== c) {
        if (c !== c) throw this.fail("Unterminated string starting", start - 1);
        throw this.fail("Invalid control character", pos);
      }
      pos++;
    }
    // With escapes.
    let out = src.slice(start, pos);
    let chunk = pos;
    for (;;) {
      const c = src.charCodeAt(pos);
      if (c === 34) {
        this.pos = pos + 1;
        return out + src.slice(chunk, pos);
      }
      if (c === 92) {
        out += src.slice(chunk, pos);
        const e = src.charCodeAt(pos + 1);
        switch (e) {
          case 34:
            out += '"';
            break;
          case 92:
            out += "\\";
            break;
          case 47:
            out += "/";
            break;
          case 98:
            out += "\b";
            break;
          case 102:
            out += "\f";
            break;
          case 110:
            out += "\n";
            break;
          case 114:
            out += "\r";
            break;
          case 116:
            out += "\t";
            break;
          case 117: {
            const hex = src.slice(pos + 2, pos + 6);
            if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw this.fail("Invalid \\uXXXX escape", pos + 1);
            out += String.fromCharCode(parseInt(hex, 16));
            pos += 4;
            break;
          }
          default:
            if (e !== e) throw this.fail("Unterminated string starting", start - 1);
            throw this.fail("Invalid \\escape", pos);
        }
        pos += 2;
        chunk = pos;
        continue;
      }
      if (c < 32 || c !== c) {
        if (c !== c) throw this.fail("Unterminated string starting", start - 1);
        throw this.fail("Invalid control character", pos);
      }
      pos++;
    }
  }

  private array(depth: number): unknown[] {
    this.enter(depth);
    const src = this.src;
    const out: unknown[] = [];
    this.pos++;
    this.skipWs();
    if (src.charCodeAt(this.pos) === 93) {
      this.pos++;
      return out;
    }
    for (;;) {
      this.skipWs();
      this.count();
      out.push(this.value(depth + 1));
      this.skipWs();
      const c = src.charCodeAt(this.pos);
      if (c === 44) {
        this.pos++;
        continue;
      }
      if (c === 93) {
        this.pos++;
        return out;
      }
      throw this.fail("Expecting ',' delimiter");
    }
  }

  private object(depth: number): unknown {
    this.enter(depth);
    const src = this.src;
    const out: Record<string, unknown> = {};
    const objStart = this.pos;
    this.pos++;
    this.skipWs();
    if (src.charCodeAt(this.pos) === 125) {
      this.pos++;
      return out;
    }
    let entries = 0;
    let marker = 0;
    for (;;) {
      this.skipWs();
      if (src.charCodeAt(this.pos) !== 34) {
        throw this.fail("Expecting property name enclosed in double quotes");
      }
      const key = this.string();
      this.skipWs();
      if (src.charCodeAt(this.pos) !== 58) throw this.fail("Expecting ':' delimiter");
      this.pos++;
      this.skipWs();
      this.count();
      const value = this.value(depth + 1);
      if (key === "__proto__") {
        Object.defineProperty(out, key, {
          value,
          writable: true,
          enumerable: true,
          configurable: true,
        });
      } else {
        out[key] = value;
      }
      entries++;
      if (key === "__type__" || key === "__value__") marker++;
      this.skipWs();
      const c = src.charCodeAt(this.pos);
      if (c === 44) {
        this.pos++;
        continue;
      }
      if (c === 125) {
        this.pos++;
        break;
      }
      throw this.fail("Expecting ',' delimiter");
    }
    if (
      marker >= 2 && (entries === 2 || Object.keys(out).length === 2) &&
      Object.hasOwn(out, "__type__") && Object.hasOwn(out, "__value__")
    ) {
      try {
        return fromMarker(out.__type__, out.__value__);
      } catch (error) {
        throw new DecodeError(`${(error as Error).message} (${this.where(objStart)})`, {
          cause: error,
        });
      }
    }
    return out;
  }
}
