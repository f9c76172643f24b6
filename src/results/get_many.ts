/**
 * `getMany()`: Celery's `backend.get_many()`, which waits for many tasks and yields each one as it
 * becomes ready. (The one-shot read of their current states is `backend.getTaskMetas()`.)
 *
 * @module
 */
import type { RedisBackend } from "../backend/redis_backend.ts";
import { checkId } from "../wire/keys.ts";
import type { TaskMeta } from "../wire/meta.ts";
import { PROPAGATE_STATES } from "../wire/states.ts";
import { consumerFor } from "./consumer/consumer_for.ts";
import { propagatedError } from "./propagated_error.ts";

/** Options of {@linkcode getMany}. */
export interface GetManyOptions {
  /**
   * Give up after this many **milliseconds** in all (not per task), throwing `TimeoutError` once
   * the tasks ready by then are yielded (each task's state is read once first, so tasks already
   * ready are yielded whatever the timeout). @default {no limit}
   */
  timeout?: number | undefined;
  /** Stops waiting: the loop throws the signal's reason and every wait is released. */
  signal?: AbortSignal | undefined;
  /** Called with each ready meta just before it is yielded, as Celery's `on_message` here. */
  onMessage?: ((meta: TaskMeta) => void) | undefined;
  /**
   * Throw a FAILURE or REVOKED task's error instead of yielding it. Celery's `get_many` yields
   * them (it has no such flag), hence the default.
   * @default {false}
   */
  propagate?: boolean | undefined;
}

/**
 * Waits for tasks and yields `[id, meta]` for each as it becomes ready (SUCCESS, FAILURE or
 * REVOKED), in the order they become ready; tasks ready already come first, in `taskIds` order.
 * Each id is yielded once, even if given twice (Celery takes the ids as a set). Breaking out of
 * the loop, an abort or the timeout releases every wait.
 *
 * Unlike Celery's, which polls with MGET every `interval` seconds, this waits through the
 * backend's consumer (pub/sub, or the polling consumer for drivers without it).
 *
 * @param backend The result backend.
 * @param taskIds The tasks to wait for.
 * @param options Timeout, signal, `onMessage` and `propagate`.
 * @returns An async iterator of `[id, meta]` pairs.
 * @throws {TypeError} at once for ids that are not non-empty strings, or a non-number timeout.
 * @throws {RangeError} at once for a negative or NaN timeout.
 * @throws {TimeoutError} from the loop when `timeout` ms pass before every task is ready.
 *
 * @example Follow tasks as they finish
 * ```ts
 * import { createBackend, getMany } from "../../mod.ts";
 * await using backend = createBackend("memory://");
 * setTimeout(() => backend.markAsDone("b", 2), 10);
 * await backend.markAsDone("a", 1);
 * for await (const [id, meta] of getMany(backend, ["a", "b"], { timeout: 5_000 })) {
 *   console.log(id, meta.status, meta.result); // a SUCCESS 1, then b SUCCESS 2
 * }
 * ```
 */
export function getMany(
  backend: RedisBackend,
  taskIds: Iterable<string>,
  options: GetManyOptions = {},
): AsyncGenerator<[string, TaskMeta], void, undefined> {
  if (
    typeof taskIds === "string" || taskIds === null || typeof taskIds !== "object" ||
    typeof (taskIds as Iterable<string>)[Symbol.iterator] !== "function"
  ) {
    throw new TypeError(
      `getMany() takes an iterable of task ids (an array or a Set), got ${typeof taskIds}`,
    );
  }
  const ids = [...new Set(taskIds)].map((id) => checkId(id, "task_id"));
  const { timeout } = options;
  if (timeout !== undefined && typeof timeout !== "number") {
    throw new TypeError(`timeout must be a number of milliseconds, got ${typeof timeout}`);
  }
  if (timeout !== undefined && !(timeout >= 0)) {
    throw new RangeError(`timeout must be a non-negative number of milliseconds, got ${timeout}`);
  }
  return yieldAsReady(backend, ids, options);
}

async function* yieldAsReady(
  backend: RedisBackend,
  ids: readonly string[],
  options: GetManyOptions,
): AsyncGenerator<[string, TaskMeta], void, undefined> {
  if (ids.length === 0) return;
  const { timeout, onMessage, propagate = false } = options;
  // One controller ends every wait when the loop ends, however it ends.
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  // Ready tasks queue up here; a queue rather than Promise.race over the pending waits, which
  // would cost O(n) per task.
  const ready: ([string, TaskMeta] | undefined)[] = [];
  let failure: { error: unknown } | undefined;
  let wake: (() => void) | undefined;
  const consumer = consumerFor(backend);
  for (const id of ids) {
    consumer.wait(id, { signal, timeout }).then(
      (meta) => ready.push([id, meta]),
      (error) => (failure ??= { error }),
    ).finally(() => wake?.());
  }
  try {
    for (let yielded = 0; yielded < ids.length;) {
      const next = ready[yielded];
      if (next === undefined) {
        if (failure) throw failure.error;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
        continue;
      }
      ready[yielded++] = undefined; // let the meta go once it is handed out
      const meta = next[1];
      onMessage?.(meta);
      if (propagate && PROPAGATE_STATES.has(meta.status)) throw propagatedError(meta);
      yield next;
    }
  } finally {
    stop.abort();
  }
}
