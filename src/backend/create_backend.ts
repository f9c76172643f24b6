/**
 * `createBackend()`: a {@linkcode RedisBackend} from a Celery `result_backend` URL and Celery's
 * settings and transport options.
 *
 * @module
 */
import { serializerFactory } from "../wire/create_serializer.ts";
import { httpDriverFromUrl, type HttpUrlOptions } from "../connection/drivers/http.ts";
import { RedisBackend, type RedisBackendOptions } from "./redis_backend.ts";
import type { RedisDriver } from "../connection/driver.ts";
import { memoryDriver } from "../connection/drivers/memory.ts";
import { retryingDriver } from "../connection/drivers/retrying.ts";
import { sentinelDriver, type SentinelKwargs } from "../connection/drivers/sentinel.ts";
import {
  type CelerySocketSettings,
  tcpDriver,
  type TcpDriverOptions,
  tcpOptionsFromCelery,
} from "../connection/drivers/tcp.ts";
import type { RetryPolicy } from "../connection/retry.ts";
import { SentinelBackend } from "./sentinel_backend.ts";
import { refuseWithDriver } from "./refuse_with_driver.ts";
import {
  maskUrl,
  parseRedisUrl,
  type RedisBackendSslOptions,
  schemeOf,
} from "../connection/url.ts";

/**
 * Celery's connection settings and `result_backend_transport_options`, in camelCase. Times are in
 * seconds, as Celery configures them; the URL's query parameters override them, as in Celery.
 */
export interface RedisConnectionOptions extends CelerySocketSettings {
  /**
   * `result_backend_transport_options['master_name']`: the Sentinel service. Required for
   * `sentinel://` URLs.
   * @default {undefined}
   */
  masterName?: string | undefined;
  /**
   * `result_backend_transport_options['sentinel_kwargs']`: credentials (and TLS, timeouts in ms)
   * for the sentinels themselves.
   * @default {{}}
   */
  sentinelKwargs?: SentinelKwargs | undefined;
  /** `result_backend_transport_options['min_other_sentinels']`. @default {0} */
  minOtherSentinels?: number | undefined;
  /**
   * Sentinel only: `WAIT` for the healthy replicas after every write so that a failover cannot
   * lose an acknowledged result (see `sentinelDriver()`); `false` sends exactly Celery's commands.
   * @default {true}
   */
  confirmWrites?: boolean | undefined;
  /**
   * `result_backend_transport_options['retry_policy']`: how connection errors are retried;
   * `false` turns retries off (every connection error reaches the caller).
   * @default {Celery's: 20 retries, sleeping 0 s then 1 s}
   */
  retryPolicy?: RetryPolicy | false | undefined;
  /**
   * Celery's `result_backend_always_retry`: retry reads and every other command safe to resend,
   * not only result writes (Celery's `ensure()` scope).
   * @default {false}
   */
  alwaysRetry?: boolean | undefined;
  /** Called before each retry (Celery logs `Connection to Redis lost: Retry …`). @default {undefined} */
  onConnectionError?:
    | ((error: Error, retry: number, sleepMs: number) => void)
    | undefined;
  /**
   * Celery's `redis_backend_use_ssl`: TLS settings (`sslCertReqs` required). As in Celery 5.2 to
   * 5.6.3, only with `rediss://` or `sentinel://` URLs.
   * @default {undefined}
   */
  redisBackendUseSsl?: RedisBackendSslOptions | undefined;
}

/** Options of {@linkcode createBackend}: Celery's settings plus connection settings. */
export interface CreateBackendOptions extends RedisBackendOptions, RedisConnectionOptions {
  /**
   * A ready driver to use instead of one chosen from the URL. `connection`, `token` and `http`
   * configure the driver made from the URL, so they are refused beside it (pass them to
   * `tcpDriver()` or `httpDriver()`); Celery's connection settings apply to `redis://`,
   * `rediss://` and `sentinel://` URLs only, as in Celery. @default {undefined}
   */
  driver?: RedisDriver | undefined;
  /**
   * TCP driver settings that override what the URL and settings say (timeouts in milliseconds;
   * `tls` takes PEM text as well as files).
   * @default {{}}
   */
  connection?: Partial<TcpDriverOptions> | undefined;
  /** The REST token for `https://` URLs (else the URL's password, else the environment). */
  token?: string | undefined;
  /** HTTP driver settings for `https://` URLs (e.g. `streaming: httpStreaming()`). @default {{}} */
  http?: Omit<HttpUrlOptions, "token"> | undefined;
}

