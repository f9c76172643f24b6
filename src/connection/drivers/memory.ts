/**
 * The embedded in-memory driver: a small Redis inside the process, for tests, demos and
 * single-process use. It answers the commands the backend core issues (and a few more) with the
 * same replies, reply types and error texts as a real Redis 7.0 server, and it supports
 * transactions and pub/sub.
 *
 * Several drivers can share one {@linkcode MemoryStore}, like several connections to one server,
 * so a "worker" and a "client" in the same process see the same keys and messages.
 *
 * There are no timers: keys expire lazily when touched, and every command also reclaims a few
 * expired keys, so nothing keeps a process alive.
 *
 * @example A worker and a client sharing one store
 * ```ts
 * import { createMemoryStore, memoryDriver } from "./memory.ts";
 *
 * const store = createMemoryStore();
 * await using worker = memoryDriver({ store });
 * await using client = memoryDriver({ store });
 * await worker.send(["SET", "celery-task-meta-1", '{"status": "SUCCESS"}', "EX", 86400]);
 * const stored = await client.send(["GET", "celery-task-meta-1"]);
 * console.assert(new TextDecoder().decode(stored as Uint8Array).includes("SUCCESS"));
 * ```
 *
 * @module
 */
import type {
  RedisArg,
  RedisCommand,
  RedisDriver,
  RedisReply,
  Subscriber,
  SubscriberHandlers,
} from "../driver.ts";
import { BackendClosedError, RedisReplyError } from "../../errors.ts";

// ---------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------

/** Options for {@linkcode createMemoryStore}. */
export interface MemoryStoreOptions {
  /**
   * The number of logical databases (`SELECT 0` to `SELECT databases - 1`).
   * @default {16}
   */
  databases?: number | undefined;
  /**
   * The clock that decides expiry, in milliseconds since the epoch. Inject one to test TTLs
   * without waiting.
   * @default {Date.now}
   */
  now?: (() => number) | undefined;
}

/**
 * The data of an in-memory "server": its databases, their keys and expiry times, and its pub/sub
 * channels. Create one with {@linkcode createMemoryStore} and pass it to several
 * {@linkcode memoryDriver} calls to share it. Its contents are only reachable through drivers.
 */
export interface MemoryStore {
  /** The number of logical databases. */
  readonly databases: number;
  /** The clock that decides expiry, in milliseconds since the epoch. */
  readonly now: () => number;
}

/** Options for {@linkcode memoryDriver}. */
export interface MemoryDriverOptions {
  /**
   * The store to use. Drivers given the same store see the same data, like connections to one
   * server.
   * @default {a new private store}
   */
  store?: MemoryStore | undefined;
  /**
   * The database selected at start (as `redis://host/<db>`).
   * @default {0}
   */
  db?: number | undefined;
  /**
   * The clock of the private store (only without `store`: a shared store has its own clock).
   * @default {Date.now}
   */
  now?: (() => number) | undefined;
  /**
   * The number of databases of the private store (only without `store`).
   * @default {16}
   */
  databases?: number | undefined;
}

/** The in-memory driver: a {@linkcode RedisDriver} that can always subscribe. */
export interface MemoryDriver extends RedisDriver {
  /** The store this driver reads and writes. */
  readonly store: MemoryStore;
  /**
   * Opens a subscriber on the store's pub/sub. Messages are delivered asynchronously (in a
   * microtask), in publish order, each subscriber receiving its own copy of the bytes.
   */
  openSubscriber(handlers: SubscriberHandlers): Promise<Subscriber>;
}

/**
 * Creates an empty in-memory store that several {@linkcode memoryDriver}s can share.
 *
 * @param options The number of databases and the clock.
 * @returns A new, empty store.
 * @throws {RangeError} when `databases` is not a positive integer.
 *
 * @example Two drivers on one store, with a fake clock
 * ```ts
 * import { createMemoryStore, memoryDriver } from "./memory.ts";
 *
 * let now = 0;
 * const store = createMemoryStore({ now: () => now });
 * const a = memoryDriver({ store });
 * const b = memoryDriver({ store });
 * await a.send(["SET", "k", "v", "EX", 10]);
 * console.assert(await b.send(["TTL", "k"]) === 10);
 * now += 10_001;
 * console.assert(await b.send(["GET", "k"]) === null);
 * await a.close();
 * await b.close();
 * ```
 */
export function createMemoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  const databases = options.databases ?? 16;
  if (!Number.isInteger(databases) || databases < 1) {
    throw new RangeError(`databases must be a positive integer, got ${databases}`);
  }
  const now = options.now ?? Date.now;
  if (typeof now !== "function") throw new TypeError("now must be a function returning ms");
  return new Store(databases, now);
}

/**
 * Creates the in-memory driver, the embedded default that behaves like a Redis 7.0 server for
 * the commands the backend uses.
 *
 * Supported commands: GET, MGET, SET (NX, XX, GET, EX, PX, EXAT, PXAT, KEEPTTL), SETEX, SETNX,
 * MSET, GETDEL, STRLEN, DEL, EXISTS, TYPE, INCR, DECR, INCRBY, DECRBY, EXPIRE, PEXPIRE, EXPIREAT,
 * PEXPIREAT (NX, XX, GT, LT), TTL, PTTL, PERSIST, PUBLISH, PUBSUB (CHANNELS, NUMSUB, NUMPAT), RPUSH,
 * LPUSH, LLEN, LRANGE, ZADD (NX, XX, GT, LT, CH, INCR), ZCARD, ZCOUNT, ZRANGE (BYSCORE, BYLEX,
 * REV, LIMIT, WITHSCORES), ZREM, ZSCORE, KEYS, SCAN (in one batch), DBSIZE, FLUSHDB, FLUSHALL,
 * SELECT, PING, ECHO. Others fail like an unknown command.
 *
 * Replies have the TCP driver's types: status replies are strings (`"OK"`), integers numbers,
 * bulk strings `Uint8Array` (copies: changing them does not change the store), nil `null`.
 * Errors reject with `RedisReplyError` carrying Redis's own text (`WRONGTYPE Operation against a
 * key holding the wrong kind of value`, `ERR wrong number of arguments for 'get' command`, …).
 * Commands run synchronously when called, so their effects happen in call order.
 *
 * Known differences from Redis: SCAN answers in one batch (cursor `0`); KEYS, SCAN and PUBSUB
 * CHANNELS list keys in insertion order, not hash order; DBSIZE leaves out expired keys; scores
 * are printed as Redis 7.0 prints them (`%.17g`; 7.2+ prints the shortest form) and `-0` is
 * stored as `0` (as Redis does for small sorted sets); no pattern subscriptions (PUBSUB NUMPAT is
 * always 0); MULTI, EXEC, WATCH and SUBSCRIBE are refused (use `transaction()` and
 * `openSubscriber()`; inside `transaction()` they abort the block); no memory limits or eviction;
 * integer replies beyond 2^53 lose precision (they are numbers).
 *
 * @param options The store to share (or the clock and size of a private one) and the database.
 * @returns A driver; close it (or `await using` it) when done.
 * @throws {RangeError} when `db` is not a database of the store.
 * @throws {TypeError} when `now` or `databases` are given together with a shared `store`.
 *
 * @example Storing and reading a result
 * ```ts
 * import { memoryDriver } from "./memory.ts";
 *
 * await using driver = memoryDriver();
 * console.assert(await driver.send(["SET", "k", "v", "EX", 60]) === "OK");
 * const value = await driver.send(["GET", "k"]) as Uint8Array;
 * console.assert(new TextDecoder().decode(value) === "v");
 * ```
 *
 * @example A transaction and a subscriber
 * ```ts
 * import { memoryDriver } from "./memory.ts";
 *
 * await using driver = memoryDriver();
 * const received: string[] = [];
 * await using sub = await driver.openSubscriber({
 *   onMessage: (m) => received.push(new TextDecoder().decode(m.payload)),
 * });
 * await sub.subscribe(["celery-task-meta-1"]);
 * const [set, receivers] = await driver.transaction([
 *   ["SET", "celery-task-meta-1", "done"],
 *   ["PUBLISH", "celery-task-meta-1", "done"],
 * ]);
 * console.assert(set === "OK" && receivers === 1);
 * await Promise.resolve();
 * console.assert(received[0] === "done");
 * ```
 */
