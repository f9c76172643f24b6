// Every row of the speed goals (issue #11) in one run, each next to its peer, in interleaved
// rounds (medians), on a private redis-server:
//   get      getTaskMeta ×1,000 in flight   vs ioredis GET + JSON.parse (Deno; the better of
//            default and autopipelining) or Bun's RedisClient GET + JSON.parse (Bun)
//   mget     getTaskMetas of 100 ids, 10 in flight vs ioredis mget / RedisClient.send("MGET")
//            + JSON.parse
//   latency  store (MULTI/SETEX/PUBLISH of a real meta, on another connection) → our waiter's
//            promise resolving, p50, vs a bare subscriber (our driver's openSubscriber, no
//            decoding) receiving the same store's PUBLISH; samples alternate between them
//   memory   heap of 100,000 pending new AsyncResult(id, backend).get() (all subscribed, the
//            initial MGET done), after a full GC, minus the heap before them
//   bundle   a Worker that reads and waits on the edge entry, minified, minus @upstash/redis alone;
//            its floor is the same reads and waits, as hardened, with no API (_edge_bundle.ts)
// Reads and latency also run a floor, the least possible client (_floor_client.ts, parsing only
// and byte-exact; for latency a bare subscriber that only decodes the meta, and one that also
// checks what byte-exact reading needs and hands the meta to a waiting promise): a goal the
// byte-exact floor misses is out of reach for a byte-exact client such as ours.
// Prints the table, writes bench/results/<runtime>.json and redraws bench/results/speed.svg.
//
//   deno run -A bench/speed.ts       bun bench/speed.ts
//   node --import tsx bench/speed.ts (ioredis is Node's peer too; re-runs itself with --expose-gc)
//   options: --rounds 7 --warmup 2 --n 10000 --samples 1000 --waiters 100000
//            --only reads,latency,memory,bundle (a partial run prints, but saves nothing)
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import process from "node:process";
import {
  AsyncResult,
  consumerFor,
  createBackend,
  type RedisBackend,
  type RedisDriver,
  type ResultConsumer,
  type SubscriberHandlers,
  tcpDriver,
} from "../mod.ts";
import { batchedMgets, concurrentGets, type Mode, type Reader } from "./_readers.ts";
import { floorName, floorReader } from "./_floor_client.ts";
import { plainAndExact } from "../src/wire/serialization/kombu_json.ts";
import {
  bundleSize,
  esbuildVersion,
  HARDENED_FLOOR_WORKER,
  READ_AND_WAIT_WORKER,
  UPSTASH_ONLY_WORKER,
} from "./_edge_bundle.ts";
import { type GoalRow, meets, type SpeedResults } from "./_speed_results.ts";
import { writeChart } from "./chart.ts";
import {
  benchDir,
  bun,
  deno,
  flag,
  fmt,
  heapAfterGc,
  idleAsOursDoes,
  isBun,
  median,
  metaPayloads,
  numberFlag,
  printTable,
  reexecWithGcIfNeeded,
  runtimeName,
  sleep,
  startRedis,
  storeMetas,
  taskIds,
} from "./_util.ts";

if (await reexecWithGcIfNeeded(import.meta.url)) process.exit();

const N = numberFlag("n", 10_000);
const ROUNDS = numberFlag("rounds", 7);
const WARMUP = numberFlag("warmup", 2);
const SAMPLES = numberFlag("samples", 1000);
const WAITERS = numberFlag("waiters", 100_000);
const ONLY = flag("only")?.split(",");
const runs = (part: string) => ONLY === undefined || ONLY.includes(part);
const MB = 1_000_000;
const KIB = 1024;

const rows: GoalRow[] = [];
const notes: string[] = [];

function row(
  id: string,
  label: string,
  unit: string,
  value: number,
  goal: number,
  better: "higher" | "lower",
  detail: string,
  limit?: number,
): void {
  rows.push({
    id,
    label,
    unit,
    value,
    goal,
    better,
    pass: meets(value, goal, better),
    detail,
    ...(limit === undefined ? {} : { limit }),
  });
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const started = performance.now();
  while (!condition()) {
    if (performance.now() - started > 120_000) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await sleep(1);
  }
}

