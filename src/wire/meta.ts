/**
 * The task meta record: its shape, and building it in Celery's exact field order
 * (celery/backends/base.py `_get_result_meta` + `_store_result`).
 *
 * @module
 */
import type { TaskState } from "./states.ts";

/**
 * A Celery result tuple (`AsyncResult.as_tuple()` / `GroupResult.as_tuple()`) as stored in
 * `children`: `[[id, parent], null]` for a task, `[[groupId, parent], [child, ...]]` for a group.
 */
export type ResultTuple = [[string, ResultTuple | null], ResultTuple[] | null];

/**
 * A task's stored meta, with Celery's snake_case keys, as Python's `backend.get_task_meta()`
 * returns it. For RETRY, FAILURE and REVOKED, `result` is the rebuilt `TaskError` (or `null`).
 * A missing key reads as exactly `{ status: "PENDING", result: null }`.
 */
export interface TaskMeta {
  /** The task's state. */
  status: TaskState;
  /** The return value, progress meta, or rebuilt exception. */
  result: unknown;
  /** The remote traceback, or `null`. */
  traceback?: string | null;
  /** Result tuples of the subtasks the task started, or `null` outside a task. */
  children?: unknown[] | null;
  /** When the task became ready (ISO 8601 text as the worker wrote it), else `null`. */
  date_done?: string | null;
  /** The group the task belongs to. */
  group_id?: string;
  /** The task that started this one. */
  parent_id?: string;
  /** Extended: the task's name (`result_extended`). */
  name?: string | null;
  /** Extended: positional arguments. */
  args?: unknown;
  /** Extended: keyword arguments. */
  kwargs?: unknown;
  /** Extended: the worker's hostname. */
  worker?: string | null;
  /** Extended: how many times the task was retried. */
  retries?: number | null;
  /** Extended: the routing key it was delivered with. */
  queue?: string | null;
  /** The task id (always the last key Celery writes). */
  task_id?: string;
  /** Stamps (`stamped_headers` and each stamp) and fields of other writers. */
  [field: string]: unknown;
}

/**
 * A Celery signature in the dict form it travels in inside task messages (a chord's body, the
 * elements of a chain, errbacks): `{"task", "args", "kwargs", "options", "subtask_type",
 * "immutable", ...}`. Kept as an opaque object: only `options.task_id`, `options.group_id`,
 * `options.group_index`, `options.chord` and `options.link_error` are read.
 */
export interface Signature {
  /** The task's name, e.g. `proj.tsum` (`celery.group` / `celery.chord` for complex ones). */
  task?: string | undefined;
  /** Positional arguments (partial ones for chain elements and chord bodies). */
  args?: unknown[] | undefined;
  /** Keyword arguments. */
  kwargs?: Record<string, unknown> | undefined;
  /** Execution options; `task_id` is the id its result will be stored under. */
  options?: SignatureOptions | undefined;
  /** `null` for a task, `"group"`, `"chain"` or `"chord"` for complex signatures. */
  subtask_type?: string | null | undefined;
  /** Whether the signature ignores its parent's result. */
  immutable?: boolean | undefined;
  /** Any other field Celery puts in the dict. */
  [field: string]: unknown;
}

/** The `options` of a {@linkcode Signature}, with Celery's snake_case names. */
export interface SignatureOptions {
  /** The id the task's result is stored under. */
  task_id?: string | undefined;
  /** The group the task belongs to. */
  group_id?: string | undefined;
  /** The position in that group. */
  group_index?: number | null | undefined;
  /** The chord body when the task is a chord header part. */
  chord?: Signature | null | undefined;
  /** Signatures to call when the task fails. */
  link_error?: Signature[] | null | undefined;
  /** Any other option (`reply_to`, `queue`, `root_id`, `parent_id`, stamps, ...). */
  [option: string]: unknown;
}

/**
 * What a worker knows about the task it stores a result for (Celery's `Task.request`). Every field
 * is optional; the ones set decide which meta fields are written.
 */
