/**
 * Many deadlines, one timer: a min-heap of (time, item) with a single `setTimeout` armed for the
 * earliest. Cancelled entries are dropped lazily and compacted away when they pile up, so a
 * cancelled deadline costs nothing after a while and 100,000 waits do not mean 100,000 timers.
 *
 * Runtimes hold timer delays in 32 bits: a longer delay fires at once (with a warning), so a far
 * deadline is reached by re-arming the timer at most {@linkcode MAX_TIMER_DELAY} ms ahead.
 *
 * @module
 */

import { MAX_TIMER_DELAY } from "../../connection/time_units.ts";

export { MAX_TIMER_DELAY };

/** The timer functions a queue uses (injectable for tests). */
export interface Timers {
  set(callback: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

const GLOBAL_TIMERS: Timers = {
  set: (callback, ms) => setTimeout(callback, ms),
  clear: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** A scheduled deadline; pass it to {@linkcode DeadlineQueue.cancel}. */
export interface Deadline<T> {
  readonly at: number;
  item: T | undefined;
}

/** Fires `onExpire(item)` for each item whose deadline has passed. */
export class DeadlineQueue<T> {
  readonly #onExpire: (item: T) => void;
  readonly #now: () => number;
  #heap: Deadline<T>[] = [];
  #cancelled = 0;
  readonly #timers: Timers;
  #timer: unknown;
  #timerAt = Infinity;

  /**
   * @param onExpire Called for every expired item, in deadline order.
   * @param now The clock. @default {Date.now}
   * @param timers The timer functions. @default {setTimeout and clearTimeout}
   */
  constructor(
    onExpire: (item: T) => void,
    now: () => number = Date.now,
    timers: Timers = GLOBAL_TIMERS,
  ) {
    this.#onExpire = onExpire;
    this.#now = now;
    this.#timers = timers;
  }

  /** How many live deadlines are scheduled. */
  get size(): number {
    return this.#heap.length - this.#cancelled;
  }

  /** Schedules `item` to expire at `at` (ms since the epoch; a finite number). */
  add(at: number, item: T): Deadline<T> {
    if (!Number.isFinite(at)) throw new RangeError(`A deadline must be a finite time, got ${at}`);
    const deadline: Deadline<T> = { at, item };
    this.#heap.push(deadline);
    this.#up(this.#heap.length - 1);
    if (at < this.#timerAt) this.#arm();
    return deadline;
  }

  /** Cancels a deadline. Idempotent. */
  cancel(deadline: Deadline<T> | undefined): void {
    if (!deadline || deadline.item === undefined) return;
    deadline.item = undefined;
    this.#cancelled++;
    if (this.#cancelled === this.#heap.length) this.#clear();
    else if (this.#cancelled > 1024 && this.#cancelled * 2 > this.#heap.length) this.#compact();
  }

  #expire(): void {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    const now = this.#now();
    while (this.#heap.length > 0 && this.#heap[0]!.at <= now) {
      const deadline = this.#pop();
      const item = deadline.item;
      if (item === undefined) {
        this.#cancelled--;
        continue;
      }
      // Out of the heap now: a later cancel() of it must not count it as cancelled in the heap
      // (that count once cleared the heap while a live deadline was in it).
      deadline.item = undefined;
      this.#onExpire(item);
    }
    if (this.#heap.length > 0) this.#arm();
  }

  #arm(): void {
    while (this.#heap.length > 0 && this.#heap[0]!.item === undefined) {
      this.#pop();
      this.#cancelled--;
    }
    if (this.#timer !== undefined) this.#timers.clear(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
    const first = this.#heap[0];
    if (!first) return;
    this.#timerAt = first.at;
    // A far deadline wakes up early and re-arms (#expire finds nothing due yet).
    const delay = Math.min(MAX_TIMER_DELAY, Math.max(0, first.at - this.#now()));
    this.#timer = this.#timers.set(() => this.#expire(), delay);
  }

  #clear(): void {
    this.#heap = [];
    this.#cancelled = 0;
    if (this.#timer !== undefined) this.#timers.clear(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
  }

  #compact(): void {
    this.#heap = this.#heap.filter((d) => d.item !== undefined);
    this.#cancelled = 0;
    for (let i = (this.#heap.length >> 1) - 1; i >= 0; i--) this.#down(i);
    this.#arm();
  }

  #pop(): Deadline<T> {
    const heap = this.#heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      this.#down(0);
    }
    return top;
  }

  #up(i: number): void {
    const heap = this.#heap;
    const node = heap[i]!;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent]!.at <= node.at) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = node;
  }

  #down(i: number): void {
    const heap = this.#heap;
    const node = heap[i]!;
    const n = heap.length;
    while (true) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && heap[child + 1]!.at < heap[child]!.at) child++;
      if (heap[child]!.at >= node.at) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = node;
  }
}
