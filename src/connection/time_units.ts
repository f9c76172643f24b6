/**
 * The one sentence every refused timeout repeats, because the units differ by where a value is
 * written: the TypeScript API counts milliseconds, while the URL's query and Celery's settings
 * count seconds, as Celery does; and the longest delay a runtime timer holds, which bounds every
 * timeout and interval.
 *
 * @module
 */

/** Appended to the message of a refused timeout or interval. */
export const TIME_UNITS_HINT = "(TypeScript options take milliseconds, e.g. 30_000; the URL's " +
  "query and the Celery settings, such as socket_timeout or redis_socket_timeout, take seconds)";

/**
 * The longest delay a runtime timer holds (2^31-1 ms, about 24.8 days): Node and Deno fire a
 * longer `setTimeout` or `AbortSignal.timeout` at once.
 */
export const MAX_TIMER_DELAY = 2 ** 31 - 1;

/**
 * Refuses a delay in milliseconds that no timer can keep: not a finite number, zero or less (less
 * than zero with `zeroAllowed`), or past {@linkcode MAX_TIMER_DELAY}.
 * @throws {RangeError} naming the option and the units.
 */
export function checkDelay(name: string, ms: number | undefined, zeroAllowed = false): void {
  if (ms === undefined) return;
  if (
    typeof ms !== "number" || !Number.isFinite(ms) || (zeroAllowed ? ms < 0 : ms <= 0) ||
    ms > MAX_TIMER_DELAY
  ) {
    const kind = zeroAllowed ? "non-negative" : "positive";
    throw new RangeError(
      `${name} must be a ${kind} number of milliseconds, at most ${MAX_TIMER_DELAY} ` +
        `(about 24.8 days), got ${String(ms)} ${TIME_UNITS_HINT}`,
    );
  }
}
