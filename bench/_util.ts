// Shared helpers of the benchmarks: a private redis-server, argument parsing, statistics, the
// realistic Celery metas the benchmarks store, and the runtime's GC and memory readings.
// Only node: APIs and web globals, so the same file serves Deno and Bun.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { createBackend, type RedisBackend, type TaskRequest } from "../mod.ts";

// ---------------------------------------------------------------------------------------------
// Runtime

interface BunGlobal {
  version: string;
  gc(force: boolean): void;
}
interface DenoGlobal {
  version: { deno: string; v8: string };
  execPath(): string;
}

export const bun: BunGlobal | undefined = (globalThis as { Bun?: BunGlobal }).Bun;
export const deno: DenoGlobal | undefined = (globalThis as { Deno?: DenoGlobal }).Deno;
export const isBun: boolean = bun !== undefined;

/** "Deno 2.9.6" or "Bun 1.4.5". */
export function runtimeName(): string {
  if (bun) return `Bun ${bun.version}`;
  if (deno) return `Deno ${deno.version.deno}`;
  return `Node ${process.version}`;
}

/** The folder holding this file (bench/). */
export const benchDir: string = fileURLToPath(new URL(".", import.meta.url));

/** Python with Celery 5.6.3 and redis-py (override with CELERY56_PYTHON). */
export const celeryPython: string = process.env.CELERY56_PYTHON ??
  fileURLToPath(new URL("../.venv56/bin/python", import.meta.url));

/** Whether a program runs (`--version` or the given arguments exit 0). */
export function runs(program: string, args: string[] = ["--version"]): boolean {
  try {
    return spawnSync(program, args, { stdio: "ignore", timeout: 60_000 })
      .status === 0;
  } catch {
    return false;
  }
}

/** A full GC, or `false` when the runtime does not expose one. */
export function collectGarbage(): boolean {
  if (bun) {
    bun.gc(true);
    return true;
  }
  const gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc !== "function") return false;
  gc();
  gc();
  return true;
}

/** Heap in use after a full GC, in bytes. */
export async function heapAfterGc(): Promise<number> {
  // Let pending microtasks and timers settle first, so only live objects remain.
  for (let i = 0; i < 3; i++) {
    await sleep(20);
    collectGarbage();
  }
  return process.memoryUsage().heapUsed;
}

/**
 * Under Deno or Node without `--expose-gc`, re-runs this script with it (the output is passed
 * through). Returns `true` when the caller should exit (the child did the work).
 */
export async function reexecWithGcIfNeeded(
  scriptUrl: string,
): Promise<boolean> {
  if (bun || typeof (globalThis as { gc?: unknown }).gc === "function") {
    return false;
  }
  if (process.env.BENCH_NO_REEXEC === "1") return false;
  const script = fileURLToPath(scriptUrl);
  const args = process.argv.slice(2);
  const child = spawn(
    deno ? deno.execPath() : process.execPath,
    deno
      ? ["run", "-A", "--v8-flags=--expose-gc", script, ...args]
      // Node: its own flags (such as `--import tsx`) again, plus --expose-gc.
      : [...process.execArgv, "--expose-gc", script, ...args],
    { stdio: "inherit", env: { ...process.env, BENCH_NO_REEXEC: "1" } },
  );
  const code = await new Promise<number>((resolve) => child.on("exit", (c) => resolve(c ?? 1)));
  process.exitCode = code;
  return true;
}

// ---------------------------------------------------------------------------------------------
// Arguments

/** `--name value` or `--name=value` from the command line, else `fallback`. */
export function flag(name: string, fallback?: string): string | undefined {
  const args = process.argv.slice(2);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === `--${name}`) return args[i + 1] ?? "";
    if (arg.startsWith(`--${name}=`)) return arg.slice(name.length + 3);
  }
  return fallback;
}

/** A numeric flag. */
export function numberFlag(name: string, fallback: number): number {
  const value = flag(name);
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n)) {
    throw new TypeError(`--${name} must be a number, got ${value}`);
  }
  return n;
}

/** Whether a boolean flag (`--name`) is present. */
export function hasFlag(name: string): boolean {
  return process.argv.slice(2).includes(`--${name}`);
}

// ---------------------------------------------------------------------------------------------
// redis-server

/** The Redis server a benchmark talks to. */
export interface BenchRedis extends AsyncDisposable {
  host: string;
  port: number;
  /** The database the benchmark uses. */
  db: number;
  /** `redis://host:port/db`. */
  url: string;
  /** Whether this process started the server (and so stops it). */
  owned: boolean;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function canConnect(host: string, port: number): Promise<boolean> {
  return await new Promise<boolean>((resolve) => {
    const socket = new Socket();
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => {
      socket.destroy();
      resolve(false);
    });
    socket.connect(port, host);
  });
}

const children = new Set<ChildProcess>();
let exitHooked = false;
function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  const killAll = () => {
    for (const child of children) child.kill("SIGKILL");
  };
  process.on("exit", killAll);
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      killAll();
      process.exit(130);
    });
  }
}

/** Registers a child process to be killed if the benchmark exits early. */
export function track(child: ChildProcess): ChildProcess {
  hookExit();
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}

/**
 * The server of `--url` (used as is, never stopped), or a fresh redis-server on a free loopback
 * port with persistence off, killed by `stop()` (and on exit).
 */
