import { test } from "node:test";
import assert from "node:assert/strict";
import { createBackend, RedisAuthenticationError, RedisConnectionError } from "../mod.ts";
import { defineBackendConformance } from "./_backend_conformance.ts";
import { defineConsumerConformance } from "./_consumer_conformance.ts";
import { flushedTcpDriver } from "./_drivers.ts";
import { freePort } from "./_redis_server.ts";
import { redisServerForFile } from "./_redis_for_file.ts";

const server = redisServerForFile({ args: ["--requirepass", "s3cret-pw"] });

defineBackendConformance(
  "tcp",
  flushedTcpDriver(() => ({ port: server.port, password: "s3cret-pw", db: 3 })),
);

defineConsumerConformance(
  "tcp",
  flushedTcpDriver(() => ({ port: server.port, password: "s3cret-pw", db: 4 })),
);

test("tcp: createBackend() connects from a Celery URL with password and db", async () => {
  await using backend = createBackend(`redis://:s3cret-pw@127.0.0.1:${server.port}/5`);
  await backend.markAsDone("url-1", 7);
  await using direct = createBackend(`redis://:s3cret-pw@127.0.0.1:${server.port}/5`);
  assert.equal((await direct.getTaskMeta("url-1")).result, 7);
  await using otherDb = createBackend(`redis://:s3cret-pw@127.0.0.1:${server.port}/6`);
  assert.equal((await otherDb.getTaskMeta("url-1")).status, "PENDING");
});

test("tcp: a wrong password fails with RedisAuthenticationError and no secret", async () => {
  await using backend = createBackend(`redis://:not-the-pw@127.0.0.1:${server.port}/0`);
  await assert.rejects(
    backend.getTaskMeta("x"),
    (e: unknown) =>
      e instanceof RedisAuthenticationError &&
      !String((e as Error).message).includes("not-the-pw") &&
      !String((e as Error).stack).includes("not-the-pw"),
  );
});

test("tcp: a refused connection fails with RedisConnectionError", async () => {
  const port = await freePort();
  await using backend = createBackend(`redis://:pw-hidden@127.0.0.1:${port}/0`);
  await assert.rejects(
    backend.getTaskMeta("x"),
    (e: unknown) =>
      e instanceof RedisConnectionError && !String((e as Error).message).includes("pw-hidden"),
  );
});