// ---- reads -----------------------------------------------------------------------------------

interface BunRedisClient {
  connect(): Promise<void>;
  get(key: string): Promise<string | null>;
  send(command: string, args: string[]): Promise<unknown>;
  close(): void;
}

const parse = (text: string | null) => JSON.parse(text!);
const parseAll = (texts: (string | null)[]) => texts.map(parse);

async function peerReaders(
  redis: { url: string; host: string; port: number; db: number },
  keys: string[],
): Promise<Reader[]> {
  if (isBun) {
    const RedisClient = (bun as unknown as { RedisClient: new (url: string) => BunRedisClient })
      .RedisClient;
    const client = new RedisClient(redis.url);
    await client.connect();
    return [{
      name: "Bun RedisClient",
      one: (i) => client.get(keys[i]!).then(parse),
      many: (from, to) =>
        client.send("MGET", keys.slice(from, to)).then((texts) =>
          parseAll(texts as (string | null)[])
        ),
      close: () => Promise.resolve(client.close()),
    }];
  }
  const IORedis = await import("ioredis").then((m) => m.default, (error) => {
    throw new Error(
      `ioredis, the peer on Deno, is missing: run \`cd bench && npm i\``,
      {
        cause: error,
      },
    );
  });
  return [false, true].map((autoPipelining) => {
    const client = new IORedis({
      ...redis,
      enableAutoPipelining: autoPipelining,
    });
    return {
      name: autoPipelining ? "ioredis (autopipelining)" : "ioredis",
      one: (i: number) => client.get(keys[i]!).then(parse),
      many: (from: number, to: number) => client.mget(keys.slice(from, to)).then(parseAll),
      close: async () => void await client.quit(),
    };
  });
}

/** Results/s of each reader in each mode, per measured round. */
async function measureReads(
  readers: Reader[],
  modes: Mode[],
): Promise<Map<string, Map<string, number[]>>> {
  const rates = new Map<string, Map<string, number[]>>();
  for (const mode of modes) {
    const byReader = new Map<string, number[]>(
      readers.map((r) => [r.name, []]),
    );
    rates.set(mode.key, byReader);
    for (let round = 0; round < WARMUP + ROUNDS; round++) {
      for (let k = 0; k < readers.length; k++) {
        // Rotated, so no client always runs right after another's garbage.
        const reader = readers[(k + round) % readers.length]!;
        const t0 = performance.now();
        const count = await mode.run(reader, N);
        const seconds = (performance.now() - t0) / 1000;
        if (count !== N) {
          throw new Error(`${reader.name} read ${count} of ${N}`);
        }
        if (round >= WARMUP) byReader.get(reader.name)!.push(N / seconds);
      }
    }
  }
  return rates;
}

/** Median µs per call of `fn` over `items` (for the per-result cost notes). */
function microsPerItem<T>(
  items: readonly T[],
  fn: (item: T) => unknown,
): number {
  const times: number[] = [];
  for (let round = 0; round < 15; round++) {
    const t0 = performance.now();
    for (let k = 0; k < 20; k++) for (const item of items) fn(item);
    if (round >= 5) {
      times.push(((performance.now() - t0) * 1000) / (20 * items.length));
    }
  }
  return median(times);
}

