// examples/edge_tasks_worker.ts in a real Workers runtime: bundled with esbuild and served by
// workerd, it starts Celery tasks over the local Upstash REST server (the HTTP driver) and streams
// their states. A real Celery 5.6.3 worker does the work; it consumes the queue `go`, and the
// test moves each message there from `celery` once the client has seen PENDING, so the order of
// events does not depend on how fast the worker is. Headless Chromium (playwright-core) POSTs from
// a page and must see every state until the result; bad input is answered 400 with nothing sent;
// a FAILURE carries no traceback; a client that leaves closes the Worker's Redis stream.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { createBackend, type RedisBackend } from "../mod.ts";
import { moveTaskMessages } from "./_broker_messages.ts";
import { celeryAvailable, type CeleryWorker, startCeleryWorker } from "./_celery.ts";
import { projectRoot, requirement } from "./_env.ts";
import { freePort, type RedisServer, startRedisServer } from "./_redis_server.ts";
import { startUpstashServer, type UpstashServer } from "./_upstash_server.ts";

const workerdBin = process.env.WORKERD ?? join(projectRoot, "node_modules/.bin/workerd");
const esbuildBin = process.env.ESBUILD ?? join(projectRoot, "node_modules/.bin/esbuild");
const chromiumBin = process.env.CHROMIUM ?? "/usr/bin/chromium";
const playwrightDir = join(projectRoot, "node_modules/playwright-core");
const runs = (bin: string) => {
  try {
    return spawnSync(bin, ["--version"], { stdio: "ignore", timeout: 30_000 }).status === 0;
  } catch {
    return false;
  }
};
const skip = requirement(
  runs(workerdBin) && runs(esbuildBin) && existsSync(chromiumBin) && existsSync(playwrightDir) &&
    celeryAvailable("5.6"),
  "workerd, esbuild and playwright-core (npm), Chromium and Celery 5.6 (.venv56)",
);

const TOKEN = "edge-tasks-token";
const TASKS = "celery_app.progress,celery_app.boom,celery_app.sleepy";
let redis: RedisServer;
let rest: UpstashServer;
let worker: CeleryWorker;
let direct: RedisBackend; // the test's own view of the broker database
let workerd: ChildProcess | undefined;
let chromium: ChildProcess | undefined;
// deno-lint-ignore no-explicit-any
let browser: any;
let dir = "";
let base = "";

before(async () => {
  if (skip) return;
  redis = await startRedisServer();
  const brokerUrl = `${redis.url.replace(/\/\d*$/, "")}/0`;
  rest = await startUpstashServer({ redisPort: redis.port, token: TOKEN, db: 0 });
  direct = createBackend(brokerUrl);
  // One database for broker and results, as an Upstash database is used.
  worker = await startCeleryWorker("5.6", redis.url, {
    hostname: "edge-tasks@live",
    queues: "go",
    env: { RESULT_BACKEND: brokerUrl },
  });
  dir = mkdtempSync(join(tmpdir(), "edge-tasks-"));
  const built = spawnSync(esbuildBin, [
    join(projectRoot, "examples/edge_tasks_worker.ts"),
    "--bundle",
    "--format=esm",
    "--platform=browser",
    "--conditions=workerd,worker,browser",
    "--target=es2022",
    `--outfile=${join(dir, "tasks.js")}`,
    "--log-level=warning",
  ], { encoding: "utf8", cwd: projectRoot });
  if (built.status !== 0) throw new Error(`esbuild failed: ${built.stderr}`);
  const port = await freePort();
  writeFileSync(
    join(dir, "config.capnp"),
    `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "tasks", worker = .tasksWorker),
    (name = "net", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "tasks")],
);
const tasksWorker :Workerd.Worker = (
  modules = [(name = "tasks.js", esModule = embed "tasks.js")],
  compatibilityDate = "2025-01-01",
  compatibilityFlags = ["enable_request_signal"],
  bindings = [
    (name = "UPSTASH_REDIS_REST_URL", text = "${rest.url}"),
    (name = "UPSTASH_REDIS_REST_TOKEN", text = "${TOKEN}"),
    (name = "CELERY_TASKS", text = "${TASKS}"),
  ],
  globalOutbound = "net",
);
`,
  );
  workerd = spawn(workerdBin, ["serve", join(dir, "config.capnp")], {
    stdio: ["ignore", "inherit", "inherit"],
  });
  base = `http://127.0.0.1:${port}`;
  await waitFor(async () => {
    try {
      await (await fetch(`${base}/health`)).body?.cancel();
      return true;
    } catch {
      return false;
    }
  }, "workerd to listen");
  const endpoint = await launchChromium();
  const playwright = await import(
    "Deno" in globalThis ? "npm:playwright-core@1.65.1" : "playwright-core"
  );
  browser = await playwright.chromium.connectOverCDP(endpoint);
});

