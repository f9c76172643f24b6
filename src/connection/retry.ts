/**
 * Celery's connection retry policy (`Backend.retry_policy`, kombu `retry_over_time`): retry an
 * operation on connection errors, sleeping `intervalStart`, then `intervalStep` more each time,
 * up to `intervalStart + intervalMax` (kombu's `fxrange(start, start + max, step, repeatlast)`):
 * with Celery's defaults 0 s, then 1 s, 1 s, … for 20 retries.
 *
 * @module
 */
import {
  BackendClosedError,
  RedisAuthenticationError,
  RedisConnectionError,
  RedisReplyError,
} from "../errors.ts";

import { MAX_TIMER_DELAY } from "./time_units.ts";

/** Celery's retry policy shape, in seconds as Celery configures it. */
export interface RetryPolicy {
  /** Retries after the first attempt; `Infinity` retries forever. @default {20} */
  maxRetries?: number | undefined;
  /** First sleep, in seconds. @default {0} */
  intervalStart?: number | undefined;
  /** Added to the sleep after each retry, in seconds. @default {1} */
  intervalStep?: number | undefined;
  /**
   * Bounds the sleeps: they grow while they stay within `intervalStart + intervalMax` seconds
   * (kombu's reading), then repeat the last one.
   * @default {1}
   */
  intervalMax?: number | undefined;
  /**
   * Gives up once this many seconds have passed since the first attempt, even with retries left
   * (kombu's `timeout`). @default {undefined} (no limit)
   */
  timeout?: number | undefined;
}

/** Options of {@linkcode ensure}. */
export interface EnsureOptions {
  /** Called before each retry with the error, the retry number (from 1) and the sleep in ms. */
  onConnectionError?: ((error: Error, retry: number, sleepMs: number) => void) | undefined;
  /** Which errors are worth retrying. @default {connection errors} */
  isRetryable?: ((error: unknown) => boolean) | undefined;
  /** Stops retrying (rejecting with the signal's reason). */
  signal?: AbortSignal | undefined;
  /** Sleeps (injectable for tests). @default {setTimeout-based} */
  sleep?: ((ms: number, signal?: AbortSignal) => Promise<void>) | undefined;
  /** The clock for `timeout`, in ms (injectable for tests). @default {Date.now} */
  now?: (() => number) | undefined;
}

/** Celery's default policy: 20 retries, sleeping 0 s then 1 s. */
export const DEFAULT_RETRY_POLICY: {
  readonly maxRetries: number;
  readonly intervalStart: number;
  readonly intervalStep: number;
  readonly intervalMax: number;
} = {
  maxRetries: 20,
  intervalStart: 0,
  intervalStep: 1,
  intervalMax: 1,
};

/**
 * The sleep before retry `retry` (from 1), in milliseconds, as kombu's
 * `fxrange(start, start + max, step, repeatlast=True)` yields it: `start + k * step` for the
 * k-th retry while that stays within `start + max`, then the last such value again.
 *
 * @param policy The policy (Celery's defaults for missing fields).
 * @param retry The retry number, from 1.
 * @returns Milliseconds to sleep.
 *
 * @example
 * ```ts
 * import { retryDelayMs } from "./retry.ts";
 * console.log([1, 2, 3].map((n) => retryDelayMs({}, n))); // [0, 1000, 1000]
 * ```
 */
export function retryDelayMs(policy: RetryPolicy, retry: number): number {
  const start = policy.intervalStart ?? DEFAULT_RETRY_POLICY.intervalStart;
  const step = policy.intervalStep ?? DEFAULT_RETRY_POLICY.intervalStep;
  const max = policy.intervalMax ?? DEFAULT_RETRY_POLICY.intervalMax;
  const stop = start + max;
  let k = retry - 1;
  // kombu: with a stop of 0 the range never ends; otherwise it stops growing past `stop`.
  if (stop !== 0 && step > 0) k = Math.min(k, Math.floor((max + 1e-9) / step));
  if (step <= 0) k = 0;
  return Math.max(0, start + k * step) * 1000;
}

