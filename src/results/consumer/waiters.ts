/**
 * The part of waiting that does not depend on how results arrive: who waits for which task,
 * delivering each state change once, resolving on a ready state, and releasing on abort or
 * timeout. The pub/sub and polling consumers feed it payloads; it tells them which keys are wanted.
 *
 * Kept lean on purpose: a backend may hold 100,000 pending waits, so a wait costs one promise,
 * one small listener object and (with a timeout) one heap entry; timeouts share a single timer.
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
   * `Infinity` means no limit). @default {no limit}
   */
  timeout?: number | undefined;
  /** Called with every state the task reports (STARTED, RETRY, PROGRESS…, then the ready one). */
  onMessage?: ((meta: TaskMeta) => void) | undefined;
}

/** A consumer's waiting API, shared by the pub/sub and the polling consumer. */
export interface ResultWaiter extends AsyncDisposable {
  /** Resolves with the task's meta once it is ready (SUCCESS, FAILURE or REVOKED). */
  wait(taskId: string, options?: WaitOptions): Promise<TaskMeta>;
  /** Stops waiting for a task: pending waits reject, its subscription is released. */
  cancelFor(taskId: string): void;
  /** Stops the consumer; pending waits reject. */
  stop(): Promise<void>;
}

/** One wait. `key` is cleared once it has settled. */
interface Listener {
  key: string | undefined;
  resolve: (meta: TaskMeta) => void;
  reject: (error: unknown) => void;
  onMessage: ((meta: TaskMeta) => void) | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  deadline: Deadline<Listener> | undefined;
  /** The timeout in ms, for the TimeoutError's message. */
  timeout: number | undefined;
}

/** Everyone waiting on one task key, and the last payload delivered to them. */
interface PendingTask {
  readonly taskId: string;
  readonly listeners: Listener[];
  lastPayload: Uint8Array | null;
  lastMeta: TaskMeta | null;
}

/** Bookkeeping of pending waits, keyed by the task's meta key (= its channel). */
export class Waiters {
  readonly #backend: RedisBackend;
  readonly #pending = new Map<string, PendingTask>();
  readonly #onChange: (added: boolean) => void;
  readonly #onStateChange: ((meta: TaskMeta) => void) | undefined;
  readonly #deadlines = new DeadlineQueue<Listener>((listener) => {
    this.#settle(listener, false, this.#timeoutError(listener));
  });
  /** Keeps the process alive while anyone waits (idle connections are unref'd). */
  #keepAlive: ReturnType<typeof setInterval> | undefined;
  /**
   * The consumer's last connection error while it is reconnecting (cleared once it is back): a
   * wait that times out meanwhile carries it as its `cause`.
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
    let entry = this.#pending.get(key);
    const isNew = entry === undefined;
    if (!entry) {
      entry = { taskId, listeners: [], lastPayload: null, lastMeta: null };
      this.#pending.set(key, entry);
    }
    const pending = entry;
    return new Promise<TaskMeta>((resolve, reject) => {
      const listener: Listener = {
        key,
        resolve,
        reject,
        onMessage,
        signal,
        onAbort: undefined,
        deadline: undefined,
        timeout,
      };
      if (signal) {
        listener.onAbort = () => this.#settle(listener, false, signal.reason);
        signal.addEventListener("abort", listener.onAbort, { once: true });
      }
      if (timeout !== undefined && timeout !== Infinity) {
        listener.deadline = this.#deadlines.add(Date.now() + timeout, listener);
      }
      pending.listeners.push(listener);
      // A late joiner still sees the state the others have already been told about.
      if (pending.lastMeta) this.#notify(listener, pending.lastMeta);
      if (isNew) {
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
    if (entry.lastPayload && sameBytes(entry.lastPayload, payload)) return;
    entry.lastPayload = payload;
    let meta: TaskMeta;
    try {
      meta = this.#backend.metaFromPayload(entry.taskId, payload);
    } catch (error) {
      this.rejectKey(key, error);
      return;
    }
    entry.lastMeta = meta;
    this.#onStateChange?.(meta);
    for (const listener of [...entry.listeners]) this.#notify(listener, meta);
    if (READY_STATES.has(meta.status)) this.#settleAll(key, true, meta);
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
    this.#releaseProcess();
    for (const listener of entry.listeners) this.#finish(listener, ok, value);
    entry.listeners.length = 0;
    this.#onChange(false);
  }

  // Settles one wait and, if it was the key's last, releases the key.
  #settle(listener: Listener, ok: boolean, value: unknown): void {
    const key = listener.key;
    if (key === undefined) return;
    const entry = this.#pending.get(key);
    this.#finish(listener, ok, value);
    if (!entry) return;
    const index = entry.listeners.indexOf(listener);
    if (index !== -1) entry.listeners.splice(index, 1);
    if (entry.listeners.length === 0) {
      this.#pending.delete(key);
      this.#releaseProcess();
      this.#onChange(false);
    }
  }

  #finish(listener: Listener, ok: boolean, value: unknown): void {
    if (listener.key === undefined) return;
    listener.key = undefined;
    if (listener.onAbort) listener.signal!.removeEventListener("abort", listener.onAbort);
    this.#deadlines.cancel(listener.deadline);
    if (ok) listener.resolve(value as TaskMeta);
    else listener.reject(value);
  }

  #timeoutError(listener: Listener): TimeoutError {
    const taskId = this.#pending.get(listener.key!)?.taskId ?? "?";
    const cause = this.lastConnectionError;
    const lost = cause instanceof Error ? `; the connection is down: ${cause.message}` : "";
    return new TimeoutError(
      `The operation timed out: waited ${
        formatMs(listener.timeout ?? 0)
      } for task ${taskId}${lost}`,
      cause === undefined ? undefined : { cause },
    );
  }

  // A pending wait is a reason to stay alive even though the sockets are unref'd when idle: one
  // long, cheap interval timer does that for all of them.
  #holdProcess(): void {
    this.#keepAlive ??= setInterval(() => {}, MAX_TIMER_DELAY);
  }

  #releaseProcess(): void {
    if (this.#pending.size > 0 || this.#keepAlive === undefined) return;
    clearInterval(this.#keepAlive);
    this.#keepAlive = undefined;
  }

  #notify(listener: Listener, meta: TaskMeta): void {
    if (!listener.onMessage) return;
    try {
      listener.onMessage(meta);
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