after(async () => {
  if (skip) return;
  await browser?.close().catch(() => {});
  for (const child of [chromium, workerd]) {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGKILL");
      await exited;
    }
  }
  await worker?.stop("SIGKILL");
  await direct?.close();
  await rest?.close();
  await redis?.[Symbol.asyncDispose]();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function launchChromium(): Promise<string> {
  const profile = join(dir, "chromium");
  chromium = spawn(chromiumBin, [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    `--user-data-dir=${profile}`,
    "--remote-debugging-port=0",
    "about:blank",
  ], { stdio: ["ignore", "ignore", "pipe"] });
  return await new Promise((resolve, reject) => {
    let stderr = "";
    const timer = setTimeout(() => reject(new Error(`Chromium did not start: ${stderr}`)), 30_000);
    chromium!.stderr!.on("data", (chunk) => {
      stderr += chunk;
      const match = /DevTools listening on (ws:\/\/\S+)/.exec(stderr);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    chromium!.once("exit", (code) => reject(new Error(`Chromium exited ${code}: ${stderr}`)));
  });
}

async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string,
  ms = 20_000,
): Promise<void> {
  const start = Date.now();
  while (!(await condition())) {
    if (Date.now() - start > ms) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Releases the queued messages to the worker (it consumes `go`, the Worker sends to `celery`). */
function release(): Promise<number> {
  return moveTaskMessages(direct.driver, "celery", "go");
}

function post(body: unknown, init: RequestInit = {}): Promise<Response> {
  return fetch(`${base}/tasks`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
    ...init,
  });
}

function stateEvents(text: string): Record<string, unknown>[] {
  return [...text.matchAll(/^event: state\ndata: (.*)$/gm)].map((m) => JSON.parse(m[1]!));
}

// The page reads the POST's event stream itself (EventSource only does GET).
const PAGE_SCRIPT = `(async () => {
  window.log = [];
  const response = await fetch("/tasks", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name: "celery_app.progress", kwargs: { steps: 3, delay: 0.1 } }),
  });
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
    let end;
    while ((end = text.indexOf("\\n\\n")) >= 0) {
      const block = text.slice(0, end);
      text = text.slice(end + 2);
      const data = /^event: state\\ndata: (.*)$/m.exec(block);
      if (!data) continue;
      const meta = JSON.parse(data[1]);
      window.log.push(meta.status === "PROGRESS"
        ? "PROGRESS " + meta.result.done + "/" + meta.result.total
        : meta.status + (meta.status === "SUCCESS" ? " " + JSON.stringify(meta.result) : ""));
    }
  }
  document.body.dataset.done = "yes";
})().catch((error) => { document.body.dataset.done = "error: " + error; });`;

test("edge tasks example: a Chromium page POSTs a task and sees every state until the result", {
  skip,
}, async () => {
  const context = browser.contexts()[0] ?? await browser.newContext();
  const page = await context.newPage();
  try {
    await page.goto(`${base}/`); // the Worker's origin (its 404 answer), so the POST is same-origin
    await page.evaluate(`${PAGE_SCRIPT}; undefined`);
    await page.waitForFunction("window.log && window.log.length >= 1", null, { timeout: 20_000 });
    assert.equal(await release(), 1);
    await page.waitForFunction("document.body.dataset.done !== undefined", null, {
      timeout: 30_000,
    });
    assert.equal(await page.evaluate("document.body.dataset.done"), "yes");
    assert.deepEqual(await page.evaluate("window.log"), [
      "PENDING",
      "STARTED",
      "PROGRESS 1/3",
      "PROGRESS 2/3",
      "PROGRESS 3/3",
      'SUCCESS "finished"',
    ]);
  } finally {
    await page.close();
  }
});

test("edge tasks example: a FAILURE streams the exception without the traceback", {
  skip,
}, async () => {
  const response = await post({ name: "celery_app.boom", args: ["bad input"] });
  assert.equal(response.status, 200);
  assert.match(response.headers.get("content-type") ?? "", /^text\/event-stream/);
  const id = response.headers.get("x-task-id");
  assert.ok(id);
  assert.equal(await release(), 1);
  const text = await response.text(); // ends after the ready state
  const states = stateEvents(text);
  assert.deepEqual(states.at(-1), {
    task_id: id,
    status: "FAILURE",
    result: { exc_type: "ValueError", exc_message: "bad input" },
    date_done: states.at(-1)!.date_done,
  });
  assert.doesNotMatch(text, /Traceback|celery_app\.py|\/tests\/python/);
  // The Python side stored the full failure: only the public answer leaves the traceback out.
  const stored = await direct.getTaskMeta(id);
  assert.match(String(stored.traceback), /ValueError: bad input/);
});

test("edge tasks example: bad input answers 400 (or 404/405/413/415) and sends nothing", {
  skip,
}, async () => {
  rest.resetCounts();
  const bad: [unknown, string][] = [
    ["{not json", "the body must be JSON"],
    [[1, 2], "expected {name, args, kwargs}"],
    [null, "expected {name, args, kwargs}"],
    [{ args: [1] }, "name must be a task this Worker starts"],
    [{ name: 42 }, "name must be a task this Worker starts"],
    [{ name: "celery_app.add" }, "name must be a task this Worker starts"], // not allowed here
    [{ name: "" }, "name must be a task this Worker starts"],
    [{ name: "celery_app.sleepy", args: { seconds: 1 } }, "args must be an array"],
    [{ name: "celery_app.sleepy", kwargs: [1] }, "kwargs must be an object"],
    [{ name: "celery_app.sleepy", kwargs: null }, "kwargs must be an object"],
  ];
  for (const [body, error] of bad) {
    const response = await post(typeof body === "string" ? body : JSON.stringify(body));
    assert.equal(response.status, 400, JSON.stringify(body));
    assert.deepEqual(await response.json(), { error }, JSON.stringify(body));
  }
  const other: [Promise<Response>, number][] = [
    [fetch(`${base}/tasks`), 405],
    [fetch(`${base}/elsewhere`, { method: "POST" }), 404],
    [post({ name: "celery_app.sleepy" }, { headers: { "content-type": "text/plain" } }), 415],
    [post({ name: "celery_app.sleepy", args: ["x".repeat(20_000)] }), 413],
  ];
  for (const [answer, status] of other) {
    const response = await answer;
    assert.equal(response.status, status);
    await response.body?.cancel();
  }
  assert.deepEqual(rest.commands.filter((c) => c === "LPUSH" || c === "SADD"), []);
  assert.equal(await direct.driver.send(["LLEN", "celery"]), 0);
});

test("edge tasks example: a client that leaves ends the stream; workerd stops reading Redis", {
  skip,
}, async () => {
  const controller = new AbortController();
  const response = await post(
    { name: "celery_app.sleepy", kwargs: { seconds: 30 } },
    { signal: controller.signal },
  );
  await readUntilState(response);
  await waitFor(() => rest.openStreams >= 1, "the Worker's subscription stream");
  controller.abort();
  // workerd notices the closed connection (at the latest at the next keep-alive write) and the
  // request's subscription stream to Redis ends.
  await waitFor(() => rest.openStreams === 0, "the Worker to end its subscription", 15_000);
  assert.equal(await direct.driver.send(["DEL", "celery"]), 1); // never released to the worker
});

test("edge tasks example: the request's signal ends the stream and onClose closes the backend", {
  skip,
}, async () => {
  // The example's fetch handler in this process: unlike workerd, nothing here tears down a
  // request's I/O, so the subscription stream ends only if the example closes its backend.
  const { default: example } = await import("../examples/edge_tasks_worker.ts");
  const env = {
    UPSTASH_REDIS_REST_URL: rest.url,
    UPSTASH_REDIS_REST_TOKEN: TOKEN,
    CELERY_TASKS: TASKS,
  };
  const controller = new AbortController();
  const request = new Request(`${base}/tasks`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name: "celery_app.sleepy", kwargs: { seconds: 30 } }),
    signal: controller.signal,
  });
  const response = await example.fetch(request, env);
  assert.equal(response.status, 200);
  const reader = await readUntilState(response);
  await waitFor(() => rest.openStreams >= 1, "the example's subscription stream");
  controller.abort();
  assert.equal((await reader.read()).done, true); // the SSE stream ended with the signal
  await waitFor(() => rest.openStreams === 0, "the example to close its backend", 10_000);
  assert.equal(await direct.driver.send(["DEL", "celery"]), 1);
});

async function readUntilState(
  response: Response,
): Promise<ReadableStreamDefaultReader<Uint8Array>> {
  const reader = response.body!.getReader();
  let text = "";
  while (!text.includes("event: state")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the stream ended early: ${text}`);
    text += new TextDecoder().decode(value);
  }
  return reader;
}

test("examples/edge_tasks_worker.ts bundles for workerd with no node: import", { skip }, () => {
  const bundle = readFileSync(join(dir, "tasks.js"), "utf8");
  assert.doesNotMatch(bundle, /from\s*["']node:|require\(["']node:/);
});