/**
 * Runs `fn`, retrying on connection errors by the policy; re-throws the last error when retries
 * are exhausted or `timeout` has passed (as kombu's `retry_over_time` does).
 *
 * @param fn The operation.
 * @param policy Celery's retry policy (`maxRetries` 20, `intervalStart` 0, `intervalStep` 1,
 * `intervalMax` 1 by default; `maxRetries: Infinity` retries forever).
 * @param options Which errors to retry, a callback per retry, a signal to stop.
 * @returns What `fn` resolves with.
 * @throws The last error, when it is not retryable or retries are exhausted; the signal's reason
 * when it aborts.
 *
 * @example
 * ```ts
 * import { ensure } from "./retry.ts";
 * let calls = 0;
 * const value = await ensure(async () => {
 *   if (++calls < 3) throw new Error("flaky");
 *   return calls;
 * }, { maxRetries: 5 }, { isRetryable: () => true, sleep: async () => {} });
 * console.log(value); // 3
 * ```
 */
export async function ensure<T>(
  fn: () => Promise<T>,
  policy: RetryPolicy = {},
  options: EnsureOptions = {},
): Promise<T> {
  const maxRetries = policy.maxRetries ?? DEFAULT_RETRY_POLICY.maxRetries;
  const isRetryable = options.isRetryable ?? isConnectionLevelError;
  const sleep = options.sleep ?? abortableSleep;
  const now = options.now ?? Date.now;
  const end = policy.timeout ? now() + policy.timeout * 1000 : undefined;
  for (let retry = 1;; retry++) {
    options.signal?.throwIfAborted();
    try {
      return await fn();
    } catch (error) {
      if (!isRetryable(error) || retry > maxRetries) throw error;
      if (end !== undefined && now() > end) throw error;
      const delay = retryDelayMs(policy, retry);
      options.onConnectionError?.(error as Error, retry, delay);
      await sleep(delay, options.signal);
    }
  }
}

/**
 * Resolves after `ms`, or rejects with the signal's reason when it aborts first. Sleeps longer
 * than a runtime timer can hold (2^31-1 ms) are taken in steps; `Infinity` sleeps until aborted.
 */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const end = Date.now() + ms;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const onAbort = () => {
      if (timer !== undefined) clearTimeout(timer);
      reject(signal!.reason);
    };
    const arm = () => {
      const left = end - Date.now();
      if (left > 0 && left > MAX_TIMER_DELAY) {
        timer = setTimeout(arm, MAX_TIMER_DELAY);
        return;
      }
      timer = setTimeout(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      }, Math.max(0, left));
    };
    arm();
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Whether an error means "this connection cannot serve now, try again": a connection failure, or
 * a `LOADING` reply from a server still loading its dataset after a restart (redis-py's
 * `BusyLoadingError`, which kombu counts among the connection errors Celery retries).
 */
export function isConnectionLevelError(error: unknown): boolean {
  return error instanceof RedisConnectionError ||
    (error instanceof RedisReplyError && error.code === "LOADING");
}

/**
 * Whether retrying cannot fix an error, so waits and stores should fail at once rather than after
 * the whole retry policy: refused credentials, an ACL `NOPERM`, a refused TLS certificate, a
 * missing runtime permission (Deno's `NotCapable` / `PermissionDenied`), a database index out of
 * range, too few connections allowed (`MaxConnectionsError`), or a closed backend. The error's
 * `cause` chain is searched, since drivers wrap what the runtime threw.
 */
export function isUnrecoverableError(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (e instanceof RedisAuthenticationError || e instanceof BackendClosedError) return true;
    if (e instanceof RedisReplyError) {
      if (e.code === "NOPERM" || e.code === "NOAUTH" || e.code === "WRONGPASS") return true;
      // A database the server does not have (redis' "DB index is out of range").
      if (e.command === "SELECT" || /DB index is out of range/i.test(e.message)) return true;
    }
    if (UNRECOVERABLE_NAMES.has(e.name)) return true;
  }
  return false;
}

/** Error names (from the runtime or the transports) that no retry can fix. */
const UNRECOVERABLE_NAMES = new Set([
  "TlsError",
  "NotCapable",
  "PermissionDenied",
  "MaxConnectionsError",
]);
