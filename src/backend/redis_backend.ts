/**
 * `RedisBackend`: Celery's Redis result backend over any {@linkcode RedisDriver}.
 *
 * @module
 */
import {
  assertCeleryVersion,
  atLeast,
  type CeleryVersion,
  DEFAULT_CELERY_VERSION,
} from "../wire/celery_version.ts";
import { formatDateDone } from "../wire/date_done.ts";
import type { RedisArg, RedisDriver, RedisReply } from "../connection/driver.ts";
import { isRetryingDriver } from "../connection/drivers/retrying.ts";
import {
  BackendClosedError,
  BackendStoreError,
  ContentDisallowedError,
  DecodeError,
} from "../errors.ts";
import { KeyBuilder } from "../wire/keys.ts";
import { buildMeta, type TaskMeta, type TaskRequest } from "../wire/meta.ts";
import { taskMetaOf } from "../wire/read_meta.ts";
import {
  asDecodeError,
  jsonSerializer,
  type KombuJsonDialect,
  type ResultSerializer,
  type SerializerFactory,
  type SerializerName,
} from "../wire/serializers.ts";
import type { DecodeLimits } from "../wire/serialization/decode_limits.ts";
import { EXCEPTION_STATES, READY_STATES, type TaskState } from "../wire/states.ts";
import { TaskError, toExceptionInfo, tracebackOf } from "../wire/task_error.ts";
import type { ResultTuple, Signature } from "../wire/meta.ts";
import type { ConsumerSetting } from "./consumer_options.ts";

// ---- The seam to the canvas layer: chords and chains are completed by a hook that
// `canvas()` (src/canvas/canvas.ts) makes, so a program that never completes them never loads
// that code.

/** A task's final state, just stored (or skipped) by a worker, as the canvas layer sees it. */
export interface StoredState {
  /** The task's id. */
  taskId: string;
  /** The task's request (carrying `chord` and `chain`). */
  request: TaskRequest;
  /** SUCCESS, FAILURE or REVOKED. */
  state: TaskState;
  /** The return value, or the error for FAILURE and REVOKED. */
  result: unknown;
  /** The traceback given by the caller, if any. */
  traceback?: string | null | undefined;
  /** Whether the task's own record was stored (Celery's `store_result`). */
  storeResult: boolean;
}

/** Completes chords and fails chains after a state is stored; made by `canvas()`. */
export interface CanvasHook {
  /** Called once the task's own record is stored; resolves when the canvas work is done. */
  afterStore(backend: RedisBackend, stored: StoredState): Promise<void>;
}

/**
 * Why a request needs a {@linkcode CanvasHook} (it is a chord part, or a failing chain with
 * elements to fail), or `undefined` when it needs none.
 */
export function canvasNeed(
  request: TaskRequest | undefined,
  failing: boolean,
): string | undefined {
  if (!request) return undefined;
  if (request.chord) return "is a chord part";
  if (failing && Array.isArray(request.chain) && request.chain.length > 0) {
    return "has a chain to fail";
  }
  return undefined;
}

/** Celery refuses string payloads over this many characters (redis.py `_MAX_STR_VALUE_SIZE`). */
const MAX_STR_VALUE_SIZE = 536_870_912;

