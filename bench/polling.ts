// Polling cost: with the polling consumer, how many Redis requests each completed result costs
// when k = 1, 10, 100, 1,000 waits are pending together and their results complete at random
// times over a few seconds. Requests are counted by the server: INFO commandstats' cmdstat_mget
// calls, before and after (the polling consumer's only command; results are stored on another
// connection with MULTI/SETEX/PUBLISH, so nothing else sends MGET). One MGET per tick reads every
// pending key, so the requests per result must fall as k grows.
//
//   deno run -A bench/polling.ts       bun bench/polling.ts
//   options: --url redis://host:port/db, --min-interval 50, --max-interval 500 (ms),
//            --spread 3000 (ms over which results complete), --reps 3
import process from "node:process";
import {
  AsyncResult,
  consumerFor,
  createBackend,
  type PollingConsumer,
  tcpDriver,
} from "../mod.ts";
import {
  fmt,
  median,
  metaPayloads,
  numberFlag,
  percentile,
  printTable,
  runtimeName,
  startRedis,
  taskIds,
  verdict,
} from "./_util.ts";

const MIN = numberFlag("min-interval", 50);
const MAX = numberFlag("max-interval", 500);
const SPREAD = numberFlag("spread", 3000);
const REPS = numberFlag("reps", 3);
const KS = [1, 10, 100, 1000];

type Driver = ReturnType<typeof tcpDriver>;

async function mgetCalls(admin: Driver): Promise<number> {
  const reply = await admin.send(["INFO", "commandstats"]);
  const text = reply instanceof Uint8Array ? new TextDecoder().decode(reply) : String(reply);
  const match = /^cmdstat_mget:calls=(\d+)/m.exec(text);
  return match ? Number(match[1]) : 0;
}

interface Run {
  mgets: number;
  ticks: number;
  delays: number[];
  seconds: number;
}

async function run(
  url: string,
  writer: Driver,
  admin: Driver,
  k: number,
  template: { id: string; text: string },
): Promise<Run> {
  const backend = createBackend(url, {
    consumer: { type: "polling", minInterval: MIN, maxInterval: MAX },
  });
  await backend.driver.send(["PING"]);
  const ids = taskIds(k);
  const encoder = new TextEncoder();
  const before = await mgetCalls(admin);
  const t0 = performance.now();
  const storedAt = new Map<string, number>();
  const delays: number[] = [];
  const waits = ids.map((id) =>
    new AsyncResult(id, backend).get({ timeout: SPREAD + 10 * MAX + 10_000 }).then(
      () => {
        delays.push(performance.now() - storedAt.get(id)!);
      },
    )
  );
  const stores = ids.map((id) =>
    new Promise<void>((resolve, reject) => {
      setTimeout(() => {
        const key = `celery-task-meta-${id}`;
        const payload = encoder.encode(template.text.replace(template.id, id));
        storedAt.set(id, performance.now());
        writer.transaction([["SETEX", key, 600, payload], [
          "PUBLISH",
          key,
          payload,
        ]]).then(
          () => resolve(),
          reject,
        );
      }, Math.random() * SPREAD);
    })
  );
  await Promise.all(stores);
  await Promise.all(waits);
  const seconds = (performance.now() - t0) / 1000;
  const after = await mgetCalls(admin);
  const ticks = (consumerFor(backend) as PollingConsumer).ticks;
  await backend.close();
  return { mgets: after - before, ticks, delays, seconds };
}

async function main(): Promise<void> {
  console.log(
    `# polling — ${runtimeName()}; minInterval ${MIN} ms, maxInterval ${MAX} ms, results ` +
      `complete at random over ${SPREAD} ms; ${REPS} runs per k`,
  );
  await using redis = await startRedis();
  console.log(
    `redis: ${redis.url}${redis.owned ? " (started for this run)" : ""}`,
  );
  const writer = tcpDriver({
    host: redis.host,
    port: redis.port,
    db: redis.db,
  });
  const admin = tcpDriver({ host: redis.host, port: redis.port, db: redis.db });
  await writer.connect();
  await admin.connect();
  const [id] = taskIds(1);
  const text = new TextDecoder().decode((await metaPayloads([id!]))[0]!);

  const rows: (string | number)[][] = [];
  const perResult: number[] = [];
  for (const k of KS) {
    const runs: Run[] = [];
    for (let rep = 0; rep < REPS; rep++) {
      runs.push(await run(redis.url, writer, admin, k, { id: id!, text }));
    }
    const mgets = median(runs.map((r) => r.mgets));
    const ticks = median(runs.map((r) => r.ticks));
    const delays = runs.flatMap((r) => r.delays);
    perResult.push(mgets / k);
    rows.push([
      fmt(k),
      fmt(mgets),
      runs.map((r) => fmt(r.mgets)).join(" / "),
      fmt(ticks),
      (mgets / k).toFixed(3),
      fmt(percentile(delays, 50)),
      fmt(percentile(delays, 99)),
      fmt(median(runs.map((r) => r.seconds)), 1),
    ]);
  }
  console.log();
  printTable([
    "k waiters",
    "MGETs (median)",
    "MGETs per run",
    "consumer ticks",
    "requests per result",
    "store→resolved p50 ms",
    "p99 ms",
    "run s",
  ], rows);
  console.log();
  const falling = perResult.every((v, i) => i === 0 || v < perResult[i - 1]!);
  console.log(
    `goal: requests per result fall as k grows: ` +
      verdict(
        falling,
        perResult.map((v, i) => `k=${KS[i]} ${v.toFixed(3)}`).join(", "),
      ),
  );
  await writer.close();
  await admin.close();
  await redis.stop();
}

await main();
process.exit(0);
