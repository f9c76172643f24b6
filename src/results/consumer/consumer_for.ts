/**
 * `consumerFor(backend)`: the one consumer that waits for a backend's results, created on first
 * use from the backend's `consumer` setting — pub/sub on one shared subscription connection when
 * the driver can subscribe, polling with one MGET per tick otherwise — and attached to the
 * backend, so that `forget()` cancels its waits and `close()` stops it.
 *
 * @module
 */
import type {
  PollingConsumerOptions,
  ResultConsumerOptions,
} from "../../backend/consumer_options.ts";
import type { RedisBackend } from "../../backend/redis_backend.ts";
import { BackendClosedError } from "../../errors.ts";
import { PollingConsumer } from "./polling_consumer.ts";
import { ResultConsumer } from "./result_consumer.ts";
import type { ResultWaiter } from "./waiters.ts";

const consumers = new WeakMap<RedisBackend, ResultWaiter>();

/**
 * The backend's consumer (Celery's `backend.result_consumer`), created on first use.
 * @param backend The backend whose results are waited for.
 * @returns The consumer, the same one for every call with this backend.
 * @throws {BackendClosedError} once the backend is closed.
 *
 * @example Wait for a result through the backend's consumer
 * ```ts
 * import { consumerFor, createBackend } from "../../../mod.ts";
 * await using backend = createBackend("memory://");
 * setTimeout(() => backend.markAsDone("t1", 42), 10);
 * console.log((await consumerFor(backend).wait("t1", { timeout: 5_000 })).result); // 42
 * ```
 */
export function consumerFor(backend: RedisBackend): ResultWaiter {
  if (backend.closed) throw new BackendClosedError();
  let consumer = consumers.get(backend);
  if (!consumer) {
    const setting = backend.consumerSetting;
    const settings = typeof setting === "object" ? setting : { type: setting };
    const type = settings.type ??
      (backend.driver.openSubscriber ? "pubsub" : "polling");
    const created = type === "pubsub"
      ? new ResultConsumer(backend, settings as ResultConsumerOptions)
      : new PollingConsumer(backend, settings as PollingConsumerOptions);
    backend.attach({
      cancelFor: (taskId) => created.cancelFor(taskId),
      close: () => created.stop(),
    });
    consumers.set(backend, created);
    consumer = created;
  }
  return consumer;
}
