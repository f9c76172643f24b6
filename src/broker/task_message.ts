/**
 * A Celery task message (task protocol 2) in kombu's Redis envelope, byte for byte as Python's
 * `apply_async` writes it (celery/app/amqp.py `as_task_v2` and `send_task_message`, kombu's
 * `Producer.publish` and the virtual channel's `prepare_message`/`basic_publish`):
 *
 * `{"body": <base64 of [args, kwargs, embed]>, "content-encoding", "content-type", "headers",
 * "properties": {"correlation_id", "reply_to", "delivery_mode", ["expiration"], "delivery_info",
 * "priority", "body_encoding", "delivery_tag"}}`, pushed onto the queue's list (or the list of its
 * priority step, `<queue>\x06\x16<step>`).
 *
 * @module
 */
import type { CeleryVersion } from "../wire/celery_version.ts";
import { atLeast } from "../wire/celery_version.ts";
import type { Signature } from "../wire/meta.ts";
import { encodeMsgpack } from "../wire/serialization/msgpack.ts";
import { dateIsoformat, PyDateTime } from "../wire/serialization/python_types.ts";
import type { SerializerName } from "../wire/serializers.ts";
import { bodyJson, flatObjectJson, scalarJson } from "./message_json.ts";
import { REPR_MAXSIZE, saferepr } from "./python_repr.ts";

/** kombu's Redis separator between a queue and its priority step, and in binding entries. */
export const KOMBU_SEP = "\x06\x16";

/** kombu's Redis `priority_steps`: priorities 0–9 share four lists. */
const PRIORITY_STEPS = [0, 3, 6, 9] as const;

/** Everything a task message holds; `null`/absent fields are written as Celery writes them. */
export interface TaskMessageFields {
  id: string;
  name: string;
  args: readonly unknown[];
  kwargs: Readonly<Record<string, unknown>>;
  /** The queue: the routing key, and the list the message is pushed onto. */
  queue: string;
  celeryVersion: CeleryVersion;
  serializer: SerializerName;
  /** When to run, already resolved from `countdown`/`eta`. */
  eta: Date | null;
  /** When the task expires, already resolved from a number of seconds or a date. */
  expires: Date | null;
  /** kombu's `expiration` property: the seconds left until `expires` (never negative). */
  expiresInSeconds: number | null;
  priority: number | null;
  retries: number;
  timeLimit: number | null;
  softTimeLimit: number | null;
  rootId: string | null;
  parentId: string | null;
  group: string | null;
  groupIndex: number | null;
  shadow: string | null;
  ignoreResult: boolean;
  origin: string;
  replyTo: string;
  deliveryTag: string;
  /** Extra headers, merged last as Celery's `headers2.update(headers)` does. */
  headers: Readonly<Record<string, unknown>>;
  callbacks: Signature[] | null;
  errbacks: Signature[] | null;
  chain: Signature[] | null;
  chord: Signature | null;
}

/** An encoded message and where it goes. */
export interface EncodedTaskMessage {
  /** The Redis list to LPUSH onto. */
  list: string;
  /** kombu's JSON envelope. */
  envelope: string;
}

/**
 * Encodes a task message exactly as Celery `celeryVersion` would for the same call.
 * @throws {EncodeError} when the arguments, kwargs or headers cannot be encoded.
 */
