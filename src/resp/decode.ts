/**
 * An incremental RESP2 reply decoder (RESP3 types are accepted too, mapped onto RESP2 shapes).
 *
 * Feed it chunks as they arrive; it calls back once per complete top-level reply, in order. Bulk
 * strings are read by their declared length, never by splitting lines, so values holding CRLF or
 * any byte survive. Nothing is re-parsed when a reply spans chunks: finished array elements are
 * kept on a stack, a split header line is completed from the next chunk, and a split bulk string
 * is copied once into a buffer of its declared size. By default chunks are only borrowed during
 * {@linkcode RespDecoder.feed} (every byte kept is copied, so a transport may reuse its read
 * buffer); with `freshChunks` bulk strings are views into the chunks, copied by nobody.
 *
 * Reply shapes: status → `string`, integer → `number`, bulk → `Uint8Array` (nil → `null`),
 * array → array, error → a `RedisReplyError` value (or whatever `createError` returns).
 * RESP3 extras: null `_` → `null`; boolean `#` → `1`/`0`; double `,` and big number `(` → their
 * text as `Uint8Array` (as RESP2 sends them); verbatim `=` → its text without the format prefix;
 * blob error `!` → an error value; map `%` → a flat `[key, value, …]` array; set `~` and push `>`
 * → arrays; attributes `|` are skipped.
 *
 * @module
 */

import type { RedisReply } from "../driver.ts";
import { RedisConnectionError, RedisReplyError } from "../errors.ts";

/** Receives each complete top-level reply. Must not throw. */
export type ReplyHandler = (reply: RedisReply) => void;

/**
 * Turns an error reply's text into the value the decoder emits.
 *
 * @param message The server's message, e.g. `WRONGTYPE Operation against a key holding …`.
 * @param depth 0 for a top-level error reply, 1 for an element of a top-level array, and so on.
 * @param index The element's position in its array (0 at top level).
 */
export type ErrorFactory = (message: string, depth: number, index: number) => RedisReply;

/** Options for {@linkcode RespDecoder}. */
export interface RespDecoderOptions {
  /**
   * Builds the value emitted for an error reply.
   * @default {(message) => new RedisReplyError(message)}
   */
  createError?: ErrorFactory;
  /**
   * Promises that fed chunks are never written to afterwards, so bulk strings can be returned as
   * views into them (`subarray`) instead of copies. Much faster where allocating a small typed
   * array is expensive (V8 under Deno: ~1–2 µs each); the cost is that a value kept alive keeps
   * its chunk alive, and that `value.buffer` is the chunk's buffer (use `byteOffset` and
   * `byteLength`), as with Node's pooled `Buffer`s.
   * @default {false}
   */
  freshChunks?: boolean;
}

const CR = 13;
const LF = 10;

const PLUS = 43; // + simple string
const MINUS = 45; // - error
const COLON = 58; // : integer
const DOLLAR = 36; // $ bulk string
const STAR = 42; // * array
const UNDERSCORE = 95; // _ null (RESP3)
const HASH = 35; // # boolean (RESP3)
const COMMA = 44; // , double (RESP3)
const LPAREN = 40; // ( big number (RESP3)
const BANG = 33; // ! blob error (RESP3)
const EQUALS = 61; // = verbatim string (RESP3)
const PERCENT = 37; // % map (RESP3)
const TILDE = 126; // ~ set (RESP3)
const GT = 62; // > push (RESP3)
const PIPE = 124; // | attribute (RESP3)

/** The header announced a bulk string whose body follows. */
const BULK: unique symbol = Symbol("bulk");
/** The header opened an aggregate (or was an attribute): nothing to emit yet. */
const NONE: unique symbol = Symbol("none");

const KIND_ARRAY = 0;
const KIND_ATTRIBUTE = 1;

const textDecoder = new TextDecoder();

function defaultCreateError(message: string): RedisReply {
  return new RedisReplyError(message);
}

