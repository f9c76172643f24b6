/**
 * The part of waiting that does not depend on how results arrive: who waits for which task,
 * delivering each state change once, resolving on a ready state, and releasing on abort.
 * The pub/sub and polling consumers feed it payloads; it tells them which keys are wanted.
 *
 * @module
 */
import type { RedisBackend } from "../backend.ts";
import { CeleryBackendError } from "../errors.ts";
import type { TaskMeta } from "../meta.ts";
import { READY_STATES } from "../states.ts";

/** Options for waiting on one task. */
export interface WaitOptions {
  /** Aborts the wait (rejecting with the signal's reason) and releases its subscription. */
  signal?: AbortSignal | undefined;
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

interface Listener {
  resolve(meta: TaskMeta): void;
  reject(error: unknown): void;
  onMessage: ((meta: TaskMeta) => void) | undefined;
}

/** Everyone waiting on one task key, and the last payload delivered to them. */
export interface PendingTask {
  readonly taskId: string;
  readonly listeners: Set<Listener>;
  lastPayload: Uint8Array | null;
  lastMeta: TaskMeta | null;
}

/** Bookkeeping of pending waits, keyed by the task's meta key (= its channel). */
export class Waiters {
  readonly #backend: RedisBackend;
  readonly #pending = new Map<string, PendingTask>();
  readonly #onChange: (added: boolean) => void;
  readonly #onStateChange: ((meta: TaskMeta) => void) | undefined;

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

  /** Registers a wait; the promise settles when the task is ready, fails, or the wait aborts. */
  add(taskId: string, options: WaitOptions = {}): Promise<TaskMeta> {
    const { signal, onMessage } = options;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const key = this.#backend.keys.task(taskId);
    let entry = this.#pending.get(key);
    const isNew = entry === undefined;
    if (!entry) {
      entry = { taskId, listeners: new Set(), lastPayload: null, lastMeta: null };
      this.#pending.set(key, entry);
    }
    const pending = entry;
    return new Promise<TaskMeta>((resolve, reject) => {
      const listener: Listener = { resolve, reject, onMessage };
      if (signal) {
        const onAbort = () => {
          this.#remove(key, pending, listener);
          reject(signal.reason);
        };
        signal.addEventListener("abort", onAbort, { once: true });
        listener.resolve = (meta) => {
          signal.removeEventListener("abort", onAbort);
          resolve(meta);
        };
        listener.reject = (error) => {
          signal.removeEventListener("abort", onAbort);
          reject(error);
        };
      }
      pending.listeners.add(listener);
      // A late joiner still sees the state the others have already been told about.
      if (pending.lastMeta) this.#notify(listener, pending.lastMeta);
      if (isNew) this.#onChange(true);
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
    for (const listener of entry.listeners) this.#notify(listener, meta);
    if (READY_STATES.has(meta.status)) {
      this.#pending.delete(key);
      for (const listener of entry.listeners) listener.resolve(meta);
      this.#onChange(false);
    }
  }

  /** Rejects everyone waiting on a key and releases it. */
  rejectKey(key: string, error: unknown): void {
    const entry = this.#pending.get(key);
    if (!entry) return;
    this.#pending.delete(key);
    for (const listener of entry.listeners) listener.reject(error);
    this.#onChange(false);
  }

  /** Rejects every pending wait. */
  rejectAll(error: unknown): void {
    const keys = this.keys();
    for (const key of keys) {
      const entry = this.#pending.get(key)!;
      this.#pending.delete(key);
      for (const listener of entry.listeners) listener.reject(error);
    }
    if (keys.length > 0) this.#onChange(false);
  }

  /** Stops waiting on a task (Celery's `cancel_for`, and what `forget()` does to waiters). */
  cancel(taskId: string, reason: string): void {
    this.rejectKey(
      this.#backend.keys.task(taskId),
      new CeleryBackendError(`Stopped waiting for task ${taskId}: ${reason}`),
    );
  }

  #remove(key: string, entry: PendingTask, listener: Listener): void {
    entry.listeners.delete(listener);
    if (entry.listeners.size === 0 && this.#pending.get(key) === entry) {
      this.#pending.delete(key);
      this.#onChange(false);
    }
  }

  #notify(listener: Listener, meta: TaskMeta): void {
    if (!listener.onMessage) return;
    try {
      listener.onMessage(meta);
    } catch (error) {
      listener.reject(error);
    }
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
