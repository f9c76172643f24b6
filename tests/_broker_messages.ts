// Task messages as Python Celery publishes them on a Redis broker (kombu's envelope, task protocol
// 2), for tests that let TypeScript act as the worker of a queue no Python worker consumes.
//
// kombu's Redis transport LPUSHes the JSON envelope onto a list named after the queue (db 0 in
// these tests) and workers BRPOP it, so the oldest message is at the right end. The envelope's
// `body` is base64 of the JSON `[args, kwargs, embed]`, where embed carries `callbacks`,
// `errbacks`, `chain` and `chord`; `headers` carry `id`, `task`, `group`, `group_index`,
// `root_id`, `parent_id`, `retries`, ...
import { Buffer } from "node:buffer";
import type { RedisDriver, Signature, TaskRequest } from "../mod.ts";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import process from "node:process";
import { celeryPythons } from "./_env.ts";
import { celeryUrls, type CeleryVersion } from "./_celery.ts";
import { PyDate, PyDateTime, PyDecimal, PyFloat, PyTime, PyUUID } from "../mod.ts";

/** One task message, decoded. */
export interface TaskMessage {
  id: string;
  task: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  group: string | null;
  groupIndex: number | null;
  rootId: string | null;
  parentId: string | null;
  retries: number;
  chord: Signature | null;
  chain: Signature[] | null;
  callbacks: Signature[] | null;
  errbacks: Signature[] | null;
  routingKey: string | null;
  headers: Record<string, unknown>;
}

/** Decodes kombu's JSON envelope of a protocol-2 task message. */
export function parseTaskMessage(raw: Uint8Array | string): TaskMessage {
  const envelope = JSON.parse(typeof raw === "string" ? raw : new TextDecoder().decode(raw));
  const properties = envelope.properties ?? {};
  const encoded = properties.body_encoding === "base64"
    ? Buffer.from(envelope.body, "base64").toString("utf8")
    : envelope.body;
  const [args, kwargs, embed] = JSON.parse(encoded) as [
    unknown[],
    Record<string, unknown>,
    Record<string, unknown> | undefined,
  ];
  const headers = envelope.headers as Record<string, unknown>;
  const str = (v: unknown) => typeof v === "string" ? v : null;
  return {
    id: String(headers.id),
    task: String(headers.task),
    args,
    kwargs,
    group: str(headers.group),
    groupIndex: typeof headers.group_index === "number" ? headers.group_index : null,
    rootId: str(headers.root_id),
    parentId: str(headers.parent_id),
    retries: typeof headers.retries === "number" ? headers.retries : 0,
    chord: (embed?.chord ?? null) as Signature | null,
    chain: (embed?.chain ?? null) as Signature[] | null,
    callbacks: (embed?.callbacks ?? null) as Signature[] | null,
    errbacks: (embed?.errbacks ?? null) as Signature[] | null,
    routingKey: str(properties.delivery_info?.routing_key),
    headers,
  };
}

/** The request a worker named `hostname` runs the message with (Celery's `Task.request`). */
export function requestOf(message: TaskMessage, hostname: string): TaskRequest {
  const request: TaskRequest = {
    id: message.id,
    task: message.task,
    args: message.args,
    kwargs: message.kwargs,
    hostname,
    retries: message.retries,
    deliveryInfo: { routingKey: message.routingKey },
    chord: message.chord,
    chain: message.chain,
    errbacks: message.errbacks,
  };
  if (message.group) request.group = message.group;
  if (message.groupIndex !== null) request.groupIndex = message.groupIndex;
  if (message.parentId) request.parentId = message.parentId;
  if (message.rootId) request.rootId = message.rootId;
  return request;
}

/**
 * Takes `count` messages from a queue (oldest first), polling until they are there.
 * @throws when they do not all arrive within `timeoutMs`.
 */
