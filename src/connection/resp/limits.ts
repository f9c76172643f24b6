/**
 * Limits on what a Redis reply may make a decoder build. A reply's headers declare lengths before
 * the bytes arrive, and a broken or hostile server can declare anything, so the decoders size
 * nothing by a declared length alone and refuse what exceeds these limits.
 *
 * @module
 */

/** Limits applied while decoding replies (RESP from a socket, or the JSON of a REST service). */
export interface RespLimits {
  /**
   * How many aggregates (arrays, maps, sets, pushes, attributes) may be nested inside each other.
   * Redis's replies to the commands a result backend sends nest at most 3 levels (EXEC of
   * arrays); only scripts returning nested tables go deeper.
   * @default {128}
   */
  maxDepth?: number | undefined;
  /**
   * How many elements one aggregate may declare (a map counts its keys and values). Memory grows
   * as elements arrive, whatever is declared; this refuses absurd declarations outright.
   * @default {16_777_216}
   */
  maxAggregateLength?: number | undefined;
  /**
   * The longest bulk string accepted, in bytes. Redis's own `proto-max-bulk-len` default: no
   * string value can be longer.
   * @default {536_870_912} (512 MiB)
   */
  maxBulkLength?: number | undefined;
  /**
   * The longest header, status, error or number line, in bytes (type byte included, CRLF not).
   * A line that grows past it without ending is refused, so bytes without CRLF cannot accumulate
   * without bound. Redis's own limit for inline commands.
   * @default {65_536}
   */
  maxLineLength?: number | undefined;
}

/** {@linkcode RespLimits} with every default filled in. */
export interface ResolvedRespLimits {
  /** See {@linkcode RespLimits.maxDepth}. */
  readonly maxDepth: number;
  /** See {@linkcode RespLimits.maxAggregateLength}. */
  readonly maxAggregateLength: number;
  /** See {@linkcode RespLimits.maxBulkLength}. */
  readonly maxBulkLength: number;
  /** See {@linkcode RespLimits.maxLineLength}. */
  readonly maxLineLength: number;
}

/** The default limits. */
export const DEFAULT_RESP_LIMITS: ResolvedRespLimits = Object.freeze({
  maxDepth: 128,
  maxAggregateLength: 16_777_216,
  maxBulkLength: 536_870_912,
  maxLineLength: 65_536,
});

function positiveInteger(name: keyof RespLimits, value: number | undefined): number {
  if (value === undefined) return DEFAULT_RESP_LIMITS[name];
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`The reply limit ${name} must be a positive integer, got ${value}`);
  }
  return value;
}

/**
 * Fills in the defaults and checks the values.
 *
 * @param limits The limits given by the caller, if any.
 * @returns Every limit, defaults included.
 * @throws {RangeError} when a limit is not a positive integer.
 *
 * @example
 * ```ts
 * import { resolveRespLimits } from "./limits.ts";
 * console.assert(resolveRespLimits({ maxDepth: 8 }).maxLineLength === 65_536);
 * ```
 */
export function resolveRespLimits(limits: RespLimits = {}): ResolvedRespLimits {
  return {
    maxDepth: positiveInteger("maxDepth", limits.maxDepth),
    maxAggregateLength: positiveInteger("maxAggregateLength", limits.maxAggregateLength),
    maxBulkLength: positiveInteger("maxBulkLength", limits.maxBulkLength),
    maxLineLength: positiveInteger("maxLineLength", limits.maxLineLength),
  };
}
