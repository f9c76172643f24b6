// The edge entry point inside a real Workers runtime: tests/_edge_worker.ts is bundled with
// esbuild (browser conditions, nothing external) and served by Cloudflare's workerd from npm,
// without nodejs_compat. Through the local Upstash REST server it reads a result that real Python
// Celery stored, and waits (polling, and over streaming SUBSCRIBE) for one Celery stores later.
// examples/edge_worker.ts (the README's edge example) runs next to it, on its own socket, and is
// checked on what broke the first example: big integers, FAILURE tracebacks, bad ids, and polling
// after the browser left.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { celeryPythons, exists, projectRoot, requirement } from "./_env.ts";
import { freePort, type RedisServer, startRedisServer } from "./_redis_server.ts";
import { startUpstashServer, type UpstashServer } from "./_upstash_server.ts";

const workerdBin = process.env.WORKERD ?? join(projectRoot, "node_modules/.bin/workerd");
const esbuildBin = process.env.ESBUILD ?? join(projectRoot, "node_modules/.bin/esbuild");
const python = celeryPythons["5.6"];
const runs = (bin: string) => {
  try {
    return spawnSync(bin, ["--version"], { stdio: "ignore", timeout: 30_000 }).status === 0;
  } catch {
    return false;
  }
};
const ready = runs(workerdBin) && runs(esbuildBin) && exists(python);
const skip = requirement(ready, `workerd and esbuild (npm) and Celery's Python (${python})`);

const TOKEN = "edge-token";
let redis: RedisServer;
let rest: UpstashServer;
let workerd: ChildProcess | undefined;
let dir = "";
let base = "";
let example = "";

/** Bundles a worker for workerd as Wrangler would: browser conditions, nothing external. */
function bundle(entry: string, out: string): void {
  const built = spawnSync(esbuildBin, [
    join(projectRoot, entry),
    "--bundle",
    "--format=esm",
    "--platform=browser",
    "--conditions=workerd,worker,browser",
    "--target=es2022",
    `--outfile=${join(dir, out)}`,
    "--log-level=warning",
  ], { encoding: "utf8", cwd: projectRoot });
  if (built.status !== 0) throw new Error(`esbuild failed for ${entry}: ${built.stderr}`);
}

