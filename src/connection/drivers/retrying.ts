/**
 * `retryingDriver()`: a driver wrapper that retries commands on connection errors by Celery's
 * retry policy (kombu's `retry_over_time`: 20 retries, sleeping 0 s then 1 s), so a backend rides
 * out a Redis restart or a Sentinel failover.
 *
 * Only commands that can be sent twice without changing the outcome are retried: a command in
 * flight when a connection drops may or may not have run, and resending `INCRBY` or `RPUSH` could
 * count twice. Reads, `SET`/`SETEX` of a value, `DEL`, `EXPIRE`, `PUBLISH` (waiters drop duplicate
 * messages), `ZADD` of a member (a set keeps one copy) and transactions made only of such
 * commands are resent; `INCR`, `INCRBY`, `RPUSH`, `SET … NX`, `ZADD … INCR` and unknown commands
 * fail at once with the connection error, for the caller to decide.
 *
 * @module
 */
import type {
  RedisCommand,
  RedisDriver,
  RedisReply,
  Subscriber,
  SubscriberHandlers,
} from "../driver.ts";
import { BackendClosedError } from "../../errors.ts";
import { READ_COMMANDS } from "../read_commands.ts";
import {
  ensure,
  type EnsureOptions,
  isConnectionLevelError,
  isUnrecoverableError,
  type RetryPolicy,
} from "../retry.ts";

/** Which commands {@linkcode retryingDriver} resends. */
export type RetryScope = "idempotent" | "writes";

/** Options of {@linkcode retryingDriver}. */
export interface RetryingDriverOptions {
  /**
   * Celery's retry policy (`result_backend_transport_options['retry_policy']`).
   * @default {Celery's: 20 retries, sleeping 0 s then 1 s}
   */
  retryPolicy?: RetryPolicy | undefined;
  /**
   * Which commands are retried:
   * - `"idempotent"`: every command safe to resend (see the module documentation);
   * - `"writes"`: Celery's own scope — its `ensure()` wraps `set`, i.e. `SET`/`SETEX` of a result
   *   and transactions of those with `PUBLISH`; reads fail at once.
   * @default {"idempotent"}
   */
  retry?: RetryScope | undefined;
  /** Decides instead of `retry` which commands may be resent. @default {undefined} */
  isIdempotent?: ((command: RedisCommand) => boolean) | undefined;
  /**
   * Called before each retry with the error, the retry number (from 1) and the sleep in ms
   * (Celery logs `Connection to Redis lost: Retry (n/max) in Xs.` there).
   * @default {undefined}
   */
  onConnectionError?: ((error: Error, retry: number, sleepMs: number) => void) | undefined;
  /** Sleeps between attempts (injectable for tests). @default {setTimeout-based} */
  sleep?: EnsureOptions["sleep"];
}

/** The driver {@linkcode retryingDriver} returns. */
export interface RetryingDriver extends RedisDriver {
  /** The wrapped driver. */
  readonly driver: RedisDriver;
  /**
   * Runs a sequence of commands as one unit under the retry policy: `fn` gets the wrapped driver
   * (whose commands are not retried one by one) and is run again from the start after a
   * connection error. For sequences that are safe to repeat, such as the backend's guarded
   * store (read the stored state, then SETEX + PUBLISH).
   */
  retrying<T>(fn: (driver: RedisDriver) => Promise<T>): Promise<T>;
}

/** Whether a driver is a {@linkcode RetryingDriver}. */
export function isRetryingDriver(driver: RedisDriver): driver is RetryingDriver {
  return typeof (driver as Partial<RetryingDriver>).retrying === "function";
}

/**
 * Wraps a driver so that commands safe to resend are retried on connection errors.
 *
 * Not retried: errors Redis answers with (`RedisReplyError`, but `LOADING`), refused credentials
 * (`RedisAuthenticationError`), refused TLS certificates, a missing runtime permission,
 * `MaxConnectionsError`, and anything after `close()` (pending
 * retries then reject with `BackendClosedError`). Subscribers are passed through: the result
 * consumer reconnects them itself, by the same policy.
 *
 * A retried command has the same effect as one run once; a reply that counts (`DEL`, `ZADD`) may
 * count 0 after a retry of a command that had already taken effect.
 *
 * @param driver The driver to wrap (the wrapper closes it on `close()`).
 * @param options Policy, scope and callback.
 * @returns The wrapping driver.
 *
 * @example Retry across a Redis restart
 * ```ts ignore
 * import { retryingDriver, tcpDriver } from "@taskmeta/celery-redis";
 * const redis = retryingDriver(tcpDriver({ port: 6379 }), {
 *   retryPolicy: { maxRetries: 10 },
 *   onConnectionError: (error, retry, ms) => console.warn(`Retry ${retry} in ${ms} ms: ${error.message}`),
 * });
 * ```
 */
