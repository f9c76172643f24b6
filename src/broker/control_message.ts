/**
 * Celery's broadcast control messages (`app.control.broadcast`, e.g. `revoke`) as kombu's pidbox
 * publishes them on Redis: the `celery.pidbox` fanout exchange is the pub/sub channel
 * `/<db>.celery.pidbox` (kombu's `keyprefix_fanout`), and the message is kombu's JSON envelope
 * with headers `{"clock", "expires"}` and a base64 body
 * `{"method", "arguments", "destination", "pattern", "matcher"}`.
 *
 * @module
 */
import { encodeKombuJson } from "../wire/serialization/kombu_json.ts";
import { PyFloat } from "../wire/serialization/python_types.ts";

/** The fields of one broadcast. */
export interface ControlMessageFields {
  method: string;
  arguments: Readonly<Record<string, unknown>>;
  /** Worker node names, or `null` for every worker. */
  destination: readonly string[] | null;
  /** The sender's Lamport clock value for this message. */
  clock: number;
  /** Unix time in seconds after which workers drop the message (Celery: now + 1 s). */
  expires: number;
  deliveryTag: string;
}

/** The pub/sub channel of the `celery.pidbox` exchange for a broker on database `db`. */
export function pidboxChannel(db: number): string {
  return `/${db}.celery.pidbox`;
}

/** Encodes a broadcast exactly as kombu's `Mailbox._broadcast` does without a reply. */
export function encodeControlMessage(fields: ControlMessageFields): string {
  const body = encodeKombuJson({
    method: fields.method,
    arguments: fields.arguments,
    destination: fields.destination,
    pattern: null,
    matcher: null,
  });
  return encodeKombuJson({
    body: btoa(String.fromCharCode(...new TextEncoder().encode(body))),
    "content-encoding": "utf-8",
    "content-type": "application/json",
    headers: { clock: fields.clock, expires: new PyFloat(fields.expires) },
    properties: {
      delivery_mode: 2,
      delivery_info: { exchange: "celery.pidbox", routing_key: "" },
      priority: 0,
      body_encoding: "base64",
      delivery_tag: fields.deliveryTag,
    },
  });
}
