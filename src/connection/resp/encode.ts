/**
 * RESP2 command encoding: a command becomes an array of bulk strings (`*<n>\r\n$<len>\r\n<bytes>\r\n…`).
 *
 * Every function here is pure and allocation-frugal: the byte length of a command is computed first,
 * then it is written into one pre-sized `Uint8Array` (or into a caller's buffer at an offset, which
 * is how a driver packs every command of one tick into a single write). Strings are sent as UTF-8
 * (lone surrogates become U+FFFD, as `TextEncoder` does), numbers and bigints as their decimal text,
 * `Uint8Array`s byte for byte.
 *
 * @module
 */

import type { RedisArg, RedisCommand } from "../driver.ts";

const CR = 13;
const LF = 10;
const STAR = 42; // '*'
const DOLLAR = 36; // '$'
const ZERO = 48; // '0'

/** Strings longer than this are measured and written by `TextEncoder` rather than a JS loop. */
const LONG_STRING = 96;
const textEncoder = new TextEncoder();

/** Number of decimal digits of a non-negative safe integer. */
function digits(n: number): number {
  if (n < 10) return 1;
  if (n < 100) return 2;
  if (n < 1000) return 3;
  if (n < 10000) return 4;
  if (n < 100000) return 5;
  if (n < 1000000) return 6;
  if (n < 10000000) return 7;
  if (n < 100000000) return 8;
  if (n < 1000000000) return 9;
  return String(n).length;
}

/** Writes a non-negative integer as decimal text at `at`; returns the offset after it. */
function writeUint(target: Uint8Array, at: number, n: number, width: number): number {
  let p = at + width;
  const end = p;
  if (n < 4294967296) {
    let v = n >>> 0;
    do {
      target[--p] = ZERO + (v % 10);
      v = (v / 10) >>> 0;
    } while (v > 0);
  } else {
    const text = String(n);
    for (let i = 0; i < text.length; i++) target[at + i] = text.charCodeAt(i);
  }
  return end;
}

/** UTF-8 byte length of a string (lone surrogates count as the 3 bytes of U+FFFD). */
export function utf8Length(text: string): number {
  const n = text.length;
  let bytes = n;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) {
      bytes += 1;
    } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        // A surrogate pair: 2 UTF-16 units, 4 bytes.
        bytes += 2;
        i++;
      } else {
        bytes += 2;
      }
    } else {
      bytes += 2;
    }
  }
  return bytes;
}

/** Writes a string as UTF-8 whose byte length is known to be `byteLength`. */
function writeString(target: Uint8Array, at: number, text: string, byteLength: number): number {
  const n = text.length;
  if (byteLength === n) {
    // Pure ASCII: one byte per UTF-16 unit.
    if (n > LONG_STRING) {
      textEncoder.encodeInto(text, target.subarray(at, at + n));
    } else {
      for (let i = 0; i < n; i++) target[at + i] = text.charCodeAt(i);
    }
    return at + n;
  }
  const { written } = textEncoder.encodeInto(text, target.subarray(at, at + byteLength));
  return at + written;
}

/** Writes a string argument's `<len>\r\n<utf8>` at `p` (just after its `$`). */
function writeStringArg(target: Uint8Array, p: number, text: string): number {
  const n = text.length;
  if (n <= LONG_STRING) {
    // Optimistically ASCII: one pass writes the header for n bytes and copies the code units.
    const start = writeUint(target, p, n, digits(n)) + 2;
    target[start - 2] = CR;
    target[start - 1] = LF;
    let i = 0;
    for (; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c >= 0x80) break;
      target[start + i] = c;
    }
    if (i === n) return start + n;
  }
  const len = utf8Length(text);
  let q = writeUint(target, p, len, digits(len));
  target[q++] = CR;
  target[q++] = LF;
  return writeString(target, q, text, len);
}

/** The text a number or bigint argument is sent as; throws for values Redis cannot parse. */
function numberText(value: number | bigint): string {
  if (typeof value === "number" && !Number.isFinite(value)) {
    throw new RangeError(
      `Cannot send ${value} as a Redis argument: numbers must be finite (send "+inf"/"-inf" as strings)`,
    );
  }
  return String(value);
}

function argTypeError(value: unknown, index: number): TypeError {
  const kind = value === null ? "null" : typeof value;
  return new TypeError(
    `Cannot send argument ${index} of a Redis command: expected a string, Uint8Array, number or bigint, got ${kind}`,
  );
}

/** Strings up to this length are bounded by 3 bytes per UTF-16 unit instead of being measured. */
const BOUND_BY_LENGTH = 1024;

/**
 * Byte length of one argument's bulk string, header and trailing CRLF included; with `exact`
 * false, short strings count 3 bytes per UTF-16 unit (an upper bound that needs no scan).
 */
function argByteLength(arg: RedisArg, index: number, exact: boolean): number {
  let len: number;
  if (typeof arg === "string") {
    len = !exact && arg.length <= BOUND_BY_LENGTH ? 3 * arg.length : utf8Length(arg);
  } else if (arg instanceof Uint8Array) {
    len = arg.byteLength;
  } else if (typeof arg === "number") {
    if (Number.isSafeInteger(arg) && arg >= 0) {
      len = digits(arg);
    } else {
      len = numberText(arg).length;
    }
  } else if (typeof arg === "bigint") {
    len = String(arg).length;
  } else {
    throw argTypeError(arg, index);
  }
  // $<len>\r\n<bytes>\r\n
  return 1 + digits(len) + 2 + len + 2;
}

