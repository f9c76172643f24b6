// Records that Celery refuses are refused here the same way, never read as a result:
// - a FAILURE or REVOKED record without a usable exception makes get() reject with a TaskError
//   naming the exception Python's AsyncResult.get() raises for the same bytes;
// - a date_done Python's parser refuses (month 13, Feb 30, hour 25...) is a DecodeError, not a
//   date rolled over into the next month.
// The live part stores the exact bytes in a real redis-server and asks Celery 5.2.6 and 5.6.3.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import {
  AsyncResult,
  DecodeError,
  memoryDriver,
  RedisBackend,
  type RedisDriver,
  TaskError,
  tcpDriver,
} from "../mod.ts";
import { celeryAvailable, celeryUrls, celeryVersions } from "./_celery.ts";
import { celeryPythons, requirement } from "./_env.ts";
import { type RedisServer, startRedisServer } from "./_redis_server.ts";

/** FAILURE/REVOKED `result` values (as JSON text) that hold no exception Python can rebuild. */
const UNUSABLE_RESULTS: Record<string, string> = {
  "null": "null",
  "zero": "0",
  "false": "false",
  "empty-string": '""',
  "empty-list": "[]",
  "empty-dict": "{}",
  "list": "[1, 2]",
  "float-list": '[1.5, "x"]',
  "dict-without-exc_type": '{"exc_message": ["x"], "exc_module": "builtins"}',
  "string": '"boom"',
  "number": "5",
  "true": "true",
  "wrong-length-pairs": "[[1, 2, 3]]",
  "non-str-exc_type": '{"exc_type": 5, "exc_message": []}',
};

/** date_done texts Python refuses (both versions), and ones it reads. */
const BAD_DATES = [
  "2024-13-01T00:00:00",
  "2024-00-10T00:00:00",
  "2024-01-32T00:00:00",
  "2024-02-30T00:00:00",
  "2023-02-29T10:00:00+00:00",
  "2024-04-31T00:00:00",
  "2024-01-01T25:00:00",
  "2024-01-01T24:00:01",
  "2024-01-01T23:60:00",
  "2024-01-01T23:59:60",
  "2024-01-01T00:00:00+24:00",
  "0000-01-01T00:00:00",
  "yesterday",
];
const GOOD_DATES = [
  "2024-02-29T10:00:00+00:00",
  "2024-01-01 00:00:00",
  "2024-01-01T00:00:00Z",
  "2026-11-25T06:39:34+19:00",
  "2024-12-31T23:59:59-05:30",
  "0001-01-01T00:00:00",
];

function recordBytes(id: string, state: string, resultJson: string, dateDone: string): Uint8Array {
  return new TextEncoder().encode(
    `{"status": "${state}", "result": ${resultJson}, "traceback": null, "children": [], ` +
      `"date_done": ${JSON.stringify(dateDone)}, "task_id": ${JSON.stringify(id)}}`,
  );
}

/** Stores every test record with a raw SET; returns the ids by kind. */
async function storeRecords(driver: RedisDriver) {
  const unusable: { id: string; state: string; label: string }[] = [];
  const dates: { id: string; text: string }[] = [];
  for (const state of ["FAILURE", "REVOKED"]) {
    for (const [label, json] of Object.entries(UNUSABLE_RESULTS)) {
      const id = `${state}-${label}`;
      await driver.send([
        "SET",
        `celery-task-meta-${id}`,
        recordBytes(id, state, json, "2024-01-01T00:00:00"),
      ]);
      unusable.push({ id, state, label });
    }
  }
  for (const [i, text] of [...BAD_DATES, ...GOOD_DATES].entries()) {
    const id = `date-${i}`;
    await driver.send(["SET", `celery-task-meta-${id}`, recordBytes(id, "SUCCESS", "1", text)]);
    dates.push({ id, text });
  }
  return { unusable, dates };
}

// ---- Without Python: the memory driver ------------------------------------------------------

const NOT_A_DICT = "If the stored exception isn't an instance of BaseException, it must be a " +
  "dictionary.\nInstead got: ";

test("get() rejects FAILURE/REVOKED records without an exception as Python does (memory)", async () => {
  await using backend = new RedisBackend(memoryDriver());
  const { unusable } = await storeRecords(backend.driver);
  const expected: Record<string, [string, string]> = {
    "list": ["TypeError", `${NOT_A_DICT}[1, 2]`],
    "float-list": ["TypeError", `${NOT_A_DICT}[1.5, 'x']`],
    "dict-without-exc_type": [
      "ValueError",
      "Exception information must include the exception type",
    ],
    "string": ["ValueError", "dictionary update sequence element #0 has length 1; 2 is required"],
    "number": ["TypeError", `${NOT_A_DICT}5`],
    "true": ["TypeError", `${NOT_A_DICT}True`],
    "wrong-length-pairs": [
      "ValueError",
      "dictionary update sequence element #0 has length 3; 2 is required",
    ],
    "non-str-exc_type": ["TypeError", "type.__new__() argument 1 must be str, not int"],
  };
  for (const { id, state, label } of unusable) {
    const [name, message] = expected[label] ?? ["RuntimeError", "No active exception to reraise"];
    const result = new AsyncResult(id, backend);
    await assert.rejects(
      result.get({ timeout: 10_000 }),
      (e: unknown) =>
        e instanceof TaskError && e.name === name && e.message === message &&
        e.excModule === "builtins" && e.state === state && e.taskId === id,
      id,
    );
    assert.equal(await result.state(), state, id);
    assert.equal(await result.successful(), false, id);
    // propagate: false hands back what is stored, never a value that looks like a result.
    const returned = await result.get({ propagate: false });
    assert.ok(returned === null || returned instanceof TaskError, id);
  }
});

