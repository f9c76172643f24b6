/**
 * `GroupResult` and Celery's result tuples. They live in `async_result.ts` with `AsyncResult`,
 * since each class builds the other; this path keeps the imports of the canvas layer working.
 *
 * @module
 */
export { GroupResult, resultFromTuple, resultTuple } from "./async_result.ts";
export type { GroupMember, JoinOptions } from "./async_result.ts";
