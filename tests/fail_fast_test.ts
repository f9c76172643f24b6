// Errors no retry can fix fail every pending wait at once, instead of after the whole retry
// policy (about 19 s with Celery's): refused credentials, ACL NOPERM, a database index out of
// range, maxConnections too small (against a real redis-server), TLS verification and missing
// runtime permissions (through a driver that fails as the TCP driver does). Retryable errors still
// follow the policy.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import {
  AsyncResult,
  createBackend,
  MaxConnectionsError,
  PollingConsumer,
  RedisAuthenticationError,
  RedisBackend,
  RedisConnectionError,
  type RedisDriver,
  RedisReplyError,
  retryingDriver,
  type Subscriber,
} from "../mod.ts";
import { type RedisServer, startRedisServer } from "./_redis_server.ts";

let server: RedisServer;
before(async () => {
  server = await startRedisServer({ args: ["--requirepass", "s3cret"] });
  await using admin = createBackend(`redis://:s3cret@127.0.0.1:${server.port}/0`);
  // A user that may run commands but subscribe to no channel.
  await admin.driver.send([
    "ACL",
    "SETUSER",
    "nochan",
    "on",
    ">pw",
    "~*",
    "resetchannels",
    "+@all",
  ]);
});
after(async () => {
  await server[Symbol.asyncDispose]();
});

/** A backend with Celery's default retry policy that counts the retries it makes. */
function countingBackend(url: string) {
  const retries: Error[] = [];
  const backend = createBackend(url, { onConnectionError: (error) => retries.push(error) });
  return { backend, retries };
}

/** Starts three waits and returns how each one settled. */
async function threeWaits(backend: RedisBackend): Promise<unknown[]> {
  const waits = ["a", "b", "c"].map((id) => new AsyncResult(id, backend).get());
  return await Promise.all(waits.map((w) => w.then(() => "resolved", (error: unknown) => error)));
}

const cases: [string, (port: number) => string, (error: unknown) => boolean][] = [
  [
    "refused credentials",
    (port) => `redis://:wrong@127.0.0.1:${port}/0`,
    (e) => e instanceof RedisAuthenticationError,
  ],
  [
    "ACL NOPERM on SUBSCRIBE",
    (port) => `redis://nochan:pw@127.0.0.1:${port}/0`,
    (e) => e instanceof RedisReplyError && e.code === "NOPERM",
  ],
  [
    "a database index out of range",
    (port) => `redis://:s3cret@127.0.0.1:${port}/99`,
    (e) => e instanceof RedisReplyError && e.command === "SELECT",
  ],
  [
    "maxConnections too small for the subscriber and commands",
    (port) => `redis://:s3cret@127.0.0.1:${port}/0?max_connections=1`,
    (e) => e instanceof MaxConnectionsError && /set it to 2 or more/.test(e.message),
  ],
];

for (const [what, url, expected] of cases) {
  test(`${what}: every pending wait fails at once, with no retry`, async () => {
    const { backend, retries } = countingBackend(url(server.port));
    try {
      const outcomes = await threeWaits(backend);
      for (const outcome of outcomes) assert.ok(expected(outcome), `got ${outcome}`);
      assert.deepEqual(retries, [], "no retry was attempted");
    } finally {
      await backend.close();
    }
  });
}

/** A driver whose subscriber connection fails with `error` every time. */
function failingDriver(error: () => Error): RedisDriver & { opened: number } {
  const driver = {
    name: "failing",
    opened: 0,
    send: () => Promise.resolve(null),
    transaction: () => Promise.resolve([]),
    openSubscriber(): Promise<Subscriber> {
      driver.opened++;
      return Promise.reject(error());
    },
    close: () => Promise.resolve(),
    [Symbol.asyncDispose]: () => Promise.resolve(),
  };
  return driver;
}

function namedError(name: string, message: string): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}

const unrecoverable: [string, () => Error][] = [
  [
    "a refused TLS certificate",
    () =>
      new RedisConnectionError("TLS connection to Redis failed", {
        cause: namedError("TlsError", "invalid peer certificate: UnknownIssuer"),
      }),
  ],
  [
    "Deno's NotCapable (no --allow-net)",
    () =>
      new RedisConnectionError("Cannot connect to Redis", {
        cause: namedError("NotCapable", 'Requires net access to "127.0.0.1:6379"'),
      }),
  ],
  [
    "Deno's PermissionDenied",
    () =>
      new RedisConnectionError("Cannot connect to Redis", {
        cause: namedError("PermissionDenied", "Permission denied (os error 13)"),
      }),
  ],
];

for (const [what, error] of unrecoverable) {
  test(`${what}: pending waits fail at once with the driver's error`, async () => {
    const driver = failingDriver(error);
    const retries: number[] = [];
    await using backend = new RedisBackend(driver, {
      consumer: { type: "pubsub", onConnectionError: (_e, retry) => retries.push(retry) },
    });
    const outcomes = await threeWaits(backend);
    for (const outcome of outcomes) {
      assert.ok(outcome instanceof RedisConnectionError && outcome.message === error().message);
    }
    assert.deepEqual(retries, []);
    assert.equal(driver.opened, 1, "one connection attempt, no retry");
  });
}

test("a connection error retrying can fix still follows the retry policy", async () => {
  const driver = failingDriver(() => new RedisConnectionError("Connection refused"));
  const retries: number[] = [];
  await using backend = new RedisBackend(driver, {
    consumer: {
      type: "pubsub",
      retryPolicy: { maxRetries: 3, intervalStart: 0, intervalStep: 0, intervalMax: 0 },
      onConnectionError: (_e, retry) => retries.push(retry),
    },
  });
  const outcomes = await threeWaits(backend);
  for (const outcome of outcomes) assert.match(String(outcome), /Retry limit exceeded/);
  assert.deepEqual(retries, [1, 2, 3]);
});

test("polling: an unrecoverable error fails the waits at the first tick", async () => {
  const driver = failingDriver(() => new Error("unused"));
  driver.send = () => Promise.reject(new RedisAuthenticationError("Redis refused the credentials"));
  await using backend = new RedisBackend(driver);
  await using consumer = new PollingConsumer(backend, { minInterval: 1, maxErrors: 1000 });
  await assert.rejects(consumer.wait("p"), RedisAuthenticationError);
  assert.equal(consumer.ticks, 1);
});

test("retryingDriver() does not resend a command that failed for a missing permission", async () => {
  let calls = 0;
  const driver = failingDriver(() => new Error("unused"));
  driver.send = () => {
    calls++;
    return Promise.reject(
      new RedisConnectionError("Cannot connect to Redis", {
        cause: namedError("NotCapable", "Requires net access"),
      }),
    );
  };
  await using retrying = retryingDriver(driver, { sleep: () => Promise.resolve() });
  await assert.rejects(retrying.send(["GET", "k"]), RedisConnectionError);
  assert.equal(calls, 1);
});
