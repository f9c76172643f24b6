/**
 * `waitForResult()`: wait for a task, but stop at a deadline and return the state seen so far,
 * for serverless functions that must answer before their platform's time limit.
 *
 * @module
 */
import type { RedisBackend } from "../backend/redis_backend.ts";
import type { TaskMeta } from "../wire/meta.ts";
import { READY_STATES } from "../wire/states.ts";
import { consumerFor } from "./consumer/consumer_for.ts";

/** Options of {@linkcode waitForResult}. */
export interface WaitForResultOptions {
  /**
   * When to stop waiting: a `Date` or milliseconds since the epoch. Set it a little before the
   * platform's limit (e.g. `Date.now() + 25_000` under a 30 s limit).
   * @default {no deadline: wait until the task is ready or the signal aborts}
   */
  deadline?: Date | number | undefined;
  /** Aborts the wait, rejecting with the signal's reason (e.g. the request's signal). */
  signal?: AbortSignal | undefined;
  /** Called with every state the task reports on the way (STARTED, PROGRESS, RETRY…). */
  onMessage?: ((meta: TaskMeta) => void) | undefined;
}

/**
 * Waits until the task is ready, or until the deadline, whichever comes first, and resolves with
 * the task's meta: a ready state (SUCCESS, FAILURE, REVOKED), or at the deadline the last state
 * seen (PENDING when nothing was stored yet). It never throws for a task's failure: check
 * `status`. The wait goes through the backend's consumer (polling over HTTP by default).
 *
 * @param backend The backend to wait through.
 * @param taskId The task id.
 * @param options The deadline, an abort signal and a progress callback.
 * @returns The ready meta, or the last one seen before the deadline.
 * @throws {TypeError} for an invalid deadline.
 * @throws The signal's reason when `signal` aborts.
 *
 * @example Answer within a platform limit
 * ```ts
 * import { createBackend, READY_STATES, waitForResult } from "../../edge.ts";
 * await using backend = createBackend("memory://");
 * await backend.storeResult("t1", { done: 3, total: 10 }, "PROGRESS");
 * const meta = await waitForResult(backend, "t1", { deadline: Date.now() + 100 });
 * console.log(meta.status, READY_STATES.has(meta.status)); // PROGRESS false
 * ```
 */
export async function waitForResult(
  backend: RedisBackend,
  taskId: string,
  options: WaitForResultOptions = {},
): Promise<TaskMeta> {
  const { signal, onMessage } = options;
  const deadline = options.deadline instanceof Date ? options.deadline.getTime() : options.deadline;
  if (deadline !== undefined && !Number.isFinite(deadline)) {
    throw new TypeError("deadline must be a Date or a number of ms since the epoch");
  }
  let last: TaskMeta = { status: "PENDING", result: null };
  // setTimeout cannot wait longer than 2^31 - 1 ms (about 24 days): a later deadline is none.
  const remaining = deadline === undefined ? Infinity : Math.max(0, deadline - Date.now());
  const timer = remaining <= 2 ** 31 - 1 ? new AbortController() : undefined;
  const timeout = timer ? setTimeout(() => timer.abort(), remaining) : undefined;
  const signals = [signal, timer?.signal].filter((s): s is AbortSignal => s !== undefined);
  try {
    return await consumerFor(backend).wait(taskId, {
      signal: signals.length > 1 ? AbortSignal.any(signals) : signals[0],
      onMessage: (meta) => {
        last = meta;
        onMessage?.(meta);
      },
    });
  } catch (error) {
    if (timer?.signal.aborted && !signal?.aborted) return last;
    throw error;
  } finally {
    if (timeout !== undefined) clearTimeout(timeout);
  }
}

/** Whether a meta is in a ready state (SUCCESS, FAILURE, REVOKED). */
export function isReady(meta: TaskMeta): boolean {
  return READY_STATES.has(meta.status);
}