export function encodeTaskMessage(fields: TaskMessageFields): EncodedTaskMessage {
  const dialect = atLeast(fields.celeryVersion, "5.3") ? "5.3" : "5.2";
  const embed = {
    callbacks: fields.callbacks,
    errbacks: fields.errbacks,
    chain: fields.chain,
    chord: fields.chord,
  };
  const msgpack = fields.serializer === "msgpack";
  // Encoding the body first refuses functions, symbols and cycles before anything else is built.
  // kombu's JSON is pure ASCII (ensure_ascii), so its text is its bytes: btoa takes it as is.
  const encodedBody = msgpack
    ? base64(encodeMsgpack([fields.args, fields.kwargs, embed]))
    : btoa(bodyJson(fields.args, fields.kwargs, embed, dialect));
  const s = (value: unknown) => scalarJson(value, dialect);
  const id = s(fields.id); // written three times
  const body = `"${encodedBody}"`; // base64 needs no escaping
  // kombu's envelope, properties and headers in their key order, with its separators; only extra
  // headers need the headers as an object (merged last, as Celery's headers2.update does).
  const headers = hasKeys(fields.headers)
    ? flatObjectJson({ ...headerObject(fields, dialect), ...fields.headers }, dialect)
    : `{"lang": "py", "task": ${s(fields.name)}, "id": ${id}, ` +
      `"shadow": ${s(fields.shadow)}, "eta": ${s(fields.eta && isoformat(fields.eta))}, ` +
      `"expires": ${s(fields.expires && isoformat(fields.expires))}, ` +
      `"group": ${s(fields.group)}, "group_index": ${s(fields.groupIndex)}, ` +
      `"retries": ${s(fields.retries)}, ` +
      `"timelimit": [${s(fields.timeLimit)}, ${s(fields.softTimeLimit)}], ` +
      `"root_id": ${fields.rootId ? s(fields.rootId) : id}, "parent_id": ${s(fields.parentId)}, ` +
      `"argsrepr": ${s(saferepr(fields.args, REPR_MAXSIZE))}, ` +
      `"kwargsrepr": ${s(saferepr(fields.kwargs, REPR_MAXSIZE))}, ` +
      `"origin": ${s(fields.origin)}, "ignore_result": ${s(fields.ignoreResult)}` +
      (dialect === "5.3"
        ? ', "replaced_task_nesting": 0, "stamped_headers": null, "stamps": {}}'
        : "}");
  const expiration = fields.expiresInSeconds === null
    ? ""
    : `"expiration": ${s(String(Math.trunc(fields.expiresInSeconds * 1000)))}, `;
  const envelope = `{"body": ${body}, ` +
    `"content-encoding": ${msgpack ? '"binary"' : '"utf-8"'}, ` +
    `"content-type": ${msgpack ? '"application/x-msgpack"' : '"application/json"'}, ` +
    `"headers": ${headers}, ` +
    `"properties": {"correlation_id": ${id}, "reply_to": ${s(fields.replyTo)}, ` +
    `"delivery_mode": 2, ${expiration}` +
    `"delivery_info": {"exchange": "", "routing_key": ${s(fields.queue)}}, ` +
    `"priority": ${s(fields.priority || 0)}, "body_encoding": "base64", ` +
    `"delivery_tag": ${s(fields.deliveryTag)}}}`;
  return { list: priorityList(fields.queue, fields.priority), envelope };
}

/**
 * The list kombu's Redis transport pushes a message of this priority onto: the queue itself for
 * priorities 0–2, else `<queue>\x06\x16<step>` (priorities are clamped to 0–9, then rounded down
 * to a step of 0, 3, 6, 9; workers read the lower steps first).
 */
export function priorityList(queue: string, priority: number | null): string {
  const clamped = Math.max(0, Math.min(9, Math.trunc(priority ?? 0)));
  let step = 0;
  for (const s of PRIORITY_STEPS) if (s <= clamped) step = s;
  return step === 0 ? queue : `${queue}${KOMBU_SEP}${step}`;
}

/** kombu's binding of a queue to its same-named direct exchange (`_kombu.binding.<queue>`). */
export function queueBinding(queue: string): { key: string; member: string } {
  return { key: `_kombu.binding.${queue}`, member: `${queue}${KOMBU_SEP}${KOMBU_SEP}${queue}` };
}

/** Celery's headers as an object, for merging extra headers into. */
function headerObject(fields: TaskMessageFields, dialect: "5.2" | "5.3"): Record<string, unknown> {
  const headers: Record<string, unknown> = {
    lang: "py",
    task: fields.name,
    id: fields.id,
    shadow: fields.shadow,
    eta: fields.eta && isoformat(fields.eta),
    expires: fields.expires && isoformat(fields.expires),
    group: fields.group,
    group_index: fields.groupIndex,
    retries: fields.retries,
    timelimit: [fields.timeLimit, fields.softTimeLimit],
    root_id: fields.rootId || fields.id,
    parent_id: fields.parentId,
    argsrepr: saferepr(fields.args, REPR_MAXSIZE),
    kwargsrepr: saferepr(fields.kwargs, REPR_MAXSIZE),
    origin: fields.origin,
    ignore_result: fields.ignoreResult,
  };
  if (dialect === "5.3") {
    headers.replaced_task_nesting = 0;
    headers.stamped_headers = null;
    headers.stamps = {};
  }
  return headers;
}

function hasKeys(object: object): boolean {
  for (const _ in object) return true;
  return false;
}

function isoformat(date: Date): string {
  return date instanceof PyDateTime ? date.isoformat : dateIsoformat(date);
}

function base64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}
