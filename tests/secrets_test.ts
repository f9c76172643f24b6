// Secrets (issue #15 §4): no password, token or ACL user secret appears in any way of printing a
// backend, driver, consumer, subscriber or error, for every URL form: constructed and working,
// failing to connect, failing to authenticate (real redis-server with requirepass and an ACL
// user, a real redis-sentinel, the local Upstash REST server), and failing to parse.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { inspect } from "node:util";
import {
  AsyncResult,
  consumerFor,
  createBackend,
  type CreateBackendOptions,
  httpDriver,
  httpDriverFromUrl,
  httpStreaming,
} from "../mod.ts";
import { freePort, type RedisServer, startRedisServer } from "./_redis_server.ts";
import { startUpstashServer, type UpstashServer } from "./_upstash_server.ts";
import { redisServerBin, requirement } from "./_env.ts";
import { sentinelBin, startSentinel } from "./_redis_sentinel.ts";

// Every secret holds / ; # ? @ : % and distinctive 4-character runs: a leak of any piece shows.
const SECRETS = {
  master: "Ma1q/Mb2r;Mc3s#Md4t?Me5u@Mf6v:Mg7w%Mh8x",
  aclUser: "Ua1q/Ub2r;Uc3s#Ud4t?Ue5u@Uf6v:Ug7w%Uh8x",
  wrong: "Wa1q/Wb2r;Wc3s#Wd4t?We5u@Wf6v:Wg7w%Wh8x",
  sentinel: "Sa1q/Sb2r;Sc3s#Sd4t?Se5u@Sf6v:Sg7w%Sh8x",
  token: "Ta1q/Tb2r;Tc3s#Td4t?Te5u@Tf6v:Tg7w%Th8x",
  wrongToken: "Ka1q/Kb2r;Kc3s#Kd4t?Ke5u@Kf6v:Kg7w%Kh8x",
};
const FRAGMENTS = Object.values(SECRETS).flatMap((secret) => [
  secret,
  encodeURIComponent(secret),
  ...secret.split(/[^A-Za-z0-9]+/).filter((piece) => piece.length >= 4),
]);
const enc = encodeURIComponent;

const haveRedis = spawnSync(redisServerBin, ["--version"]).status === 0;
const haveSentinel = spawnSync(sentinelBin, ["--version"]).status === 0;
const skip = requirement(haveRedis && haveSentinel, "redis-server and redis-sentinel");

// ---------------------------------------------------------------------------------------------
// Ways of printing (the runtime's own inspect is feature-detected here, in the test only)

type Printer = [name: string, print: (value: unknown) => string];
const runtime = globalThis as {
  Deno?: { inspect(value: unknown, options?: object): string };
  Bun?: { inspect(value: unknown, options?: object): string };
};
const PRINTERS: Printer[] = [
  ["String", (value) => String(value)],
  ["JSON.stringify", (value) => {
    try {
      return JSON.stringify(value) ?? "";
    } catch (error) {
      return `JSON.stringify threw: ${String(error)}`;
    }
  }],
  ["node:util.inspect", (value) => inspect(value, { depth: Infinity, showHidden: true })],
];
if (runtime.Deno) {
  const deno = runtime.Deno;
  PRINTERS.push([
    "Deno.inspect",
    (value) => deno.inspect(value, { depth: Infinity, showHidden: true }),
  ]);
}
if (runtime.Bun) {
  const bun = runtime.Bun;
  PRINTERS.push(["Bun.inspect", (value) => bun.inspect(value, { depth: Infinity })]);
}

/** An error and everything it carries: `cause` and `AggregateError.errors`, to any depth. */
function errorChain(error: unknown, seen = new Set<unknown>()): unknown[] {
  if (seen.has(error) || error === null || error === undefined) return [];
  seen.add(error);
  const out: unknown[] = [error];
  if (typeof error === "object") {
    const { cause, errors } = error as { cause?: unknown; errors?: unknown };
    out.push(...errorChain(cause, seen));
    if (Array.isArray(errors)) { for (const inner of errors) out.push(...errorChain(inner, seen)); }
  }
  return out;
}

interface Checked {
  /** How many printouts were checked. */
  count: number;
  leaks: string[];
}

