/**
 * The part of waiting that does not depend on how results arrive: who waits for which task,
 * delivering each state change once, resolving on a ready state, and releasing on abort or
 * timeout. The pub/sub and polling consumers feed it payloads; it tells them which keys are wanted.
 *
 * Kept lean on purpose: a backend may hold 100,000 pending waits, so a wait costs one promise,
 * one four-field listener (its signal, timeout and callback in a side object only when given),
 * and (with a timeout) one heap entry; timeouts share a single timer. A task's only listener is
 * held directly, not in an array (an array that grew by a push reserves 16 slots).
 *
 * @module
 */
import type { RedisBackend } from "../../backend/redis_backend.ts";
import { CeleryBackendError, TimeoutError } from "../../errors.ts";
import type { TaskMeta } from "../../wire/meta.ts";
import { READY_STATES } from "../../wire/states.ts";
import { type Deadline, DeadlineQueue, MAX_TIMER_DELAY } from "./deadline_queue.ts";

/** Options for waiting on one task. */
export interface WaitOptions {
  /** Aborts the wait (rejecting with the signal's reason) and releases its subscription. */
  signal?: AbortSignal | undefined;
  /**
   * Rejects with `TimeoutError` after this many milliseconds (up to `Number.MAX_SAFE_INTEGER`;
   * `Infinity` means no limit), but not before the consumer has read the task's state once: a
   * deadline that passes first is decided by that read (or times out if reading fails).
   * @default {no limit}
   */
  timeout?: number | undefined;
  /** Called with every state the task reports (STARTED, RETRY, PROGRESS…, then the ready one). */
  onMessage?: ((meta: TaskMeta) => void) | undefined;
}

/**
 * Turns a wait's ready meta into what its promise settles with (a throw rejects it). One function
 * serves every wait of a kind and `target` is each wait's own, so a wait that settles with a value
 * derived from the meta (`AsyncResult.get()`: the result, or the task's error) costs two fields
 * rather than a `then` per wait (its closure, reaction and derived promise: ~290 B each).
 */
export type ReadyMapper<T> = (target: T, meta: TaskMeta) => unknown;

/** A consumer's waiting API, shared by the pub/sub and the polling consumer. */
export interface ResultWaiter extends AsyncDisposable {
  /** Resolves with the task's meta once it is ready (SUCCESS, FAILURE or REVOKED). */
  wait(taskId: string, options?: WaitOptions): Promise<TaskMeta>;
  /**
   * Waits as {@linkcode ResultWaiter.wait} does, then settles with `ready(target, meta)` (or
   * rejects with what it throws) instead of the meta.
   */
  waitThen<T>(
    taskId: string,
    options: WaitOptions,
    ready: ReadyMapper<T>,
    target: T,
  ): Promise<unknown>;
  /** Stops waiting for a task: pending waits reject, its subscription is released. */
  cancelFor(taskId: string): void;
  /** Stops the consumer; pending waits reject. */
  stop(): Promise<void>;
}

/** One wait. `key` is cleared once it has settled. */
interface Listener {
  key: string | undefined;
  /**
   * The promise's resolve function; a wait is rejected by resolving it with a rejected promise,
   * so the reject function is not kept (one function object less per wait).
   */
  resolve: (outcome: unknown) => void;
  /** What only some waits have (most have none of it). */
  extra: ListenerExtra | undefined;
  /** What the promise settles with on a ready meta (the meta itself when `undefined`). */
  ready: ReadyMapper<unknown> | undefined;
  target: unknown;
}

/** A wait's options that need bookkeeping. */
interface ListenerExtra {
  readonly onMessage: ((meta: TaskMeta) => void) | undefined;
  readonly signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  deadline: Deadline<Listener> | undefined;
  /** The timeout in ms, for the TimeoutError's message. */
  readonly timeout: number | undefined;
}

/** Everyone waiting on one task key, and the last payload delivered to them. */
interface PendingTask {
  readonly taskId: string;
  /** The only listener, or several in the order they came (or none, briefly). */
  listeners: Listener | Listener[];
  /** The last state delivered (one field, set once a state arrives: most waits see only one). */
  last: { readonly payload: Uint8Array; readonly meta: TaskMeta } | null;
}

/** The listeners of a task as an array (a copy when several, so they may be removed meanwhile). */
function listenersOf(entry: PendingTask): Listener[] {
  const listeners = entry.listeners;
  return Array.isArray(listeners) ? [...listeners] : [listeners];
}