async function reads(
  redis: { url: string; host: string; port: number; db: number },
) {
  const ids = taskIds(N);
  const meanSize = await storeMetas(redis.url, ids);
  const keys = ids.map((id) => `celery-task-meta-${id}`);
  const ours = createBackend(redis.url);
  const oursReader: Reader = {
    name: "ours",
    one: (i) => ours.getTaskMeta(ids[i]!),
    many: (from, to) => ours.getTaskMetas(ids.slice(from, to)),
    close: () => ours.close(),
  };
  // Our bytes without decoding: how much of ours is the socket, RESP and bookkeeping.
  const bytesOnly: Reader = {
    name: "ours, bytes only",
    one: (i) => ours.get(keys[i]!).then((p) => ({ status: p ? "SUCCESS" : null })),
    many: (from, to) =>
      ours.mget(keys.slice(from, to)).then((ps) =>
        ps.map((p) => ({ status: p ? "SUCCESS" : null }))
      ),
    close: () => Promise.resolve(),
  };
  const peers = await peerReaders(redis, keys);
  // The least any client could do on this runtime's socket: what bounds the ratios.
  const batch = 100;
  const floors = [
    await floorReader(redis, keys, batch, "bytes"),
    await floorReader(redis, keys, batch, "parse"),
    await floorReader(redis, keys, batch, "exact"),
  ];
  const readers = [oursReader, bytesOnly, ...peers, ...floors];
  const modes = [concurrentGets(1000), batchedMgets(batch, 10)];
  const rates = await measureReads(readers, modes);

  const med = (mode: string, name: string) => median(rates.get(mode)!.get(name)!);
  const peerOf = (mode: string) =>
    peers.reduce((
      best,
      p,
    ) => (med(mode, p.name) > med(mode, best.name) ? p : best));
  const goal = isBun ? 1.0 : 1.5;
  for (const mode of modes) {
    const peer = peerOf(mode.key);
    const ratio = med(mode.key, "ours") / med(mode.key, peer.name);
    const xs = rates.get(mode.key)!.get("ours")!;
    const what = mode.key === "get"
      ? `getTaskMeta ×1,000 in flight vs ${isBun ? "RedisClient GET" : "ioredis GET"} + JSON.parse`
      : `MGET of 100, 10 in flight, vs ${
        isBun ? 'RedisClient.send("MGET")' : "ioredis mget"
      } + JSON.parse`;
    // Ours reads byte-exactly, so the floor that bounds it is the byte-exact one.
    const limit = med(mode.key, floorName("exact")) / med(mode.key, peer.name);
    const parseOnly = med(mode.key, floorName("parse")) / med(mode.key, peer.name);
    row(
      mode.key,
      what,
      "×",
      ratio,
      goal,
      "higher",
      `ours ${fmt(med(mode.key, "ours"))}/s (${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))}), ` +
        `${peer.name} ${fmt(med(mode.key, peer.name))}/s; the byte-exact floor ${
          limit.toFixed(2)
        }× (parsing only ${parseOnly.toFixed(2)}×)`,
      limit,
    );
  }

  // Per-result costs, to show what bounds the read ratios.
  const payloads = (await ours.mget(keys.slice(0, 1000))).map((p) => p!);
  const texts = payloads.map((p) => new TextDecoder().decode(p));
  const parseUs = microsPerItem(texts, (t) => JSON.parse(t));
  const decodeUs = microsPerItem(payloads, (p) => ours.metaFromPayload("x", p));
  for (const mode of modes) {
    const peer = peerOf(mode.key);
    const oursUs = 1e6 / med(mode.key, "ours");
    const peerUs = 1e6 / med(mode.key, peer.name);
    const bytesUs = 1e6 / med(mode.key, "ours, bytes only");
    const floorUs = 1e6 / med(mode.key, floorName("bytes"));
    const floorParseUs = 1e6 / med(mode.key, floorName("parse"));
    const floorExactUs = 1e6 / med(mode.key, floorName("exact"));
    notes.push(
      `${mode.label} (${fmt(meanSize)}-byte metas), µs per result: ours ${oursUs.toFixed(2)}, ` +
        `${peer.name} ${peerUs.toFixed(2)}, ours without decoding ${bytesUs.toFixed(2)}; ` +
        `JSON.parse alone ${parseUs.toFixed(2)}, our decode (kombu JSON + meta checks) ` +
        `${decodeUs.toFixed(2)}. A ${goal}× goal leaves ${
          (peerUs / goal).toFixed(2)
        } µs per result. The floor client (this runtime's socket, reply framing, nothing else): ` +
        `${floorUs.toFixed(2)}, with UTF-8 and JSON.parse ${floorParseUs.toFixed(2)}, so at ` +
        `best ${(peerUs / floorParseUs).toFixed(2)}× for any client that parses; with the ` +
        `byte-exact check too ${floorExactUs.toFixed(2)}, so at best ` +
        `${(peerUs / floorExactUs).toFixed(2)}× for a byte-exact client.`,
    );
  }
  for (const reader of readers) await reader.close();
}