/** Options of {@linkcode RedisBackend}, named after Celery's settings. */
export interface RedisBackendOptions {
  /**
   * The Celery release line to be byte-compatible with: decides `date_done`'s form, the
   * `globalKeyprefix` joining rule and (unless `jsonDialect` is set) kombu's JSON dialect.
   * @default {"5.6"}
   */
  celeryVersion?: CeleryVersion | undefined;
  /** `result_backend_transport_options['global_keyprefix']`. @default {undefined} */
  globalKeyprefix?: string | undefined;
  /** `result_expires` in seconds, truncated to an integer; `0` or `null` stores without TTL. @default {86400} */
  resultExpires?: number | null | undefined;
  /** `result_extended`: store the task name, args, kwargs, worker, retries and queue. @default {false} */
  resultExtended?: boolean | undefined;
  /**
   * `result_serializer`: `"json"`, or a serializer factory such as `msgpackSerializer` (the name
   * `"msgpack"` is taken by the main entry's `createBackend()`; here the factory keeps the msgpack
   * codec out of programs that never use it).
   * @default {"json"}
   */
  resultSerializer?: SerializerName | SerializerFactory | undefined;
  /** `result_accept_content`: serializers allowed when reading. @default {[resultSerializer]} */
  accept?: readonly SerializerName[] | undefined;
  /** kombu JSON dialect to write. @default {"5.2" for celeryVersion 5.2, else "5.3"} */
  jsonDialect?: KombuJsonDialect | undefined;
  /** The app's `timezone`, used for `date_done` by Celery 5.5+. @default {"UTC"} */
  timezone?: string | undefined;
  /** Decode integral floats as `PyFloat`, so results re-encode byte-exactly. @default {false} */
  preserveFloats?: boolean | undefined;
  /**
   * Bounds on decoding a stored payload (containers nested at most `maxDepth` deep, at most
   * `maxItems` values in all); beyond them a read fails with `DecodeError`.
   * @default {{ maxDepth: 1024, maxItems: 1_000_000 }}
   */
  decodeLimits?: DecodeLimits | undefined;
  /** The clock for `date_done`. @default {() => new Date()} */
  now?: (() => Date) | undefined;
  /**
   * `result_backend_transport_options['result_chord_ordered']`: chord parts are collected in a
   * sorted set by group index (`true`) or in a list in completion order (`false`). Every worker of
   * a deployment must agree.
   * @default {true}
   */
  resultChordOrdered?: boolean | undefined;
  /** `result_chord_join_timeout` in seconds, for chords whose header was saved. @default {3} */
  resultChordJoinTimeout?: number | undefined;
  /**
   * How to wait for results: `"pubsub"` (needs a driver that can subscribe), `"polling"`, or
   * options for either.
   * @default {"pubsub" when the driver can subscribe, else "polling"}
   */
  consumer?: ConsumerSetting | undefined;
}

/** Options of {@linkcode RedisBackend.storeResult}. */
export interface StoreResultOptions {
  /** The traceback text to store. @default {null, or the error's stack for exception states} */
  traceback?: string | null | undefined;
  /** The request the result belongs to (group, parent, extended fields, children). */
  request?: TaskRequest | undefined;
  /**
   * The `children` to write when no request is given: Celery writes the running task's children
   * (`[]` inside a worker), `null` outside any task.
   * @default {null}
   */
  children?: ResultTuple[] | null | undefined;
}

/** Options of {@linkcode RedisBackend.markAsDone} and {@linkcode RedisBackend.markAsRevoked}. */
export interface MarkOptions {
  /**
   * Store the task's own record (Celery's `store_result`; `request.ignoreResult` also skips it).
   * Chord parts are counted either way.
   * @default {true}
   */
  storeResult?: boolean | undefined;
  /**
   * How chords are completed and chains failed (`canvas({ onBody })` from the canvas module):
   * required when the request carries a chord, or a chain to fail.
   */
  canvas?: CanvasHook | undefined;
}

/** What an errback dispatcher gets (Celery sends old-style errbacks with the failed task's id). */
export interface ErrbackContext {
  /** The failed task's id: Celery sends the errback with `args = [taskId]`, `parent_id = taskId`. */
  taskId: string;
  /** The root id to send the errback with (the request's `root_id`, else `taskId`). */
  rootId: string;
  /** The error the task failed with. */
  error: unknown;
  /** The stored traceback, if any. */
  traceback: string | null;
}

/** Dispatches one errback signature (the caller owns the broker). */
export type ErrbackHandler = (
  errback: Signature,
  context: ErrbackContext,
) => void | Promise<void>;

/**
 * Something built on a backend that must hear of `forget()` and `close()`: the waiting layer's
 * consumer attaches itself this way, so the core never imports it.
 */
export interface BackendAttachment {
  /** Stops waiting on a task that was forgotten. */
  cancelFor?(taskId: string): void;
  /** Releases what it holds; called by `close()` before the driver closes. */
  close?(): Promise<void>;
}

/** Options of {@linkcode RedisBackend.markAsFailure}. */
export interface MarkAsFailureOptions extends StoreResultOptions, MarkOptions {
  /** Send the request's errbacks through `onErrback` (Celery's `call_errbacks`). @default {true} */
  callErrbacks?: boolean | undefined;
  /** Sends one of the request's `errbacks`. @default {errbacks are not sent} */
  onErrback?: ErrbackHandler | undefined;
}

