/**
 * `Broker`: sends Celery tasks and control commands over kombu's Redis transport, through any
 * {@linkcode RedisDriver} (TCP, HTTP/Upstash, memory). Other brokers (RabbitMQ, SQS) are out of
 * scope.
 *
 * @module
 */
import type { RedisBackend } from "../backend/redis_backend.ts";
import { RedisBackend as Backend } from "../backend/redis_backend.ts";
import type { RedisCommand, RedisDriver } from "../connection/driver.ts";
import { isRetryingDriver } from "../connection/drivers/retrying.ts";
import {
  ensure,
  isConnectionLevelError,
  isUnrecoverableError,
  type RetryPolicy,
} from "../connection/retry.ts";
import { BackendClosedError } from "../errors.ts";
import { AsyncResult } from "../results/async_result.ts";
import { assertCeleryVersion, type CeleryVersion } from "../wire/celery_version.ts";
import type { SerializerName } from "../wire/serializers.ts";
import { encodeControlMessage, pidboxChannel } from "./control_message.ts";
import { checkSendOptions, type SendTaskOptions } from "./send_options.ts";
import { subscribeBeforeSending } from "./subscribe_first.ts";
import { encodeTaskMessage, queueBinding } from "./task_message.ts";

/** Celery's `task_publish_retry_policy`. */
export const PUBLISH_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  maxRetries: 3,
  intervalStart: 0,
  intervalMax: 1,
  intervalStep: 0.2,
});

/** Options of {@linkcode Broker}, named after Celery's settings. */
export interface BrokerOptions {
  /**
   * The result backend the returned `AsyncResult`s read from.
   * @default {a backend on the broker's own connection (broker_url = result_backend)}
   */
  backend?: RedisBackend | undefined;
  /** The broker's database number (for the control channel `/<db>.celery.pidbox`). @default {0} */
  db?: number | undefined;
  /** `task_default_queue`. @default {"celery"} */
  defaultQueue?: string | undefined;
  /**
   * `task_routes` by name: task name or glob (`proj.reports.*`) → queue. The first match wins;
   * an explicit `queue` option wins over routes.
   */
  routes?: Readonly<Record<string, string>> | undefined;
  /** `task_serializer`. @default {"json"} */
  serializer?: SerializerName | undefined;
  /** Whose bytes to write. @default {the backend's celeryVersion, else "5.6"} */
  celeryVersion?: CeleryVersion | undefined;
  /**
   * `task_publish_retry_policy` (`false`: `task_publish_retry = False`).
   * @default {Celery's: 3 retries, sleeping 0, 0.2, 0.4 s}
   */
  publishRetryPolicy?: RetryPolicy | false | undefined;
  /** Called before each publish retry (Celery logs it) with the error, retry number and sleep. */
  onConnectionError?: ((error: Error, retry: number, sleepMs: number) => void) | undefined;
  /** The `origin` header (Python writes `gen<pid>@<host>`). @default {"gen@typescript"} */
  origin?: string | undefined;
  /** The clock for `countdown`, `expires` and control messages. @default {() => new Date()} */
  now?: (() => Date) | undefined;
}

/**
 * Splits a factory's options into the broker's settings and the rest (the connection's).
 * @param options The factory's options.
 * @returns The broker's settings and the connection's options.
 */
export function splitBrokerOptions<T extends BrokerOptions>(
  options: T,
): { broker: BrokerOptions; connection: Omit<T, keyof BrokerOptions> } {
  const {
    backend,
    db,
    defaultQueue,
    routes,
    serializer,
    celeryVersion,
    publishRetryPolicy,
    onConnectionError,
    origin,
    now,
    ...connection
  } = options;
  const broker = {
    backend,
    db,
    defaultQueue,
    routes,
    serializer,
    celeryVersion,
    publishRetryPolicy,
    onConnectionError,
    origin,
    now,
  };
  return { broker, connection };
}

/** Options of {@linkcode Broker.revoke}, as `app.control.revoke` takes them. */
export interface RevokeOptions {
  /** Also kill the task if it is running (needs the prefork pool). @default {false} */
  terminate?: boolean | undefined;
  /** The signal for `terminate`. @default {"SIGTERM"} */
  signal?: string | undefined;
  /** Worker node names to address (`celery@host`). @default {every worker} */
  destination?: readonly string[] | undefined;
}

/**
 * Sends Celery tasks over kombu's Redis transport, byte-compatible with Python's `apply_async`.
 *
 * @example Send a task and wait for its result
 * ```ts ignore
 * import { Broker, createBackend, tcpDriver } from "@taskmeta/celery-redis";
 * await using backend = createBackend("redis://localhost:6379/1");
 * await using broker = new Broker(tcpDriver({ port: 6379 }), { backend });
 * const result = await broker.sendTask("proj.add", { args: [2, 3] });
 * console.log(await result.get({ timeout: 10_000 })); // 5
 * ```
 */
