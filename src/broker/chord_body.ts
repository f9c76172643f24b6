/**
 * `brokerOnBody(broker)`: the `onBody` callback of chord completion that sends the body through
 * the broker, as Celery's `on_chord_part_return` does with `callback.delay(results)`.
 *
 * @module
 */
import type { RedisBackend } from "../backend/redis_backend.ts";
import type { ChordBodyContext } from "../canvas/chord.ts";
import type { Signature } from "../wire/meta.ts";
import type { Broker } from "./broker.ts";
import { sendSignature } from "./send_signature.ts";
import { brokerOf } from "./send_task.ts";

/**
 * An `onBody` for `markAsDone`'s chord options that sends the chord body as a task, with the
 * header's results as its first argument, as a child of the part that completed the chord.
 * @param target The broker (or a backend whose Redis is also the broker).
 * @returns The callback.
 */
export function brokerOnBody(
  target: Broker | RedisBackend,
): (body: Signature, results: unknown[], context: ChordBodyContext) => Promise<void> {
  const broker = brokerOf(target);
  return async (body, results, context) => {
    await sendSignature(broker, body, {
      args: [results],
      parentId: context.parentId,
      rootId: context.rootId,
    });
  };
}
