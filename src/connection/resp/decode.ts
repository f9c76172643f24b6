/**
 * An incremental RESP2 reply decoder (RESP3 types are accepted too, mapped onto RESP2 shapes).
 *
 * Feed it chunks as they arrive; it calls back once per complete top-level reply, in order. Bulk
 * strings are read by their declared length, never by splitting lines, so values holding CRLF or
 * any byte survive. Nothing is re-parsed when a reply spans chunks: finished array elements are
 * kept on a stack, a split header line is completed from the next chunk, and a split bulk string
 * is copied into a buffer that grows as its bytes arrive. By default chunks are only borrowed during
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
 * Declared lengths are not trusted: memory grows with the bytes received (an aggregate's elements
 * array grows as they arrive, a bulk string's buffer doubles up to its declared length), and
 * depth, aggregate sizes, bulk lengths and line lengths are checked against {@linkcode RespLimits}.
 * A violation throws {@linkcode RedisProtocolError}, as malformed bytes do.
 *
 * @module
 */

import type { RedisReply } from "../driver.ts";
import { RedisProtocolError, RedisReplyError } from "../../errors.ts";
import { type ResolvedRespLimits, resolveRespLimits, type RespLimits } from "./limits.ts";

export type { RespLimits } from "./limits.ts";

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

/** Options for {@linkcode RespDecoder}: how errors become values, chunk ownership, limits. */
export interface RespDecoderOptions extends RespLimits {
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

/** A split bulk string's first buffer holds at least this much (or its whole declared length). */
const BULK_START = 65_536;

/** The fewest bytes an aggregate element takes on the wire (`_\r\n`, `+\r\n`). */
const MIN_ELEMENT_BYTES = 3;

function protocolError(what: string): RedisProtocolError {
  return new RedisProtocolError(`Malformed RESP reply: ${what}`);
}

function limitError(what: string, limit: keyof RespLimits, value: number): RedisProtocolError {
  return new RedisProtocolError(`RESP reply refused: ${what} exceeds ${limit} (${value})`);
}

function badDigit(byte: number): RedisProtocolError {
  return protocolError(`bad digit 0x${byte.toString(16).padStart(2, "0")} in an integer`);
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
    // Beyond 2^53 the digit loop would round differently from Number(); let Number() do it, once
    // every byte is known to be a digit (Number() also takes "1e9", "0x1f" or " 12").
    for (let j = i; j < end; j++) {
      const d = buf[j]! - 48;
      if (d < 0 || d > 9) throw badDigit(buf[j]!);
    }
    return Number(textDecoder.decode(buf.subarray(start, end)));
  }
  let n = 0;
  for (; i < end; i++) {
    const d = buf[i]! - 48;
    if (d < 0 || d > 9) throw badDigit(buf[i]!);
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
  readonly #maxDepth: number;
  readonly #maxAggregate: number;
  readonly #maxBulk: number;
  readonly #maxLine: number;

  /** A header line split across chunks: its parts so far (copied), joined once it ends. */
  #lineParts: Uint8Array[] | null = null;
  #lineLength = 0;
  /**
   * A bulk string split across chunks: a buffer grown as bytes arrive, and how many bytes of it
   * and then of its trailing CRLF have arrived (it is emitted once the CRLF is checked, as when
   * it arrives whole).
   */
  #bulk: Uint8Array | null = null;
  #bulkAt = 0;
  /** The last bulk header's length and type byte (`$`, `!` or `=`). */
  #bulkLen = 0;
  #bulkType = DOLLAR;

  /**
   * Open aggregates: their element arrays (filled by appending, never sized by the header), the
   * next index to fill, the declared element count, and their kind.
   */
  #items: RedisReply[][] = [];
  #next: number[] = [];
  #want: number[] = [];
  #kinds: number[] = [];
  #depth = 0;
  /**
   * The current chunk's length, and where in it the bytes already counted on to hold elements of
   * preallocated aggregates end: each slot preallocated is backed by MIN_ELEMENT_BYTES received
   * bytes that no other aggregate counts on, so preallocation stays proportional to the input.
   */
  #chunkEnd = 0;
  #claimEnd = 0;

  /**
   * Creates a decoder.
   *
   * @param onReply Called once per complete top-level reply, in order.
   * @param options How error replies become values, whether chunks may be kept, the limits.
   * @throws {RangeError} when a limit is not a positive integer.
   */
  constructor(onReply: ReplyHandler, options: RespDecoderOptions = {}) {
    this.#onReply = onReply;
    this.#createError = options.createError ?? defaultCreateError;
    this.#fresh = options.freshChunks ?? false;
    const limits: ResolvedRespLimits = resolveRespLimits(options);
    this.#maxDepth = limits.maxDepth;
    this.#maxAggregate = limits.maxAggregateLength;
    this.#maxBulk = limits.maxBulkLength;
    this.#maxLine = limits.maxLineLength;
  }

  /** Whether a reply has been partly received (bytes are buffered waiting for more). */
  get partial(): boolean {
    return this.#lineParts !== null || this.#bulk !== null || this.#depth > 0;
  }

  /** Forgets any partly received reply (after the connection it came from is gone). */
  reset(): void {
    this.#lineParts = null;
    this.#lineLength = 0;
    this.#bulk = null;
    this.#bulkAt = 0;
    this.#items.length = 0;
    this.#next.length = 0;
    this.#want.length = 0;
    this.#kinds.length = 0;
    this.#depth = 0;
  }

  /**
   * Consumes a chunk, calling the reply handler for each reply it completes. The chunk is not
   * retained unless the decoder was created with `freshChunks`.
   *
   * @param bytes The bytes received.
   * @throws {RedisProtocolError} when the bytes are not RESP or a reply exceeds a limit; the
   * decoder must then be reset.
   */
  feed(bytes: Uint8Array): void {
    // A Uint8Array subclass (Node's Buffer) may slice() without copying: view it as a plain one.
    const chunk = bytes.constructor === Uint8Array
      ? bytes
      : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const end = chunk.length;
    let pos = 0;
    this.#chunkEnd = end;
    this.#claimEnd = 0;

    if (this.#lineParts !== null) {
      const lf = chunk.indexOf(LF);
      if (lf === -1) {
        this.#holdLine(chunk, 0);
        return;
      }
      const line = this.#joinLine(chunk.subarray(0, lf + 1));
      pos = lf + 1;
      const value = this.#header(line, 0, line.length - 1, lf + 1);
      if (value === BULK) {
        this.#startBulk(end - pos);
      } else if (value !== NONE) {
        this.#emit(value);
      }
    }
    if (this.#bulk !== null) {
      pos = this.#fillBulk(chunk, pos);
      if (this.#bulk !== null) return;
    }

    const maxBulk = this.#maxBulk;
    const maxLine = this.#maxLine;
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
          c === CR && i > pos + 1 && stop + 2 <= end && chunk[i + 1] === LF &&
          chunk[stop] === CR && chunk[stop + 1] === LF && len <= maxBulk && i - pos <= maxLine
        ) {
          this.#emit(this.#fresh ? chunk.subarray(start, stop) : chunk.slice(start, stop));
          pos = stop + 2;
          continue;
        }
        // Nil, split across chunks or malformed: the general path below sorts it out.
      }
      const lf = chunk.indexOf(LF, pos);
      if (lf === -1) {
        this.#lineParts = [];
        this.#lineLength = 0;
        this.#holdLine(chunk, pos);
        return;
      }
      const value = this.#header(chunk, pos, lf, lf + 1);
      pos = lf + 1;
      if (value === BULK) {
        const len = this.#bulkLen;
        if (end - pos >= len + 2) {
          const stop = pos + len;
          if (chunk[stop] !== CR || chunk[stop + 1] !== LF) {
            throw protocolError("bulk string longer than declared");
          }
          const bytes = this.#fresh ? chunk.subarray(pos, stop) : chunk.slice(pos, stop);
          pos = stop + 2;
          this.#emit(this.#bulkType === DOLLAR ? bytes : this.#finishBulk(bytes));
        } else {
          this.#startBulk(end - pos);
          pos = this.#fillBulk(chunk, pos);
          if (this.#bulk !== null) return;
        }
      } else if (value !== NONE) {
        this.#emit(value);
      }
    }
  }

