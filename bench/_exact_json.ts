// The least check a byte-exact reader of Celery's JSON must run after JSON.parse, for the latency
// floor: a waiter that skips it may hand out a rounded integer or miss a kombu type marker.

const LIMIT = Number.MAX_SAFE_INTEGER;

/**
 * Whether a JSON.parse result is what Python's `json.loads` reads from the same text (no integer
 * beyond ±(2^53 − 1), which JSON.parse rounds, and no `-0`, which Python reads as the int 0) and
 * holds no object with a `__type__` key (a kombu marker to convert). Iterative, so a deep value
 * costs no stack.
 */
export function parsedExactly(value: unknown): boolean {
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const next = pending.pop();
    if (typeof next === "number") {
      if (next > LIMIT || next < -LIMIT || Object.is(next, -0)) return false;
    } else if (Array.isArray(next)) {
      for (const item of next) pending.push(item);
    } else if (next !== null && typeof next === "object") {
      if (Object.hasOwn(next, "__type__")) return false;
      for (const item of Object.values(next)) pending.push(item);
    }
  }
  return true;
}
