// The first errors a newcomer meets (issue #9): each names what to change, and none shows a
// password or token. Servers involved are real (redis-server, the local Upstash REST server).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  createBackend,
  httpDriver,
  httpStreaming,
  parseRedisUrl,
  RedisReplyError,
  sentinelDriver,
  tcpDriver,
} from "../mod.ts";
import { tcpOptionsFromCelery } from "../src/connection/drivers/tcp.ts";
import { createBackend as createEdgeBackend, memoryDriver as edgeMemoryDriver } from "../edge.ts";
import { RedisConnectionError } from "../src/errors.ts";
import { freePort, startRedisServer } from "./_redis_server.ts";
import { redisServerBin, requirement } from "./_env.ts";

const skipRedis = requirement(
  spawnSync(redisServerBin, ["--version"], { encoding: "utf8" }).status === 0,
  "redis-server",
);

const PASSWORD = "Pw-Zx81/;#?@:%q";
const TOKEN = "Tk-Qv93/;#?@:%r";

function rejects(what: string, check: (e: Error) => void): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(e instanceof Error, `${what}: not an Error: ${String(e)}`);
    check(e);
    return true;
  };
}

test("a database written as a name (/db1) says the database is a number, with an example", () => {
  for (
    const url of ["redis://localhost:6379/db1", `redis://:${encodeURIComponent(PASSWORD)}@h/db1`]
  ) {
    assert.throws(
      () => createBackend(url),
      rejects(url, (e) => {
        assert.ok(e instanceof TypeError, e.name);
        assert.match(e.message, /the database is a number, e\.g\. redis:\/\/host:6379\/1/);
        assert.match(e.message, /'db1'/);
        assert.ok(!e.message.includes("Zx81"), e.message);
      }),
    );
  }
});