  /**
   * Keeps `chunk[pos, end)`, the start of a line with no LF yet. Parts are joined once, when the
   * line ends, so a line arriving in many chunks costs linear, not quadratic, copying.
   */
  #holdLine(chunk: Uint8Array, pos: number): void {
    const length = this.#lineLength + chunk.length - pos;
    // One byte more than the limit may be the line's CR, whose LF has not arrived yet.
    if (length > this.#maxLine + 1) {
      throw limitError(
        `an unterminated line of ${length} bytes`,
        "maxLineLength",
        this.#maxLine,
      );
    }
    if (pos < chunk.length) {
      this.#lineParts!.push(this.#fresh ? chunk.subarray(pos) : chunk.slice(pos));
    }
    this.#lineLength = length;
  }

  /** Joins the held parts of a line with its end, `rest` (which holds the LF). */
  #joinLine(rest: Uint8Array): Uint8Array {
    const parts = this.#lineParts!;
    const line = new Uint8Array(this.#lineLength + rest.length);
    let at = 0;
    for (const part of parts) {
      line.set(part, at);
      at += part.length;
    }
    line.set(rest, at);
    this.#lineParts = null;
    this.#lineLength = 0;
    return line;
  }

  /**
   * Starts a bulk string that did not arrive whole. Its buffer is sized by what is at hand, never
   * by the declared length alone (a header may claim 512 MiB and send nothing), and grows in
   * #fillBulk.
   */
  #startBulk(available: number): void {
    this.#bulk = new Uint8Array(Math.min(this.#bulkLen, Math.max(available, BULK_START)));
    this.#bulkAt = 0;
  }

  /**
   * Copies what the chunk holds of the pending bulk string and checks its trailing CRLF; emits it
   * when both are complete. Returns the position after what it consumed.
   */
  #fillBulk(chunk: Uint8Array, pos: number): number {
    const len = this.#bulkLen;
    let bulk = this.#bulk!;
    let at = this.#bulkAt;
    let p = pos;
    if (at < len) {
      const take = Math.min(len - at, chunk.length - p);
      if (at + take > bulk.length) {
        // Doubling keeps the copying linear; the declared length caps the growth.
        const grown = new Uint8Array(Math.min(len, Math.max(2 * bulk.length, at + take)));
        grown.set(bulk.subarray(0, at));
        this.#bulk = bulk = grown;
      }
      bulk.set(p === 0 && take === chunk.length ? chunk : chunk.subarray(p, p + take), at);
      at += take;
      p += take;
    }
    // The trailing CRLF: at === len expects CR, at === len + 1 expects LF.
    while (at >= len && at < len + 2 && p < chunk.length) {
      if (chunk[p] !== (at === len ? CR : LF)) {
        throw protocolError("bulk string longer than declared");
      }
      at++;
      p++;
    }
    this.#bulkAt = at;
    if (at < len + 2) return p;
    this.#bulk = null;
    this.#emit(this.#finishBulk(bulk));
    return p;
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

  /**
   * Parses the header line `buf[start, lf]` (lf is the index of its LF); `after` is where the
   * current chunk's bytes after the line begin.
   */
  #header(
    buf: Uint8Array,
    start: number,
    lf: number,
    after: number,
  ): RedisReply | typeof BULK | typeof NONE {
    const end = lf - 1; // the CR
    if (end <= start || buf[end] !== CR) throw protocolError("line not ended by CRLF");
    if (end - start > this.#maxLine) {
      throw limitError(`a line of ${end - start} bytes`, "maxLineLength", this.#maxLine);
    }
    const type = buf[start]!;
    switch (type) {
      case DOLLAR:
      case BANG:
      case EQUALS: {
        const len = parseInteger(buf, start + 1, end);
        if (len < 0) return nil(len);
        if (len > this.#maxBulk) {
          throw limitError(`a bulk string of ${len} bytes`, "maxBulkLength", this.#maxBulk);
        }
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
        if (n < 0) return nil(n);
        return this.#open(n, KIND_ARRAY, after);
      }
      case PERCENT: {
        const n = parseInteger(buf, start + 1, end);
        if (n < 0) return nil(n);
        return this.#open(2 * n, KIND_ARRAY, after);
      }
      case PIPE: {
        const n = parseInteger(buf, start + 1, end);
        if (n < 0) throw protocolError(`attribute of ${n} entries`);
        this.#open(2 * n, KIND_ATTRIBUTE, after);
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

  /**
   * Opens an aggregate of `length` elements, after checking the limits; an empty one is complete
   * at once (an empty array, or nothing for an empty attribute).
   */
  #open(length: number, kind: number, after: number): RedisReply | typeof NONE {
    if (length > this.#maxAggregate) {
      throw limitError(
        `an aggregate of ${length} elements`,
        "maxAggregateLength",
        this.#maxAggregate,
      );
    }
    const d = this.#depth;
    if (d >= this.#maxDepth) {
      throw limitError(`nesting deeper than ${d} levels`, "maxDepth", this.#maxDepth);
    }
    if (length === 0) return kind === KIND_ARRAY ? [] : NONE;
    this.#depth = d + 1;
    // The header's count is a claim: slots are preallocated only when received bytes that no
    // other aggregate counts on could hold that many elements; otherwise the array grows as
    // elements arrive.
    const from = after > this.#claimEnd ? after : this.#claimEnd;
    const claim = length * MIN_ELEMENT_BYTES;
    if (claim <= this.#chunkEnd - from) {
      this.#items[d] = new Array<RedisReply>(length);
      this.#claimEnd = from + claim;
    } else {
      this.#items[d] = [];
    }
    this.#next[d] = 0;
    this.#want[d] = length;
    this.#kinds[d] = kind;
    return NONE;
  }

  /** Places a finished value in its parent aggregate, closing aggregates it completes. */
  #emit(value: RedisReply): void {
    let v = value;
    while (this.#depth > 0) {
      const d = this.#depth - 1;
      const items = this.#items[d]!;
      const i = this.#next[d]!;
      items[i] = v; // appends when the array was not preallocated
      if (i + 1 < this.#want[d]!) {
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

/** The value of a `-1` length (nil); other negative lengths are malformed. */
function nil(length: number): null {
  if (length !== -1) throw protocolError(`negative length ${length}`);
  return null;
}
