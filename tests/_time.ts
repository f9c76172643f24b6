// Waiting in tests: for a condition with a deadline (`until`), never for a guessed duration; and
// the fixed clock that makes stored `date_done` values exact.

/** Resolves after `ms` milliseconds: a polling interval or a pause the test needs, never a wait. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Waits until `condition` holds, checking every `everyMs`; fails naming `what` after `withinMs`.
 * The deadline only bounds a broken run: a passing test never reaches it.
 */
export async function until(
  what: string,
  condition: () => boolean | Promise<boolean>,
  withinMs = 10_000,
  everyMs = 5,
): Promise<void> {
  const start = Date.now();
  while (!(await condition())) {
    if (Date.now() - start > withinMs) throw new Error(`Timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

/**
 * The promise's outcome, or a failure naming `what` if it has not settled after `withinMs`: a
 * test of a wait that might never end fails with a reason instead of hanging.
 */
export async function settled<T>(what: string, promise: Promise<T>, withinMs = 10_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stuck = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} never settled`)), withinMs);
  });
  try {
    return await Promise.race([promise, stuck]);
  } finally {
    clearTimeout(timer);
  }
}

/** The instant the fixed clock reads: 2026-11-24 11:38:23.027 UTC. */
export const FIXED_INSTANT: Date = new Date(Date.UTC(2026, 10, 24, 11, 38, 23, 27));

/** A backend's `now` option that always reads {@linkcode FIXED_INSTANT}. */
export const fixedClock = (): Date => new Date(FIXED_INSTANT);

/**
 * A clock and timers that move only when the test says so: `advance(ms)` runs every timer that
 * falls due, in time order, with the clock set to each one's time. For code that takes a `now`
 * function and `{ set, clear }` timers.
 */
export class ManualClock {
  #now: number;
  #nextId = 1;
  readonly #timers = new Map<number, { at: number; callback: () => void }>();

  constructor(start = 1_000) {
    this.#now = start;
  }

  /** The current time, in ms. */
  readonly now = (): number => this.#now;

  /** `setTimeout`/`clearTimeout` on this clock. */
  readonly timers = {
    set: (callback: () => void, ms: number): number => {
      const id = this.#nextId++;
      this.#timers.set(id, { at: this.#now + Math.max(0, ms), callback });
      return id;
    },
    clear: (handle: unknown): void => {
      this.#timers.delete(handle as number);
    },
  };

  /** How many timers are set and not yet fired or cleared. */
  get pendingTimers(): number {
    return this.#timers.size;
  }

  /** Moves the clock `ms` forward, firing the timers due on the way. */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      let due: [number, { at: number; callback: () => void }] | undefined;
      for (const entry of this.#timers) {
        if (entry[1].at <= end && (!due || entry[1].at < due[1].at)) due = entry;
      }
      if (!due) break;
      this.#timers.delete(due[0]);
      this.#now = due[1].at;
      due[1].callback();
    }
    this.#now = end;
  }
}
