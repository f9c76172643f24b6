/**
 * The `result` command, like Celery's `celery result`: show, wait for, follow or forget a task's
 * result. Runtime-agnostic: arguments, environment and output are passed in.
 *
 * @module
 */
import type { RedisBackend } from "../backend/redis_backend.ts";
import { createBackend } from "../backend/create_backend.ts";
import type { CeleryVersion } from "../wire/celery_version.ts";
import { CeleryBackendError, TimeoutError } from "../errors.ts";
import type { TaskMeta } from "../wire/meta.ts";
import type { SerializerName } from "../wire/serializers.ts";
import { PROPAGATE_STATES } from "../wire/states.ts";
import { TaskError } from "../wire/task_error.ts";
import { maskUrl } from "../connection/url.ts";
import { AsyncResult } from "../results/async_result.ts";
import { consumerFor } from "../results/consumer/consumer_for.ts";

/** Exit codes of the `result` command. */
export const EXIT = {
  /** The task succeeded (or `forget` worked). */
  success: 0,
  /** The task failed or was revoked. */
  failure: 1,
  /** The command line was wrong. */
  usage: 2,
  /** `--wait`/`--follow` ran out of time. */
  timeout: 3,
  /** Redis could not be reached or answered with an error, or a payload could not be read. */
  backendError: 4,
  /** The task is not ready yet (without `--wait`). */
  notReady: 5,
} as const;

/** Where the command writes and what it reads. */
export interface CommandIO {
  /** Writes a line to standard output. */
  out(line: string): void;
  /** Writes a line to standard error. */
  err(line: string): void;
  /** Environment variables (`CELERY_RESULT_BACKEND`, `UPSTASH_REDIS_REST_TOKEN`). */
  env: Record<string, string | undefined>;
  /** Aborts a wait (e.g. on Ctrl-C). */
  signal?: AbortSignal | undefined;
  /** A backend to use instead of one made from the URL (the command leaves it open). */
  backend?: RedisBackend | undefined;
}

const USAGE = `usage: result <task-id> [options]
       result forget <task-id> [--url URL]

Shows a Celery task's state and result, read from Celery's Redis result backend.
From JSR, without a checkout: deno run -A jsr:@taskmeta/celery-redis/result <task-id>

options:
  --url URL            result backend URL (default: $CELERY_RESULT_BACKEND); one of them is
                       required: redis://host:6379/0, rediss://…, sentinel://…, https://… (REST)
  --token TOKEN        REST token for https:// URLs (default: $UPSTASH_REDIS_REST_TOKEN)
  --wait               wait until the task is ready
  --timeout SECONDS    give up waiting after this many seconds, as in Celery (with --wait or
                       --follow; fractions allowed, e.g. 0.5; default: wait forever)
  --follow             print every state change until the task is ready
  --traceback          print the remote traceback of a failed task
  --json               print the whole meta as JSON
  --serializer NAME    result_serializer: json (default) or msgpack
  --celery-version V   5.2 … 5.6 (affects only what is written; default 5.6)

exit codes: 0 SUCCESS, 1 FAILURE or REVOKED, 2 usage error, 3 timeout, 4 backend error,
            5 not ready yet`;

interface Parsed {
  command: "show" | "forget";
  taskId: string;
  url: string | undefined;
  token: string | undefined;
  wait: boolean;
  follow: boolean;
  traceback: boolean;
  json: boolean;
  timeoutMs: number | undefined;
  serializer: SerializerName;
  celeryVersion: CeleryVersion;
}

class UsageError extends Error {}

function parse(argv: readonly string[], env: CommandIO["env"]): Parsed | "help" {
  const positional: string[] = [];
  const parsed: Omit<Parsed, "command" | "taskId"> = {
    url: env.CELERY_RESULT_BACKEND || undefined,
    token: env.UPSTASH_REDIS_REST_TOKEN || undefined,
    wait: false,
    follow: false,
    traceback: false,
    json: false,
    timeoutMs: undefined,
    serializer: "json",
    celeryVersion: "5.6",
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.startsWith("--") && arg.includes("=")
      ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)]
      : [arg, undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new UsageError(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case "-h":
      case "--help":
        return "help";
      case "--url":
        parsed.url = value();
        break;
      case "--token":
        parsed.token = value();
        break;
      case "--wait":
        parsed.wait = true;
        break;
      case "--follow":
        parsed.follow = true;
        break;
      case "--traceback":
        parsed.traceback = true;
        break;
      case "--json":
        parsed.json = true;
        break;
      case "--timeout": {
        const seconds = Number(value());
        if (!Number.isFinite(seconds) || seconds < 0) {
          throw new UsageError("--timeout takes a number of seconds");
        }
        parsed.timeoutMs = seconds * 1000;
        break;
      }
      case "--serializer": {
        const name = value();
        if (name !== "json" && name !== "msgpack") {
          throw new UsageError("--serializer is json or msgpack");
        }
        parsed.serializer = name;
        break;
      }
      case "--celery-version":
        parsed.celeryVersion = value() as CeleryVersion;
        break;
      default:
        if (flag.startsWith("-")) throw new UsageError(`Unknown option ${flag}`);
        positional.push(arg);
    }
  }
  const forget = positional[0] === "forget";
  const ids = forget ? positional.slice(1) : positional;
  if (ids.length !== 1 || ids[0] === "") throw new UsageError("Expected exactly one task id");
  return { ...parsed, command: forget ? "forget" : "show", taskId: ids[0]! };
}

