/**
 * Exceptions stored by Celery workers, as JavaScript errors, and JavaScript errors as the exception
 * records Python rebuilds (celery/backends/base.py `prepare_exception`, `exception_to_python`).
 *
 * @module
 */
import { DecodeError } from "../errors.ts";
import { pythonStr } from "./python_repr.ts";
import { exceptionRecordOf } from "./refused_exception.ts";

/** The exception record Celery stores for RETRY, FAILURE and REVOKED (key order matters). */
export interface ExceptionInfo {
  /** The exception class's qualified name, e.g. `ValueError` or `MyErr.Inner`. */
  exc_type: string;
  /** The exception's `args` (older writers stored a plain string). */
  exc_message: unknown[] | string;
  /** The module the class lives in, e.g. `builtins`, `celery.exceptions`. */
  exc_module?: string | null;
}

/** Where a {@linkcode TaskError} came from. */
export interface TaskErrorOptions extends ErrorOptions {
  /** The id of the task that raised it. */
  taskId?: string | undefined;
  /** The state it was stored with (`FAILURE`, `REVOKED` or `RETRY`). */
  state?: string | undefined;
  /** The remote traceback text, as the worker formatted it. */
  traceback?: string | null | undefined;
}

/**
 * An exception raised by a Celery task (in Python or TypeScript), rebuilt from its stored record.
 * Its `name` is the remote class name, so `err.name === "ValueError"` reads as in Python.
 *
 * @example Telling a remote ValueError apart
 * ```ts
 * import { TaskError } from "./task_error.ts";
 * const err = TaskError.fromExceptionInfo({
 *   exc_type: "ValueError",
 *   exc_message: ["bad input"],
 *   exc_module: "builtins",
 * });
 * console.log(err.name, err.message, err.excModule); // ValueError bad input builtins
 * ```
 */
export class TaskError extends Error {
  /** The remote exception class's qualified name. */
  readonly excType: string;
  /** The remote class's module, or `undefined` when the record had none. */
  readonly excModule: string | undefined;
  /** The exception's args, as stored. */
  readonly excMessage: readonly unknown[];
  /** The remote traceback text, or `null`. */
  readonly traceback: string | null;
  /** The id of the task that raised it, when known. */
  readonly taskId: string | undefined;
  /** The state the exception was stored with, when known. */
  readonly state: string | undefined;

  /**
   * Creates the error from the remote exception's class, args and module.
   *
   * @param excType The exception class's qualified name.
   * @param excMessage The exception's args.
   * @param excModule The class's module.
   * @param options Where it came from.
   */
  constructor(
    excType: string,
    excMessage: readonly unknown[],
    excModule?: string,
    options: TaskErrorOptions = {},
  ) {
    super(pythonStr(excMessage), options);
    this.name = excType;
    this.excType = excType;
    this.excModule = excModule;
    this.excMessage = excMessage;
    this.traceback = options.traceback ?? null;
    this.taskId = options.taskId;
    this.state = options.state;
  }

  /**
   * Rebuilds an error from a stored exception record, as Python's `exception_to_python` does.
   *
   * A record Python cannot rebuild (no `exc_type`, a list, a number, nothing at all) gives the
   * error Python's `AsyncResult.get()` raises for it instead, e.g. `TypeError` or
   * `RuntimeError: No active exception to reraise`, with `excModule` `builtins` and a
   * {@linkcode DecodeError} saying what was stored as its `cause`: such a record never reads as a
   * result.
   */
  static fromExceptionInfo(info: unknown, options: TaskErrorOptions = {}): TaskError {
    const outcome = exceptionRecordOf(info);
    if ("raise" in outcome) {
      const { excType, excModule, message } = outcome.raise;
      const what = options.state ? `The ${options.state} record` : "The exception record";
      const task = options.taskId === undefined ? "" : ` of task ${options.taskId}`;
      return new TaskError(excType, [message], excModule, {
        taskId: options.taskId,
        state: options.state,
        cause: new DecodeError(
          `${what}${task} holds no exception Python can rebuild (${describe(info)})`,
        ),
      });
    }
    const record = outcome.record as Partial<ExceptionInfo> & { exc_type: string };
    const message = record.exc_message;
    const args = Array.isArray(message) ? message : message === undefined ? [] : [message];
    const module = typeof record.exc_module === "string" ? record.exc_module : undefined;
    return new TaskError(record.exc_type, args, module, options);
  }

  /** The record Celery stores for this error, keys in Celery's order. */
  toExceptionInfo(): ExceptionInfo {
    return {
      exc_type: this.excType,
      exc_message: [...this.excMessage],
      exc_module: this.excModule ?? null,
    };
  }
}

// JavaScript's base classes that have a same-named Python builtin; the rest keep their name and get
// a synthesized class on the Python side (Celery creates one when the lookup fails).
const PYTHON_BUILTIN_NAMES: Record<string, string> = {
  Error: "Exception",
  TypeError: "TypeError",
  SyntaxError: "SyntaxError",
};

/**
 * Turns any thrown value into the record Celery stores, so Python's `AsyncResult` raises a real
 * exception: a {@linkcode TaskError} keeps its remote class; an object with string `excType` (and
 * optional `excModule`, `excMessage`) names the Python class explicitly; a plain JavaScript error
 * maps `Error` to `builtins.Exception`, `TypeError` to `builtins.TypeError`, other names to a class
 * of that name; its message is the single arg.
 */
export function toExceptionInfo(error: unknown): ExceptionInfo {
  if (error instanceof TaskError) return error.toExceptionInfo();
  if (error !== null && typeof error === "object") {
    const e = error as { excType?: unknown; excModule?: unknown; excMessage?: unknown };
    const message = error instanceof Error ? error.message : String(error);
    if (typeof e.excType === "string" && e.excType !== "") {
      return {
        exc_type: e.excType,
        exc_message: Array.isArray(e.excMessage) ? [...e.excMessage] : [message],
        exc_module: typeof e.excModule === "string" ? e.excModule : "builtins",
      };
    }
    if (error instanceof Error) {
      const name = error.name || "Error";
      return {
        exc_type: PYTHON_BUILTIN_NAMES[name] ?? name,
        exc_message: [message],
        exc_module: "builtins",
      };
    }
  }
  return { exc_type: "Exception", exc_message: [String(error)], exc_module: "builtins" };
}

/** The traceback text to store for a thrown value: its stack, when it has one. */
export function tracebackOf(error: unknown): string | null {
  if (error instanceof TaskError) return error.traceback;
  return error instanceof Error && typeof error.stack === "string" ? error.stack : null;
}

// Python's str(exc): "" for no args, str(arg) for one, repr(args) for several.
function describe(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object without a string exc_type";
  return `a ${typeof value}`;
}
