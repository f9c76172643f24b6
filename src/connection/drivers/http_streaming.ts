/**
 * `httpStreaming()`: the HTTP driver's streaming SUBSCRIBE, as `httpDriver({ streaming })` takes
 * it. It is a value to import rather than a flag so that a Worker that polls does not bundle the
 * streaming client (6 KiB minified).
 *
 * @module
 */
import type { Subscriber, SubscriberHandlers } from "../driver.ts";
import {
  checkStreamingOptions,
  HttpSubscriber,
  type HttpSubscriberContext,
  type HttpSubscriberOptions,
} from "./_http_subscriber.ts";

/** Streaming SUBSCRIBE for the HTTP driver, made by {@linkcode httpStreaming}. */
export interface HttpStreaming {
  /**
   * Opens a subscriber over the driver's URL, token and MGET (the driver calls this).
   * @param context The driver's URL, token and MGET.
   * @param handlers Where messages go.
   * @param onClosed Called once when the subscriber closes.
   */
  open(
    context: HttpSubscriberContext,
    handlers: SubscriberHandlers,
    onClosed: () => void,
  ): Subscriber;
}

/**
 * Waiting over the REST service's streaming SUBSCRIBE (server-sent events) instead of polling:
 * pass it as the HTTP driver's `streaming` option. The driver then has `openSubscriber()`, so
 * the backend picks its pub/sub consumer. When the stream is refused or drops, the subscriber
 * polls the subscribed keys and keeps trying to re-open it.
 *
 * @param options Polling and re-opening settings, in milliseconds.
 * @returns The setting for `httpDriver({ streaming })` or the edge `createBackend()`.
 * @throws {RangeError} when a delay cannot be kept by a timer, or `maxPathLength` is not a
 * positive integer.
 *
 * @example
 * ```ts ignore
 * import { AsyncResult, createBackend, httpStreaming } from "@taskmeta/celery-redis/edge";
 * await using backend = createBackend("https://eu1-x.upstash.io", {
 *   token: "…",
 *   streaming: httpStreaming(),
 * });
 * console.log(await new AsyncResult("d9a5c1b4-…", backend).get({ timeout: 10_000 }));
 * ```
 */
export function httpStreaming(options: HttpSubscriberOptions = {}): HttpStreaming {
  // Copied before the check, so that what was checked is what the subscribers use.
  const settings = { ...options };
  checkStreamingOptions(settings);
  return {
    open: (context, handlers, onClosed) =>
      new HttpSubscriber(context, handlers, settings, onClosed),
  };
}