export function retryingDriver(
  driver: RedisDriver,
  options: RetryingDriverOptions = {},
): RetryingDriver {
  const scope = options.retry ?? "idempotent";
  if (scope !== "idempotent" && scope !== "writes") {
    throw new TypeError(`retry must be "idempotent" or "writes", got ${String(scope)}`);
  }
  const safe = options.isIdempotent ??
    (scope === "writes" ? isCeleryWriteCommand : isIdempotentCommand);
  const closed = new AbortController();
  const ensureOptions: EnsureOptions = {
    onConnectionError: options.onConnectionError,
    isRetryable: (error) => !closed.signal.aborted && isRetryableError(error),
    signal: closed.signal,
    sleep: options.sleep,
  };
  const retried = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await ensure(fn, options.retryPolicy ?? {}, ensureOptions);
    } catch (error) {
      if (closed.signal.aborted && error === closed.signal.reason) throw new BackendClosedError();
      throw error;
    }
  };
  const wrapper: RetryingDriver = {
    name: driver.name,
    driver,
    send(command: RedisCommand): Promise<RedisReply> {
      return safe(command) ? retried(() => driver.send(command)) : driver.send(command);
    },
    transaction(commands: readonly RedisCommand[]): Promise<RedisReply[]> {
      return commands.length > 0 && commands.every(safe)
        ? retried(() => driver.transaction(commands))
        : driver.transaction(commands);
    },
    retrying<T>(fn: (inner: RedisDriver) => Promise<T>): Promise<T> {
      return retried(() => fn(driver));
    },
    async close(): Promise<void> {
      if (!closed.signal.aborted) closed.abort();
      await driver.close();
    },
    [Symbol.asyncDispose](): Promise<void> {
      return this.close();
    },
  };
  if (driver.openSubscriber) {
    const open = driver.openSubscriber.bind(driver);
    wrapper.openSubscriber = (handlers: SubscriberHandlers): Promise<Subscriber> => open(handlers);
  }
  return wrapper;
}

/**
 * Whether an error is a connection failure worth retrying: not refused credentials, TLS, a
 * missing permission or too few connections (see `isUnrecoverableError()`).
 */
export function isRetryableError(error: unknown): boolean {
  return isConnectionLevelError(error) && !isUnrecoverableError(error);
}

function nameOf(command: RedisCommand): string {
  const name = command[0];
  return (typeof name === "string"
    ? name
    : name instanceof Uint8Array
    ? new TextDecoder().decode(name)
    : String(name)).toUpperCase();
}

function hasOption(command: RedisCommand, from: number, options: readonly string[]): boolean {
  for (let i = from; i < command.length; i++) {
    const arg = command[i];
    if (typeof arg === "string" && options.includes(arg.toUpperCase())) return true;
  }
  return false;
}

/** Writes with the same effect however many times they run: they set rather than change. */
const SETTING_WRITES = new Set([
  "SETEX",
  "PSETEX",
  "MSET",
  "DEL",
  "UNLINK",
  "PERSIST",
  "EXPIREAT",
  "PEXPIREAT",
  "PUBLISH",
  "HSET",
  "HMSET",
  "HDEL",
  "SADD",
  "SREM",
  "ZREM",
]);

/**
 * Whether a command can be resent without changing the outcome: reads; `SET` without `NX`, `XX`
 * or `GET`; `SETEX`, `DEL`, `EXPIRE` without a condition, `PUBLISH`, `ZADD` without `INCR`, …
 * Not: `INCR`, `INCRBY`, `RPUSH`, `LPUSH`, pops, `APPEND`, `GETSET`, scripts, unknown commands.
 *
 * @param command The command.
 * @returns Whether {@linkcode retryingDriver} may resend it.
 */
export function isIdempotentCommand(command: RedisCommand): boolean {
  const name = nameOf(command);
  switch (name) {
    case "SET":
      return !hasOption(command, 3, ["NX", "XX", "GET"]);
    case "EXPIRE":
    case "PEXPIRE":
      return !hasOption(command, 3, ["NX", "XX", "GT", "LT"]);
    case "ZADD":
      return !hasOption(command, 2, ["INCR"]);
    default:
      return READ_COMMANDS.has(name) || SETTING_WRITES.has(name);
  }
}

/** Celery's `ensure()` scope: storing a value (`SET`/`SETEX`) and publishing it. */
function isCeleryWriteCommand(command: RedisCommand): boolean {
  const name = nameOf(command);
  if (name === "SET") return isIdempotentCommand(command);
  return name === "SETEX" || name === "PSETEX" || name === "PUBLISH";
}
