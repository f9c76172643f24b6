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

// Celery 5.3+ raises ValueError before any I/O; 5.2 silently built "celery-task-meta-". We always
// refuse, since a key without an id can only be a caller's mistake.
function checkId(id: string, what: string): string {
  if (typeof id !== "string") throw new TypeError(`${what} must be a string, got ${typeof id}`);
  if (id.length === 0) throw new TypeError(`${what} must not be empty`);
  return id;
}
