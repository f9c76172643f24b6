/**
 * Celery's `celery.result` for this module: `AsyncResult` (one task's result) and `GroupResult`
 * (a group of them, saved and restored in Celery's nested-tuple format), with cancellable,
 * leak-free waiting. They share a module because each builds the other, as in Celery: a task's
 * `children()` and `parent` may be groups, and a group's members are tasks.
 *
 * @module
 */
import type { RedisBackend } from "../backend/redis_backend.ts";
import { DecodeError } from "../errors.ts";
import { parseDateDone } from "../wire/date_done.ts";
import { checkId } from "../wire/keys.ts";
import type { ResultTuple, TaskMeta } from "../wire/meta.ts";
import { DEFAULT_MAX_DEPTH } from "../wire/serialization/decode_limits.ts";
import { PROPAGATE_STATES, READY_STATES, type TaskState } from "../wire/states.ts";
import { consumerFor } from "./consumer/consumer_for.ts";
import { getMany } from "./get_many.ts";
import { parentWatchFor, throwParentFailure } from "./parent_watch.ts";
import { propagatedError } from "./propagated_error.ts";

/** Options of {@linkcode AsyncResult.get}. */
export interface GetOptions {
  /**
   * Give up after this many **milliseconds**, rejecting with `TimeoutError`. As in Celery, the
   * task's state is read once before the wait can time out, so a task already ready is returned
   * even when that read takes longer than the timeout (`0`: read once, return if ready); the read
   * itself is bounded by the driver (`socketTimeout`, `requestTimeout`). @default {no limit}
   */
  timeout?: number | undefined;
  /** Re-throw FAILURE and REVOKED as the task's error; `false` returns the error instead. @default {true} */
  propagate?: boolean | undefined;
  /** Aborts the wait, rejecting with the signal's reason. */
  signal?: AbortSignal | undefined;
  /** Called with every state the task reports on the way (STARTED, PROGRESS, RETRY…). */
  onMessage?: ((meta: TaskMeta) => void) | undefined;
  /**
   * Celery's `follow_parents`: before and while waiting, re-throw the error of a FAILURE or
   * REVOKED among the results this one follows (`parent`, its parent…, the root first; a group's
   * members in order). A chain whose first task was revoked never runs the rest, so without this
   * a wait on its last result would not end. Only with `propagate`, and only when `parent` is set.
   * @default {true}
   */
  followParents?: boolean | undefined;
}

/** A member of a group, a task's child or a parent: a task's result or a group. */
export type GroupMember = AsyncResult | GroupResult;

/** Options of {@linkcode GroupResult.join}, {@linkcode GroupResult.get} and the others. */
export type JoinOptions = Omit<GetOptions, "onMessage" | "followParents"> & {
  /** Called with every state change of every member. */
  onMessage?: ((meta: TaskMeta) => void) | undefined;
};

/**
 * A task's result, as Celery's `AsyncResult`. Reading methods fetch the current meta (a ready meta
 * is cached, as in Celery); `get()` waits for the task to be ready.
 *
 * @example Wait for a result with a timeout
 * ```ts
 * import { AsyncResult, createBackend } from "../../mod.ts";
 * await using backend = createBackend("memory://");
 * const result = new AsyncResult("t1", backend);
 * setTimeout(() => backend.markAsDone("t1", 42), 10);
 * console.log(await result.get({ timeout: 5_000 })); // 42
 * ```
 */
export class AsyncResult {
  /** The task id. */
  readonly id: string;
  /** The backend results are read from. */
  readonly backend: RedisBackend;
  /**
   * The result this one follows (Celery's `parent`: the previous task of a chain, or the group a
   * chord body waits for), as rebuilt from a result tuple; `null` when none is known.
   */
  readonly parent: GroupMember | null;
  #cache: TaskMeta | undefined;

