/**
 * `AsyncResult`: one task's result, as Celery's `celery.result.AsyncResult`, with waiting that is
 * cancellable and leak-free.
 *
 * @module
 */
import type { RedisBackend } from "../backend/redis_backend.ts";
import { parseDateDone } from "../wire/date_done.ts";
import { checkId } from "../wire/keys.ts";
import { NO_EXCEPTION } from "../wire/refused_exception.ts";
import type { TaskMeta } from "../wire/meta.ts";
import { PROPAGATE_STATES, READY_STATES, type TaskState } from "../wire/states.ts";
import { TaskError } from "../wire/task_error.ts";
import { consumerFor } from "./consumer/consumer_for.ts";

/** Options of {@linkcode AsyncResult.get}. */
export interface GetOptions {
  /** Give up after this many **milliseconds**, rejecting with `TimeoutError`. @default {no limit} */
  timeout?: number | undefined;
  /** Re-throw FAILURE and REVOKED as the task's error; `false` returns the error instead. @default {true} */
  propagate?: boolean | undefined;
  /** Aborts the wait, rejecting with the signal's reason. */
  signal?: AbortSignal | undefined;
  /** Called with every state the task reports on the way (STARTED, PROGRESS, RETRY…). */
  onMessage?: ((meta: TaskMeta) => void) | undefined;
}

/**
 * A task's result. Reading methods fetch the current meta (a ready meta is cached, as in
 * Celery); `get()` waits for the task to be ready.
 *
 * @example Wait for a result with a timeout
 * ```ts
 * import { createBackend } from "../../mod.ts";
 * await using backend = createBackend("memory://");
 * const result = backend.asyncResult("t1");
 * setTimeout(() => backend.markAsDone("t1", 42), 10);
 * console.log(await result.get({ timeout: 5_000 })); // 42
 * ```
 */
export class AsyncResult {
  /** The task id. */
  readonly id: string;
  /** The backend results are read from. */
  readonly backend: RedisBackend;
  #cache: TaskMeta | undefined;

  /**
   * Creates a handle on a task's result (nothing is read until asked).
   *
   * @param id The task id.
   * @param backend The backend to read from.
   */
  constructor(id: string, backend: RedisBackend) {
    this.id = checkId(id, "task_id");
    this.backend = backend;
  }

  /** The task's meta: cached once ready, otherwise read afresh. */
  async getMeta(): Promise<TaskMeta> {
    if (this.#cache) return this.#cache;
    const meta = await this.backend.getTaskMeta(this.id);
    if (READY_STATES.has(meta.status)) this.#cache = meta;
    return meta;
  }

  /**
   * Waits until the task is ready and returns its result (or throws its error).
   * @throws {TaskError} for FAILURE and REVOKED unless `propagate` is false.
   * @throws {TimeoutError} when `timeout` ms pass first.
   */
  get(options: GetOptions = {}): Promise<unknown> {
    const { timeout, signal, onMessage, propagate = true } = options;
    // Not an async function: a suspended frame per pending wait would cost memory at scale.
    if (this.#cache) return settled(this.#cache, propagate);
    return consumerFor(this.backend).wait(this.id, {
      signal,
      timeout,
      onMessage,
    }).then((meta) => {
      this.#cache = meta;
      return settled(meta, propagate);
    });
  }

  /**
   * Every state the task reports, from now until it is ready (the ready meta is the last one).
   * Breaking out of the loop releases the subscription.
   */
  async *states(options: { signal?: AbortSignal } = {}): AsyncGenerator<TaskMeta, void, undefined> {
    const queue: TaskMeta[] = [];
    let wake: (() => void) | undefined;
    let finished = false;
    let failure: { error: unknown } | undefined;
    const stop = new AbortController();
    const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
    consumerFor(this.backend).wait(this.id, {
      signal,
      onMessage: (meta) => {
        queue.push(meta);
        wake?.();
      },
    }).then(
      () => (finished = true),
      (error) => (failure = { error }),
    ).finally(() => wake?.());
    try {
      while (true) {
        const next = queue.shift();
        if (next) {
          yield next;
          if (READY_STATES.has(next.status)) return;
          continue;
        }
        if (failure) throw failure.error;
        if (finished) return;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    } finally {
      stop.abort();
    }
  }

  /** The current state (`PENDING` when nothing is stored). */
  async state(): Promise<TaskState> {
    return (await this.getMeta()).status;
  }

  /** Whether the task is ready (SUCCESS, FAILURE or REVOKED). */
  async ready(): Promise<boolean> {
    return READY_STATES.has(await this.state());
  }

  /** Whether the task succeeded. */
  async successful(): Promise<boolean> {
    return (await this.state()) === "SUCCESS";
  }

  /** Whether the task failed. */
  async failed(): Promise<boolean> {
    return (await this.state()) === "FAILURE";
  }

  /** The stored result: the return value, progress meta, or the rebuilt error. */
  async result(): Promise<unknown> {
    return (await this.getMeta()).result;
  }

  /** The remote traceback, if any. */
  async traceback(): Promise<string | null> {
    return (await this.getMeta()).traceback ?? null;
  }

  /**
   * When the task became ready, as a `Date` (naive values read as UTC).
   * @throws {DecodeError} for a stored date Python refuses too (month 13, Feb 30, hour 25...).
   */
  async dateDone(): Promise<Date | null> {
    return parseDateDone((await this.getMeta()).date_done);
  }

  /** Result tuples of the subtasks the task started. */
  async children(): Promise<unknown[] | null> {
    return (await this.getMeta()).children ?? null;
  }

  /** Extended meta (`result_extended`): the task name. */
  async name(): Promise<string | null> {
    return (await this.getMeta()).name ?? null;
  }

  /** Extended meta: positional arguments. */
  async args(): Promise<unknown> {
    return (await this.getMeta()).args ?? null;
  }

  /** Extended meta: keyword arguments. */
  async kwargs(): Promise<unknown> {
    return (await this.getMeta()).kwargs ?? null;
  }

  /** Extended meta: the worker's hostname. */
  async worker(): Promise<string | null> {
    return (await this.getMeta()).worker ?? null;
  }

  /** Extended meta: how many times the task was retried. */
  async retries(): Promise<number | null> {
    return (await this.getMeta()).retries ?? null;
  }

  /** Extended meta: the queue (routing key) it was delivered on. */
  async queue(): Promise<string | null> {
    return (await this.getMeta()).queue ?? null;
  }

  /** Whether anything is stored for the task: tells an unknown or expired id from PENDING. */
  async exists(): Promise<boolean> {
    return await this.backend.exists(this.id);
  }

  /** Deletes the stored result and stops any wait on it (Celery's `forget`). */
  async forget(): Promise<void> {
    this.#cache = undefined;
    await this.backend.forget(this.id);
  }

  /** Celery's tuple form: `[[id, null], null]`. */
  asTuple(): [[string, null], null] {
    return [[this.id, null], null];
  }
}

function settled(meta: TaskMeta, propagate: boolean): Promise<unknown> {
  if (propagate && PROPAGATE_STATES.has(meta.status)) {
    if (meta.result instanceof Error) return Promise.reject(meta.result);
    // FAILURE or REVOKED with no exception stored: Python's get() re-raises "nothing", which is
    // a RuntimeError, never the stored value.
    const { excType, excModule, message } = NO_EXCEPTION;
    return Promise.reject(
      new TaskError(excType, [message], excModule, {
        taskId: typeof meta.task_id === "string" ? meta.task_id : undefined,
        state: meta.status,
      }),
    );
  }
  return Promise.resolve(meta.result);
}
