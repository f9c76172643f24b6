/**
 * Celery's task states and the sets it groups them into (celery/states.py).
 *
 * @module
 */

/** A task state: one of Celery's built-in states or any custom state string (e.g. `PROGRESS`). */
export type TaskState =
  | "PENDING"
  | "RECEIVED"
  | "STARTED"
  | "SUCCESS"
  | "FAILURE"
  | "REVOKED"
  | "REJECTED"
  | "RETRY"
  | "IGNORED"
  | (string & Record<never, never>);

/** States after which a task's result never changes: SUCCESS, FAILURE, REVOKED. */
export const READY_STATES: ReadonlySet<string> = new Set(["SUCCESS", "FAILURE", "REVOKED"]);

/** States whose stored result is an exception record: RETRY, FAILURE, REVOKED. */
export const EXCEPTION_STATES: ReadonlySet<string> = new Set(["RETRY", "FAILURE", "REVOKED"]);

/** States that `get()` re-raises when propagating: FAILURE, REVOKED. */
export const PROPAGATE_STATES: ReadonlySet<string> = new Set(["FAILURE", "REVOKED"]);

/** States before a task finished: PENDING, RECEIVED, STARTED, REJECTED, RETRY. */
export const UNREADY_STATES: ReadonlySet<string> = new Set([
  "PENDING",
  "RECEIVED",
  "STARTED",
  "REJECTED",
  "RETRY",
]);
