/**
 * Result serializers, as kombu names them. Celery stores no content type in Redis: reader and
 * writer must agree on `result_serializer`, so a payload in another format is refused with a clear
 * error instead of being misread.
 *
 * @module
 */
import { ContentDisallowedError, DecodeError } from "../errors.ts";
import { type DecodeLimits, resolveDecodeLimits } from "./serialization/decode_limits.ts";
import { decodeKombuJson, encodeKombuJson } from "./serialization/kombu_json.ts";

/** The serializers a backend can use for results (`result_serializer`). */
export type SerializerName = "json" | "msgpack";

/** Which kombu JSON dialect to write: 5.2 (plain strings) or 5.3+ (`__type__` markers). */
export type KombuJsonDialect = "5.2" | "5.3";

/** Encodes and decodes stored values. */
export interface ResultSerializer {
  /** kombu's name, e.g. `json`. */
  readonly name: SerializerName;
  /** kombu's content type, e.g. `application/json`. */
  readonly contentType: string;
  /** Encodes a value (a string for text formats, bytes for binary ones). */
  encode(value: unknown): string | Uint8Array;
  /** Decodes a stored payload. */
  decode(payload: Uint8Array): unknown;
}

/** Options of a {@linkcode SerializerFactory}. */
export interface SerializerOptions {
  /** kombu JSON dialect for writing. @default {"5.3"} */
  jsonDialect?: KombuJsonDialect | undefined;
  /** Decode integral floats as `PyFloat` so re-encoding is byte-exact. @default {false} */
  preserveFloats?: boolean | undefined;
  /**
   * Bounds on what decoding one stored payload may build: containers nested at most `maxDepth`
   * deep, at most `maxItems` values (array items plus map entries) in all. A payload beyond them
   * is a `DecodeError` naming the limit.
   * @default {{ maxDepth: 1024, maxItems: 1_000_000 }}
   */
  decodeLimits?: DecodeLimits | undefined;
}

/** Makes a serializer from the backend's settings: {@linkcode jsonSerializer}, or `msgpackSerializer`. */
export type SerializerFactory = (options: SerializerOptions) => ResultSerializer;

/**
 * kombu's `json` serializer (Celery's default `result_serializer`), in the dialect asked for.
 * @param options The dialect and decoding settings.
 * @returns The serializer.
 */
export function jsonSerializer(options: SerializerOptions = {}): ResultSerializer {
  const encodeOptions = { dialect: options.jsonDialect ?? "5.3" } as const;
  const decodeOptions = decodeOptionsOf(options);
  return {
    name: "json",
    contentType: "application/json",
    encode: (value) => encodeKombuJson(value, encodeOptions),
    decode: (payload) => {
      refuseForeign(payload, "json");
      return decodeKombuJson(payload, decodeOptions);
    },
  };
}

/** The decoders' options from the serializer settings, checked once rather than per decode. */
export function decodeOptionsOf(
  options: SerializerOptions,
): { preserveFloats: boolean; limits: Required<DecodeLimits> } {
  return {
    preserveFloats: options.preserveFloats ?? false,
    limits: resolveDecodeLimits(options.decodeLimits),
  };
}

/** Names the format a payload is evidently in, when it is recognisably not `expected`. */
export function sniffForeignFormat(payload: Uint8Array, expected: SerializerName): string | null {
  const first = payload[0];
  if (first === undefined) return null;
  // Pickle protocols 2-5 start with PROTO (0x80) and the protocol number.
  if (first === 0x80 && payload[1] !== undefined && payload[1] >= 2 && payload[1] <= 5) {
    return "pickle";
  }
  if (expected === "json" && (first >= 0x80 && first <= 0x8f || first === 0xde || first === 0xdf)) {
    return "msgpack";
  }
  if (expected === "msgpack" && (first === 0x7b /* { */ || first === 0x5b /* [ */)) {
    // A msgpack positive fixint followed by more bytes would be trailing garbage anyway.
    if (payload.length > 1) return "json";
  }
  return null;
}

/** Refuses a payload that is plainly in another format than the configured one. */
export function refuseForeign(payload: Uint8Array, expected: SerializerName): void {
  const foreign = sniffForeignFormat(payload, expected);
  if (foreign === null) return;
  throw new ContentDisallowedError(
    `Refusing to deserialize a ${foreign} payload: this backend's result_serializer is ` +
      `"${expected}" (Celery stores no content type, so workers and readers must agree)`,
  );
}

/** Wraps a decoder failure that is not already one of ours. */
export function asDecodeError(error: unknown, what: string): DecodeError {
  if (error instanceof DecodeError) return error;
  return new DecodeError(`Cannot decode ${what}: ${(error as Error)?.message ?? error}`, {
    cause: error,
  });
}
