/**
 * `createBackend()` for edge runtimes: the same call as the main entry point's, for the URLs
 * that need no TCP socket (`https://`, `http://`). It loads neither the TCP driver nor the
 * in-memory one (a Worker that reads and waits would carry 20 KiB of a driver it never uses):
 * pass `{ driver: memoryDriver() }` for an in-memory backend at the edge.
 *
 * @module
 */
import { RedisBackend, type RedisBackendOptions } from "./redis_backend.ts";
import type { RedisDriver } from "../connection/driver.ts";
import { httpDriver, httpDriverFromUrl, type HttpUrlOptions } from "../connection/drivers/http.ts";
import { redactUrl, schemeOf } from "../connection/redact_url.ts";
import { refuseWithDriver } from "./refuse_with_driver.ts";

/** Options of the edge `createBackend()`: Celery's settings plus the HTTP driver's. */
export interface CreateEdgeBackendOptions extends RedisBackendOptions, HttpUrlOptions {
  /**
   * A ready driver to use instead of one chosen from the URL. The HTTP driver's options (`token`,
   * `env`, `streaming`, …) are refused beside it: pass them to `httpDriver()`.
   */
  driver?: RedisDriver | undefined;
}

/**
 * Creates a backend for an Upstash-compatible REST URL, without loading the TCP or in-memory
 * drivers:
 * - `https://host` or `http://host` (a local server): the HTTP driver, with `token` from the
 *   options, the URL's password, or the environment;
 * - no URL: the HTTP driver from the environment (`UPSTASH_REDIS_REST_URL`/`_TOKEN`, or
 *   `KV_REST_API_URL`/`_TOKEN`; on Cloudflare pass the Worker's bindings as `env`);
 * - `{ driver }`: that driver (`memoryDriver()` for tests and local use; `memory://` is refused
 *   here so that the in-memory driver stays out of bundles that do not import it).
 *
 * @param url The REST URL, or nothing to read the environment.
 * @param options Celery settings and HTTP driver settings (`token`, `env`, `streaming`, …;
 * `requestTimeout` in milliseconds, `resultExpires` in seconds as in Celery).
 * @returns A backend that owns its driver.
 * @throws {TypeError} for `redis://` and other schemes that need a TCP socket, for `memory://`,
 * a missing token, or HTTP driver options beside `driver`.
 *
 * @example
 * ```ts
 * import { createBackend, memoryDriver } from "../../edge.ts";
 * await using backend = createBackend(undefined, { driver: memoryDriver() });
 * await backend.markAsDone("t1", 1);
 * console.log((await backend.getTaskMeta("t1")).status); // SUCCESS
 * ```
 */
export function createEdgeBackend(
  url?: string,
  options: CreateEdgeBackendOptions = {},
): RedisBackend {
  const {
    driver,
    token,
    env,
    readRetries,
    backoff,
    requestTimeout,
    binaryWrites,
    streaming,
    ...settings
  } = options;
  const http: HttpUrlOptions = {
    token,
    env,
    readRetries,
    backoff,
    requestTimeout,
    binaryWrites,
    streaming,
  };
  if (driver) {
    refuseWithDriver(http, "httpDriver()");
    return new RedisBackend(driver, settings);
  }
  if (url === undefined) return new RedisBackend(httpDriver(http), settings);
  const scheme = schemeOf(url);
  if (scheme === "memory") {
    throw new TypeError(
      "memory:// is not a URL the edge createBackend() opens: pass { driver: memoryDriver() } " +
        "(imported from the edge entry point), so that Workers that do not use it do not bundle it",
    );
  }
  if (scheme === "https" || scheme === "http") {
    return new RedisBackend(httpDriverFromUrl(url, http), settings);
  }
  throw new TypeError(
    `Unsupported result backend URL at the edge ${redactUrl(url)}: expected https:// (an ` +
      "Upstash-compatible REST URL) or { driver }; redis:// needs TCP (import the main entry point)",
  );
}