export async function startRedis(db = 1): Promise<BenchRedis> {
  const url = flag("url");
  if (url !== undefined) {
    const parsed = new URL(url);
    const chosenDb = parsed.pathname.length > 1 ? Number(parsed.pathname.slice(1)) : db;
    const host = parsed.hostname || "127.0.0.1";
    const port = Number(parsed.port || 6379);
    return {
      host,
      port,
      db: chosenDb,
      url: `redis://${host}:${port}/${chosenDb}`,
      owned: false,
      stop: () => Promise.resolve(),
      [Symbol.asyncDispose]: () => Promise.resolve(),
    };
  }
  const bin = process.env.REDIS_SERVER ?? "redis-server";
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "bench-redis-"));
  const child = track(
    spawn(bin, [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
      "--dir",
      dir,
      "--daemonize",
      "no",
      // Room for the pub/sub benchmarks' output buffers.
      "--client-output-buffer-limit",
      "pubsub 0 0 0",
    ], { stdio: ["ignore", "ignore", "inherit"] }),
  );
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const started = Date.now();
  while (!(await canConnect("127.0.0.1", port))) {
    if (child.exitCode !== null) {
      throw new Error(`redis-server exited with ${child.exitCode}`);
    }
    if (Date.now() - started > 10_000) {
      throw new Error("redis-server did not start in 10 s");
    }
    await sleep(20);
  }
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  return {
    host: "127.0.0.1",
    port,
    db,
    url: `redis://127.0.0.1:${port}/${db}`,
    owned: true,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

// ---------------------------------------------------------------------------------------------
// Realistic Celery metas

/** A worker's request for task `i`, with result_extended fields (about 300-byte metas). */
export function requestFor(i: number): TaskRequest {
  return {
    task: "proj.tasks.add",
    args: [i, 2],
    kwargs: {},
    hostname: `celery@worker-${i % 4}`,
    retries: 0,
    deliveryInfo: { routingKey: "celery" },
  };
}

/** The return value of task `i`. */
export function resultFor(i: number): unknown {
  return { total: i + 2 };
}

/** `n` task ids (uuid4 text, as Celery uses). */
export function taskIds(n: number): string[] {
  // Copied into flat strings: Node's randomUUID() returns a tree of ~20 concatenated pieces
  // (~350 B), which V8 flattens on first use, so heap readings taken before and after would
  // differ by the trees.
  return Array.from({ length: n }, () => JSON.parse(`"${crypto.randomUUID()}"`) as string);
}

/**
 * Stores a SUCCESS meta for each id through our backend's `markAsDone` (result_extended), i.e.
 * exactly the bytes a Celery 5.6 worker writes. Returns the mean payload size.
 */
export async function storeMetas(
  url: string,
  ids: readonly string[],
): Promise<number> {
  await using writer = createBackend(url, { resultExtended: true });
  for (let start = 0; start < ids.length; start += 1000) {
    const chunk = ids.slice(start, start + 1000);
    await Promise.all(chunk.map((id, j) => {
      const i = start + j;
      return writer.markAsDone(id, resultFor(i), requestFor(i));
    }));
  }
  let bytes = 0;
  for (let start = 0; start < ids.length; start += 1000) {
    const payloads = await writer.mget(
      ids.slice(start, start + 1000).map((id) => writer.keys.task(id)),
    );
    for (const p of payloads) bytes += p?.length ?? 0;
  }
  return bytes / ids.length;
}

/** The exact stored bytes of a SUCCESS meta for each id, made in memory (nothing is sent). */
export async function metaPayloads(
  ids: readonly string[],
): Promise<Uint8Array[]> {
  const memory: RedisBackend = createBackend("memory://", {
    resultExtended: true,
  });
  const out: Uint8Array[] = [];
  for (let i = 0; i < ids.length; i++) {
    await memory.markAsDone(ids[i]!, resultFor(i), requestFor(i));
    out.push((await memory.get(memory.keys.task(ids[i]!)))!);
  }
  await memory.close();
  return out;
}

// ---------------------------------------------------------------------------------------------
// Statistics and output

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * The steps our waiter takes between subscribing and the clock (a 1 ms poll for the
 * subscription, a PING round trip, a 1 ms pause), for a bare subscriber to take too: this machine
 * wakes slower the longer it idled, ~100 µs per idle ms on a bad day, so unequal idling biases a
 * latency comparison (it did, against ours).
 */
export async function idleAsOursDoes(ping: () => Promise<unknown>): Promise<void> {
  await sleep(1);
  await ping();
  await sleep(1);
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The p-th percentile (0–100), nearest-rank. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(
    sorted.length - 1,
    Math.max(0, Math.ceil((p / 100) * sorted.length) - 1),
  );
  return sorted[rank]!;
}

/** Formats a number with thousands separators and `digits` decimals. */
export function fmt(n: number, digits = 0): string {
  if (!Number.isFinite(n)) return String(n);
  return n.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

/** Prints a Markdown table (so results paste into bench/README.md). */
export function printTable(
  headers: string[],
  rows: (string | number)[][],
): void {
  const cells = rows.map((row) => row.map(String));
  const widths = headers.map((h, i) =>
    Math.max(h.length, ...cells.map((r) => (r[i] ?? "").length))
  );
  const line = (row: string[]) =>
    "| " +
    row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join(" | ") +
    " |";
  console.log(line(headers));
  console.log(
    "| " +
      widths.map((w, i) => (i === 0 ? "-".repeat(w) : "-".repeat(w - 1) + ":"))
        .join(" | ") +
      " |",
  );
  for (const row of cells) console.log(line(row));
}

/** "PASS"/"FAIL" with the numbers that decided it. */
export function verdict(ok: boolean, detail: string): string {
  return `${ok ? "PASS" : "FAIL"} (${detail})`;
}