function protocolError(what: string): RedisConnectionError {
  return new RedisConnectionError(`Malformed RESP reply: ${what}`);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** Parses the decimal integer in `buf[start, end)`. */
function parseInteger(buf: Uint8Array, start: number, end: number): number {
  let i = start;
  let negative = false;
  if (buf[i] === MINUS) {
    negative = true;
    i++;
  } else if (buf[i] === PLUS) {
    i++;
  }
  if (i >= end) throw protocolError("empty integer");
  if (end - i > 15) {
    // Beyond 2^53 the digit loop would round differently from Number(); let Number() do it.
    const value = Number(textDecoder.decode(buf.subarray(start, end)));
    if (Number.isNaN(value)) throw protocolError("bad integer");
    return value;
  }
  let n = 0;
  for (; i < end; i++) {
    const d = buf[i]! - 48;
    if (d < 0 || d > 9) throw protocolError(`bad digit 0x${buf[i]!.toString(16)} in an integer`);
    n = n * 10 + d;
  }
  return negative ? -n : n;
}

/** Decodes a short line of text (status replies are ASCII: avoid TextDecoder's call cost). */
function lineText(buf: Uint8Array, start: number, end: number): string {
  const n = end - start;
  if (n === 2 && buf[start] === 79 && buf[start + 1] === 75) return "OK";
  if (n <= 16) {
    let text = "";
    for (let i = start; i < end; i++) {
      const c = buf[i]!;
      if (c >= 0x80) return textDecoder.decode(buf.subarray(start, end));
      text += String.fromCharCode(c);
    }
    return text;
  }
  return textDecoder.decode(buf.subarray(start, end));
}

/**
 * Decodes a byte stream of RESP replies incrementally.
 *
 * @example Feeding a reply split across chunks
 * ```ts
 * import { RespDecoder } from "./decode.ts";
 * const replies: unknown[] = [];
 * const decoder = new RespDecoder((reply) => replies.push(reply));
 * const bytes = new TextEncoder().encode("*2\r\n$5\r\nhe\r\nl\r\n:42\r\n+OK\r\n");
 * decoder.feed(bytes.subarray(0, 9));
 * decoder.feed(bytes.subarray(9));
 * // replies: [[Uint8Array("he\r\nl"), 42], "OK"]
 * console.assert(replies.length === 2);
 * ```
 */
export class RespDecoder {
  readonly #onReply: ReplyHandler;
  readonly #createError: ErrorFactory;
  readonly #fresh: boolean;

  /** A header line split across chunks: its first part, copied. */
  #line: Uint8Array | null = null;
  /** A bulk string split across chunks: its buffer, of the declared size, and how much is filled. */
  #bulk: Uint8Array | null = null;
  #bulkAt = 0;
  /** The last bulk header's length and type byte (`$`, `!` or `=`). */
  #bulkLen = 0;
  #bulkType = DOLLAR;
  /** Bytes of a bulk string's trailing CRLF still to skip. */
  #skip = 0;

  /** Open aggregates: their element arrays, the next index to fill, and their kind. */
  #items: RedisReply[][] = [];
  #next: number[] = [];
  #kinds: number[] = [];
  #depth = 0;

  /**
   * Creates a decoder.
   *
   * @param onReply Called once per complete top-level reply, in order.
   * @param options How error replies become values.
   */
  constructor(onReply: ReplyHandler, options: RespDecoderOptions = {}) {
    this.#onReply = onReply;
    this.#createError = options.createError ?? defaultCreateError;
    this.#fresh = options.freshChunks ?? false;
  }

  /** Whether a reply has been partly received (bytes are buffered waiting for more). */
  get partial(): boolean {
    return this.#line !== null || this.#bulk !== null || this.#skip > 0 || this.#depth > 0;
  }

  /** Forgets any partly received reply (after the connection it came from is gone). */
  reset(): void {
    this.#line = null;
    this.#bulk = null;
    this.#bulkAt = 0;
    this.#skip = 0;
    this.#items.length = 0;
    this.#next.length = 0;
    this.#kinds.length = 0;
    this.#depth = 0;
  }

  /**
   * Consumes a chunk, calling the reply handler for each reply it completes. The chunk is not
   * retained unless the decoder was created with `freshChunks`.
   *
   * @param bytes The bytes received.
   * @throws {RedisConnectionError} when the bytes are not RESP; the decoder must then be reset.
   */
  feed(bytes: Uint8Array): void {
    // A Uint8Array subclass (Node's Buffer) may slice() without copying: view it as a plain one.
    const chunk = bytes.constructor === Uint8Array
      ? bytes
      : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const end = chunk.length;
    let pos = 0;

    if (this.#line !== null) {
      const lf = chunk.indexOf(LF);
      if (lf === -1) {
        this.#line = concat(this.#line, chunk);
        return;
      }
      const line = concat(this.#line, chunk.subarray(0, lf + 1));
      this.#line = null;
      pos = lf + 1;
      const value = this.#header(line, 0, line.length - 1);
      if (value === BULK) {
        this.#bulk = new Uint8Array(this.#bulkLen);
        this.#bulkAt = 0;
      } else if (value !== NONE) {
        this.#emit(value);
      }
    }
    if (this.#bulk !== null) {
      pos = this.#fillBulk(chunk, pos);
      if (this.#bulk !== null) return;
    }
    if (this.#skip > 0) {
      const skipped = Math.min(this.#skip, end - pos);
      pos += skipped;
      this.#skip -= skipped;
    }

    while (pos < end) {
      if (chunk[pos] === DOLLAR) {
        // Fast path for the commonest reply, a bulk string wholly inside this chunk: read the
        // length while scanning for CR, no indexOf call, no header dispatch.
        let i = pos + 1;
        let len = 0;
        let c = 0;
        while (i < end && (c = chunk[i]!) >= 48 && c <= 57) {
          len = len * 10 + c - 48;
          i++;
        }
        const start = i + 2;
        const stop = start + len;
        if (
          c === CR && i > pos + 1 && stop + 2 <= end && chunk[i + 1] === LF && chunk[stop] === CR
        ) {
          this.#emit(this.#fresh ? chunk.subarray(start, stop) : chunk.slice(start, stop));
          pos = stop + 2;
          continue;
        }
        // Nil, split across chunks or malformed: the general path below sorts it out.
      }
      const lf = chunk.indexOf(LF, pos);
      if (lf === -1) {
        this.#line = chunk.slice(pos);
        return;
      }
      const value = this.#header(chunk, pos, lf);
      pos = lf + 1;
      if (value === BULK) {
        const len = this.#bulkLen;
        if (end - pos >= len + 2) {
          const stop = pos + len;
          if (chunk[stop] !== CR) throw protocolError("bulk string longer than declared");
          const bytes = this.#fresh ? chunk.subarray(pos, stop) : chunk.slice(pos, stop);
          pos = stop + 2;
          this.#emit(this.#bulkType === DOLLAR ? bytes : this.#finishBulk(bytes));
        } else {
          this.#bulk = new Uint8Array(len);
          this.#bulkAt = 0;
          pos = this.#fillBulk(chunk, pos);
          if (this.#bulk !== null) return;
          const skipped = Math.min(this.#skip, end - pos);
          pos += skipped;
          this.#skip -= skipped;
        }
      } else if (value !== NONE) {
        this.#emit(value);
      }
    }
  }

  /** Copies what the chunk holds of the pending bulk string; emits it when complete. */
  #fillBulk(chunk: Uint8Array, pos: number): number {
    const bulk = this.#bulk!;
    const need = bulk.length - this.#bulkAt;
    const available = chunk.length - pos;
    if (available < need) {
      bulk.set(pos === 0 ? chunk : chunk.subarray(pos), this.#bulkAt);
      this.#bulkAt += available;
      return chunk.length;
    }
    bulk.set(chunk.subarray(pos, pos + need), this.#bulkAt);
    this.#bulk = null;
    this.#skip = 2;
    this.#emit(this.#finishBulk(bulk));
    return pos + need;
  }

  #finishBulk(bytes: Uint8Array): RedisReply {
    switch (this.#bulkType) {
      case DOLLAR:
        return bytes;
      case EQUALS: // verbatim: "txt:" / "mkd:" prefix
        return bytes.length >= 4 && bytes[3] === COLON ? bytes.subarray(4) : bytes;
      default: // BANG, blob error
        return this.#error(textDecoder.decode(bytes));
    }
  }

  #error(message: string): RedisReply {
    const depth = this.#depth;
    return this.#createError(message, depth, depth === 0 ? 0 : this.#next[depth - 1]!);
  }

  /** Parses the header line `buf[start, lf]` (lf is the index of its LF). */
  #header(buf: Uint8Array, start: number, lf: number): RedisReply | typeof BULK | typeof NONE {
    const end = lf - 1; // the CR
    if (end <= start || buf[end] !== CR) throw protocolError("line not ended by CRLF");
    const type = buf[start]!;
    switch (type) {
      case DOLLAR:
      case BANG:
      case EQUALS: {
        const len = parseInteger(buf, start + 1, end);
        if (len < 0) return null;
        this.#bulkLen = len;
        this.#bulkType = type;
        return BULK;
      }
      case COLON:
        return parseInteger(buf, start + 1, end);
      case PLUS:
        return lineText(buf, start + 1, end);
      case MINUS:
        return this.#error(textDecoder.decode(buf.subarray(start + 1, end)));
      case STAR:
      case TILDE:
      case GT: {
        const n = parseInteger(buf, start + 1, end);
        if (n < 0) return null;
        if (n === 0) return [];
        this.#open(n, KIND_ARRAY);
        return NONE;
      }
      case PERCENT: {
        const n = parseInteger(buf, start + 1, end);
        if (n < 0) return null;
        if (n === 0) return [];
        this.#open(2 * n, KIND_ARRAY);
        return NONE;
      }
      case PIPE: {
        const n = parseInteger(buf, start + 1, end);
        if (n > 0) this.#open(2 * n, KIND_ATTRIBUTE);
        return NONE;
      }
      case UNDERSCORE:
        return null;
      case HASH:
        return buf[start + 1] === 116 /* t */ ? 1 : 0;
      case COMMA:
      case LPAREN:
        return buf.slice(start + 1, end);
      default:
        throw protocolError(`unexpected type byte 0x${type.toString(16).padStart(2, "0")}`);
    }
  }

  #open(length: number, kind: number): void {
    const d = this.#depth++;
    this.#items[d] = new Array<RedisReply>(length);
    this.#next[d] = 0;
    this.#kinds[d] = kind;
  }

  /** Places a finished value in its parent aggregate, closing aggregates it completes. */
  #emit(value: RedisReply): void {
    let v = value;
    while (this.#depth > 0) {
      const d = this.#depth - 1;
      const items = this.#items[d]!;
      const i = this.#next[d]!;
      items[i] = v;
      if (i + 1 < items.length) {
        this.#next[d] = i + 1;
        return;
      }
      this.#depth = d;
      this.#items[d] = EMPTY;
      if (this.#kinds[d] === KIND_ATTRIBUTE) return; // attributes annotate the next value: drop
      v = items;
    }
    this.#onReply(v);
  }
}

const EMPTY: RedisReply[] = [];
