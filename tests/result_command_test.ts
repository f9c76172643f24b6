import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import process from "node:process";
import { createBackend, memoryDriver, RedisBackend } from "../mod.ts";
import { EXIT, runResultCommand } from "../src/cli/result_command.ts";
import { projectRoot, scriptCommand } from "./_env.ts";
import { watching } from "./_pubsub.ts";
import { type RedisServer, startRedisServer } from "./_redis_server.ts";
import { startUpstashServer } from "./_upstash_server.ts";

function capture(backend?: RedisBackend, env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l), env, backend },
  };
}

test("result command prints state and result, with exit codes per state", async () => {
  await using backend = new RedisBackend(memoryDriver());
  await backend.markAsDone("ok", { n: 2n ** 70n });
  await backend.markAsFailure("bad", new TypeError("nope"), {
    traceback: "Traceback (most recent call last):\n  boom",
  });
  await backend.storeResult("mid", { done: 1 }, "PROGRESS");
  let c = capture(backend);
  assert.equal(await runResultCommand(["ok"], c.io), EXIT.success);
  assert.deepEqual(c.out, ['SUCCESS {"n":"1180591620717411303424"}']);
  c = capture(backend);
  assert.equal(await runResultCommand(["bad"], c.io), EXIT.failure);
  assert.deepEqual(c.out, ['FAILURE TypeError("nope")']);
  c = capture(backend);
  assert.equal(await runResultCommand(["bad", "--traceback"], c.io), EXIT.failure);
  assert.deepEqual(c.out, ["Traceback (most recent call last):\n  boom"]);
  c = capture(backend);
  assert.equal(await runResultCommand(["mid", "--json"], c.io), EXIT.notReady);
  assert.equal(JSON.parse(c.out[0]!).status, "PROGRESS");
  c = capture(backend);
  assert.equal(
    await runResultCommand(["never", "--wait", "--timeout", "0.05"], c.io),
    EXIT.timeout,
  );
  assert.match(c.err[0]!, /timed out/);
  c = capture(backend);
  assert.equal(await runResultCommand(["forget", "ok"], c.io), EXIT.success);
  assert.equal((await backend.getTaskMeta("ok")).status, "PENDING");
});

test("result command --follow prints every state until ready", async () => {
  await using backend = new RedisBackend(memoryDriver());
  const c = capture(backend);
  const running = runResultCommand(["f", "--follow", "--timeout", "5"], c.io);
  await watching(backend, ["f"]); // the command follows the task: every state will reach it
  await backend.markAsStarted("f", { pid: 1, hostname: "w" });
  await backend.storeResult("f", { done: 1 }, "PROGRESS");
  await backend.markAsDone("f", 3);
  assert.equal(await running, EXIT.success);
  assert.deepEqual(c.out, ['STARTED {"pid":1,"hostname":"w"}', 'PROGRESS {"done":1}', "SUCCESS 3"]);
});

test("result command rejects bad usage and bad URLs with exit code 2, hiding passwords", async () => {
  let c = capture();
  assert.equal(await runResultCommand([], c.io), EXIT.usage);
  c = capture();
  assert.equal(await runResultCommand(["a", "b"], c.io), EXIT.usage);
  c = capture();
  assert.equal(await runResultCommand(["a", "--bogus"], c.io), EXIT.usage);
  c = capture();
  assert.equal(await runResultCommand(["a", "--url", "ftp://:hunter2@h/0"], c.io), EXIT.usage);
  assert.ok(!c.err.join("\n").includes("hunter2"));
});

let server: RedisServer;
before(async () => {
  server = await startRedisServer();
});
after(async () => {
  await server[Symbol.asyncDispose]();
});

function runCli(args: string[], env: Record<string, string> = {}) {
  const [command, argv] = scriptCommand("result.ts", args);
  return spawnSync(command, argv, {
    cwd: projectRoot,
    env: { ...process.env, ...env },
    encoding: "utf8",
    timeout: 30_000,
  });
}