export function memoryDriver(options: MemoryDriverOptions = {}): MemoryDriver {
  let store: Store;
  if (options.store !== undefined) {
    if (!(options.store instanceof Store)) {
      throw new TypeError("store must come from createMemoryStore()");
    }
    if (options.now !== undefined || options.databases !== undefined) {
      throw new TypeError(
        "now and databases belong to the shared store: pass them to createMemoryStore()",
      );
    }
    store = options.store;
  } else {
    store = createMemoryStore({ databases: options.databases, now: options.now }) as Store;
  }
  const db = options.db ?? 0;
  if (!Number.isInteger(db) || db < 0 || db >= store.databases) {
    throw new RangeError(`db must be an integer from 0 to ${store.databases - 1}, got ${db}`);
  }
  return new Driver(store, db);
}

// ---------------------------------------------------------------------------------------------
// Store
// ---------------------------------------------------------------------------------------------

/** Keys, members and channels are "binary strings": one char per byte (0-255). */
type BinaryString = string;

interface StringEntry {
  type: "string";
  value: Uint8Array;
  expiresAt: number | undefined;
}
interface ListEntry {
  type: "list";
  items: Uint8Array[];
  expiresAt: number | undefined;
}
interface ZSetEntry {
  type: "zset";
  scores: Map<BinaryString, number>;
  /** Members ordered by (score, member bytes), rebuilt lazily after changes. */
  sorted: BinaryString[] | undefined;
  expiresAt: number | undefined;
}
/** A Redis set (kombu's queue bindings, `_kombu.binding.<queue>`). */
interface SetEntry {
  type: "set";
  members: Set<BinaryString>;
  expiresAt: number | undefined;
}
type Entry = StringEntry | ListEntry | ZSetEntry | SetEntry;
type EntryType = Entry["type"];

/** How many keys with a TTL each command checks for expiry (Redis's active expiry, timer-free). */
const SWEEP_BUDGET = 8;

class Database {
  readonly entries = new Map<BinaryString, Entry>();
  /** Keys that have (or had) a TTL, for the incremental sweep. */
  readonly volatile = new Set<BinaryString>();
  #cursor: Iterator<BinaryString> | undefined;

  /** The live entry under `key`, deleting it first if it expired. */
  get(key: BinaryString, now: number): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt !== undefined && now > entry.expiresAt) {
      this.delete(key);
      return undefined;
    }
    return entry;
  }

  set(key: BinaryString, entry: Entry): void {
    this.entries.set(key, entry);
    if (entry.expiresAt !== undefined) this.volatile.add(key);
  }

  setExpiry(key: BinaryString, entry: Entry, at: number | undefined): void {
    entry.expiresAt = at;
    if (at !== undefined) this.volatile.add(key);
  }

  delete(key: BinaryString): boolean {
    this.volatile.delete(key);
    return this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
    this.volatile.clear();
    this.#cursor = undefined;
  }

  /** Removes up to `budget` expired keys, continuing where the last sweep stopped. */
  sweep(now: number, budget: number): void {
    if (this.volatile.size === 0) return;
    const cursor = this.#cursor ??= this.volatile.values();
    for (let i = 0; i < budget; i++) {
      const next = cursor.next();
      if (next.done) {
        this.#cursor = undefined;
        return;
      }
      const key = next.value;
      const entry = this.entries.get(key);
      if (entry === undefined || entry.expiresAt === undefined) this.volatile.delete(key);
      else if (now > entry.expiresAt) this.delete(key);
    }
  }

  /** Removes every expired key (before listing keys). */
  sweepAll(now: number): void {
    for (const key of this.volatile) {
      const entry = this.entries.get(key);
      if (entry === undefined || entry.expiresAt === undefined) this.volatile.delete(key);
      else if (now > entry.expiresAt) this.delete(key);
    }
  }
}

class Store implements MemoryStore {
  readonly databases: number;
  readonly now: () => number;
  readonly dbs: Database[];
  /** Channel → its subscribers. */
  readonly channels = new Map<BinaryString, Set<MemorySubscriber>>();

  constructor(databases: number, now: () => number) {
    this.databases = databases;
    this.now = now;
    this.dbs = Array.from({ length: databases }, () => new Database());
  }
}

// ---------------------------------------------------------------------------------------------
// Bytes and text
// ---------------------------------------------------------------------------------------------

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();
const ASCII_ONLY = /^\p{ASCII}*$/u;

function bytesToBinary(bytes: Uint8Array): BinaryString {
  let out = "";
  for (let i = 0; i < bytes.length; i += 4096) {
    out += String.fromCharCode.apply(
      null,
      bytes.subarray(i, i + 4096) as unknown as number[],
    );
  }
  return out;
}

function binaryToBytes(s: BinaryString): Uint8Array {
  const bytes = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);
  return bytes;
}

/** The argument as a binary string (keys, members, channels, keywords, numbers). */
function bin(arg: RedisArg | undefined): BinaryString {
  if (typeof arg === "string") {
    return ASCII_ONLY.test(arg) ? arg : bytesToBinary(textEncoder.encode(arg));
  }
  if (arg instanceof Uint8Array) return bytesToBinary(arg);
  return String(arg);
}

/** The argument as fresh bytes (values). */
function bytes(arg: RedisArg | undefined): Uint8Array {
  if (typeof arg === "string") return textEncoder.encode(arg);
  if (arg instanceof Uint8Array) return arg.slice();
  return textEncoder.encode(String(arg));
}

/** The argument as an upper-case keyword. */
function keyword(arg: RedisArg | undefined): string {
  return bin(arg).toUpperCase();
}

/** Decodes a binary string as UTF-8 (for messages and channel names). */
function binaryToText(s: BinaryString): string {
  return ASCII_ONLY.test(s) ? s : textDecoder.decode(binaryToBytes(s));
}

function isArg(arg: unknown): arg is RedisArg {
  return typeof arg === "string" || typeof arg === "number" || typeof arg === "bigint" ||
    arg instanceof Uint8Array;
}

