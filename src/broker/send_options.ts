/**
 * The options of `sendTask` (Celery's `apply_async`/`send_task` keywords, camelCased) and their
 * checks: every caller mistake is a `TypeError`/`RangeError` naming the option, thrown before
 * anything is sent.
 *
 * @module
 */
import { checkId } from "../wire/keys.ts";
import type { Signature, TaskMeta } from "../wire/meta.ts";
import type { SerializerName } from "../wire/serializers.ts";

/** Options of `sendTask`, with Celery's meaning. */
export interface SendTaskOptions {
  /** Positional arguments. @default {[]} */
  args?: readonly unknown[] | undefined;
  /** Keyword arguments. @default {{}} */
  kwargs?: Readonly<Record<string, unknown>> | undefined;
  /** The task id. @default {a random UUID} */
  taskId?: string | undefined;
  /** The queue (routing key). @default {the route for the name, else the broker's default queue} */
  queue?: string | undefined;
  /** Run no earlier than this many seconds from now (non-negative). */
  countdown?: number | undefined;
  /** Run no earlier than this time (a `Date` or `PyDateTime`). Exclusive with `countdown`. */
  eta?: Date | undefined;
  /** Seconds from now, or a time, after which a worker discards the task as REVOKED (expired). */
  expires?: number | Date | undefined;
  /** 0–255 (kombu's Redis transport clamps to 0–9 and uses four lists; lower runs first). */
  priority?: number | undefined;
  /** The `retries` header. @default {0} */
  retries?: number | undefined;
  /** Hard time limit in seconds. */
  timeLimit?: number | undefined;
  /** Soft time limit in seconds. */
  softTimeLimit?: number | undefined;
  /** Extra message headers (merged after Celery's own, as Celery does). */
  headers?: Readonly<Record<string, unknown>> | undefined;
  /** The parent task's id (when sent from a task). */
  parentId?: string | undefined;
  /** The workflow's root task id. @default {the task's own id} */
  rootId?: string | undefined;
  /** The group the task belongs to (`group_id`). */
  groupId?: string | undefined;
  /** The task's position in its group (`group_index`). */
  groupIndex?: number | undefined;
  /** The name workers log instead of the real one. */
  shadow?: string | undefined;
  /** Do not store or wait for the result (no subscription is made). @default {false} */
  ignoreResult?: boolean | undefined;
  /** `task_serializer` for this message. @default {the broker's, "json"} */
  serializer?: SerializerName | undefined;
  /** Signatures to apply on success (`link`). */
  link?: Signature[] | undefined;
  /** Signatures to apply on failure (`link_error`). */
  linkError?: Signature[] | undefined;
  /** The rest of a chain, last task first, as Celery embeds it. */
  chain?: Signature[] | undefined;
  /** A chord body, as Celery embeds it. */
  chord?: Signature | undefined;
  /**
   * Called with every state the task reports from the moment it is sent (the result is
   * subscribed before the message is pushed, so even a fast worker's first state is seen).
   */
  onMessage?: ((meta: TaskMeta) => void) | undefined;
}

/** The options once checked, with Celery's defaults filled in. */
export interface CheckedSendOptions {
  args: readonly unknown[];
  kwargs: Readonly<Record<string, unknown>>;
  taskId: string;
  queue: string | undefined;
  eta: Date | null;
  expires: Date | null;
  expiresInSeconds: number | null;
  priority: number | null;
  retries: number;
  timeLimit: number | null;
  softTimeLimit: number | null;
  headers: Readonly<Record<string, unknown>>;
  parentId: string | null;
  rootId: string | null;
  groupId: string | null;
  groupIndex: number | null;
  shadow: string | null;
  ignoreResult: boolean;
  serializer: SerializerName | undefined;
}

/**
 * Checks a task name and its options, resolving `countdown`/`expires` against `now`.
 * @throws {TypeError} for a value of the wrong type.
 * @throws {RangeError} for a number out of range.
 */