/**
 * Creates a backend for a Celery result backend URL, as Celery's `result_backend` setting takes it:
 * - `memory://` (or no URL): the embedded in-memory driver;
 * - `redis://[[user]:password@]host[:port][/db][?socket_timeout=…&health_check_interval=…]`: TCP;
 * - `rediss://…?ssl_cert_reqs=required[&ssl_ca_certs=…&ssl_certfile=…&ssl_keyfile=…]`: TLS;
 * - `redis+socket:///path/to/redis.sock?virtual_host=<db>`: a Unix socket (a bare `socket://`
 *   is refused, as Celery refuses it);
 * - `sentinel://[:password@]host:port[/db];sentinel://host:port…` with `masterName`: a
 *   {@linkcode SentinelBackend} that follows failovers;
 * - `https://…` (with `token`): an Upstash-compatible REST API through the HTTP driver, for
 *   runtimes without TCP sockets (waiting then polls, or streams with `http.streaming`).
 *
 * Connection errors are retried by `retryPolicy` (Celery's by default): result writes always,
 * reads too with `alwaysRetry`. Connections open lazily, on the first command.
 *
 * @param url The backend URL, as in Celery's `result_backend` setting.
 * @param options Celery settings (see {@linkcode RedisBackendOptions}), transport options and
 * connection overrides. Units differ as in Celery: `socketTimeout`, `socketConnectTimeout`,
 * `healthCheckInterval` (and the URL's query) are seconds; `connection`'s timeouts are
 * milliseconds, as everywhere else in the TypeScript API.
 * @returns A backend that owns its driver: closing the backend closes it.
 * @throws {TypeError} for a malformed URL, an unsupported scheme or a missing `masterName` (the
 * message hides passwords), or `connection`, `token` or `http` beside `driver`.
 *
 * @example In-memory, for tests and local use
 * ```ts
 * import { createBackend } from "../../mod.ts";
 * await using backend = createBackend("memory://");
 * await backend.markAsDone("t1", 3);
 * console.log((await backend.getTaskMeta("t1")).result); // 3
 * ```
 *
 * @example Redis Sentinel, as Celery configures it
 * ```ts ignore
 * import { createBackend } from "../../mod.ts";
 * const backend = createBackend("sentinel://:pw@10.0.0.1:26379/1;sentinel://10.0.0.2:26379/1", {
 *   masterName: "mymaster",
 *   sentinelKwargs: { password: "sentinel-pw" },
 * });
 * ```
 */
export function createBackend(url?: string, options: CreateBackendOptions = {}): RedisBackend {
  const { driver, connection, token, http, ...rest } = options;
  const split = splitOptions(rest);
  const { connectionOptions } = split;
  // Celery names the serializer; this entry point knows every codec.
  const named = split.settings.resultSerializer;
  const settings: RedisBackendOptions = typeof named === "string"
    ? { ...split.settings, resultSerializer: serializerFactory(named) }
    : split.settings;
  if (driver) {
    refuseWithDriver({ connection, token, http }, "tcpDriver() or httpDriver()");
    return new RedisBackend(driver, settings);
  }
  const target = url ?? "memory://";
  if (typeof target !== "string") throw new TypeError("The backend URL must be a string");
  const scheme = schemeOf(target);
  // Celery picks the backend by the part before "+" (case-sensitively): redis+socket:// is a
  // RedisBackend given socket://.
  const backend = target.split("://", 1)[0]!.split("+", 1)[0];
  switch (scheme === "memory" ? "memory" : backend) {
    case "memory":
      return new RedisBackend(memoryDriver(), settings);
    case "sentinel":
      return createSentinelBackend(target, settings, connectionOptions, connection ?? {});
    case "http":
    case "https":
      return new RedisBackend(
        httpDriverFromUrl(target, { ...http, ...(token === undefined ? {} : { token }) }),
        settings,
      );
    case "redis":
    case "rediss": {
      const params = parseRedisUrl(target, { ssl: connectionOptions.redisBackendUseSsl });
      const base = tcpOptionsFromCelery(params, connectionOptions);
      const tls = mergeTls(base.tls, connection?.tls);
      const tcp = tcpDriver({ ...base, ...connection, ...(tls === undefined ? {} : { tls }) });
      return new RedisBackend(
        withRetries(tcp, connectionOptions),
        withConsumerRetries(settings, connectionOptions),
      );
    }
    default:
      // Celery's own reasons for the forms it refuses (socket://, upper-case schemes) first.
      if (/^(redis|rediss|sentinel|socket)$/i.test(backend ?? "")) parseRedisUrl(target);
      throw new TypeError(
        `Unsupported result backend URL ${maskUrl(target)}: expected memory://, redis://, ` +
          "rediss://, redis+socket://, sentinel:// or https://",
      );
  }
}

