/**
 * Redis key names exactly as Celery builds them (celery/backends/base.py `_get_key_for`,
 * `_add_global_keyprefix`).
 *
 * @module
 */
import { atLeast, type CeleryVersion } from "./celery_version.ts";

const TASK_PREFIX = "celery-task-meta-";
const GROUP_PREFIX = "celery-taskset-meta-";

/** Builds the task, group and chord keys for one backend configuration. */
export class KeyBuilder {
  /** Prefix of task meta keys, global prefix included. */
  readonly taskPrefix: string;
  /** Prefix of group meta and chord keys, global prefix included. */
  readonly groupPrefix: string;

  /**
   * Creates the key builder for one backend configuration.
   *
   * @param globalKeyprefix `result_backend_transport_options['global_keyprefix']`, if any.
   * @param celeryVersion Selects the joining rule: 5.3/5.4 always insert `_`; 5.5+ insert `_`
   * unless the prefix already ends in `:`, `_`, `-` or `.`.
   */
  constructor(globalKeyprefix: string | undefined, celeryVersion: CeleryVersion) {
    let joined = "";
    if (globalKeyprefix) {
      if (!atLeast(celeryVersion, "5.3")) {
        throw new TypeError(
          "globalKeyprefix needs celeryVersion 5.3 or later: Celery 5.2 ignores the option, " +
            "so its workers would use keys without the prefix",
        );
      }
      const keepAsIs = atLeast(celeryVersion, "5.5") && ":_-.".includes(globalKeyprefix.at(-1)!);
      joined = keepAsIs ? globalKeyprefix : `${globalKeyprefix}_`;
    }
    this.taskPrefix = joined + TASK_PREFIX;
    this.groupPrefix = joined + GROUP_PREFIX;
  }

  /** `celery-task-meta-<id>`: the task's meta key and its pub/sub channel. */
  task(taskId: string): string {
    return this.taskPrefix + checkId(taskId, "task_id");
  }

  /** `celery-taskset-meta-<id>`: a saved group's key. */
  group(groupId: string): string {
    return this.groupPrefix + checkId(groupId, "group_id");
  }

  /** The chord keys of a group: `.j` (collected results), `.t` (added tasks), `.s` (size). */
  chord(
    groupId: string,
  ): { readonly results: string; readonly added: string; readonly size: string } {
    const base = this.group(groupId);
    return { results: `${base}.j`, added: `${base}.t`, size: `${base}.s` };
  }

  /** The task id of a task meta key, or `undefined` if the key is not one of ours. */
  taskIdOf(key: string): string | undefined {
    return key.startsWith(this.taskPrefix) ? key.slice(this.taskPrefix.length) : undefined;
  }
}

/** `String.prototype.isWellFormed` (ES2024), typed here for older TypeScript libs. */
interface WellFormedString {
  isWellFormed(): boolean;
}
const hasIsWellFormed = typeof (String.prototype as Partial<WellFormedString>).isWellFormed ===
  "function";

// A high surrogate not followed by a low one, or a low one not preceded by a high one.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Checks a task or group id the way every entry point needs it, before any I/O: a string, not
 * empty, and well-formed Unicode.
 *
 * A lone surrogate has no UTF-8 form: encoding turns it into U+FFFD, so `"a\uD800"`,
 * `"a\uDC00"` and `"a\uFFFD"` would all name one key (and one channel), and a wait on such an id
 * would never match the channel Redis reports back.
 *
 * @param id The id to check.
 * @param what The id's name in messages (`task_id`, `group_id`).
 * @returns The id.
 * @throws {TypeError} for a non-string, an empty id or a lone surrogate.
 */
export function checkId(id: string, what = "task_id"): string {
  // Celery 5.3+ raises ValueError for an empty id before any I/O; 5.2 silently built
  // "celery-task-meta-". We always refuse, since a key without an id can only be a mistake.
  if (typeof id !== "string") throw new TypeError(`${what} must be a string, got ${typeof id}`);
  if (id.length === 0) throw new TypeError(`${what} must not be empty`);
  // isWellFormed() (where the runtime has it) answers the common case without the regex, which
  // cost ~50 ns per id on Bun; the regex then finds the surrogate to name.
  if (hasIsWellFormed && (id as WellFormedString).isWellFormed()) return id;
  const at = id.search(LONE_SURROGATE);
  if (at !== -1) {
    const unit = id.charCodeAt(at).toString(16).toUpperCase();
    throw new TypeError(
      `${what} must be well-formed Unicode: lone surrogate U+${unit} at index ${at}`,
    );
  }
  return id;
}