async function waitForHttp(url: string, ms: number): Promise<void> {
  const start = Date.now();
  for (;;) {
    try {
      await (await fetch(url)).body?.cancel();
      return;
    } catch (error) {
      if (Date.now() - start > ms) throw error;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

before(async () => {
  if (skip) return;
  redis = await startRedisServer();
  rest = await startUpstashServer({ redisPort: redis.port, token: TOKEN });
  dir = mkdtempSync(join(tmpdir(), "edge-workerd-"));
  bundle("tests/_edge_worker.ts", "worker.js");
  bundle("examples/edge_worker.ts", "example.js");
  const port = await freePort();
  let examplePort = await freePort();
  while (examplePort === port) examplePort = await freePort();
  writeFileSync(
    join(dir, "config.capnp"),
    `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .mainWorker),
    (name = "example", worker = .exampleWorker),
    (name = "net", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [
    (name = "http", address = "127.0.0.1:${port}", http = (), service = "main"),
    (name = "example", address = "127.0.0.1:${examplePort}", http = (), service = "example"),
  ],
);
const mainWorker :Workerd.Worker = (
  modules = [(name = "worker.js", esModule = embed "worker.js")],
  compatibilityDate = "2025-01-01",
  bindings = [
    (name = "UPSTASH_REDIS_REST_URL", text = "${rest.url}"),
    (name = "UPSTASH_REDIS_REST_TOKEN", text = "${TOKEN}"),
  ],
  globalOutbound = "net",
);
const exampleWorker :Workerd.Worker = (
  modules = [(name = "example.js", esModule = embed "example.js")],
  compatibilityDate = "2025-01-01",
  compatibilityFlags = ["enable_request_signal"],
  bindings = [
    (name = "UPSTASH_REDIS_REST_URL", text = "${rest.url}"),
    (name = "UPSTASH_REDIS_REST_TOKEN", text = "${TOKEN}"),
  ],
  globalOutbound = "net",
);
`,
  );
  workerd = spawn(workerdBin, ["serve", join(dir, "config.capnp")], {
    stdio: ["ignore", "inherit", "inherit"],
  });
  base = `http://127.0.0.1:${port}`;
  example = `http://127.0.0.1:${examplePort}`;
  await waitForHttp(`${base}/health`, 20_000);
  await waitForHttp(`${example}/health`, 20_000);
});

after(async () => {
  if (skip) return;
  if (workerd && workerd.exitCode === null) {
    const exited = new Promise((r) => workerd!.once("exit", r));
    workerd.kill("SIGKILL");
    await exited;
  }
  await rest?.close();
  await redis?.[Symbol.asyncDispose]();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Runs tests/python/edge_store.py: real Celery stores each [id, state, result, delay] step. */
async function celeryStores(steps: [string, string, unknown, number][]): Promise<void> {
  await runPython("edge_store.py", JSON.stringify(steps));
}

/** Runs a script of tests/python/ with the REST server's redis URL; resolves with its stdout. */
function runPython(script: string, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, [
      join(projectRoot, "tests/python", script),
      `${redis.url}/0`,
      ...args,
    ], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (c) => (stdout += c));
    child.stderr!.on("data", (c) => (stderr += c));
    child.once("error", reject);
    child.once(
      "exit",
      (code) =>
        code === 0 ? resolve(stdout) : reject(new Error(`${script} exited ${code}: ${stderr}`)),
    );
  });
}

test("edge.ts in workerd reads a result stored by real Python Celery", { skip }, async () => {
  await celeryStores([["edge-read-1", "SUCCESS", { sum: 3 }, 0]]);
  const meta = await (await fetch(`${base}/read?id=edge-read-1`)).json();
  assert.equal(meta.status, "SUCCESS");
  assert.deepEqual(meta.result, { sum: 3 });
  assert.equal(meta.name, "proj.edge_add");
  assert.deepEqual(meta.args, [1, 2]);
  assert.deepEqual(meta.kwargs, { via: "edge" });
  assert.equal(meta.worker, "celery@edge-py");
  assert.equal(meta.queue, "edge");
  assert.equal(meta.task_id, "edge-read-1");
  const missing = await (await fetch(`${base}/read?id=edge-nothing`)).json();
  assert.equal(missing.status, "PENDING");
});

test("edge.ts in workerd waits by polling for a result Python Celery stores later", {
  skip,
}, async () => {
  const answer = fetch(`${base}/wait?id=edge-wait-1&ms=20000`).then((r) => r.json());
  await celeryStores([
    ["edge-wait-1", "PROGRESS", { done: 1, total: 2 }, 0.3],
    ["edge-wait-1", "SUCCESS", { sum: 42 }, 0.5],
  ]);
  const { meta, seen, requests } = await answer;
  assert.equal(meta.status, "SUCCESS");
  assert.deepEqual(meta.result, { sum: 42 });
  assert.deepEqual(seen, ["PROGRESS", "SUCCESS"]);
  assert.ok(requests >= 2, `requests: ${requests}`);
});

test("edge.ts in workerd waits over streaming SUBSCRIBE for a later result", { skip }, async () => {
  rest.resetCounts();
  const answer = fetch(`${base}/wait?id=edge-wait-2&ms=20000&stream=1`).then((r) => r.json());
  await celeryStores([
    ["edge-wait-2", "PROGRESS", { done: 1, total: 2 }, 0.2],
    ["edge-wait-2", "SUCCESS", "streamed", 0.3],
  ]);
  const { meta, seen } = await answer;
  assert.equal(meta.result, "streamed");
  assert.deepEqual(seen, ["PROGRESS", "SUCCESS"]);
  assert.equal(rest.requests["/subscribe"], 1);
});

test("edge.ts in workerd stops at the deadline with the state it has", { skip }, async () => {
  await celeryStores([["edge-slow-1", "STARTED", { pid: 1, hostname: "h" }, 0]]);
  const started = Date.now();
  const { meta, seen } = await (await fetch(`${base}/wait?id=edge-slow-1&ms=400`)).json();
  assert.equal(meta.status, "STARTED");
  assert.deepEqual(seen, ["STARTED"]);
  assert.ok(Date.now() - started < 5000);
});

test("edge.ts in workerd streams a task's states as server-sent events", { skip }, async () => {
  const response = await fetch(`${base}/events?id=edge-sse-1`);
  assert.match(response.headers.get("content-type") ?? "", /^text\/event-stream/);
  const stored = celeryStores([
    ["edge-sse-1", "PROGRESS", { done: 1 }, 0.2],
    ["edge-sse-1", "SUCCESS", "sse-done", 0.3],
  ]);
  const text = await response.text(); // the stream ends after the ready state
  await stored;
  const states = [...text.matchAll(/^event: state\ndata: (.*)$/gm)].map((m) => JSON.parse(m[1]!));
  assert.deepEqual(states.map((s) => s.status), ["PENDING", "PROGRESS", "SUCCESS"]);
  assert.equal(states.at(-1).result, "sse-done");
});

test("edge.ts bundles for workerd with no node: import", { skip }, () => {
  const bundle = readFileSync(join(dir, "worker.js"), "utf8");
  assert.doesNotMatch(bundle, /from\s*["']node:|require\(["']node:/);
  assert.doesNotMatch(bundle, /\bDeno\.|\bBun\./);
});

// examples/edge_worker.ts, the README's edge example, on each case that broke the first version.

const BIG = "1180591620717411303424"; // 2 ** 70: beyond JSON numbers, and BigInt broke Response.json

test(
  "example worker: a big integer result answers 200 with its exact digits",
  { skip },
  async () => {
    // JSON text, not JSON.stringify: the integer must reach Python as an int.
    await runPython("edge_store.py", `[["ex-big-1", "SUCCESS", {"big": ${BIG}, "small": 7}, 0]]`);
    const response = await fetch(`${example}/result?id=ex-big-1`);
    assert.equal(response.status, 200);
    const body = await response.json();
    assert.equal(body.status, "SUCCESS");
    assert.deepEqual(body.result, { big: BIG, small: 7 });
    const events = await (await fetch(`${example}/events?id=ex-big-1`)).text();
    assert.deepEqual(stateEvents(events).map((s) => s.result), [{ big: BIG, small: 7 }]);
  },
);

test("example worker: a FAILURE answers without the Python traceback", { skip }, async () => {
  const traceback = await runPython("edge_store_failure.py", "ex-fail-1");
  assert.match(traceback, /Traceback[\s\S]*edge_store_failure\.py/); // what must stay private
  const response = await fetch(`${example}/result?id=ex-fail-1`);
  assert.equal(response.status, 200);
  const text = await response.text();
  const body = JSON.parse(text);
  assert.equal(body.status, "FAILURE");
  assert.deepEqual(body.result, { exc_type: "ValueError", exc_message: "('bad input', 42)" });
  assert.doesNotMatch(text, /Traceback|edge_store_failure|\/tests\/python/);
  const events = await (await fetch(`${example}/events?id=ex-fail-1`)).text();
  assert.deepEqual(stateEvents(events).map((s) => s.status), ["FAILURE"]);
  assert.doesNotMatch(events, /Traceback|edge_store_failure|\/tests\/python/);
});

test("example worker: a missing or malformed id answers 400", { skip }, async () => {
  for (const path of ["/result", "/events"]) {
    for (
      const query of ["", "?id=", "?id=a%20b", "?id=..%2Fx", "?id=a%0Ab", `?id=${"x".repeat(129)}`]
    ) {
      const response = await fetch(`${example}${path}${query}`);
      assert.equal(response.status, 400, `${path}${query}`);
      assert.deepEqual(await response.json(), { error: "expected ?id=<task id>" });
    }
  }
});

test("example worker: when the browser leaves, the SSE stream stops polling Redis", {
  skip,
}, async () => {
  const requests = () => Object.values(rest.requests).reduce((a, b) => a + b, 0);
  const controller = new AbortController();
  const response = await fetch(`${example}/events?id=ex-gone-1`, { signal: controller.signal });
  const reader = response.body!.getReader();
  let text = "";
  while (!text.includes("event: state")) {
    const { value } = await reader.read();
    text += new TextDecoder().decode(value);
  }
  // While the page is open the stream polls (one MGET per tick): see it poll twice more.
  const open = requests();
  await waitFor(() => requests() >= open + 2, 10_000, "the stream to poll while open");
  controller.abort();
  await reader.cancel().catch(() => {});
  const atAbort = requests();

  // workerd notices the closed connection at the stream's next write (the example's 2 s
  // keep-alive), then the stream ends and polling stops. Quiet for 3 polling intervals at the
  // consumer's slowest (1 s) must come well before the 25 s deadline that would end it anyway.
  await waitForQuiet(requests, 3000, 15_000);
  const after = requests() - atAbort;
  // At most the MGETs of one keep-alive interval (the poll backs off from 50 ms to 1 s).
  assert.ok(after <= 12, `requests after the client left: ${after}`);
});

test("examples/edge_worker.ts bundles for workerd with no node: import", { skip }, () => {
  const bundle = readFileSync(join(dir, "example.js"), "utf8");
  assert.doesNotMatch(bundle, /from\s*["']node:|require\(["']node:/);
});

function stateEvents(text: string): Record<string, unknown>[] {
  return [...text.matchAll(/^event: state\ndata: (.*)$/gm)].map((m) => JSON.parse(m[1]!));
}

async function waitFor(condition: () => boolean, ms: number, what: string): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > ms) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Waits until `count()` has not changed for `quietMs`; throws if that never happens in `ms`. */
async function waitForQuiet(count: () => number, quietMs: number, ms: number): Promise<void> {
  const start = Date.now();
  let last = count();
  let since = Date.now();
  while (Date.now() - since < quietMs) {
    if (Date.now() - start > ms) throw new Error(`Still growing after ${ms} ms: ${count()}`);
    await new Promise((r) => setTimeout(r, 50));
    if (count() !== last) {
      last = count();
      since = Date.now();
    }
  }
}
