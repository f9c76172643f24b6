// Reading stored results: 10,000 Celery metas (about 300 bytes, result_extended, written by our
// markAsDone so the bytes are Celery's) read back and decoded, by:
//   - ours:        backend.getTaskMeta(id) (GET + kombu JSON + meta checks), backend.getTaskMetas(ids)
//   - ioredis:     get(key) + JSON.parse, mget(keys) + JSON.parse; default options and
//                  enableAutoPipelining (the better of the two is the bar)
//   - Bun native:  Bun's RedisClient get/mget + JSON.parse (under Bun only)
//   - Python:      Celery 5.6's backend.get_task_meta(id, cache=False), a 3 s loop (for scale)
//   - Node:        ioredis on Node 20 (a subprocess, same workloads; optional)
// Workloads: GETs with 1,000 in flight at a time; MGETs of 100 keys, 10 in flight (1,000 keys in
// flight, like the GETs); MGETs of 100 keys one at a time. Every client runs every workload in
// interleaved rounds (each round reads all 10,000 once); the table shows medians.
//
//   deno run -A bench/read_results.ts       bun bench/read_results.ts
//   node --import tsx bench/read_results.ts (ioredis then runs in the same process)
//   options: --url redis://host:port/db (use that server instead of starting one), --rounds 9,
//            --n 10000, --no-python, --no-node
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { createBackend } from "../mod.ts";
import { batchedMgets, concurrentGets, type Mode, type Reader } from "./_readers.ts";
import {
  benchDir,
  bun,
  celeryPython,
  fmt,
  hasFlag,
  isBun,
  median,
  numberFlag,
  printTable,
  runs,
  runtimeName,
  startRedis,
  storeMetas,
  taskIds,
  track,
  verdict,
} from "./_util.ts";

const N = numberFlag("n", 10_000);
const ROUNDS = numberFlag("rounds", 9);
const WARMUP = numberFlag("warmup", 3);
const PY_SECONDS = numberFlag("python-seconds", 3);

type IORedisClass = typeof import("ioredis").default;

async function loadIORedis(): Promise<IORedisClass | undefined> {
  try {
    return (await import("ioredis")).default;
  } catch (error) {
    console.error(
      `ioredis not found (${(error as Error).message.split("\n")[0]}): run \`cd bench && npm i\``,
    );
    return undefined;
  }
}

interface BunRedisClient {
  connect(): Promise<void>;
  get(key: string): Promise<string | null>;
  mget(...keys: string[]): Promise<(string | null)[]>;
  close(): void;
}

function oursReader(url: string, ids: string[]): Reader {
  const backend = createBackend(url);
  return {
    name: "ours",
    one: (i) => backend.getTaskMeta(ids[i]!),
    many: (from, to) => backend.getTaskMetas(ids.slice(from, to)),
    close: () => backend.close(),
  };
}

function ioredisReader(
  IORedis: IORedisClass,
  redis: { host: string; port: number; db: number },
  keys: string[],
  autoPipelining: boolean,
): Reader {
  const client = new IORedis({
    host: redis.host,
    port: redis.port,
    db: redis.db,
    enableAutoPipelining: autoPipelining,
  });
  const parse = (text: string | null) => JSON.parse(text!);
  const parseAll = (texts: (string | null)[]) => texts.map(parse);
  return {
    name: autoPipelining ? "ioredis (autopipelining)" : "ioredis",
    one: (i) => client.get(keys[i]!).then(parse),
    many: (from, to) => client.mget(keys.slice(from, to)).then(parseAll),
    close: async () => {
      await client.quit();
    },
  };
}

async function bunReader(url: string, keys: string[]): Promise<Reader> {
  const RedisClient = (bun as unknown as { RedisClient: new (url: string) => BunRedisClient })
    .RedisClient;
  const client = new RedisClient(url);
  await client.connect();
  const parse = (text: string | null) => JSON.parse(text!);
  const parseAll = (texts: (string | null)[]) => texts.map(parse);
  return {
    name: "Bun RedisClient",
    one: (i) => client.get(keys[i]!).then(parse),
    many: (from, to) => client.mget(...keys.slice(from, to)).then(parseAll),
    close: () => Promise.resolve(client.close()),
  };
}