function addListener(entry: PendingTask, listener: Listener): void {
  const listeners = entry.listeners;
  if (Array.isArray(listeners)) {
    if (listeners.length === 0) entry.listeners = listener;
    else listeners.push(listener);
  } else {
    entry.listeners = [listeners, listener];
  }
}

/** Removes a listener; returns whether any remain. */
function removeListener(entry: PendingTask, listener: Listener): boolean {
  const listeners = entry.listeners;
  if (!Array.isArray(listeners)) {
    if (listeners !== listener) return true;
    entry.listeners = NO_LISTENERS;
    return false;
  }
  const index = listeners.indexOf(listener);
  if (index !== -1) listeners.splice(index, 1);
  return listeners.length > 0;
}

/** Shared by entries that lost their listeners (never written to: addListener replaces it). */
const NO_LISTENERS: Listener[] = [];

/** What a settled wait's promise is resolved with: the mapped result, or a rejection. */
function outcomeOf(listener: Listener, ok: boolean, value: unknown): unknown {
  if (!ok) return Promise.reject(value);
  const ready = listener.ready;
  if (ready === undefined) return value;
  const target = listener.target;
  listener.target = undefined;
  try {
    return ready(target, value as TaskMeta);
  } catch (error) {
    return Promise.reject(error);
  }
}

/** Bookkeeping of pending waits, keyed by the task's meta key (= its channel). */
export class Waiters {
  readonly #backend: RedisBackend;
  readonly #pending = new Map<string, PendingTask>();
  readonly #onChange: (added: boolean) => void;
  readonly #onStateChange: ((meta: TaskMeta) => void) | undefined;
  readonly #deadlines = new DeadlineQueue<Listener>((listener) => this.#onDeadline(listener));
  /**
   * Keys waited on that the consumer has not read yet (messages do not count). A set rather than
   * a flag on each entry: it empties as soon as the first read is back, so 100,000 pending waits
   * cost nothing more once read (a field would cost 8 bytes each on Deno).
   */
  readonly #unread = new Set<string>();
  /** Waits whose deadline passed before their key was read: that read decides them. */
  readonly #unreadAtDeadline = new Set<Listener>();
  /** Keeps the process alive while anyone waits (idle connections are unref'd). */
  #keepAlive: ReturnType<typeof setInterval> | undefined;
  #releaseQueued = false;
  /** Deadlines of settled waits, cancelled with the next deferred release. */
  #staleDeadlines: Deadline<Listener>[] = [];
  /**
   * The consumer's last connection error while it is reconnecting (cleared once it is back): a
   * wait that times out meanwhile carries it as its `cause`. Consumers set it through
   * {@linkcode Waiters.readFailed} and clear it by assigning `undefined`.
   */
  lastConnectionError: unknown;

  /**
   * @param backend Decodes payloads and builds keys.
   * @param onChange Called when the set of wanted keys changes (to (un)subscribe or poll), with
   * `true` when a key was added.
   * @param onStateChange Called with every delivered meta, for every task.
   */
  constructor(
    backend: RedisBackend,
    onChange: (added: boolean) => void,
    onStateChange?: (meta: TaskMeta) => void,
  ) {
    this.#backend = backend;
    this.#onChange = onChange;
    this.#onStateChange = onStateChange;
  }

