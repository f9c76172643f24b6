// Unix sockets on Deno and Bun: the shared backend, consumer and chord suites over a redis-server's unix
// socket, and Celery's redis+socket:// URLs (db from virtual_host, a password, a bare socket://
// refused as Celery refuses it).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createBackend } from "../mod.ts";
import { defineBackendConformance } from "./_backend_conformance.ts";
import { defineChordConformance } from "./_chord_conformance.ts";
import { defineConsumerConformance } from "./_consumer_conformance.ts";
import { flushedTcpDriver } from "./_drivers.ts";
import { type RedisServer, startRedisServer } from "./_redis_server.ts";

let server: RedisServer;
const dir = mkdtempSync(join(tmpdir(), "redis-sock-"));
const socket = join(dir, "redis.sock");

before(async () => {
  server = await startRedisServer({
    args: ["--requirepass", "sock-pw", "--unixsocket", socket, "--unixsocketperm", "700"],
  });
});

after(async () => {
  await server[Symbol.asyncDispose]();
  rmSync(dir, { recursive: true, force: true });
});

defineBackendConformance(
  "unix",
  flushedTcpDriver(() => ({ path: socket, password: "sock-pw", db: 3 })),
);
defineConsumerConformance(
  "unix",
  flushedTcpDriver(() => ({ path: socket, password: "sock-pw", db: 4 })),
);
defineChordConformance(
  "unix",
  flushedTcpDriver(() => ({ path: socket, password: "sock-pw", db: 5 })),
);

test("createBackend() connects to a redis+socket:// URL, db from virtual_host", async () => {
  await using backend = createBackend(`redis+socket://:sock-pw@${socket}?virtual_host=2`);
  await backend.markAsDone("sock-1", "over a socket");
  // The same server over TCP, db 2: the socket URL selected db 2 and reached this server.
  await using tcp = createBackend(`redis://:sock-pw@127.0.0.1:${server.port}/2`);
  assert.equal((await tcp.getTaskMeta("sock-1")).result, "over a socket");
  const clients = await tcp.driver.send(["CLIENT", "LIST"]);
  assert.match(new TextDecoder().decode(clients as Uint8Array), /addr=\/|laddr=\/|flags=U/);
});

test("createBackend() takes a socket URL's db from db= over virtual_host, as redis-py does", async () => {
  await using backend = createBackend(`redis+socket://:sock-pw@${socket}?virtual_host=2&db=7`);
  await backend.markAsDone("sock-2", 7);
  await using tcp = createBackend(`redis://:sock-pw@127.0.0.1:${server.port}/7`);
  assert.equal((await tcp.getTaskMeta("sock-2")).result, 7);
});

test("createBackend() refuses a bare socket:// URL, as Celery does, pointing at redis+socket://", () => {
  assert.throws(
    () => createBackend(`socket://${socket}`),
    (e: unknown) => e instanceof TypeError && /redis\+socket:\/\//.test(e.message),
  );
});

test("a unix socket that is not there fails with a connection error naming it", async () => {
  await using backend = createBackend(`redis+socket://${join(dir, "missing.sock")}`);
  await assert.rejects(backend.getTaskMeta("x"), /unix:.*missing\.sock/);
});
