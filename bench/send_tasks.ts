// Tasks sent per second onto a Redis broker, in one run: this module's sendTask() (Deno or Bun,
// whichever runs this file), Python's apply_async (Celery 5.6.3, send_task in a loop) and
// celery-node's sendTask (npm, on Node 20). Each sends N `proj.add(i, i)` messages to the
// `celery` queue of a fresh database; a run ends when all N are on the list (LLEN), so
// fire-and-forget senders are timed to the same point.
//
// Modes: "no result" sends with ignoreResult (no subscription: what celery-node does); "with
// result" subscribes to each result before pushing it, as apply_async does by default.
//
//   deno run -A bench/send_tasks.ts [--n 20000] [--url redis://host:port/db]
//   bun bench/send_tasks.ts
import { spawnSync } from "node:child_process";
import process from "node:process";
import { Broker, createBackend, tcpDriver } from "../mod.ts";
import { benchDir, celeryPython, numberFlag, runs, runtimeName, startRedis } from "./_util.ts";

const n = numberFlag("n", 20_000);
await using redis = await startRedis(0);
const brokerUrl = `redis://${redis.host}:${redis.port}/${redis.db}`;
const resultUrl = `redis://${redis.host}:${redis.port}/${redis.db + 1}`;

async function flush(): Promise<void> {
  await using probe = createBackend(brokerUrl);
  await probe.driver.send(["FLUSHDB"]);
}

async function typescript(subscribe: boolean): Promise<number> {
  await flush();
  await using backend = createBackend(resultUrl);
  await using broker = new Broker(
    tcpDriver({ host: redis.host, port: redis.port, db: redis.db }),
    {
      backend,
    },
  );
  await broker.sendTask("proj.add", { args: [0, 0], ignoreResult: true }); // connect, declare
  const start = performance.now();
  const sends: Promise<unknown>[] = [];
  for (let i = 1; i < n; i++) {
    sends.push(
      broker.sendTask("proj.add", { args: [i, i], ignoreResult: !subscribe }),
    );
    if (sends.length >= 1000) await Promise.all(sends.splice(0));
  }
  await Promise.all(sends);
  const seconds = (performance.now() - start) / 1000;
  const queued = await broker.driver.send(["LLEN", "celery"]);
  if (queued !== n) throw new Error(`expected ${n} messages, found ${queued}`);
  await backend.driver.send(["FLUSHDB"]);
  return (n - 1) / seconds;
}

const PYTHON = `
import sys, time
from celery import Celery
app = Celery("bench", broker=sys.argv[1], backend=sys.argv[2])
ignore = sys.argv[4] == "1"
n = int(sys.argv[3])
app.send_task("proj.add", args=[0, 0], ignore_result=True)
t = time.perf_counter()
for i in range(1, n):
    app.send_task("proj.add", args=[i, i], ignore_result=ignore)
print((n - 1) / (time.perf_counter() - t))
`;

async function python(subscribe: boolean): Promise<number | null> {
  if (!runs(celeryPython, ["-c", "import celery"])) return null;
  await flush();
  const run = spawnSync(
    celeryPython,
    ["-c", PYTHON, brokerUrl, resultUrl, String(n), subscribe ? "0" : "1"],
    { encoding: "utf8", timeout: 600_000 },
  );
  if (run.status !== 0) throw new Error(`Python failed: ${run.stderr}`);
  return Number(run.stdout.trim());
}

// celery-node's sendTask returns before the LPUSH is written: it is timed until LLEN reaches n.
const NODE = `
const { createClient } = require("celery-node");
const Redis = require("ioredis");
const [url, n] = [process.argv[1], Number(process.argv[2])];
const client = createClient(url, url);
const probe = new Redis(url);
(async () => {
  client.sendTask("proj.add", [0, 0]);
  while ((await probe.llen("celery")) < 1) await new Promise((r) => setTimeout(r, 1));
  const t = performance.now();
  for (let i = 1; i < n; i++) client.sendTask("proj.add", [i, i]);
  while ((await probe.llen("celery")) < n) await new Promise((r) => setTimeout(r, 1));
  console.log((n - 1) / ((performance.now() - t) / 1000));
  process.exit(0);
})();
`;

async function celeryNode(): Promise<number | null> {
  if (!runs("node")) return null;
  await flush();
  const run = spawnSync("node", ["-e", NODE, brokerUrl, String(n)], {
    encoding: "utf8",
    cwd: benchDir,
    timeout: 600_000,
  });
  if (run.status !== 0) {
    process.stderr.write(
      `celery-node failed (npm install in bench/?): ${run.stderr}\n`,
    );
    return null;
  }
  return Number(run.stdout.trim());
}

const fmt = (x: number | null) => x === null ? "n/a" : `${Math.round(x).toLocaleString("en")}/s`;
const ratio = (a: number, b: number | null) => b ? `${(a / b).toFixed(1)}x` : "n/a";
const tsFree = await typescript(false);
const tsSub = await typescript(true);
const pyFree = await python(false);
const pySub = await python(true);
const node = await celeryNode();
console.log(`send_tasks: ${n} messages, ${runtimeName()}`);
console.log(
  `  no result   sendTask ${fmt(tsFree)}  apply_async ${fmt(pyFree)}  celery-node ${fmt(node)}`,
);
console.log(`  with result sendTask ${fmt(tsSub)}  apply_async ${fmt(pySub)}`);
console.log(
  `  ratios: vs Python ${ratio(tsFree, pyFree)} (no result), ${ratio(tsSub, pySub)} ` +
    `(with result); vs celery-node ${ratio(tsFree, node)}`,
);