  /** The keys someone is waiting on. */
  keys(): string[] {
    return [...this.#pending.keys()];
  }

  /** Whether anyone waits on the key. */
  has(key: string): boolean {
    return this.#pending.has(key);
  }

  /** How many tasks are being waited on. */
  get size(): number {
    return this.#pending.size;
  }

  /** Registers a wait; the promise settles when the task is ready, fails, or the wait ends. */
  add(taskId: string, options: WaitOptions = {}): Promise<TaskMeta> {
    return this.addThen(taskId, options, undefined, undefined) as Promise<TaskMeta>;
  }

  /** Registers a wait that settles with `ready(target, meta)` (see {@linkcode ReadyMapper}). */
  addThen<T>(
    taskId: string,
    options: WaitOptions,
    ready: ReadyMapper<T> | undefined,
    target: T,
  ): Promise<unknown> {
    const { signal, onMessage, timeout } = options;
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (timeout !== undefined && typeof timeout !== "number") {
      return Promise.reject(
        new TypeError(`timeout must be a number of milliseconds, got ${typeof timeout}`),
      );
    }
    if (timeout !== undefined && !(timeout >= 0)) {
      return Promise.reject(
        new RangeError(`timeout must be a non-negative number of milliseconds, got ${timeout}`),
      );
    }
    const key = this.#backend.keys.task(taskId);
    const entry = this.#pending.get(key);
    const needsExtra = signal !== undefined || onMessage !== undefined ||
      (timeout !== undefined && timeout !== Infinity);
    return new Promise<unknown>((resolve) => {
      const listener: Listener = {
        key,
        resolve,
        extra: undefined,
        ready: ready as ReadyMapper<unknown> | undefined,
        target,
      };
      if (needsExtra) {
        const extra: ListenerExtra = {
          onMessage,
          signal,
          onAbort: undefined,
          deadline: undefined,
          timeout,
        };
        listener.extra = extra;
        if (signal) {
          extra.onAbort = () => this.#settle(listener, false, signal.reason);
          signal.addEventListener("abort", extra.onAbort, { once: true });
        }
        if (timeout !== undefined && timeout !== Infinity) {
          extra.deadline = this.#deadlines.add(Date.now() + timeout, listener);
        }
      }
      if (entry === undefined) {
        this.#pending.set(key, { taskId, listeners: listener, last: null });
        this.#unread.add(key);
      } else {
        addListener(entry, listener);
        // A late joiner still sees the state the others have already been told about.
        if (entry.last) this.#notify(listener, entry.last.meta);
      }
      if (entry === undefined) {
        this.#holdProcess();
        this.#onChange(true);
      }
    });
  }

  /**
   * Delivers a stored or published payload for a key: every listener hears each distinct state
   * once; a ready state resolves them all and releases the key. A payload that cannot be decoded
   * rejects the key's waiters (rather than leaving them hanging).
   */
  deliver(key: string, payload: Uint8Array | null): void {
    const entry = this.#pending.get(key);
    if (!entry || payload === null || payload.length === 0) return;
    if (entry.last && sameBytes(entry.last.payload, payload)) return;
    let meta: TaskMeta;
    try {
      meta = this.#backend.metaFromPayload(entry.taskId, payload);
    } catch (error) {
      this.rejectKey(key, error);
      return;
    }
    entry.last = { payload, meta };
    this.#onStateChange?.(meta);
    for (const listener of listenersOf(entry)) this.#notify(listener, meta);
    if (READY_STATES.has(meta.status)) this.#settleAll(key, true, meta);
  }

  /**
   * Delivers what the consumer read for a key (its GET or MGET, as opposed to a published
   * message), `null` when the key holds nothing. The first read after a key is waited on decides
   * the waits whose deadline has already passed: a ready state resolves them with the rest,
   * anything else times them out.
   */
  deliverRead(key: string, payload: Uint8Array | null): void {
    const entry = this.#pending.get(key);
    if (!entry) return;
    const first = this.#unread.delete(key);
    this.deliver(key, payload);
    if (!first || this.#unreadAtDeadline.size === 0 || this.#pending.get(key) !== entry) return;
    for (const listener of listenersOf(entry)) {
      if (this.#unreadAtDeadline.has(listener)) {
        this.#settle(listener, false, this.#timeoutError(listener));
      }
    }
  }

  /**
   * Records that reading failed with a connection error (the consumer retries): waits whose
   * deadline passed before their key could be read time out now, carrying the error as `cause`.
   */
  readFailed(error: unknown): void {
    this.lastConnectionError = error;
    for (const listener of [...this.#unreadAtDeadline]) {
      this.#settle(listener, false, this.#timeoutError(listener));
    }
  }

  /** Rejects everyone waiting on a key and releases it. */
  rejectKey(key: string, error: unknown): void {
    this.#settleAll(key, false, error);
  }

  /** Rejects every pending wait. */
  rejectAll(error: unknown): void {
    for (const key of this.keys()) this.#settleAll(key, false, error);
  }

  /** Stops waiting on a task (Celery's `cancel_for`, and what `forget()` does to waiters). */
  cancel(taskId: string, reason: string): void {
    this.rejectKey(
      this.#backend.keys.task(taskId),
      new CeleryBackendError(`Stopped waiting for task ${taskId}: ${reason}`),
    );
  }

  #settleAll(key: string, ok: boolean, value: unknown): void {
    const entry = this.#pending.get(key);
    if (!entry) return;
    this.#pending.delete(key);
    this.#unread.delete(key);
    const listeners = entry.listeners;
    entry.listeners = NO_LISTENERS;
    if (Array.isArray(listeners)) {
      for (const listener of listeners) this.#finish(listener, ok, value);
    } else {
      this.#finish(listeners, ok, value);
    }
    this.#released();
  }

  // Settles one wait and, if it was the key's last, releases the key.
  #settle(listener: Listener, ok: boolean, value: unknown): void {
    const key = listener.key;
    if (key === undefined) return;
    const entry = this.#pending.get(key);
    this.#finish(listener, ok, value);
    if (!entry) return;
    if (!removeListener(entry, listener)) {
      this.#pending.delete(key);
      this.#unread.delete(key);
      this.#released();
    }
  }

  // As Celery, whose get() reads the task's state once before its clock starts: a wait does not
  // time out before its key has been read, so a task already ready is returned whatever the
  // timeout. A read cannot come while the connection is down: the wait times out then.
  #onDeadline(listener: Listener): void {
    const key = listener.key;
    if (key !== undefined && this.#unread.has(key) && this.lastConnectionError === undefined) {
      this.#unreadAtDeadline.add(listener);
      return;
    }
    this.#settle(listener, false, this.#timeoutError(listener));
  }

