// A script that forgets close() still exits once nothing is pending (idle connections and the
// health check timer are unref'd), while a pending wait keeps it alive until its result arrives.
// Child processes on the runtime running the tests (Deno, Bun or Node).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import process from "node:process";
import { createBackend, type RedisBackend } from "../mod.ts";
import { projectRoot, scriptCommand } from "./_env.ts";
import { type RedisServer, startRedisServer } from "./_redis_server.ts";

let server: RedisServer;
let url: string;
let backend: RedisBackend;
before(async () => {
  server = await startRedisServer();
  // health_check_interval: its periodic timer must not hold the process either.
  url = `redis://127.0.0.1:${server.port}/3?health_check_interval=1`;
  backend = createBackend(url);
});
after(async () => {
  await backend.close();
  await server[Symbol.asyncDispose]();
});

function scriptArgs(args: string[]): string[] {
  return scriptCommand("tests/_idle_exit_script.ts", args)[1];
}

test("a script that reads and writes without close() exits by itself", async () => {
  await backend.markAsDone("idle-read", { n: 1 });
  const child = spawnSync(process.execPath, scriptArgs(["read", url, "idle-read"]), {
    cwd: projectRoot,
    encoding: "utf8",
    timeout: 60_000, // only a safety net: a script held open is killed and fails below
  });
  assert.equal(child.signal, null, `the script did not exit by itself: ${child.stderr}`);
  assert.equal(child.status, 0, child.stderr);
  assert.equal(child.stdout.trim(), 'SUCCESS {"n":1}');
  assert.equal(child.stderr, "", "no runtime warnings");
});

for (const timeout of ["none", String(Number.MAX_SAFE_INTEGER), "Infinity"]) {
  test(`a script with a pending wait (timeout ${timeout}) stays until the result arrives`, async () => {
    const id = `idle-wait-${timeout}`;
    const child = spawn(process.execPath, scriptArgs(["wait", url, id, timeout]), {
      cwd: projectRoot,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (chunk) => (stdout += chunk));
    child.stderr!.on("data", (chunk) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    let exitedEarly = false;
    void exited.then(() => (exitedEarly = !stdout.includes("result")));
    try {
      // The child is subscribed: from here on only its pending wait can keep it running.
      while (!(await subscribed(`celery-task-meta-${id}`)) && child.exitCode === null) {
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal(child.exitCode, null, `the script exited while waiting: ${stderr}`);
      // A PING round trip through Redis gives an early exit every chance to happen first.
      await backend.driver.send(["PING"]);
      await backend.markAsDone(id, "delivered");
      assert.equal(await exited, 0, stderr);
      assert.equal(exitedEarly, false);
      assert.deepEqual(stdout.trim().split("\n"), ["waiting", "result delivered"]);
      assert.equal(stderr, "", "no runtime warnings (e.g. TimeoutOverflowWarning)");
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });
}

async function subscribed(channel: string): Promise<boolean> {
  const reply = await backend.driver.send(["PUBSUB", "NUMSUB", channel]);
  return Array.isArray(reply) && reply[1] === 1;
}
