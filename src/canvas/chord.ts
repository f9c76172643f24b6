/**
 * Chords on Redis, the worker side (celery/backends/redis.py `set_chord_size`, `apply_chord`,
 * `add_to_chord`, `on_chord_part_return`; celery/backends/base.py `chord_error_from_stack`).
 *
 * Redis chords count completions in Redis instead of polling with `celery.chord_unlock`: every
 * header part adds `[1, id, state, result]` to `celery-taskset-meta-<group>.j` in one MULTI/EXEC
 * with the reads of `.t` (tasks added with `add_to_chord`) and `.s` (the chord size). The part that
 * brings the count to exactly size + added fires the body. Firing means publishing a task, which
 * is the caller's business: {@linkcode ChordPartOptions.onBody} receives the body signature and
 * the results, so this module needs no broker.
 *
 * @module
 */
import { AsyncResult } from "../results/async_result.ts";
import type { ErrbackContext, ErrbackHandler, RedisBackend } from "../backend/redis_backend.ts";
export type { ErrbackContext, ErrbackHandler };
import { atLeast } from "../wire/celery_version.ts";
import type { RedisArg, RedisReply } from "../connection/driver.ts";
import { DecodeError, TimeoutError } from "../errors.ts";
import { type GroupMember, GroupResult, resultTuple } from "../results/group_result.ts";
import type { ResultTuple, Signature, TaskRequest } from "../wire/meta.ts";
import { EXCEPTION_STATES, PROPAGATE_STATES, type TaskState } from "../wire/states.ts";
import { TaskError, toExceptionInfo } from "../wire/task_error.ts";
import { pythonRepr, pythonStr } from "../wire/python_repr.ts";

/**
 * What a chord header task's request carries (the task message's headers `id`, `group`,
 * `group_index`, `root_id` and the embedded `chord`): the fields
 * {@linkcode onChordPartReturn} reads.
 */
export interface ChordRequest extends TaskRequest {
  /** The header task's id. */
  id: string;
  /** The chord's header group id. */
  group: string;
  /** The position in the header (the ZSET score); parts without one sort last (`+inf`). */
  groupIndex?: number | undefined;
  /** The body signature, with the body's pre-frozen id in `options.task_id`. */
  chord: Signature | null | undefined;
}

/** What {@linkcode ChordPartOptions.onBody} gets besides the body and the results. */
export interface ChordBodyContext {
  /** The header group id (the body's `group_id` option). */
  groupId: string;
  /** The header part that completed the chord: Celery sends the body as its child (`parent_id`). */
  parentId: string;
  /** The workflow's root id, to send the body with (`root_id`). */
  rootId: string | undefined;
  /** The request of the part that completed the chord. */
  request: ChordRequest;
}

/** Options of {@linkcode onChordPartReturn} (and of the `markAs*` methods for chord parts). */
export interface ChordPartOptions {
  /**
   * Sends the body: publish `body` as a task with `args = [results]` and its own options (its
   * `task_id` is pre-frozen). Called exactly once per chord, by the part that completes it. When it
   * throws, the body is marked FAILURE with `ChordError("Callback error: …")`, as in Celery.
   */
  onBody: (body: Signature, results: unknown[], context: ChordBodyContext) => void | Promise<void>;
  /**
   * `result_chord_ordered`: collect parts in a sorted set by group index (`ZADD`/`ZCOUNT`) or in
   * a list in completion order (`RPUSH`/`LLEN`). Every worker of a chord must agree.
   * @default {the backend's resultChordOrdered (true)}
   */
  ordered?: boolean | undefined;
  /**
   * `result_chord_join_timeout` in milliseconds, for headers saved by
   * {@linkcode applyChord} (nested groups), which are joined when the chord completes.
   * @default {the backend's resultChordJoinTimeout (3 s)}
   */
  joinTimeout?: number | undefined;
  /** Sends the body's `link_error` errbacks when the chord fails. @default {errbacks are not sent} */
  onErrback?: ErrbackHandler | undefined;
  /**
   * Revokes the tasks of a group body when the chord fails (Celery 5.6+ revokes them with a
   * control broadcast before marking them FAILURE). @default {nothing is revoked}
   */
  onRevoke?: ((taskIds: string[]) => void | Promise<void>) | undefined;
  /**
   * Aborts the join of a saved header: the call rejects with the signal's reason and the chord
   * is left as it is (no FAILURE is stored).
   */
  signal?: AbortSignal | undefined;
}

