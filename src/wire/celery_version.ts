/**
 * The Celery release line whose wire behaviour the backend reproduces. The stored bytes differ by
 * version in `date_done`, the `global_keyprefix` joining rule and kombu's JSON type markers.
 *
 * @module
 */

/** A Celery minor version whose behaviour on the wire the backend can reproduce. */
export type CeleryVersion = "5.2" | "5.3" | "5.4" | "5.5" | "5.6";

/** All supported versions, oldest first. */
export const CELERY_VERSIONS: readonly CeleryVersion[] = ["5.2", "5.3", "5.4", "5.5", "5.6"];

/** The default: the newest release line. */
export const DEFAULT_CELERY_VERSION: CeleryVersion = "5.6";

/** Checks a caller-supplied version string. */
export function assertCeleryVersion(version: string): CeleryVersion {
  if ((CELERY_VERSIONS as readonly string[]).includes(version)) return version as CeleryVersion;
  throw new RangeError(
    `Unsupported celeryVersion "${version}": expected one of ${CELERY_VERSIONS.join(", ")}`,
  );
}

/** Whether `version` is at least `minimum` (both from {@linkcode CELERY_VERSIONS}). */
export function atLeast(version: CeleryVersion, minimum: CeleryVersion): boolean {
  return CELERY_VERSIONS.indexOf(version) >= CELERY_VERSIONS.indexOf(minimum);
}
