import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { startRedisServer } from "./_redis_server.ts";
test("startRedisServer() can pause, resume, stop a paused server and restart", async () => {
  await using server = await startRedisServer();
  const ping = () =>
    execFileSync("redis-cli", ["-p", String(server.port), "PING"], { timeout: 1000 }).toString()
      .trim();
  server.pause();
  assert.throws(() => ping());
  server.resume();
  assert.equal(ping(), "PONG");
  server.pause();
  await server.stop();
  await server.restart();
  assert.equal(ping(), "PONG");
});
