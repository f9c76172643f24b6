/**
 * Small helpers shared by the socket drivers and their runtime transports.
 *
 * @module
 */

/** A thrown value as an `Error` (sockets and runtimes sometimes reject with other values). */
export function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** Settles like `promise`, or rejects as soon as `signal` aborts (then `discard`s a late value). */
export function untilAborted<T>(
  promise: Promise<T>,
  signal: AbortSignal,
  discard: (late: T) => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const onAbort = () => {
      if (settled) return;
      settled = true;
      reject(asError(signal.reason));
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
    promise.then((value) => {
      signal.removeEventListener("abort", onAbort);
      if (settled) {
        discard(value);
      } else {
        settled = true;
        resolve(value);
      }
    }, (error: unknown) => {
      signal.removeEventListener("abort", onAbort);
      if (!settled) {
        settled = true;
        reject(error);
      }
    });
  });
}

/** Joins byte chunks into one array. */
export function concatAll(parts: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const part of parts) total += part.length;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
