/**
 * A stored task meta as Celery's `get_task_meta` returns it: checked to be a Celery meta, the
 * exception of RETRY, FAILURE and REVOKED rebuilt into a {@linkcode TaskError}.
 *
 * @module
 */
import { DecodeError } from "../errors.ts";
import type { TaskMeta } from "./meta.ts";
import { asDecodeError } from "./serializers.ts";
import { EXCEPTION_STATES } from "./states.ts";
import { TaskError } from "./task_error.ts";

/**
 * Checks that a decoded stored payload is a Celery task meta and rebuilds its exception in place.
 * @param taskId The id the payload was read under: named in errors, and the exception's task id
 * when the meta carries none.
 * @param decoded The payload as the result serializer decoded it.
 * @returns The decoded object itself, as a meta.
 * @throws {DecodeError} when it is not a meta object, has no status, or holds a corrupt exception
 * record.
 */
export function taskMetaOf(taskId: string, decoded: unknown): TaskMeta {
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
