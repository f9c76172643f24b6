/**
 * The one sentence every refused timeout repeats, because the units differ by where a value is
 * written: the TypeScript API counts milliseconds, while the URL's query and Celery's settings
 * count seconds, as Celery does.
 *
 * @module
 */

/** Appended to the message of a refused timeout or interval. */
export const TIME_UNITS_HINT = "(TypeScript options take milliseconds, e.g. 30_000; the URL's " +
  "query and the Celery settings, such as socket_timeout or redis_socket_timeout, take seconds)";