/**
 * Celery's Redis result backend: reads and writes task results exactly as Python Celery does.
 * Create one with `createBackend()`, or directly from a driver.
 *
 * @example Store a result and read it back
 * ```ts
 * import { memoryDriver, RedisBackend } from "../../mod.ts";
 * await using backend = new RedisBackend(memoryDriver());
 * await backend.markAsDone("task-1", { answer: 42 });
 * const meta = await backend.getTaskMeta("task-1");
 * console.log(meta.status, meta.result); // SUCCESS { answer: 42 }
 * ```
 */
export class RedisBackend implements AsyncDisposable {
  /** The driver commands go through. */
  readonly driver: RedisDriver;
  /** Key names for this configuration. */
  readonly keys: KeyBuilder;
  /** The serializer results are written with. */
  readonly serializer: ResultSerializer;
  /** The Celery version whose bytes are written. */
  readonly celeryVersion: CeleryVersion;
  /** TTL in seconds for stored results, or 0 for none. */
  readonly expires: number;
  /** Whether extended fields are written. */
  readonly resultExtended: boolean;
  /** Whether chord parts are collected in a sorted set (`result_chord_ordered`). */
  readonly resultChordOrdered: boolean;
  /** How long to join a saved chord header, in seconds (`result_chord_join_timeout`). */
  readonly resultChordJoinTimeout: number;
  readonly #accepted: boolean;
  readonly #timezone: string | undefined;
  readonly #now: () => Date;
  /** How results are waited for (read by the waiting layer). */
  readonly consumerSetting: ConsumerSetting | undefined;
  readonly #attachments = new Set<BackendAttachment>();
  #closed = false;

