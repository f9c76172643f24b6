// Waiting over HTTP: what it costs in requests and in delay, against the local Upstash REST server
// (tests/_upstash_server.ts) in front of a private redis-server, everything on loopback.
//
// 1. HTTP requests per polling tick with 1, 10 and 100 concurrent waiters (goal: exactly 1).
// 2. Total requests until 100 tasks that finish at random times over --spread ms are all seen:
//    the PollingConsumer (one MGET per tick for every waiter) against a waiter-per-GET loop at the
//    same interval (celery-node's approach), in the same run.
// 3. The delay between a result being stored and a waiter seeing it: HTTP polling, HTTP streaming
//    SUBSCRIBE (server-sent events), and TCP pub/sub on loopback for reference.
//
//   deno run -A bench/http_polling.ts       bun bench/http_polling.ts
//   options: --interval 100 (ms, both pollers), --spread 10000 (ms), --samples 40 (per latency row)
import {
  consumerFor,
  httpDriver,
  httpStreaming,
  type PollingConsumer,
  RedisBackend,
} from "../edge.ts";
import { tcpDriver } from "../mod.ts";
import { startRedisServer } from "../tests/_redis_server.ts";
import { startUpstashServer, type UpstashServer } from "../tests/_upstash_server.ts";
import { fmt, numberFlag, percentile, printTable, runtimeName } from "./_util.ts";

const INTERVAL = numberFlag("interval", 100);
const SPREAD = numberFlag("spread", 10_000);
const SAMPLES = numberFlag("samples", 40);
const TOKEN = "bench-token";
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function polling(rest: UpstashServer): RedisBackend {
  return new RedisBackend(httpDriver({ url: rest.url, token: TOKEN }), {
    consumer: {
      type: "polling",
      minInterval: INTERVAL,
      maxInterval: INTERVAL,
      jitter: 0,
    },
  });
}

async function requestsPerTick(
  rest: UpstashServer,
  writer: RedisBackend,
): Promise<void> {
  const rows: (string | number)[][] = [];
  for (const n of [1, 10, 100]) {
    await using backend = polling(rest);
    const ids = Array.from({ length: n }, (_, i) => `rpt-${n}-${i}`);
    rest.resetCounts();
    const waits = ids.map((id) => consumerFor(backend).wait(id));
    await sleep(INTERVAL * 10 + INTERVAL / 2);
    const requests = rest.requests["/"] ?? 0;
    const ticks = (consumerFor(backend) as PollingConsumer).ticks;
    for (const id of ids) await writer.markAsDone(id, 1);
    await Promise.all(waits);
    rows.push([n, ticks, requests, (requests / ticks).toFixed(2)]);
  }
  console.log(
    `\n## 1. HTTP requests per polling tick (interval ${INTERVAL} ms)\n`,
  );
  printTable(["waiters", "ticks", "HTTP requests", "requests per tick"], rows);
}

async function randomCompletion(
  rest: UpstashServer,
  writer: RedisBackend,
): Promise<void> {
  const ids = (tag: string) => Array.from({ length: 100 }, (_, i) => `rc-${tag}-${i}`);
  const schedule = Array.from({ length: 100 }, () => Math.random() * SPREAD);
  const storeAll = (list: string[]) =>
    Promise.all(
      list.map((id, i) => sleep(schedule[i]!).then(() => writer.markAsDone(id, i))),
    );

  // (a) the PollingConsumer: one MGET per tick for all pending waiters.
  const a = ids("mget");
  let started = performance.now();
  rest.resetCounts();
  {
    await using backend = polling(rest);
    await Promise.all([
      Promise.all(a.map((id) => consumerFor(backend).wait(id))),
      storeAll(a),
    ]);
  }
  // Results are stored over TCP, so the REST server counts only the waiters' requests.
  const mget = {
    requests: rest.requests["/"] ?? 0,
    seconds: performance.now() - started,
  };

  // (b) celery-node's way: every waiter GETs its own key at the same interval until ready.
  const b = ids("get");
  started = performance.now();
  rest.resetCounts();
  {
    await using reader = new RedisBackend(
      httpDriver({ url: rest.url, token: TOKEN }),
    );
    const waitOne = async (id: string) => {
      for (;;) {
        const meta = await reader.getTaskMeta(id);
        if (meta.status === "SUCCESS") return;
        await sleep(INTERVAL);
      }
    };
    await Promise.all([Promise.all(b.map(waitOne)), storeAll(b)]);
  }
  const get = {
    requests: rest.requests["/"] ?? 0,
    seconds: performance.now() - started,
  };

  console.log(
    `\n## 2. Requests to see 100 tasks finishing at random over ${fmt(SPREAD / 1000, 1)} s ` +
      `(interval ${INTERVAL} ms)\n`,
  );
  printTable(["approach", "HTTP requests", "per task", "wall time (s)"], [
    [
      "PollingConsumer: 1 MGET per tick",
      mget.requests,
      (mget.requests / 100).toFixed(1),
      fmt(mget.seconds / 1000, 1),
    ],
    [
      "waiter-per-GET loop (celery-node)",
      get.requests,
      (get.requests / 100).toFixed(1),
      fmt(get.seconds / 1000, 1),
    ],
    ["ratio", (get.requests / mget.requests).toFixed(1) + "x", "", ""],
  ]);
}

async function latency(
  label: string,
  backend: RedisBackend,
  writer: RedisBackend,
): Promise<(string | number)[]> {
  const delays: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    // A macrotask between two waits. It first stepped around a PollingConsumer bug found here (a
    // wait added as the loop exited never polled; fixed in b3d0d13), and keeps samples apart.
    await sleep(1);
    const id = `lat-${label.replace(/\W+/g, "-")}-${i}`;
    const waiting = consumerFor(backend).wait(id);
    await sleep(30 + Math.random() * INTERVAL); // stores land at random points of a tick
    const stored = performance.now();
    await writer.markAsDone(id, i);
    await waiting;
    delays.push(performance.now() - stored);
  }
  return [
    label,
    fmt(percentile(delays, 50), 1),
    fmt(percentile(delays, 90), 1),
    fmt(Math.max(...delays), 1),
  ];
}

async function main(): Promise<void> {
  console.log(
    `# HTTP waiting — ${runtimeName()}; local Upstash REST server on loopback`,
  );
  await using redis = await startRedisServer();
  await using rest = await startUpstashServer({
    redisPort: redis.port,
    token: TOKEN,
  });
  await using writer = new RedisBackend(tcpDriver({ port: redis.port }));
  await requestsPerTick(rest, writer);
  await randomCompletion(rest, writer);

  const rows: (string | number)[][] = [];
  {
    await using b = polling(rest);
    rows.push(await latency(`HTTP polling (${INTERVAL} ms)`, b, writer));
  }
  {
    await using b = new RedisBackend(
      httpDriver({ url: rest.url, token: TOKEN, streaming: httpStreaming() }),
    );
    rows.push(await latency("HTTP streaming SUBSCRIBE (SSE)", b, writer));
  }
  {
    await using b = new RedisBackend(tcpDriver({ port: redis.port }));
    rows.push(await latency("TCP pub/sub (reference)", b, writer));
  }
  console.log(
    `\n## 3. Delay from store (SETEX+PUBLISH over TCP) to the waiter, ${SAMPLES} samples\n`,
  );
  printTable(["how", "p50 (ms)", "p90 (ms)", "max (ms)"], rows);
}

await main();
