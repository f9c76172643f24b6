/**
 * `createBackend()`: a {@linkcode RedisBackend} from a Celery `result_backend` URL.
 *
 * @module
 */
import { RedisBackend, type RedisBackendOptions } from "./backend.ts";
import type { RedisDriver } from "./driver.ts";
import { memoryDriver } from "./drivers/memory.ts";
import { tcpDriver, type TcpDriverOptions } from "./drivers/tcp.ts";
import { maskUrl, parseRedisUrl, schemeOf } from "./url.ts";

/** Options of {@linkcode createBackend}: Celery's settings plus connection settings. */
export interface CreateBackendOptions extends RedisBackendOptions {
  /** A ready driver to use instead of one chosen from the URL. */
  driver?: RedisDriver | undefined;
  /**
   * Connection settings that override what the URL says (timeouts in milliseconds).
   * @default {{}}
   */
  connection?: Partial<TcpDriverOptions> | undefined;
}

/** Celery's default `redis_socket_timeout` (120 s), applied when the URL sets none. */
const DEFAULT_SOCKET_TIMEOUT_MS = 120_000;

/**
 * Creates a backend for a Celery result backend URL:
 * - `memory://` (or no URL): the embedded in-memory driver;
 * - `redis://[[user]:password@]host[:port][/db][?socket_timeout=…]`: the TCP driver;
 * - `redis+socket:///path/to/redis.sock?virtual_host=<db>`: the TCP driver over a Unix socket.
 *
 * Connections open lazily, on the first command.
 *
 * @param url The backend URL, as in Celery's `result_backend` setting.
 * @param options Celery settings (see {@linkcode RedisBackendOptions}) and connection overrides.
 * @returns A backend that owns its driver: closing the backend closes it.
 * @throws {TypeError} for a malformed URL or an unsupported scheme (the message hides passwords).
 *
 * @example In-memory, for tests and local use
 * ```ts
 * import { createBackend } from "../mod.ts";
 * await using backend = createBackend("memory://");
 * await backend.markAsDone("t1", 3);
 * console.log((await backend.getTaskMeta("t1")).result); // 3
 * ```
 */
export function createBackend(url?: string, options: CreateBackendOptions = {}): RedisBackend {
  const { driver, connection, ...settings } = options;
  if (driver) return new RedisBackend(driver, settings);
  return new RedisBackend(driverForUrl(url ?? "memory://", connection ?? {}), settings);
}

function driverForUrl(url: string, overrides: Partial<TcpDriverOptions>): RedisDriver {
  if (typeof url !== "string") throw new TypeError("The backend URL must be a string");
  const scheme = schemeOf(url);
  switch (scheme) {
    case "memory":
      return memoryDriver();
    case "redis":
    case "redis+socket":
    case "socket": {
      const params = parseRedisUrl(url);
      const options: TcpDriverOptions = { db: params.db };
      if (params.path !== undefined) options.path = params.path;
      else {
        options.host = params.host;
        options.port = params.port;
      }
      if (params.username !== undefined) options.username = params.username;
      if (params.password !== undefined) options.password = params.password;
      options.socketTimeout = params.socketTimeout !== undefined
        ? params.socketTimeout * 1000
        : DEFAULT_SOCKET_TIMEOUT_MS;
      if (params.socketConnectTimeout !== undefined) {
        options.connectTimeout = params.socketConnectTimeout * 1000;
      }
      return tcpDriver({ ...options, ...overrides });
    }
    case "rediss":
    case "sentinel":
      throw new TypeError(
        `${scheme}:// backends (TLS, Sentinel) are not supported yet: ${maskUrl(url)}`,
      );
    default:
      throw new TypeError(
        `Unsupported result backend URL ${maskUrl(url)}: expected memory://, redis:// or ` +
          "redis+socket://",
      );
  }
}
