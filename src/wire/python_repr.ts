/**
 * Python's `repr()` and `str()` of the values a Celery payload decodes to (None, bools, ints,
 * floats, str, bytes, lists, dicts, Decimal, UUID, datetime, date, time, exceptions), for the texts
 * Celery builds from them: an exception's message, a ChordError's, a refused record's, a task
 * message's argsrepr.
 *
 * @module
 */
import { DecodeError } from "../errors.ts";
import { DEFAULT_MAX_DEPTH } from "./serialization/decode_limits.ts";
import {
  PyDate,
  PyDateTime,
  PyDecimal,
  PyFloat,
  PyTime,
  PyUUID,
} from "./serialization/python_types.ts";

/**
 * Python's `repr()` of a decoded value. A safe integer is a Python int, any other number a float;
 * an `Error` is its exception (`ValueError('bad')`).
 * @throws {DecodeError} for lists or dicts nested deeper than the decoders allow (stored values
 * are untrusted: deep nesting is a bad record, not a stack overflow).
 */
export function pythonRepr(value: unknown, depth = 0): string {
  if (value === null || value === undefined) return "None";
  if (value === true) return "True";
  if (value === false) return "False";
  if (typeof value === "string") return pythonStringRepr(value);
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "number") return numberRepr(value);
  if (value instanceof PyFloat) return floatRepr(value.value);
  if (value instanceof PyDecimal) return `Decimal('${value.text}')`;
  if (value instanceof PyUUID) return `UUID('${value.toString()}')`;
  if (value instanceof PyDateTime) return datetimeRepr(value);
  if (value instanceof Date) return datetimeRepr(PyDateTime.fromDate(value));
  if (value instanceof PyDate) return `datetime.date(${value.year}, ${value.month}, ${value.day})`;
  if (value instanceof PyTime) {
    const fields = trimZeros([value.hour, value.minute, value.second, value.microsecond], 2);
    return `datetime.time(${fields.join(", ")}${tzinfoRepr(value.utcOffset)})`;
  }
  if (value instanceof Uint8Array) return bytesRepr(value);
  if (value instanceof Error) {
    const { name, args } = exceptionParts(value);
    return `${name}(${args.map((arg) => pythonRepr(arg, depth + 1)).join(", ")})`;
  }
  if (Array.isArray(value)) {
    checkDepth(depth);
    return `[${value.map((item) => pythonRepr(item, depth + 1)).join(", ")}]`;
  }
  if (typeof value === "object") {
    checkDepth(depth);
    const items = Object.entries(value as Record<string, unknown>).map(([k, v]) =>
      `${pythonStringRepr(k)}: ${pythonRepr(v, depth + 1)}`
    );
    return `{${items.join(", ")}}`;
  }
  return String(value);
}

/** Python's `str()` of an exception with these args: `''`, the one arg's `str()`, or the tuple. */
export function pythonStr(args: readonly unknown[]): string {
  if (args.length === 0) return "";
  if (args.length === 1) return typeof args[0] === "string" ? args[0] : pythonRepr(args[0]);
  return `(${args.map((arg) => pythonRepr(arg)).join(", ")})`;
}

/** Python's `repr()` of a str: `'` quotes unless the text has `'` and no `"`; escapes. */
export function pythonStringRepr(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = quote;
  for (const char of text) {
    if (char === "\\") out += "\\\\";
    else if (char === quote) out += `\\${quote}`;
    else if (char === "\n") out += "\\n";
    else if (char === "\r") out += "\\r";
    else if (char === "\t") out += "\\t";
    else if (char !== " " && NOT_PRINTABLE.test(char)) out += escapeCodePoint(char.codePointAt(0)!);
    else out += char;
  }
  return out + quote;
}

// str.isprintable() is false for these categories (space excepted), and repr() escapes them.
const NOT_PRINTABLE = /^[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]$/u;

