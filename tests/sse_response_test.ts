// sseResponse() and metaToJson() on their failure paths, read as the SSE text a browser receives,
// over the memory driver and over a real redis-server through the TCP driver: FAILURE and REVOKED
// as { exc_type, exc_message } without the traceback unless asked for, big integers and Python
// types as JSON, and a corrupt record in Redis as an `error` event that ends the stream.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  createBackend,
  metaToJson,
  PyDate,
  PyDateTime,
  PyDecimal,
  PyFloat,
  PyTime,
  PyUUID,
  type RedisBackend,
  sseResponse,
  type SseResponseOptions,
} from "../mod.ts";
import { type RedisServer, startRedisServer } from "./_redis_server.ts";

interface SseEvent {
  event: string;
  data: Record<string, unknown>;
}

/** Reads the whole stream (it ends after a ready state or an error) and parses its events. */
async function streamEvents(
  backend: RedisBackend,
  id: string,
  options: SseResponseOptions = {},
): Promise<{ text: string; events: SseEvent[] }> {
  const text = await sseResponse(backend, id, options).text();
  const events = [...text.matchAll(/^event: (\w+)\ndata: (.*)$/gm)].map((m) => ({
    event: m[1]!,
    data: JSON.parse(m[2]!) as Record<string, unknown>,
  }));
  return { text, events };
}

/** Reads a stream event by event, for states stored while it is open. */
async function* liveEvents(response: Response): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of response.body!) {
    buffer += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const match = /^event: (\w+)\ndata: (.*)$/m.exec(block);
      if (match) yield { event: match[1]!, data: JSON.parse(match[2]!) };
    }
  }
}

const TRACEBACK =
  'Traceback (most recent call last):\n  File "/srv/app/tasks.py", line 7, in add\n' +
  "TypeError: unsupported operand";
const BIG = 2n ** 70n;

function defineCases(kind: string, open: () => RedisBackend): void {
  describe(`sseResponse() failure paths (${kind})`, () => {
    let backend: RedisBackend;
    before(() => {
      backend = open();
    });
    after(() => backend.close());
    const id = (name: string) => `sse-${kind}-${name}`;

    test("FAILURE: the error as { exc_type, exc_message }, the traceback left out", async () => {
      await backend.markAsFailure(id("failed"), new TypeError("unsupported operand"), {
        traceback: TRACEBACK,
      });
      const { text, events } = await streamEvents(backend, id("failed"));
      assert.deepEqual(events, [{
        event: "state",
        data: {
          task_id: id("failed"),
          status: "FAILURE",
          result: { exc_type: "TypeError", exc_message: "unsupported operand" },
          date_done: events[0]?.data.date_done,
        },
      }]);
      assert.match(String(events[0]?.data.date_done), /^\d{4}-\d\d-\d\dT/);
      assert.doesNotMatch(text, /Traceback|\/srv\/app/);
    });

    test("FAILURE with { traceback: true }: the traceback is sent", async () => {
      const { events } = await streamEvents(backend, id("failed"), { traceback: true });
      assert.equal(events.length, 1);
      assert.equal(events[0]!.data.traceback, TRACEBACK);
      assert.deepEqual(events[0]!.data.result, {
        exc_type: "TypeError",
        exc_message: "unsupported operand",
      });
    });

    test("REVOKED: Celery's TaskRevokedError with its reason", async () => {
      await backend.markAsRevoked(id("revoked"), "terminated");
      const { events } = await streamEvents(backend, id("revoked"));
      assert.deepEqual(events.map((e) => [e.event, e.data.status, e.data.result]), [
        ["state", "REVOKED", { exc_type: "TaskRevokedError", exc_message: "terminated" }],
      ]);
      assert.equal("traceback" in events[0]!.data, false);
    });

    test("FAILURE reached while streaming: PENDING, PROGRESS, then the error", async () => {
      const response = sseResponse(backend, id("live-failure"));
      const seen: SseEvent[] = [];
      for await (const event of liveEvents(response)) {
        seen.push(event);
        if (event.data.status === "PENDING") {
          await backend.storeResult(id("live-failure"), { done: 1 }, "PROGRESS");
        } else if (event.data.status === "PROGRESS") {
          await backend.markAsFailure(id("live-failure"), new RangeError("too far"), {
            traceback: TRACEBACK,
          });
        }
      }
      assert.deepEqual(seen.map((e) => [e.data.status, e.data.result]), [
        ["PENDING", null],
        ["PROGRESS", { done: 1 }],
        ["FAILURE", { exc_type: "RangeError", exc_message: "too far" }],
      ]);
    });

    test("a big integer arrives as its exact decimal string, small ones as numbers", async () => {
      await backend.markAsDone(id("big"), { big: BIG, negative: -BIG, small: 5, list: [BIG] });
      const { events } = await streamEvents(backend, id("big"));
      assert.deepEqual(events.map((e) => [e.event, e.data.status, e.data.result]), [
        ["state", "SUCCESS", {
          big: "1180591620717411303424",
          negative: "-1180591620717411303424",
          small: 5,
          list: ["1180591620717411303424"],
        }],
      ]);
    });

    test("Python types arrive as their Python text, bytes as base64", async () => {
      await backend.markAsDone(id("python"), {
        price: new PyDecimal("1.50"),
        when: new PyDateTime("2024-05-06T07:08:09.123456+02:00"),
        day: new PyDate("2024-05-06"),
        time: new PyTime("07:08:09.5"),
        uuid: new PyUUID("12345678-1234-5678-1234-567812345678"),
        raw: new Uint8Array([0, 1, 255, 104, 105]),
        float: new PyFloat(3),
      });
      const { events } = await streamEvents(backend, id("python"));
      assert.equal(events.length, 1);
      assert.deepEqual(events[0]!.data.result, {
        price: "1.50",
        when: "2024-05-06T07:08:09.123456+02:00",
        day: "2024-05-06",
        time: "07:08:09.500000",
        uuid: "12345678-1234-5678-1234-567812345678",
        raw: "AAH/aGk=",
        float: 3,
      });
    });

    test("a corrupt record in Redis: an error event, then the stream ends", async () => {
      await backend.driver.send(["SET", backend.keys.task(id("corrupt")), '{"status": "SUCC']);
      const { events } = await streamEvents(backend, id("corrupt"));
      assert.equal(events.length, 1, JSON.stringify(events));
      assert.equal(events[0]!.event, "error");
      assert.equal(events[0]!.data.task_id, id("corrupt"));
      assert.equal(events[0]!.data.error, "DecodeError");
      assert.match(String(events[0]!.data.message), /./);
    });

    test("a corrupt record published while streaming: an error event ends the stream", async () => {
      const key = backend.keys.task(id("corrupt-live"));
      const response = sseResponse(backend, id("corrupt-live"));
      const seen: SseEvent[] = [];
      for await (const event of liveEvents(response)) {
        seen.push(event);
        if (event.data.status === "PENDING") {
          await backend.driver.send(["SET", key, "not json at all"]);
          await backend.driver.send(["PUBLISH", key, "not json at all"]);
        }
      }
      assert.deepEqual(seen.map((e) => [e.event, e.data.status ?? e.data.error]), [
        ["state", "PENDING"],
        ["error", "DecodeError"],
      ]);
    });
  });
}

