/**
 * `sseResponse()`: a Celery task's state changes as a `text/event-stream` `Response`, which an
 * edge function returns so that a web page's `EventSource` shows the task's progress live.
 *
 * @module
 */
import type { RedisBackend } from "../backend/redis_backend.ts";
import type { TaskMeta } from "../wire/meta.ts";
import { READY_STATES } from "../wire/states.ts";
import { checkDelay, MAX_TIMER_DELAY } from "../connection/time_units.ts";
import { consumerFor } from "./consumer/consumer_for.ts";

/** Options of {@linkcode sseResponse}. */
export interface SseResponseOptions {
  /**
   * When to end the stream (a `Date` or ms since the epoch), before the platform's time limit.
   * A `deadline` event is sent first; the browser's `EventSource` then reconnects by itself after
   * `retry` ms, and the new request starts with the task's current state.
   * @default {no deadline}
   */
  deadline?: Date | number | undefined;
  /** Ends the stream when it aborts: pass the incoming request's `signal`. */
  signal?: AbortSignal | undefined;
  /** The reconnection delay sent to the browser (`retry:`), in ms. @default {1000} */
  retry?: number | undefined;
  /** Milliseconds between keep-alive comments, which keep proxies from closing the stream. @default {15000} */
  keepAlive?: number | undefined;
  /** Extra response headers (CORS, say). @default {{}} */
  headers?: Record<string, string> | undefined;
  /**
   * Sends the remote traceback in each event (`metaToJson`'s `traceback`). Off by default: a
   * Python traceback shows server paths and code to whoever opened the page.
   * @default {false}
   */
  traceback?: boolean | undefined;
  /**
   * Turns a meta into the JSON sent as an event's `data`.
   * @default {(meta, taskId) => metaToJson(meta, taskId, { traceback })}
   */
  serialize?: ((meta: TaskMeta, taskId: string) => unknown) | undefined;
  /**
   * Called once when the stream ends (ready state, deadline, error, or the client went away),
   * e.g. to close a backend made for this request.
   */
  onClose?: (() => void) | undefined;
}

const encoder = new TextEncoder();

/** Options of {@linkcode metaToJson}. */
export interface MetaToJsonOptions {
  /**
   * Includes the remote traceback (`traceback`). Leave it off for public clients: a Python
   * traceback shows server file paths and source lines.
   * @default {false}
   */
  traceback?: boolean | undefined;
}

/**
 * A meta as plain JSON for a web client (`sseResponse()`'s events, an edge function's answer):
 * `{ task_id, status, result, date_done }`, plus `traceback` only when asked for. In `result`:
 * - a FAILURE's or REVOKED's error is `{ exc_type, exc_message }` (the Python class and `str()`);
 * - a `bigint` (an integer beyond 2^53) is its decimal string, so no digit is lost;
 * - `PyDecimal`, `PyUUID`, `PyDateTime`, `PyDate` and `PyTime` are their Python text forms
 *   (`"1.50"`, `"1234…"`, `"2024-05-06T07:08:09.123456+00:00"`), `PyFloat` a number;
 * - bytes (`Uint8Array`) are a base64 string; `NaN` and `Infinity` are `null`, as in `JSON`.
 *
 * @param meta The meta, as `getTaskMeta()` or a wait returns it.
 * @param taskId The task's id, used when the meta has none (`PENDING`).
 * @param options Whether to include the traceback.
 * @returns An object that `JSON.stringify` accepts.
 */
export function metaToJson(
  meta: TaskMeta,
  taskId: string,
  options: MetaToJsonOptions = {},
): Record<string, unknown> {
  const json: Record<string, unknown> = {
    task_id: meta.task_id ?? taskId,
    status: meta.status,
    result: jsonSafe(meta.result),
    date_done: meta.date_done ?? null,
  };
  if (options.traceback) json.traceback = meta.traceback ?? null;
  return json;
}

function jsonSafe(value: unknown): unknown {
  // JSON.stringify calls the Python types' toJSON() before the replacer sees them.
  return JSON.parse(JSON.stringify(value ?? null, (_key, v: unknown) => {
    if (typeof v === "bigint") return v.toString();
    if (v instanceof Uint8Array) return base64(v);
    // Only the class and message: a TaskError also carries the traceback, which stays out.
    if (v instanceof Error) return { exc_type: v.name, exc_message: v.message };
    return v;
  }));
}

function base64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