  /**
   * Creates a handle on a task's result (nothing is read until asked).
   *
   * @param id The task id.
   * @param backend The backend to read from.
   * @param parent The result this one follows, if known.
   * @throws {TypeError} for an empty id, or a parent that is not a result.
   */
  constructor(id: string, backend: RedisBackend, parent: GroupMember | null = null) {
    this.id = checkId(id, "task_id");
    this.backend = backend;
    this.parent = checkParent(parent);
  }

  /** The task's meta: cached once ready, otherwise read afresh. */
  async getMeta(): Promise<TaskMeta> {
    if (this.#cache) return this.#cache;
    const meta = await this.backend.getTaskMeta(this.id);
    if (READY_STATES.has(meta.status)) this.#cache = meta;
    return meta;
  }

  /**
   * Waits until the task is ready and returns its result (or throws its error).
   * @throws {TaskError} for FAILURE and REVOKED unless `propagate` is false.
   * @throws {TimeoutError} when `timeout` ms pass first.
   */
  get(options: GetOptions = {}): Promise<unknown> {
    const { timeout, signal, onMessage, propagate = true, followParents = true } = options;
    if (this.#cache) return settled(this.#cache, propagate);
    if (propagate && followParents && this.parent) return this.#getFollowingParents(options);
    // Neither an async function nor a `then`: a suspended frame, or a closure and a derived
    // promise, per pending wait would cost memory at scale; the consumer settles the promise
    // with the result itself.
    return consumerFor(this.backend).waitThen(
      this.id,
      { signal, timeout, onMessage },
      propagate ? AsyncResult.#readyResult : AsyncResult.#readyResultUnpropagated,
      this,
    );
  }

  // As Celery: the parents are checked before the wait, then on every turn of its drain loop
  // (about once a second, by the backend's shared ParentWatch).
  async #getFollowingParents(options: GetOptions): Promise<unknown> {
    // The parents never change: their ids are gathered once for every check.
    const ids = parentIds(this);
    await throwParentFailure(this.backend, ids);
    const stop = new AbortController();
    const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
    const unwatch = parentWatchFor(this.backend).watch(ids, (error) => stop.abort(error));
    try {
      return await consumerFor(this.backend).waitThen(
        this.id,
        { signal, timeout: options.timeout, onMessage: options.onMessage },
        AsyncResult.#readyResult,
        this,
      );
    } finally {
      unwatch();
    }
  }

  /** What `get()` settles with on a ready meta: the result, or the task's error thrown. */
  static #readyResult(result: AsyncResult, meta: TaskMeta): unknown {
    result.#cache = meta;
    if (PROPAGATE_STATES.has(meta.status)) throw propagatedError(meta);
    return meta.result;
  }