defineCases("memory", () => createBackend("memory://"));

let redis: RedisServer | undefined;
before(async () => {
  redis = await startRedisServer();
});
after(async () => {
  await redis?.[Symbol.asyncDispose]();
});
defineCases("tcp", () => createBackend(`${redis!.url}/3`));

test("sseResponse(): a deadline beyond a timer's reach is none; invalid deadline, keepAlive, retry refused", async () => {
  await using backend = createBackend("memory://");
  // 2^31 ms and more: a runtime would fire such a timer at once and end the stream at its start.
  for (const deadline of [Date.now() + 2 ** 31 + 1_000, new Date(8.64e15)]) {
    const ended: string[] = [];
    const response = sseResponse(backend, "far-deadline", { deadline });
    const events = liveEvents(response);
    assert.equal((await events.next()).value?.data.status, "PENDING");
    // A timer that fired at once has ended the stream by the time the result is stored.
    await new Promise((resolve) => setTimeout(resolve, 20));
    await backend.markAsDone("far-deadline", "done");
    for await (const event of events) ended.push(`${event.event} ${event.data.status}`);
    assert.deepEqual(ended, ["state SUCCESS"]);
    await backend.forget("far-deadline");
  }
  for (const deadline of [Number.NaN, Infinity, new Date(Number.NaN)]) {
    assert.throws(() => sseResponse(backend, "x", { deadline }), TypeError);
  }
  // 0, NaN or a delay past a timer's reach would write keep-alives in a loop.
  for (const keepAlive of [0, -1, Number.NaN, 2 ** 31, Infinity]) {
    assert.throws(() => sseResponse(backend, "x", { keepAlive }), /keepAlive must be/);
  }
  // `retry: N` in the stream takes digits only (nothing else may be written into it).
  for (const retry of [-1, 1.5, Number.NaN, "1\n\nevent: forged" as unknown as number]) {
    assert.throws(() => sseResponse(backend, "x", { retry }), /retry must be/);
  }
});

test("metaToJson(): no traceback unless asked for, errors and bigints JSON-safe", async () => {
  await using backend = createBackend("memory://");
  await backend.markAsFailure("mtj-1", new TypeError("bad"), { traceback: TRACEBACK });
  const meta = await backend.getTaskMeta("mtj-1");
  const json = metaToJson(meta, "mtj-1");
  assert.deepEqual(Object.keys(json), ["task_id", "status", "result", "date_done"]);
  assert.deepEqual(json.result, { exc_type: "TypeError", exc_message: "bad" });
  assert.doesNotMatch(JSON.stringify(json), /Traceback/);
  assert.equal(metaToJson(meta, "mtj-1", { traceback: true }).traceback, TRACEBACK);
  const big = metaToJson({ status: "SUCCESS", result: BIG } as never, "mtj-2");
  assert.equal(JSON.stringify(big.result), '"1180591620717411303424"');
});
