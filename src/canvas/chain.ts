/**
 * Chain failure propagation (celery/backends/base.py `mark_as_failure`): when a task whose request
 * carries the rest of a chain fails or is revoked, every later element with an id gets the same
 * FAILURE record, so clients waiting on the chain's last result do not hang; elements that are
 * chord header parts are also counted in their chord.
 *
 * @module
 */
import type { RedisBackend } from "../backend/redis_backend.ts";
import { type ChordPartOptions, type ChordRequest, onChordPartReturn } from "./chord.ts";
import type { Signature, TaskRequest } from "../wire/meta.ts";
import { PROPAGATE_STATES, type TaskState } from "../wire/states.ts";

/** Options of {@linkcode propagateChainFailure}. */
export interface ChainFailureOptions {
  /** The traceback stored with every element. @default {the error's stack} */
  traceback?: string | null | undefined;
  /** Store the elements' records (`store_result`). @default {true} */
  storeResult?: boolean | undefined;
  /** How chord parts among the elements are completed (needed when one carries `chord`). */
  chord?: ChordPartOptions | undefined;
}

/**
 * The request Celery rebuilds for one element of `request.chain` (`Context(elem)` updated with its
 * options): id from `options.task_id`, group from `options.group_id`, name, args and kwargs from
 * the signature, and a worker's defaults for the rest (no hostname, 0 retries, no queue).
 *
 * @param element A chain element as the task message carries it.
 * @returns The request its FAILURE is stored with.
 *
 * @example The request of a chain element
 * ```ts
 * import { chainElementRequest } from "../../mod.ts";
 * const request = chainElementRequest({
 *   task: "proj.add",
 *   args: [1],
 *   kwargs: {},
 *   options: { task_id: "t3", reply_to: "r" },
 * });
 * console.log(request.id, request.task, request.args, request.retries); // t3 proj.add [ 1 ] 0
 * ```
 */
export function chainElementRequest(element: Signature): TaskRequest {
  const options = element.options ?? {};
  const request: TaskRequest = { children: [], retries: 0 };
  const id = options.task_id;
  if (typeof id === "string" && id !== "") request.id = id;
  if (typeof element.task === "string") request.task = element.task;
  if (Array.isArray(element.args)) request.args = element.args;
  if (isObject(element.kwargs)) request.kwargs = element.kwargs;
  if (typeof options.group_id === "string") request.group = options.group_id;
  if (typeof options.group_index === "number") request.groupIndex = options.group_index;
  if (typeof options.parent_id === "string") request.parentId = options.parent_id;
  if (typeof options.root_id === "string") request.rootId = options.root_id;
  if (isObject(options.chord)) request.chord = options.chord as Signature;
  if (Array.isArray(options.link_error)) request.errbacks = options.link_error;
  if (typeof options.hostname === "string") request.hostname = options.hostname;
  if (typeof options.retries === "number") request.retries = options.retries;
  const delivery = options.delivery_info;
  if (isObject(delivery) && typeof delivery.routing_key === "string") {
    request.deliveryInfo = { routingKey: delivery.routing_key };
  }
  if (isObject(options.stamps)) {
    request.stamps = options.stamps;
    if (Array.isArray(options.stamped_headers)) {
      request.stampedHeaders = options.stamped_headers as string[];
    }
  }
  return request;
}

/**
 * Propagates a failure through the rest of a chain, as Celery's `mark_as_failure` does after
 * storing the failed task: for each element of `request.chain` (in the order the message lists
 * them, last task first) that has an id, stores the same error under that id when the state is
 * FAILURE or REVOKED, and calls {@linkcode onChordPartReturn} for elements that carry a `chord`
 * option. `RedisBackend.markAsFailure` calls it for you.
 *
 * @param backend The backend.
 * @param request The failed task's request (its `chain`).
 * @param state The failed task's state (`FAILURE` or `REVOKED` propagate).
 * @param error The error to store.
 * @param options The traceback, and how chord parts are completed.
 * @returns The ids whose records were stored.
 * @throws {TypeError} when an element is a chord part and `options.chord` is missing.
 *
 * @example Fail the rest of a chain
 * ```ts
 * import { createBackend, propagateChainFailure } from "../../mod.ts";
 * await using backend = createBackend("memory://");
 * const chain = [{ task: "proj.add", args: [2], kwargs: {}, options: { task_id: "t3" } }];
 * await propagateChainFailure(backend, { chain }, "FAILURE", new Error("boom"));
 * console.log((await backend.getTaskMeta("t3")).status); // FAILURE
 * ```
 */
export async function propagateChainFailure(
  backend: RedisBackend,
  request: TaskRequest,
  state: TaskState,
  error: unknown,
  options: ChainFailureOptions = {},
): Promise<string[]> {
  const elements = Array.isArray(request.chain) ? request.chain : [];
  const stored: string[] = [];
  // A failure stored with a non-error value still needs an exception record.
  if (!(error instanceof Error) && typeof (error as { excType?: unknown })?.excType !== "string") {
    error = new Error(String(error));
  }
  for (const element of elements) {
    if (!isObject(element)) continue;
    const context = chainElementRequest(element);
    if ((options.storeResult ?? true) && PROPAGATE_STATES.has(state) && context.id) {
      await backend.storeResult(context.id, error, state, {
        traceback: options.traceback,
        request: context,
      });
      stored.push(context.id);
    }
    if (isObject(element.options) && "chord" in element.options) {
      if (!options.chord) {
        throw new TypeError(
          `Chain element ${context.id ?? element.task} is a chord part: pass chord options`,
        );
      }
      await onChordPartReturn(backend, context as ChordRequest, state, error, options.chord);
    }
  }
  return stored;
}

/**
 * Whether failing a task with this request completes chord parts (its own `chord`, or a chain
 * element's `chord` option), so chord options are needed.
 * @internal
 */
export function needsChordOptions(request: TaskRequest | undefined, failing: boolean): boolean {
  if (!request) return false;
  if (request.chord) return true;
  if (!failing || !Array.isArray(request.chain)) return false;
  return request.chain.some((e) => isObject(e) && isObject(e.options) && "chord" in e.options);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