function check(found: Checked, label: string, value: unknown): void {
  const printouts: [string, string][] = PRINTERS.map(([name, print]) => [name, print(value)]);
  for (const item of errorChain(value)) {
    if (!(item instanceof Error)) continue;
    printouts.push(["message", item.message], ["stack", item.stack ?? ""]);
    for (const [name, print] of PRINTERS) printouts.push([`cause chain ${name}`, print(item)]);
  }
  for (const [name, text] of printouts) {
    found.count++;
    const leaked = FRAGMENTS.find((fragment) => text.includes(fragment));
    if (leaked !== undefined) found.leaks.push(`${label} / ${name}: shows "${leaked}" in ${text}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Servers

let dir = "";
let master: RedisServer | undefined;
let plain: RedisServer | undefined;
let rest: UpstashServer | undefined;
let sentinel: ChildProcess | undefined;
let sentinelPort = 0;
let closedPort = 0;
const socketPath = () => join(dir, "redis.sock");

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), "secrets-test-"));
  master = await startRedisServer({
    args: [
      "--requirepass",
      SECRETS.master,
      "--user",
      "app",
      "on",
      `>${SECRETS.aclUser}`,
      "~*",
      "&*",
      "+@all",
      "--unixsocket",
      socketPath(),
      "--unixsocketperm",
      "700",
    ],
  });
  plain = await startRedisServer();
  rest = await startUpstashServer({ redisPort: plain.port, token: SECRETS.token });
  const started = await startSentinel(dir, [
    `requirepass ${SECRETS.sentinel}`,
    `sentinel monitor mymaster 127.0.0.1 ${master.port} 1`,
    `sentinel auth-pass mymaster ${SECRETS.master}`,
  ]);
  sentinel = started.child;
  sentinelPort = started.port;
  do closedPort = await freePort(); while (closedPort === sentinelPort);
});

after(async () => {
  if (sentinel?.pid !== undefined && sentinel.exitCode === null) {
    process.kill(sentinel.pid, "SIGKILL");
  }
  await rest?.[Symbol.asyncDispose]();
  await plain?.[Symbol.asyncDispose]();
  await master?.[Symbol.asyncDispose]();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// The URL forms: a working URL, one the server refuses, one nobody answers, ones that do not parse

interface UrlForm {
  name: string;
  /** Works (commands, waiting, a subscriber). */
  ok: () => [string, CreateBackendOptions];
  /** The server refuses the credentials (absent where no server of that kind runs). */
  refused?: () => [string, CreateBackendOptions][];
  /** Nothing listens there (or TLS meets a plain server). */
  unreachable: () => [string, CreateBackendOptions][];
  /** Malformed: a raw secret in the URL, an impossible port, a bad host. */
  unparsable: () => [string, CreateBackendOptions][];
}

const fast: CreateBackendOptions = { retryPolicy: false, socketConnectTimeout: 5 };
const sentinelOptions = (password: string): CreateBackendOptions => ({
  ...fast,
  masterName: "mymaster",
  sentinelKwargs: { password },
});
const restOptions = (token?: string): CreateBackendOptions => ({
  ...(token === undefined ? {} : { token }),
  http: { readRetries: 0, streaming: httpStreaming(), env: {} },
});

const FORMS: UrlForm[] = [
  {
    name: "redis:// (requirepass)",
    ok: () => [`redis://:${enc(SECRETS.master)}@127.0.0.1:${master!.port}/1`, fast],
    refused: () => [[`redis://:${enc(SECRETS.wrong)}@127.0.0.1:${master!.port}/1`, fast]],
    unreachable: () => [[`redis://:${enc(SECRETS.master)}@127.0.0.1:${closedPort}/1`, fast]],
    unparsable: () => [
      [`redis://:${SECRETS.master}@127.0.0.1:${master!.port}/1`, fast],
      [`redis://:${enc(SECRETS.master)}@127.0.0.1:99999/1`, fast],
      [`redis://:${enc(SECRETS.master)}@[::1/1`, fast],
    ],
  },
  {
    name: "redis:// (ACL user)",
    ok: () => [`redis://app:${enc(SECRETS.aclUser)}@127.0.0.1:${master!.port}/1`, fast],
    refused: () => [
      [`redis://app:${enc(SECRETS.wrong)}@127.0.0.1:${master!.port}/1`, fast],
      [`redis://nobody:${enc(SECRETS.aclUser)}@127.0.0.1:${master!.port}/1`, fast],
    ],
    unreachable: () => [[`redis://app:${enc(SECRETS.aclUser)}@127.0.0.1:${closedPort}/1`, fast]],
    unparsable: () => [
      [`redis://app:${SECRETS.aclUser}@127.0.0.1:${master!.port}/1`, fast],
      [`redis://app:${enc(SECRETS.aclUser)}@127.0.0.1:${master!.port}/db1`, fast],
    ],
  },
  {
    name: "rediss://",
    // TLS meets a plain server: the handshake fails.
    ok: () => [
      `rediss://:${enc(SECRETS.master)}@127.0.0.1:${master!.port}/1?ssl_cert_reqs=none`,
      fast,
    ],
    unreachable: () => [
      [`rediss://:${enc(SECRETS.master)}@127.0.0.1:${closedPort}/1?ssl_cert_reqs=none`, fast],
      // TLS to a plain server: the handshake never completes, the connect timeout ends it.
      [
        `rediss://:${enc(SECRETS.master)}@127.0.0.1:${master!.port}/1?ssl_cert_reqs=none`,
        { ...fast, connection: { connectTimeout: 200 } },
      ],
    ],
    unparsable: () => [
      [`rediss://:${enc(SECRETS.master)}@127.0.0.1:${master!.port}/1`, fast],
      [`rediss://:${SECRETS.master}@127.0.0.1:${master!.port}/1?ssl_cert_reqs=none`, fast],
    ],
  },
  {
    name: "redis+socket://",
    ok: () => [`redis+socket://:${enc(SECRETS.master)}@${socketPath()}?virtual_host=1`, fast],
    refused: () => [[`redis+socket://:${enc(SECRETS.wrong)}@${socketPath()}?virtual_host=1`, fast]],
    unreachable: () => [[`redis+socket://:${enc(SECRETS.master)}@${dir}/none.sock`, fast]],
    unparsable: () => [
      [`redis+socket://:${SECRETS.master}@${socketPath()}?virtual_host=1`, fast],
      [`redis+socket://:${enc(SECRETS.master)}@${socketPath()}?virtual_host=x`, fast],
    ],
  },
  {
    name: "sentinel:// (several chunks)",
    ok: () => [
      `sentinel://:${enc(SECRETS.master)}@127.0.0.1:${closedPort}/1;` +
      `sentinel://:${enc(SECRETS.master)}@127.0.0.1:${sentinelPort}/1`,
      sentinelOptions(SECRETS.sentinel),
    ],
    refused: () => [
      // The master refuses the URL's password; the sentinel refuses sentinelKwargs'.
      [
        `sentinel://:${
          enc(SECRETS.wrong)
        }@127.0.0.1:${sentinelPort}/1;sentinel://127.0.0.1:${closedPort}/1`,
        sentinelOptions(SECRETS.sentinel),
      ],
      [
        `sentinel://:${enc(SECRETS.master)}@127.0.0.1:${sentinelPort}/1`,
        sentinelOptions(SECRETS.wrong),
      ],
    ],
    unreachable: () => [[
      `sentinel://:${enc(SECRETS.master)}@127.0.0.1:${closedPort}/1;sentinel://:${
        enc(SECRETS.master)
      }@127.0.0.1:${closedPort}/1`,
      sentinelOptions(SECRETS.sentinel),
    ]],
    unparsable: () => [
      [
        `sentinel://:${SECRETS.master}@127.0.0.1:${sentinelPort}/1;sentinel://127.0.0.1:1/1`,
        sentinelOptions(SECRETS.sentinel),
      ],
      [
        `sentinel://:${enc(SECRETS.master)}@127.0.0.1:${sentinelPort}/x;sentinel://h:1/1`,
        sentinelOptions(SECRETS.sentinel),
      ],
      [`sentinel://:${enc(SECRETS.master)}@127.0.0.1:${sentinelPort}/1`, fast], // no masterName
    ],
  },
  {
    name: "https:// (token in the URL)",
    ok: () => [`http://:${enc(SECRETS.token)}@127.0.0.1:${rest!.port}`, restOptions()],
    refused: () => [[`http://:${enc(SECRETS.wrongToken)}@127.0.0.1:${rest!.port}`, restOptions()]],
    unreachable: () => [[`https://:${enc(SECRETS.token)}@127.0.0.1:${closedPort}`, restOptions()]],
    unparsable: () => [
      [`https://:${SECRETS.token}@127.0.0.1:${rest!.port}`, restOptions()],
      [`https://:${enc(SECRETS.token)}@[::1:${rest!.port}`, restOptions()],
    ],
  },
  {
    name: "https:// (token option)",
    ok: () => [`http://127.0.0.1:${rest!.port}`, restOptions(SECRETS.token)],
    refused: () => [[`http://127.0.0.1:${rest!.port}`, restOptions(SECRETS.wrongToken)]],
    unreachable: () => [[`https://127.0.0.1:${closedPort}`, restOptions(SECRETS.token)]],
    unparsable: () => [[`https://[::1:${rest!.port}`, restOptions(SECRETS.token)]],
  },
];

const NO_FAILURE = "expected a failure";

async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  return new Error(NO_FAILURE);
}

