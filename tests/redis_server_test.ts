import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { freePort, startRedisServer } from "./_redis_server.ts";
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

test("startRedisServer() tries a fresh port when the one it picked was taken before redis-server bound it", async () => {
  await using taken = await startRedisServer();
  const picked: number[] = [];
  const pickPort = async () => {
    const port = picked.length === 0 ? taken.port : await freePort();
    picked.push(port);
    return port;
  };
  await using server = await startRedisServer({ pickPort });
  assert.equal(picked.length, 2);
  assert.equal(server.port, picked[1]);
  assert.notEqual(server.port, taken.port);
});

test("startRedisServer() reports redis-server's own words when it exits at start", async () => {
  await assert.rejects(
    startRedisServer({ args: ["--no-such-directive", "1"] }),
    (error: Error) => {
      assert.match(error.message, /exited early with code 1/);
      assert.match(error.message, /no-such-directive/);
      return true;
    },
  );
});