/** Runs a child process to completion; resolves with its stdout (rejects on a non-zero exit). */
function runChild(
  program: string,
  args: string[],
  timeoutMs: number,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = track(
      spawn(program, args, { stdio: ["ignore", "pipe", "pipe"] }),
    );
    let out = "";
    let err = "";
    child.stdout!.on("data", (d) => (out += d));
    child.stderr!.on("data", (d) => (err += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("exit", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else {reject(
          new Error(
            `${program} exited with ${code}: ${err.trim().slice(-500)}`,
          ),
        );}
    });
  });
}

async function main(): Promise<void> {
  console.log(
    `# read_results — ${runtimeName()}, ${N.toLocaleString("en-US")} results`,
  );
  const IORedis = await loadIORedis();
  await using redis = await startRedis();
  console.log(
    `redis: ${redis.url}${redis.owned ? " (started for this run)" : ""}`,
  );

  const ids = taskIds(N);
  const meanSize = await storeMetas(redis.url, ids);
  console.log(
    `stored ${fmt(N)} metas via markAsDone(resultExtended), mean ${fmt(meanSize)} bytes`,
  );
  const keys = ids.map((id) => `celery-task-meta-${id}`);

  const readers: Reader[] = [oursReader(redis.url, ids)];
  if (IORedis) {
    readers.push(ioredisReader(IORedis, redis, keys, false));
    readers.push(ioredisReader(IORedis, redis, keys, true));
  }
  if (isBun) readers.push(await bunReader(redis.url, keys));

  // Sanity: ours decodes to what JSON.parse gives for a plain meta.
  {
    const ours = readers[0]!;
    const a = await ours.one(0);
    const b = JSON.parse(
      new TextDecoder().decode((await createBackendGet(redis.url, keys[0]!))!),
    );
    if (JSON.stringify(a) !== JSON.stringify(b)) {
      throw new Error(
        `ours and JSON.parse disagree:\n${JSON.stringify(a)}\n${JSON.stringify(b)}`,
      );
    }
  }

  const modes: Mode[] = [
    concurrentGets(1000),
    batchedMgets(100, 10),
    batchedMgets(100, 1),
  ];
  // rates[mode][reader] = results/s of each round
  const rates = new Map<string, Map<string, number[]>>();
  for (const mode of modes) {
    const byReader = new Map<string, number[]>();
    rates.set(mode.key, byReader);
    for (const reader of readers) byReader.set(reader.name, []);
    for (let round = 0; round < WARMUP + ROUNDS; round++) {
      // Rotate the order so no client always runs right after another's garbage.
      for (let k = 0; k < readers.length; k++) {
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
  for (const reader of readers) await reader.close();

  // Python Celery, for scale (after the in-process clients, so it has the CPU to itself).
  let python: number | undefined;
  let pythonNote = "";
  const dir = mkdtempSync(join(tmpdir(), "bench-read-"));
  const idsFile = join(dir, "ids.txt");
  writeFileSync(idsFile, ids.join("\n"));
  if (
    !hasFlag("no-python") && runs(celeryPython, ["-c", "import celery, redis"])
  ) {
    try {
      const out = await runChild(celeryPython, [
        join(benchDir, "_celery_read.py"),
        "--url",
        redis.url,
        "--ids",
        idsFile,
        "--seconds",
        String(PY_SECONDS),
      ], 60_000);
      const result = JSON.parse(out.trim().split("\n").pop()!);
      python = result.count / result.seconds;
      pythonNote = `Celery ${result.celery}`;
    } catch (error) {
      pythonNote = `failed: ${(error as Error).message}`;
    }
  } else {
    pythonNote = "skipped";
  }

  // ioredis on Node (optional).
  let node: Record<string, Record<string, number>> | undefined;
  let nodeNote = "";
  // On Node, ioredis already ran in this process: no subprocess.
  const onNode = !isBun && !("Deno" in globalThis);
  if (!onNode && !hasFlag("no-node") && IORedis && runs("node")) {
    try {
      const out = await runChild("node", [
        join(benchDir, "_node_ioredis.mjs"),
        "--host",
        redis.host,
        "--port",
        String(redis.port),
        "--db",
        String(redis.db),
        "--ids",
        idsFile,
        "--rounds",
        String(ROUNDS),
        "--warmup",
        String(WARMUP),
      ], 120_000);
      const parsed = JSON.parse(out.trim().split("\n").pop()!);
      node = parsed.rates;
      nodeNote = `Node ${parsed.node}`;
    } catch (error) {
      nodeNote = `failed: ${(error as Error).message}`;
    }
  }
  rmSync(dir, { recursive: true, force: true });
  if (!redis.owned) {
    // On a --url server, remove what this run stored.
    await using cleaner = createBackend(redis.url);
    for (let start = 0; start < N; start += 1000) {
      await cleaner.driver.send(["DEL", ...keys.slice(start, start + 1000)]);
    }
  }

  // ---- Report --------------------------------------------------------------------------------
  const names = readers.map((r) => r.name);
  const headers = ["results/s (median)", ...modes.map((m) => m.label)];
  const rows: (string | number)[][] = names.map((name) => [
    name === "ours" ? `ours (${runtimeName()})` : `${name} (${runtimeName()})`,
    ...modes.map((m) => fmt(median(rates.get(m.key)!.get(name)!))),
  ]);
  if (node) {
    for (const variant of ["ioredis", "ioredis (autopipelining)"]) {
      rows.push([
        `${variant} (${nodeNote})`,
        ...modes.map((m) => fmt(node![m.key]?.[variant] ?? NaN)),
      ]);
    }
  }
  if (python !== undefined) {
    rows.push([`Python ${pythonNote} get_task_meta`, fmt(python), "—", "—"]);
  }
  console.log();
  printTable(headers, rows);
  if (python === undefined) console.log(`Python Celery: ${pythonNote}`);
  if (!node && nodeNote) console.log(`ioredis on Node: ${nodeNote}`);

  const med = (mode: string, name: string) => median(rates.get(mode)!.get(name) ?? []);
  const ratioRows: (string | number)[][] = [];
  const ratio = (
    a: number,
    b: number,
  ) => (Number.isFinite(a / b) ? `${(a / b).toFixed(2)}×` : "—");
  const bestIoredis = (mode: string) =>
    Math.max(med(mode, "ioredis"), med(mode, "ioredis (autopipelining)"));
  if (IORedis) {
    ratioRows.push([
      `ours / best ioredis (${runtimeName()})`,
      ...modes.map((m) => ratio(med(m.key, "ours"), bestIoredis(m.key))),
    ]);
  }
  if (node) {
    ratioRows.push([
      `ours (${runtimeName()}) / best ioredis (${nodeNote})`,
      ...modes.map((m) =>
        ratio(
          med(m.key, "ours"),
          Math.max(
            node![m.key]?.["ioredis"] ?? NaN,
            node![m.key]?.["ioredis (autopipelining)"] ?? NaN,
          ),
        )
      ),
    ]);
  }
  if (isBun) {
    ratioRows.push([
      "ours / Bun RedisClient",
      ...modes.map((m) => ratio(med(m.key, "ours"), med(m.key, "Bun RedisClient"))),
    ]);
  }
  if (python !== undefined) {
    ratioRows.push([
      "ours / Python Celery get_task_meta",
      ...modes.map((m) => ratio(med(m.key, "ours"), python!)),
    ]);
  }
  console.log();
  printTable(["ratio", ...modes.map((m) => m.label)], ratioRows);

  console.log();
  const spread = (name: string, mode: string) => {
    const xs = rates.get(mode)!.get(name)!;
    return `${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))}`;
  };
  console.log(`ranges over ${ROUNDS} rounds (results/s):`);
  for (const name of names) {
    console.log(
      `  ${name}: ` +
        modes.map((m) => `${m.key} ${spread(name, m.key)}`).join(", "),
    );
  }

  console.log();
  if (isBun) {
    const ok = modes.slice(0, 2).every((m) => med(m.key, "ours") >= med(m.key, "Bun RedisClient"));
    console.log(
      `goal (Bun): ours at least on par with Bun's RedisClient (GET and MGET): ` +
        verdict(
          ok,
          modes.slice(0, 2).map((m) =>
            `${m.key} ${ratio(med(m.key, "ours"), med(m.key, "Bun RedisClient"))}`
          ).join(", "),
        ),
    );
  } else if (IORedis) {
    const ok = modes.slice(0, 2).every((m) => med(m.key, "ours") >= 1.5 * bestIoredis(m.key));
    console.log(
      `goal (${runtimeName()}): ours at least 1.5× ioredis (GET and MGET): ` +
        verdict(
          ok,
          modes.slice(0, 2).map((m) => `${m.key} ${ratio(med(m.key, "ours"), bestIoredis(m.key))}`)
            .join(", "),
        ),
    );
  }
  await redis.stop();
}

/** One raw GET through our driver (for the sanity check). */
async function createBackendGet(
  url: string,
  key: string,
): Promise<Uint8Array | null> {
  await using backend = createBackend(url);
  return await backend.get(key);
}

await main();
process.exit(0);
