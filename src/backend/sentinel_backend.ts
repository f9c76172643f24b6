/**
 * `SentinelBackend`: Celery's Redis result backend behind Redis Sentinel.
 *
 * @module
 */
import { RedisBackend, type RedisBackendOptions } from "./redis_backend.ts";
import type { RedisDriver } from "../connection/driver.ts";
import { asUri } from "../connection/url.ts";

/** Options of {@linkcode SentinelBackend}: Celery's settings and the URL it was made from. */
export interface SentinelBackendOptions extends RedisBackendOptions {
  /** The `sentinel://` URL, for {@linkcode SentinelBackend.asUri}. @default {undefined} */
  url?: string | undefined;
}

/**
 * Celery's `SentinelBackend`: the same keys, values and commands as {@linkcode RedisBackend},
 * over a driver that finds the master through Redis Sentinel and follows failovers (commands and
 * the result subscription alike). Usually made by `createBackend("sentinel://…", { masterName })`.
 *
 * @example
 * ```ts ignore
 * import { createBackend, SentinelBackend } from "@taskmeta/celery-redis";
 * const backend = createBackend("sentinel://:pw@s1:26379/1;sentinel://s2:26379/1", {
 *   masterName: "mymaster",
 * });
 * console.log(backend instanceof SentinelBackend); // true
 * console.log((backend as SentinelBackend).asUri()); // sentinel://:**@s1:26379/1;sentinel://s2:26379/1
 * ```
 */
export class SentinelBackend extends RedisBackend {
  // Private: the URL holds the passwords, and a public field would be printed with the backend.
  readonly #url: string | undefined;

  /**
   * Creates a backend over a Sentinel driver (see `sentinelDriver()`).
   * @param driver The driver (the backend closes it on `close()`).
   * @param options Celery settings and the URL.
   */
  constructor(driver: RedisDriver, options: SentinelBackendOptions = {}) {
    const { url, ...settings } = options;
    super(driver, settings);
    this.#url = url;
  }

  /**
   * Celery's `as_uri()`: the URL with each sentinel's password masked (`**`), or as given.
   * @param includePassword Keep passwords and the query string.
   * @returns The URL, or `sentinel://` when the backend was not made from one.
   */
  asUri(includePassword = false): string {
    return this.#url === undefined ? "sentinel://" : asUri(this.#url, includePassword);
  }
}
