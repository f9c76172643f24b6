// sseResponse() seen by a real browser: headless Chromium (Debian's chromium, driven over CDP by
// playwright-core) opens a page whose EventSource follows a Celery task's states, served by a
// small loopback server that turns each request into sseResponse() over the HTTP driver and the
// local Upstash REST server. The page must show every PROGRESS update and then the result, also
// when a deadline cuts the stream and the browser reconnects. The demo's web mode (`main.ts
// --web`, a child process) is opened the same way and must show its task's every state.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { createServer, type Server } from "node:http";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { createBackend, type RedisBackend, sseResponse } from "../edge.ts";
import { projectRoot, requirement } from "./_env.ts";
import { type RedisServer, startRedisServer } from "./_redis_server.ts";
import { startUpstashServer, type UpstashServer } from "./_upstash_server.ts";
import { startDemo } from "./_demo_process.ts";

const chromiumBin = process.env.CHROMIUM ?? "/usr/bin/chromium";
const playwrightDir = join(projectRoot, "node_modules/playwright-core");
const skip = requirement(
  existsSync(chromiumBin) && existsSync(playwrightDir),
  `Chromium (${chromiumBin}, apt install chromium) and playwright-core (npm)`,
);

const TOKEN = "sse-token";
const PAGE = `<!doctype html><meta charset="utf-8"><title>task</title><ol id="log"></ol>
<script>
  const params = new URLSearchParams(location.search);
  const log = document.getElementById("log");
  const source = new EventSource("/events?" + params);
  let opens = 0;
  source.onopen = () => { opens++; document.body.dataset.opens = String(opens); };
  source.addEventListener("state", (e) => {
    const meta = JSON.parse(e.data);
    const item = document.createElement("li");
    item.textContent = meta.status === "PROGRESS"
      ? "PROGRESS " + meta.result.done + "/" + meta.result.total
      : meta.status + (meta.status === "SUCCESS" ? " " + JSON.stringify(meta.result) : "");
    log.append(item);
    if (["SUCCESS", "FAILURE", "REVOKED"].includes(meta.status)) {
      source.close();
      document.body.dataset.done = meta.status;
    }
  });
</script>`;

let redis: RedisServer;
let rest: UpstashServer;
let site: Server;
let siteUrl = "";
let chromium: ChildProcess | undefined;
let profile = "";
// deno-lint-ignore no-explicit-any
let browser: any;
let writer: RedisBackend;

async function launchChromium(): Promise<string> {
  profile = mkdtempSync(join(tmpdir(), "sse-chromium-"));
  chromium = spawn(chromiumBin, [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    `--user-data-dir=${profile}`,
    "--remote-debugging-port=0",
    "about:blank",
  ], { stdio: ["ignore", "ignore", "pipe"], detached: true });
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

before(async () => {
  if (skip) return;
  redis = await startRedisServer();
  rest = await startUpstashServer({ redisPort: redis.port, token: TOKEN });
  writer = createBackend(rest.url, { token: TOKEN });
  site = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    if (url.pathname !== "/events") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(PAGE);
      return;
    }
    // What an edge function does: a backend for the request, and the Response it returns.
    const backend = createBackend(rest.url, {
      token: TOKEN,
      consumer: { type: "polling", minInterval: 20, maxInterval: 60 },
    });
    const controller = new AbortController();
    req.on("close", () => controller.abort());
    const deadline = url.searchParams.get("deadline");
    const response = sseResponse(backend, url.searchParams.get("id") ?? "", {
      signal: controller.signal,
      retry: 50,
      deadline: deadline ? Date.now() + Number(deadline) : undefined,
      onClose: () => void backend.close(),
    });
    res.writeHead(response.status, Object.fromEntries(response.headers));
    res.flushHeaders();
    (async () => {
      for await (const chunk of response.body!) res.write(chunk);
      res.end();
    })().catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => site.listen(0, "127.0.0.1", resolve));
  const address = site.address();
  siteUrl = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  const endpoint = await launchChromium();
  const playwright = await import(
    "Deno" in globalThis ? "npm:playwright-core@1.65.1" : "playwright-core"
  );
  browser = await playwright.chromium.connectOverCDP(endpoint);
});