  /**
   * Creates a backend over a driver, with Celery's settings.
   * @param driver The Redis driver to use (the backend closes it on `close()`).
   * @param options Celery settings.
   */
  constructor(driver: RedisDriver, options: RedisBackendOptions = {}) {
    this.driver = driver;
    this.celeryVersion = assertCeleryVersion(options.celeryVersion ?? DEFAULT_CELERY_VERSION);
    this.keys = new KeyBuilder(options.globalKeyprefix, this.celeryVersion);
    this.serializer = serializerFactoryOf(options.resultSerializer)({
      jsonDialect: options.jsonDialect ?? (atLeast(this.celeryVersion, "5.3") ? "5.3" : "5.2"),
      preserveFloats: options.preserveFloats,
      decodeLimits: options.decodeLimits,
    });
    const serializerName = this.serializer.name;
    this.#accepted = (options.accept ?? [serializerName]).includes(serializerName);
    const expires = options.resultExpires === undefined ? 86_400 : options.resultExpires;
    if (expires !== null && (typeof expires !== "number" || Number.isNaN(expires) || expires < 0)) {
      throw new RangeError(
        `resultExpires must be a non-negative number of seconds, got ${expires}`,
      );
    }
    this.expires = expires === null ? 0 : Math.trunc(expires);
    this.resultExtended = options.resultExtended ?? false;
    this.resultChordOrdered = options.resultChordOrdered ?? true;
    const joinTimeout = options.resultChordJoinTimeout ?? 3;
    if (typeof joinTimeout !== "number" || !(joinTimeout >= 0)) {
      throw new RangeError(
        `resultChordJoinTimeout must be a non-negative number of seconds, got ${joinTimeout}`,
      );
    }
    this.resultChordJoinTimeout = joinTimeout;
    this.#timezone = options.timezone;
    this.#now = options.now ?? (() => new Date());
    this.consumerSetting = options.consumer;
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** The Redis backend sets TTLs on its keys (Celery's `supports_autoexpire`). */
  get supportsAutoexpire(): boolean {
    return true;
  }

  /** The Redis backend can join groups natively, with MGET (Celery's `supports_native_join`). */
  get supportsNativeJoin(): boolean {
    return true;
  }

  /**
   * Registers something that must hear of `forget()` and `close()` (the waiting layer's
   * consumer).
   * @param attachment What to tell.
   * @returns A function that detaches it again.
   */
  attach(attachment: BackendAttachment): () => void {
    if (this.#closed) throw new BackendClosedError();
    this.#attachments.add(attachment);
    return () => void this.#attachments.delete(attachment);
  }

  // ---- Celery's raw key/value operations -------------------------------------------------

  /** GET: the raw stored bytes of a key, or `null`. */
  async get(key: string): Promise<Uint8Array | null> {
    return asBytes(await this.#send(["GET", key]));
  }

  /** MGET: the raw stored bytes of several keys (one command), `null` for missing ones. */
  async mget(keys: readonly string[]): Promise<(Uint8Array | null)[]> {
    if (keys.length === 0) return [];
    const reply = await this.#send(["MGET", ...keys]);
    if (!Array.isArray(reply)) throw new DecodeError("MGET did not return an array");
    return reply.map(asBytes);
  }

  /**
   * Celery's `set`: stores the value with the result TTL and publishes the same bytes on the
   * channel of the same name, in one MULTI/EXEC.
   */
  set(key: string, value: string | Uint8Array): Promise<void> {
    return this.#set(this.driver, key, value);
  }

  async #set(driver: RedisDriver, key: string, value: string | Uint8Array): Promise<void> {
    if (typeof value === "string" && value.length > MAX_STR_VALUE_SIZE) {
      throw new BackendStoreError("value too large for Redis backend");
    }
    const store: RedisArg[] = this.expires > 0
      ? ["SETEX", key, this.expires, value]
      : ["SET", key, value];
    if (this.#closed) throw new BackendClosedError();
    const replies = await driver.transaction([store, ["PUBLISH", key, value]]);
    const failed = replies.find((r) => r instanceof Error);
    if (failed) throw failed;
  }

  /** DEL: removes a key. */
  async delete(key: string): Promise<void> {
    await this.#send(["DEL", key]);
  }

  /** INCR: increments a counter key and returns its new value. */
  async incr(key: string): Promise<number> {
    return Number(await this.#send(["INCRBY", key, 1]));
  }

  /**
   * EXPIRE: sets a key's TTL in seconds (Celery's `expire`).
   * @param key The key.
   * @param seconds A whole number of seconds (Redis refuses fractions, and so does this).
   * @returns Whether the key existed (Redis's reply, as Celery returns it).
   */
  async expire(key: string, seconds: number): Promise<boolean> {
    if (!Number.isSafeInteger(seconds)) {
      throw new RangeError(
        `expire() takes a whole number of seconds, got ${seconds}`,
      );
    }
    return Number(await this.#send(["EXPIRE", key, seconds])) === 1;
  }

  // ---- Encoding -------------------------------------------------------------------------------

  /** Encodes a value with the result serializer (kombu `dumps`). */
  encode(value: unknown): string | Uint8Array {
    return this.serializer.encode(value);
  }

  /**
   * Decodes a stored payload with the result serializer (kombu `loads`).
   * @throws {ContentDisallowedError} for a payload in another serializer, or when the configured
   * serializer is not in `accept`.
   * @throws {DecodeError} for corrupt bytes.
   */
  decode(payload: Uint8Array, what = "a stored payload"): unknown {
    if (!this.#accepted) {
      throw new ContentDisallowedError(
        `Refusing to deserialize ${what}: ${this.serializer.contentType} is not in accept`,
      );
    }
    try {
      return this.serializer.decode(payload);
    } catch (error) {
      throw asDecodeError(error, what);
    }
  }

  // ---- Task meta ------------------------------------------------------------------------------

  /**
   * Reads a task's meta as Python's `get_task_meta` does: a missing key is `PENDING`; for RETRY,
   * FAILURE and REVOKED the result is rebuilt into a {@linkcode TaskError}.
   * @throws {DecodeError} when the stored bytes are corrupt or not a Celery meta.
   */
  getTaskMeta(taskId: string): Promise<TaskMeta> {
    // A then rather than an async function: the hottest read, where the suspended frame cost
    // ~7% of a GET on Bun. A bad id still rejects rather than throws.
    let key: string;
    try {
      key = this.keys.task(taskId);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#send(["GET", key]).then((reply) => this.metaFromPayload(taskId, asBytes(reply)));
  }

  /**
   * Reads several tasks' metas with one MGET, in the order of `taskIds`, as they are now (to wait
   * until they are ready, use `getMany()` of the waiting layer, Celery's `get_many`).
   */
  async getTaskMetas(taskIds: readonly string[]): Promise<TaskMeta[]> {
    const keys = taskIds.map((id) => this.keys.task(id));
    const payloads = await this.mget(keys);
    return payloads.map((payload, i) => this.metaFromPayload(taskIds[i]!, payload));
  }

  /** Whether a task has a stored record at all (tells an unknown or expired id from PENDING). */
  async exists(taskId: string): Promise<boolean> {
    const payload = asBytes(await this.#send(["GET", this.keys.task(taskId)]));
    return payload !== null && payload.length > 0;
  }

  /** Decodes a stored task payload (`null` meaning no key) into its meta. */
  metaFromPayload(taskId: string, payload: Uint8Array | null): TaskMeta {
    if (payload === null || payload.length === 0) return { status: "PENDING", result: null };
    return taskMetaOf(taskId, this.decode(payload, `the result of task ${taskId}`));
  }

  /**
   * Stores a task's state and result as a Celery worker does: skips the write if the task already
   * succeeded, then SETEX (or SET) and PUBLISH of the same bytes in one MULTI/EXEC. For RETRY,
   * FAILURE and REVOKED an `Error` result is stored as Celery's exception record.
   * @returns The meta as stored, or `undefined` when a stored SUCCESS kept it from being written.
   */
  async storeResult(
    taskId: string,
    result: unknown,
    state: TaskState,
    options: StoreResultOptions = {},
  ): Promise<TaskMeta | undefined> {
    if (typeof state !== "string" || state === "") {
      throw new TypeError("state must be a non-empty string such as SUCCESS");
    }
    const key = this.keys.task(taskId);
    const isException = EXCEPTION_STATES.has(state) && isThrown(result);
    const meta = buildMeta({
      taskId,
      state,
      result: isException ? toExceptionInfo(result) : result,
      traceback: options.traceback !== undefined
        ? options.traceback
        : isException
        ? tracebackOf(result)
        : null,
      request: options.request,
      dateDone: READY_STATES.has(state)
        ? formatDateDone(this.#now(), {
          celeryVersion: this.celeryVersion,
          timezone: this.#timezone,
        })
        : null,
      extended: this.resultExtended,
      stamps: atLeast(this.celeryVersion, "5.3"),
    });
    if (!options.request && options.children !== undefined) meta.children = options.children;
    const payload = this.encode(meta);
    // Celery's never-overwrite-SUCCESS guard (a GET, not atomic, exactly as in Python), then the
    // SETEX + PUBLISH. Under a retrying driver the two are retried together, so a store rides out
    // an outage (Celery retries only the SET). Repeating them is safe: a retry that finds these
    // very bytes stored knows the lost attempt went through, and does not publish them twice.
    let attempts = 0;
    const store = async (driver: RedisDriver): Promise<TaskMeta | undefined> => {
      const stored = await this.#storedPayload(driver, key);
      if (++attempts > 1 && stored !== null && sameBytes(stored, asPayloadBytes(payload))) {
        return meta;
      }
      if (this.#statusOf(taskId, stored) === "SUCCESS") return undefined;
      await this.#set(driver, key, payload);
      return meta;
    };
    return await (isRetryingDriver(this.driver) ? this.driver.retrying(store) : store(this.driver));
  }

  /**
   * Stores SUCCESS with the task's return value, as a worker does (Celery's `mark_as_done`). When
   * the request carries a chord (`request.chord`), the part is then counted in its chord and the
   * part that completes it sends the body through `options.chord.onBody`.
   * @param taskId The task's id.
   * @param result The return value.
   * @param request The task's request.
   * @param options Whether to store the record, and how to complete a chord.
   * @returns The meta as stored, or `undefined` when not stored.
   * @throws {TypeError} when the request carries a chord and `options.canvas` is missing.
   */
  async markAsDone(
    taskId: string,
    result: unknown,
    request?: TaskRequest,
    options: MarkOptions = {},
  ): Promise<TaskMeta | undefined> {
    const canvas = requireCanvas(request, false, options.canvas);
    const storeResult = (options.storeResult ?? true) && !request?.ignoreResult;
    let meta: TaskMeta | undefined;
    if (storeResult) {
      meta = await this.storeResult(taskId, result, "SUCCESS", { request });
    }
    if (request && canvas) {
      await canvas.afterStore(this, {
        taskId,
        request,
        state: "SUCCESS",
        result,
        storeResult,
      });
    }
    return meta;
  }

  /**
   * Stores FAILURE with the exception (its stack as the traceback unless one is given), as a
   * worker does (Celery's `mark_as_failure`): then counts the part in its chord (`request.chord`),
   * fails the rest of the chain (`request.chain`) so clients waiting on its last task see the
   * error, and sends the request's errbacks through `options.onErrback`.
   * @param taskId The task's id.
   * @param error The error (a non-error value becomes `Exception(String(value))`).
   * @param options The traceback, the request, and how to complete chords and send errbacks.
   * @returns The meta as stored, or `undefined` when not stored.
   * @throws {TypeError} when a chord or a chain is involved and `options.canvas` is missing.
   */
  async markAsFailure(
    taskId: string,
    error: unknown,
    options: MarkAsFailureOptions = {},
  ): Promise<TaskMeta | undefined> {
    const { request } = options;
    const canvas = requireCanvas(request, true, options.canvas);
    const thrown = asThrown(error);
    const storeResult = options.storeResult ?? true;
    let meta: TaskMeta | undefined;
    if (storeResult) meta = await this.storeResult(taskId, thrown, "FAILURE", options);
    if (request) {
      if (canvas) {
        await canvas.afterStore(this, {
          taskId,
          request,
          state: "FAILURE",
          result: thrown,
          traceback: options.traceback,
          storeResult,
        });
      }
      const { onErrback } = options;
      if ((options.callErrbacks ?? true) && onErrback && request.errbacks) {
        const id = request.id ?? taskId;
        const context: ErrbackContext = {
          taskId: id,
          rootId: request.rootId ?? id,
          error: thrown,
          traceback: meta?.traceback ?? options.traceback ??
            tracebackOf(thrown),
        };
        for (const errback of request.errbacks) {
          await onErrback(errback, context);
        }
      }
    }
    return meta;
  }

  /**
   * Stores STARTED with `{ pid, hostname }` (or any meta), as a worker does under
   * `task_track_started`.
   */
  markAsStarted(
    taskId: string,
    meta: Record<string, unknown> = {},
    request?: TaskRequest,
  ): Promise<TaskMeta | undefined> {
    return this.storeResult(taskId, meta, "STARTED", { request });
  }

  /** Stores RETRY with the exception that caused it (or `null` when retried without one). */
  markAsRetry(
    taskId: string,
    error: unknown | null,
    options: StoreResultOptions = {},
  ): Promise<TaskMeta | undefined> {
    return this.storeResult(taskId, error === null ? null : asThrown(error), "RETRY", options);
  }

  /**
   * Stores REVOKED with Celery's `TaskRevokedError(reason)`; Celery's reasons are `revoked`,
   * `expired` and `terminated`. A chord part (`request.chord`) is then counted in its chord, which
   * makes the body fail with a `ChordError`.
   * @param taskId The task's id.
   * @param reason The reason.
   * @param request The task's request.
   * @param options Whether to store the record, and how to complete a chord.
   * @returns The meta as stored, or `undefined` when not stored.
   * @throws {TypeError} when the request carries a chord and `options.canvas` is missing.
   */
  async markAsRevoked(
    taskId: string,
    reason = "",
    request?: TaskRequest,
    options: MarkOptions = {},
  ): Promise<TaskMeta | undefined> {
    const canvas = requireCanvas(request, false, options.canvas);
    const error = new TaskError(
      "TaskRevokedError",
      [reason],
      "celery.exceptions",
    );
    const storeResult = options.storeResult ?? true;
    let meta: TaskMeta | undefined;
    if (storeResult) {
      meta = await this.storeResult(taskId, error, "REVOKED", {
        request,
        traceback: null,
      });
    }
    if (request && canvas) {
      await canvas.afterStore(this, {
        taskId,
        request,
        state: "REVOKED",
        result: error,
        storeResult,
      });
    }
    return meta;
  }

  // ---- Groups (Celery's backend methods) ------------------------------------------------------

  /**
   * Celery's `save_group`: stores `{"result": <group tuple>}` under `celery-taskset-meta-<id>`
   * (SETEX + PUBLISH), byte for byte as Python's `GroupResult.save()`.
   * @param groupId The key's group id.
   * @param result The group (a `GroupResult`, or anything that gives Celery's result tuple).
   * @returns The group.
   */
  async saveGroup<G extends { asTuple(): ResultTuple }>(
    groupId: string,
    result: G,
  ): Promise<G> {
    await this.set(
      this.keys.group(groupId),
      this.encode({ result: result.asTuple() }),
    );
    return result;
  }

  /**
   * Celery's `delete_group`: deletes the saved group (not its members' results).
   * @param groupId The group id.
   * @returns Nothing; resolves once deleted.
   */
  async deleteGroup(groupId: string): Promise<void> {
    await this.delete(this.keys.group(groupId));
  }

  /** Deletes a task's result and stops waiting on it (Celery's `forget`: DEL + `cancel_for`). */
  async forget(taskId: string): Promise<void> {
    await this.delete(this.keys.task(taskId));
    for (const attachment of this.#attachments) attachment.cancelFor?.(taskId);
  }

  // ---- Lifecycle ------------------------------------------------------------------------------

  /** Closes the driver's connections. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const attachments = [...this.#attachments];
    this.#attachments.clear();
    await Promise.all(attachments.map((attachment) => attachment.close?.()));
    await this.driver.close();
  }

  /** Same as {@linkcode RedisBackend.close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #storedPayload(driver: RedisDriver, key: string): Promise<Uint8Array | null> {
    if (this.#closed) throw new BackendClosedError();
    return asBytes(await driver.send(["GET", key]));
  }

  #statusOf(taskId: string, payload: Uint8Array | null): unknown {
    if (payload === null || payload.length === 0) return "PENDING";
    const decoded = this.decode(payload, `the result of task ${taskId}`);
    return (decoded as { status?: unknown } | null)?.status;
  }

  #send(command: RedisArg[]): Promise<RedisReply> {
    if (this.#closed) return Promise.reject(new BackendClosedError());
    return this.driver.send(command);
  }
}

function asBytes(reply: RedisReply): Uint8Array | null {
  if (reply === null || reply instanceof Uint8Array) return reply;
  if (typeof reply === "string") return new TextEncoder().encode(reply);
  throw new DecodeError(`Expected a string reply from Redis, got ${describeReply(reply)}`);
}

function asPayloadBytes(payload: string | Uint8Array): Uint8Array {
  return typeof payload === "string" ? new TextEncoder().encode(payload) : payload;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function describeReply(reply: RedisReply): string {
  return Array.isArray(reply) ? "an array" : typeof reply;
}

function isThrown(value: unknown): boolean {
  return value instanceof Error ||
    (value !== null && typeof value === "object" &&
      typeof (value as { excType?: unknown }).excType === "string");
}

function serializerFactoryOf(
  setting: SerializerName | SerializerFactory | undefined,
): SerializerFactory {
  if (typeof setting === "function") return setting;
  if (setting === undefined || setting === "json") return jsonSerializer;
  if (setting === "msgpack") {
    throw new TypeError(
      'resultSerializer "msgpack": pass msgpackSerializer (exported by both entry points), or use ' +
        "the main entry's createBackend(), which takes the name",
    );
  }
  throw new RangeError(
    `Unsupported result serializer "${String(setting)}": expected "json" or "msgpack" ` +
      "(pickle and yaml payloads cannot be read from JavaScript)",
  );
}

function requireCanvas(
  request: TaskRequest | undefined,
  failing: boolean,
  canvas: CanvasHook | undefined,
): CanvasHook | undefined {
  const need = canvas ? undefined : canvasNeed(request, failing);
  if (need) {
    throw new TypeError(
      `The request ${need}: pass options.canvas, made by canvas({ onBody }) from the canvas module`,
    );
  }
  return canvas;
}

// A failure stored with a non-error value (a string, say) still needs an exception record.
function asThrown(value: unknown): unknown {
  return isThrown(value) ? value : new Error(String(value));
}
