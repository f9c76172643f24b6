/**
 * Celery's Redis result backend for Deno and Bun: read, wait for and write Celery task results,
 * byte-compatible with Python Celery 5.2 to 5.6.
 *
 * Python workers store each task's state in Redis under `celery-task-meta-<id>`; this module reads
 * those records (and writes them, so Python clients see results from TypeScript workers) through a
 * small driver seam: an in-memory driver for tests and local use, a TCP driver speaking RESP (with
 * TLS, unix sockets and Sentinel), and an HTTP driver for Upstash-compatible REST APIs.
 *
 * Everything in the edge entry point (`./edge.ts`) is exported here too; this entry point adds the
 * TCP, Sentinel and retrying drivers and a `createBackend()` that knows every URL scheme.
 *
 * @example Read a result a Python worker stored
 * ```ts ignore
 * import { createBackend } from "@taskmeta/celery-redis";
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
 * const [done, failed] = await backend.getTaskMetas(["task-1", "task-2"]);
 * console.log(done?.status, failed?.status); // SUCCESS FAILURE
 * ```
 *
 * @module
 */
export * from "./edge.ts";
// Explicit exports take precedence over edge.ts's: this createBackend() also knows redis://,
// rediss://, redis+socket:// and sentinel://.
export { createBackend } from "./src/backend/create_backend.ts";
export type { CreateBackendOptions, RedisConnectionOptions } from "./src/backend/create_backend.ts";
export { createBroker } from "./src/broker/create_broker.ts";
export type { CreateBrokerOptions } from "./src/broker/create_broker.ts";
export { tcpDriver } from "./src/connection/drivers/tcp.ts";
export type {
  CelerySocketSettings,
  TcpDriver,
  TcpDriverOptions,
  TcpTlsOptions,
} from "./src/connection/drivers/tcp.ts";
export { sentinelDriver } from "./src/connection/drivers/sentinel.ts";
export type {
  MasterAddress,
  SentinelAddressOptions,
  SentinelDriver,
  SentinelDriverOptions,
  SentinelKwargs,
} from "./src/connection/drivers/sentinel.ts";
export { SentinelBackend } from "./src/backend/sentinel_backend.ts";
export type { SentinelBackendOptions } from "./src/backend/sentinel_backend.ts";
export { isIdempotentCommand, retryingDriver } from "./src/connection/drivers/retrying.ts";
export type {
  RetryingDriver,
  RetryingDriverOptions,
  RetryScope,
} from "./src/connection/drivers/retrying.ts";
