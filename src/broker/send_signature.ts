/**
 * Sending a signature in its dict form (a chord body, an errback), as Celery's
 * `Signature.apply_async(args)` does: partial `args` go first unless the signature is immutable,
 * and the signature's own `options` (snake_case) become the send options.
 *
 * @module
 */
import type { AsyncResult } from "../results/async_result.ts";
import type { Signature } from "../wire/meta.ts";
import { PyDateTime } from "../wire/serialization/python_types.ts";
import type { Broker } from "./broker.ts";
import type { SendTaskOptions } from "./send_options.ts";

/** What the caller adds to a signature when sending it. */
export interface SignatureCall {
  /** Partial arguments, put before the signature's own. */
  args?: unknown[] | undefined;
  /** Used when the signature's options do not name a parent. */
  parentId?: string | undefined;
  /** Used when the signature's options do not name a root. */
  rootId?: string | undefined;
}

/**
 * Sends one task signature.
 * @throws {TypeError} for a group, chain or chord signature (not supported here), or one
 * without a task name.
 */
export function sendSignature(
  broker: Broker,
  signature: Signature,
  call: SignatureCall = {},
): Promise<AsyncResult> {
  if (signature === null || typeof signature !== "object" || typeof signature.task !== "string") {
    throw new TypeError("Expected a task signature with a task name");
  }
  if (signature.subtask_type) {
    throw new TypeError(
      `Cannot send a ${signature.subtask_type} signature (${signature.task}): only task ` +
        "signatures are supported",
    );
  }
  const o = signature.options ?? {};
  const own = Array.isArray(signature.args) ? signature.args : [];
  const args = signature.immutable ? own : [...(call.args ?? []), ...own];
  const options: SendTaskOptions = { args, kwargs: signature.kwargs ?? {} };
  const set = <K extends keyof SendTaskOptions>(key: K, value: unknown) => {
    if (value !== undefined && value !== null) options[key] = value as SendTaskOptions[K];
  };
  set("taskId", o.task_id);
  set("queue", typeof o.queue === "object" && o.queue !== null ? undefined : o.queue);
  set("priority", o.priority);
  set("countdown", o.countdown);
  set("eta", typeof o.eta === "string" ? new PyDateTime(o.eta) : o.eta);
  set("expires", typeof o.expires === "string" ? new PyDateTime(o.expires) : o.expires);
  set("timeLimit", o.time_limit);
  set("softTimeLimit", o.soft_time_limit);
  set("groupId", o.group_id);
  set("groupIndex", o.group_index);
  set("shadow", o.shadow);
  set("headers", o.headers);
  set("ignoreResult", o.ignore_result);
  set("retries", o.retries);
  set("link", o.link);
  set("linkError", o.link_error);
  set("chord", o.chord);
  set("parentId", o.parent_id ?? call.parentId);
  set("rootId", o.root_id ?? call.rootId);
  return broker.sendTask(signature.task, options);
}
