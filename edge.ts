/**
 * The edge entry point: Celery's Redis result backend for places with no TCP sockets —
 * Cloudflare Workers, Vercel Edge functions, Deno Deploy, browsers — over an Upstash-compatible
 * REST API (HTTPS), with `@upstash/redis` as the only dependency.
 *
 * It holds the backend core, the in-memory and HTTP drivers, waiting (polling with one MGET per
 * tick, or streaming SUBSCRIBE with `httpStreaming()`), `waitForResult()` with a deadline, and
 * `sseResponse()` to stream a task's progress to a web page. It uses no `Deno`, `Bun` or `node:`
 * API, and does not contain the TCP driver (import the main entry point for `redis://`).
 *
 * @example A Cloudflare Worker that reads or waits for a Celery result
 * ```ts ignore
 * import { createBackend, sseResponse, waitForResult } from "@taskmeta/celery-redis/edge";
 *
 * export default {
 *   async fetch(request: Request, env: Record<string, string>): Promise<Response> {
 *     const backend = createBackend(undefined, { env }); // UPSTASH_REDIS_REST_URL / _TOKEN
 *     const url = new URL(request.url);
 *     const id = url.searchParams.get("id") ?? "";
 *     if (url.pathname === "/events") {
 *       return sseResponse(backend, id, { signal: request.signal, deadline: Date.now() + 25_000 });
 *     }
 *     const meta = await waitForResult(backend, id, { deadline: Date.now() + 10_000 });
 *     return Response.json({ status: meta.status, result: meta.result });
 *   },
 * };
 * ```
 *
 * @example Store and read through the in-memory driver
 * ```ts
 * import { createBackend, memoryDriver } from "./edge.ts";
 * await using backend = createBackend(undefined, { driver: memoryDriver() });
 * await backend.markAsDone("t1", { total: 42 });
 * console.log((await backend.getTaskMeta("t1")).result); // { total: 42 }
 * ```
 *
 * @module
 */