const handlers = { onMessage() {}, onClose() {} };

test(
  `no secret is printed: ${FORMS.length} URL forms x constructed, unreachable, refused and unparsable x every way of printing`,
  {
    skip,
  },
  async () => {
    const found: Checked = { count: 0, leaks: [] };
    for (const form of FORMS) {
      // Constructed and working (rediss:// cannot work against a plain server: printed only).
      {
        const [url, options] = form.ok();
        const backend = createBackend(url, options);
        const label = `${form.name} constructed`;
        check(found, label, backend);
        check(found, `${label} driver`, backend.driver);
        check(found, `${label} consumer`, consumerFor(backend));
        if (!form.name.startsWith("rediss")) {
          await backend.markAsDone("t-secret", 1);
          assert.equal(await new AsyncResult("t-secret", backend).get({ timeout: 60_000 }), 1);
          const subscriber = await backend.driver.openSubscriber!(handlers);
          await subscriber.subscribe(["celery-task-meta-t-secret"]);
          check(found, `${label} subscriber`, subscriber);
          check(found, `${label} after use`, backend);
          check(found, `${label} consumer after use`, consumerFor(backend));
          await subscriber.close();
        }
        if ("asUri" in backend) {
          check(
            found,
            `${label} asUri()`,
            (backend as { asUri(): string }).asUri(),
          );
        }
        await backend.close();
      }
      // Connections that fail: nobody answers, or the credentials are refused.
      const failing = [
        ...form.unreachable().map((args) => ["unreachable", args] as const),
        ...(form.refused?.() ?? []).map((args) => ["refused", args] as const),
      ];
      for (const [how, [url, options]] of failing) {
        const backend = createBackend(url, options);
        const label = `${form.name} ${how}`;
        const errors = [
          await failure(backend.getTaskMeta("t1")),
          await failure(backend.markAsDone("t1", 1)),
        ];
        try {
          // The HTTP subscriber heals itself (it polls while it cannot stream): it opens anyway.
          const subscriber = await backend.driver.openSubscriber!(handlers);
          check(found, `${label} subscriber`, subscriber);
          await subscriber.close();
        } catch (error) {
          errors.push(error);
        }
        for (const error of errors) {
          assert.ok(error instanceof Error && error.message !== NO_FAILURE, `${label}: ${error}`);
          check(found, `${label} error`, error);
        }
        check(found, `${label} backend after the failure`, backend);
        await backend.close();
      }
      // URLs that do not parse (or miss a setting).
      for (const [url, options] of form.unparsable()) {
        let thrown: unknown;
        try {
          await createBackend(url, options).close();
        } catch (error) {
          thrown = error;
        }
        assert.ok(
          thrown instanceof TypeError || thrown instanceof RangeError,
          `${form.name}: ${url} parsed`,
        );
        check(found, `${form.name} unparsable`, thrown);
      }
    }
    // The HTTP driver's own constructors, with the token in the URL or in the options.
    for (
      const driver of [
        httpDriver({
          url: `https://:${enc(SECRETS.token)}@eu1-x.upstash.io`,
          streaming: httpStreaming(),
        }),
        httpDriver({ url: `https://eu1-x.upstash.io?_token=${enc(SECRETS.token)}` }),
        httpDriver({ url: "https://eu1-x.upstash.io", token: SECRETS.token }),
        httpDriverFromUrl(`https://default:${enc(SECRETS.token)}@eu1-x.upstash.io/`),
      ]
    ) {
      assert.equal(driver.url, "https://eu1-x.upstash.io");
      check(found, "httpDriver()", driver);
      await driver.close();
    }
    assert.deepEqual(found.leaks, []);
    assert.ok(found.count > 500, `only ${found.count} printouts checked`);
  },
);

test("an error reply that echoes AUTH's arguments is scrubbed", { skip }, async () => {
  // A server without AUTH answers "unknown command 'AUTH', with args beginning with: '<pw>'".
  await using server = await startRedisServer({ args: ["--rename-command", "AUTH", ""] });
  for (
    const url of [
      `redis://:${enc(SECRETS.master)}@127.0.0.1:${server.port}/0`,
      `redis://app:${enc(SECRETS.aclUser)}@127.0.0.1:${server.port}/0`,
    ]
  ) {
    await using backend = createBackend(url, fast);
    const error = await failure(backend.getTaskMeta("t1"));
    assert.ok(error instanceof Error);
    assert.match(error.message, /unknown command 'AUTH'/);
    const found: Checked = { count: 0, leaks: [] };
    check(found, url, error);
    assert.deepEqual(found.leaks, []);
  }
});
