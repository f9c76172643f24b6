/**
 * How a backend's results are waited for: plain settings the core keeps for the waiting layer
 * (`src/results/consumer/`), which builds the consumer on first use.
 *
 * @module
 */
import type { RetryPolicy } from "../connection/retry.ts";
import type { TaskMeta } from "../wire/meta.ts";

/** Options of the pub/sub consumer (`ResultConsumer`). */
export interface ResultConsumerOptions {
  /** How reconnection is retried (Celery's `retry_policy`). @default {Celery's: 20 retries, 0 s then 1 s} */
  retryPolicy?: RetryPolicy | undefined;
  /** Called before each reconnection attempt. */
  onConnectionError?:
    | ((error: Error, retry: number, sleepMs: number) => void)
    | undefined;
  /** Called with every state change of every task waited on. */
  onStateChange?: ((meta: TaskMeta) => void) | undefined;
}

/** Options of the polling consumer (`PollingConsumer`). */
export interface PollingConsumerOptions {
  /** The first interval after a new wait starts, in ms. @default {50} */
  minInterval?: number | undefined;
  /** The longest interval, in ms. @default {1000} */
  maxInterval?: number | undefined;
  /** Each idle tick multiplies the interval by this. @default {1.5} */
  backoffFactor?: number | undefined;
  /** Random spread of each interval, as a fraction (0.2 = ±20%). @default {0.2} */
  jitter?: number | undefined;
  /** Random numbers in [0, 1) for the jitter. @default {Math.random} */
  random?: (() => number) | undefined;
  /** Sleeps between ticks (injectable for tests). @default {setTimeout-based} */
  sleep?: ((ms: number, signal?: AbortSignal) => Promise<void>) | undefined;
  /**
   * Consecutive failed ticks tolerated before pending waits reject. Errors no retry can fix
   * (refused credentials or permissions, TLS) reject them at the first tick. @default {20}
   */
  maxErrors?: number | undefined;
  /** Called with every state change of every task waited on. */
  onStateChange?: ((meta: TaskMeta) => void) | undefined;
}

/**
 * How to wait for results: `"pubsub"` (needs a driver that can subscribe), `"polling"`, or
 * options for either.
 */
export type ConsumerSetting =
  | "pubsub"
  | "polling"
  | ({ type: "pubsub" } & ResultConsumerOptions)
  | ({ type: "polling" } & PollingConsumerOptions);
