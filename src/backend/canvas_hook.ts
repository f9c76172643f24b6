/**
 * The seam between the core and the canvas layer (`src/canvas/`): what happens after a worker
 * stores a task's final state when its request belongs to a chord or a chain. The core only calls
 * it; `canvas()` in `src/canvas/canvas.ts` implements it, so a program that never completes chords
 * or chains never loads that code.
 *
 * @module
 */
import type { TaskRequest } from "../wire/meta.ts";
import type { TaskState } from "../wire/states.ts";
import type { RedisBackend } from "./redis_backend.ts";

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
