/**
 * What Python raises for a RETRY, FAILURE or REVOKED record that holds no usable exception, so
 * that such a record never reads as a successful result here either. Mirrors
 * celery/backends/base.py `exception_to_python` (the same in Celery 5.2 and 5.6), and
 * `AsyncResult.get()` re-raising a missing exception (vine's `promise.throw(None)`).
 *
 * @module
 */
import { pythonStr } from "./python_repr.ts";

/** The Python exception a stored value turns into: its class, module and `str()`. */
export interface PythonRaise {
  /** The class name, e.g. `TypeError`. */
  readonly excType: string;
  /** The class's module (always `builtins` here). */
  readonly excModule: string;
  /** `str(exception)`. */
  readonly message: string;
}

/** What `get()` raises when the record holds no exception at all (`None`, `0`, `""`, `[]`...). */
export const NO_EXCEPTION: PythonRaise = {
  excType: "RuntimeError",
  excModule: "builtins",
  message: "No active exception to reraise",
};

/** Python's truth value of a decoded JSON value. */
export function pythonFalsy(value: unknown): boolean {
  if (value === null || value === undefined || value === false || value === "") return true;
  if (value === 0 || value === 0n) return true;
  if (Array.isArray(value) || value instanceof Uint8Array) return value.length === 0;
  return isPlainObject(value) && Object.keys(value).length === 0;
}

/**
 * The record `exception_to_python` works on once a non-dict has gone through `dict(value)`, or
 * the Python exception that conversion (or the record's missing or non-string `exc_type`) raises.
 */
export function exceptionRecordOf(
  value: unknown,
): { record: Record<string, unknown> } | { raise: PythonRaise } {
  if (pythonFalsy(value)) return { raise: NO_EXCEPTION };
  let record: Record<string, unknown>;
  if (isPlainObject(value)) {
    record = value;
  } else {
    const converted = pythonDict(value);
    if ("raise" in converted) return converted;
    record = converted.record;
  }
  if (!Object.hasOwn(record, "exc_type")) {
    return {
      raise: builtin("ValueError", "Exception information must include the exception type"),
    };
  }
  const excType = record.exc_type;
  if (typeof excType !== "string") {
    // A non-str name reaches create_exception_cls, i.e. type(name, (Exception,), {}).
    return {
      raise: builtin(
        "TypeError",
        `type.__new__() argument 1 must be str, not ${pythonTypeName(excType)}`,
      ),
    };
  }
  return { record };
}

// dict(value) for a non-dict: each element must be a pair (an iterable of length 2) with a
// hashable first item. A TypeError there is re-raised by Celery with its own message; a
// ValueError (an element of the wrong length) is not caught.
function pythonDict(value: unknown): { record: Record<string, unknown> } | { raise: PythonRaise } {
  const refused = {
    raise: builtin(
      "TypeError",
      "If the stored exception isn't an instance of BaseException, it must be a dictionary.\n" +
        `Instead got: ${pythonStr([value])}`,
    ),
  };
  const elements = iterate(value);
  if (elements === undefined) return refused;
  const record: Record<string, unknown> = {};
  for (const [index, element] of elements.entries()) {
    const pair = iterate(element);
    if (pair === undefined) return refused;
    if (pair.length !== 2) {
      return {
        raise: builtin(
          "ValueError",
          `dictionary update sequence element #${index} has length ${pair.length}; 2 is required`,
        ),
      };
    }
    const [key, item] = pair;
    if (Array.isArray(key) || isPlainObject(key)) return refused; // unhashable
    // Only str keys can be the exc_* fields Celery looks up.
    if (typeof key === "string") record[key] = item;
  }
  return { record };
}

// The items Python's iter() yields, or undefined for a value that is not iterable.
function iterate(value: unknown): unknown[] | undefined {
  if (typeof value === "string") return [...value];
  if (Array.isArray(value)) return value;
  if (value instanceof Uint8Array) return [...value];
  if (isPlainObject(value)) return Object.keys(value);
  return undefined;
}

function builtin(excType: string, message: string): PythonRaise {
  return { excType, excModule: "builtins", message };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

// Python's type name of a decoded JSON value (`int`, `float`, `str`, `list`, `dict`...).
function pythonTypeName(value: unknown): string {
  if (value === null || value === undefined) return "NoneType";
  if (typeof value === "boolean") return "bool";
  if (typeof value === "bigint") return "int";
  if (typeof value === "number") {
    return Number.isSafeInteger(value) && !Object.is(value, -0) ? "int" : "float";
  }
  if (typeof value === "string") return "str";
  if (Array.isArray(value)) return "list";
  if (value instanceof Uint8Array) return "bytes";
  return isPlainObject(value) ? "dict" : (value.constructor?.name ?? "object");
}