test("a database out of range names the server and the db, and how many databases it has", {
  skip: skipRedis,
}, async () => {
  await using server = await startRedisServer({
    args: [
      "--databases",
      "4",
      "--requirepass",
      PASSWORD,
      // An ACL user that may not run CONFIG: the count is unknown, the advice stays.
      "--user",
      "app",
      "on",
      `>${PASSWORD}`,
      "~*",
      "&*",
      "+@all",
      "-config",
    ],
  });
  const where = `redis://127.0.0.1:${server.port}`;
  const secret = encodeURIComponent(PASSWORD);
  {
    await using backend = createBackend(`redis://:${secret}@127.0.0.1:${server.port}/99`, {
      retryPolicy: false,
    });
    await assert.rejects(
      backend.getTaskMeta("t1"),
      rejects("default user", (e) => {
        assert.ok(e instanceof RedisReplyError, e.name);
        assert.equal(e.command, "SELECT");
        assert.equal(
          e.message,
          `${where}: database 99 does not exist (the server has 4, numbered 0 to 3; name an ` +
            `existing one in the URL's path, e.g. ${where}/0, or raise \`databases\` in the ` +
            "server's redis.conf)",
        );
      }),
    );
  }
  {
    await using backend = createBackend(`redis://app:${secret}@127.0.0.1:${server.port}/7`, {
      retryPolicy: false,
    });
    await assert.rejects(
      backend.getTaskMeta("t1"),
      rejects("ACL user without CONFIG", (e) => {
        assert.ok(e instanceof RedisReplyError, e.name);
        assert.match(e.message, new RegExp(`^${where}: database 7 does not exist \\(the server`));
        assert.match(e.message, /has fewer databases; name an existing one in the URL's path/);
        assert.ok(!e.message.includes("Zx81") && !e.message.includes("app:"), e.message);
      }),
    );
  }
  // The database the error suggests works.
  await using backend = createBackend(`redis://:${secret}@127.0.0.1:${server.port}/3`);
  assert.equal((await backend.getTaskMeta("t1")).status, "PENDING");
});

test("an unreachable REST host is named, without the token", async () => {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  for (
    const driver of [
      httpDriver({ url, token: TOKEN, readRetries: 0 }),
      httpDriver({ url: `http://:${encodeURIComponent(TOKEN)}@127.0.0.1:${port}`, readRetries: 0 }),
    ]
  ) {
    await using _ = driver;
    assert.equal(driver.url, url);
    for (const command of [["GET", "k"], ["SET", "k", "v"]]) {
      await assert.rejects(
        driver.send(command),
        rejects(command[0]!, (e) => {
          assert.ok(e instanceof RedisConnectionError, e.name);
          assert.ok(e.message.startsWith(`Cannot reach the REST service at ${url} `), e.message);
          assert.match(e.message, /check the URL's host and port/);
          assert.ok(!`${e.message}${e.stack}`.includes("Qv93"), e.message);
        }),
      );
    }
  }
});

test("a REST URL without a token shows the https://:TOKEN@host form, the option and env vars", () => {
  const check = (e: unknown) =>
    rejects("no token", (error) => {
      assert.ok(error instanceof TypeError, error.name);
      assert.match(error.message, /^No REST token for https:\/\/eu1-x\.upstash\.io: /);
      assert.ok(error.message.includes("https://:TOKEN@eu1-x.upstash.io"), error.message);
      assert.match(error.message, /token option/);
      assert.match(error.message, /UPSTASH_REDIS_REST_TOKEN \(or KV_REST_API_TOKEN\)/);
    })(e);
  assert.throws(() => createBackend("https://eu1-x.upstash.io", { http: { env: {} } }), check);
  assert.throws(() => createEdgeBackend("https://eu1-x.upstash.io/", { env: {} }), check);
  assert.throws(
    () => httpDriver({ env: { UPSTASH_REDIS_REST_URL: "https://eu1-x.upstash.io" } }),
    check,
  );
  // Either place for the token works, and the driver's url never holds it.
  const fromUrl = httpDriver({ url: `https://:${encodeURIComponent(TOKEN)}@eu1-x.upstash.io` });
  const fromOption = httpDriver({ url: "https://eu1-x.upstash.io", token: TOKEN });
  assert.equal(fromUrl.url, "https://eu1-x.upstash.io");
  assert.equal(fromOption.url, "https://eu1-x.upstash.io");
});

test("the edge createBackend() refuses memory:// and names the driver option that replaces it", async () => {
  assert.throws(() => createEdgeBackend("memory://"), (error: Error) => {
    assert.ok(error instanceof TypeError, error.name);
    assert.match(error.message, /^memory:\/\/ is not a URL the edge createBackend\(\) opens: /);
    assert.ok(error.message.includes("{ driver: memoryDriver() }"), error.message);
    return true;
  });
  // The form it names works.
  await using backend = createEdgeBackend(undefined, { driver: edgeMemoryDriver() });
  await backend.markAsDone("t1", 42);
  assert.equal((await backend.getTaskMeta("t1")).result, 42);
});

test("options that configure the driver createBackend() would make are refused beside { driver }, by name only", async () => {
  const named = (names: string, factory: string) => (e: unknown) =>
    e instanceof TypeError &&
    e.message.startsWith(`createBackend() was given a driver and ${names}, which configure`) &&
    e.message.endsWith(`pass them to ${factory}`) && !e.message.includes(TOKEN);
  assert.throws(
    () =>
      createEdgeBackend(undefined, {
        driver: edgeMemoryDriver(),
        streaming: httpStreaming(),
        token: TOKEN,
      }),
    named("token, streaming", "httpDriver()"),
  );
  assert.throws(
    () => createBackend(undefined, { driver: edgeMemoryDriver(), token: TOKEN, connection: {} }),
    named("connection, token", "tcpDriver() or httpDriver()"),
  );
  // Celery's settings still go to the backend beside a driver, and undefined options are unset.
  await using edge = createEdgeBackend(undefined, {
    driver: edgeMemoryDriver(),
    resultExpires: 60,
    token: undefined,
  });
  await using main = createBackend(undefined, {
    driver: edgeMemoryDriver(),
    resultExpires: 60,
    http: undefined,
  });
  for (const backend of [edge, main]) {
    await backend.markAsDone("t1", 1);
    assert.equal((await backend.getTaskMeta("t1")).result, 1);
    assert.equal(backend.expires, 60);
  }
});

test("a timeout past a runtime timer's 2^31-1 ms is refused in ms, and none in Celery's seconds", () => {
  // Node and Deno fire a longer timer at once: every command or request would time out.
  const tooLong = [2 ** 31, 1e12];
  for (const ms of tooLong) {
    for (
      const make of [
        () => tcpDriver({ socketTimeout: ms }),
        () => tcpDriver({ connectTimeout: ms }),
        () => httpDriver({ url: "https://h.example", token: "t", requestTimeout: ms }),
      ]
    ) {
      assert.throws(
        make,
        (e: unknown) => e instanceof RangeError && /at most 2147483647/.test(e.message),
      );
    }
  }
  assert.throws(
    () => httpDriver({ url: "https://h.example", token: "t", requestTimeout: Infinity }),
    RangeError,
  );
  // The streaming subscriber's delays too, refused when the setting is made.
  for (
    const streaming of [{ pollInterval: 2 ** 31 }, { confirmTimeout: 0 }, { compactDelay: -1 }]
  ) {
    assert.throws(
      () => httpStreaming(streaming),
      (e: unknown) => e instanceof RangeError && /^streaming\.\w+ must be/.test(e.message),
      JSON.stringify(streaming),
    );
  }
  // The setting it replaced (true, or bare options) says how to write it now, and a value that
  // is no setting at all is named by its type only (it could be a token put in the wrong place).
  for (const streaming of [true, { pollInterval: 100 }, "s3cret-token", null]) {
    assert.throws(
      () => httpDriver({ url: "https://h.example", token: "t", streaming: streaming as never }),
      (e: unknown) =>
        e instanceof TypeError && /^streaming takes httpStreaming\(\)/.test(e.message) &&
        !e.message.includes("s3cret"),
      JSON.stringify(streaming),
    );
  }
  assert.throws(
    () => httpDriver({ url: "https://h.example", token: "t", streaming: null as never }),
    (e: unknown) => e instanceof TypeError && e.message.endsWith("got null"),
  );
  // In seconds, as Celery's settings and URLs write them, a huge timeout means none (as Infinity).
  const options = tcpOptionsFromCelery(
    parseRedisUrl("redis://localhost:6379/0?socket_timeout=1e7&socket_connect_timeout=1e9"),
  );
  assert.equal(options.socketTimeout, undefined);
  assert.equal(options.connectTimeout, undefined);
  assert.equal(
    tcpOptionsFromCelery(parseRedisUrl("redis://localhost:6379/0?socket_timeout=2147483"))
      .socketTimeout,
    2_147_483_000,
  );
});

test("a refused timeout says TypeScript takes milliseconds and the URL/Celery settings seconds", () => {
  const saysBoth = (what: string) => (e: unknown) =>
    rejects(what, (error) => {
      assert.ok(error instanceof RangeError, `${what}: ${error.name}`);
      assert.match(error.message, /TypeScript options take milliseconds/, what);
      assert.match(error.message, /the URL's query and the Celery settings.*take seconds/, what);
    })(e);
  assert.throws(() => tcpDriver({ socketTimeout: -5 }), saysBoth("tcpDriver socketTimeout"));
  assert.throws(() => tcpDriver({ connectTimeout: 0 }), saysBoth("tcpDriver connectTimeout"));
  assert.throws(
    () => createBackend("redis://localhost:6379/0?socket_timeout=-1"),
    saysBoth("URL socket_timeout"),
  );
  assert.throws(
    () => createBackend("redis://localhost:6379/0", { socketConnectTimeout: -3 }),
    saysBoth("redis_socket_connect_timeout"),
  );
  assert.throws(
    () => httpDriver({ url: "https://h.example", token: "t", requestTimeout: -1 }),
    saysBoth("httpDriver requestTimeout"),
  );
  assert.throws(
    () =>
      sentinelDriver({
        sentinels: [{ host: "127.0.0.1", port: 26379 }],
        masterName: "m",
        confirmTimeout: 0.5,
      }),
    saysBoth("sentinelDriver confirmTimeout"),
  );
});
