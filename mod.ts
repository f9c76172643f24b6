/**
 * Celery's Redis result backend for Deno and Bun: read, wait for and write Celery task results,
 * byte-compatible with Python Celery 5.2 to 5.6.
 *
 * Python workers store each task's state in Redis under `celery-task-meta-<id>`; this module reads
 * those records (and writes them, so Python clients see results from TypeScript workers) through a
 * small driver seam: an in-memory driver for tests and local use, and a TCP driver speaking RESP.
 *
 * @example Read a result a Python worker stored
 * ```ts ignore
 * import { createBackend } from "@celery/redis-results";
 *
 * await using backend = createBackend("redis://localhost:6379/1");
 * const meta = await backend.getTaskMeta("d9a5c1b4-…");
 * if (meta.status === "SUCCESS") console.log(meta.result);
 * ```
 *
 * @example Store results the way a Celery worker does
 * ```ts
 * import { createBackend } from "./mod.ts";
 *
 * await using backend = createBackend("memory://", { resultExtended: true });
 * await backend.markAsDone("task-1", { total: 42 }, { task: "proj.add", args: [40, 2] });
 * await backend.markAsFailure("task-2", new TypeError("bad input"));
 * const [done, failed] = await backend.getMany(["task-1", "task-2"]);
 * console.log(done?.status, failed?.status); // SUCCESS FAILURE
 * ```
 *
 * @module
 */
export { RedisBackend } from "./src/backend.ts";
export { AsyncResult } from "./src/async_result.ts";
export type { GetOptions } from "./src/async_result.ts";
export { GroupResult, resultFromTuple } from "./src/group_result.ts";
export type { GroupMember, JoinOptions } from "./src/group_result.ts";
export { ResultConsumer } from "./src/consumer/result_consumer.ts";
export type { ResultConsumerOptions } from "./src/consumer/result_consumer.ts";
export { PollingConsumer } from "./src/consumer/polling_consumer.ts";
export type { PollingConsumerOptions } from "./src/consumer/polling_consumer.ts";
export type { ResultWaiter, WaitOptions } from "./src/consumer/waiters.ts";
export { DEFAULT_RETRY_POLICY, ensure } from "./src/retry.ts";
export type { EnsureOptions, RetryPolicy } from "./src/retry.ts";
export type { RedisBackendOptions, StoreResultOptions } from "./src/backend.ts";
export { createBackend } from "./src/create_backend.ts";
export type { CreateBackendOptions } from "./src/create_backend.ts";
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
export { tcpDriver } from "./src/drivers/tcp.ts";
export type { TcpDriverOptions } from "./src/drivers/tcp.ts";
export {
  BackendClosedError,
  BackendStoreError,
  CeleryBackendError,
  ContentDisallowedError,
  DecodeError,
  EncodeError,
  RedisAuthenticationError,
  RedisConnectionError,
  RedisReplyError,
  TimeoutError,
} from "./src/errors.ts";
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
export type { KombuJsonDialect, ResultSerializer, SerializerName } from "./src/serializers.ts";
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
export { maskUrl, parseRedisUrl } from "./src/url.ts";
export type { RedisUrlParams } from "./src/url.ts";
export type { MarkAsFailureOptions, MarkOptions } from "./src/backend.ts";
export { resultTuple } from "./src/group_result.ts";
export { addToChord, applyChord, onChordPartReturn, setChordSize } from "./src/chord.ts";
export type {
  ChordBodyContext,
  ChordPartOptions,
  ChordPartResult,
  ChordRequest,
  ErrbackContext,
  ErrbackHandler,
} from "./src/chord.ts";
export { chainElementRequest, propagateChainFailure } from "./src/chain.ts";
export type { ChainFailureOptions } from "./src/chain.ts";
export type { Signature, SignatureOptions } from "./src/meta.ts";
export { SentinelBackend } from "./src/sentinel_backend.ts";
export type { SentinelBackendOptions } from "./src/sentinel_backend.ts";
export type { RedisConnectionOptions } from "./src/create_backend.ts";
export { sentinelDriver } from "./src/drivers/sentinel.ts";
export type {
  MasterAddress,
  SentinelAddressOptions,
  SentinelDriver,
  SentinelDriverOptions,
  SentinelKwargs,
} from "./src/drivers/sentinel.ts";
export { isIdempotentCommand, retryingDriver } from "./src/drivers/retrying.ts";
export type { RetryingDriver, RetryingDriverOptions, RetryScope } from "./src/drivers/retrying.ts";
export type { CelerySocketSettings, TcpDriver, TcpTlsOptions } from "./src/drivers/tcp.ts";
export { asUri } from "./src/url.ts";
export type {
  ParseRedisUrlOptions,
  RedisBackendSslOptions,
  RedisSslParams,
  SentinelAddress,
} from "./src/url.ts";
export { retryDelayMs } from "./src/retry.ts";
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
export type { SseResponseOptions } from "./src/sse_response.ts";