// Says what is missing before any connection is tried (never falls back to memory://, which
// would show every task as PENDING).
function checkTarget(options: Parsed, hasBackend: boolean): void {
  if (hasBackend) return;
  const url = options.url;
  if (url === undefined) {
    throw new UsageError(
      "No result backend given: pass --url URL (e.g. --url redis://localhost:6379/0) or set " +
        "CELERY_RESULT_BACKEND",
    );
  }
  if (/^https?:\/\//i.test(url) && options.token === undefined && !hasUrlPassword(url)) {
    let host = "host";
    try {
      host = new URL(url).host;
    } catch {
      // createBackend() reports the malformed URL.
    }
    throw new UsageError(
      `No REST token for ${maskUrl(url)}: pass --token TOKEN, set UPSTASH_REDIS_REST_TOKEN, or ` +
        `give it in the URL as https://:TOKEN@${host}`,
    );
  }
}

function hasUrlPassword(url: string): boolean {
  try {
    return new URL(url).password !== "";
  } catch {
    return false;
  }
}

/**
 * Runs the `result` command and returns its exit code (see {@linkcode EXIT}).
 *
 * @example
 * ```ts
 * import { runResultCommand } from "./result_command.ts";
 * const code = await runResultCommand(["some-task-id", "--json"], {
 *   out: console.log,
 *   err: console.error,
 *   env: {},
 * });
 * console.log(code); // 5: PENDING is not ready
 * ```
 */
export async function runResultCommand(argv: readonly string[], io: CommandIO): Promise<number> {
  let options: Parsed | "help";
  try {
    options = parse(argv, io.env);
  } catch (error) {
    io.err(`result: ${(error as Error).message}\n\n${USAGE}`);
    return EXIT.usage;
  }
  if (options === "help") {
    io.out(USAGE);
    return EXIT.success;
  }
  try {
    checkTarget(options, io.backend !== undefined);
  } catch (error) {
    io.err(`result: ${(error as Error).message}`);
    return EXIT.usage;
  }
  const out = (line: string) => io.out(escapeControls(line));
  const err = (line: string) => io.err(escapeControls(line));
  try {
    await using owned = io.backend ? undefined : createBackend(options.url, {
      resultSerializer: options.serializer,
      celeryVersion: options.celeryVersion,
      ...(options.token === undefined ? {} : { token: options.token }),
      http: { env: io.env },
    });
    const backend = (io.backend ?? owned)!;
    if (options.command === "forget") {
      await backend.forget(options.taskId);
      out(`forgot ${options.taskId}`);
      return EXIT.success;
    }
    const result = new AsyncResult(options.taskId, backend);
    let meta: TaskMeta;
    if (options.wait || options.follow) {
      try {
        meta = await consumerFor(backend).wait(options.taskId, {
          signal: io.signal,
          timeout: options.timeoutMs,
          onMessage: options.follow ? (m) => out(format(m, options)) : undefined,
        });
      } catch (error) {
        if (error instanceof TimeoutError) {
          const cause = error.cause instanceof Error ? ` (${error.cause.message})` : "";
          err(
            `result: timed out after ${options.timeoutMs! / 1000} s waiting for ` +
              `${options.taskId}${cause}`,
          );
          return EXIT.timeout;
        }
        throw error;
      }
      if (!options.follow) out(format(meta, options));
    } else {
      meta = await result.getMeta();
      out(format(meta, options));
    }
    if (meta.status === "SUCCESS") return EXIT.success;
    if (PROPAGATE_STATES.has(meta.status)) return EXIT.failure;
    return EXIT.notReady;
  } catch (error) {
    if (error instanceof TypeError || error instanceof RangeError) {
      err(`result: ${error.message}`);
      return EXIT.usage;
    }
    if (error instanceof TimeoutError) return EXIT.timeout;
    const where = options.url === undefined ? "the backend" : maskUrl(options.url);
    const kind = error instanceof CeleryBackendError ? error.name : "Error";
    err(`result: ${kind} from ${where}: ${(error as Error).message}`);
    return EXIT.backendError;
  }
}

/**
 * Makes stored text safe to print on a terminal: control characters (ESC sequences, carriage
 * returns, C1 controls such as CSI) and bidirectional overrides become visible `\xNN` / `\uNNNN`
 * escapes, so a stored result cannot move the cursor, retitle the window or reorder the text.
 * Newlines and tabs are kept (tracebacks span lines).
 *
 * @param text The text to print.
 * @returns The text with those characters escaped.
 */
export function escapeControls(text: string): string {
  return text.replace(UNSAFE_CHARACTERS, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff
      ? `\\x${code.toString(16).padStart(2, "0")}`
      : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}

// C0 controls but tab and newline, DEL, C1 controls, and the bidi embedding/override/isolate marks.
// deno-lint-ignore no-control-regex
const UNSAFE_CHARACTERS = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

function format(meta: TaskMeta, options: Parsed): string {
  if (options.json) return JSON.stringify(toPlain(meta));
  if (options.traceback && meta.result instanceof TaskError) {
    return meta.traceback ?? meta.result.traceback ?? `${meta.result.name}: ${meta.result.message}`;
  }
  const value = meta.result instanceof TaskError
    ? `${meta.result.name}(${
      meta.result.excMessage.map((a) => JSON.stringify(toPlain(a))).join(", ")
    })`
    : JSON.stringify(toPlain(meta.result));
  return `${meta.status} ${value}`;
}

// JSON for people: errors as Celery's record, Python values as their text, bigints in full.
function toPlain(value: unknown): unknown {
  if (value instanceof TaskError) return value.toExceptionInfo();
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Uint8Array) return Array.from(value);
  if (Array.isArray(value)) return value.map(toPlain);
  if (value instanceof Date) return value.toISOString();
  if (value !== null && typeof value === "object") {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) return String(value);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toPlain(v)]));
  }
  return value;
}
