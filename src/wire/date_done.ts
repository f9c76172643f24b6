/**
 * `date_done` as each Celery version writes it, and reading it back whatever the writer was.
 *
 * @module
 */
import { atLeast, type CeleryVersion } from "./celery_version.ts";
import { DecodeError } from "../errors.ts";

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
 * Returns `null` for `null`, `""` and other non-text values (Python returns those as they are).
 * @throws {DecodeError} for text Python's `AsyncResult.date_done` refuses with `ValueError`: not
 * an ISO 8601 date-time, or a field out of range (month 13, Feb 30, hour 25, offset +24:00),
 * rather than rolling it over into another date.
 */
export function parseDateDone(value: unknown): Date | null {
  if (typeof value !== "string" || value === "") return null;
  const m = ISO_RE.exec(value);
  if (!m) throw refused(value, "not an ISO 8601 date-time");
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map((f) => Number(f ?? 0)) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  // Python's datetime() messages for each field.
  if (year < 1) throw refused(value, `year ${year} is out of range`);
  if (month < 1 || month > 12) throw refused(value, "month must be in 1..12");
  if (day < 1 || day > daysInMonth(year, month)) {
    throw refused(value, "day is out of range for month");
  }
  // ISO 8601's end of day, 24:00:00, is the next midnight (as Celery 5.6's isoparse reads it;
  // 5.2's parser refuses it). Any other hour past 23 is refused by both.
  const endOfDay = hour === 24 && minute === 0 && second === 0 && !/[1-9]/.test(m[7] ?? "");
  if (hour > 23 && !endOfDay) throw refused(value, "hour must be in 0..23");
  if (minute > 59) throw refused(value, "minute must be in 0..59");
  if (second > 59) throw refused(value, "second must be in 0..59");
  const fraction = (m[7] ?? "").padEnd(3, "0").slice(0, 3);
  // Date.UTC reads years 0-99 as 1900-1999: set the year on its own, then add the time of day.
  const date = new Date(Date.UTC(2000, month - 1, day));
  date.setUTCFullYear(year);
  date.setTime(date.getTime() + ((hour * 60 + minute) * 60 + second) * 1000 + Number(fraction));
  const zone = m[8];
  if (zone && zone !== "Z") {
    const digits = zone.slice(1).replaceAll(":", "");
    const hours = Number(digits.slice(0, 2));
    const minutes = Number(digits.slice(2, 4) || 0);
    if (hours > 23 || minutes > 59) {
      throw refused(value, "the UTC offset must be strictly between -24:00 and +24:00");
    }
    const offset = hours * 60 + minutes + Number(digits.slice(4, 6) || 0) / 60;
    date.setTime(date.getTime() - (zone[0] === "-" ? -offset : offset) * 60_000);
  }
  return date;
}

function daysInMonth(year: number, month: number): number {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return month === 2 ? (leap ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31;
}

function refused(value: string, reason: string): DecodeError {
  return new DecodeError(`date_done ${JSON.stringify(value)} is not a valid date: ${reason}`);
}
