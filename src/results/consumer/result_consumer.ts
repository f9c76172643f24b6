/**
 * Celery's `ResultConsumer` for Redis: waits for results over pub/sub on one shared subscription
 * connection, subscribing before reading so nothing stored in between is missed, and reconnecting
 * (then reading every pending key and resubscribing) when the connection drops. Errors no retry
 * can fix (refused credentials or permissions, TLS, a bad database index, too few connections)
 * fail every pending wait at once instead of after the whole retry policy.
 *
 * @module
 */
import type { RedisBackend } from "../../backend/redis_backend.ts";
import type { Subscriber } from "../../connection/driver.ts";
import { BackendClosedError, CeleryBackendError } from "../../errors.ts";
import type { TaskMeta } from "../../wire/meta.ts";
import { ensure, isUnrecoverableError } from "../../connection/retry.ts";
import { type ReadyMapper, type ResultWaiter, Waiters, type WaitOptions } from "./waiters.ts";
import type { ResultConsumerOptions } from "../../backend/consumer_options.ts";

export type { ResultConsumerOptions } from "../../backend/consumer_options.ts";

/**
 * Waits for task results over Redis pub/sub.
 *
 * @example
 * ```ts
 * import { memoryDriver, RedisBackend, ResultConsumer } from "../../../mod.ts";
 * await using backend = new RedisBackend(memoryDriver());
 * await using consumer = new ResultConsumer(backend);
 * const waiting = consumer.wait("t1");
 * await backend.markAsDone("t1", 42);
 * console.log((await waiting).result); // 42
 * ```
 */
export class ResultConsumer implements ResultWaiter {
  readonly #backend: RedisBackend;
  readonly #options: ResultConsumerOptions;
  readonly #waiters: Waiters;
  /** Channels the server has confirmed on the current subscriber. */
  readonly #subscribed = new Set<string>();
  /**
   * Keys waited for anew while still subscribed from an earlier wait (released, not yet
   * unsubscribed): their state may have been published before, so they are read once more.
   */
  readonly #reread = new Set<string>();
  #subscriber: Subscriber | undefined;
  #opening: Promise<Subscriber> | undefined;
  #syncing: Promise<void> | undefined;
  #dirty = false;
  #reconnecting: Promise<void> | undefined;
  #stopped = false;

  /**
   * Creates the consumer; the subscription connection opens on the first wait.
   *
   * @param backend The backend whose keys and decoding are used; its driver must support pub/sub.
   * @param options Retry policy and callbacks.
   */
  constructor(backend: RedisBackend, options: ResultConsumerOptions = {}) {
    if (!backend.driver.openSubscriber) {
      throw new TypeError(
        `The ${backend.driver.name} driver cannot subscribe; use PollingConsumer instead`,
      );
    }
    this.#backend = backend;
    this.#options = options;
    this.#waiters = new Waiters(backend, () => this.#requestSync(), options.onStateChange);
  }

  /** Channels currently subscribed on the server (for diagnostics and tests). */
  get subscribedChannels(): ReadonlySet<string> {
    return this.#subscribed;
  }

  /** Opens the subscription connection now rather than on the first wait. */
  async start(): Promise<void> {
    await this.#connect();
  }

  /**
   * Waits until the task is ready and resolves with its meta. Subscribes first, then reads the
   * current value (one MGET for every wait started in the same tick).
   */
  wait(taskId: string, options: WaitOptions = {}): Promise<TaskMeta> {
    return this.waitThen(taskId, options, undefined, undefined) as Promise<TaskMeta>;
  }