/**
 * Returns the number of bytes {@linkcode writeCommand} will write for the command, validating it.
 *
 * @param command The command name followed by its arguments.
 * @returns The encoded size in bytes.
 * @throws {TypeError} when the command is empty or an argument is not a string, `Uint8Array`,
 * number or bigint.
 * @throws {RangeError} when a number argument is not finite.
 *
 * @example Sizing a buffer
 * ```ts
 * import { commandByteLength } from "./encode.ts";
 * console.assert(commandByteLength(["GET", "k"]) === 20); // *2\r\n$3\r\nGET\r\n$1\r\nk\r\n
 * ```
 */
export function commandByteLength(command: RedisCommand): number {
  const n = command.length;
  if (n === 0) throw new TypeError("Cannot send an empty Redis command");
  let total = 1 + digits(n) + 2;
  for (let i = 0; i < n; i++) total += argByteLength(command[i]!, i, true);
  return total;
}

/**
 * Returns an upper bound of the bytes {@linkcode writeCommand} will write, validating the command.
 * Cheaper than {@linkcode commandByteLength}: short strings are not scanned. For callers that
 * write into a larger buffer and send only what was written.
 *
 * @param command The command name followed by its arguments.
 * @returns At least the encoded size in bytes.
 * @throws {TypeError} when the command is empty or an argument has an unsupported type.
 * @throws {RangeError} when a number argument is not finite.
 *
 * @example Reserving room in a write buffer
 * ```ts
 * import { maxCommandByteLength, writeCommand } from "./encode.ts";
 * const command = ["SET", "clé", "valeur"];
 * const buffer = new Uint8Array(maxCommandByteLength(command));
 * const bytes = buffer.subarray(0, writeCommand(buffer, 0, command));
 * console.assert(bytes.length === 33);
 * ```
 */
export function maxCommandByteLength(command: RedisCommand): number {
  const n = command.length;
  if (n === 0) throw new TypeError("Cannot send an empty Redis command");
  let total = 1 + digits(n) + 2;
  for (let i = 0; i < n; i++) total += argByteLength(command[i]!, i, false);
  return total;
}

/**
 * Writes the command into `target` at `offset` and returns the offset just after it. The caller
 * sizes `target` with {@linkcode commandByteLength} or {@linkcode maxCommandByteLength} (which
 * also validate the command).
 *
 * @param target The buffer to write into.
 * @param offset Where the command starts.
 * @param command The command name followed by its arguments.
 * @returns The offset after the last byte written.
 *
 * @example Two commands in one buffer
 * ```ts
 * import { commandByteLength, writeCommand } from "./encode.ts";
 * const a = ["SET", "k", "v"], b = ["GET", "k"];
 * const buf = new Uint8Array(commandByteLength(a) + commandByteLength(b));
 * writeCommand(buf, writeCommand(buf, 0, a), b);
 * ```
 */
export function writeCommand(target: Uint8Array, offset: number, command: RedisCommand): number {
  const n = command.length;
  let p = offset;
  target[p++] = STAR;
  p = writeUint(target, p, n, digits(n));
  target[p++] = CR;
  target[p++] = LF;
  for (let i = 0; i < n; i++) {
    const arg = command[i]!;
    target[p++] = DOLLAR;
    if (typeof arg === "string") {
      p = writeStringArg(target, p, arg);
    } else if (arg instanceof Uint8Array) {
      const len = arg.byteLength;
      p = writeUint(target, p, len, digits(len));
      target[p++] = CR;
      target[p++] = LF;
      target.set(arg, p);
      p += len;
    } else if (typeof arg === "number" && Number.isSafeInteger(arg) && arg >= 0) {
      const len = digits(arg);
      p = writeUint(target, p, len, digits(len));
      target[p++] = CR;
      target[p++] = LF;
      p = writeUint(target, p, arg, len);
    } else {
      const text = numberText(arg as number | bigint);
      const len = text.length;
      p = writeUint(target, p, len, digits(len));
      target[p++] = CR;
      target[p++] = LF;
      for (let j = 0; j < len; j++) target[p++] = text.charCodeAt(j);
    }
    target[p++] = CR;
    target[p++] = LF;
  }
  return p;
}

/**
 * Encodes one command as a RESP2 array of bulk strings in a single, exactly sized buffer.
 *
 * @param command The command name followed by its arguments.
 * @returns The bytes to send.
 * @throws {TypeError} when the command is empty or an argument has an unsupported type.
 * @throws {RangeError} when a number argument is not finite.
 *
 * @example Encoding SET with an expiry
 * ```ts
 * import { encodeCommand } from "./encode.ts";
 * const bytes = encodeCommand(["SET", "key", "value", "EX", 60]);
 * console.assert(new TextDecoder().decode(bytes).startsWith("*5\r\n$3\r\nSET\r\n"));
 * ```
 */
export function encodeCommand(command: RedisCommand): Uint8Array {
  const bytes = new Uint8Array(commandByteLength(command));
  writeCommand(bytes, 0, command);
  return bytes;
}

/**
 * Encodes several commands back to back into one buffer, for a single pipelined write.
 *
 * @param commands The commands, in the order the server must run them.
 * @returns The bytes to send.
 * @throws {TypeError} when a command is empty or an argument has an unsupported type.
 *
 * @example A MULTI/EXEC block in one write
 * ```ts
 * import { encodeCommands } from "./encode.ts";
 * const bytes = encodeCommands([["MULTI"], ["INCR", "n"], ["EXEC"]]);
 * console.assert(bytes.length > 0);
 * ```
 */
export function encodeCommands(commands: readonly RedisCommand[]): Uint8Array {
  let total = 0;
  for (const command of commands) total += commandByteLength(command);
  const bytes = new Uint8Array(total);
  let p = 0;
  for (const command of commands) p = writeCommand(bytes, p, command);
  return bytes;
}