/** What happened to a chord when a part returned. */
export interface ChordPartResult {
  /**
   * `skipped`: the request has no group or id; `waiting`: parts are outstanding or the size is not
   * stored yet; `fired`: this part completed the chord and the body was sent; `failed`: this part
   * completed the chord and the body was marked FAILURE with a `ChordError`.
   */
  status: "skipped" | "waiting" | "fired" | "failed";
  /** How many parts are collected (`ZCOUNT`/`LLEN`), or `null` when skipped. */
  readyCount: number | null;
  /** The chord size plus added tasks, or `null` while the size is unknown. */
  total: number | null;
  /** The `ChordError` (or original error, for group bodies) stored on the body, when failed. */
  error?: TaskError | undefined;
}

/**
 * Celery's `set_chord_size`: stores the number of header parts under
 * `celery-taskset-meta-<groupId>.s` as a plain decimal (SETEX + PUBLISH with the result TTL).
 * Python clients call it just before publishing the last header task.
 *
 * @param backend The backend.
 * @param groupId The chord's header group id.
 * @param size How many parts the header has (simple tasks count 1, nested groups their members).
 * @returns Nothing; resolves once stored.
 * @throws {RangeError} when `size` is not a non-negative integer.
 *
 * @example Announce a chord of three parts
 * ```ts
 * import { createBackend, setChordSize } from "../../mod.ts";
 * await using backend = createBackend("memory://");
 * await setChordSize(backend, "g1", 3);
 * console.log(new TextDecoder().decode((await backend.get("celery-taskset-meta-g1.s"))!)); // 3
 * ```
 */
export async function setChordSize(
  backend: RedisBackend,
  groupId: string,
  size: number,
): Promise<void> {
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new RangeError(`The chord size must be a non-negative integer, got ${size}`);
  }
  await backend.set(backend.keys.chord(groupId).size, String(size));
}

/**
 * Celery's `apply_chord`: when the header's results contain a nested group ("complex" header),
 * saves the header as a group (`celery-taskset-meta-<groupId>`) so the chord's completion joins it
 * and passes nested results to the body; otherwise does nothing.
 *
 * @param backend The backend.
 * @param groupId The chord's header group id.
 * @param results The header's results, in order.
 * @returns Whether the header was saved.
 *
 * @example A header with a nested group is saved
 * ```ts
 * import { applyChord, AsyncResult, createBackend, GroupResult } from "../../mod.ts";
 * await using backend = createBackend("memory://");
 * const [a, b, c] = ["a", "b", "c"].map((id) => new AsyncResult(id, backend));
 * const inner = new GroupResult("inner", [b!, c!], backend);
 * console.log(await applyChord(backend, "g1", [a!, inner])); // true
 * ```
 */
export async function applyChord(
  backend: RedisBackend,
  groupId: string,
  results: readonly GroupMember[],
): Promise<boolean> {
  if (!results.some((r) => r instanceof GroupResult)) return false;
  await new GroupResult(groupId, results, backend).save();
  return true;
}

/**
 * Celery's `add_to_chord`: counts one more header part (`INCRBY celery-taskset-meta-<id>.t 1`),
 * for a task that extends the chord it belongs to (`Task.add_to_chord`). Send the new task with
 * the caller's `group_id`, `group_index`, `chord` and `root_id` options.
 *
 * @param backend The backend.
 * @param groupId The chord's header group id.
 * @returns How many tasks have been added to the chord so far.
 *
 * @example Extend a chord by one task
 * ```ts
 * import { addToChord, createBackend } from "../../mod.ts";
 * await using backend = createBackend("memory://");
 * console.log(await addToChord(backend, "g1")); // 1
 * ```
 */
export async function addToChord(backend: RedisBackend, groupId: string): Promise<number> {
  return await backend.incr(backend.keys.chord(groupId).added);
}