  /** Waits as {@linkcode ResultConsumer.wait} does, then settles with `ready(target, meta)`. */
  waitThen<T>(
    taskId: string,
    options: WaitOptions,
    ready: ReadyMapper<T> | undefined,
    target: T,
  ): Promise<unknown> {
    if (this.#stopped) {
      return Promise.reject(new BackendClosedError("The consumer has been stopped"));
    }
    const key = this.#backend.keys.task(taskId);
    if (this.#subscribed.has(key) && !this.#waiters.has(key)) this.#reread.add(key);
    return this.#waiters.addThen(taskId, options, ready, target);
  }

  /** Subscribes to a task's channel without waiting (Celery's `consume_from`). */
  consumeFrom(taskId: string): Promise<TaskMeta> {
    const waiting = this.wait(taskId);
    waiting.catch(() => {});
    return waiting;
  }

  /** Stops waiting on a task and unsubscribes (Celery's `cancel_for`). */
  cancelFor(taskId: string): void {
    this.#waiters.cancel(taskId, "cancelled");
  }

  /** Closes the subscription connection; pending waits reject. Idempotent. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#waiters.rejectAll(new BackendClosedError("The consumer has been stopped"));
    const subscriber = this.#subscriber ?? await this.#opening?.catch(() => undefined);
    this.#subscriber = undefined;
    this.#subscribed.clear();
    await subscriber?.close();
  }

  /** Same as {@linkcode ResultConsumer.stop}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  // Coalesces every change made in the same tick into one UNSUBSCRIBE and one SUBSCRIBE + MGET.
  #requestSync(): void {
    this.#dirty = true;
    if (this.#syncing || this.#stopped) return;
    this.#syncing = this.#sync()
      .catch((error) => isUnrecoverableError(error) ? this.#failAll(error) : this.#recover(error))
      .finally(() => {
        this.#syncing = undefined;
        if (this.#dirty && !this.#stopped && !this.#reconnecting) this.#requestSync();
      });
  }

  async #sync(): Promise<void> {
    await Promise.resolve();
    while (this.#dirty && !this.#stopped && !this.#reconnecting) {
      this.#dirty = false;
      // Nothing to (un)subscribe (e.g. every wait just failed): no connection is opened for it.
      if (this.#waiters.size === 0 && this.#subscribed.size === 0) continue;
      const subscriber = await this.#connect();
      const stale = [...this.#subscribed].filter((key) => !this.#waiters.has(key));
      if (stale.length > 0) {
        await subscriber.unsubscribe(stale);
        for (const key of stale) this.#subscribed.delete(key);
      }
      const fresh = this.#waiters.keys().filter((key) => !this.#subscribed.has(key));
      if (fresh.length > 0) await this.#subscribeThenRead(subscriber, fresh);
      const reread = [...this.#reread].filter((key) => this.#subscribed.has(key));
      this.#reread.clear();
      if (reread.length > 0) {
        const payloads = await this.#backend.mget(reread);
        payloads.forEach((payload, i) => this.#waiters.deliverRead(reread[i]!, payload));
      }
    }
  }

  async #subscribeThenRead(subscriber: Subscriber, keys: string[]): Promise<void> {
    await subscriber.subscribe(keys);
    for (const key of keys) this.#subscribed.add(key);
    // Anything stored before the subscription took effect is read here; anything after arrives
    // as a message. Both paths deliver through Waiters, which drops duplicates.
    const payloads = await this.#backend.mget(keys);
    payloads.forEach((payload, i) => this.#waiters.deliverRead(keys[i]!, payload));
  }

  #connect(): Promise<Subscriber> {
    if (this.#subscriber) return Promise.resolve(this.#subscriber);
    if (this.#opening) return this.#opening;
    const subscriberRef: { current?: Subscriber } = {};
    this.#opening = this.#backend.driver.openSubscriber!({
      onMessage: (message) => this.#waiters.deliver(message.channel, message.payload),
      onClose: (error) => this.#onClose(subscriberRef, error),
    }).then((subscriber) => {
      subscriberRef.current = subscriber;
      if (this.#stopped) {
        void subscriber.close();
        throw new BackendClosedError("The consumer has been stopped");
      }
      this.#subscriber = subscriber;
      return subscriber;
    }).finally(() => (this.#opening = undefined));
    return this.#opening;
  }

  #onClose(ref: { current?: Subscriber }, error: Error): void {
    if (this.#stopped || (ref.current && ref.current !== this.#subscriber)) return;
    this.#subscriber = undefined;
    this.#subscribed.clear();
    if (this.#waiters.size > 0) void this.#recover(error);
  }

  // Fails every pending wait with an error no retry can fix (the typed error itself).
  #failAll(error: unknown): void {
    this.#waiters.lastConnectionError = undefined;
    if (!this.#stopped) this.#waiters.rejectAll(error);
  }

  // Celery's reconnect_on_error + _reconnect_pubsub, but subscribing before the MGET, so a
  // result stored between the two cannot be missed.
  #recover(cause: unknown): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    this.#waiters.readFailed(cause);
    this.#reconnecting ??= (async () => {
      const old = this.#subscriber;
      this.#subscriber = undefined;
      this.#subscribed.clear();
      await old?.close().catch(() => {});
      try {
        await ensure(
          async () => {
            const subscriber = await this.#connect();
            const keys = this.#waiters.keys();
            if (keys.length > 0) await this.#subscribeThenRead(subscriber, keys);
          },
          this.#options.retryPolicy,
          {
            onConnectionError: (error, retry, sleepMs) => {
              this.#waiters.readFailed(error);
              this.#options.onConnectionError?.(error, retry, sleepMs);
            },
            isRetryable: (e) => !this.#stopped && !isUnrecoverableError(e),
          },
        );
        this.#waiters.lastConnectionError = undefined;
      } catch (error) {
        if (isUnrecoverableError(error)) {
          this.#failAll(error);
          return;
        }
        this.#waiters.rejectAll(
          new CeleryBackendError(
            "Retry limit exceeded while trying to reconnect to the Celery redis result store " +
              "backend",
            { cause: error ?? cause },
          ),
        );
      }
    })().finally(() => {
      this.#reconnecting = undefined;
      if (this.#dirty) this.#requestSync();
    });
    return this.#reconnecting;
  }
}
