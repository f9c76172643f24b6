import { test } from "node:test";
import assert from "node:assert/strict";
import { createBackend, maskUrl, parseRedisUrl } from "../mod.ts";

test("parseRedisUrl() reads Celery's observed example", () => {
  const p = parseRedisUrl(
    "redis://:pa%40ss@h1:6380/2?socket_timeout=3&retry_on_timeout=true&max_connections=5&health_check_interval=10",
  );
  assert.equal(p.host, "h1");
  assert.equal(p.port, 6380);
  assert.equal(p.db, 2);
  assert.equal(p.password, "pa@ss");
  assert.equal(p.socketTimeout, 3);
  assert.equal(p.retryOnTimeout, true);
  assert.equal(p.maxConnections, 5);
  assert.equal(p.healthCheckInterval, 10);
});

test("parseRedisUrl() applies Celery's defaults and db rules", () => {
  assert.deepEqual(
    [parseRedisUrl("redis://").host, parseRedisUrl("redis://").port, parseRedisUrl("redis://").db],
    ["localhost", 6379, 0],
  );
  assert.equal(parseRedisUrl("redis://h//3").db, 3);
  assert.equal(parseRedisUrl("redis://h/").db, 0);
  assert.equal(parseRedisUrl("redis://user:pw@h").username, "user");
  assert.equal(parseRedisUrl("redis://[::1]:7000/1").host, "::1");
  const sock = parseRedisUrl("redis+socket:///tmp/redis.sock?virtual_host=4");
  assert.equal(sock.path, "/tmp/redis.sock");
  assert.equal(sock.db, 4);
});

test("parseRedisUrl() refuses bad input without echoing the password", () => {
  assert.throws(
    () => parseRedisUrl("redis://:topsecret@h/notanumber"),
    (e: unknown) =>
      e instanceof TypeError && /database must be a number/.test(e.message) &&
      !e.message.includes("topsecret"),
  );
  assert.throws(
    () => parseRedisUrl("redis://:topsecret@h:99999999/0"),
    (e: unknown) => e instanceof TypeError && !e.message.includes("topsecret"),
  );
  assert.throws(() => parseRedisUrl("redis://h/0?socket_timeout=abc"), TypeError);
});

test("createBackend() refuses unknown schemes with a clear, password-free message", () => {
  assert.throws(
    () => createBackend("mongodb://:topsecret@h/0"),
    (e: unknown) =>
      e instanceof TypeError && /Unsupported result backend URL/.test(e.message) &&
      !e.message.includes("topsecret"),
  );
  assert.throws(() => createBackend("not a url"), TypeError);
});

test("maskUrl() masks like Celery's as_uri()", () => {
  assert.equal(maskUrl("redis://:pa%40ss@h1:6380/2?socket_timeout=3"), "redis://:**@h1:6380/2");
  assert.equal(maskUrl("redis://localhost"), "redis://localhost/");
  assert.equal(maskUrl("redis://"), "redis://");
  assert.equal(
    maskUrl("sentinel://:pw@s1:26379/1;sentinel://s2:26380/1"),
    "sentinel://:**@s1:26379/1;sentinel://s2:26380/1",
  );
  assert.equal(maskUrl("redis+socket:///tmp/redis.sock"), "socket:///tmp/redis.sock");
  assert.equal(maskUrl("redis://:pw@h/0", true), "redis://:pw@h/0");
});
