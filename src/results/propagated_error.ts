/**
 * The error a waiter re-raises for a FAILURE or REVOKED meta, as Python's `maybe_throw()` does.
 *
 * @module
 */
import type { TaskMeta } from "../wire/meta.ts";
import { NO_EXCEPTION } from "../wire/refused_exception.ts";
import { TaskError } from "../wire/task_error.ts";

/**
 * The stored exception of a FAILURE or REVOKED meta; a record without one re-raises "nothing" in
 * Python, which is a RuntimeError, never the stored value.
 * @param meta A meta in a propagating state.
 * @returns The error to throw.
 */
export function propagatedError(meta: TaskMeta): Error {
  if (meta.result instanceof Error) return meta.result;
  const { excType, excModule, message } = NO_EXCEPTION;
  return new TaskError(excType, [message], excModule, {
    taskId: typeof meta.task_id === "string" ? meta.task_id : undefined,
    state: meta.status,
  });
}
