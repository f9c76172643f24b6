// A small RESP2 encoder and decoder for test servers, written apart from src/resp/ on purpose: the
// local Upstash server talks to redis-server through this, so a bug in the project's own codec
// cannot hide on both sides of an HTTP driver test. Simple, not fast: it re-parses from the start
// of the buffered bytes until a whole reply is there.
import { Buffer } from "node:buffer";

/** A decoded reply: status text, integer, bulk bytes (or null), array (or null), or an error. */
export type Resp2Reply = string | number | Uint8Array | null | Resp2Reply[] | Error;

/** Encodes commands as RESP2 arrays of bulk strings (numbers as their decimal text). */
export function encodeResp2(
  commands: readonly (readonly (string | number | bigint | Uint8Array)[])[],
): Buffer {
  const parts: Buffer[] = [];
  for (const command of commands) {
    parts.push(Buffer.from(`*${command.length}\r\n`, "latin1"));
    for (const arg of command) {
      const bytes = arg instanceof Uint8Array ? Buffer.from(arg) : Buffer.from(String(arg), "utf8");
      parts.push(Buffer.from(`$${bytes.length}\r\n`, "latin1"), bytes, Buffer.from("\r\n"));
    }
  }
  return Buffer.concat(parts);
}

/** Splits a byte stream into RESP2 replies, calling `onReply` for each complete one in order. */
export class Resp2Decoder {
  #buffer: Buffer = Buffer.alloc(0);
  readonly #onReply: (reply: Resp2Reply) => void;
  readonly #makeError: (message: string) => Error;

  constructor(onReply: (reply: Resp2Reply) => void, makeError: (message: string) => Error) {
    this.#onReply = onReply;
    this.#makeError = makeError;
  }

  /** Adds received bytes and emits every reply they complete. */
  feed(chunk: Uint8Array): void {
    this.#buffer = Buffer.concat([this.#buffer, chunk]);
    while (this.#buffer.length > 0) {
      const parsed = this.#parse(0);
      if (parsed === undefined) return;
      this.#buffer = this.#buffer.subarray(parsed.end);
      this.#onReply(parsed.reply);
    }
  }

  // One reply starting at `at`, or undefined when its bytes have not all arrived.
  #parse(at: number): { reply: Resp2Reply; end: number } | undefined {
    const lineEnd = this.#buffer.indexOf("\r\n", at);
    if (lineEnd === -1) return undefined;
    const type = String.fromCharCode(this.#buffer[at]!);
    const line = this.#buffer.toString("utf8", at + 1, lineEnd);
    const next = lineEnd + 2;
    switch (type) {
      case "+":
        return { reply: line, end: next };
      case "-":
        return { reply: this.#makeError(line), end: next };
      case ":":
        return { reply: Number(line), end: next };
      case "$": {
        const length = Number(line);
        if (length < 0) return { reply: null, end: next };
        if (this.#buffer.length < next + length + 2) return undefined;
        const bytes = new Uint8Array(this.#buffer.subarray(next, next + length));
        return { reply: bytes, end: next + length + 2 };
      }
      case "*": {
        const count = Number(line);
        if (count < 0) return { reply: null, end: next };
        const items: Resp2Reply[] = [];
        let end = next;
        for (let i = 0; i < count; i++) {
          const item = this.#parse(end);
          if (item === undefined) return undefined;
          items.push(item.reply);
          end = item.end;
        }
        return { reply: items, end };
      }
      default:
        throw new Error(`Unexpected RESP2 type byte ${JSON.stringify(type)} from redis-server`);
    }
  }
}
