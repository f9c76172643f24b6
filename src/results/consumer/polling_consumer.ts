/**
 * Waiting without pub/sub (HTTP drivers, or by choice): one MGET per tick for every pending
 * result together, at an interval that backs off between a minimum and a maximum, with jitter.
 *
 * @module
 */
import type { RedisBackend } from "../../backend/redis_backend.ts";
import { BackendClosedError, CeleryBackendError } from "../../errors.ts";
import type { TaskMeta } from "../../wire/meta.ts";
import { abortableSleep, isUnrecoverableError } from "../../connection/retry.ts";
import { type ReadyMapper, type ResultWaiter, Waiters, type WaitOptions } from "./waiters.ts";
import type { PollingConsumerOptions } from "../../backend/consumer_options.ts";

export type { PollingConsumerOptions } from "../../backend/consumer_options.ts";

/**
 * Waits for task results by polling: every tick reads all pending keys with one MGET, so the
 * number of requests does not grow with the number of waiters.
 *
 * @example
 * ```ts
 * import { memoryDriver, PollingConsumer, RedisBackend } from "../../../mod.ts";
 * await using backend = new RedisBackend(memoryDriver());
 * await using consumer = new PollingConsumer(backend, { minInterval: 10 });
 * const waiting = consumer.wait("t1");
 * await backend.markAsDone("t1", "done");
 * console.log((await waiting).result); // done
 * ```
 */
export class PollingConsumer implements ResultWaiter {
  readonly #backend: RedisBackend;
  readonly #waiters: Waiters;
  readonly #min: number;
  readonly #max: number;
  readonly #factor: number;
  readonly #jitter: number;
  readonly #random: () => number;
  readonly #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly #maxErrors: number;
  readonly #stop = new AbortController();
  #interval: number;
  #loop: Promise<void> | undefined;
  #wake: AbortController | undefined;
  #ticks = 0;

  /**
   * Creates the consumer; polling starts with the first wait.
   *
   * @param backend The backend to read through.
   * @param options Interval, backoff and jitter.
   */
  constructor(backend: RedisBackend, options: PollingConsumerOptions = {}) {
    this.#backend = backend;
    this.#min = options.minInterval ?? 50;
    this.#max = options.maxInterval ?? 1000;
    if (!(this.#min > 0) || !(this.#max >= this.#min)) {
      throw new RangeError("Polling needs 0 < minInterval <= maxInterval");
    }
    this.#factor = options.backoffFactor ?? 1.5;
    this.#jitter = options.jitter ?? 0.2;
    this.#random = options.random ?? Math.random;
    this.#sleep = options.sleep ?? abortableSleep;
    this.#maxErrors = options.maxErrors ?? 20;
    this.#interval = this.#min;
    this.#waiters = new Waiters(backend, (added) => this.#onChange(added), options.onStateChange);
  }

  /** How many MGETs have been sent (for measuring requests per result). */
  get ticks(): number {
    return this.#ticks;
  }

  /** Resolves with the task's meta once it is ready. The first read happens at once. */
  wait(taskId: string, options: WaitOptions = {}): Promise<TaskMeta> {
    return this.waitThen(taskId, options, undefined, undefined) as Promise<TaskMeta>;
  }

  /** Waits as {@linkcode PollingConsumer.wait} does, then settles with `ready(target, meta)`. */
  waitThen<T>(
    taskId: string,
    options: WaitOptions,
    ready: ReadyMapper<T> | undefined,
    target: T,
  ): Promise<unknown> {
    if (this.#stop.signal.aborted) {
      return Promise.reject(new BackendClosedError("The consumer has been stopped"));
    }
    return this.#waiters.addThen(taskId, options, ready, target);
  }

  /** Stops waiting on a task. */
  cancelFor(taskId: string): void {
    this.#waiters.cancel(taskId, "cancelled");
  }

  /** Stops polling; pending waits reject. Idempotent. */
  async stop(): Promise<void> {
    if (this.#stop.signal.aborted) return;
    this.#stop.abort();
    this.#waiters.rejectAll(new BackendClosedError("The consumer has been stopped"));
    await this.#loop;
  }

  /** Same as {@linkcode PollingConsumer.stop}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  #onChange(added: boolean): void {
    if (!added || this.#waiters.size === 0) return;
    // A new wait polls soon: reset the backoff and cut the current sleep short (the loop still
    // keeps minInterval between two MGETs).
    this.#interval = this.#min;
    this.#wake?.abort();
    this.#loop ??= this.#run().finally(() => {
      this.#loop = undefined;
      // A wait added while the loop was on its way out found it still set: poll for it now.
      if (this.#waiters.size > 0 && !this.#stop.signal.aborted) this.#onChange(true);
    });
  }

  async #run(): Promise<void> {
    let errors = 0;
    let lastTick = -Infinity;
    await Promise.resolve(); // let waits started in the same tick join the first MGET
    while (this.#waiters.size > 0 && !this.#stop.signal.aborted) {
      const sinceLast = Date.now() - lastTick;
      if (sinceLast < this.#min) {
        await this.#pause(this.#min - sinceLast);
        continue;
      }
      lastTick = Date.now();
      const keys = this.#waiters.keys();
      const before = keys.length;
      try {
        this.#ticks++;
        const payloads = await this.#backend.mget(keys);
        payloads.forEach((payload, i) => this.#waiters.deliverRead(keys[i]!, payload));
        errors = 0;
        this.#waiters.lastConnectionError = undefined;
      } catch (error) {
        if (isUnrecoverableError(error)) {
          this.#waiters.lastConnectionError = undefined;
          this.#waiters.rejectAll(error);
          continue;
        }
        this.#waiters.readFailed(error);
        if (++errors > this.#maxErrors) {
          this.#waiters.lastConnectionError = undefined;
          this.#waiters.rejectAll(
            new CeleryBackendError(`Polling failed ${errors} times in a row`, { cause: error }),
          );
          return;
        }
      }
      if (this.#waiters.size === 0) return;
      const interval = this.#interval;
      if (this.#waiters.size >= before) {
        this.#interval = Math.min(this.#max, this.#interval * this.#factor);
      }
      await this.#pause(interval * (1 + this.#jitter * (2 * this.#random() - 1)));
    }
  }

  async #pause(ms: number): Promise<void> {
    const wake = new AbortController();
    this.#wake = wake;
    try {
      await this.#sleep(ms, AbortSignal.any([wake.signal, this.#stop.signal]));
    } catch {
      // Woken early by a new wait or by stop(): poll (or exit) now.
    } finally {
      this.#wake = undefined;
    }
  }
}
