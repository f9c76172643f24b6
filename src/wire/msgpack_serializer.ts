/**
 * kombu's `msgpack` serializer, a module of its own so that programs storing JSON never load the
 * msgpack codec.
 *
 * @module
 */
import { decodeMsgpack, encodeMsgpack } from "./serialization/msgpack.ts";
import {
  decodeOptionsOf,
  refuseForeign,
  type ResultSerializer,
  type SerializerOptions,
} from "./serializers.ts";

/**
 * kombu's `msgpack` serializer, for `resultSerializer: msgpackSerializer` (the main entry's
 * `createBackend()` also takes the name `"msgpack"`).
 * @param options The decoding settings.
 * @returns The serializer.
 *
 * @example Store results as msgpack
 * ```ts
 * import { memoryDriver, msgpackSerializer, RedisBackend } from "../../mod.ts";
 * await using backend = new RedisBackend(memoryDriver(), { resultSerializer: msgpackSerializer });
 * await backend.markAsDone("t1", [1, 2]);
 * console.log((await backend.getTaskMeta("t1")).result); // [ 1, 2 ]
 * ```
 */
export function msgpackSerializer(options: SerializerOptions = {}): ResultSerializer {
  const decodeOptions = decodeOptionsOf(options);
  return {
    name: "msgpack",
    contentType: "application/x-msgpack",
    encode: (value) => encodeMsgpack(value),
    decode: (payload) => {
      refuseForeign(payload, "msgpack");
      return decodeMsgpack(payload, decodeOptions);
    },
  };
}