export interface TaskRequest {
  /** The task's id (`request.id`); chord parts are recorded under it. */
  id?: string | undefined;
  /** The id of the first task of the workflow (`request.root_id`). */
  rootId?: string | undefined;
  /** The chord body when the task is a chord header part (`request.chord`). */
  chord?: Signature | null | undefined;
  /**
   * The rest of the chain, last task first, as the message's `chain` carries it
   * (`request.chain`); failing the task fails these too.
   */
  chain?: Signature[] | null | undefined;
  /** Signatures to call when the task fails (`request.errbacks`, the message's `errbacks`). */
  errbacks?: Signature[] | null | undefined;
  /** Whether the task's own result is not stored (`ignore_result`); chord parts still count. */
  ignoreResult?: boolean | undefined;
  /** The task's name, e.g. `proj.add` (extended meta: `name`). */
  task?: string | undefined;
  /** Positional arguments (extended meta: `args`). */
  args?: unknown[] | undefined;
  /** Keyword arguments (extended meta: `kwargs`). */
  kwargs?: Record<string, unknown> | undefined;
  /** The worker's hostname, e.g. `celery@host` (extended meta: `worker`). */
  hostname?: string | undefined;
  /** Retries so far (extended meta: `retries`). */
  retries?: number | undefined;
  /** Delivery info; its routing key becomes the extended meta's `queue`. */
  deliveryInfo?: { routingKey?: string | null | undefined } | undefined;
  /** The group id (meta: `group_id`). */
  group?: string | undefined;
  /** The position in the group. */
  groupIndex?: number | undefined;
  /** The parent task's id (meta: `parent_id`). */
  parentId?: string | undefined;
  /** Result tuples of subtasks this task started (meta: `children`). @default {[]} */
  children?: ResultTuple[] | undefined;
  /** Stamps (Celery 5.3+); written as `stamped_headers` plus each stamp. */
  stamps?: Record<string, unknown> | undefined;
  /** The stamp names, in order. @default {Object.keys(stamps)} */
  stampedHeaders?: string[] | undefined;
}

/** Inputs of {@linkcode buildMeta}. */
export interface MetaInput {
  taskId: string;
  state: TaskState;
  /** The already-encoded result (exceptions converted to their record). */
  result: unknown;
  traceback: string | null;
  request: TaskRequest | undefined;
  /** `date_done` text for ready states, `null` otherwise. */
  dateDone: string | null;
  /** `result_extended`. */
  extended: boolean;
  /** Whether stamps are written (Celery 5.3+). */
  stamps: boolean;
}

/** Builds the meta object in the exact key order Celery writes. */
export function buildMeta(input: MetaInput): TaskMeta {
  const { request } = input;
  const meta: TaskMeta = {
    status: input.state,
    result: input.result,
    traceback: input.traceback,
    // With a request Celery writes its children (default []); without one, null.
    children: request ? (request.children ?? []) : null,
    date_done: input.dateDone,
  };
  if (request?.group) meta.group_id = request.group;
  if (request?.parentId) meta.parent_id = request.parentId;
  if (input.extended && request) {
    meta.name = request.task ?? null;
    meta.args = request.args ?? null;
    meta.kwargs = request.kwargs ?? null;
    meta.worker = request.hostname ?? null;
    meta.retries = request.retries ?? null;
    meta.queue = request.deliveryInfo?.routingKey ?? null;
    const stamps = request.stamps;
    if (input.stamps && stamps && Object.keys(stamps).length > 0) {
      meta.stamped_headers = request.stampedHeaders ?? Object.keys(stamps);
      for (const [name, value] of Object.entries(stamps)) meta[name] = value;
    }
  }
  // _store_result adds task_id last; if a stamp was called task_id, Python's dict keeps the
  // stamp's position but the id's value, so do the same.
  meta.task_id = input.taskId;
  return meta;
}
