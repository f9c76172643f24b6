/**
 * A ready `driver` passed to `createBackend()` replaces the one it would make from the URL, so
 * the options that configure that driver would do nothing: they are refused rather than ignored
 * (a `streaming` or `token` that silently did nothing would be found only in production).
 *
 * @module
 */

/**
 * Throws when any of `options` (the driver-making options, by name) is set.
 *
 * @param options The options that configure the driver `createBackend()` makes.
 * @param factories Where they belong instead, e.g. `httpDriver()`.
 * @throws {TypeError} naming the options that are set (never their values: one may be a token).
 */
export function refuseWithDriver(options: object, factories: string): void {
  const given = Object.entries(options).filter(([, value]) => value !== undefined)
    .map(([name]) => name);
  if (given.length === 0) return;
  throw new TypeError(
    `createBackend() was given a driver and ${given.join(", ")}, which configure the driver it ` +
      `makes from the URL and would be ignored: pass them to ${factories}`,
  );
}