export function checkSendOptions(
  name: unknown,
  options: SendTaskOptions,
  now: Date,
): CheckedSendOptions {
  if (typeof name !== "string" || name === "") {
    throw new TypeError(`The task name must be a non-empty string, got ${describe(name)}`);
  }
  if (options === null || typeof options !== "object") {
    throw new TypeError(`sendTask options must be an object, got ${describe(options)}`);
  }
  const args = options.args ?? [];
  if (!Array.isArray(args)) throw new TypeError(`args must be an array, got ${describe(args)}`);
  const kwargs = options.kwargs ?? {};
  if (!isPlainObject(kwargs)) {
    throw new TypeError(`kwargs must be a plain object, got ${describe(kwargs)}`);
  }
  const headers = options.headers ?? {};
  if (!isPlainObject(headers)) {
    throw new TypeError(`headers must be a plain object, got ${describe(headers)}`);
  }
  if (options.queue !== undefined && (typeof options.queue !== "string" || options.queue === "")) {
    throw new TypeError(`queue must be a non-empty string, got ${describe(options.queue)}`);
  }
  let eta: Date | null = null;
  if (options.countdown !== undefined) {
    const countdown = seconds(options.countdown, "countdown");
    if (options.eta !== undefined) throw new TypeError("Pass either countdown or eta, not both");
    // Celery: `if countdown:` — a zero countdown means no ETA.
    if (countdown > 0) eta = new Date(now.getTime() + countdown * 1000);
  } else if (options.eta !== undefined) {
    eta = validDate(options.eta, "eta");
  }
  let expires: Date | null = null;
  let expiresInSeconds: number | null = null;
  if (options.expires !== undefined) {
    if (typeof options.expires === "number") {
      if (!Number.isFinite(options.expires)) {
        throw new RangeError(`expires must be a finite number of seconds, got ${options.expires}`);
      }
      expires = new Date(now.getTime() + options.expires * 1000);
      expiresInSeconds = Math.max(0, options.expires);
    } else {
      expires = validDate(options.expires, "expires");
      expiresInSeconds = Math.max(0, (expires.getTime() - now.getTime()) / 1000);
    }
  }
  let priority: number | null = null;
  if (options.priority !== undefined) {
    priority = integer(options.priority, "priority");
    if (priority < 0 || priority > 255) {
      throw new RangeError(`priority must be an integer from 0 to 255, got ${priority}`);
    }
  }
  const retries = options.retries === undefined ? 0 : integer(options.retries, "retries");
  if (retries < 0) throw new RangeError(`retries must not be negative, got ${retries}`);
  const groupIndex = options.groupIndex === undefined
    ? null
    : integer(options.groupIndex, "groupIndex");
  const serializer = options.serializer;
  if (serializer !== undefined && serializer !== "json" && serializer !== "msgpack") {
    throw new RangeError(`serializer must be "json" or "msgpack", got ${describe(serializer)}`);
  }
  if (options.onMessage !== undefined && typeof options.onMessage !== "function") {
    throw new TypeError(`onMessage must be a function, got ${describe(options.onMessage)}`);
  }
  return {
    args,
    kwargs,
    taskId: options.taskId === undefined ? crypto.randomUUID() : checkId(options.taskId, "taskId"),
    queue: options.queue,
    eta,
    expires,
    expiresInSeconds,
    priority,
    retries,
    timeLimit: options.timeLimit === undefined ? null : seconds(options.timeLimit, "timeLimit"),
    softTimeLimit: options.softTimeLimit === undefined
      ? null
      : seconds(options.softTimeLimit, "softTimeLimit"),
    headers,
    parentId: optionalId(options.parentId, "parentId"),
    rootId: optionalId(options.rootId, "rootId"),
    groupId: optionalId(options.groupId, "groupId"),
    groupIndex,
    shadow: options.shadow === undefined ? null : text(options.shadow, "shadow"),
    ignoreResult: options.ignoreResult === undefined
      ? false
      : boolean(options.ignoreResult, "ignoreResult"),
    serializer,
  };
}

function seconds(value: unknown, what: string): number {
  if (typeof value !== "number") {
    throw new TypeError(`${what} must be a number of seconds, got ${describe(value)}`);
  }
  if (!Number.isFinite(value) || value < 0) {
    throw new RangeError(`${what} must be a finite, non-negative number of seconds, got ${value}`);
  }
  return value;
}

function integer(value: unknown, what: string): number {
  if (typeof value !== "number") {
    throw new TypeError(`${what} must be an integer, got ${describe(value)}`);
  }
  if (!Number.isInteger(value)) throw new RangeError(`${what} must be an integer, got ${value}`);
  return value;
}

function validDate(value: unknown, what: string): Date {
  if (!(value instanceof Date)) {
    throw new TypeError(`${what} must be a Date, got ${describe(value)}`);
  }
  if (Number.isNaN(value.getTime())) throw new RangeError(`${what} is an invalid Date`);
  return value;
}

function optionalId(value: string | undefined, what: string): string | null {
  return value === undefined ? null : checkId(value, what);
}

function text(value: unknown, what: string): string {
  if (typeof value !== "string") {
    throw new TypeError(`${what} must be a string, got ${describe(value)}`);
  }
  return value;
}

function boolean(value: unknown, what: string): boolean {
  if (typeof value !== "boolean") {
    throw new TypeError(`${what} must be a boolean, got ${describe(value)}`);
  }
  return value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (value instanceof Date) return "a Date";
  if (typeof value === "object") return "an object";
  if (typeof value === "string") return `the string ${JSON.stringify(value.slice(0, 40))}`;
  return typeof value === "symbol" ? "a symbol" : `${typeof value} ${String(value)}`;
}