// ---- latency ---------------------------------------------------------------------------------

async function latency(redis: { host: string; port: number; db: number }) {
  const settings = { host: redis.host, port: redis.port, db: redis.db };
  const writer = tcpDriver(settings);
  const bare = tcpDriver(settings);
  // Our driver, with each pub/sub message's arrival timed (to split ours into transport and us).
  const base = tcpDriver(settings);
  let messageAt = 0;
  const driver: RedisDriver = {
    name: base.name,
    send: (command) => base.send(command),
    transaction: (commands) => base.transaction(commands),
    openSubscriber: (handlers: SubscriberHandlers) =>
      base.openSubscriber({
        onMessage: (message) => {
          messageAt = performance.now();
          handlers.onMessage(message);
        },
        ...(handlers.onClose ? { onClose: handlers.onClose } : {}),
      }),
    close: () => base.close(),
    [Symbol.asyncDispose]: () => base.close(),
  };
  const backend: RedisBackend = createBackend(undefined, { driver });
  const consumer = consumerFor(backend) as ResultConsumer;
  await consumer.start();
  let arrivedAt = 0;
  let arrived: (() => void) | undefined;
  // The bare subscriber decodes nothing or, for the floors, only what any waiter must: UTF-8 and
  // JSON.parse of the meta; then, for a byte-exact waiter, the exactness check.
  let decoding: "none" | "parse" | "exact" = "none";
  let parsedIn = 0;
  let checkedIn = 0;
  const text = new TextDecoder();
  const subscriber = await bare.openSubscriber({
    onMessage: (message) => {
      if (decoding !== "none") {
        const start = performance.now();
        const meta = JSON.parse(text.decode(message.payload));
        const parsedAt = performance.now();
        if (decoding === "exact" && !plainAndExact(meta)) {
          throw new Error("the bare subscriber read a meta JSON.parse cannot read exactly");
        }
        if (meta.status !== "SUCCESS") {
          throw new Error("the bare subscriber read a meta that is not SUCCESS");
        }
        parsedIn = parsedAt - start;
        checkedIn = performance.now() - parsedAt;
      }
      arrivedAt = performance.now();
      arrived?.();
    },
  });
  const warm = 50;
  // Four kinds of sample, in turn: ours, the bare subscriber, the bare subscriber that parses,
  // the bare subscriber that parses, checks and resolves a promise (a byte-exact waiter's floor).
  const ids = taskIds(4 * (warm + SAMPLES));
  const payloads = await metaPayloads(ids);
  // Both decodes as warm as a long-running process has them (as the reads leave ours), so that a
  // `--only latency` run compares the same code tiers.
  for (let round = 0; round < 200; round++) {
    for (let i = 0; i < payloads.length; i++) {
      backend.metaFromPayload(ids[i]!, payloads[i]!);
      plainAndExact(JSON.parse(text.decode(payloads[i]!)));
    }
  }
  const store = (i: number) => {
    const key = `celery-task-meta-${ids[i]!}`;
    return writer.transaction([["SETEX", key, 600, payloads[i]!], [
      "PUBLISH",
      key,
      payloads[i]!,
    ]]);
  };
  const ours: number[] = [];
  const oursArrival: number[] = [];
  const oursAfter: number[] = [];
  const floorParsingCost: number[] = [];
  const floorCheckingCost: number[] = [];
  const floor: number[] = [];
  const floorParsing: number[] = [];
  const floorWaiting: number[] = [];
  const stores: Promise<unknown>[] = [];
  for (let i = 0; i < ids.length; i++) {
    const key = `celery-task-meta-${ids[i]!}`;
    const kind = i % 4;
    let t0: number;
    let elapsed: number;
    if (kind === 0) {
      let resolvedAt = 0;
      const done = new AsyncResult(ids[i]!, backend).get({ timeout: 30_000 })
        .then(() => {
          resolvedAt = performance.now();
        });
      await until(() => consumer.subscribedChannels.has(key), "SUBSCRIBE"); // 1 ms polls
      await backend.driver.send(["PING"]); // the MGET after SUBSCRIBE is done
      await sleep(1);
      t0 = performance.now();
      stores.push(store(i));
      await done;
      elapsed = resolvedAt - t0;
      if (i >= 4 * warm) {
        oursArrival.push(messageAt - t0);
        oursAfter.push(resolvedAt - messageAt);
      }
    } else {
      decoding = kind === 1 ? "none" : kind === 2 ? "parse" : "exact";
      await subscriber.subscribe([key]);
      const got = new Promise<void>((resolve) => (arrived = resolve));
      await idleAsOursDoes(() => bare.send(["PING"]));
      t0 = performance.now();
      stores.push(store(i));
      await got;
      // A waiter hears of the meta in a promise reaction, as ours does; the others when it arrives.
      elapsed = (kind === 3 ? performance.now() : arrivedAt) - t0;
      await subscriber.unsubscribe([key]);
    }
    if (i >= 4 * warm) [ours, floor, floorParsing, floorWaiting][kind]!.push(elapsed);
    if (i >= 4 * warm && kind === 2) floorParsingCost.push(parsedIn);
    if (i >= 4 * warm && kind === 3) floorCheckingCost.push(checkedIn);
  }
  await Promise.all(stores);
  const p50 = median(ours);
  const f50 = median(floor);
  const fp50 = median(floorParsing);
  const fw50 = median(floorWaiting);
  row(
    "latency",
    "store → waiter p50 vs a bare subscriber receiving the same PUBLISH",
    "×",
    p50 / f50,
    1.2,
    "lower",
    `ours p50 ${fmt(p50 * 1000)} µs, bare subscriber p50 ${fmt(f50 * 1000)} µs (${SAMPLES} ` +
      `each); a bare subscriber that parses ${(fp50 / f50).toFixed(2)}×, that also checks ` +
      `exactness and resolves a waiter ${(fw50 / f50).toFixed(2)}×`,
    fw50 / f50,
  );
  // Medians of each sample's own split (a difference of two medians misleads on skewed times).
  notes.push(
    `Latency, ours split: store → the message reaches our consumer p50 ` +
      `${fmt(median(oursArrival) * 1000)} µs (the bare subscriber: ${fmt(f50 * 1000)} µs); ` +
      `message → promise resolved p50 ${fmt(median(oursAfter) * 1000)} µs (decoding the meta, ` +
      `settling the wait, get()'s promise chain). The bare subscriber that parses: p50 ` +
      `${fmt(fp50 * 1000)} µs, its UTF-8 and JSON.parse of the meta p50 ` +
      `${fmt(median(floorParsingCost) * 1000)} µs. The byte-exact waiter's floor (that parse, ` +
      `the check that JSON.parse lost no integer and met no kombu marker, a promise resolved): ` +
      `p50 ${fmt(fw50 * 1000)} µs, its check p50 ${fmt(median(floorCheckingCost) * 1000)} µs.`,
  );
  await subscriber.close();
  await backend.close();
  await writer.close();
  await bare.close();
}

