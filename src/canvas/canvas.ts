/**
 * `canvas()`: the worker side of chords and chains, handed to `markAsDone`, `markAsFailure` and
 * `markAsRevoked` as `options.canvas`. It counts a chord part once its state is stored (Celery's
 * `on_chord_part_return`) and, on failure, fails the rest of the task's chain.
 *
 * @module
 */
import type { CanvasHook, StoredState } from "../backend/redis_backend.ts";
import type { RedisBackend } from "../backend/redis_backend.ts";
import { propagateChainFailure } from "./chain.ts";
import { type ChordPartOptions, type ChordRequest, onChordPartReturn } from "./chord.ts";

/**
 * The canvas hook for a worker's `markAs*` calls.
 * @param options How to send a chord's body (`onBody`, required once a chord completes) and the
 * chord settings; without options, chains are still failed but a chord part is refused.
 * @returns The hook to pass as `options.canvas`.
 *
 * @example Complete a chord part and send its body
 * ```ts
 * import { canvas, createBackend, setChordSize } from "../../mod.ts";
 * await using backend = createBackend("memory://");
 * const body = { task: "proj.tsum", args: [], kwargs: {}, options: {} };
 * await setChordSize(backend, "g1", 1);
 * await backend.markAsDone("p1", 2, { id: "p1", group: "g1", groupIndex: 0, chord: body }, {
 *   canvas: canvas({ onBody: (_body, results) => console.log(results) }), // [ 2 ]
 * });
 * ```
 */
export function canvas(options?: ChordPartOptions): CanvasHook {
  return {
    async afterStore(
      backend: RedisBackend,
      stored: StoredState,
    ): Promise<void> {
      const { request, taskId, state, result } = stored;
      if (request.chord) {
        // Celery reads the part's id from the request; without one it is the task being stored.
        const part = { ...request, id: request.id ?? taskId } as ChordRequest;
        await onChordPartReturn(
          backend,
          part,
          state,
          result,
          chordOptions(options),
        );
      }
      if (state === "FAILURE") {
        await propagateChainFailure(backend, request, state, result, {
          traceback: stored.traceback,
          storeResult: stored.storeResult,
          chord: options,
        });
      }
    },
  };
}

function chordOptions(options: ChordPartOptions | undefined): ChordPartOptions {
  if (!options) {
    throw new TypeError(
      "The request is a chord part: pass canvas({ onBody }) to send the chord's body",
    );
  }
  return options;
}
