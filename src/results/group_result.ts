/**
 * `GroupResult`: a group of task results, as Celery's `celery.result.GroupResult`, saved and
 * restored in Celery's nested-tuple format (`celery-taskset-meta-<id>`).
 *
 * @module
 */
import { AsyncResult, type GetOptions } from "./async_result.ts";
import type { RedisBackend } from "../backend/redis_backend.ts";
import { DecodeError } from "../errors.ts";
import type { ResultTuple, TaskMeta } from "../wire/meta.ts";
import { DEFAULT_MAX_DEPTH } from "../wire/serialization/decode_limits.ts";
import { PROPAGATE_STATES, READY_STATES } from "../wire/states.ts";
import { consumerFor } from "./consumer/consumer_for.ts";

/** A member of a group: a task's result or a nested group. */
export type GroupMember = AsyncResult | GroupResult;

/** Options of {@linkcode GroupResult.join}. */
export type JoinOptions = Omit<GetOptions, "onMessage"> & {
  /** Called with every state change of every member. */
  onMessage?: ((meta: TaskMeta) => void) | undefined;
};

/**
 * A group of results.
 *
 * @example Join a group in member order
 * ```ts
 * import { createBackend, GroupResult } from "../../mod.ts";
 * await using backend = createBackend("memory://");
 * const group = new GroupResult("g1", [backend.asyncResult("a"), backend.asyncResult("b")], backend);
 * await backend.markAsDone("b", 2);
 * await backend.markAsDone("a", 1);
 * console.log(await group.join({ timeout: 1_000 })); // [1, 2]
 * ```
 */
export class GroupResult {
  /** The group id. */
  readonly id: string;
  /** The members, in group order. */
  readonly results: readonly GroupMember[];
  /** The backend members are read from. */
  readonly backend: RedisBackend;
  /** The parent's tuple, kept as stored. */
  readonly parent: ResultTuple | null;

  /**
   * Creates a group from its members (nothing is stored until `save()`).
   *
   * @param id The group id.
   * @param results The members in group order.
   * @param backend The backend.
   * @param parent The parent result's tuple, if any.
   */
  constructor(
    id: string,
    results: readonly GroupMember[],
    backend: RedisBackend,
    parent: ResultTuple | null = null,
  ) {
    if (typeof id !== "string" || id === "") throw new TypeError("group_id must not be empty");
    this.id = id;
    this.results = results;
    this.backend = backend;
    this.parent = parent;
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

  /** Celery's tuple form: `[[id, parent], [member tuples…]]`, members' parents included. */
  asTuple(): ResultTuple {
    return [[this.id, this.parent], this.results.map(resultTuple)];
  }

  /** Saves the group as Python's `GroupResult.save()` does (SETEX + PUBLISH, with the TTL). */
  async save(): Promise<void> {
    await this.backend.set(
      this.backend.keys.group(this.id),
      this.backend.encode({ result: this.asTuple() }),
    );
  }

  /** Deletes the saved group (not its members' results). */
  async delete(): Promise<void> {
    await this.backend.delete(this.backend.keys.group(this.id));
  }

  /** Forgets every member's result. */
  async forget(): Promise<void> {
    await Promise.all(this.results.map((r) => r.forget()));
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

  /** Yields `[member, meta]` as members become ready, in completion order. */
  async *[Symbol.asyncIterator](): AsyncGenerator<[AsyncResult, TaskMeta], void, undefined> {
    const stop = new AbortController();
    const leaves = this.leaves();
    const pending = new Map(
      leaves.map((leaf, i) => [
        i,
        consumerFor(this.backend).wait(leaf.id, { signal: stop.signal }).then((
          meta,
        ) => [i, meta] as const),
      ]),
    );
    try {
      while (pending.size > 0) {
        const [i, meta] = await Promise.race(pending.values());
        pending.delete(i);
        yield [leaves[i]!, meta];
      }
    } finally {
      stop.abort();
      for (const p of pending.values()) p.catch(() => {});
    }
  }

  #shape(values: Map<AsyncResult, unknown>): unknown[] {
    return this.results.map((r) => r instanceof GroupResult ? r.#shape(values) : values.get(r));
  }
}

/**
 * Celery's `result_from_tuple`: `[[id, parent], null]` is a task, `[[id, parent], [members]]` a
 * group; a bare id is accepted as Celery does.
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
  let parent: unknown = null;
  if (Array.isArray(res)) [id, parent] = res;
  if (typeof id !== "string" || id === "") throw new DecodeError("A result tuple has no id");
  // Like Celery, the parent is rebuilt too, so it is written back in the canonical tuple form.
  const parentTuple = parent === null || parent === undefined
    ? null
    : resultTuple(fromTuple(parent, backend, depth + 1));
  if (nodes === null || nodes === undefined) {
    const result = new AsyncResult(id, backend);
    if (parentTuple !== null) taskParents.set(result, parentTuple);
    return result;
  }
  if (!Array.isArray(nodes)) throw new DecodeError(`The members of group ${id} are not a list`);
  return new GroupResult(
    id,
    nodes.map((node) => fromTuple(node, backend, depth + 1)),
    backend,
    parentTuple,
  );
}

// The parents of task results rebuilt from tuples (AsyncResult itself keeps no parent), so that a
// restored group is saved again with the same bytes.
const taskParents = new WeakMap<AsyncResult, ResultTuple>();

/**
 * Celery's `as_tuple()` of a group member, including the parent a task result was restored with:
 * `[[id, parent], null]` for a task, `[[id, parent], [members…]]` for a group.
 *
 * @param member A task result or a group.
 * @returns The tuple form Celery stores (`children`, saved groups).
 *
 * @example The tuple of a restored task keeps its parent
 * ```ts
 * import { createBackend, resultFromTuple, resultTuple } from "../../mod.ts";
 * await using backend = createBackend("memory://");
 * const task = resultFromTuple([["c2", [["p0", null], null]], null], backend);
 * console.log(JSON.stringify(resultTuple(task))); // [["c2",[["p0",null],null]],null]
 * ```
 */
export function resultTuple(member: GroupMember): ResultTuple {
  if (member instanceof GroupResult) return member.asTuple();
  return [[member.id, taskParents.get(member) ?? null], null];
}