test("result.ts runs as a program against Redis, URL from CELERY_RESULT_BACKEND", async () => {
  const url = `redis://127.0.0.1:${server.port}/2`;
  await using backend = createBackend(url);
  await backend.markAsDone("cli-ok", [1, 2]);
  const shown = runCli(["cli-ok"], { CELERY_RESULT_BACKEND: url });
  assert.equal(shown.status, EXIT.success, shown.stderr);
  assert.equal(shown.stdout.trim(), "SUCCESS [1,2]");
  const waiting = runCli(["cli-missing", "--wait", "--timeout", "0.2", "--url", url]);
  assert.equal(waiting.status, EXIT.timeout, waiting.stderr);
  const refused = runCli(["x", "--url", "redis://:s3cr3t@127.0.0.1:1/0"]);
  assert.equal(refused.status, EXIT.backendError);
  assert.match(refused.stderr, /RedisConnectionError/);
  assert.ok(!refused.stderr.includes("s3cr3t"));
});

test("result command escapes terminal control characters found in stored fields", async () => {
  await using backend = new RedisBackend(memoryDriver());
  await backend.storeResult("esc", "red\x1b[31m csi\u009b2J bidi\u202e", "PROGRESS");
  await backend.storeResult("state", 1, "OWNED\x1b]0;title\x07\r");
  await backend.markAsFailure("tb", new Error("x"), {
    traceback: "Traceback (most recent call last):\n  \x1b[2Jboom\r\n",
  });
  const outputs: string[] = [];
  for (const args of [["esc"], ["esc", "--json"], ["state"], ["tb", "--traceback"]]) {
    const c = capture(backend);
    await runResultCommand(args, c.io);
    outputs.push(...c.out, ...c.err);
  }
  for (const line of outputs) {
    // deno-lint-ignore no-control-regex
    assert.doesNotMatch(line, /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e]/, JSON.stringify(line));
  }
  assert.deepEqual(outputs.slice(0, 1), ['PROGRESS "red\\u001b[31m csi\\x9b2J bidi\\u202e"']);
  assert.equal(outputs[2], "OWNED\\x1b]0;title\\x07\\x0d 1");
  assert.equal(outputs[3], "Traceback (most recent call last):\n  \\x1b[2Jboom\\x0d\n");
});

test("result command without --url or CELERY_RESULT_BACKEND is a usage error", async () => {
  for (const env of [{}, { CELERY_RESULT_BACKEND: "" }]) {
    const c = capture(undefined, env);
    assert.equal(await runResultCommand(["some-id"], c.io), EXIT.usage);
    assert.match(
      c.err[0]!,
      /No result backend given: pass --url URL .* or set CELERY_RESULT_BACKEND/,
    );
    assert.deepEqual(c.out, []);
  }
});

test("result --help says that timeouts are in seconds and names --token", async () => {
  const c = capture();
  assert.equal(await runResultCommand(["--help"], c.io), EXIT.success);
  assert.match(c.out[0]!, /--timeout SECONDS +give up waiting after this many seconds/);
  assert.match(c.out[0]!, /--token TOKEN/);
});

test("result command reads over REST with --token or UPSTASH_REDIS_REST_TOKEN", async () => {
  await using rest = await startUpstashServer({
    redisPort: server.port,
    token: "rest-t0ken",
    db: 5,
  });
  await using writer = createBackend(`redis://127.0.0.1:${server.port}/5`);
  await writer.markAsDone("rest-ok", "over http");
  const host = new URL(rest.url).host;

  let c = capture(undefined, {});
  assert.equal(await runResultCommand(["rest-ok", "--url", rest.url], c.io), EXIT.usage);
  assert.ok(c.err[0]!.includes(`https://:TOKEN@${host}`), c.err[0]);
  assert.match(c.err[0]!, /--token TOKEN, set UPSTASH_REDIS_REST_TOKEN/);

  c = capture(undefined, {});
  const withFlag = ["rest-ok", "--url", rest.url, "--token", "rest-t0ken"];
  assert.equal(await runResultCommand(withFlag, c.io), EXIT.success, c.err.join("\n"));
  assert.deepEqual(c.out, ['SUCCESS "over http"']);

  c = capture(undefined, {
    CELERY_RESULT_BACKEND: rest.url,
    UPSTASH_REDIS_REST_TOKEN: "rest-t0ken",
  });
  assert.equal(await runResultCommand(["rest-ok"], c.io), EXIT.success, c.err.join("\n"));
  assert.deepEqual(c.out, ['SUCCESS "over http"']);

  c = capture(undefined, {});
  assert.equal(
    await runResultCommand(["rest-ok", "--url", rest.url, "--token", "wrong"], c.io),
    EXIT.backendError,
  );
  assert.ok(!c.err.join("\n").includes("rest-t0ken"));
});
