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
import {
  asDecodeError,
  createSerializer,
  type KombuJsonDialect,
  type ResultSerializer,
  type SerializerName,
} from "../wire/serializers.ts";
import type { DecodeLimits } from "../wire/serialization/decode_limits.ts";
import { EXCEPTION_STATES, READY_STATES, type TaskState } from "../wire/states.ts";
import { AsyncResult } from "../results/async_result.ts";
import { PollingConsumer, type PollingConsumerOptions } from "../results/consumer/polling_consumer.ts";
import { ResultConsumer, type ResultConsumerOptions } from "../results/consumer/result_consumer.ts";
import type { ResultWaiter } from "../results/consumer/waiters.ts";
import { TaskError, toExceptionInfo, tracebackOf } from "../wire/task_error.ts";
import {
  addToChord,
  applyChord,
  type ChordPartOptions,
  type ChordPartResult,
  type ChordRequest,
  type ErrbackHandler,
  onChordPartReturn,
  runErrbacks,
  setChordSize,
} from "../canvas/chord.ts";
import { needsChordOptions, propagateChainFailure } from "../canvas/chain.ts";
import { type GroupMember, GroupResult } from "../results/group_result.ts";
import type { ResultTuple } from "../wire/meta.ts";

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
  /** `result_serializer`. @default {"json"} */
  resultSerializer?: SerializerName | undefined;
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
  consumer?:
    | "pubsub"
    | "polling"
    | ({ type: "pubsub" } & ResultConsumerOptions)
    | ({ type: "polling" } & PollingConsumerOptions)
    | undefined;
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
  /** How to complete the chord when the request carries one (`request.chord`): required then. */
  chord?: ChordPartOptions | undefined;
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
  readonly #consumerOption: RedisBackendOptions["consumer"];
  #consumer: ResultWaiter | undefined;
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
    const serializerName = options.resultSerializer ?? "json";
    this.serializer = createSerializer(serializerName, {
      jsonDialect: options.jsonDialect ?? (atLeast(this.celeryVersion, "5.3") ? "5.3" : "5.2"),
      preserveFloats: options.preserveFloats,
      decodeLimits: options.decodeLimits,
    });
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
    this.#consumerOption = options.consumer;
  }

  // ---- Waiting --------------------------------------------------------------------------------

  /**
   * The consumer that waits for results, created on first use: pub/sub on one shared subscription
   * connection when the driver can subscribe, polling with one MGET per tick otherwise.
   */
  get consumer(): ResultWaiter {
    if (this.#closed) throw new BackendClosedError();
    if (!this.#consumer) {
      const option = this.#consumerOption;
      const settings = typeof option === "object" ? option : { type: option };
      const type = settings.type ?? (this.driver.openSubscriber ? "pubsub" : "polling");
      this.#consumer = type === "pubsub"
        ? new ResultConsumer(this, settings as ResultConsumerOptions)
        : new PollingConsumer(this, settings as PollingConsumerOptions);
    }
    return this.#consumer;
  }

  /** An {@linkcode AsyncResult} for a task id (Celery's `AsyncResult(id)`). */
  asyncResult(taskId: string): AsyncResult {
    return new AsyncResult(taskId, this);
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

  /** EXPIRE: sets a key's TTL in seconds. */
  async expire(key: string, seconds: number): Promise<void> {
    await this.#send(["EXPIRE", key, Math.trunc(seconds)]);
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
  async getTaskMeta(taskId: string): Promise<TaskMeta> {
    const key = this.keys.task(taskId);
    return this.metaFromPayload(taskId, asBytes(await this.#send(["GET", key])));
  }

  /** Reads several tasks' metas with one MGET, in the order of `taskIds`. */
  async getMany(taskIds: readonly string[]): Promise<TaskMeta[]> {
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
    const decoded = this.decode(payload, `the result of task ${taskId}`);
    if (decoded === null || typeof decoded !== "object" || Array.isArray(decoded)) {
      throw new DecodeError(`The stored result of task ${taskId} is not a Celery meta object`);
    }
    const meta = decoded as TaskMeta;
    if (typeof meta.status !== "string") {
      throw new DecodeError(`The stored result of task ${taskId} has no status`);
    }
    if (EXCEPTION_STATES.has(meta.status) && meta.result) {
      try {
        meta.result = TaskError.fromExceptionInfo(meta.result, {
          taskId: typeof meta.task_id === "string" ? meta.task_id : taskId,
          state: meta.status,
          traceback: typeof meta.traceback === "string" ? meta.traceback : null,
        });
      } catch (error) {
        throw asDecodeError(error, `the ${meta.status} record of task ${taskId}`);
      }
    } else if (EXCEPTION_STATES.has(meta.status)) {
      meta.result = null;
    }
    return meta;
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
   * @throws {TypeError} when the request carries a chord and `options.chord` is missing.
   */
  async markAsDone(
    taskId: string,
    result: unknown,
    request?: TaskRequest,
    options: MarkOptions = {},
  ): Promise<TaskMeta | undefined> {
    const chord = requireChordOptions(request, false, options.chord);
    let meta: TaskMeta | undefined;
    if ((options.storeResult ?? true) && !request?.ignoreResult) {
      meta = await this.storeResult(taskId, result, "SUCCESS", { request });
    }
    if (request?.chord && chord) {
      await this.onChordPartReturn(chordRequest(taskId, request), "SUCCESS", result, chord);
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
   * @throws {TypeError} when a chord part is involved and `options.chord` is missing.
   */
  async markAsFailure(
    taskId: string,
    error: unknown,
    options: MarkAsFailureOptions = {},
  ): Promise<TaskMeta | undefined> {
    const { request } = options;
    const chord = requireChordOptions(request, true, options.chord);
    const thrown = asThrown(error);
    const storeResult = options.storeResult ?? true;
    let meta: TaskMeta | undefined;
    if (storeResult) meta = await this.storeResult(taskId, thrown, "FAILURE", options);
    if (request) {
      if (request.chord && chord) {
        await this.onChordPartReturn(chordRequest(taskId, request), "FAILURE", thrown, chord);
      }
      await propagateChainFailure(this, request, "FAILURE", thrown, {
        traceback: options.traceback,
        storeResult,
        chord,
      });
      if (options.callErrbacks ?? true) {
        const id = request.id ?? taskId;
        await runErrbacks(request.errbacks, {
          taskId: id,
          rootId: request.rootId ?? id,
          error: thrown,
          traceback: meta?.traceback ?? options.traceback ?? tracebackOf(thrown),
        }, options.onErrback);
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
   * @throws {TypeError} when the request carries a chord and `options.chord` is missing.
   */
  async markAsRevoked(
    taskId: string,
    reason = "",
    request?: TaskRequest,
    options: MarkOptions = {},
  ): Promise<TaskMeta | undefined> {
    const chord = requireChordOptions(request, false, options.chord);
    const error = new TaskError("TaskRevokedError", [reason], "celery.exceptions");
    let meta: TaskMeta | undefined;
    if (options.storeResult ?? true) {
      meta = await this.storeResult(taskId, error, "REVOKED", { request, traceback: null });
    }
    if (request?.chord && chord) {
      await this.onChordPartReturn(chordRequest(taskId, request), "REVOKED", error, chord);
    }
    return meta;
  }

  // ---- Chords and groups (Celery's backend methods) -------------------------------------------

  /**
   * Celery's `set_chord_size`: stores the header's size (see {@linkcode setChordSize}).
   * @param groupId The chord's header group id.
   * @param size The number of header parts.
   * @returns Nothing; resolves once stored.
   */
  setChordSize(groupId: string, size: number): Promise<void> {
    return setChordSize(this, groupId, size);
  }

  /**
   * Celery's `apply_chord`: saves a header holding nested groups (see {@linkcode applyChord}).
   * @param groupId The chord's header group id.
   * @param results The header's results, in order.
   * @returns Whether the header was saved.
   */
  applyChord(groupId: string, results: readonly GroupMember[]): Promise<boolean> {
    return applyChord(this, groupId, results);
  }

  /**
   * Celery's `add_to_chord`: counts one more header part (see {@linkcode addToChord}).
   * @param groupId The chord's header group id.
   * @returns How many tasks have been added to the chord.
   */
  addToChord(groupId: string): Promise<number> {
    return addToChord(this, groupId);
  }

  /**
   * Celery's `on_chord_part_return` (see {@linkcode onChordPartReturn}).
   * @param request The header task's request.
   * @param state The part's state.
   * @param result The part's return value or error.
   * @param options How to send the body.
   * @returns What happened to the chord.
   */
  onChordPartReturn(
    request: ChordRequest,
    state: TaskState,
    result: unknown,
    options: ChordPartOptions,
  ): Promise<ChordPartResult> {
    return onChordPartReturn(this, request, state, result, options);
  }

  /**
   * Celery's `save_group`: stores `{"result": <group tuple>}` under `celery-taskset-meta-<id>`
   * (SETEX + PUBLISH), byte for byte as Python's `GroupResult.save()`.
   * @param groupId The key's group id.
   * @param result The group.
   * @returns The group.
   */
  async saveGroup(groupId: string, result: GroupResult): Promise<GroupResult> {
    await this.set(this.keys.group(groupId), this.encode({ result: result.asTuple() }));
    return result;
  }

  /**
   * Celery's `restore_group`: the group saved under the id (by Python or TypeScript), nested groups
   * and parents included, or `null`.
   * @param groupId The group id.
   * @returns The group, or `null` when none is stored.
   */
  restoreGroup(groupId: string): Promise<GroupResult | null> {
    return GroupResult.restore(this, groupId);
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
    this.#consumer?.cancelFor(taskId);
  }

  // ---- Lifecycle ------------------------------------------------------------------------------

  /** Closes the driver's connections. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#consumer?.stop();
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

function requireChordOptions(
  request: TaskRequest | undefined,
  failing: boolean,
  chord: ChordPartOptions | undefined,
): ChordPartOptions | undefined {
  if (!chord && needsChordOptions(request, failing)) {
    throw new TypeError(
      "The request is a chord part: pass options.chord with onBody to send the chord's body",
    );
  }
  return chord;
}

// Celery reads the part's id from the request; a request without one is the task being stored.
function chordRequest(taskId: string, request: TaskRequest): ChordRequest {
  return { ...request, id: request.id ?? taskId } as ChordRequest;
}

// A failure stored with a non-error value (a string, say) still needs an exception record.
function asThrown(value: unknown): unknown {
  return isThrown(value) ? value : new Error(String(value));
}
