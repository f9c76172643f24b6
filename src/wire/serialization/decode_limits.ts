/**
 * Limits on what a stored payload may make the decoders build. A payload comes from Redis, which
 * anyone with write access can fill, so decoding must stay bounded: memory proportional to the
 * bytes received, recursion bounded by the nesting limit, and every violation a `DecodeError`
 * naming the limit that was hit.
 *
 * @module
 */

/**
 * Limits applied when decoding a stored payload (kombu JSON or msgpack).
 *
 * @example Allowing results with more values
 * ```ts
 * import { createBackend } from "../../../mod.ts";
 * await using backend = createBackend("memory://", { decodeLimits: { maxItems: 20_000_000 } });
 * ```
 */
export interface DecodeLimits {
  /**
   * How many containers (arrays, objects / maps) may be nested inside each other. Python cannot
   * write or read deeper JSON (its recursion limit is 1000) nor deeper msgpack (its unpacker
   * stops at 1024), so the default refuses nothing Celery can store.
   * @default {1024}
   */
  maxDepth?: number | undefined;
  /**
   * How many values one payload may hold in all its containers together: array items plus map
   * entries, at every level. A container that declares more than what is left of this budget is
   * refused before anything is built for it. One million values of the smallest kind (an empty
   * list, one byte in msgpack) take tens of MB of heap; raise this for results that are large
   * lists or dicts.
   * @default {1_000_000}
   */
  maxItems?: number | undefined;
}

/** The limits with every default filled in. */
export interface ResolvedDecodeLimits {
  /** See {@linkcode DecodeLimits.maxDepth}. */
  readonly maxDepth: number;
  /** See {@linkcode DecodeLimits.maxItems}. */
  readonly maxItems: number;
}

/** {@linkcode DecodeLimits.maxDepth}'s default. */
export const DEFAULT_MAX_DEPTH = 1024;
/** {@linkcode DecodeLimits.maxItems}'s default. */
export const DEFAULT_MAX_ITEMS = 1_000_000;

/**
 * The highest `maxDepth` accepted: the decoders recurse once or twice per level, and deeper
 * recursion could exhaust the call stack before the limit is reached.
 */
export const MAX_MAX_DEPTH = 4096;

/** The defaults, shared by every decode that names no limits. */
export const DEFAULT_DECODE_LIMITS: ResolvedDecodeLimits = Object.freeze({
  maxDepth: DEFAULT_MAX_DEPTH,
  maxItems: DEFAULT_MAX_ITEMS,
});

/**
 * Checks the caller's limits and fills in the defaults.
 *
 * @param limits The limits, or `undefined` for the defaults.
 * @returns The limits to apply.
 * @throws {TypeError} When `limits` is not an object.
 * @throws {RangeError} When a limit is not a positive integer (`Infinity` is allowed for
 * `maxItems`; the depth must stay at most 4096, since it bounds recursion).
 */
export function resolveDecodeLimits(limits: DecodeLimits | undefined): ResolvedDecodeLimits {
  if (limits === undefined) return DEFAULT_DECODE_LIMITS;
  if (limits === null || typeof limits !== "object") {
    const got = limits === null ? "null" : typeof limits;
    throw new TypeError(`decodeLimits must be an object, got ${got}`);
  }
  const maxDepth = limits.maxDepth ?? DEFAULT_MAX_DEPTH;
  const maxItems = limits.maxItems ?? DEFAULT_MAX_ITEMS;
  if (!Number.isInteger(maxDepth) || maxDepth < 1 || maxDepth > MAX_MAX_DEPTH) {
    throw new RangeError(
      `decodeLimits.maxDepth must be an integer from 1 to ${MAX_MAX_DEPTH}, got ${
        String(maxDepth)
      }`,
    );
  }
  if (!(maxItems === Infinity || (Number.isInteger(maxItems) && maxItems >= 0))) {
    throw new RangeError(
      `decodeLimits.maxItems must be a non-negative integer or Infinity, got ${String(maxItems)}`,
    );
  }
  if (maxDepth === DEFAULT_MAX_DEPTH && maxItems === DEFAULT_MAX_ITEMS) {
    return DEFAULT_DECODE_LIMITS;
  }
  return Object.freeze({ maxDepth, maxItems });
}
