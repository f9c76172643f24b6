/**
 * Celery's connection retry policy (`Backend.retry_policy`, kombu `retry_over_time`): retry an
 * operation on connection errors, sleeping 0 s, then 1 s, … capped at `intervalMax`.
 *
 * @module
 */
import { RedisConnectionError } from "./errors.ts";

/** Celery's retry policy shape, in seconds as Celery configures it. */
export interface RetryPolicy {
  /** Retries after the first attempt; `Infinity` retries forever. @default {20} */
  maxRetries?: number | undefined;
  /** First sleep, in seconds. @default {0} */
  intervalStart?: number | undefined;
  /** Added to the sleep after each retry, in seconds. @default {1} */
  intervalStep?: number | undefined;
  /** Longest sleep, in seconds. @default {1} */
  intervalMax?: number | undefined;
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

/** The sleep before retry `retry` (from 1), in milliseconds, as kombu's `fxrange` yields it. */
export function retryDelayMs(policy: RetryPolicy, retry: number): number {
  const start = policy.intervalStart ?? DEFAULT_RETRY_POLICY.intervalStart;
  const step = policy.intervalStep ?? DEFAULT_RETRY_POLICY.intervalStep;
  const max = policy.intervalMax ?? DEFAULT_RETRY_POLICY.intervalMax;
  return Math.min(start + (retry - 1) * step, max) * 1000;
}

/**
 * Runs `fn`, retrying on connection errors by the policy; re-throws the last error when retries
 * are exhausted (as kombu does).
 */
export async function ensure<T>(
  fn: () => Promise<T>,
  policy: RetryPolicy = {},
  options: EnsureOptions = {},
): Promise<T> {
  const maxRetries = policy.maxRetries ?? DEFAULT_RETRY_POLICY.maxRetries;
  const isRetryable = options.isRetryable ?? ((e) => e instanceof RedisConnectionError);
  const sleep = options.sleep ?? abortableSleep;
  for (let retry = 1;; retry++) {
    options.signal?.throwIfAborted();
    try {
      return await fn();
    } catch (error) {
      if (!isRetryable(error) || retry > maxRetries) throw error;
      const delay = retryDelayMs(policy, retry);
      options.onConnectionError?.(error as Error, retry, delay);
      await sleep(delay, options.signal);
    }
  }
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