export { RedisBackend } from "./src/backend/redis_backend.ts";
export type {
  BackendAttachment,
  RedisBackendOptions,
  StoreResultOptions,
} from "./src/backend/redis_backend.ts";
export type { CanvasHook, StoredState } from "./src/backend/redis_backend.ts";
export type { ConsumerSetting } from "./src/backend/consumer_options.ts";
export { AsyncResult } from "./src/results/async_result.ts";
export type { GetOptions } from "./src/results/async_result.ts";
export { GroupResult, resultFromTuple, resultTuple } from "./src/results/group_result.ts";
export type { GroupMember, JoinOptions } from "./src/results/group_result.ts";
export { getMany } from "./src/results/get_many.ts";
export type { GetManyOptions } from "./src/results/get_many.ts";
export { ResultConsumer } from "./src/results/consumer/result_consumer.ts";
export type { ResultConsumerOptions } from "./src/results/consumer/result_consumer.ts";
export { PollingConsumer } from "./src/results/consumer/polling_consumer.ts";
export type { PollingConsumerOptions } from "./src/results/consumer/polling_consumer.ts";
export type { ReadyMapper, ResultWaiter, WaitOptions } from "./src/results/consumer/waiters.ts";
export { consumerFor } from "./src/results/consumer/consumer_for.ts";
export { DEFAULT_RETRY_POLICY, ensure, retryDelayMs } from "./src/connection/retry.ts";
export type { EnsureOptions, RetryPolicy } from "./src/connection/retry.ts";
export { createEdgeBackend as createBackend } from "./src/backend/create_edge_backend.ts";
export type { CreateEdgeBackendOptions } from "./src/backend/create_edge_backend.ts";
export type { CeleryVersion } from "./src/wire/celery_version.ts";
export type {
  PubSubMessage,
  RedisArg,
  RedisCommand,
  RedisDriver,
  RedisReply,
  Subscriber,
  SubscriberHandlers,
} from "./src/connection/driver.ts";
export { createMemoryStore, memoryDriver } from "./src/connection/drivers/memory.ts";
export type {
  MemoryDriver,
  MemoryDriverOptions,
  MemoryStore,
  MemoryStoreOptions,
} from "./src/connection/drivers/memory.ts";
export { httpDriver, httpDriverFromUrl } from "./src/connection/drivers/http.ts";
export type {
  HttpDriver,
  HttpDriverOptions,
  HttpUrlOptions,
  UpstashRedisClient,
} from "./src/connection/drivers/http.ts";
export type {
  HttpSubscriberContext,
  HttpSubscriberOptions,
} from "./src/connection/drivers/_http_subscriber.ts";
export { httpStreaming } from "./src/connection/drivers/http_streaming.ts";
export type { HttpStreaming } from "./src/connection/drivers/http_streaming.ts";
export { isReady, waitForResult } from "./src/results/wait_for_result.ts";
export type { WaitForResultOptions } from "./src/results/wait_for_result.ts";
export { isFinalState, metaToJson, sseResponse } from "./src/results/sse_response.ts";
export type { MetaToJsonOptions, SseResponseOptions } from "./src/results/sse_response.ts";
export {
  BackendClosedError,
  BackendStoreError,
  CeleryBackendError,
  ContentDisallowedError,
  DecodeError,
  EncodeError,
  MaxConnectionsError,
  RedisAuthenticationError,
  RedisConnectionError,
  RedisProtocolError,
  RedisReplyError,
  TimeoutError,
} from "./src/errors.ts";
export type { RespLimits } from "./src/connection/resp/limits.ts";
export { KeyBuilder } from "./src/wire/keys.ts";
export type { ResultTuple, TaskMeta, TaskRequest } from "./src/wire/meta.ts";
export {
  PyDate,
  PyDateTime,
  PyDecimal,
  PyFloat,
  PyTime,
  PyUUID,
} from "./src/wire/serialization/python_types.ts";
export { decodeKombuJson, encodeKombuJson } from "./src/wire/serialization/kombu_json.ts";
export type {
  KombuJsonDecodeOptions,
  KombuJsonEncodeOptions,
} from "./src/wire/serialization/kombu_json.ts";
export { decodeMsgpack, encodeMsgpack } from "./src/wire/serialization/msgpack.ts";
export type { MsgpackDecodeOptions } from "./src/wire/serialization/msgpack.ts";
export type { DecodeLimits } from "./src/wire/serialization/decode_limits.ts";
export type { KombuJsonDialect, SerializerName } from "./src/wire/serializers.ts";
export {
  EXCEPTION_STATES,
  PROPAGATE_STATES,
  READY_STATES,
  type TaskState,
  UNREADY_STATES,
} from "./src/wire/states.ts";
export { TaskError, toExceptionInfo } from "./src/wire/task_error.ts";
export type { ExceptionInfo, TaskErrorOptions } from "./src/wire/task_error.ts";
export { parseDateDone } from "./src/wire/date_done.ts";
export { asUri, maskUrl, parseRedisUrl } from "./src/connection/url.ts";
export type { RedisUrlParams } from "./src/connection/url.ts";
export type {
  ErrbackContext,
  ErrbackHandler,
  MarkAsFailureOptions,
  MarkOptions,
} from "./src/backend/redis_backend.ts";
export type {
  ChordBodyContext,
  ChordPartOptions,
  ChordPartResult,
  ChordRequest,
} from "./src/canvas/chord.ts";
export { canvas } from "./src/canvas/canvas.ts";
export type {
  ResultSerializer,
  SerializerFactory,
  SerializerOptions,
} from "./src/wire/serializers.ts";
export { jsonSerializer } from "./src/wire/serializers.ts";
export { msgpackSerializer } from "./src/wire/msgpack_serializer.ts";
export type { Signature, SignatureOptions } from "./src/wire/meta.ts";
export type {
  ParseRedisUrlOptions,
  RedisBackendSslOptions,
  RedisSslParams,
  SentinelAddress,
} from "./src/connection/url.ts";
export { addToChord, applyChord, onChordPartReturn, setChordSize } from "./src/canvas/chord.ts";
export { chainElementRequest, propagateChainFailure } from "./src/canvas/chain.ts";
export type { ChainFailureOptions } from "./src/canvas/chain.ts";
export { Broker, PUBLISH_RETRY_POLICY } from "./src/broker/broker.ts";
export type { BrokerOptions, RevokeOptions } from "./src/broker/broker.ts";
export { brokerOf, revoke, sendTask } from "./src/broker/send_task.ts";
export type { SendTaskOptions } from "./src/broker/send_options.ts";
export { sendSignature } from "./src/broker/send_signature.ts";
export type { SignatureCall } from "./src/broker/send_signature.ts";
export { brokerOnBody } from "./src/broker/chord_body.ts";
export { createEdgeBroker as createBroker } from "./src/broker/create_edge_broker.ts";
export type { CreateEdgeBrokerOptions } from "./src/broker/create_edge_broker.ts";
