/**
 * The edge entry point: Celery's Redis result backend for places with no TCP sockets —
 * Cloudflare Workers, Vercel Edge functions, Deno Deploy, browsers — over an Upstash-compatible
 * REST API (HTTPS), with `@upstash/redis` as the only dependency.
 *
 * It holds the backend core, the in-memory and HTTP drivers, waiting (polling with one MGET per
 * tick, or streaming SUBSCRIBE), `waitForResult()` with a deadline, and `sseResponse()` to stream
 * a task's progress to a web page. It uses no `Deno`, `Bun` or `node:` API, and does not contain
 * the TCP driver (import the main entry point for `redis://`).
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
 * import { createBackend } from "./edge.ts";
 * await using backend = createBackend("memory://");
 * await backend.markAsDone("t1", { total: 42 });
 * console.log((await backend.getTaskMeta("t1")).result); // { total: 42 }
 * ```
 *
 * @module
 */
export { RedisBackend } from "./src/backend.ts";
export type { RedisBackendOptions, StoreResultOptions } from "./src/backend.ts";
export { AsyncResult } from "./src/async_result.ts";
export type { GetOptions } from "./src/async_result.ts";
export { GroupResult, resultFromTuple, resultTuple } from "./src/group_result.ts";
export type { GroupMember, JoinOptions } from "./src/group_result.ts";
export { ResultConsumer } from "./src/consumer/result_consumer.ts";
export type { ResultConsumerOptions } from "./src/consumer/result_consumer.ts";
export { PollingConsumer } from "./src/consumer/polling_consumer.ts";
export type { PollingConsumerOptions } from "./src/consumer/polling_consumer.ts";
export type { ResultWaiter, WaitOptions } from "./src/consumer/waiters.ts";
export { DEFAULT_RETRY_POLICY, ensure, retryDelayMs } from "./src/retry.ts";
export type { EnsureOptions, RetryPolicy } from "./src/retry.ts";
export { createEdgeBackend as createBackend } from "./src/create_edge_backend.ts";
export type { CreateEdgeBackendOptions } from "./src/create_edge_backend.ts";
export type { CeleryVersion } from "./src/celery_version.ts";
export type {
  PubSubMessage,
  RedisArg,
  RedisCommand,
  RedisDriver,
  RedisReply,
  Subscriber,
  SubscriberHandlers,
} from "./src/driver.ts";
export { createMemoryStore, memoryDriver } from "./src/drivers/memory.ts";
export type {
  MemoryDriver,
  MemoryDriverOptions,
  MemoryStore,
  MemoryStoreOptions,
} from "./src/drivers/memory.ts";
export { httpDriver, httpDriverFromUrl } from "./src/drivers/http.ts";
export type {
  HttpDriver,
  HttpDriverOptions,
  HttpUrlOptions,
  UpstashRedisClient,
} from "./src/drivers/http.ts";
export type { HttpSubscriberOptions } from "./src/drivers/_http_subscriber.ts";
export { isReady, waitForResult } from "./src/wait_for_result.ts";
export type { WaitForResultOptions } from "./src/wait_for_result.ts";
export { isFinalState, metaToJson, sseResponse } from "./src/sse_response.ts";
export type { MetaToJsonOptions, SseResponseOptions } from "./src/sse_response.ts";
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
export type { RespLimits } from "./src/resp/limits.ts";
export { KeyBuilder } from "./src/keys.ts";
export type { ResultTuple, TaskMeta, TaskRequest } from "./src/meta.ts";
export {
  PyDate,
  PyDateTime,
  PyDecimal,
  PyFloat,
  PyTime,
  PyUUID,
} from "./src/serialization/python_types.ts";
export { decodeKombuJson, encodeKombuJson } from "./src/serialization/kombu_json.ts";
export type {
  KombuJsonDecodeOptions,
  KombuJsonEncodeOptions,
} from "./src/serialization/kombu_json.ts";
export { decodeMsgpack, encodeMsgpack } from "./src/serialization/msgpack.ts";
export type { MsgpackDecodeOptions } from "./src/serialization/msgpack.ts";
export type { DecodeLimits } from "./src/serialization/decode_limits.ts";
export type { KombuJsonDialect, SerializerName } from "./src/serializers.ts";
export {
  EXCEPTION_STATES,
  PROPAGATE_STATES,
  READY_STATES,
  type TaskState,
  UNREADY_STATES,
} from "./src/states.ts";
export { TaskError, toExceptionInfo } from "./src/task_error.ts";
export type { ExceptionInfo, TaskErrorOptions } from "./src/task_error.ts";
export { parseDateDone } from "./src/date_done.ts";
export { asUri, maskUrl, parseRedisUrl } from "./src/url.ts";
export type { RedisUrlParams } from "./src/url.ts";
export type { MarkAsFailureOptions, MarkOptions } from "./src/backend.ts";
export type {
  ChordBodyContext,
  ChordPartOptions,
  ChordPartResult,
  ChordRequest,
  ErrbackContext,
  ErrbackHandler,
} from "./src/chord.ts";
export type { ResultSerializer } from "./src/serializers.ts";
export type { Signature, SignatureOptions } from "./src/meta.ts";
export type {
  ParseRedisUrlOptions,
  RedisBackendSslOptions,
  RedisSslParams,
  SentinelAddress,
} from "./src/url.ts";
export { addToChord, applyChord, onChordPartReturn, setChordSize } from "./src/chord.ts";
export { chainElementRequest, propagateChainFailure } from "./src/chain.ts";
export type { ChainFailureOptions } from "./src/chain.ts";