  #finish(listener: Listener, ok: boolean, value: unknown): void {
    if (listener.key === undefined) return;
    if (this.#unreadAtDeadline.size > 0) this.#unreadAtDeadline.delete(listener);
    listener.key = undefined;
    const extra = listener.extra;
    if (extra?.onAbort) extra.signal!.removeEventListener("abort", extra.onAbort);
    listener.resolve(outcomeOf(listener, ok, value));
    // Cancelling the deadline waits for the deferred release, queued only now: after the
    // reaction of the promise just resolved, so the waiter hears its result before the release
    // arms its timer. A deadline that fires meanwhile finds its listener settled (no key).
    if (extra?.deadline !== undefined) {
      this.#staleDeadlines.push(extra.deadline);
      this.#released();
    }
  }

  #timeoutError(listener: Listener): TimeoutError {
    const taskId = this.#pending.get(listener.key!)?.taskId ?? "?";
    const cause = this.lastConnectionError;
    const lost = cause instanceof Error ? `; the connection is down: ${cause.message}` : "";
    return new TimeoutError(
      `The operation timed out: waited ${
        formatMs(listener.extra?.timeout ?? 0)
      } for task ${taskId}${lost}`,
      cause === undefined ? undefined : { cause },
    );
  }

  // A pending wait is a reason to stay alive even though the sockets are unref'd when idle: one
  // long, cheap interval timer does that for all of them.
  #holdProcess(): void {
    this.#keepAlive ??= setInterval(() => {}, MAX_TIMER_DELAY);
  }

  /**
   * A key was released or a deadline is stale: UNSUBSCRIBE (or the end of polling), cancelling
   * deadlines and dropping the keep-alive timer wait for the next macrotask, so their socket write
   * and timer calls do not delay the promise reactions of the waits just settled (on Deno they
   * added ~40 µs to a result's latency).
   */
  #released(): void {
    if (this.#releaseQueued) return;
    this.#releaseQueued = true;
    // Armed from a microtask, queued after the reactions of the promises just settled: arming a
    // timer costs 3–5 µs on Deno, which would otherwise come before the waiter hears its result.
    queueMicrotask(() => setTimeout(this.#release, 0));
  }

  readonly #release = (): void => {
    this.#releaseQueued = false;
    const stale = this.#staleDeadlines;
    this.#staleDeadlines = [];
    for (const deadline of stale) this.#deadlines.cancel(deadline);
    this.#releaseProcess();
    this.#onChange(false);
  };

  #releaseProcess(): void {
    if (this.#pending.size > 0 || this.#keepAlive === undefined) return;
    clearInterval(this.#keepAlive);
    this.#keepAlive = undefined;
  }

  #notify(listener: Listener, meta: TaskMeta): void {
    const onMessage = listener.extra?.onMessage;
    if (!onMessage) return;
    try {
      onMessage(meta);
    } catch (error) {
      this.#settle(listener, false, error);
    }
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function formatMs(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Number((ms / 1000).toFixed(3))} s`;
}