/**
 * Celery's `on_chord_part_return` for the Redis backend: records a header part's outcome and, if
 * it is the part that completes the chord, sends the body through `options.onBody` with the
 * results in group-index order (or completion order in list mode), then deletes the chord keys.
 * A failed or revoked part makes the body FAILURE with Celery's
 * `ChordError("Dependency <id> raised <repr>")` instead, and the keys are left to expire.
 *
 * The record is one MULTI/EXEC (`ZADD`+`ZCOUNT` or `RPUSH`+`LLEN`, `GET .t`, `GET .s`, and
 * `EXPIRE` of the three keys), so however many processes complete parts at once, exactly one sees
 * the count reach size + added.
 *
 * @param backend The backend.
 * @param request The header task's request (its id, group, group index and the body).
 * @param state The part's state: `SUCCESS`, `FAILURE` or `REVOKED`.
 * @param result The part's return value, or its error.
 * @param options How to send the body, and the chord settings.
 * @returns What happened to the chord.
 * @throws {RedisReplyError} when the chord keys hold another type (workers disagree on `ordered`).
 *
 * @example The last part fires the body with the results in order
 * ```ts
 * import { createBackend, onChordPartReturn, setChordSize } from "../../mod.ts";
 * await using backend = createBackend("memory://");
 * const body = { task: "proj.tsum", args: [], kwargs: {}, options: { task_id: "body-1" } };
 * await setChordSize(backend, "g1", 2);
 * const onBody = (_body: unknown, results: unknown[]) => console.log(results); // [ 1, 2 ]
 * for (const [i, id] of [[1, "t2"], [0, "t1"]] as const) {
 *   await backend.markAsDone(id, i + 1);
 *   await onChordPartReturn(backend, { id, group: "g1", groupIndex: i, chord: body }, "SUCCESS", i + 1, {
 *     onBody,
 *   });
 * }
 * ```
 */
export async function onChordPartReturn(
  backend: RedisBackend,
  request: ChordRequest,
  state: TaskState,
  result: unknown,
  options: ChordPartOptions,
): Promise<ChordPartResult> {
  const taskId = request.id;
  const groupId = request.group;
  if (!groupId || !taskId) return { status: "skipped", readyCount: null, total: null };
  if (typeof options?.onBody !== "function") {
    throw new TypeError("onChordPartReturn needs options.onBody to send the chord body");
  }
  const ordered = options.ordered ?? backend.resultChordOrdered;
  const keys = backend.keys.chord(groupId);
  const member = backend.encode([1, taskId, state, encodeResult(result, state)]);
  const score: RedisArg = typeof request.groupIndex === "number" ? request.groupIndex : "+inf";
  const commands: RedisArg[][] = ordered
    ? [["ZADD", keys.results, score, member], ["ZCOUNT", keys.results, "-inf", "+inf"]]
    : [["RPUSH", keys.results, member], ["LLEN", keys.results]];
  commands.push(["GET", keys.added], ["GET", keys.size]);
  if (backend.expires > 0) {
    for (const key of [keys.results, keys.added, keys.size]) {
      commands.push(["EXPIRE", key, backend.expires]);
    }
  }
  const replies = await backend.driver.transaction(commands);
  const failed = replies.find((r) => r instanceof Error);
  if (failed) throw failed;
  const readyCount = Number(replies[1]);
  const totalDiff = pythonInt(replies[2], 0, keys.added);
  const sizeBytes = replies[3];
  // The size is not stored yet (the client stores it just before sending the last part): a later
  // part completes the chord.
  if (sizeBytes === null || sizeBytes === undefined || byteLength(sizeBytes) === 0) {
    return { status: "waiting", readyCount, total: null };
  }

  const body = request.chord;
  const fail = async (error: TaskError, total: number | null): Promise<ChordPartResult> => {
    if (!body) throw new TypeError(`Chord ${groupId} failed, but request.chord has no body`);
    const stored = await chordErrorFromStack(backend, body, error, request, options);
    return { status: "failed", readyCount, total, error: stored };
  };
  let total: number;
  try {
    total = pythonInt(sizeBytes, 0, keys.size) + totalDiff;
  } catch (error) {
    return await fail(chordError(`Join error: ${reprOf(error)}`), null);
  }
  if (readyCount !== total) return { status: "waiting", readyCount, total };
  if (!body) throw new TypeError(`Chord ${groupId} is complete, but request.chord has no body`);
  try {
    let results: unknown[];
    const header = await GroupResult.restore(backend, groupId);
    if (header !== null) {
      // A complex header saved by applyChord(): join it for the nested structure.
      const timeout = options.joinTimeout ?? backend.resultChordJoinTimeout * 1000;
      results = await header.joinNative({ timeout, propagate: true, signal: options.signal });
    } else {
      const range: RedisArg[] = ordered
        ? ["ZRANGE", keys.results, 0, -1]
        : ["LRANGE", keys.results, 0, total];
      const [members] = await backend.driver.transaction([range]);
      if (members instanceof Error) throw members;
      if (!Array.isArray(members)) throw new DecodeError(`${range[0]} did not return an array`);
      results = members.map((m) => unpackChordResult(backend, m));
    }
    try {
      await options.onBody(body, results, {
        groupId,
        parentId: taskId,
        rootId: request.rootId,
        request,
      });
    } catch (error) {
      return await fail(chordError(`Callback error: ${reprOf(error)}`), total);
    } finally {
      await backend.driver.transaction([
        ["DEL", keys.results],
        ["DEL", keys.added],
        ["DEL", keys.size],
      ]);
    }
    return { status: "fired", readyCount, total };
  } catch (error) {
    // The caller gave up: that is not a chord failure, so nothing is stored.
    if (options.signal?.aborted) throw error;
    if (isChordError(error)) return await fail(error, total);
    // Celery's bytes for a join that timed out (our TimeoutError's message also names the task).
    const reason = error instanceof TimeoutError
      ? "TimeoutError('The operation timed out.')"
      : reprOf(error);
    return await fail(chordError(`Join error: ${reason}`), total);
  }
}

