// The least a JavaScript Redis client can do per read on this runtime, to bound the read goals.
//
// It uses the same socket as our TCP driver (the runtime's own API behind src's transport seam)
// and does only what any client must: write the commands and find each reply's bytes; when asked,
// it turns them into text and JSON.parse's it, and then, when asked, runs the check a byte-exact
// reader must (kombu_json.ts's `plainAndExact`, the walk ours runs). Less than any real client
// does: the command bytes are made before the clock starts, the replies are read as the two shapes
// the workloads get (a bulk string, an array of bulk strings) with no error replies, no limits and
// no checks of the framing. Its time per result is therefore a floor: when the floor plus decoding
// already takes longer than a goal allows, no client on this runtime that decodes as much can meet
// that goal, however its own code is written.
import { runtimeAdapter } from "../src/connection/drivers/_transport.ts";
import type { Transport } from "../src/connection/drivers/_transport_types.ts";
import { plainAndExact } from "../src/wire/serialization/kombu_json.ts";
import type { Reader } from "./_readers.ts";

const CR = 13;
const STATUS = 0;
const BULK = 1;
const ARRAY = 2;

type Settle = (value: unknown) => void;
type Parse = (bytes: Uint8Array) => unknown;

class FloorConnection {
  readonly #parse: Parse;
  #transport: Transport | undefined;
  #out = new Uint8Array(1 << 16);
  #outLen = 0;
  // What each reply owes, in parallel arrays (no object per command).
  #settles: Settle[] = [];
  #kinds: number[] = [];
  #head = 0;
  // The array reply being read, across chunks.
  #items: unknown[] | undefined;
  #filled = 0;
  // What #bulk() and #header() read last.
  #value: unknown;
  #length = 0;
  #rest = new Uint8Array(0);

  constructor(parse: Parse) {
    this.#parse = parse;
  }

  async open(hostname: string, port: number): Promise<void> {
    this.#transport = await runtimeAdapter().connect(
      { hostname, port },
      { onData: (chunk) => this.#onData(chunk), onClose: () => {} },
      new AbortController().signal,
    );
  }