export class Broker implements AsyncDisposable {
  /** The driver messages are pushed through. */
  readonly driver: RedisDriver;
  /** Where results are read. */
  readonly backend: RedisBackend;
  /** The Celery version whose bytes are written. */
  readonly celeryVersion: CeleryVersion;
  /** `task_default_queue`. */
  readonly defaultQueue: string;
  readonly #db: number;
  readonly #routes: readonly [RegExp, string][];
  readonly #serializer: SerializerName;
  readonly #retryPolicy: RetryPolicy | false;
  readonly #onConnectionError: BrokerOptions["onConnectionError"];
  readonly #origin: string;
  readonly #now: () => Date;
  /** Celery's `app.thread_oid`, the `reply_to` of every message. */
  readonly #oid = crypto.randomUUID();
  readonly #declared = new Set<string>();
  /** The driver sends go through: the broker applies Celery's publish policy itself, so a
   * retrying driver's own scope is skipped. */
  readonly #driver: RedisDriver;
  readonly #ownsBackend: boolean;
  readonly #ownsDriver: boolean;
  #clock = 0;
  #closed = false;

  /**
   * Creates a broker over a driver connected to the broker's database.
   * @param driver The driver (the broker closes it on `close()` unless it is the backend's).
   * @param options Celery settings.
   * @throws {TypeError} for an option of the wrong type.
   */
  constructor(driver: RedisDriver, options: BrokerOptions = {}) {
    this.driver = driver;
    this.#driver = isRetryingDriver(driver) ? driver.driver : driver;
    this.#ownsBackend = options.backend === undefined;
    this.#ownsDriver = options.backend?.driver !== driver;
    this.backend = options.backend ??
      new Backend(driver, { celeryVersion: options.celeryVersion });
    this.celeryVersion = assertCeleryVersion(
      options.celeryVersion ?? this.backend.celeryVersion,
    );
    this.defaultQueue = options.defaultQueue ?? "celery";
    if (typeof this.defaultQueue !== "string" || this.defaultQueue === "") {
      throw new TypeError("defaultQueue must be a non-empty string");
    }
    const db = options.db ?? 0;
    if (!Number.isInteger(db) || db < 0) throw new RangeError(`db must be >= 0, got ${db}`);
    this.#db = db;
    this.#routes = Object.entries(options.routes ?? {}).map((
      [glob, queue],
    ) => [globRegExp(glob), queue]);
    this.#serializer = options.serializer ?? "json";
    this.#retryPolicy = options.publishRetryPolicy ?? PUBLISH_RETRY_POLICY;
    this.#onConnectionError = options.onConnectionError;
    this.#origin = options.origin ?? "gen@typescript";
    this.#now = options.now ?? (() => new Date());
  }

  /**
   * Sends a task, as Celery's `app.send_task(name, ...)`: the result is subscribed first (unless
   * `ignoreResult`), then the message is pushed with one LPUSH onto the queue's list.
   * @param name The task's registered name, e.g. `proj.tasks.add`.
   * @param options Arguments and Celery's execution options.
   * @returns The task's result.
   * @throws {TypeError|RangeError} for bad options, {@linkcode EncodeError} for arguments that
   * cannot be encoded — before anything is sent.
   * @throws {RedisConnectionError} when the broker stays down through the publish retry policy.
   */
  async sendTask(name: string, options: SendTaskOptions = {}): Promise<AsyncResult> {
    if (this.#closed) throw new BackendClosedError("The broker is closed");
    const checked = checkSendOptions(name, options, this.#now());
    const queue = checked.queue ?? this.#route(name);
    const message = encodeTaskMessage({
      id: checked.taskId,
      name,
      args: checked.args,
      kwargs: checked.kwargs,
      queue,
      celeryVersion: this.celeryVersion,
      serializer: checked.serializer ?? this.#serializer,
      eta: checked.eta,
      expires: checked.expires,
      expiresInSeconds: checked.expiresInSeconds,
      priority: checked.priority,
      retries: checked.retries,
      timeLimit: checked.timeLimit,
      softTimeLimit: checked.softTimeLimit,
      rootId: checked.rootId,
      parentId: checked.parentId,
      group: checked.groupId,
      groupIndex: checked.groupIndex,
      shadow: checked.shadow,
      ignoreResult: checked.ignoreResult,
      origin: this.#origin,
      replyTo: this.#oid,
      deliveryTag: crypto.randomUUID(),
      headers: checked.headers,
      callbacks: options.link ?? null,
      errbacks: options.linkError ?? null,
      chain: options.chain ?? null,
      chord: options.chord ?? null,
    });
    if (!checked.ignoreResult) {
      await subscribeBeforeSending(this.backend, checked.taskId, options.onMessage);
    }
    await this.#publish(queue, message.list, message.envelope);
    return new AsyncResult(checked.taskId, this.backend);
  }

  /**
   * Revokes tasks, as `app.control.revoke(ids, terminate=, signal=)`: a broadcast every worker
   * online hears (workers remember revoked ids, so a queued task is discarded when it comes up).
   * @param taskIds One id or several.
   * @param options `terminate` (prefork pool only) and its `signal`, `destination`.
   * @returns How many subscribers received the broadcast (workers online, roughly).
   */
  async revoke(taskIds: string | readonly string[], options: RevokeOptions = {}): Promise<number> {
    if (this.#closed) throw new BackendClosedError("The broker is closed");
    const ids = typeof taskIds === "string" ? taskIds : [...taskIds];
    for (const id of typeof ids === "string" ? [ids] : ids) {
      if (typeof id !== "string" || id === "") {
        throw new TypeError("revoke() takes task ids as non-empty strings");
      }
    }
    const signal = options.signal ?? "SIGTERM";
    if (typeof signal !== "string" || signal === "") {
      throw new TypeError("signal must be a signal name such as SIGTERM");
    }
    const now = this.#now().getTime() / 1000;
    const envelope = encodeControlMessage({
      method: "revoke",
      arguments: { task_id: ids, terminate: options.terminate ?? false, signal },
      destination: options.destination ? [...options.destination] : null,
      clock: ++this.#clock,
      expires: now + 1, // Celery's broadcast timeout: workers drop it a second later
      deliveryTag: crypto.randomUUID(),
    });
    const reply = await this.#withRetries((driver) =>
      driver.send(["PUBLISH", pidboxChannel(this.#db), envelope])
    );
    return typeof reply === "number" ? reply : 0;
  }

  /** Closes what the broker owns (its driver, and the default backend). Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#ownsBackend) await this.backend.close();
    else if (this.#ownsDriver) await this.driver.close();
  }

  /** Same as {@linkcode Broker.close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #route(name: string): string {
    for (const [pattern, queue] of this.#routes) if (pattern.test(name)) return queue;
    return this.defaultQueue;
  }

  // kombu declares a queue (its binding) once per connection before the first publish; the
  // binding and the message go in one MULTI, so a message is pushed whole or not at all.
  async #publish(queue: string, list: string, envelope: string): Promise<void> {
    // As bytes: the envelope is ASCII, which the native encoder copies faster than a driver can
    // measure a string's UTF-8 length (the RESP encoder scans every character of a long string).
    const push: RedisCommand = ["LPUSH", list, textEncoder.encode(envelope)];
    if (this.#declared.has(queue)) {
      // The common case, a declared queue on a healthy connection: one send, no retry scope.
      const driver = this.#driver;
      try {
        await driver.send(push);
      } catch (error) {
        await this.#withRetries((driver) => driver.send(push), error);
      }
      return;
    }
    const binding = queueBinding(queue);
    await this.#withRetries(async (driver) => {
      const replies = await driver.transaction([["SADD", binding.key, binding.member], push]);
      const failed = replies.find((reply) => reply instanceof Error);
      if (failed) throw failed;
    });
    this.#declared.add(queue);
  }

  /**
   * Runs `fn` under the publish retry policy. `firstError`: the first attempt was already made
   * (outside this scope, for speed) and failed with it; the policy goes on from its first retry.
   */
  #withRetries<T>(fn: (driver: RedisDriver) => Promise<T>, firstError?: unknown): Promise<T> {
    const driver = this.#driver;
    let failed = firstError !== undefined;
    const attempt = () => {
      if (failed) {
        failed = false;
        throw firstError;
      }
      if (this.#closed) throw new BackendClosedError("The broker is closed");
      return fn(driver);
    };
    if (this.#retryPolicy === false) return attempt();
    return ensure(attempt, this.#retryPolicy, {
      onConnectionError: this.#onConnectionError,
      isRetryable: (error) =>
        !this.#closed && isConnectionLevelError(error) && !isUnrecoverableError(error),
    });
  }
}

const textEncoder = new TextEncoder();

// Celery's glob routes (fnmatch): `*` any run, `?` one character.
function globRegExp(glob: string): RegExp {
  if (typeof glob !== "string" || glob === "") throw new TypeError("route patterns must be names");
  const source = glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  return new RegExp(`^${source}$`);
}