// ---- memory ----------------------------------------------------------------------------------

async function memory(redisUrl: string) {
  const ids = taskIds(WAITERS);
  const backend = createBackend(redisUrl);
  const consumer = consumerFor(backend) as ResultConsumer;
  await consumer.start();
  await backend.driver.send(["PING"]);
  const before = await heapAfterGc();
  const waits = ids.map((id) => new AsyncResult(id, backend).get());
  await until(
    () => consumer.subscribedChannels.size === WAITERS,
    "100,000 subscriptions",
  );
  await backend.driver.send(["PING"]); // the initial MGETs were sent before it
  const heap = (await heapAfterGc()) - before;
  for (const wait of waits) wait.catch(() => {}); // close() rejects them
  row(
    "memory",
    `memory of ${fmt(WAITERS)} pending waits (heap after GC)`,
    "MB",
    heap / MB,
    50,
    "lower",
    `${fmt(heap / WAITERS)} B per wait`,
  );
  await backend.close();
}

// ---- bundle ----------------------------------------------------------------------------------

function bundle() {
  const version = esbuildVersion();
  if (version === undefined) {
    notes.push(
      "bundle: esbuild not installed at the root (npm install), row skipped",
    );
    return;
  }
  const worker = bundleSize("read-and-wait", READ_AND_WAIT_WORKER);
  const alone = bundleSize("upstash-only", UPSTASH_ONLY_WORKER);
  const floor = bundleSize("hardened-floor", HARDENED_FLOOR_WORKER);
  const floorKib = (floor.raw - alone.raw) / KIB;
  row(
    "bundle",
    "edge Worker (reads and waits), minified, over @upstash/redis alone",
    "KiB",
    (worker.raw - alone.raw) / KIB,
    40,
    "lower",
    `${(worker.raw / KIB).toFixed(1)} KiB vs ${(alone.raw / KIB).toFixed(1)} KiB ` +
      `(gzip ${(worker.gzip / KIB).toFixed(1)} vs ${
        (alone.gzip / KIB).toFixed(1)
      }), esbuild ${version}; the floor, with no API: +${floorKib.toFixed(1)}`,
    floorKib,
  );
  notes.push(
    `Bundle floor: our HTTP driver, the byte-exact decoding and getTaskMeta()'s meta checks ` +
      `around a bare poll loop, with no backend and no waiting API (bench/_edge_bundle.ts): ` +
      `${(floor.raw / KIB).toFixed(1)} KiB, +${floorKib.toFixed(1)} over @upstash/redis ` +
      `(gzip +${((floor.gzip - alone.gzip) / KIB).toFixed(1)}). What the Worker carries beyond ` +
      `it is the API: createBackend() and waitForResult().`,
  );
}