  /** Sends ready-made command bytes; resolves with the reply (parsed bulk strings). */
  send(command: Uint8Array, kind: number): Promise<unknown> {
    if (this.#outLen === 0) queueMicrotask(this.#flush);
    if (this.#outLen + command.length > this.#out.length) {
      const grown = new Uint8Array(2 * (this.#outLen + command.length));
      grown.set(this.#out.subarray(0, this.#outLen));
      this.#out = grown;
    }
    this.#out.set(command, this.#outLen);
    this.#outLen += command.length;
    this.#kinds.push(kind);
    return new Promise((settle) => this.#settles.push(settle));
  }

  close(): Promise<void> {
    return this.#transport?.close() ?? Promise.resolve();
  }

  #flush = (): void => {
    const bytes = this.#out.slice(0, this.#outLen);
    this.#outLen = 0;
    this.#transport!.write(bytes);
  };

  #onData(chunk: Uint8Array): void {
    // What the previous chunk left unread goes first (chunks may be borrowed: it was copied).
    let data = chunk;
    if (this.#rest.length > 0) {
      data = new Uint8Array(this.#rest.length + chunk.length);
      data.set(this.#rest);
      data.set(chunk, this.#rest.length);
    }
    const length = data.length;
    let at = 0;
    while (this.#head < this.#settles.length) {
      const kind = this.#kinds[this.#head];
      let value: unknown;
      if (kind === STATUS) {
        const end = data.indexOf(CR, at);
        if (end < 0 || end + 2 > length) break;
        at = end + 2;
      } else if (kind === BULK) {
        const next = this.#bulk(data, at);
        if (next < 0) break;
        value = this.#value;
        at = next;
      } else {
        if (this.#items === undefined) {
          const next = this.#header(data, at);
          if (next < 0) break;
          this.#items = new Array(this.#length);
          this.#filled = 0;
          at = next;
        }
        const items = this.#items;
        while (this.#filled < items.length) {
          const next = this.#bulk(data, at);
          if (next < 0) break;
          items[this.#filled++] = this.#value;
          at = next;
        }
        if (this.#filled < items.length) break;
        value = items;
        this.#items = undefined;
      }
      this.#settles[this.#head++]!(value);
      if (this.#head === this.#settles.length) {
        this.#settles = [];
        this.#kinds = [];
        this.#head = 0;
      }
    }
    this.#rest = at < length ? data.slice(at) : new Uint8Array(0);
  }

  /** Reads the bulk string at `at` into #value; returns where the next reply starts, or -1. */
  #bulk(data: Uint8Array, at: number): number {
    const start = this.#header(data, at);
    if (start < 0) return -1;
    const end = start + this.#length;
    if (end + 2 > data.length) return -1;
    this.#value = this.#parse(data.subarray(start, end));
    return end + 2;
  }

  /** Reads a `$<n>\r\n` or `*<n>\r\n` header at `at` into #length; returns what follows, or -1. */
  #header(data: Uint8Array, at: number): number {
    let i = at + 1;
    let n = 0;
    for (let c = data[i]; c !== CR; c = data[++i]) {
      if (c === undefined) return -1;
      n = n * 10 + c - 48;
    }
    if (i + 2 > data.length) return -1;
    this.#length = n;
    return i + 2;
  }
}

function command(words: readonly string[]): Uint8Array {
  let text = `*${words.length}\r\n`;
  for (const word of words) text += `$${word.length}\r\n${word}\r\n`;
  return new TextEncoder().encode(text);
}

/**
 * How much of a reply the floor reader turns into a meta: nothing (its bytes), UTF-8 and
 * JSON.parse (the least work that yields the meta), or that and the check a byte-exact reader of
 * Celery's JSON must also run (`plainAndExact`), the floor for a byte-exact client such as ours.
 */
export type FloorDecoding = "bytes" | "parse" | "exact";

const FLOOR_NAMES: Record<FloorDecoding, string> = {
  bytes: "floor, bytes only",
  parse: "floor + JSON.parse",
  exact: "floor, byte-exact",
};

/** The name the floor reader of `decoding` reports. */
export function floorName(decoding: FloorDecoding): string {
  return FLOOR_NAMES[decoding];
}

function decoder(decoding: FloorDecoding): Parse {
  const text = new TextDecoder();
  if (decoding === "bytes") return (bytes) => bytes.length;
  if (decoding === "parse") return (bytes) => JSON.parse(text.decode(bytes));
  return (bytes) => {
    const meta = JSON.parse(text.decode(bytes));
    if (!plainAndExact(meta)) {
      throw new Error("the floor read a meta that JSON.parse cannot read exactly");
    }
    return meta;
  };
}

/**
 * A reader on the floor client, decoding as `decoding` says. The MGET batches are those of
 * `batchedMgets`: `many(from, to)` is prepared for every `from` that is a multiple of `batch`.
 */
export async function floorReader(
  redis: { host: string; port: number; db: number },
  keys: readonly string[],
  batch: number,
  decoding: FloorDecoding,
): Promise<Reader> {
  const connection = new FloorConnection(decoder(decoding));
  await connection.open(redis.host, redis.port);
  await connection.send(command(["SELECT", String(redis.db)]), STATUS);
  const gets = keys.map((key) => command(["GET", key]));
  const mgets = new Map<number, Uint8Array>();
  for (let from = 0; from < keys.length; from += batch) {
    mgets.set(from, command(["MGET", ...keys.slice(from, from + batch)]));
  }
  const status = decoding === "bytes"
    ? (value: unknown) => ({ status: value ? "SUCCESS" : null })
    : (value: unknown) => value as { status: unknown };
  return {
    name: floorName(decoding),
    one: (i) => connection.send(gets[i]!, BULK).then(status),
    many: (from, to) => {
      const bytes = mgets.get(from);
      if (bytes === undefined || to !== Math.min(keys.length, from + batch)) {
        throw new RangeError(`the floor client has no MGET prepared for ${from}…${to}`);
      }
      return connection.send(bytes, ARRAY).then((items) => (items as unknown[]).map(status));
    },
    close: () => connection.close(),
  };
}
