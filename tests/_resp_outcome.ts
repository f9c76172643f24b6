// What a RespDecoder makes of a byte stream fed in given chunks, in a form that compares the same
// way on every runtime: the replies it emitted, the error it threw (by class), and whether it was
// left holding part of a reply. Shared by the fuzz and hostile-input tests.
import type { RedisReply } from "../src/connection/driver.ts";
import { RedisReplyError } from "../src/errors.ts";
import { RespDecoder, type RespDecoderOptions } from "../src/connection/resp/decode.ts";

/** A reply as plain data: bytes as arrays of numbers, error replies as `{ error }`. */
export type Plain = string | number | null | number[] | { error: string } | Plain[];

export function plain(reply: RedisReply): Plain {
  if (Array.isArray(reply)) return reply.map(plain);
  if (reply instanceof Uint8Array) return Array.from(reply);
  if (reply instanceof RedisReplyError) return { error: reply.message };
  if (reply instanceof Error) return { error: `${reply.name}: ${reply.message}` };
  return reply;
}

export interface Outcome {
  replies: Plain[];
  /** The class name of the error `feed` threw, if any. */
  error: string | undefined;
  /** The error itself, for checks on its class (not compared). */
  thrown?: unknown;
  partial: boolean;
}

/** Feeds the chunks in order, stopping at the first error, as a connection would. */
export function decodeChunks(chunks: Uint8Array[], options: RespDecoderOptions = {}): Outcome {
  const replies: Plain[] = [];
  const decoder = new RespDecoder((reply) => replies.push(plain(reply)), options);
  for (const chunk of chunks) {
    try {
      decoder.feed(chunk);
    } catch (error) {
      return {
        replies,
        error: error instanceof Error ? error.constructor.name : typeof error,
        thrown: error,
        partial: false,
      };
    }
  }
  return { replies, error: undefined, partial: decoder.partial };
}

/** Cuts `bytes` at the given offsets (any order, duplicates and out-of-range ones ignored). */
export function cut(bytes: Uint8Array, offsets: readonly number[]): Uint8Array[] {
  const points = [...new Set(offsets)].filter((o) => o > 0 && o < bytes.length).sort((a, b) =>
    a - b
  );
  const chunks: Uint8Array[] = [];
  let at = 0;
  for (const point of points) {
    chunks.push(bytes.slice(at, point));
    at = point;
  }
  chunks.push(bytes.slice(at));
  return chunks;
}

/** The outcome without the thrown error object, for deepStrictEqual. */
export function comparable(outcome: Outcome): Omit<Outcome, "thrown"> {
  const { thrown: _thrown, ...rest } = outcome;
  return rest;
}
