/**
 * kombu's JSON for the parts of a task message whose shape is fixed (the envelope, the headers,
 * the body's three items), written directly: the generic encoder walks every value with cycle and
 * depth bookkeeping, and a message is mostly short ASCII strings, null and small integers. What is
 * not one of those (arguments, time limits, extra headers' values) still goes through
 * {@linkcode encodeKombuJson}, so the bytes are the same as encoding the whole message at once.
 *
 * @module
 */
import { encodeKombuJson, type KombuJsonEncodeOptions } from "../wire/serialization/kombu_json.ts";

/** kombu ≥ 5.3 (type markers) or 5.2. */
export type KombuJsonDialect = "5.2" | "5.3";

const OPTIONS: Readonly<Record<KombuJsonDialect, KombuJsonEncodeOptions>> = {
  "5.2": { dialect: "5.2" },
  "5.3": { dialect: "5.3" },
};

// Printable ASCII but `"` and `\`: Python's json.dumps writes these strings as they are.
const PLAIN_STRING = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** The body's embed when nothing is linked, chained or chorded (the usual case). */
const EMPTY_EMBED = '{"callbacks": null, "errbacks": null, "chain": null, "chord": null}';

/** A scalar's kombu JSON; anything else is handed to the generic encoder. */
export function scalarJson(value: unknown, dialect: KombuJsonDialect): string {
  if (value === null) return "null";
  if (typeof value === "string" && PLAIN_STRING.test(value)) return `"${value}"`;
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "number" && Number.isSafeInteger(value) && !Object.is(value, -0)) {
    return String(value);
  }
  return encodeKombuJson(value, OPTIONS[dialect]);
}

/** A flat object's kombu JSON: keys in insertion order, each value by {@linkcode scalarJson}. */
export function flatObjectJson(
  object: Readonly<Record<string, unknown>>,
  dialect: KombuJsonDialect,
): string {
  let out = "";
  for (const key in object) {
    if (out !== "") out += ", ";
    out += `${scalarJson(key, dialect)}: ${scalarJson(object[key], dialect)}`;
  }
  return `{${out}}`;
}

/** The embed part of a task's body: callbacks, errbacks, chain, chord. */
export interface BodyEmbed {
  callbacks: unknown;
  errbacks: unknown;
  chain: unknown;
  chord: unknown;
}

/**
 * The body `[args, kwargs, embed]` in kombu's JSON.
 * @throws {EncodeError} as encoding the whole body throws it (same message and path).
 */
export function bodyJson(
  args: readonly unknown[],
  kwargs: Readonly<Record<string, unknown>>,
  embed: BodyEmbed,
  dialect: KombuJsonDialect,
): string {
  try {
    const embedText = embed.callbacks === null && embed.errbacks === null &&
        embed.chain === null && embed.chord === null
      ? EMPTY_EMBED
      : encodeKombuJson(embed, OPTIONS[dialect]);
    return `[${encodeKombuJson(args, OPTIONS[dialect])}, ${
      encodeKombuJson(kwargs, OPTIONS[dialect])
    }, ${embedText}]`;
  } catch {
    // The error names the value's path from the body's top: encode the whole body to get it.
    return encodeKombuJson([args, kwargs, embed], OPTIONS[dialect]);
  }
}
