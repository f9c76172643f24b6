/**
 * Celery's `follow_parents` checks during a wait, shared by every pending `get()` of a backend:
 * one timer and one MGET round a second over all their parents, where a timer and an MGET per
 * `get()` would cost 100,000 MGETs a second for 100,000 waits on chain results.
 *
 * @module
 */
import type { RedisBackend } from "../backend/redis_backend.ts";
import type { TaskMeta } from "../wire/meta.ts";
import { PROPAGATE_STATES } from "../wire/states.ts";
import { propagatedError } from "./propagated_error.ts";

/** How often the parents are read again (Celery's drain loop wakes about once a second). */
export const PARENT_CHECK_MS = 1000;

/** Keys per MGET: a bound on one command's size, and on how long it holds Redis. */
const KEYS_PER_MGET = 1000;

interface Watcher {
  /** The parents' task ids, the root's first. */
  readonly ids: readonly string[];
  /** Called once, with the first failed parent's error or the error that stopped the check. */
  readonly onFailure: (error: unknown) => void;
}

/** A parent's payload that would not decode (a class: a decoded meta may have any field). */
class Undecodable {
  readonly error: unknown;
  constructor(error: unknown) {
    this.error = error;
  }
}

const watches = new WeakMap<RedisBackend, ParentWatch>();

/** The backend's shared watch (made on first use). */
export function parentWatchFor(backend: RedisBackend): ParentWatch {
  let watch = watches.get(backend);
  if (!watch) watches.set(backend, watch = new ParentWatch(backend));
  return watch;
}

/**
 * Celery's `_maybe_reraise_parent_error()` once: throws the error of the first FAILURE or REVOKED
 * among the parents' tasks (root first), with one MGET.
 */
export async function throwParentFailure(
  backend: RedisBackend,
  ids: readonly string[],
): Promise<void> {
  const failed = (await backend.getTaskMetas(ids)).find((meta) =>
    PROPAGATE_STATES.has(meta.status)
  );
  if (failed) throw propagatedError(failed);
}

/** The periodic checks of one backend. */
export class ParentWatch {
  readonly #backend: RedisBackend;
  readonly #watchers = new Set<Watcher>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #checking = false;

  constructor(backend: RedisBackend) {
    this.#backend = backend;
  }

  /** How many waits are watching their parents. */
  get size(): number {
    return this.#watchers.size;
  }

  /**
   * Reads `ids` again about every second until the returned function is called; `onFailure` gets
   * the first failed parent's error (or the read's own error), once, and the watch ends.
   */
  watch(ids: readonly string[], onFailure: (error: unknown) => void): () => void {
    const watcher: Watcher = { ids, onFailure };
    this.#watchers.add(watcher);
    this.#schedule();
    return () => {
      this.#watchers.delete(watcher);
      if (this.#watchers.size === 0 && this.#timer !== undefined) {
        clearTimeout(this.#timer);
        this.#timer = undefined;
      }
    };
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#checking || this.#watchers.size === 0) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#checking = true;
      this.#check().finally(() => {
        this.#checking = false;
        this.#schedule();
      });
    }, PARENT_CHECK_MS);
  }

  async #check(): Promise<void> {
    const watchers = [...this.#watchers];
    const ids = [...new Set(watchers.flatMap((watcher) => watcher.ids))];
    let payloads: (Uint8Array | null)[];
    try {
      payloads = await this.#read(ids);
    } catch (error) {
      for (const watcher of watchers) this.#fail(watcher, error);
      return;
    }
    const payloadOf = new Map(ids.map((id, i) => [id, payloads[i]!]));
    // Each payload decoded once, and only when a wait needs it: a corrupt parent fails the waits
    // that follow it, not every wait of the backend.
    const decoded = new Map<string, TaskMeta | Undecodable>();
    const metaOf = (id: string) => {
      let meta = decoded.get(id);
      if (!meta) {
        try {
          meta = this.#backend.metaFromPayload(id, payloadOf.get(id) ?? null);
        } catch (error) {
          meta = new Undecodable(error);
        }
        decoded.set(id, meta);
      }
      return meta;
    };
    for (const watcher of watchers) {
      if (!this.#watchers.has(watcher)) continue; // its wait ended meanwhile
      for (const id of watcher.ids) {
        const meta = metaOf(id);
        if (meta instanceof Undecodable) {
          this.#fail(watcher, meta.error);
          break;
        }
        if (PROPAGATE_STATES.has(meta.status)) {
          this.#fail(watcher, propagatedError(meta));
          break;
        }
      }
    }
  }

  async #read(ids: string[]): Promise<(Uint8Array | null)[]> {
    const keys = ids.map((id) => this.#backend.keys.task(id));
    if (keys.length <= KEYS_PER_MGET) return await this.#backend.mget(keys);
    const chunks: Promise<(Uint8Array | null)[]>[] = [];
    for (let i = 0; i < keys.length; i += KEYS_PER_MGET) {
      chunks.push(this.#backend.mget(keys.slice(i, i + KEYS_PER_MGET)));
    }
    return (await Promise.all(chunks)).flat();
  }

  #fail(watcher: Watcher, error: unknown): void {
    if (!this.#watchers.delete(watcher)) return;
    watcher.onFailure(error);
  }
}