after(async () => {
  if (skip) return;
  await browser?.close().catch(() => {});
  if (chromium?.pid !== undefined) {
    const exited = chromium.exitCode === null
      ? new Promise((r) => chromium!.once("exit", r))
      : undefined;
    // The whole process group: a renderer or utility process outliving the browser process kept
    // writing into the profile while it was being removed (ENOTEMPTY in CI).
    try {
      process.kill(-chromium.pid, "SIGKILL");
    } catch {
      // The group is gone already.
    }
    await exited;
  }
  if (profile) rmSync(profile, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  await writer?.close();
  site?.closeAllConnections?.();
  await new Promise((r) => site?.close(r));
  await rest?.close();
  await redis?.[Symbol.asyncDispose]();
});

async function followTask(id: string, query = ""): Promise<{ log: string[]; opens: number }> {
  const context = browser.contexts()[0] ?? await browser.newContext();
  const page = await context.newPage();
  try {
    await page.goto(`${siteUrl}/?id=${id}${query}`);
    // Page-side code as strings: this file is type-checked without the DOM library.
    await page.waitForFunction("document.body.dataset.opens !== undefined");
    for (let done = 1; done <= 3; done++) {
      await writer.storeResult(id, { done, total: 3 }, "PROGRESS");
      await page.waitForFunction(`document.querySelectorAll("#log li").length >= ${done + 1}`, {
        timeout: 10_000,
      });
      await new Promise((r) => setTimeout(r, 150));
    }
    await writer.markAsDone(id, { answer: 42 });
    await page.waitForFunction('document.body.dataset.done === "SUCCESS"', { timeout: 10_000 });
    const log: string[] = await page.evaluate(
      '[...document.querySelectorAll("#log li")].map((item) => item.textContent)',
    );
    const opens = Number(await page.evaluate("document.body.dataset.opens"));
    return { log, opens };
  } finally {
    await page.close();
  }
}

test("sseResponse() shows a task's PROGRESS and result live in headless Chromium", {
  skip,
}, async () => {
  const { log, opens } = await followTask("browser-1");
  assert.deepEqual(log, [
    "PENDING",
    "PROGRESS 1/3",
    "PROGRESS 2/3",
    "PROGRESS 3/3",
    'SUCCESS {"answer":42}',
  ]);
  assert.equal(opens, 1);
});

test("sseResponse() with a deadline: the browser reconnects and still sees every state", {
  skip,
}, async () => {
  const { log, opens } = await followTask("browser-2", "&deadline=200");
  // After each reconnection the current state is sent again; the page shows each change once.
  const distinct = log.filter((line, i) => line !== log[i - 1]);
  assert.deepEqual(distinct, [
    "PENDING",
    "PROGRESS 1/3",
    "PROGRESS 2/3",
    "PROGRESS 3/3",
    'SUCCESS {"answer":42}',
  ]);
  assert.ok(opens >= 2, `opens: ${opens}`);
});

test("main.ts --web: the demo page shows every PROGRESS, then the result", { skip }, async () => {
  const demo = startDemo(["--web", "--port", "0"]);
  const context = browser.contexts()[0] ?? await browser.newContext();
  const page = await context.newPage();
  try {
    const [, url] = await demo.waitFor(/^Web demo: (http:\/\/127\.0\.0\.1:\d+\/)/m);
    await page.goto(url);
    await page.waitForFunction('document.body.dataset.done === "SUCCESS"', { timeout: 30_000 });
    const log: string[] = await page.evaluate(
      '[...document.querySelectorAll("#log li")].map((item) => item.textContent)',
    );
    assert.deepEqual(log, [
      "PENDING",
      "STARTED",
      "PROGRESS 1/5",
      "PROGRESS 2/5",
      "PROGRESS 3/5",
      "PROGRESS 4/5",
      "PROGRESS 5/5",
      'SUCCESS {"answer":42,"steps":5}',
    ]);
    assert.equal(await page.evaluate('document.getElementById("bar").value'), 5);
  } finally {
    await page.close();
    process.kill(demo.child.pid!, "SIGTERM");
    await demo.exited;
  }
});
