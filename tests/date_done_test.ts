import { test } from "node:test";
import assert from "node:assert/strict";
import { formatDateDone, parseDateDone } from "../src/wire/date_done.ts";
import { DecodeError } from "../src/errors.ts";

test("formatDateDone() omits the fraction when microseconds are zero, like isoformat()", () => {
  const date = new Date(Date.UTC(2024, 0, 1, 0, 0, 0, 0));
  assert.equal(formatDateDone(date, { celeryVersion: "5.6" }), "2024-01-01T00:00:00+00:00");
  assert.equal(formatDateDone(date, { celeryVersion: "5.2" }), "2024-01-01T00:00:00");
  assert.equal(
    formatDateDone(date, { celeryVersion: "5.6", extraMicroseconds: 4 }),
    "2024-01-01T00:00:00.000004+00:00",
  );
});

test("formatDateDone() ignores the app timezone before Celery 5.5", () => {
  const date = new Date(Date.UTC(2024, 6, 1, 12, 0, 0, 500));
  assert.equal(
    formatDateDone(date, { celeryVersion: "5.4", timezone: "Asia/Kolkata" }),
    "2024-07-01T12:00:00.500000+00:00",
  );
  assert.equal(
    formatDateDone(date, { celeryVersion: "5.5", timezone: "Asia/Kolkata" }),
    "2024-07-01T17:30:00.500000+05:30",
  );
  assert.throws(
    () => formatDateDone(date, { celeryVersion: "5.6", timezone: "Mars/Base" }),
    RangeError,
  );
});

test("parseDateDone() reads every form Celery versions write, including the +19:00 bug", () => {
  const instant = Date.UTC(2026, 10, 24, 11, 39, 15, 803);
  for (
    const text of [
      "2026-11-24T11:39:15.803325",
      "2026-11-24T11:39:15.803325+00:00",
      "2026-11-24T12:39:15.803325+01:00",
      "2026-11-24T11:39:15.803Z",
    ]
  ) {
    assert.equal(parseDateDone(text)?.getTime(), instant, text);
  }
  // UTC-5 rendered as +19:00 by LocalTimezone.fromutc: the printed wall time is the next day's.
  assert.equal(
    parseDateDone("2026-11-25T06:39:34.463979+19:00")?.toISOString(),
    "2026-11-24T11:39:34.463Z",
  );
  assert.equal(parseDateDone(null), null);
  assert.equal(parseDateDone(""), null);
});

test("parseDateDone() refuses what Python's parser refuses, with its reason, never rolling over", () => {
  const cases: [string, string][] = [
    ["2024-13-01T00:00:00", "month must be in 1..12"],
    ["2024-00-01T00:00:00", "month must be in 1..12"],
    ["2024-01-32T00:00:00", "day is out of range for month"],
    ["2024-02-30T00:00:00", "day is out of range for month"],
    ["2023-02-29T00:00:00", "day is out of range for month"],
    ["1900-02-29T00:00:00", "day is out of range for month"],
    ["2024-06-31T00:00:00", "day is out of range for month"],
    ["2024-01-01T25:00:00", "hour must be in 0..23"],
    ["2024-01-01T24:00:00.5", "hour must be in 0..23"],
    ["2024-01-01T23:60:00", "minute must be in 0..59"],
    ["2024-01-01T23:59:60", "second must be in 0..59"],
    ["2024-01-01T00:00:00+24:00", "UTC offset"],
    ["2024-01-01T00:00:00+05:60", "UTC offset"],
    ["0000-01-01T00:00:00", "year 0 is out of range"],
    ["yesterday", "not an ISO 8601 date-time"],
  ];
  for (const [text, reason] of cases) {
    assert.throws(
      () => parseDateDone(text),
      (e: unknown) =>
        e instanceof DecodeError && e.message.includes(JSON.stringify(text)) &&
        e.message.includes(reason),
      text,
    );
  }
  // Leap days, the end of day and years below 100 (which Date.UTC would read as 19xx) are valid.
  assert.equal(parseDateDone("2000-02-29T12:00:00")?.toISOString(), "2000-02-29T12:00:00.000Z");
  assert.equal(parseDateDone("2024-12-31T24:00:00")?.toISOString(), "2025-01-01T00:00:00.000Z");
  assert.equal(parseDateDone("0099-03-01T00:00:00")?.getUTCFullYear(), 99);
});
