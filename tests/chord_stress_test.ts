// 1,000 chord header parts completed concurrently by several TypeScript processes against one
// redis-server: the body fires exactly once, with every result in order, and Redis keeps nothing
// but the (expiring) result keys.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { RedisBackend, setChordSize, tcpDriver } from "../mod.ts";
import { type RedisServer, startRedisServer } from "./_redis_server.ts";
import { scriptCommand } from "./_env.ts";

const PARTS = 1_000;
const PROCESSES = 4;
const script = fileURLToPath(new URL("./_chord_worker_script.ts", import.meta.url));

let server: RedisServer;
before(async () => {
  server = await startRedisServer();
});
after(async () => {
  await server[Symbol.asyncDispose]();
});

/** Runs the worker script in a child process of this runtime; resolves with its JSON line. */
function runWorker(args: string[]): Promise<{ slice: number; parts: number; fired: number }> {
  const [command, argv] = scriptCommand(script, args);
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout!.setEncoding("utf8");
    child.stderr!.setEncoding("utf8");
    child.stdout!.on("data", (c) => (out += c));
    child.stderr!.on("data", (c) => (err += c));
    child.once("error", reject);
    child.once("close", (code) => {
      if (code !== 0) return reject(new Error(`worker ${args[3]} exited with ${code}:\n${err}`));
      try {
        resolve(JSON.parse(out.trim().split("\n").at(-1)!));
      } catch {
        reject(new Error(`worker ${args[3]} printed no JSON:\n${out}\n${err}`));
      }
    });
  });
}

for (const mode of ["ordered", "list"] as const) {
  test(`onChordPartReturn(): 1,000 parts from 4 processes fire the body exactly once (${mode})`, async () => {
    await using backend = new RedisBackend(tcpDriver({ port: server.port, db: 0 }));
    await using counter = tcpDriver({ port: server.port, db: 1 });
    const groupId = `stress-${mode}`;
    const bodyId = `${groupId}-body`;
    await setChordSize(backend, groupId, PARTS);

    const reports = await Promise.all(
      Array.from(
        { length: PROCESSES },
        (_, slice) =>
          runWorker([
            String(server.port),
            groupId,
            bodyId,
            String(slice),
            String(PROCESSES),
            String(PARTS),
            mode,
          ]),
      ),
    );
    assert.equal(reports.reduce((n, r) => n + r.parts, 0), PARTS);
    assert.equal(reports.reduce((n, r) => n + r.fired, 0), 1, "one process fired the body");
    const fired = await counter.send(["GETDEL", "stress:fired"]) as Uint8Array;
    assert.equal(new TextDecoder().decode(fired), "1");

    const result = await backend.getTaskMeta(bodyId);
    assert.equal(result.status, "SUCCESS");
    const expected = Array.from({ length: PARTS }, (_, i) => i * 2);
    if (mode === "ordered") assert.deepEqual(result.result, expected);
    // List mode keeps completion order: every result, once.
    else assert.deepEqual([...(result.result as number[])].sort((a, b) => a - b), expected);

    // Only result keys are left, and every one of them expires.
    const keys = (await backend.driver.send(["KEYS", "*"]) as Uint8Array[])
      .map((k) => new TextDecoder().decode(k));
    assert.equal(keys.length, PARTS + 1);
    assert.deepEqual(keys.filter((k) => !k.startsWith("celery-task-meta-")), []);
    const ttls = await backend.driver.transaction(keys.map((k) => ["TTL", k]));
    assert.deepEqual(ttls.filter((ttl) => !(typeof ttl === "number" && ttl > 0)), []);
    await backend.driver.send(["FLUSHDB"]);
  });
}
