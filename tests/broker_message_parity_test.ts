// The task messages sendTask() pushes are byte for byte what Python's app.send_task pushes for
// the same call (captured live from a real redis-server under Celery 5.2.6 and 5.6.3), but for
// what differs on every call: reply_to (the process's oid), delivery_tag, origin, and the eta and
// expires that countdown and a number of seconds compute from the clock.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import {
  Broker,
  createBackend,
  PyDate,
  PyDateTime,
  PyDecimal,
  PyFloat,
  PyTime,
  PyUUID,
  type RedisBackend,
  type SendTaskOptions,
  tcpDriver,
} from "../mod.ts";
import { celeryAvailable, celeryUrls, type CeleryVersion, celeryVersions } from "./_celery.ts";
import { requirement } from "./_env.ts";
import { type RedisServer, startRedisServer } from "./_redis_server.ts";
import { type CapturedMessage, captureFromPython, rawText, toWire } from "./_broker_messages.ts";

interface Call {
  label: string;
  name: string;
  options: SendTaskOptions;
}

const long = "word ".repeat(400);
const calls: Call[] = [
  { label: "plain", name: "celery_app.add", options: { args: [1, 2], kwargs: { z: 3 } } },
  {
    label: "every option",
    name: "celery_app.add",
    options: {
      args: [1, 2],
      priority: 5,
      countdown: 10,
      expires: 60.5,
      queue: "q1",
      retries: 2,
      timeLimit: 10,
      softTimeLimit: 5,
      headers: { h: 1, "x-extra": ["é"] },
      shadow: "shadowed",
      ignoreResult: true,
    },
  },
  {
    label: "kombu types",
    name: "celery_app.echo",
    options: {
      args: [
        new PyDateTime("2024-05-06T07:08:09.123456+00:00"),
        new PyDateTime("2024-05-06T07:08:00+05:30"),
        new PyDateTime("2024-05-06T07:08:09"),
        new PyDate("2024-05-06"),
        new PyTime("01:02:03.000004"),
        new PyDecimal("1.50"),
        new PyUUID("12345678-1234-5678-1234-567812345678"),
        2n ** 70n,
        -(2n ** 64n),
        'h\u00e9llo \u{1F600} it\'s "quoted"\n',
        2.5,
        new PyFloat(3),
        1e-7,
        null,
        true,
        [1, [2, [3, [4, [5]]]]],
        { a: { b: { c: { d: 1 } } } },
      ],
      kwargs: { when: new PyDateTime("2030-01-02T03:04:05+00:00"), "k\u00fc": [] },
    },
  },
  {
    label: "eta, expires as dates, parentage and group",
    name: "celery_app.add",
    options: {
      args: [3, 4],
      eta: new PyDateTime("2031-01-02T03:04:05.678000+00:00"),
      expires: new PyDateTime("2031-01-03T00:00:00+00:00"),
      taskId: "fixed-task-id",
      parentId: "the-parent",
      rootId: "the-root",
      groupId: "the-group",
      groupIndex: 2,
    },
  },
  {
    label: "saferepr truncation",
    name: "celery_app.echo",
    options: {
      args: [long, Array.from({ length: 400 }, (_, i) => i)],
      kwargs: { s: long, n: [[["x".repeat(1500)]]] },
    },
  },
  {
    label: "msgpack",
    name: "celery_app.add",
    options: { args: [1, "two", [3.5]], serializer: "msgpack" },
  },
  ...[0, 2, 3, 4, 6, 8, 9, 200, 255].map((priority) => ({
    label: `priority ${priority}`,
    name: "celery_app.add",
    options: { args: [priority, 0], priority, queue: "prio" } as SendTaskOptions,
  })),
];

/** send_task keywords for the same call. */
function pythonOptions(o: SendTaskOptions, taskId: string): Record<string, unknown> {
  const out: Record<string, unknown> = { task_id: taskId };
  const map: Record<string, string> = {
    priority: "priority",
    countdown: "countdown",
    queue: "queue",
    retries: "retries",
    timeLimit: "time_limit",
    softTimeLimit: "soft_time_limit",
    headers: "headers",
    shadow: "shadow",
    ignoreResult: "ignore_result",
    parentId: "parent_id",
    rootId: "root_id",
    groupId: "group_id",
    groupIndex: "group_index",
    serializer: "serializer",
  };
  for (const [k, v] of Object.entries(o)) {
    if (map[k]) out[map[k]] = v;
    if (k === "eta" || k === "expires") out[k] = v instanceof PyDateTime ? v.isoformat : v;
  }
  return out;
}