/** Celery's `encode_result`: errors in exception states become their record, results tuples. */
function encodeResult(result: unknown, state: TaskState): unknown {
  if (EXCEPTION_STATES.has(state) && isErrorLike(result)) return toExceptionInfo(result);
  if (result instanceof GroupResult || result instanceof AsyncResult) return resultTuple(result);
  return result;
}

// ---- Failure path -------------------------------------------------------------------------------

// Celery's chord_error_from_stack: run the body's errbacks, then store FAILURE on the body. With
// Celery 5.6+ a group body instead has each of its tasks (and the group) failed with the original
// error.
async function chordErrorFromStack(
  backend: RedisBackend,
  body: Signature,
  error: TaskError,
  request: TaskRequest,
  options: ChordPartOptions,
): Promise<TaskError> {
  // A failure stored "from the current stack" belongs to the running task: its children.
  const children: ResultTuple[] = request.children ?? [];
  const errbacks = body.options?.link_error ?? [];
  if (body.subtask_type === "group" && atLeast(backend.celeryVersion, "5.6")) {
    const original = error.cause instanceof TaskError ? error.cause : error;
    const tasks = Array.isArray(body.kwargs?.tasks) ? body.kwargs.tasks as Signature[] : [];
    const ids = tasks.map((t) => t?.options?.task_id).filter((id): id is string => !!id);
    await options.onRevoke?.(ids);
    for (const id of ids) {
      try {
        await runErrbacks(
          errbacks,
          { taskId: id, rootId: id, error: original, traceback: null },
          options.onErrback,
        );
      } catch { /* Celery continues with the next task */ }
      await backend.markAsFailure(id, original, {
        traceback: chordTraceback(original, backend.celeryVersion),
        children,
      });
    }
    const groupTaskId = body.options?.task_id;
    if (groupTaskId) {
      await backend.markAsFailure(groupTaskId, original, { traceback: null, children });
    }
    return original;
  }
  const bodyId = body.options?.task_id;
  let stored: TaskError = error;
  try {
    await runErrbacks(
      errbacks,
      { taskId: bodyId ?? "", rootId: bodyId ?? "", error, traceback: null },
      options.onErrback,
    );
  } catch (errbackError) {
    stored = asTaskError(errbackError);
  }
  if (bodyId) {
    await backend.markAsFailure(bodyId, stored, {
      traceback: chordTraceback(stored, backend.celeryVersion),
      children,
    });
  }
  return stored;
}

/**
 * Sends errbacks through the handler (without one they are not sent).
 * @internal
 */
export async function runErrbacks(
  errbacks: readonly Signature[] | null | undefined,
  context: ErrbackContext,
  handler: ErrbackHandler | undefined,
): Promise<void> {
  if (!handler || !errbacks) return;
  for (const errback of errbacks) await handler(errback, context);
}