// ---------------------------------------------------------------------------------------------
// Errors and number parsing, worded like Redis
// ---------------------------------------------------------------------------------------------

/** An error reply, thrown by command implementations. */
class ReplyError extends Error {}

const WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value";
const NOT_INTEGER = "ERR value is not an integer or out of range";
const NOT_FLOAT = "ERR value is not a valid float";
const SYNTAX = "ERR syntax error";
const MIN_MAX_FLOAT = "ERR min or max is not a float";

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const INTEGER_TEXT = /^(?:0|-?[1-9][0-9]*)$/;

/** Parses a signed 64-bit integer as Redis's `string2ll` does (strict: no spaces, no `+`). */
function int64(arg: RedisArg | undefined): bigint {
  const text = bin(arg);
  if (text.length > 20 || !INTEGER_TEXT.test(text)) throw new ReplyError(NOT_INTEGER);
  const n = BigInt(text);
  if (n < INT64_MIN || n > INT64_MAX) throw new ReplyError(NOT_INTEGER);
  return n;
}

/** An integer argument that must fit a JavaScript number (indexes, counts). */
function int(arg: RedisArg | undefined): number {
  return Number(int64(arg));
}

function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

interface Strtod {
  value: number;
  /** Index after the parsed number (the start when nothing was parsed). */
  end: number;
  /** Overflow or underflow to zero (C's ERANGE with HUGE_VAL or 0). */
  range: boolean;
}