export async function takeTaskMessages(
  broker: RedisDriver,
  queue: string,
  count: number,
  timeoutMs = 20_000,
): Promise<TaskMessage[]> {
  const taken: TaskMessage[] = [];
  const deadline = Date.now() + timeoutMs;
  while (taken.length < count) {
    const raw = await broker.send(["RPOP", queue]);
    if (raw instanceof Uint8Array) {
      taken.push(parseTaskMessage(raw));
      continue;
    }
    if (Date.now() > deadline) {
      throw new Error(`Only ${taken.length} of ${count} messages arrived on queue ${queue}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return taken;
}

/** Moves every message of one queue to another (to release held tasks to a worker). */
export async function moveTaskMessages(
  broker: RedisDriver,
  from: string,
  to: string,
): Promise<number> {
  let moved = 0;
  while (await broker.send(["RPOPLPUSH", from, to]) !== null) moved++;
  return moved;
}

// ---- Sending from Python, for byte comparisons (tests/python/broker_capture.py) ----------------

/** What broker_capture.py reports for one `send_task` call. */
export interface CapturedMessage {
  /** The list the message was pushed onto (latin-1: one char per byte). */
  list: string;
  /** The envelope as pushed (one char per byte). */
  raw: string;
  /** `_kombu.binding.*` sets and their members after the call. */
  bindings: Record<string, string[]>;
}

/** One `send_task` call for broker_capture.py: args/kwargs as typed JSON (see {@linkcode toWire}). */
export interface PythonSendCall {
  name: string;
  args: unknown;
  kwargs: unknown;
  options: Record<string, unknown>;
}

/**
 * Runs Python's `app.send_task` for each call on the broker db of `redisUrl` (which must be
 * empty) and returns what landed on Redis.
 */
export function captureFromPython(
  version: CeleryVersion,
  redisUrl: string,
  calls: readonly PythonSendCall[],
): Promise<CapturedMessage[]> {
  const script = fileURLToPath(new URL("./python/broker_capture.py", import.meta.url));
  return runPython(version, redisUrl, [script, JSON.stringify(calls)]) as Promise<
    CapturedMessage[]
  >;
}

/** Runs a Python script of tests/python/ with the Celery app's environment; parses its JSON. */
export function runPython(
  version: CeleryVersion,
  redisUrl: string,
  args: readonly string[],
  timeoutMs = 60_000,
): Promise<unknown> {
  const { brokerUrl, resultUrl } = celeryUrls(redisUrl);
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  Object.assign(env, {
    BROKER_URL: brokerUrl,
    RESULT_BACKEND: resultUrl,
    PYTHONDONTWRITEBYTECODE: "1",
    PYTHONWARNINGS: "ignore",
  });
  return new Promise((resolve, reject) => {
    const child = spawn(celeryPythons[version], [...args], {
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout!.setEncoding("utf8");
    child.stdout!.on("data", (c) => (stdout += c));
    child.stderr!.on("data", (c) => (stderr = (stderr + String(c)).slice(-16_384)));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`${args[0]} exited ${code}:\n${stderr}`));
      try {
        resolve(JSON.parse(stdout));
      } catch {
        reject(new Error(`${args[0]}: output is not JSON:\n${stdout}\n${stderr}`));
      }
    });
  });
}

/** A TypeScript value as harness.py's typed JSON (for the same value on the Python side). */
export function toWire(value: unknown): unknown {
  if (typeof value === "bigint") return { py: "int", value: value.toString() };
  if (typeof value === "number" && !Number.isInteger(value)) {
    return { py: "float", value: PyFloat.repr(value) };
  }
  if (typeof value === "number" && !Number.isSafeInteger(value)) {
    return { py: "int", value: BigInt(value).toString() };
  }
  if (value instanceof PyFloat) return { py: "float", value: PyFloat.repr(value.value) };
  if (value instanceof PyDecimal) return { py: "Decimal", value: value.text };
  if (value instanceof PyUUID) return { py: "UUID", value: value.toString() };
  if (value instanceof PyDateTime) return { py: "datetime", value: value.isoformat };
  if (value instanceof Date) return { py: "datetime", value: PyDateTime.fromDate(value).isoformat };
  if (value instanceof PyDate) return { py: "date", value: value.isoformat };
  if (value instanceof PyTime) return { py: "time", value: value.isoformat };
  if (value instanceof Uint8Array) {
    return { py: "bytes", value: Buffer.from(value).toString("base64") };
  }
  if (Array.isArray(value)) return value.map(toWire);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toWire(v)]));
  }
  return value;
}

/** The text of a latin-1 "raw" string (one char per byte) decoded as UTF-8. */
export function rawText(raw: string): string {
  return Buffer.from(raw, "latin1").toString("utf8");
}
