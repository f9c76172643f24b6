/**
 * Celery's `on_task_call`: the result is waited for before the message is pushed, so even a
 * worker that starts at once cannot publish a state nobody hears. With pub/sub the wait is held
 * until the server has confirmed the subscription; with polling (HTTP) the wait is registered and
 * the first poll reads whatever the worker stored.
 *
 * @module
 */
import type { RedisBackend } from "../backend/redis_backend.ts";
import type { TaskMeta } from "../wire/meta.ts";
import { consumerFor } from "../results/consumer/consumer_for.ts";
import { ResultConsumer } from "../results/consumer/result_consumer.ts";

/**
 * Starts waiting for a task's result and resolves once no state of it can be missed.
 * @param backend The result backend.
 * @param taskId The task about to be sent.
 * @param onMessage Hears every state from now on.
 * @returns Once subscribed (the wait itself goes on until the task is ready).
 * @throws what the subscription failed with (the result backend is unreachable).
 */
export async function subscribeBeforeSending(
  backend: RedisBackend,
  taskId: string,
  onMessage: ((meta: TaskMeta) => void) | undefined,
): Promise<void> {
  const consumer = consumerFor(backend);
  const waiting = consumer.wait(taskId, onMessage ? { onMessage } : {});
  waiting.catch(() => {}); // nobody may ever ask for this wait's outcome
  if (consumer instanceof ResultConsumer) {
    const key = backend.keys.task(taskId);
    // The consumer subscribes asynchronously (one SUBSCRIBE per tick for every new wait); its
    // confirmed channels are public, so watch them, giving up if the wait itself fails.
    let failed: unknown;
    let settled = false;
    waiting.then(() => (settled = true), (error) => {
      settled = true;
      failed = error;
    });
    while (!consumer.subscribedChannels.has(key) && !settled) {
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    if (failed !== undefined) throw failed;
  }
}
