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