test("get() rejects a FAILURE without an exception that arrives while waiting (memory)", async () => {
  await using backend = new RedisBackend(memoryDriver());
  const waiting = new AsyncResult("late", backend).get({ timeout: 10_000 });
  await backend.set(
    "celery-task-meta-late",
    recordBytes("late", "FAILURE", "null", "2024-01-01T00:00:00"),
  );
  await assert.rejects(
    waiting,
    (e: unknown) => e instanceof TaskError && e.name === "RuntimeError" && e.state === "FAILURE",
  );
});

test("dateDone() refuses dates Python refuses instead of rolling them over (memory)", async () => {
  await using backend = new RedisBackend(memoryDriver());
  const { dates } = await storeRecords(backend.driver);
  for (const { id, text } of dates) {
    const reading = new AsyncResult(id, backend).dateDone();
    if (BAD_DATES.includes(text)) {
      await assert.rejects(
        reading,
        (e: unknown) => e instanceof DecodeError && e.message.includes(JSON.stringify(text)),
        text,
      );
    } else {
      assert.ok((await reading) instanceof Date, text);
    }
  }
  const feb30 = dates.find((d) => d.text === "2024-02-30T00:00:00")!;
  await assert.rejects(
    new AsyncResult(feb30.id, backend).dateDone(),
    /day is out of range for month/,
  );
  // 24:00:00 is the end of the day, i.e. the next midnight (Celery 5.6 reads it so; 5.2 refuses
  // it, which is why it is in neither list above).
  await backend.set(
    "celery-task-meta-eod",
    recordBytes("eod", "SUCCESS", "1", "2024-12-31T24:00:00"),
  );
  assert.equal(
    (await new AsyncResult("eod", backend).dateDone())?.toISOString(),
    "2025-01-01T00:00:00.000Z",
  );
});

// ---- Live: the same bytes read by real Celery -------------------------------------------------

interface PythonOutcome {
  raised?: string;
  module?: string;
  message?: string;
  value?: string;
  ms?: number | null;
}

const scriptPath = fileURLToPath(new URL("./python/stored_records.py", import.meta.url));

function askPython(python: string, url: string, ids: string[]) {
  return new Promise<Record<string, { get: PythonOutcome; date_done: PythonOutcome }>>(
    (resolve, reject) => {
      execFile(python, [scriptPath, url, JSON.stringify(ids)], {
        timeout: 120_000,
        env: { PATH: "/usr/bin:/bin", PYTHONWARNINGS: "ignore", PYTHONDONTWRITEBYTECODE: "1" },
      }, (error, stdout, stderr) => {
        if (error) return reject(new Error(`${error.message}\n${stderr}`));
        resolve(JSON.parse(stdout));
      });
    },
  );
}

let server: RedisServer | undefined;
before(async () => {
  if (celeryVersions.some(celeryAvailable)) server = await startRedisServer();
});
after(async () => {
  await server?.[Symbol.asyncDispose]();
});

for (const version of celeryVersions) {
  test(
    `live Celery ${version}: ours rejects with the exception get() raises, and refuses the dates date_done refuses`,
    {
      skip: requirement(celeryAvailable(version), `Celery ${version} at ${celeryPythons[version]}`),
    },
    async () => {
      const { resultUrl } = celeryUrls(`redis://127.0.0.1:${server!.port}`);
      await using backend = new RedisBackend(tcpDriver({ port: server!.port, db: 1 }));
      await backend.driver.send(["FLUSHDB"]);
      const { unusable, dates } = await storeRecords(backend.driver);
      const python = await askPython(
        celeryPythons[version],
        resultUrl,
        [...unusable, ...dates].map((r) => r.id),
      );
      for (const { id } of unusable) {
        const expected = python[id]!.get;
        assert.ok(expected.raised, `Celery ${version} raised for ${id}`);
        // Celery 5.2's message lacks a space ("must includethe exception type"); 5.3+ fixed it.
        const message = expected.message!.replace("includethe", "include the");
        const error = await new AsyncResult(id, backend).get({ timeout: 10_000 }).then(
          () => assert.fail(`${id} read as a result`),
          (e: unknown) => e,
        );
        assert.ok(error instanceof TaskError, id);
        assert.deepEqual([error.name, error.excModule, error.message], [
          expected.raised,
          expected.module,
          message,
        ], id);
      }
      for (const { id, text } of dates) {
        const expected = python[id]!.date_done;
        const reading = new AsyncResult(id, backend).dateDone();
        if (expected.raised) {
          assert.equal(expected.raised, "ValueError", text);
          await assert.rejects(reading, DecodeError, text);
        } else {
          assert.equal((await reading)?.getTime(), expected.ms, text);
        }
      }
      // The cases are what we think they are: Python refuses exactly the BAD_DATES.
      assert.deepEqual(
        dates.filter(({ id }) => python[id]!.date_done.raised).map((d) => d.text),
        BAD_DATES,
      );
    },
  );
}