const HEX_FLOAT = /^0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?(?:[pP]([+-]?[0-9]+))?/;
const DEC_FLOAT = /^(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?/;

/** C's `strtod` in the C locale, on a binary string from `start`. */
function strtod(s: string, start: number): Strtod {
  let i = start;
  while (i < s.length && isSpace(s.charCodeAt(i))) i++;
  let sign = 1;
  if (s[i] === "+" || s[i] === "-") {
    if (s[i] === "-") sign = -1;
    i++;
  }
  const rest = s.slice(i);
  const lower = rest.slice(0, 8).toLowerCase();
  if (lower.startsWith("infinity")) return { value: sign * Infinity, end: i + 8, range: false };
  if (lower.startsWith("inf")) return { value: sign * Infinity, end: i + 3, range: false };
  if (lower.startsWith("nan")) {
    const payload = /^\([0-9A-Za-z_]*\)/.exec(rest.slice(3));
    return { value: NaN, end: i + 3 + (payload ? payload[0].length : 0), range: false };
  }
  const hex = HEX_FLOAT.exec(rest);
  if (hex && (hex[1] || hex[2])) {
    const digits = (hex[1] ?? "") + (hex[2] ?? "");
    const mantissa = Number.parseInt(digits, 16);
    const exponent = Number(hex[3] ?? 0) - 4 * (hex[2]?.length ?? 0);
    const value = sign * mantissa * 2 ** exponent;
    return {
      value,
      end: i + hex[0].length,
      range: !Number.isFinite(value) || (value === 0 && /[1-9a-fA-F]/.test(digits)),
    };
  }
  const dec = DEC_FLOAT.exec(rest);
  if (!dec) return { value: 0, end: start, range: false };
  const value = sign * Number(dec[0]);
  const mantissa = dec[0].split(/[eE]/)[0]!;
  return {
    value,
    end: i + dec[0].length,
    range: !Number.isFinite(value) || (value === 0 && /[1-9]/.test(mantissa)),
  };
}

/** Redis's `string2d`: a whole-string double, no leading space, no overflow, not NaN. */
function score(arg: RedisArg | undefined): number {
  const text = bin(arg);
  const parsed = strtod(text, 0);
  if (
    text.length === 0 || isSpace(text.charCodeAt(0)) || parsed.end !== text.length ||
    parsed.range || Number.isNaN(parsed.value)
  ) {
    throw new ReplyError(NOT_FLOAT);
  }
  return parsed.value === 0 ? 0 : parsed.value; // small sorted sets store -0 as 0
}

interface ScoreBound {
  value: number;
  exclusive: boolean;
}

/** One end of a ZCOUNT / ZRANGE BYSCORE range, as Redis's `zslParseRange` reads it. */
function scoreBound(arg: RedisArg | undefined): ScoreBound {
  const text = bin(arg);
  const exclusive = text.startsWith("(");
  const parsed = strtod(text, exclusive ? 1 : 0);
  const end = parsed.end;
  if ((end < text.length && text.charCodeAt(end) !== 0) || Number.isNaN(parsed.value)) {
    throw new ReplyError(MIN_MAX_FLOAT);
  }
  return { value: parsed.value, exclusive };
}

/** Formats a double as Redis 7.0 replies it (`%.17g`, `inf`, `-inf`). */
function formatDouble(d: number): string {
  if (d === Infinity) return "inf";
  if (d === -Infinity) return "-inf";
  if (Number.isNaN(d)) return "nan";
  if (d === 0) return Object.is(d, -0) ? "-0" : "0";
  const [mantissa, exp] = d.toExponential(16).split("e") as [string, string];
  const x = Number(exp);
  if (x < -4 || x >= 17) {
    const trimmed = mantissa.replace(/\.?0+$/, "");
    return `${trimmed}e${x < 0 ? "-" : "+"}${String(Math.abs(x)).padStart(2, "0")}`;
  }
  const fixed = d.toFixed(16 - x);
  return fixed.includes(".") ? fixed.replace(/\.?0+$/, "") : fixed;
}

function doubleReply(d: number): Uint8Array {
  return textEncoder.encode(formatDouble(d));
}

// ---------------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------------

/** The state a command runs with: the store, the connection's database, the time. */
interface Context {
  readonly store: Store;
  readonly connection: Connection;
  readonly db: Database;
  readonly now: number;
}

/** Per-driver connection state. */
interface Connection {
  db: number;
}

type Args = RedisCommand;

interface CommandSpec {
  /** Redis arity: positive = exactly, negative = at least, counting the name. */
  readonly arity: number;
  /** The name in arity errors (`get`, `pubsub|numsub`). */
  readonly fullName: string;
  readonly run: (context: Context, args: Args) => RedisReply;
  readonly subcommands?: ReadonlyMap<string, CommandSpec>;
  /** Why the command cannot run here (MULTI, SUBSCRIBE…): refused before anything runs. */
  readonly refusal?: string;
}

function typed<T extends EntryType>(
  context: Context,
  key: BinaryString,
  type: T,
): Extract<Entry, { type: T }> | undefined {
  const entry = context.db.get(key, context.now);
  if (entry === undefined) return undefined;
  if (entry.type !== type) throw new ReplyError(WRONGTYPE);
  return entry as Extract<Entry, { type: T }>;
}

function getCommand(c: Context, a: Args): RedisReply {
  return typed(c, bin(a[1]), "string")?.value.slice() ?? null;
}

function setCommand(c: Context, a: Args): RedisReply {
  let nx = false, xx = false, get = false, keepTtl = false;
  let expiry: "EX" | "PX" | "EXAT" | "PXAT" | undefined;
  let expiryArg: RedisArg | undefined;
  for (let j = 3; j < a.length; j++) {
    const option = keyword(a[j]);
    const hasNext = j + 1 < a.length;
    if (option === "NX" && !xx) nx = true;
    else if (option === "XX" && !nx) xx = true;
    else if (option === "GET") get = true;
    else if (option === "KEEPTTL" && expiry === undefined) keepTtl = true;
    else if (
      (option === "EX" || option === "PX" || option === "EXAT" || option === "PXAT") &&
      !keepTtl && (expiry === undefined || expiry === option) && hasNext
    ) {
      expiry = option;
      expiryArg = a[++j];
    } else {
      throw new ReplyError(SYNTAX);
    }
  }
  let expiresAt: number | undefined;
  if (expiry !== undefined) {
    const n = int64(expiryArg);
    const seconds = expiry === "EX" || expiry === "EXAT";
    if (n <= 0n || (seconds && n > INT64_MAX / 1000n)) {
      throw new ReplyError("ERR invalid expire time in 'set' command");
    }
    let ms = seconds ? n * 1000n : n;
    if (expiry === "EX" || expiry === "PX") {
      if (ms > INT64_MAX - BigInt(c.now)) {
        throw new ReplyError("ERR invalid expire time in 'set' command");
      }
      ms += BigInt(c.now);
    }
    expiresAt = Number(ms);
  }
  const key = bin(a[1]);
  let reply: RedisReply = "OK";
  if (get) reply = getCommand(c, a);
  const existing = c.db.get(key, c.now);
  if ((nx && existing) || (xx && !existing)) return get ? reply : null;
  c.db.delete(key);
  c.db.set(key, {
    type: "string",
    value: bytes(a[2]),
    expiresAt: keepTtl ? existing?.expiresAt : expiresAt,
  });
  return reply;
}

function setexCommand(c: Context, a: Args): RedisReply {
  const seconds = int64(a[2]);
  if (seconds <= 0n || seconds > INT64_MAX / 1000n) {
    throw new ReplyError("ERR invalid expire time in 'setex' command");
  }
  const key = bin(a[1]);
  c.db.delete(key);
  c.db.set(key, { type: "string", value: bytes(a[3]), expiresAt: c.now + Number(seconds) * 1000 });
  return "OK";
}

function setnxCommand(c: Context, a: Args): RedisReply {
  const key = bin(a[1]);
  if (c.db.get(key, c.now)) return 0;
  c.db.set(key, { type: "string", value: bytes(a[2]), expiresAt: undefined });
  return 1;
}

function msetCommand(c: Context, a: Args): RedisReply {
  if (a.length % 2 === 0) throw arityError("mset");
  for (let j = 1; j < a.length; j += 2) {
    const key = bin(a[j]);
    c.db.delete(key);
    c.db.set(key, { type: "string", value: bytes(a[j + 1]), expiresAt: undefined });
  }
  return "OK";
}

function incrBy(c: Context, key: BinaryString, by: bigint): RedisReply {
  const entry = typed(c, key, "string");
  let value = 0n;
  if (entry) {
    const text = bytesToBinary(entry.value);
    value = int64(text);
  }
  const result = value + by;
  if (result < INT64_MIN || result > INT64_MAX) {
    throw new ReplyError("ERR increment or decrement would overflow");
  }
  const stored = textEncoder.encode(result.toString());
  if (entry) entry.value = stored;
  else c.db.set(key, { type: "string", value: stored, expiresAt: undefined });
  return Number(result);
}

function expireGeneric(c: Context, a: Args, unitMs: bigint, absolute: boolean, name: string) {
  let nx = false, xx = false, gt = false, lt = false;
  for (let j = 3; j < a.length; j++) {
    const option = keyword(a[j]);
    if (option === "NX") nx = true;
    else if (option === "XX") xx = true;
    else if (option === "GT") gt = true;
    else if (option === "LT") lt = true;
    else throw new ReplyError(`ERR Unsupported option ${binaryToText(bin(a[j]))}`);
  }
  if (nx && (xx || gt || lt)) {
    throw new ReplyError("ERR NX and XX, GT or LT options at the same time are not compatible");
  }
  if (gt && lt) throw new ReplyError("ERR GT and LT options at the same time are not compatible");
  let when = int64(a[2]);
  const invalid = `ERR invalid expire time in '${name}' command`;
  if (unitMs === 1000n) {
    if (when > INT64_MAX / 1000n || when < INT64_MIN / 1000n) throw new ReplyError(invalid);
    when *= 1000n;
  }
  const base = absolute ? 0n : BigInt(c.now);
  if (when > INT64_MAX - base) throw new ReplyError(invalid);
  when += base;
  const key = bin(a[1]);
  const entry = c.db.get(key, c.now);
  if (entry === undefined) return 0;
  const current = entry.expiresAt;
  if (nx && current !== undefined) return 0;
  if (xx && current === undefined) return 0;
  if (gt && (current === undefined || when <= BigInt(current))) return 0;
  if (lt && current !== undefined && when >= BigInt(current)) return 0;
  if (when <= BigInt(c.now)) c.db.delete(key);
  else c.db.setExpiry(key, entry, Number(when));
  return 1;
}

function ttlGeneric(c: Context, a: Args, ms: boolean): RedisReply {
  const entry = c.db.get(bin(a[1]), c.now);
  if (entry === undefined) return -2;
  if (entry.expiresAt === undefined) return -1;
  const left = Math.max(0, entry.expiresAt - c.now);
  return ms ? left : Math.floor((left + 500) / 1000);
}

function pushGeneric(c: Context, a: Args, left: boolean): RedisReply {
  const key = bin(a[1]);
  let entry = typed(c, key, "list");
  if (entry === undefined) {
    entry = { type: "list", items: [], expiresAt: undefined };
    c.db.set(key, entry);
  }
  for (let j = 2; j < a.length; j++) {
    if (left) entry.items.unshift(bytes(a[j]));
    else entry.items.push(bytes(a[j]));
  }
  return entry.items.length;
}

// LPOP/RPOP key [count]: Redis 6.2+ — without a count one item or nil; with one, an array (nil
// for a missing key), and an emptied list is deleted, as Redis deletes empty aggregates.
function popGeneric(c: Context, a: Args, left: boolean): RedisReply {
  if (a.length > 3) throw arityError(left ? "lpop" : "rpop");
  let count: number | undefined;
  if (a.length === 3) {
    const text = bin(a[2]);
    const parsed = INTEGER_TEXT.test(text) ? BigInt(text) : -1n;
    if (parsed < 0n || parsed > INT64_MAX) {
      throw new ReplyError("ERR value is out of range, must be positive");
    }
    count = parsed > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(parsed);
  }
  const key = bin(a[1]);
  const entry = typed(c, key, "list");
  if (entry === undefined) return null;
  const taken = left
    ? entry.items.splice(0, count ?? 1)
    : entry.items.splice(Math.max(0, entry.items.length - (count ?? 1))).reverse();
  if (entry.items.length === 0) c.db.delete(key);
  if (count === undefined) return taken[0] ?? null;
  return taken;
}

function saddCommand(c: Context, a: Args): RedisReply {
  const key = bin(a[1]);
  let entry = typed(c, key, "set");
  if (entry === undefined) {
    entry = { type: "set", members: new Set(), expiresAt: undefined };
    c.db.set(key, entry);
  }
  let added = 0;
  for (let j = 2; j < a.length; j++) {
    const member = bin(a[j]);
    if (!entry.members.has(member)) {
      entry.members.add(member);
      added++;
    }
  }
  return added;
}

function sremCommand(c: Context, a: Args): RedisReply {
  const key = bin(a[1]);
  const entry = typed(c, key, "set");
  if (entry === undefined) return 0;
  let removed = 0;
  for (let j = 2; j < a.length; j++) if (entry.members.delete(bin(a[j]))) removed++;
  if (entry.members.size === 0) c.db.delete(key);
  return removed;
}

/** Redis's rank-range sanitising: `[start, end]` inclusive, or `undefined` when empty. */
function rankRange(start: number, end: number, length: number): [number, number] | undefined {
  if (start < 0) start += length;
  if (end < 0) end += length;
  if (start < 0) start = 0;
  if (start > end || start >= length) return undefined;
  if (end >= length) end = length - 1;
  return [start, end];
}

function lrangeCommand(c: Context, a: Args): RedisReply {
  const start = int(a[2]);
  const end = int(a[3]);
  const entry = typed(c, bin(a[1]), "list");
  if (entry === undefined) return [];
  const range = rankRange(start, end, entry.items.length);
  if (range === undefined) return [];
  return entry.items.slice(range[0], range[1] + 1).map((item) => item.slice());
}

function compareMembers(
  scores: ReadonlyMap<BinaryString, number>,
): (x: BinaryString, y: BinaryString) => number {
  return (x, y) => {
    const sx = scores.get(x)!;
    const sy = scores.get(y)!;
    if (sx !== sy) return sx < sy ? -1 : 1;
    return x < y ? -1 : x > y ? 1 : 0; // binary strings compare like memcmp
  };
}

function sortedMembers(entry: ZSetEntry): BinaryString[] {
  return entry.sorted ??= [...entry.scores.keys()].sort(compareMembers(entry.scores));
}

function zaddCommand(c: Context, a: Args): RedisReply {
  let nx = false, xx = false, ch = false, incr = false, gt = false, lt = false;
  let index = 2;
  for (; index < a.length; index++) {
    const option = keyword(a[index]);
    if (option === "NX") nx = true;
    else if (option === "XX") xx = true;
    else if (option === "CH") ch = true;
    else if (option === "INCR") incr = true;
    else if (option === "GT") gt = true;
    else if (option === "LT") lt = true;
    else break;
  }
  const remaining = a.length - index;
  if (remaining === 0 || remaining % 2 !== 0) throw new ReplyError(SYNTAX);
  if (xx && nx) throw new ReplyError("ERR XX and NX options at the same time are not compatible");
  if ((gt && nx) || (lt && nx) || (gt && lt)) {
    throw new ReplyError("ERR GT, LT, and/or NX options at the same time are not compatible");
  }
  if (incr && remaining > 2) {
    throw new ReplyError("ERR INCR option supports a single increment-element pair");
  }
  const scores: number[] = [];
  for (let j = index; j < a.length; j += 2) scores.push(score(a[j]));
  const key = bin(a[1]);
  let entry = typed(c, key, "zset");
  let added = 0, updated = 0, processed = 0;
  let last = 0;
  if (entry === undefined && !xx) {
    entry = { type: "zset", scores: new Map(), sorted: undefined, expiresAt: undefined };
    c.db.set(key, entry);
  }
  if (entry !== undefined) {
    for (let j = 0; j < scores.length; j++) {
      let value = scores[j]!;
      const member = bin(a[index + 1 + j * 2]);
      const current = entry.scores.get(member);
      if (current !== undefined) {
        if (nx) continue;
        if (incr) {
          value += current;
          if (Number.isNaN(value)) {
            throw new ReplyError("ERR resulting score is not a number (NaN)");
          }
          if (value === 0) value = 0;
        }
        if ((lt && value >= current) || (gt && value <= current)) continue;
        last = value;
        processed++;
        if (value !== current) {
          entry.scores.set(member, value);
          entry.sorted = undefined;
          updated++;
        }
      } else if (!xx) {
        entry.scores.set(member, value);
        entry.sorted = undefined;
        added++;
        processed++;
        last = value;
      }
    }
  }
  if (incr) return processed ? doubleReply(last) : null;
  return ch ? added + updated : added;
}

function inScoreRange(value: number, min: ScoreBound, max: ScoreBound): boolean {
  return (min.exclusive ? value > min.value : value >= min.value) &&
    (max.exclusive ? value < max.value : value <= max.value);
}

function zcountCommand(c: Context, a: Args): RedisReply {
  const min = scoreBound(a[2]);
  const max = scoreBound(a[3]);
  const entry = typed(c, bin(a[1]), "zset");
  if (entry === undefined) return 0;
  let count = 0;
  for (const value of entry.scores.values()) if (inScoreRange(value, min, max)) count++;
  return count;
}

interface LexBound {
  /** `-` and `+` are the open ends. */
  value: BinaryString | "-" | "+";
  open: boolean;
  exclusive: boolean;
}

function lexBound(arg: RedisArg | undefined): LexBound {
  const text = bin(arg);
  if (text === "+" || text === "-") return { value: text, open: true, exclusive: false };
  if (text.startsWith("(") || text.startsWith("[")) {
    return { value: text.slice(1), open: false, exclusive: text.startsWith("(") };
  }
  throw new ReplyError("ERR min or max not valid string range item");
}

function inLexRange(member: BinaryString, min: LexBound, max: LexBound): boolean {
  const aboveMin = min.open
    ? min.value === "-"
    : min.exclusive
    ? member > min.value
    : member >= min.value;
  const belowMax = max.open
    ? max.value === "+"
    : max.exclusive
    ? member < max.value
    : member <= max.value;
  return aboveMin && belowMax;
}

function zrangeCommand(c: Context, a: Args): RedisReply {
  let withScores = false, reverse = false;
  let by: "RANK" | "SCORE" | "LEX" = "RANK";
  let byGiven = false;
  let offset = 0, limit = -1;
  for (let j = 4; j < a.length; j++) {
    const option = keyword(a[j]);
    const left = a.length - j - 1;
    if (option === "WITHSCORES") withScores = true;
    else if (option === "LIMIT" && left >= 2) {
      offset = int(a[j + 1]);
      limit = int(a[j + 2]);
      j += 2;
    } else if (option === "REV" && !reverse) reverse = true;
    else if (option === "BYLEX" && !byGiven) {
      by = "LEX";
      byGiven = true;
    } else if (option === "BYSCORE" && !byGiven) {
      by = "SCORE";
      byGiven = true;
    } else throw new ReplyError(SYNTAX);
  }
  if (limit !== -1 && by === "RANK") {
    throw new ReplyError(
      "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
    );
  }
  if (withScores && by === "LEX") {
    throw new ReplyError("ERR syntax error, WITHSCORES not supported in combination with BYLEX");
  }
  const [minArg, maxArg] = reverse && by !== "RANK" ? [a[3], a[2]] : [a[2], a[3]];
  let select: (members: BinaryString[], scores: ReadonlyMap<BinaryString, number>) => string[];
  if (by === "RANK") {
    const start = int(minArg);
    const end = int(maxArg);
    select = (members) => {
      const range = rankRange(start, end, members.length);
      if (range === undefined) return [];
      const ordered = reverse ? members.slice().reverse() : members;
      return ordered.slice(range[0], range[1] + 1);
    };
  } else {
    const matches = by === "SCORE"
      ? (() => {
        const min = scoreBound(minArg);
        const max = scoreBound(maxArg);
        return (m: BinaryString, s: ReadonlyMap<BinaryString, number>) =>
          inScoreRange(s.get(m)!, min, max);
      })()
      : (() => {
        const min = lexBound(minArg);
        const max = lexBound(maxArg);
        return (m: BinaryString) => inLexRange(m, min, max);
      })();
    select = (members, scores) => {
      if (offset < 0 || (offset > 0 && offset >= members.length)) return [];
      const ordered = reverse ? members.slice().reverse() : members;
      const out: string[] = [];
      let skip = offset;
      for (const member of ordered) {
        if (!matches(member, scores)) continue;
        if (skip > 0) {
          skip--;
          continue;
        }
        if (limit >= 0 && out.length >= limit) break;
        out.push(member);
      }
      return out;
    };
  }
  const entry = typed(c, bin(a[1]), "zset");
  if (entry === undefined) return [];
  const selected = select(sortedMembers(entry), entry.scores);
  const reply: RedisReply[] = [];
  for (const member of selected) {
    reply.push(binaryToBytes(member));
    if (withScores) reply.push(doubleReply(entry.scores.get(member)!));
  }
  return reply;
}

function zremCommand(c: Context, a: Args): RedisReply {
  const key = bin(a[1]);
  const entry = typed(c, key, "zset");
  if (entry === undefined) return 0;
  let removed = 0;
  for (let j = 2; j < a.length; j++) {
    if (entry.scores.delete(bin(a[j]))) removed++;
  }
  if (removed) entry.sorted = undefined;
  if (entry.scores.size === 0) c.db.delete(key);
  return removed;
}

/** Redis's glob matching (`KEYS`, `SCAN MATCH`, `PUBSUB CHANNELS`) on binary strings. */
function globMatch(pattern: string, text: string, p = 0, t = 0): boolean {
  while (p < pattern.length) {
    const ch = pattern[p]!;
    if (ch === "*") {
      while (pattern[p + 1] === "*") p++;
      if (p + 1 === pattern.length) return true;
      for (let k = t; k <= text.length; k++) {
        if (globMatch(pattern, text, p + 1, k)) return true;
      }
      return false;
    }
    if (t >= text.length) return false;
    if (ch === "?") {
      p++;
      t++;
      continue;
    }
    if (ch === "[") {
      p++;
      const negate = pattern[p] === "^";
      if (negate) p++;
      let matched = false;
      while (p < pattern.length && pattern[p] !== "]") {
        if (pattern[p] === "\\" && p + 1 < pattern.length) {
          p++;
          if (pattern[p] === text[t]) matched = true;
        } else if (pattern[p + 1] === "-" && p + 2 < pattern.length) {
          let lo = pattern.charCodeAt(p);
          let hi = pattern.charCodeAt(p + 2);
          if (lo > hi) [lo, hi] = [hi, lo];
          const code = text.charCodeAt(t);
          if (code >= lo && code <= hi) matched = true;
          p += 2;
        } else if (pattern[p] === text[t]) {
          matched = true;
        }
        p++;
      }
      if (negate) matched = !matched;
      if (!matched) return false;
      p++;
      t++;
      continue;
    }
    if (ch === "\\" && p + 1 < pattern.length) p++;
    if (pattern[p] !== text[t]) return false;
    p++;
    t++;
  }
  return t === text.length;
}

function liveKeys(c: Context, pattern: BinaryString | undefined): BinaryString[] {
  c.db.sweepAll(c.now);
  const keys = [...c.db.entries.keys()];
  return pattern === undefined || pattern === "*"
    ? keys
    : keys.filter((key) => globMatch(pattern, key));
}

function scanCommand(c: Context, a: Args): RedisReply {
  // strtoul(): an optional sign, digits; "" is 0 and "-1" wraps around, as in Redis.
  const cursor = bin(a[1]);
  const digits = /^[+-]?([0-9]+)$/.exec(cursor);
  if ((cursor !== "" && !digits) || (digits && BigInt(digits[1]!) > 2n ** 64n - 1n)) {
    throw new ReplyError("ERR invalid cursor");
  }
  const start = digits ? BigInt(digits[1]!) : 0n;
  let pattern: BinaryString | undefined;
  let type: string | undefined;
  for (let j = 2; j < a.length; j++) {
    const option = keyword(a[j]);
    const left = a.length - j - 1;
    if (option === "COUNT" && left >= 1) {
      if (int(a[++j]) < 1) throw new ReplyError(SYNTAX);
    } else if (option === "MATCH" && left >= 1) {
      pattern = bin(a[++j]);
    } else if (option === "TYPE" && left >= 1) {
      type = bin(a[++j]).toLowerCase();
    } else {
      throw new ReplyError(SYNTAX);
    }
  }
  // One batch holds every key: the cursor returned is always 0.
  const keys = start === 0n
    ? liveKeys(c, pattern).filter((key) =>
      type === undefined || c.db.entries.get(key)!.type === type
    )
    : [];
  return [textEncoder.encode("0"), keys.map(binaryToBytes)];
}

function flushCommand(c: Context, a: Args, all: boolean): RedisReply {
  if (a.length > 2) throw new ReplyError(SYNTAX);
  if (a.length === 2) {
    const mode = keyword(a[1]);
    if (mode !== "ASYNC" && mode !== "SYNC") throw new ReplyError(SYNTAX);
  }
  if (all) { for (const db of c.store.dbs) db.clear(); }
  else c.db.clear();
  return "OK";
}

function selectCommand(c: Context, a: Args): RedisReply {
  const index = int64(a[1]);
  if (index < 0n || index >= BigInt(c.store.databases)) {
    throw new ReplyError("ERR DB index is out of range");
  }
  c.connection.db = Number(index);
  return "OK";
}

function publishCommand(c: Context, a: Args): RedisReply {
  const channel = bin(a[1]);
  const subscribers = c.store.channels.get(channel);
  if (subscribers === undefined || subscribers.size === 0) return 0;
  const payload = bytes(a[2]);
  const name = binaryToText(channel);
  for (const subscriber of subscribers) subscriber.deliver(name, payload);
  return subscribers.size;
}

function pubsubChannels(c: Context, a: Args): RedisReply {
  if (a.length > 3) throw subcommandSyntaxError(a);
  const pattern = a.length === 3 ? bin(a[2]) : undefined;
  const out: RedisReply[] = [];
  for (const [channel, subscribers] of c.store.channels) {
    if (subscribers.size === 0) continue;
    if (pattern !== undefined && !globMatch(pattern, channel)) continue;
    out.push(binaryToBytes(channel));
  }
  return out;
}

function pubsubNumsub(c: Context, a: Args): RedisReply {
  const out: RedisReply[] = [];
  for (let j = 2; j < a.length; j++) {
    const channel = bin(a[j]);
    out.push(binaryToBytes(channel), c.store.channels.get(channel)?.size ?? 0);
  }
  return out;
}

function subcommandSyntaxError(a: Args): ReplyError {
  return new ReplyError(
    `ERR unknown subcommand or wrong number of arguments for '${binaryToText(bin(a[1]))}'. Try ${
      keyword(a[0])
    } HELP.`,
  );
}

function typeCommand(c: Context, a: Args): RedisReply {
  return c.db.get(bin(a[1]), c.now)?.type ?? "none";
}

function refused(fullName: string, hint: string): CommandSpec {
  const refusal = `ERR ${fullName.toUpperCase()} is not supported by the memory driver: ${hint}`;
  return {
    fullName,
    arity: -1,
    refusal,
    run: () => {
      throw new ReplyError(refusal);
    },
  };
}

function spec(
  fullName: string,
  arity: number,
  run: (context: Context, args: Args) => RedisReply,
  subcommands?: Record<string, CommandSpec>,
): CommandSpec {
  return subcommands === undefined
    ? { fullName, arity, run }
    : { fullName, arity, run, subcommands: new Map(Object.entries(subcommands)) };
}

const COMMANDS: ReadonlyMap<string, CommandSpec> = new Map(
  [
    spec("get", 2, getCommand),
    spec("mget", -2, (c, a) =>
      a.slice(1).map((key) => {
        const entry = c.db.get(bin(key), c.now);
        return entry?.type === "string" ? entry.value.slice() : null;
      })),
    spec("set", -3, setCommand),
    spec("setex", 4, setexCommand),
    spec("setnx", 3, setnxCommand),
    spec("mset", -3, msetCommand),
    spec("getdel", 2, (c, a) => {
      const reply = getCommand(c, a);
      if (reply !== null) c.db.delete(bin(a[1]));
      return reply;
    }),
    spec("strlen", 2, (c, a) => typed(c, bin(a[1]), "string")?.value.length ?? 0),
    spec("del", -2, (c, a) => {
      let count = 0;
      for (let j = 1; j < a.length; j++) {
        const key = bin(a[j]);
        if (c.db.get(key, c.now) !== undefined && c.db.delete(key)) count++;
      }
      return count;
    }),
    spec("exists", -2, (c, a) => {
      let count = 0;
      for (let j = 1; j < a.length; j++) if (c.db.get(bin(a[j]), c.now) !== undefined) count++;
      return count;
    }),
    spec("type", 2, typeCommand),
    spec("incr", 2, (c, a) => incrBy(c, bin(a[1]), 1n)),
    spec("decr", 2, (c, a) => incrBy(c, bin(a[1]), -1n)),
    spec("incrby", 3, (c, a) => incrBy(c, bin(a[1]), int64(a[2]))),
    spec("decrby", 3, (c, a) => {
      const by = int64(a[2]);
      if (by === INT64_MIN) throw new ReplyError("ERR decrement would overflow");
      return incrBy(c, bin(a[1]), -by);
    }),
    spec("expire", -3, (c, a) => expireGeneric(c, a, 1000n, false, "expire")),
    spec("pexpire", -3, (c, a) => expireGeneric(c, a, 1n, false, "pexpire")),
    spec("expireat", -3, (c, a) => expireGeneric(c, a, 1000n, true, "expireat")),
    spec("pexpireat", -3, (c, a) => expireGeneric(c, a, 1n, true, "pexpireat")),
    spec("ttl", 2, (c, a) => ttlGeneric(c, a, false)),
    spec("pttl", 2, (c, a) => ttlGeneric(c, a, true)),
    spec("persist", 2, (c, a) => {
      const entry = c.db.get(bin(a[1]), c.now);
      if (entry?.expiresAt === undefined) return 0;
      entry.expiresAt = undefined;
      return 1;
    }),
    spec("publish", 3, publishCommand),
    spec("pubsub", -2, () => [], {
      channels: spec("pubsub|channels", -2, pubsubChannels),
      numsub: spec("pubsub|numsub", -2, pubsubNumsub),
      numpat: spec("pubsub|numpat", 2, () => 0),
    }),
    spec("rpush", -3, (c, a) => pushGeneric(c, a, false)),
    spec("lpush", -3, (c, a) => pushGeneric(c, a, true)),
    spec("llen", 2, (c, a) => typed(c, bin(a[1]), "list")?.items.length ?? 0),
    spec("lrange", 4, lrangeCommand),
    spec("lpop", -2, (c, a) => popGeneric(c, a, true)),
    spec("rpop", -2, (c, a) => popGeneric(c, a, false)),
    spec("sadd", -3, saddCommand),
    spec("srem", -3, sremCommand),
    spec("scard", 2, (c, a) => typed(c, bin(a[1]), "set")?.members.size ?? 0),
    spec("sismember", 3, (c, a) => typed(c, bin(a[1]), "set")?.members.has(bin(a[2])) ? 1 : 0),
    spec(
      "smembers",
      2,
      (c, a) => [...(typed(c, bin(a[1]), "set")?.members ?? [])].map(binaryToBytes),
    ),
    spec("zadd", -4, zaddCommand),
    spec("zcard", 2, (c, a) => typed(c, bin(a[1]), "zset")?.scores.size ?? 0),
    spec("zcount", 4, zcountCommand),
    spec("zrange", -4, zrangeCommand),
    spec("zrem", -3, zremCommand),
    spec("zscore", 3, (c, a) => {
      const value = typed(c, bin(a[1]), "zset")?.scores.get(bin(a[2]));
      return value === undefined ? null : doubleReply(value);
    }),
    spec("keys", 2, (c, a) => liveKeys(c, bin(a[1])).map(binaryToBytes)),
    spec("scan", -2, scanCommand),
    spec("dbsize", 1, (c) => {
      c.db.sweepAll(c.now);
      return c.db.entries.size;
    }),
    spec("flushdb", -1, (c, a) => flushCommand(c, a, false)),
    spec("flushall", -1, (c, a) => flushCommand(c, a, true)),
    spec("select", 2, selectCommand),
    spec("ping", -1, (_c, a) => {
      if (a.length > 2) throw arityError("ping");
      return a.length === 2 ? bytes(a[1]) : "PONG";
    }),
    spec("echo", 2, (_c, a) => bytes(a[1])),
    ...["multi", "exec", "discard", "watch", "unwatch"].map((name) =>
      refused(name, "use transaction()")
    ),
    ...["subscribe", "unsubscribe", "psubscribe", "punsubscribe"].map((name) =>
      refused(name, "use openSubscriber()")
    ),
  ].map((command) => [command.fullName, command]),
);

function arityError(fullName: string): ReplyError {
  return new ReplyError(`ERR wrong number of arguments for '${fullName}' command`);
}

/** Formats a C-string-like argument for an error message: up to the first NUL, `max` bytes. */
function cString(arg: RedisArg | undefined, max: number): BinaryString {
  const text = bin(arg);
  const nul = text.indexOf("\0");
  return (nul === -1 ? text : text.slice(0, nul)).slice(0, Math.max(0, max));
}

/** An error text as Redis sends it: no CR/LF inside, UTF-8 decoded. */
function errorText(binary: BinaryString): string {
  return binaryToText(binary.replace(/[\r\n]/g, " "));
}

/**
 * Finds the command, checking what Redis checks before queueing (existence and arity).
 * @throws {ReplyError} as Redis's "unknown command" / "unknown subcommand" / arity errors.
 */
function resolve(command: RedisCommand): CommandSpec {
  const name = bin(command[0]).toLowerCase();
  const spec = COMMANDS.get(name);
  if (spec === undefined) {
    let args = "";
    for (let i = 1; i < command.length && args.length < 128; i++) {
      args += `'${cString(command[i], 128 - args.length)}' `;
    }
    throw new ReplyError(
      errorText(
        `ERR unknown command '${cString(command[0], 128)}', with args beginning with: ${args}`,
      ),
    );
  }
  const arityOk = (s: CommandSpec) =>
    s.arity > 0 ? command.length === s.arity : command.length >= -s.arity;
  if (spec.subcommands !== undefined && command.length >= 2) {
    const sub = spec.subcommands.get(bin(command[1]).toLowerCase());
    if (sub === undefined) {
      throw new ReplyError(
        errorText(
          `ERR unknown subcommand '${cString(command[1], 128)}'. Try ${name.toUpperCase()} HELP.`,
        ),
      );
    }
    if (!arityOk(sub)) throw arityError(sub.fullName);
    return sub;
  }
  if (!arityOk(spec)) throw arityError(spec.fullName);
  return spec;
}

function commandName(command: RedisCommand): string {
  return binaryToText(bin(command[0])).toUpperCase();
}

function checkCommand(command: unknown): asserts command is RedisCommand {
  if (!Array.isArray(command) || command.length === 0) {
    throw new TypeError("A Redis command is a non-empty array: its name, then its arguments");
  }
  for (const arg of command) {
    if (!isArg(arg)) {
      throw new TypeError(
        `Redis command arguments must be strings, Uint8Arrays, numbers or bigints, got ${
          arg === null ? "null" : typeof arg
        }`,
      );
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Driver and subscriber
// ---------------------------------------------------------------------------------------------

class Driver implements MemoryDriver {
  readonly name = "memory";
  readonly store: Store;
  readonly #connection: Connection;
  readonly #subscribers = new Set<MemorySubscriber>();
  #closed = false;

  constructor(store: Store, db: number) {
    this.store = store;
    this.#connection = { db };
  }

  #context(): Context {
    const now = this.store.now();
    const db = this.store.dbs[this.#connection.db]!;
    db.sweep(now, SWEEP_BUDGET);
    return { store: this.store, connection: this.#connection, db, now };
  }

  #closedError(): BackendClosedError {
    return new BackendClosedError("The memory driver has been closed");
  }

  send(command: RedisCommand): Promise<RedisReply> {
    try {
      if (this.#closed) throw this.#closedError();
      checkCommand(command);
      const spec = resolve(command);
      return Promise.resolve(spec.run(this.#context(), command));
    } catch (error) {
      return Promise.reject(
        error instanceof ReplyError
          ? new RedisReplyError(error.message, commandName(command))
          : error,
      );
    }
  }

  transaction(commands: readonly RedisCommand[]): Promise<RedisReply[]> {
    try {
      if (this.#closed) throw this.#closedError();
      if (!Array.isArray(commands)) {
        throw new TypeError("transaction() expects an array of commands");
      }
      const specs: CommandSpec[] = [];
      for (const command of commands) {
        checkCommand(command);
        try {
          const spec = resolve(command);
          if (spec.refusal !== undefined) throw new ReplyError(spec.refusal);
          specs.push(spec);
        } catch (error) {
          if (!(error instanceof ReplyError)) throw error;
          throw new RedisReplyError(
            "EXECABORT Transaction discarded because of previous errors.",
            "EXEC",
            { cause: new RedisReplyError(error.message, commandName(command)) },
          );
        }
      }
      const replies = specs.map((spec, i) => {
        const command = commands[i]!;
        try {
          return spec.run(this.#context(), command);
        } catch (error) {
          if (error instanceof ReplyError) {
            return new RedisReplyError(error.message, commandName(command));
          }
          throw error;
        }
      });
      return Promise.resolve(replies);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  openSubscriber(handlers: SubscriberHandlers): Promise<Subscriber> {
    if (this.#closed) return Promise.reject(this.#closedError());
    if (typeof handlers?.onMessage !== "function") {
      return Promise.reject(new TypeError("openSubscriber() needs an onMessage handler"));
    }
    const subscriber = new MemorySubscriber(
      this.store,
      handlers,
      () => this.#subscribers.delete(subscriber),
    );
    this.#subscribers.add(subscriber);
    return Promise.resolve(subscriber);
  }

  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      for (const subscriber of [...this.#subscribers]) subscriber.close();
    }
    return Promise.resolve();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

class MemorySubscriber implements Subscriber {
  readonly #store: Store;
  readonly #handlers: SubscriberHandlers;
  readonly #onClosed: () => void;
  readonly #channels = new Set<BinaryString>();
  #closed = false;

  constructor(store: Store, handlers: SubscriberHandlers, onClosed: () => void) {
    this.#store = store;
    this.#handlers = handlers;
    this.#onClosed = onClosed;
  }

  deliver(channel: string, payload: Uint8Array): void {
    const copy = payload.slice();
    queueMicrotask(() => {
      if (!this.#closed) this.#handlers.onMessage({ channel, payload: copy });
    });
  }

  subscribe(channels: readonly string[]): Promise<void> {
    if (this.#closed) {
      return Promise.reject(new BackendClosedError("The memory subscriber has been closed"));
    }
    for (const name of channels) {
      const channel = bin(name);
      this.#channels.add(channel);
      let subscribers = this.#store.channels.get(channel);
      if (subscribers === undefined) {
        subscribers = new Set();
        this.#store.channels.set(channel, subscribers);
      }
      subscribers.add(this);
    }
    return Promise.resolve();
  }

  unsubscribe(channels: readonly string[]): Promise<void> {
    if (this.#closed) {
      return Promise.reject(new BackendClosedError("The memory subscriber has been closed"));
    }
    // As in Redis, UNSUBSCRIBE without channels leaves every channel.
    const leaving = channels.length === 0 ? [...this.#channels] : channels.map(bin);
    for (const channel of leaving) this.#leave(channel);
    return Promise.resolve();
  }

  #leave(channel: BinaryString): void {
    this.#channels.delete(channel);
    const subscribers = this.#store.channels.get(channel);
    if (subscribers === undefined) return;
    subscribers.delete(this);
    if (subscribers.size === 0) this.#store.channels.delete(channel);
  }

  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      for (const channel of [...this.#channels]) this.#leave(channel);
      this.#onClosed();
    }
    return Promise.resolve();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