function unpackChordResult(backend: RedisBackend, member: RedisReply): unknown {
  if (!(member instanceof Uint8Array)) throw new DecodeError("A chord member is not a string");
  const decoded = backend.decode(member, "a chord part");
  if (!Array.isArray(decoded) || decoded.length !== 4) {
    throw new DecodeError("A chord part is not Celery's [1, id, state, result]");
  }
  const [, tid, state, value] = decoded as [unknown, unknown, unknown, unknown];
  let retval = value;
  if (typeof state === "string" && EXCEPTION_STATES.has(state)) {
    retval = value ? TaskError.fromExceptionInfo(value, { taskId: String(tid), state }) : null;
  }
  if (typeof state === "string" && PROPAGATE_STATES.has(state)) {
    throw chordError(
      `Dependency ${String(tid)} raised ${reprOf(retval)}`,
      retval instanceof TaskError ? retval : undefined,
    );
  }
  return retval;
}

function chordError(message: string, cause?: TaskError): TaskError {
  return new TaskError("ChordError", [message], "celery.exceptions", cause ? { cause } : {});
}

function isChordError(error: unknown): error is TaskError {
  return error instanceof TaskError && error.excType === "ChordError" &&
    (error.excModule === "celery.exceptions" || error.excModule === undefined);
}

function asTaskError(error: unknown): TaskError {
  if (error instanceof TaskError) return error;
  const info = toExceptionInfo(error);
  const args = Array.isArray(info.exc_message) ? info.exc_message : [info.exc_message];
  return new TaskError(info.exc_type, args, info.exc_module ?? undefined, { cause: error });
}

/**
 * The traceback text stored with a chord error, in Python's format (so Python's tblib can parse
 * it): Celery 5.6+ chains a dependency's error as the cause.
 */
function chordTraceback(error: TaskError, celeryVersion: RedisBackend["celeryVersion"]): string {
  const frame = 'Traceback (most recent call last):\n  File "celery-redis-results/chord.ts", ' +
    "line 1, in on_chord_part_return\n";
  const own = frame + exceptionOnly(error) + "\n";
  if (error.cause instanceof TaskError && atLeast(celeryVersion, "5.6")) {
    return (error.cause.traceback ?? exceptionOnly(error.cause) + "\n") +
      "\nThe above exception was the direct cause of the following exception:\n\n" + own;
  }
  return own;
}

// Python's traceback.format_exception_only: "module.Name: str(exc)" (builtins unqualified).
function exceptionOnly(error: TaskError): string {
  const module = error.excModule;
  const name = module && module !== "builtins" && module !== "__main__"
    ? `${module}.${error.excType}`
    : error.excType;
  const args = error.excMessage;
  // KeyError's str() is the repr of its key.
  const text = error.excType === "KeyError" && args.length === 1
    ? pythonRepr(args[0])
    : pythonStr(args);
  return text === "" ? name : `${name}: ${text}`;
}

// ---- Python's repr, for ChordError messages ----------------------------------------------------

// repr() of a value, an Error being the Python exception it is stored as.
function reprOf(value: unknown): string {
  return pythonRepr(value instanceof Error ? asTaskError(value) : value);
}

// ---- Small helpers ---------------------------------------------------------------------------------

function isErrorLike(value: unknown): boolean {
  return value instanceof Error ||
    (value !== null && typeof value === "object" &&
      typeof (value as { excType?: unknown }).excType === "string");
}

function byteLength(reply: RedisReply): number {
  if (reply instanceof Uint8Array || typeof reply === "string") return reply.length;
  return 1;
}

// Python's int() of a Redis reply (nil counts as `fallback`, as `int(x or 0)`).
function pythonInt(reply: RedisReply | undefined, fallback: number, key: string): number {
  if (reply === null || reply === undefined) return fallback;
  if (typeof reply === "number") return reply;
  const text = reply instanceof Uint8Array ? new TextDecoder().decode(reply) : String(reply);
  if (text === "") return fallback;
  const trimmed = text.trim().replaceAll("_", "");
  if (!/^[+-]?\d+$/.test(trimmed)) {
    throw new DecodeError(`invalid literal for int() with base 10: ${pythonRepr(text)} (${key})`);
  }
  return Number(trimmed);
}
