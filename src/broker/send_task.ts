/**
 * `sendTask()` and `revoke()` as free functions that take either a {@linkcode Broker} or a
 * {@linkcode RedisBackend} whose Redis is also the broker (`broker_url` = `result_backend`).
 *
 * @module
 */
import { RedisBackend } from "../backend/redis_backend.ts";
import type { AsyncResult } from "../results/async_result.ts";
import { Broker, type RevokeOptions } from "./broker.ts";
import type { SendTaskOptions } from "./send_options.ts";

const brokers = new WeakMap<RedisBackend, Broker>();

/** The broker for a target: itself, or one over the backend's connection (closed with it). */
export function brokerOf(target: Broker | RedisBackend): Broker {
  if (target instanceof Broker) return target;
  if (!(target instanceof RedisBackend)) {
    throw new TypeError("Expected a Broker or a RedisBackend to send through");
  }
  let broker = brokers.get(target);
  if (!broker) {
    broker = new Broker(target.driver, { backend: target });
    brokers.set(target, broker);
  }
  return broker;
}

/**
 * Sends a Celery task (Celery's `app.send_task(name, args=, kwargs=, ...)`).
 * @param target A {@linkcode Broker}, or a backend whose Redis is also the broker.
 * @param name The task's registered name.
 * @param options Arguments and execution options.
 * @returns The task's result, subscribed before the message was pushed.
 *
 * @example Send through the backend's own Redis
 * ```ts ignore
 * import { createBackend, sendTask } from "@taskmeta/celery-redis";
 * await using backend = createBackend("redis://localhost:6379/0");
 * const result = await sendTask(backend, "proj.add", { args: [2, 3] });
 * console.log(await result.get({ timeout: 10_000 })); // 5
 * ```
 */
export function sendTask(
  target: Broker | RedisBackend,
  name: string,
  options: SendTaskOptions = {},
): Promise<AsyncResult> {
  return brokerOf(target).sendTask(name, options);
}

/**
 * Revokes tasks through Celery's broadcast control channel (`app.control.revoke`).
 * @param target A {@linkcode Broker}, or a backend whose Redis is also the broker.
 * @param taskIds One id or several.
 * @param options `terminate`, `signal`, `destination`.
 * @returns How many subscribers received the broadcast.
 */
export function revoke(
  target: Broker | RedisBackend,
  taskIds: string | readonly string[],
  options: RevokeOptions = {},
): Promise<number> {
  return brokerOf(target).revoke(taskIds, options);
}
