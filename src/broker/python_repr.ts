/**
 * The `argsrepr`/`kwargsrepr` headers of a task message: what Celery's `saferepr(args, 1024)`
 * (celery/utils/saferepr.py) writes for the Python values our arguments decode to on a worker.
 *
 * saferepr is not Python's `repr`: strings are quoted with `'` and only `'` is escaped, numbers
 * and booleans are `str()`, containers deeper than 3 levels become `[...]`/`{...}`, and once
 * `maxlen` characters are out it writes `, ...` and then the closing brackets it still owes —
 * with the quirk, kept here, that the token which crossed the limit is dropped even when it was a
 * bracket. Flower, `celery inspect` and the events show this text, so it is reproduced exactly.
 *
 * @module
 */
import { pythonRepr } from "../wire/python_repr.ts";

/** Celery's `argsrepr_maxsize` and `kwargsrepr_maxsize`. */
export const REPR_MAXSIZE = 1024;

/** How deep saferepr expands containers (its `maxlevels`). */
const MAX_LEVELS = 3;

/** Text that never gets truncated (brackets) or may be (separators). */
interface Literal {
  kind: "literal";
  text: string;
  /** Python's `_literal.truncate`: separators may be dropped, brackets are owed. */
  truncatable: boolean;
}
/** A dict key, rendered by a nested saferepr. */
interface Key {
  kind: "key";
  key: string;
}
/** A string or bytes value, quoted at the end with what is left of maxlen. */
interface Quoted {
  kind: "quoted";
  value: string | Uint8Array;
}
/** Any other value's text (`str()` of numbers, `repr()` of the rest). */
interface Text {
  kind: "text";
  text: string;
}
type Token = Literal | Key | Quoted | Text;

const SEPARATOR: Literal = { kind: "literal", text: ", ", truncatable: true };
const KEY_SEPARATOR: Literal = { kind: "literal", text: ": ", truncatable: true };

/**
 * Celery's `saferepr(value, maxlen)` of the Python value `value` becomes on the worker.
 * @param value Arguments as given to `sendTask` (already checked to be encodable).
 * @param maxlen The budget in characters (Python counts code points).
 * @returns The text Python would put in `argsrepr`/`kwargsrepr`.
 */
export function saferepr(value: unknown, maxlen: number = REPR_MAXSIZE): string {
  const simple = simpleRepr(value);
  if (simple !== undefined && simple.length < maxlen) return simple;
  let left = maxlen;
  let out = "";
  // Closing brackets of the containers whose closers are still ahead in the stream.
  const owed: string[] = [];
  for (const token of tokens(value, 0, owed)) {
    if (left <= 0) {
      // Python drops the token in hand, then writes the brackets still owed, innermost first.
      return out + ", ..." + owed.slice().reverse().join("");
    }
    const text = render(token, left);
    out += text;
    left -= pyLength(text);
  }
  return out;
}

/**
 * The common case without the token machinery: an empty dict, or a list of None, booleans and
 * safe integers (ASCII, so its length is Python's). `undefined` for anything else.
 */
function simpleRepr(value: unknown): string | undefined {
  if (!Array.isArray(value)) {
    return isPlainObject(value) && isEmpty(value) ? "{}" : undefined;
  }
  let out = "[";
  for (let i = 0; i < value.length; i++) {
    const item: unknown = value[i];
    let text: string;
    if (typeof item === "number" && Number.isSafeInteger(item)) text = String(item);
    else if (item === null) text = "None";
    else if (item === true) text = "True";
    else if (item === false) text = "False";
    else return undefined;
    out += i === 0 ? text : ", " + text;
  }
  return out + "]";
}

function isEmpty(object: object): boolean {
  for (const _ in object) return false;
  return true;
}

function* tokens(value: unknown, depth: number, owed: string[]): Generator<Token> {
  if (Array.isArray(value)) {
    if (depth >= MAX_LEVELS) {
      yield { kind: "text", text: "[...]" };
      return;
    }
    owed.push("]");
    yield { kind: "literal", text: "[", truncatable: false };
    for (let i = 0; i < value.length; i++) {
      if (i > 0) yield SEPARATOR;
      yield* tokens(value[i], depth + 1, owed);
    }
    owed.pop();
    yield { kind: "literal", text: "]", truncatable: false };
    return;
  }
  if (isPlainObject(value)) {
    if (depth >= MAX_LEVELS) {
      yield { kind: "text", text: "{...}" };
      return;
    }
    owed.push("}");
    yield { kind: "literal", text: "{", truncatable: false };
    const keys = Object.keys(value);
    for (let i = 0; i < keys.length; i++) {
      if (i > 0) yield SEPARATOR;
      yield { kind: "key", key: keys[i]! };
      yield KEY_SEPARATOR;
      yield* tokens(value[keys[i]!], depth + 1, owed);
    }
    owed.pop();
    yield { kind: "literal", text: "}", truncatable: false };
    return;
  }
  if (typeof value === "string" || value instanceof Uint8Array) {
    yield { kind: "quoted", value };
    return;
  }
  yield { kind: "text", text: scalarRepr(value) };
}

function render(token: Token, left: number): string {
  switch (token.kind) {
    case "literal":
      return token.text;
    case "key":
      return quoteText(token.key, left);
    case "quoted":
      return typeof token.value === "string"
        ? quoteText(token.value, left)
        : quoteBytes(token.value, left);
    case "text":
      return truncate(token.text, left);
  }
}

// celery.utils.text.truncate: at or beyond maxlen, cut, drop the last partial word, add "...".
function truncate(text: string, maxlen: number): string {
  if (maxlen <= 0 || pyLength(text) < maxlen) return text;
  const head = Array.from(text).slice(0, maxlen).join("");
  const space = head.lastIndexOf(" ");
  return (space === -1 ? head : head.slice(0, space)) + "...";
}

function quoteText(text: string, left: number): string {
  return `'${truncate(text, left).replaceAll("'", "\\'")}'`;
}

function quoteBytes(bytes: Uint8Array, left: number): string {
  const cut = left > 0 && bytes.length > left;
  const chunk = cut ? bytes.subarray(0, left) : bytes;
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(chunk);
  } catch {
    text = Array.from(chunk, (b) => b.toString(16).padStart(2, "0")).join("");
  }
  return `b'${text}${cut ? "..." : ""}'`;
}

/** Python's `str()`/`repr()` of a scalar, as saferepr writes it. */
function scalarRepr(value: unknown): string {
  // The encoder writes every integral number as an int (all its digits), -0 as 0.
  if (typeof value === "number" && Number.isInteger(value)) {
    return Number.isSafeInteger(value) ? String(value + 0) : BigInt(value).toString();
  }
  return pythonRepr(value);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== "object") return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Python's `len()` of text: code points, not UTF-16 units. */
function pyLength(text: string): number {
  let n = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}