function event(name: string, data: unknown): Uint8Array {
  return encoder.encode(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
}

/**
 * Streams a task's states as server-sent events:
 *
 * - `event: state` with the current state at once (`PENDING` if nothing is stored yet), then
 *   one for every change (STARTED, PROGRESS…, RETRY), and the ready one (SUCCESS, FAILURE,
 *   REVOKED) last, after which the stream ends. Each `data` is JSON (see `serialize`).
 * - `event: deadline` when `deadline` comes first; the stream ends and the browser reconnects.
 * - `event: error` with `{ task_id, error, message }` (the error's class and message) if reading
 *   or decoding fails; the stream ends.
 *
 * The page should close its `EventSource` on a ready state, or it reconnects and gets the same
 * final state again. The wait goes through the backend's consumer, shared with other waits.
 *
 * @param backend The backend to read and wait through.
 * @param taskId The task whose states to stream.
 * @param options Deadline, abort signal and formatting.
 * @returns A `200 text/event-stream` response.
 * @throws {TypeError} at once for a `deadline` that is not a Date or a finite number.
 * @throws {RangeError} at once for a `retry` that is not a non-negative integer, or a `keepAlive`
 * that is not a positive number of ms a timer can hold (at most 2^31-1).
 *
 * @example In an edge function (Cloudflare Worker, Vercel Edge, Deno Deploy)
 * ```ts ignore
 * import { httpDriver, RedisBackend, sseResponse } from "@taskmeta/celery-redis/edge";
 *
 * export default {
 *   fetch(request: Request, env: Record<string, string>): Response {
 *     const id = new URL(request.url).searchParams.get("id");
 *     if (!id) return Response.json({ error: "expected ?id=<task id>" }, { status: 400 });
 *     const backend = new RedisBackend(httpDriver({ env }));
 *     return sseResponse(backend, id, {
 *       signal: request.signal, // stop waiting when the browser leaves
 *       deadline: Date.now() + 25_000,
 *       onClose: () => void backend.close(),
 *     });
 *   },
 * };
 * // examples/edge_worker.ts is a complete worker (id checks, a JSON endpoint, errors).
 * // In the page:
 * // const events = new EventSource("/progress?id=" + id);
 * // events.addEventListener("state", (e) => {
 * //   const meta = JSON.parse(e.data);
 * //   if (["SUCCESS", "FAILURE", "REVOKED"].includes(meta.status)) events.close();
 * // });
 * ```
 */
export function sseResponse(
  backend: RedisBackend,
  taskId: string,
  options: SseResponseOptions = {},
): Response {
  const traceback = options.traceback ?? false;
  const serialize = options.serialize ??
    ((meta: TaskMeta, id: string) => metaToJson(meta, id, { traceback }));
  const retry = options.retry ?? 1000;
  // Written into the stream as `retry: N`: only digits are a valid field (and nothing else is
  // written there).
  if (!Number.isSafeInteger(retry) || retry < 0) {
    throw new RangeError(`retry must be a non-negative integer number of ms, got ${String(retry)}`);
  }
  const keepAlive = options.keepAlive ?? 15_000;
  checkDelay("keepAlive", keepAlive); // 0 or a delay past a timer's reach would ping in a loop
  const deadline = options.deadline instanceof Date ? options.deadline.getTime() : options.deadline;
  if (deadline !== undefined && !Number.isFinite(deadline)) {
    throw new TypeError("deadline must be a Date or a finite number of ms since the epoch");
  }
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  const timers: ReturnType<typeof setTimeout>[] = [];

  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      let open = true;
      let lastSent = "";
      const write = (bytes: Uint8Array) => {
        if (open) controller.enqueue(bytes);
      };
      const finish = () => {
        if (!open) return;
        open = false;
        for (const timer of timers) clearTimeout(timer);
        clearInterval(pinger);
        stop.abort();
        try {
          controller.close();
        } catch {
          // Already cancelled by the client.
        }
        options.onClose?.();
      };
      const send = (meta: TaskMeta) => {
        const data = serialize(meta, taskId);
        const text = JSON.stringify(data);
        if (text === lastSent) return;
        lastSent = text;
        write(event("state", data));
      };
      write(encoder.encode(`retry: ${retry}\n\n`));
      const pinger = setInterval(() => write(encoder.encode(": keep-alive\n\n")), keepAlive);
      // A runtime fires a timer of more than 2^31 - 1 ms (about 24 days) at once: a later
      // deadline is none, as in waitForResult().
      const left = deadline === undefined ? Infinity : Math.max(0, deadline - Date.now());
      if (left <= MAX_TIMER_DELAY) {
        timers.push(setTimeout(() => {
          write(event("deadline", { task_id: taskId }));
          finish();
        }, left));
      }
      signal.addEventListener("abort", finish, { once: true });
      if (signal.aborted) return finish();
      (async () => {
        try {
          send(await backend.getTaskMeta(taskId));
          if (signal.aborted) return;
          const meta = await consumerFor(backend).wait(taskId, {
            signal,
            onMessage: send,
          });
          send(meta);
          finish();
        } catch (error) {
          if (!signal.aborted) {
            const { name, message } = error instanceof Error
              ? error
              : { name: "Error", message: String(error) };
            write(event("error", { task_id: taskId, error: name, message }));
            finish();
          }
        }
      })();
    },
    cancel() {
      // The client went away: abort() runs finish(), which releases the wait and calls onClose.
      stop.abort();
    },
  });
  return new Response(body, {
    status: 200,
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache, no-transform",
      "x-accel-buffering": "no",
      ...options.headers,
    },
  });
}

/** Whether an event's state is final, for pages that read the stream (SUCCESS, FAILURE, REVOKED). */
export function isFinalState(status: string): boolean {
  return READY_STATES.has(status);
}
