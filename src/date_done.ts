/**
 * `date_done` as each Celery version writes it, and reading it back whatever the writer was.
 *
 * @module
 */
import { atLeast, type CeleryVersion } from "./celery_version.ts";

const pad = (n: number, width = 2) => String(n).padStart(width, "0");

/** Options for {@linkcode formatDateDone}. */
export interface DateDoneStyle {
  /** Which Celery's format to write. */
  celeryVersion: CeleryVersion;
  /**
   * The app's `timezone` (an IANA name such as `Europe/Berlin`); Celery 5.5+ writes `date_done` in
   * it. Ignored before 5.5, which write UTC.
   * @default {"UTC"}
   */
  timezone?: string | undefined;
  /** Microseconds within the millisecond (0–999), for clocks finer than `Date`. @default {0} */
  extraMicroseconds?: number | undefined;
}

/**
 * Formats a completion time as Python's `datetime.isoformat()` would for the given Celery version:
 * naive UTC for 5.2/5.3, `+00:00` for 5.4, the app timezone's offset for 5.5+. The fraction is
 * omitted when the microseconds are zero, as Python does.
 *
 * @example Celery 5.6 in UTC
 * ```ts
 * import { formatDateDone } from "./date_done.ts";
 * formatDateDone(new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 678)), { celeryVersion: "5.6" });
 * // "2024-01-02T03:04:05.678000+00:00"
 * ```
 */
export function formatDateDone(date: Date, style: DateDoneStyle): string {
  const micros = date.getUTCMilliseconds() * 1000 + (style.extraMicroseconds ?? 0);
  if (!atLeast(style.celeryVersion, "5.4")) return isoLocal(date, 0, micros);
  const offsetMinutes = atLeast(style.celeryVersion, "5.5") && style.timezone
    ? timezoneOffsetMinutes(date, style.timezone)
    : 0;
  const sign = offsetMinutes < 0 ? "-" : "+";
  const abs = Math.abs(offsetMinutes);
  return `${isoLocal(date, offsetMinutes, micros)}${sign}${pad(Math.trunc(abs / 60))}:${
    pad(abs % 60)
  }`;
}

function isoLocal(date: Date, offsetMinutes: number, micros: number): string {
  const d = new Date(date.getTime() + offsetMinutes * 60_000);
  const base = `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}` +
    `T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  return micros === 0 ? base : `${base}.${pad(micros, 6)}`;
}

const offsetFormats = new Map<string, Intl.DateTimeFormat>();

/** The UTC offset of an IANA time zone at an instant, in minutes (east positive). */
export function timezoneOffsetMinutes(date: Date, timeZone: string): number {
  let format = offsetFormats.get(timeZone);
  if (!format) {
    try {
      format = new Intl.DateTimeFormat("en-US", { timeZone, timeZoneName: "longOffset" });
    } catch (cause) {
      throw new RangeError(`Unknown time zone "${timeZone}"`, { cause });
    }
    offsetFormats.set(timeZone, format);
  }
  const name = format.formatToParts(date).find((p) => p.type === "timeZoneName")?.value ?? "GMT";
  const match = /GMT([+-])(\d{2}):?(\d{2})?/.exec(name);
  if (!match) return 0;
  const minutes = Number(match[2]) * 60 + Number(match[3] ?? 0);
  return match[1] === "-" ? -minutes : minutes;
}

const ISO_RE =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(Z|[+-]\d{2}(?::?\d{2}(?::?\d{2})?)?)?$/;

/**
 * Parses a stored `date_done` into a `Date`: any `±HH:MM` offset (including the `+19:00` that
 * Celery 5.5's LocalTimezone bug writes), `Z`, or none (naive values are UTC, as Celery documents).
 * Returns `null` for `null` and for text that is not an ISO 8601 date-time.
 */
export function parseDateDone(value: unknown): Date | null {
  if (typeof value !== "string") return null;
  const m = ISO_RE.exec(value);
  if (!m) return null;
  const fraction = (m[7] ?? "").padEnd(3, "0").slice(0, 3);
  let ms = Date.UTC(
    Number(m[1]),
    Number(m[2]) - 1,
    Number(m[3]),
    Number(m[4]),
    Number(m[5]),
    Number(m[6] ?? 0),
    Number(fraction),
  );
  const zone = m[8];
  if (zone && zone !== "Z") {
    const digits = zone.slice(1).replaceAll(":", "");
    const offset = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || 0) +
      Number(digits.slice(4, 6) || 0) / 60;
    ms -= (zone[0] === "-" ? -offset : offset) * 60_000;
  }
  return new Date(ms);
}
