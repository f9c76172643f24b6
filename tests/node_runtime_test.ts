// Node as a first-class runtime, as a Node user meets it: a script importing mod.ts, run through
// tsx and bundled by esbuild for the Node platform, reads a result a real Celery worker stored,
// over redis://, rediss:// (verified against a CA) and redis+socket://, waits for one the worker
// stores later, and exits by itself (it never calls close()). Spawns `node` under every runtime.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { AsyncResult, createBackend, type RedisBackend } from "../mod.ts";
import { projectRoot, requirement, runtime } from "./_env.ts";
import { type RedisServer, startRedisServer } from "./_redis_server.ts";
import {
  CELERY_RESULT_DB,
  celeryAvailable,
  type CeleryWorker,
  harness,
  startCeleryWorker,
} from "./_celery.ts";

const node = runtime === "node" ? process.execPath : "node";
const hasNode = spawnSync(node, ["--version"], { stdio: "ignore" }).status === 0;
const hasOpenssl = spawnSync("openssl", ["version"], { stdio: "ignore" }).status === 0;
const skip = requirement(
  hasNode && hasOpenssl && celeryAvailable("5.6"),
  "node, openssl and Celery 5.6",
);

let dir = "";
let server: RedisServer;
let worker: CeleryWorker;
let backend: RedisBackend;
let urls: Record<"redis" | "rediss" | "redis+socket", string>;
let bundle = "";
const storedId = "node-runtime-stored";

function run(command: string, args: string[], cwd = dir): void {
  const result = spawnSync(command, args, { cwd, encoding: "utf8", timeout: 120_000 });
  assert.equal(result.status, 0, `${command} ${args.join(" ")}: ${result.stderr}`);
}

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), "node-runtime-"));
  // A CA and a server certificate for 127.0.0.1, so rediss:// verifies as it would in production.
  const subject = ["-nodes", "-newkey", "rsa:2048", "-days", "2", "-subj"];
  run("openssl", [
    "req",
    "-x509",
    ...subject,
    "/CN=Node CA",
    "-keyout",
    "ca.key",
    "-out",
    "ca.crt",
  ]);
  run("openssl", ["req", ...subject, "/CN=localhost", "-keyout", "tls.key", "-out", "tls.csr"]);
  writeFileSync(join(dir, "tls.ext"), "subjectAltName=IP:127.0.0.1\n");
  run("openssl", [
    "x509",
    "-req",
    "-in",
    "tls.csr",
    "-CA",
    "ca.crt",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-days",
    "2",
    "-extfile",
    "tls.ext",
    "-out",
    "tls.crt",
  ]);
  const socket = join(dir, "redis.sock");
  // One server seen three ways: TCP (the Celery worker's), TLS and a unix socket.
  server = await startRedisServer({
    tls: [
      "--tls-cert-file",
      join(dir, "tls.crt"),
      "--tls-key-file",
      join(dir, "tls.key"),
      "--tls-ca-cert-file",
      join(dir, "ca.crt"),
      "--tls-auth-clients",
      "no",
    ],
    args: [
      "--unixsocket",
      socket,
      "--unixsocketperm",
      "700",
    ],
  });
  const ca = encodeURIComponent(join(dir, "ca.crt"));
  urls = {
    "redis": `${server.url}/${CELERY_RESULT_DB}`,
    "rediss":
      `rediss://127.0.0.1:${server.tlsPort}/${CELERY_RESULT_DB}?ssl_cert_reqs=required&ssl_ca_certs=${ca}`,
    "redis+socket": `redis+socket://${socket}?virtual_host=${CELERY_RESULT_DB}`,
  };
  worker = await startCeleryWorker("5.6", server.url, { hostname: "py@node-runtime" });
  backend = createBackend(urls.redis);
  await harness("5.6", server.url, "send", "add", "[20, 22]", "--task-id", storedId);
  await new AsyncResult(storedId, backend).get({ timeout: 30_000 });
  bundle = join(dir, "consumer.mjs");
  run(join(projectRoot, "node_modules", ".bin", "esbuild"), [
    "tests/_node_consumer_script.ts",
    "--bundle",
    "--platform=node",
    "--format=esm",
    "--log-level=warning",
    `--outfile=${bundle}`,
  ], projectRoot);
});

after(async () => {
  await backend?.close();
  await worker?.[Symbol.asyncDispose]();
  await server?.[Symbol.asyncDispose]();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function subscribed(channel: string): Promise<boolean> {
  const reply = await backend.driver.send(["PUBSUB", "NUMSUB", channel]);
  return Array.isArray(reply) && reply[1] === 1;
}

const forms = {
  "through tsx": () => ["--import", "tsx", "tests/_node_consumer_script.ts"],
  "bundled by esbuild": () => [bundle],
};

for (const [form, entry] of Object.entries(forms)) {
  for (const scheme of ["redis", "rediss", "redis+socket"] as const) {
    test(
      `Node, ${form}, ${scheme}://: reads a Celery worker's result, waits for one, exits by itself`,
      {
        skip,
        timeout: 120_000,
      },
      async () => {
        const waitId = `node-runtime-${form.split(" ").at(-1)}-${scheme}`;
        const child = spawn(node, [...entry(), urls[scheme], storedId, waitId, "60000"], {
          cwd: projectRoot,
          stdio: ["ignore", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        child.stdout!.on("data", (chunk) => (stdout += chunk));
        child.stderr!.on("data", (chunk) => (stderr += chunk));
        const exited = new Promise<[number | null, string | null]>((resolve) =>
          child.once("exit", (code, signal) => resolve([code, signal]))
        );
        try {
          // Only the pending wait holds the child from here: the worker stores the result later.
          while (!(await subscribed(`celery-task-meta-${waitId}`)) && child.exitCode === null) {
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
          assert.equal(child.exitCode, null, `the script ended before the result: ${stderr}`);
          assert.deepEqual(stdout.trim().split("\n"), ["read SUCCESS 42", "waiting"]);
          await harness("5.6", server.url, "send", "add", "[1, 2]", "--task-id", waitId);
          // No kill: a script held open by an idle socket would hang here until the test's timeout.
          const [code, signal] = await exited;
          assert.equal(signal, null);
          assert.equal(code, 0, stderr);
          assert.deepEqual(stdout.trim().split("\n"), ["read SUCCESS 42", "waiting", "waited 3"]);
          assert.equal(stderr, "", "no warnings");
          assert.equal((await backend.getTaskMeta(waitId)).worker, "py@node-runtime");
        } finally {
          if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
        }
      },
    );
  }
}