  /** `get({ propagate: false })`'s: the result, the task's error included. */
  static #readyResultUnpropagated(result: AsyncResult, meta: TaskMeta): unknown {
    result.#cache = meta;
    return meta.result;
  }

  /**
   * Every state the task reports, from now until it is ready (the ready meta is the last one).
   * Breaking out of the loop releases the subscription.
   */
  async *states(options: { signal?: AbortSignal } = {}): AsyncGenerator<TaskMeta, void, undefined> {
    const queue: TaskMeta[] = [];
    let wake: (() => void) | undefined;
    let finished = false;
    let failure: { error: unknown } | undefined;
    const stop = new AbortController();
    const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
    consumerFor(this.backend).wait(this.id, {
      signal,
      onMessage: (meta) => {
        queue.push(meta);
        wake?.();
      },
    }).then(
      () => (finished = true),
      (error) => (failure = { error }),
    ).finally(() => wake?.());
    try {
      while (true) {
        const next = queue.shift();
        if (next) {
          yield next;
          if (READY_STATES.has(next.status)) return;
          continue;
        }
        if (failure) throw failure.error;
        if (finished) return;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    } finally {
      stop.abort();
    }
  }

  /** The current state (`PENDING` when nothing is stored). */
  async state(): Promise<TaskState> {
    return (await this.getMeta()).status;
  }

  /** Whether the task is ready (SUCCESS, FAILURE or REVOKED). */
  async ready(): Promise<boolean> {
    return READY_STATES.has(await this.state());
  }

  /** Whether the task succeeded. */
  async successful(): Promise<boolean> {
    return (await this.state()) === "SUCCESS";
  }

  /** Whether the task failed. */
  async failed(): Promise<boolean> {
    return (await this.state()) === "FAILURE";
  }

  /** The stored result: the return value, progress meta, or the rebuilt error. */
  async result(): Promise<unknown> {
    return (await this.getMeta()).result;
  }

  /** The remote traceback, if any. */
  async traceback(): Promise<string | null> {
    return (await this.getMeta()).traceback ?? null;
  }

  /**
   * When the task became ready, as a `Date` (naive values read as UTC).
   * @throws {DecodeError} for a stored date Python refuses too (month 13, Feb 30, hour 25...).
   */
  async dateDone(): Promise<Date | null> {
    return parseDateDone((await this.getMeta()).date_done);
  }

  /**
   * The results of the subtasks the task started (Celery's `children`), rebuilt from the stored
   * tuples as `AsyncResult`s and `GroupResult`s; `null` when the meta has none.
   * @throws {DecodeError} when a stored child is not a result tuple.
   */
  async children(): Promise<readonly GroupMember[] | null> {
    const meta = await this.getMeta();
    if (meta !== this.#cache) return childrenOf(meta, this.backend);
    let children = childrenOfCachedMeta.get(meta);
    if (children === undefined) {
      children = childrenOf(meta, this.backend);
      childrenOfCachedMeta.set(meta, children);
    }
    return children;
  }

  /**
   * Celery's `collect()`: waits for this task, then for its children, theirs and so on, yielding
   * `[result, value]` for each node of the result graph in Celery's order (the task, then its
   * children level by level; a group's members are its children). Options go to every `get()`,
   * so `timeout` applies to each node.
   *
   * @example Collect a task and the subtasks it started
   * ```ts
   * import { AsyncResult, createBackend } from "../../mod.ts";
   * await using backend = createBackend("memory://");
   * await backend.markAsDone("child", 2);
   * await backend.storeResult("root", 1, "SUCCESS", { children: [[["child", null], null]] });
   * for await (const [result, value] of new AsyncResult("root", backend).collect()) {
   *   console.log(result.id, value); // root 1, then child 2
   * }
   * ```
   */
  async *collect(
    options: GetOptions = {},
  ): AsyncGenerator<[GroupMember, unknown], void, undefined> {
    const queue: GroupMember[] = [this];
    for (let i = 0; i < queue.length; i++) {
      const node = queue[i]!;
      yield [node, await node.get(options)];
      // Like Celery's iterdeps: a node's children are looked up once it is ready (get() made sure).
      queue.push(...((await node.children()) ?? []));
    }
  }

  /** Extended meta (`result_extended`): the task name. */
  async name(): Promise<string | null> {
    return (await this.getMeta()).name ?? null;
  }

  /** Extended meta: positional arguments. */
  async args(): Promise<unknown> {
    return (await this.getMeta()).args ?? null;
  }

  /** Extended meta: keyword arguments. */
  async kwargs(): Promise<unknown> {
    return (await this.getMeta()).kwargs ?? null;
  }

  /** Extended meta: the worker's hostname. */
  async worker(): Promise<string | null> {
    return (await this.getMeta()).worker ?? null;
  }

  /** Extended meta: how many times the task was retried. */
  async retries(): Promise<number | null> {
    return (await this.getMeta()).retries ?? null;
  }

  /** Extended meta: the queue (routing key) it was delivered on. */
  async queue(): Promise<string | null> {
    return (await this.getMeta()).queue ?? null;
  }

  /** Whether anything is stored for the task: tells an unknown or expired id from PENDING. */
  async exists(): Promise<boolean> {
    return await this.backend.exists(this.id);
  }

  /**
   * Deletes the stored result, and its parents' (as Celery's `forget`), and stops any wait on it.
   */
  async forget(): Promise<void> {
    this.#cache = undefined;
    await this.parent?.forget();
    await this.backend.forget(this.id);
  }

  /** Celery's tuple form: `[[id, parent tuple or null], null]`. */
  asTuple(): ResultTuple {
    return [[this.id, this.parent?.asTuple() ?? null], null];
  }
}

/**
 * A group of results, as Celery's `GroupResult`.
 *
 * @example Wait for a group, values in member order
 * ```ts
 * import { AsyncResult, createBackend, GroupResult } from "../../mod.ts";
 * await using backend = createBackend("memory://");
 * const members = [new AsyncResult("a", backend), new AsyncResult("b", backend)];
 * const group = new GroupResult("g1", members, backend);
 * await backend.markAsDone("b", 2);
 * await backend.markAsDone("a", 1);
 * console.log(await group.get({ timeout: 1_000 })); // [1, 2]
 * ```
 */
export class GroupResult {
  /** The group id. */
  readonly id: string;
  /** The members, in group order. */
  readonly results: readonly GroupMember[];
  /** The backend members are read from. */
  readonly backend: RedisBackend;
  /** The result the group follows (Celery's `parent`), as rebuilt from its tuple; or `null`. */
  readonly parent: GroupMember | null;

  /**
   * Creates a group from its members (nothing is stored until `save()`).
   *
   * @param id The group id.
   * @param results The members in group order.
   * @param backend The backend.
   * @param parent The result the group follows, if any.
   * @throws {TypeError} for an empty id, or a parent that is not a result.
   */
  constructor(
    id: string,
    results: readonly GroupMember[],
    backend: RedisBackend,
    parent: GroupMember | null = null,
  ) {
    if (typeof id !== "string" || id === "") throw new TypeError("group_id must not be empty");
    this.id = id;
    this.results = results;
    this.backend = backend;
    this.parent = checkParent(parent);
  }

  /**
   * Restores a group saved by Python's `GroupResult.save()` (or ours); `null` if none is stored.
   * @throws {DecodeError} when the stored value is not a group.
   */
  static async restore(backend: RedisBackend, groupId: string): Promise<GroupResult | null> {
    const payload = await backend.get(backend.keys.group(groupId));
    if (payload === null) return null;
    const meta = backend.decode(payload, `group ${groupId}`) as { result?: unknown } | null;
    const restored = resultFromTuple(meta?.result, backend);
    if (!(restored instanceof GroupResult)) {
      throw new DecodeError(`The stored value of group ${groupId} is not a group result`);
    }
    return restored;
  }

  /** Celery's tuple form: `[[id, parent tuple or null], [member tuples…]]`. */
  asTuple(): ResultTuple {
    return [[this.id, this.parent?.asTuple() ?? null], this.results.map(resultTuple)];
  }

  /** Saves the group as Python's `GroupResult.save()` does (SETEX + PUBLISH, with the TTL). */
  async save(): Promise<void> {
    await this.backend.saveGroup(this.id, this);
  }

  /** Deletes the saved group (not its members' results). */
  async delete(): Promise<void> {
    await this.backend.deleteGroup(this.id);
  }

  /** Forgets every member's result. */
  async forget(): Promise<void> {
    await Promise.all(this.results.map((r) => r.forget()));
  }

  /** The members (Celery's `GroupResult.children` is its `results`). */
  children(): Promise<readonly GroupMember[]> {
    return Promise.resolve(this.results);
  }

  /** The task results of the group, nested groups flattened, in order. */
  leaves(): AsyncResult[] {
    return this.results.flatMap((r) => r instanceof GroupResult ? r.leaves() : [r]);
  }

  /** The members' current metas, read with one MGET. */
  async metas(): Promise<TaskMeta[]> {
    return await this.backend.getTaskMetas(this.leaves().map((r) => r.id));
  }

  /** How many members succeeded (Celery's `completed_count`). */
  async completedCount(): Promise<number> {
    return (await this.metas()).filter((m) => m.status === "SUCCESS").length;
  }

  /** Whether every member is ready. */
  async ready(): Promise<boolean> {
    return (await this.metas()).every((m) => READY_STATES.has(m.status));
  }

  /** Whether every member succeeded. */
  async successful(): Promise<boolean> {
    return (await this.metas()).every((m) => m.status === "SUCCESS");
  }

  /** Whether any member failed. */
  async failed(): Promise<boolean> {
    return (await this.metas()).some((m) => m.status === "FAILURE");
  }

  /** Whether any member is still not ready. */
  async waiting(): Promise<boolean> {
    return !(await this.ready());
  }

  /**
   * Celery's `GroupResult.get()`: `joinNative()`, since the Redis backend supports native joins.
   * @returns The members' values in group order (nested groups as nested arrays).
   * @throws {TaskError} for the first FAILURE or REVOKED member, unless `propagate` is false.
   * @throws {TimeoutError} when `timeout` ms pass before every member is ready.
   */
  get(options: JoinOptions = {}): Promise<unknown[]> {
    return this.joinNative(options);
  }

  /**
   * Waits for every member and returns their results in group order (nested groups as nested
   * arrays). The first FAILURE or REVOKED member throws its error unless `propagate` is false.
   */
  async join(options: JoinOptions = {}): Promise<unknown[]> {
    return await this.joinNative(options);
  }

  /**
   * Celery's `join_native`: subscribes to every member and reads them all with one MGET, then
   * waits on pub/sub; values in group order.
   */
  async joinNative(options: JoinOptions = {}): Promise<unknown[]> {
    const { signal, propagate = true, onMessage, timeout } = options;
    // One controller ends every member's wait as soon as the join is decided either way.
    const stop = new AbortController();
    const combined = signal ? AbortSignal.any([signal, stop.signal]) : stop.signal;
    const deadline = timeout === undefined ? undefined : Date.now() + timeout;
    const leaves = this.leaves();
    try {
      const metas = await Promise.all(leaves.map(async (leaf) => {
        const meta = await consumerFor(this.backend).wait(leaf.id, {
          signal: combined,
          timeout: deadline === undefined ? undefined : Math.max(0, deadline - Date.now()),
          onMessage,
        });
        if (propagate && PROPAGATE_STATES.has(meta.status) && meta.result instanceof Error) {
          throw meta.result;
        }
        return meta;
      }));
      const byLeaf = new Map(leaves.map((leaf, i) => [leaf, metas[i]!.result]));
      return this.#shape(byLeaf);
    } finally {
      stop.abort();
    }
  }

  /** Yields `[member, meta]` as members become ready, in completion order (via `getMany()`). */
  async *[Symbol.asyncIterator](): AsyncGenerator<[AsyncResult, TaskMeta], void, undefined> {
    const byId = new Map<string, AsyncResult[]>();
    for (const leaf of this.leaves()) {
      const same = byId.get(leaf.id);
      if (same) same.push(leaf);
      else byId.set(leaf.id, [leaf]);
    }
    for await (const [id, meta] of getMany(this.backend, byId.keys())) {
      for (const leaf of byId.get(id)!) yield [leaf, meta];
    }
  }

  #shape(values: Map<AsyncResult, unknown>): unknown[] {
    return this.results.map((r) => r instanceof GroupResult ? r.#shape(values) : values.get(r));
  }
}

function settled(meta: TaskMeta, propagate: boolean): Promise<unknown> {
  if (propagate && PROPAGATE_STATES.has(meta.status)) return Promise.reject(propagatedError(meta));
  return Promise.resolve(meta.result);
}

/**
 * The children built from a cached meta, so repeated calls give the same objects. Kept beside the
 * meta rather than in a field of every `AsyncResult`: 100,000 pending `get()`s hold theirs.
 */
const childrenOfCachedMeta = new WeakMap<TaskMeta, readonly GroupMember[] | null>();

/** The task ids of a result's parents, the root's first (a group's members in order). */
function parentIds(result: AsyncResult): string[] {
  const parents: GroupMember[] = [];
  for (let node = result.parent; node; node = node.parent) parents.push(node);
  return parents.reverse().flatMap((node) =>
    node instanceof AsyncResult ? [node.id] : node.leaves().map((leaf) => leaf.id)
  );
}

function checkParent(parent: GroupMember | null): GroupMember | null {
  if (parent === null || parent instanceof AsyncResult || parent instanceof GroupResult) {
    return parent;
  }
  throw new TypeError("parent must be an AsyncResult, a GroupResult or null");
}

/** A meta's `children` as result objects. */
function childrenOf(meta: TaskMeta, backend: RedisBackend): GroupMember[] | null {
  const children: unknown = meta.children;
  if (children === undefined || children === null) return null;
  if (!Array.isArray(children)) {
    throw new DecodeError(`The children of task ${String(meta.task_id)} are not a list`);
  }
  return children.map((child) => resultFromTuple(child, backend));
}

/**
 * Celery's `result_from_tuple`: `[[id, parent], null]` is a task, `[[id, parent], [members]]` a
 * group; a bare id is accepted as Celery does. The parent becomes the result's `parent`.
 * @throws {DecodeError} for anything else.
 */
export function resultFromTuple(value: unknown, backend: RedisBackend): GroupMember {
  return fromTuple(value, backend, 0);
}

/** `resultFromTuple` at a nesting depth: stored tuples are untrusted, so the recursion is bounded. */
function fromTuple(value: unknown, backend: RedisBackend, depth: number): GroupMember {
  if (depth >= DEFAULT_MAX_DEPTH) {
    throw new DecodeError(
      `A result tuple nests groups and parents deeper than ${DEFAULT_MAX_DEPTH} levels`,
    );
  }
  if (!Array.isArray(value) || value.length !== 2) {
    throw new DecodeError("A result tuple must be a two-element array [result, members]");
  }
  const [res, nodes] = value as [unknown, unknown];
  let id: unknown = res;
  let parentTuple: unknown = null;
  if (Array.isArray(res)) [id, parentTuple] = res;
  if (typeof id !== "string" || id === "") throw new DecodeError("A result tuple has no id");
  const parent = parentTuple === null || parentTuple === undefined
    ? null
    : fromTuple(parentTuple, backend, depth + 1);
  if (nodes === null || nodes === undefined) return new AsyncResult(id, backend, parent);
  if (!Array.isArray(nodes)) throw new DecodeError(`The members of group ${id} are not a list`);
  return new GroupResult(
    id,
    nodes.map((node) => fromTuple(node, backend, depth + 1)),
    backend,
    parent,
  );
}

/**
 * Celery's `as_tuple()` of a task or group, its parent included: `[[id, parent], null]` for a
 * task, `[[id, parent], [members…]]` for a group.
 *
 * @param member A task result or a group.
 * @returns The tuple form Celery stores (`children`, saved groups).
 *
 * @example The tuple of a restored task keeps its parent
 * ```ts
 * import { createBackend, resultFromTuple, resultTuple } from "../../mod.ts";
 * await using backend = createBackend("memory://");
 * const task = resultFromTuple([["c2", [["p0", null], null]], null], backend);
 * console.log(task.parent?.id, JSON.stringify(resultTuple(task))); // p0 [["c2",[["p0",null],null]],null]
 * ```
 */
export function resultTuple(member: GroupMember): ResultTuple {
  return member.asTuple();
}