function createSentinelBackend(
  url: string,
  settings: RedisBackendOptions,
  options: RedisConnectionOptions,
  connection: Partial<TcpDriverOptions>,
): SentinelBackend {
  const params = parseRedisUrl(url, { ssl: options.redisBackendUseSsl });
  if (typeof options.masterName !== "string" || options.masterName === "") {
    throw new TypeError(
      `A sentinel:// backend needs masterName (Celery's result_backend_transport_options` +
        `['master_name']) for ${maskUrl(url)}`,
    );
  }
  // The sentinels' addresses come from the URL; the master's from them.
  const { host: _host, port: _port, path: _path, ...master } = tcpOptionsFromCelery(
    params,
    options,
  );
  const { host: _h, port: _p, path: _s, ...overrides } = connection;
  const tls = mergeTls(master.tls, overrides.tls);
  const driver = sentinelDriver({
    ...master,
    ...overrides,
    ...(tls === undefined ? {} : { tls }),
    sentinels: params.sentinels!,
    masterName: options.masterName,
    sentinelKwargs: options.sentinelKwargs,
    minOtherSentinels: options.minOtherSentinels,
    confirmWrites: options.confirmWrites,
  });
  return new SentinelBackend(withRetries(driver, options), {
    ...withConsumerRetries(settings, options),
    url,
  });
}

/** The connection-related options, apart from the backend's own settings. */
function splitOptions(options: RedisBackendOptions & RedisConnectionOptions): {
  settings: RedisBackendOptions;
  connectionOptions: RedisConnectionOptions;
} {
  const {
    masterName,
    sentinelKwargs,
    minOtherSentinels,
    confirmWrites,
    retryPolicy,
    alwaysRetry,
    onConnectionError,
    redisBackendUseSsl,
    socketTimeout,
    socketConnectTimeout,
    healthCheckInterval,
    maxConnections,
    ...settings
  } = options;
  return {
    settings,
    connectionOptions: {
      masterName,
      sentinelKwargs,
      minOtherSentinels,
      confirmWrites,
      retryPolicy,
      alwaysRetry,
      onConnectionError,
      redisBackendUseSsl,
      socketTimeout,
      socketConnectTimeout,
      healthCheckInterval,
      maxConnections,
    },
  };
}

/** Wraps a driver in Celery's retry policy (unless `retryPolicy` is `false`). */
function withRetries(driver: RedisDriver, options: RedisConnectionOptions): RedisDriver {
  if (options.retryPolicy === false) return driver;
  return retryingDriver(driver, {
    retryPolicy: options.retryPolicy,
    retry: options.alwaysRetry ? "idempotent" : "writes",
    onConnectionError: options.onConnectionError,
  });
}

/** Gives the pub/sub consumer the same retry policy, unless the caller configured its own. */
function withConsumerRetries(
  settings: RedisBackendOptions,
  options: RedisConnectionOptions,
): RedisBackendOptions {
  const policy = options.retryPolicy;
  if (policy === undefined && options.onConnectionError === undefined) return settings;
  const consumer = settings.consumer;
  if (consumer === "polling" || (typeof consumer === "object" && consumer.type === "polling")) {
    return settings;
  }
  const base = typeof consumer === "object" ? consumer : { type: "pubsub" as const };
  return {
    ...settings,
    consumer: {
      ...base,
      retryPolicy: base.retryPolicy ?? (policy === false ? { maxRetries: 0 } : policy),
      onConnectionError: base.onConnectionError ?? options.onConnectionError,
    },
  };
}

function mergeTls(
  fromUrl: TcpDriverOptions["tls"],
  override: TcpDriverOptions["tls"],
): TcpDriverOptions["tls"] {
  if (override === undefined) return fromUrl;
  if (typeof override === "boolean" || typeof fromUrl !== "object") return override;
  return { ...fromUrl, ...override };
}
