// The edge entry point inside a real Workers runtime: tests/_edge_worker.ts is bundled with
// esbuild (browser conditions, nothing external) and served by Cloudflare's workerd from npm,
// without nodejs_compat. Through the local Upstash REST server it reads a result that real Python
// Celery stored, and waits (polling, and over streaming SUBSCRIBE) for one Celery stores later.
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
  const built = spawnSync(esbuildBin, [
    join(projectRoot, "tests/_edge_worker.ts"),
    "--bundle",
    "--format=esm",
    "--platform=browser",
    "--conditions=workerd,worker,browser",
    "--target=es2022",
    `--outfile=${join(dir, "worker.js")}`,
    "--log-level=warning",
  ], { encoding: "utf8", cwd: projectRoot });
  if (built.status !== 0) throw new Error(`esbuild failed: ${built.stderr}`);
  const port = await freePort();
  writeFileSync(
    join(dir, "config.capnp"),
    `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .mainWorker),
    (name = "net", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")],
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
`,
  );
  workerd = spawn(workerdBin, ["serve", join(dir, "config.capnp")], {
    stdio: ["ignore", "inherit", "inherit"],
  });
  base = `http://127.0.0.1:${port}`;
  await waitForHttp(`${base}/health`, 20_000);
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
function celeryStores(steps: [string, string, unknown, number][]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, [
      join(projectRoot, "tests/python/edge_store.py"),
      `${redis.url}/0`,
      JSON.stringify(steps),
    ], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr!.on("data", (c) => (stderr += c));
    child.once("error", reject);
    child.once(
      "exit",
      (code) =>
        code === 0 ? resolve() : reject(new Error(`edge_store.py exited ${code}: ${stderr}`)),
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
