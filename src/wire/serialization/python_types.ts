/**
 * Small immutable value classes for the Python types that kombu's JSON serializer carries and
 * JavaScript lacks: `decimal.Decimal`, `uuid.UUID`, `datetime.date`, `datetime.time`,
 * `datetime.datetime` (with microseconds and the offset exactly as Python wrote it) and `float`
 * values that must stay floats when they are integral.
 *
 * Bytes are plain `Uint8Array`s and integers beyond ±(2^53 − 1) are `bigint`s, so they need no class.
 *
 * @example Reading and writing Python values
 * ```ts
 * import { PyDateTime, PyDecimal, PyUUID } from "./python_types.ts";
 *
 * const done = new PyDateTime("2024-05-06T07:08:09.123456+00:00");
 * console.log(done.microsecond, done.utcOffset, done.getTime());
 * console.log(new PyDecimal("1.50").toString()); // "1.50"
 * console.log(new PyUUID("12345678-1234-5678-1234-567812345678").hex);
 * ```
 *
 * @module
 */

// ---------------------------------------------------------------------------------------------
// Helpers

function pad(value: number, width: number): string {
  return String(value).padStart(width, "0");
}

function isLeapYear(year: number): boolean {
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function checkDate(year: number, month: number, day: number): void {
  if (!Number.isInteger(year) || year < 1 || year > 9999) {
    throw new RangeError(`Year ${year} is out of range (Python dates span 1..9999)`);
  }
  if (!Number.isInteger(month) || month < 1 || month > 12) {
    throw new RangeError(`Month ${month} is out of range 1..12`);
  }
  if (!Number.isInteger(day) || day < 1 || day > daysInMonth(year, month)) {
    throw new RangeError(`Day ${day} is out of range for ${pad(year, 4)}-${pad(month, 2)}`);
  }
}

/** A fraction string of any length, truncated (not rounded) to microseconds as Python does. */
function fractionToMicros(fraction: string | undefined): number {
  if (fraction === undefined || fraction === "") return 0;
  return Number(fraction.length >= 6 ? fraction.slice(0, 6) : fraction.padEnd(6, "0"));
}

interface ParsedTime {
  hour: number;
  minute: number;
  second: number;
  microsecond: number;
  /** Offset east of UTC in microseconds, or null when naive. */
  offsetMicros: number | null;
}

// HH[:MM[:SS[.f+]]] or HH[MM[SS[.f+]]], then an optional offset: Z, ±HH[:MM[:SS[.ffffff]]].
const TIME_RE =
  /^(\d{2})(?:(:?)(\d{2})(?:\2(\d{2})(?:[.,](\d+))?)?)? ?(?:(Z)|([+-])(\d{2})(?:(:?)(\d{2})(?:\9(\d{2})(?:[.,](\d{1,6}))?)?)?)?$/;

function parseTime(text: string, what: string): ParsedTime {
  const m = TIME_RE.exec(text);
  if (m === null) throw new TypeError(`Invalid isoformat string for a ${what}: ${preview(text)}`);
  const hour = Number(m[1]);
  const minute = m[3] === undefined ? 0 : Number(m[3]);
  const second = m[4] === undefined ? 0 : Number(m[4]);
  if (hour > 23) throw new RangeError(`Hour ${hour} is out of range 0..23`);
  if (minute > 59) throw new RangeError(`Minute ${minute} is out of range 0..59`);
  if (second > 59) throw new RangeError(`Second ${second} is out of range 0..59`);
  let offsetMicros: number | null = null;
  if (m[6] !== undefined) {
    offsetMicros = 0;
  } else if (m[7] !== undefined) {
    const oh = Number(m[8]);
    const om = m[10] === undefined ? 0 : Number(m[10]);
    const os = m[11] === undefined ? 0 : Number(m[11]);
    if (om > 59 || os > 59) {
      throw new RangeError(`Invalid UTC offset in ${preview(text)}`);
    }
    const magnitude = ((oh * 60 + om) * 60 + os) * 1_000_000 + fractionToMicros(m[12]);
    if (magnitude >= 86_400_000_000) {
      throw new RangeError(`UTC offset must be strictly between -24h and +24h: ${preview(text)}`);
    }
    offsetMicros = m[7] === "-" ? -magnitude : magnitude;
    if (offsetMicros === 0) offsetMicros = 0; // no -0
  }
  return { hour, minute, second, microsecond: fractionToMicros(m[5]), offsetMicros };
}

/** Python's `_format_offset`: ±HH:MM[:SS[.ffffff]]. */
function formatOffset(offsetMicros: number): string {
  const sign = offsetMicros < 0 ? "-" : "+";
  let rest = Math.abs(offsetMicros);
  const micros = rest % 1_000_000;
  rest = (rest - micros) / 1_000_000;
  const seconds = rest % 60;
  rest = (rest - seconds) / 60;
  const minutes = rest % 60;
  const hours = (rest - minutes) / 60;
  let text = `${sign}${pad(hours, 2)}:${pad(minutes, 2)}`;
  if (seconds !== 0 || micros !== 0) {
    text += `:${pad(seconds, 2)}`;
    if (micros !== 0) text += `.${pad(micros, 6)}`;
  }
  return text;
}

function formatTime(hour: number, minute: number, second: number, microsecond: number): string {
  const base = `${pad(hour, 2)}:${pad(minute, 2)}:${pad(second, 2)}`;
  return microsecond === 0 ? base : `${base}.${pad(microsecond, 6)}`;
}

function preview(text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
}

interface ParsedDateTime extends ParsedTime {
  year: number;
  month: number;
  day: number;
}

const DATE_RE = /^(\d{4})(?:-(\d{2})-(\d{2})|(\d{2})(\d{2}))/;

function digitsAt(text: string, at: number, count: number): number {
  let n = 0;
  for (let i = at; i < at + count; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/**
 * The hot path: text already in Python's canonical isoformat
 * (`YYYY-MM-DDTHH:MM:SS[.ffffff][±HH:MM]`), parsed without regular expressions.
 * Returns null for anything else (the general parser then decides).
 */
function parseCanonicalDateTime(text: string): (ParsedDateTime & { canonical: boolean }) | null {
  if (typeof text !== "string") return null;
  const n = text.length;
  if (n !== 19 && n !== 26 && n !== 25 && n !== 32) return null;
  if (
    text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45 || text.charCodeAt(10) !== 84 ||
    text.charCodeAt(13) !== 58 || text.charCodeAt(16) !== 58
  ) return null;
  const year = digitsAt(text, 0, 4);
  const month = digitsAt(text, 5, 2);
  const day = digitsAt(text, 8, 2);
  const hour = digitsAt(text, 11, 2);
  const minute = digitsAt(text, 14, 2);
  const second = digitsAt(text, 17, 2);
  if (
    year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) ||
    hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59
  ) return null;
  let microsecond = 0;
  let at = 19;
  if (n === 26 || n === 32) {
    if (text.charCodeAt(19) !== 46) return null;
    microsecond = digitsAt(text, 20, 6);
    if (microsecond < 0) return null;
    at = 26;
  }
  let offsetMicros: number | null = null;
  if (at < n) {
    if (n - at !== 6) return null;
    const sign = text.charCodeAt(at);
    const oh = digitsAt(text, at + 1, 2);
    const om = digitsAt(text, at + 4, 2);
    if ((sign !== 43 && sign !== 45) || text.charCodeAt(at + 3) !== 58 || oh < 0 || oh > 23) {
      return null;
    }
    if (om < 0 || om > 59 || (sign === 45 && oh === 0 && om === 0)) return null;
    offsetMicros = (oh * 60 + om) * (sign === 45 ? -60_000_000 : 60_000_000);
  }
  return { year, month, day, hour, minute, second, microsecond, offsetMicros, canonical: true };
}

/** Parses what Python 3.11's `datetime.fromisoformat` accepts (ISO week dates excepted). */
function parseDateTime(text: string): ParsedDateTime & { canonical: boolean } {
  if (typeof text !== "string") {
    throw new TypeError(`Expected an isoformat string, got ${typeof text}`);
  }
  const m = DATE_RE.exec(text);
  if (m === null) throw new TypeError(`Invalid isoformat string for a datetime: ${preview(text)}`);
  const extended = m[2] !== undefined;
  const year = Number(m[1]);
  const month = Number(extended ? m[2] : m[4]);
  const day = Number(extended ? m[3] : m[5]);
  checkDate(year, month, day);
  const rest = text.slice(m[0].length);
  if (rest === "") {
    return {
      year,
      month,
      day,
      hour: 0,
      minute: 0,
      second: 0,
      microsecond: 0,
      offsetMicros: null,
      canonical: false,
    };
  }
  // One separator character (usually "T" or " "); it must not be a digit.
  const sep = rest.charCodeAt(0);
  if (sep >= 48 && sep <= 57) {
    throw new TypeError(`Invalid isoformat string for a datetime: ${preview(text)}`);
  }
  return { year, month, day, ...parseTime(rest.slice(1), "datetime"), canonical: false };
}

// ---------------------------------------------------------------------------------------------
// PyFloat

/**
 * A number that must be written as a Python `float` even when it is integral: kombu JSON writes
 * `3.0` for the float and `3` for the int, and Python keeps the distinction. Plain integral JS
 * numbers are written as ints; wrap them in `PyFloat` to get a float.
 *
 * @example Writing an integral float
 * ```ts
 * import { PyFloat } from "./python_types.ts";
 *
 * const f = new PyFloat(3);
 * console.log(f.toString()); // "3.0"
 * console.log(f.valueOf() + 1); // 4
 * console.log(PyFloat.repr(1e16)); // "1e+16"
 * ```
 */
export class PyFloat {
  /** The number. */
  readonly value: number;

  /**
   * Wraps a number.
   *
   * @param value Any number, including `NaN`, `±Infinity` and `-0`.
   * @throws {TypeError} When `value` is not a number.
   */
  constructor(value: number) {
    if (typeof value !== "number") {
      throw new TypeError(`PyFloat expects a number, got ${typeof value}`);
    }
    this.value = value;
    Object.freeze(this);
  }

  /**
   * Python's `repr(float(x))`: the shortest digits that round-trip, an exponent when the decimal
   * exponent is below −4 or at least 16 (`1e+16`, `1.5e-05`), otherwise fixed notation with at
   * least one fractional digit (`3.0`); `nan`/`inf` are spelled as JSON does (`NaN`, `Infinity`).
   *
   * @param x The number to format.
   * @returns The text Python's `json.dumps` writes for the float `x`.
   *
   * @example Formatting
   * ```ts
   * import { PyFloat } from "./python_types.ts";
   *
   * console.log(PyFloat.repr(0.1), PyFloat.repr(1.5e-5), PyFloat.repr(-0)); // 0.1 1.5e-05 -0.0
   * ```
   */
  static repr(x: number): string {
    if (x !== x) return "NaN";
    if (x === Infinity) return "Infinity";
    if (x === -Infinity) return "-Infinity";
    if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
    const ax = x < 0 ? -x : x;
    if (ax >= 1e-4 && ax < 1e16) {
      const s = String(x);
      return Number.isInteger(x) ? `${s}.0` : s;
    }
    const e = x.toExponential();
    const at = e.indexOf("e");
    const sign = e.charAt(at + 1);
    const digits = e.slice(at + 2);
    return `${e.slice(0, at)}e${sign}${digits.length < 2 ? `0${digits}` : digits}`;
  }

  /** The number, so arithmetic works (`new PyFloat(2) * 3 === 6`). */
  valueOf(): number {
    return this.value;
  }

  /** Python's `repr`, e.g. `3.0`. */
  toString(): string {
    return PyFloat.repr(this.value);
  }

  /** The plain number (standard JSON cannot mark it as a float). */
  toJSON(): number {
    return this.value;
  }
}

// ---------------------------------------------------------------------------------------------
// PyDecimal

const DECIMAL_RE =
  /^([+-])?(?:(?=\d|\.\d)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?|(inf(?:inity)?)|(s)?(nan)(\d*))$/i;

/** Python's `Decimal.__str__` for a finite value given as (sign, coefficient digits, exponent). */
function decimalToString(negative: boolean, coefficient: string, exponent: number): string {
  const sign = negative ? "-" : "";
  const leftDigits = exponent + coefficient.length;
  const dotPlace = exponent <= 0 && leftDigits > -6 ? leftDigits : 1;
  let intPart: string;
  let fracPart: string;
  if (dotPlace <= 0) {
    intPart = "0";
    fracPart = `.${"0".repeat(-dotPlace)}${coefficient}`;
  } else if (dotPlace >= coefficient.length) {
    intPart = coefficient + "0".repeat(dotPlace - coefficient.length);
    fracPart = "";
  } else {
    intPart = coefficient.slice(0, dotPlace);
    fracPart = `.${coefficient.slice(dotPlace)}`;
  }
  const adjusted = leftDigits - dotPlace;
  const exp = adjusted === 0 ? "" : `E${adjusted > 0 ? "+" : "-"}${Math.abs(adjusted)}`;
  return sign + intPart + fracPart + exp;
}

function stripLeadingZeros(digits: string): string {
  let i = 0;
  while (i < digits.length - 1 && digits.charCodeAt(i) === 48) i++;
  return digits.slice(i);
}

/**
 * Python's `decimal.Decimal`, held as the text `str(Decimal(...))` gives, so values such as
 * `"1.50"` keep their exact digits and trailing zeros. The constructor accepts every string Python's
 * `Decimal()` accepts (`"1e2"`, `" 1_000 "`, `"NaN"`, `"-Infinity"`) and stores Python's canonical
 * spelling of it (`"1E+2"`, `"1000"`).
 *
 * @example Exact decimal text
 * ```ts
 * import { PyDecimal } from "./python_types.ts";
 *
 * const price = new PyDecimal("1.50");
 * console.log(price.toString(), price.toNumber()); // "1.50" 1.5
 * console.log(new PyDecimal("1e2").toString()); // "1E+2"
 * ```
 */
export class PyDecimal {
  /** The canonical decimal text, as Python's `str(Decimal)` writes it. */
  readonly text: string;

  /**
   * Parses decimal text.
   *
   * @param value Decimal text (any form Python's `Decimal()` accepts) or a bigint.
   * @throws {TypeError} When the text is not a decimal number.
   */
  constructor(value: string | bigint) {
    if (typeof value === "bigint") {
      this.text = value.toString();
    } else if (typeof value === "string") {
      this.text = canonicalDecimal(value);
    } else {
      throw new TypeError(`PyDecimal expects a string or bigint, got ${typeof value}`);
    }
    Object.freeze(this);
  }

  /**
   * The exact value of a binary float, as Python's `Decimal(float)` gives it
   * (`Decimal(1.1)` is `1.100000000000000088817841970012523233890533447265625`).
   *
   * @param x A number.
   * @returns The exact decimal.
   *
   * @example Exact expansion
   * ```ts
   * import { PyDecimal } from "./python_types.ts";
   *
   * console.log(PyDecimal.fromFloat(0.5).toString()); // "0.5"
   * ```
   */
  static fromFloat(x: number): PyDecimal {
    if (typeof x !== "number") throw new TypeError(`Expected a number, got ${typeof x}`);
    if (x !== x) return new PyDecimal("NaN");
    if (x === Infinity || x === -Infinity) return new PyDecimal(x > 0 ? "Infinity" : "-Infinity");
    if (x === 0) return new PyDecimal(Object.is(x, -0) ? "-0" : "0");
    const view = new DataView(new ArrayBuffer(8));
    view.setFloat64(0, x);
    const hi = view.getUint32(0);
    const lo = view.getUint32(4);
    const biased = (hi >>> 20) & 0x7ff;
    let mantissa = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
    let exponent: number;
    if (biased === 0) {
      exponent = -1074;
    } else {
      mantissa |= 1n << 52n;
      exponent = biased - 1075;
    }
    while (exponent < 0 && (mantissa & 1n) === 0n) {
      mantissa >>= 1n;
      exponent++;
    }
    const negative = x < 0;
    if (exponent >= 0) {
      return new PyDecimal((negative ? "-" : "") + (mantissa << BigInt(exponent)).toString());
    }
    const digits = (mantissa * 5n ** BigInt(-exponent)).toString();
    return new PyDecimal(decimalToString(negative, digits, exponent));
  }

  /** The nearest JS number (`NaN` for Python's NaN and sNaN). */
  toNumber(): number {
    return Number(this.text.replace(/s?NaN\d*$/, "NaN"));
  }

  /** The decimal text, e.g. `1.50`. */
  toString(): string {
    return this.text;
  }

  /** The decimal text (a JSON string keeps every digit). */
  toJSON(): string {
    return this.text;
  }
}

// Plain decimal text that is already what Python's str(Decimal) prints.
const CANONICAL_DECIMAL = /^-?(?:[1-9]\d*(?:\.\d+)?|0(?:\.(?!0{6})\d+)?)$/;

function canonicalDecimal(value: string): string {
  if (CANONICAL_DECIMAL.test(value)) return value;
  const cleaned = value.trim().replaceAll("_", "");
  const m = DECIMAL_RE.exec(cleaned);
  if (m === null) {
    throw new TypeError(`Invalid decimal text: ${preview(value)}`);
  }
  const negative = m[1] === "-";
  if (m[5] !== undefined) return negative ? "-Infinity" : "Infinity";
  if (m[7] !== undefined) {
    const payload = (m[8] ?? "").replace(/^0+/, "");
    return `${negative ? "-" : ""}${m[6] === undefined ? "" : "s"}NaN${payload}`;
  }
  const intPart = m[2] ?? "";
  const fracPart = m[3] ?? "";
  const exponent = (m[4] === undefined ? 0 : Number(m[4])) - fracPart.length;
  if (!Number.isSafeInteger(exponent)) {
    throw new RangeError(`Decimal exponent out of range: ${preview(value)}`);
  }
  return decimalToString(negative, stripLeadingZeros(intPart + fracPart), exponent);
}

// ---------------------------------------------------------------------------------------------
// PyUUID

const HEX32_RE = /^[0-9a-fA-F]{32}$/;
const LOWER_HEX32_RE = /^[0-9a-f]{32}$/;

/**
 * Python's `uuid.UUID`, held as 32 lowercase hex digits.
 *
 * @example Parsing and printing
 * ```ts
 * import { PyUUID } from "./python_types.ts";
 *
 * const id = new PyUUID("12345678-1234-5678-1234-567812345678");
 * console.log(id.hex); // "12345678123456781234567812345678"
 * console.log(String(id)); // "12345678-1234-5678-1234-567812345678"
 * ```
 */
export class PyUUID {
  /** The 32 lowercase hex digits (Python's `UUID.hex`). */
  readonly hex: string;

  /**
   * Parses a UUID the way Python's `UUID(hex)` does: hyphens anywhere, optional braces and
   * `urn:uuid:` prefix, either case.
   *
   * @param value The UUID text.
   * @throws {TypeError} When the text is not 32 hex digits after that clean-up.
   */
  constructor(value: string) {
    if (typeof value !== "string") {
      throw new TypeError(`PyUUID expects a string, got ${typeof value}`);
    }
    let hex = value;
    if (LOWER_HEX32_RE.test(hex)) {
      this.hex = hex;
      Object.freeze(this);
      return;
    }
    if (!HEX32_RE.test(hex)) {
      hex = hex.replaceAll("urn:", "").replaceAll("uuid:", "").replace(/^[{}]+|[{}]+$/g, "")
        .replaceAll("-", "");
      if (!HEX32_RE.test(hex)) {
        throw new TypeError(`Badly formed hexadecimal UUID string: ${preview(value)}`);
      }
    }
    this.hex = hex.toLowerCase();
    Object.freeze(this);
  }

  /** The RFC 4122 version number (1-8), or null when the variant is not RFC 4122 (as Python). */
  get version(): number | null {
    const variant = parseInt(this.hex.charAt(16), 16);
    if ((variant & 0xc) !== 0x8) return null;
    return parseInt(this.hex.charAt(12), 16);
  }

  /** The hyphenated form, as Python's `str(uuid)`. */
  toString(): string {
    const h = this.hex;
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${
      h.slice(20)
    }`;
  }

  /** The hyphenated form. */
  toJSON(): string {
    return this.toString();
  }
}

// ---------------------------------------------------------------------------------------------
// PyDate

/**
 * Python's `datetime.date`: a calendar day with no time and no zone.
 *
 * @example Making dates
 * ```ts
 * import { PyDate } from "./python_types.ts";
 *
 * const d = new PyDate(2024, 1, 2);
 * console.log(d.isoformat, String(new PyDate("2024-01-02")) === d.isoformat); // "2024-01-02" true
 * ```
 */
export class PyDate {
  /** The year, 1..9999. */
  readonly year: number;
  /** The month, 1..12. */
  readonly month: number;
  /** The day of the month, 1..31. */
  readonly day: number;
  /** `YYYY-MM-DD`, as Python's `date.isoformat()`. */
  readonly isoformat: string;

  /**
   * Makes a date from its fields, or parses ISO text (`YYYY-MM-DD` or `YYYYMMDD`).
   *
   * @param yearOrText The year (1..9999), or the ISO text.
   * @param month The month, 1..12 (with a numeric year).
   * @param day The day of the month (with a numeric year).
   * @throws {TypeError} When the text is not an ISO date.
   * @throws {RangeError} When a field is out of range.
   */
  constructor(yearOrText: number | string, month?: number, day?: number) {
    let y: number;
    let m: number;
    let d: number;
    if (typeof yearOrText === "string") {
      const match = /^(\d{4})(?:-(\d{2})-(\d{2})|(\d{2})(\d{2}))$/.exec(yearOrText);
      if (match === null) {
        throw new TypeError(`Invalid isoformat string for a date: ${preview(yearOrText)}`);
      }
      y = Number(match[1]);
      m = Number(match[2] ?? match[4]);
      d = Number(match[3] ?? match[5]);
    } else {
      if (month === undefined || day === undefined) {
        throw new TypeError("PyDate needs a year, a month and a day");
      }
      y = yearOrText;
      m = month;
      d = day;
    }
    checkDate(y, m, d);
    this.year = y;
    this.month = m;
    this.day = d;
    this.isoformat = `${pad(y, 4)}-${pad(m, 2)}-${pad(d, 2)}`;
    Object.freeze(this);
  }

  /** Midnight UTC of this day as a `Date`. */
  toDate(): Date {
    return new Date(daysFromCivil(this.year, this.month, this.day) * 86_400_000);
  }

  /** `YYYY-MM-DD`. */
  toString(): string {
    return this.isoformat;
  }

  /** `YYYY-MM-DD`. */
  toJSON(): string {
    return this.isoformat;
  }
}

// ---------------------------------------------------------------------------------------------
// PyTime

/**
 * Python's `datetime.time`: a time of day with microseconds and an optional UTC offset.
 *
 * @example Parsing a time
 * ```ts
 * import { PyTime } from "./python_types.ts";
 *
 * const t = new PyTime("01:02:03.000004");
 * console.log(t.second, t.microsecond, t.utcOffset); // 3 4 null
 * console.log(new PyTime("01:02:03Z").isoformat); // "01:02:03+00:00"
 * ```
 */
export class PyTime {
  /** Hour, 0..23. */
  readonly hour: number;
  /** Minute, 0..59. */
  readonly minute: number;
  /** Second, 0..59. */
  readonly second: number;
  /** Microsecond, 0..999999. */
  readonly microsecond: number;
  /** The UTC offset as Python writes it (`+05:30`), or null for a naive time. */
  readonly utcOffset: string | null;
  /** The text Python's `time.isoformat()` gives, e.g. `01:02:03.000004+05:30`. */
  readonly isoformat: string;

  /**
   * Parses ISO time text as Python's `time.fromisoformat` (3.11) does.
   *
   * @param text E.g. `01:02:03`, `01:02:03.000004`, `01:02:03+05:30`, `T0102`.
   * @throws {TypeError} When the text is not an ISO time.
   * @throws {RangeError} When a field is out of range.
   */
  constructor(text: string) {
    if (typeof text !== "string") {
      throw new TypeError(`PyTime expects an isoformat string, got ${typeof text}`);
    }
    const t = parseTime(text.startsWith("T") ? text.slice(1) : text, "time");
    this.hour = t.hour;
    this.minute = t.minute;
    this.second = t.second;
    this.microsecond = t.microsecond;
    this.utcOffset = t.offsetMicros === null ? null : formatOffset(t.offsetMicros);
    this.isoformat = formatTime(t.hour, t.minute, t.second, t.microsecond) +
      (this.utcOffset ?? "");
    Object.freeze(this);
  }

  /** The isoformat text. */
  toString(): string {
    return this.isoformat;
  }

  /** The isoformat text. */
  toJSON(): string {
    return this.isoformat;
  }
}

// ---------------------------------------------------------------------------------------------
// PyDateTime

function immutable(): never {
  throw new TypeError("PyDateTime is immutable; make a new one instead");
}

/**
 * Python's `datetime.datetime`: a `Date` that also keeps microseconds and the UTC offset exactly as
 * Python wrote them, so re-encoding gives the same text. A naive value (no offset) is interpreted
 * as UTC for its `Date` time value. The `Date` setters throw: the value is immutable.
 *
 * A plain `Date` is written by the kombu JSON encoder as an aware UTC datetime.
 *
 * @example Keeping Python's text
 * ```ts
 * import { PyDateTime } from "./python_types.ts";
 *
 * const dt = new PyDateTime("2024-05-06T07:08:09.123456+02:00");
 * console.log(dt.isoformat); // "2024-05-06T07:08:09.123456+02:00"
 * console.log(dt.toISOString()); // "2024-05-06T05:08:09.123Z"
 * console.log(dt.microsecond, dt.utcOffset); // 123456 "+02:00"
 * console.log(new PyDateTime("2024-05-06T07:08:09").utcOffset); // null (naive)
 * ```
 */
export class PyDateTime extends Date {
  /** The year as Python wrote it (local to the offset), 1..9999. */
  readonly year: number;
  /** The month, 1..12. */
  readonly month: number;
  /** The day of the month. */
  readonly day: number;
  /** The hour, 0..23. */
  readonly hour: number;
  /** The minute, 0..59. */
  readonly minute: number;
  /** The second, 0..59. */
  readonly second: number;
  /** The microsecond, 0..999999. */
  readonly microsecond: number;
  /** The UTC offset as Python writes it (`+00:00`, `-05:30`), or null for a naive datetime. */
  readonly utcOffset: string | null;
  /** The text Python's `datetime.isoformat()` gives for this value. */
  readonly isoformat: string;

  /**
   * Parses ISO text as Python's `datetime.fromisoformat` (3.11) does: `YYYY-MM-DD` with an
   * optional separator and time, fractions of any length (truncated to microseconds), offsets
   * `Z`, `±HH`, `±HH:MM`, `±HHMM`, `±HH:MM:SS[.ffffff]`. The stored text is Python's canonical
   * `isoformat()` (so `Z` becomes `+00:00`).
   *
   * @param isoformat The text.
   * @throws {TypeError} When the text is not an ISO datetime.
   * @throws {RangeError} When a field is out of range.
   */
  constructor(isoformat: string) {
    const p = parseCanonicalDateTime(isoformat) ?? parseDateTime(isoformat);
    const days = daysFromCivil(p.year, p.month, p.day);
    const baseMs = (days * 86_400 + p.hour * 3_600 + p.minute * 60 + p.second) * 1_000;
    const restMicros = p.microsecond - (p.offsetMicros ?? 0);
    super(baseMs + Math.floor(restMicros / 1_000));
    this.year = p.year;
    this.month = p.month;
    this.day = p.day;
    this.hour = p.hour;
    this.minute = p.minute;
    this.second = p.second;
    this.microsecond = p.microsecond;
    if (p.canonical) {
      this.utcOffset = p.offsetMicros === null ? null : isoformat.slice(-6);
      this.isoformat = isoformat;
    } else {
      this.utcOffset = p.offsetMicros === null ? null : formatOffset(p.offsetMicros);
      this.isoformat = `${pad(p.year, 4)}-${pad(p.month, 2)}-${pad(p.day, 2)}T${
        formatTime(p.hour, p.minute, p.second, p.microsecond)
      }${this.utcOffset ?? ""}`;
    }
    Object.freeze(this);
  }

  /**
   * An aware UTC datetime for the same instant as a `Date` (microseconds are the milliseconds
   * times 1000).
   *
   * @param date A valid `Date` in years 1..9999.
   * @returns The datetime, e.g. `2024-01-02T03:04:05.678000+00:00`.
   * @throws {RangeError} When the date is invalid or outside Python's range.
   *
   * @example From a Date
   * ```ts
   * import { PyDateTime } from "./python_types.ts";
   *
   * console.log(PyDateTime.fromDate(new Date(0)).isoformat); // "1970-01-01T00:00:00+00:00"
   * ```
   */
  static fromDate(date: Date): PyDateTime {
    return new PyDateTime(dateIsoformat(date));
  }

  /** The isoformat text (what Python prints). */
  override toString(): string {
    return this.isoformat;
  }

  /** The isoformat text, with microseconds and offset as Python wrote them. */
  override toJSON(): string {
    return this.isoformat;
  }

  /** Throws: PyDateTime is immutable. */
  override setTime(_time: number): number {
    return immutable();
  }
  /** Throws: PyDateTime is immutable. */
  override setMilliseconds(_ms: number): number {
    return immutable();
  }
  /** Throws: PyDateTime is immutable. */
  override setUTCMilliseconds(_ms: number): number {
    return immutable();
  }
  /** Throws: PyDateTime is immutable. */
  override setSeconds(_sec: number, _ms?: number): number {
    return immutable();
  }
  /** Throws: PyDateTime is immutable. */
  override setUTCSeconds(_sec: number, _ms?: number): number {
    return immutable();
  }
  /** Throws: PyDateTime is immutable. */
  override setMinutes(_min: number, _sec?: number, _ms?: number): number {
    return immutable();
  }
  /** Throws: PyDateTime is immutable. */
  override setUTCMinutes(_min: number, _sec?: number, _ms?: number): number {
    return immutable();
  }
  /** Throws: PyDateTime is immutable. */
  override setHours(_hours: number, _min?: number, _sec?: number, _ms?: number): number {
    return immutable();
  }
  /** Throws: PyDateTime is immutable. */
  override setUTCHours(_hours: number, _min?: number, _sec?: number, _ms?: number): number {
    return immutable();
  }
  /** Throws: PyDateTime is immutable. */
  override setDate(_date: number): number {
    return immutable();
  }
  /** Throws: PyDateTime is immutable. */
  override setUTCDate(_date: number): number {
    return immutable();
  }
  /** Throws: PyDateTime is immutable. */
  override setMonth(_month: number, _date?: number): number {
    return immutable();
  }
  /** Throws: PyDateTime is immutable. */
  override setUTCMonth(_month: number, _date?: number): number {
    return immutable();
  }
  /** Throws: PyDateTime is immutable. */
  override setFullYear(_year: number, _month?: number, _date?: number): number {
    return immutable();
  }
  /** Throws: PyDateTime is immutable. */
  override setUTCFullYear(_year: number, _month?: number, _date?: number): number {
    return immutable();
  }
}

/**
 * Python's isoformat of a `Date` taken as an aware UTC datetime:
 * `YYYY-MM-DDTHH:MM:SS[.ffffff]+00:00` (a fraction only when the milliseconds are not zero).
 *
 * @param date A valid `Date` in years 1..9999.
 * @returns The text.
 * @throws {RangeError} When the date is invalid or outside Python's range.
 *
 * @example A Date as Python writes it
 * ```ts
 * import { dateIsoformat } from "./python_types.ts";
 *
 * console.log(dateIsoformat(new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 678))));
 * // "2024-01-02T03:04:05.678000+00:00"
 * ```
 */
export function dateIsoformat(date: Date): string {
  const time = date.getTime();
  if (time !== time) throw new RangeError("Invalid Date cannot be written as a Python datetime");
  const year = date.getUTCFullYear();
  if (year < 1 || year > 9999) {
    throw new RangeError(`Year ${year} is out of Python's datetime range 1..9999`);
  }
  const ms = date.getUTCMilliseconds();
  return `${pad(year, 4)}-${pad(date.getUTCMonth() + 1, 2)}-${pad(date.getUTCDate(), 2)}T${
    pad(date.getUTCHours(), 2)
  }:${pad(date.getUTCMinutes(), 2)}:${pad(date.getUTCSeconds(), 2)}${
    ms === 0 ? "" : `.${pad(ms, 3)}000`
  }+00:00`;
}