function escapeCodePoint(code: number): string {
  if (code < 0x100) return `\\x${code.toString(16).padStart(2, "0")}`;
  if (code < 0x10000) return `\\u${code.toString(16).padStart(4, "0")}`;
  return `\\U${code.toString(16).padStart(8, "0")}`;
}

function bytesRepr(bytes: Uint8Array): string {
  const quote = bytes.includes(0x27) && !bytes.includes(0x22) ? '"' : "'";
  let out = `b${quote}`;
  for (const byte of bytes) {
    const char = String.fromCharCode(byte);
    if (char === "\\") out += "\\\\";
    else if (char === quote) out += `\\${quote}`;
    else if (char === "\n") out += "\\n";
    else if (char === "\r") out += "\\r";
    else if (char === "\t") out += "\\t";
    else if (byte < 0x20 || byte >= 0x7f) out += escapeCodePoint(byte);
    else out += char;
  }
  return out + quote;
}

// The decoders give a Python int as a safe integer or a bigint: -0.0 and larger integral numbers
// come from floats.
function numberRepr(n: number): string {
  if (Number.isSafeInteger(n) && !Object.is(n, -0)) return String(n);
  return floatRepr(n);
}

function floatRepr(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  return PyFloat.repr(x);
}

function exceptionParts(error: Error): { name: string; args: readonly unknown[] } {
  // A TaskError (Celery's rebuilt exception) carries its Python class and args.
  const { excType, excMessage } = error as { excType?: unknown; excMessage?: unknown };
  if (typeof excType === "string" && Array.isArray(excMessage)) {
    return { name: excType.split(".").at(-1) ?? excType, args: excMessage };
  }
  return { name: error.name, args: [error.message] };
}

function checkDepth(depth: number): void {
  if (depth >= DEFAULT_MAX_DEPTH) {
    throw new DecodeError(
      `Exception args nested deeper than ${DEFAULT_MAX_DEPTH} levels cannot be shown`,
    );
  }
}

function datetimeRepr(dt: PyDateTime): string {
  const fields = trimZeros(
    [dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second, dt.microsecond],
    5,
  );
  return `datetime.datetime(${fields.join(", ")}${tzinfoRepr(dt.utcOffset)})`;
}

// datetime/time reprs leave out a zero microsecond, then a zero second.
function trimZeros(fields: number[], keep: number): number[] {
  const out = fields.slice();
  for (let i = 0; i < 2 && out.length > keep && out[out.length - 1] === 0; i++) out.pop();
  return out;
}

/** `, tzinfo=…` as Python writes a `datetime.timezone` from an isoformat offset. */
function tzinfoRepr(offset: string | null): string {
  if (offset === null) return "";
  if (offset === "+00:00") return ", tzinfo=datetime.timezone.utc";
  const match = /^([+-])(\d\d):(\d\d)(?::(\d\d)(?:\.(\d{6}))?)?$/.exec(offset);
  if (!match) return "";
  const sign = match[1] === "-" ? -1 : 1;
  const micros = sign * (
    ((Number(match[2]) * 60 + Number(match[3])) * 60 + Number(match[4] ?? 0)) * 1_000_000 +
    Number(match[5] ?? 0)
  );
  return `, tzinfo=datetime.timezone(${timedeltaRepr(micros)})`;
}

// timedelta normalises to days, 0 <= seconds < 86400, 0 <= microseconds < 1e6.
function timedeltaRepr(totalMicros: number): string {
  const dayMicros = 86_400_000_000;
  const days = Math.floor(totalMicros / dayMicros);
  const rest = totalMicros - days * dayMicros;
  const seconds = Math.floor(rest / 1_000_000);
  const microseconds = rest - seconds * 1_000_000;
  const parts: string[] = [];
  if (days) parts.push(`days=${days}`);
  if (seconds) parts.push(`seconds=${seconds}`);
  if (microseconds) parts.push(`microseconds=${microseconds}`);
  return `datetime.timedelta(${parts.length ? parts.join(", ") : "0"})`;
}
