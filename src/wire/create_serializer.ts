/**
 * Serializers by kombu's names, for the factories that take Celery's `result_serializer` setting
 * as a string (and so load every codec).
 *
 * @module
 */
import { msgpackSerializer } from "./msgpack_serializer.ts";
import {
  jsonSerializer,
  type ResultSerializer,
  type SerializerFactory,
  type SerializerName,
  type SerializerOptions,
} from "./serializers.ts";

/**
 * The factory of a serializer named as in Celery's `result_serializer`.
 * @param name `json` or `msgpack`.
 * @returns Its factory.
 * @throws {RangeError} for any other name (pickle and yaml cannot be read from JavaScript).
 */
export function serializerFactory(name: SerializerName): SerializerFactory {
  if (name === "json") return jsonSerializer;
  if (name === "msgpack") return msgpackSerializer;
  throw new RangeError(
    `Unsupported result serializer "${String(name)}": expected "json" or "msgpack" ` +
      "(pickle and yaml payloads cannot be read from JavaScript)",
  );
}

/**
 * A serializer by name, with its settings.
 * @param name `json` or `msgpack`.
 * @param options The dialect and decoding settings.
 * @returns The serializer.
 */
export function createSerializer(
  name: SerializerName,
  options: SerializerOptions = {},
): ResultSerializer {
  return serializerFactory(name)(options);
}
