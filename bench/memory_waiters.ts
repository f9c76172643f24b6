// Memory of pending waiters: 100,000 `new AsyncResult(id, backend).get()` calls pending on one pub/sub
// ResultConsumer against a real redis-server (all 100,000 channels subscribed, the initial MGET
// done), heap measured after a full GC, against a baseline taken with the backend connected and
// the ids already in memory. Then every result is stored (MULTI/SETEX/PUBLISH, as a worker does)
// and the heap is measured again once all waits resolved and were dropped, to check nothing
// leaks. Twice: get() without options, then get({ timeout }) (one AbortSignal timer per wait).
//
//   deno run -A bench/memory_waiters.ts     (re-runs itself with --v8-flags=--expose-gc)
//   bun bench/memory_waiters.ts             (Bun.gc(true))
//   options: --url redis://host:port/db, --n 100000
import process from "node:process";
import { AsyncResult, consumerFor, createBackend, type ResultConsumer, tcpDriver } from "../mod.ts";
import {
  collectGarbage,
  fmt,
  heapAfterGc,
  metaPayloads,
  numberFlag,
  printTable,
  reexecWithGcIfNeeded,
  runtimeName,
  sleep,
  startRedis,
  taskIds,
  verdict,
} from "./_util.ts";

if (await reexecWithGcIfNeeded(import.meta.url)) {
  process.exit(process.exitCode ?? 0);
}

const N = numberFlag("n", 100_000);
const MB = 1024 * 1024;

interface Phase {
  name: string;
  subscribeMs: number;
  heapBytes: number;
  rssBytes: number;
  resolveMs: number;
  afterBytes: number;
  serverChannels: number;
}

function infoField(info: string, field: string): number {
  const match = new RegExp(`^${field}:(\\d+)`, "m").exec(info);
  return match ? Number(match[1]) : NaN;
}

async function main(): Promise<void> {
  if (!collectGarbage()) {
    console.log(
      "no GC hook: run `deno run -A --v8-flags=--expose-gc bench/memory_waiters.ts`",
    );
    process.exit(2);
  }
  console.log(`# memory_waiters — ${runtimeName()}, ${fmt(N)} pending waiters`);
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
  // One real payload as a template; each result is the same bytes with its own task id.
  const [templateId] = taskIds(1);
  const template = new TextDecoder().decode(
    (await metaPayloads([templateId!]))[0]!,
  );
  const encoder = new TextEncoder();

  const backend = createBackend(redis.url);
  const consumer = consumerFor(backend) as ResultConsumer;
  await consumer.start();
  await backend.driver.send(["PING"]);

  const phases: Phase[] = [];
  for (const withTimeout of [false, true]) {
    const name = withTimeout ? "asyncResult(id).get({ timeout })" : "asyncResult(id).get()";
    const ids = taskIds(N);
    const baseline = await heapAfterGc();

    const t0 = performance.now();
    let pending: Promise<unknown>[] | null = ids.map((id) =>
      new AsyncResult(id, backend).get(withTimeout ? { timeout: 600_000 } : {})
    );
    while (consumer.subscribedChannels.size < N) await sleep(5);
    await backend.driver.send(["PING"]); // after the initial MGET of every key
    const subscribeMs = performance.now() - t0;
    const info = await admin.send(["INFO", "stats"]);
    const serverChannels = infoField(
      info instanceof Uint8Array ? new TextDecoder().decode(info) : String(info),
      "pubsub_channels",
    );

    const heap = await heapAfterGc();
    const rss = process.memoryUsage().rss;

    // Store every result; all waits resolve.
    const t1 = performance.now();
    for (let start = 0; start < N; start += 1000) {
      const batch: Promise<unknown>[] = [];
      for (let i = start; i < Math.min(N, start + 1000); i++) {
        const key = `celery-task-meta-${ids[i]}`;
        const payload = encoder.encode(template.replace(templateId!, ids[i]!));
        batch.push(
          writer.transaction([["SETEX", key, 600, payload], [
            "PUBLISH",
            key,
            payload,
          ]]),
        );
      }
      await Promise.all(batch);
    }
    await Promise.all(pending);
    const resolveMs = performance.now() - t1;
    pending = null;
    while (consumer.subscribedChannels.size > 0) await sleep(5); // UNSUBSCRIBEs confirmed
    const after = await heapAfterGc();
    phases.push({
      name,
      subscribeMs,
      heapBytes: heap - baseline,
      rssBytes: rss,
      resolveMs,
      afterBytes: after - baseline,
      serverChannels,
    });
    for (let start = 0; start < N; start += 1000) {
      await admin.send([
        "DEL",
        ...ids.slice(start, start + 1000).map((id) => `celery-task-meta-${id}`),
      ]);
    }
  }
  await backend.close();
  await writer.close();
  await admin.close();

  console.log();
  printTable(
    [
      `${fmt(N)} waiters (${runtimeName()})`,
      "heap total",
      "per waiter",
      "RSS",
      "subscribe + MGET",
      "server channels",
      "resolve all",
      "heap after resolve",
    ],
    phases.map((p) => [
      p.name,
      `${(p.heapBytes / MB).toFixed(1)} MB`,
      `${fmt(p.heapBytes / N)} B`,
      `${(p.rssBytes / MB).toFixed(0)} MB`,
      `${fmt(p.subscribeMs)} ms`,
      fmt(p.serverChannels),
      `${fmt(p.resolveMs)} ms`,
      `${(p.afterBytes / MB).toFixed(1)} MB`,
    ]),
  );
  console.log();
  const worst = Math.max(...phases.map((p) => p.heapBytes));
  console.log(
    `goal: ${fmt(N)} pending waiters under 100 MB of heap: ` +
      verdict(
        worst < 100 * MB,
        phases.map((p) => `${(p.heapBytes / MB).toFixed(1)} MB`).join(", "),
      ),
  );
  // An emptied Map/Set may keep its capacity (JSC does, ~100 B per peak entry): allow 200 B per
  // waiter; more means objects outlive the waits they belonged to.
  const leaky = phases.filter((p) => p.afterBytes / N > 200);
  console.log(
    `leak check: after every wait resolved and was dropped, ≤ 200 B per waiter is left: ` +
      verdict(
        leaky.length === 0,
        phases.map((p) =>
          `${p.name}: ${(p.afterBytes / MB).toFixed(1)} MB left (${fmt(p.afterBytes / N)} B/waiter)`
        ).join("; "),
      ),
  );
  await redis.stop();
}

await main();
process.exit(0);