// Replaces what is different on every send, checking its form first.
function normalise(raw: string, call: Call): string {
  const envelope = JSON.parse(raw);
  let out = rawText(raw);
  const swap = (value: unknown, by: string) => {
    assert.equal(typeof value, "string");
    out = out.split(JSON.stringify(value)).join(by);
  };
  swap(envelope.properties.reply_to, '"<reply_to>"');
  swap(envelope.properties.delivery_tag, '"<delivery_tag>"');
  assert.match(envelope.headers.origin, /^gen/);
  swap(envelope.headers.origin, '"<origin>"');
  const timestamp = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?\+00:00$/;
  if (call.options.countdown !== undefined) {
    assert.match(envelope.headers.eta, timestamp);
    swap(envelope.headers.eta, '"<eta>"');
  }
  if (typeof call.options.expires === "number") {
    assert.match(envelope.headers.expires, timestamp);
    swap(envelope.headers.expires, '"<expires>"');
  }
  if (call.options.expires instanceof Date) {
    // The seconds left until the date, by the sender's clock.
    assert.match(envelope.properties.expiration, /^\d+$/);
    swap(envelope.properties.expiration, '"<expiration>"');
  }
  return out;
}

interface Setup {
  server: RedisServer;
  python: CapturedMessage[];
  typescript: CapturedMessage[];
}
const setups = new Map<CeleryVersion, Setup>();

async function captureFromTypeScript(
  version: CeleryVersion,
  server: RedisServer,
  ids: string[],
): Promise<CapturedMessage[]> {
  const { resultUrl } = celeryUrls(server.url);
  await using backend: RedisBackend = createBackend(resultUrl, { celeryVersion: version });
  const driver = tcpDriver({ host: server.host, port: server.port, db: 0 });
  await using broker = new Broker(driver, { backend, origin: "gen1@ts" });
  await driver.send(["FLUSHDB"]); // Python's bindings from its own run
  const out: CapturedMessage[] = [];
  for (const [i, call] of calls.entries()) {
    await broker.sendTask(call.name, { ...call.options, taskId: ids[i]! });
    const keys = (await driver.send(["KEYS", "*"])) as Uint8Array[];
    const lists: string[] = [];
    const bindings: Record<string, string[]> = {};
    for (const key of keys.map((k) => Buffer.from(k).toString("latin1"))) {
      const type = await driver.send(["TYPE", key]);
      if (type === "list") lists.push(key);
      if (key.startsWith("_kombu.binding.")) {
        const members = (await driver.send(["SMEMBERS", key])) as Uint8Array[];
        bindings[key] = members.map((m) => Buffer.from(m).toString("latin1")).sort();
      }
    }
    assert.equal(lists.length, 1, `${call.label}: one list holds the message`);
    const raw = (await driver.send(["RPOP", lists[0]!])) as Uint8Array;
    out.push({ list: lists[0]!, raw: Buffer.from(raw).toString("latin1"), bindings });
  }
  return out;
}

before(async () => {
  for (const version of celeryVersions.filter(celeryAvailable)) {
    const server = await startRedisServer();
    const ids = calls.map((c, i) => c.options.taskId ?? `task-${version}-${i}`);
    const python = await captureFromPython(
      version,
      server.url,
      calls.map((call, i) => ({
        name: call.name,
        args: toWire(call.options.args ?? []),
        kwargs: toWire(call.options.kwargs ?? {}),
        options: pythonOptions(call.options, ids[i]!),
      })),
    );
    const typescript = await captureFromTypeScript(version, server, ids);
    setups.set(version, { server, python, typescript });
  }
});

after(async () => {
  for (const { server } of setups.values()) await server.stop();
});

for (const version of celeryVersions) {
  const skip = requirement(celeryAvailable(version), `Celery ${version}`);
  test(`Celery ${version}: every message is Python's, byte for byte (less ids and timestamps)`, {
    skip,
  }, () => {
    const { python, typescript } = setups.get(version)!;
    for (const [i, call] of calls.entries()) {
      const py = python[i]!;
      const ts = typescript[i]!;
      assert.equal(ts.list, py.list, `${call.label}: the same list`);
      assert.deepEqual(ts.bindings, py.bindings, `${call.label}: the same queue bindings`);
      assert.equal(normalise(ts.raw, call), normalise(py.raw, call), `${call.label}: same bytes`);
    }
  });

  test(`Celery ${version}: priorities go to kombu's priority lists`, { skip }, () => {
    const { python } = setups.get(version)!;
    const lists = python.filter((_, i) => calls[i]!.label.startsWith("priority "))
      .map((m) => m.list.replace("\x06\x16", "/"));
    assert.deepEqual(lists, [
      "prio",
      "prio",
      "prio/3",
      "prio/3",
      "prio/6",
      "prio/6",
      "prio/9",
      "prio/9",
      "prio/9",
    ]);
  });
}
