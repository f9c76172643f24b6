/**
 * Showing a URL without its secrets, for every scheme, with no URL parser behind it: the edge
 * entry's HTTP driver and factory use this, so Celery's URL parser (`url.ts`) stays out of a
 * Worker's bundle.
 *
 * @module
 */

/** The scheme of a URL (`redis`, `memory`, `redis+socket`…), lower-cased, or `undefined`. */
export function schemeOf(url: string): string | undefined {
  const match = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url);
  return match?.[1]?.toLowerCase();
}

/** The `scheme://` openings of a text: a `sentinel://` URL has one per chunk. */
const SCHEME_START = /[a-z][a-z0-9+.-]*:\/\//gi;

/** Where each `scheme://…` segment starts (0 alone when the text has no scheme). */
export function segmentStarts(text: string): number[] {
  const starts = [...text.matchAll(SCHEME_START)].map((m) => m.index);
  return starts.length === 0 || starts[0] !== 0 ? [0, ...starts] : starts;
}

/**
 * A URL made safe to show whatever its shape: in each `scheme://` segment, everything up to the
 * last `@` (user and password, however they are written) becomes `**`, and the query and fragment
 * are dropped. Without a scheme, everything before the last `@` is hidden.
 */
export function redactUrl(text: string): string {
  const starts = segmentStarts(text);
  return starts.map((start, i) => {
    const segment = text.slice(start, starts[i + 1] ?? text.length);
    const open = segment.indexOf("://");
    const head = open === -1 ? "" : segment.slice(0, open + 3);
    let rest = open === -1 ? segment : segment.slice(open + 3);
    const at = rest.lastIndexOf("@");
    if (at !== -1) rest = `**@${rest.slice(at + 1)}`;
    return head + rest.replace(/[?#][^;]*/, "");
  }).join("");
}
