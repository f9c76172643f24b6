/**
 * The one sentence every refused timeout repeats, because the units differ by where a value is
 * written: the TypeScript API counts milliseconds, while the URL's query and Celery's settings
 * count seconds, as Celery does. And the longest delay a runtime timer holds, which bounds them all.
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