// ---- run -------------------------------------------------------------------------------------

const runtime = runtimeName();
console.log(`# speed — ${runtime}`);
{
  await using redis = await startRedis();
  if (runs("reads")) await reads(redis);
  if (runs("latency")) await latency(redis);
  if (runs("memory")) await memory(redis.url);
  await redis.stop();
}
if (runs("bundle")) bundle();

const cpus = os.cpus();
const results: SpeedResults = {
  runtime,
  machine: `${cpus.length} × ${cpus[0]?.model.trim() ?? "CPU"}, ${
    (os.totalmem() / 2 ** 30).toFixed(1)
  } GiB, ${os.type()} ${os.release()}`,
  date: new Date().toISOString(),
  rows,
  notes,
};
console.log(`\n${results.machine}, ${results.date}\n`);
printTable(
  ["goal", "measured", "goal", "", "figures"],
  rows.map((r) => [
    r.label,
    r.unit === "×" ? `${r.value.toFixed(2)}×` : `${r.value.toFixed(1)} ${r.unit}`,
    `${r.better === "higher" ? "≥" : "≤"} ${r.unit === "×" ? `${r.goal}×` : `${r.goal} ${r.unit}`}`,
    r.pass ? "PASS" : "FAIL",
    r.detail,
  ]),
);
console.log();
for (const note of notes) console.log(`- ${note}`);
if (ONLY !== undefined) process.exit(0);
mkdirSync(join(benchDir, "results"), { recursive: true });
const file = join(benchDir, "results", `${isBun ? "bun" : deno ? "deno" : "node"}.json`);
writeFileSync(file, JSON.stringify(results, null, 2) + "\n");
console.log(`\nwrote ${file} and ${writeChart()}`);
process.exit(0);
