// Real Python Celery for interop tests: a worker process and a one-shot CLI harness
// (tests/python/harness.py), run under each installed Celery version.
//
// Redis database layout on the test's redis-server (`redisUrl` = `redis://host:port`, no db):
//   db 0 — the broker (task queues, kombu bindings, pidbox/control)  → BROKER_URL
//   db 1 — the result backend (`celery-task-meta-*` etc.)            → RESULT_BACKEND
// Use `celeryUrls(redisUrl).resultUrl` (or db `CELERY_RESULT_DB`) for the TypeScript side.
// Pub/sub channels are not per-db in Redis: result PUBLISHes on `celery-task-meta-<id>` reach
// subscribers connected to any db.
//
// Only node: APIs are used, so the helpers run under Deno and Bun alike. Process output is
// captured, never printed; it is attached to errors (and available via `worker.output()`).
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import process from "node:process";
import { celeryPythons, exists } from "./_env.ts";

/** Celery minor versions the tests run against. */
export type CeleryVersion = "5.2" | "5.6";
export const celeryVersions: readonly CeleryVersion[] = ["5.2", "5.6"];

/** Absolute path of the Python harness. */
export const harnessPath: string = fileURLToPath(new URL("./python/harness.py", import.meta.url));

/** Database numbers used on the test redis-server (see the header comment). */
export const CELERY_BROKER_DB = 0;
export const CELERY_RESULT_DB = 1;

/** Broker and result-backend URLs for a redis-server base URL (a trailing `/db` is dropped). */
export function celeryUrls(redisUrl: string): { brokerUrl: string; resultUrl: string } {
  const base = redisUrl.replace(/\/\d*$/, "");
  return { brokerUrl: `${base}/${CELERY_BROKER_DB}`, resultUrl: `${base}/${CELERY_RESULT_DB}` };
}

const availability = new Map<CeleryVersion, boolean>();

/**
 * True when the interpreter for `version` exists and imports `celery` and `redis`, with
 * `celery.__version__` in that minor series. Cached per process.
 */
export function celeryAvailable(version: CeleryVersion): boolean {
  const cached = availability.get(version);
  if (cached !== undefined) return cached;
  const python = celeryPythons[version];
  let ok = false;
  if (exists(python)) {
    const check = spawnSync(python, [
      "-c",
      `import sys, celery, redis; sys.exit(0 if celery.__version__.startswith("${version}.") else 3)`,
    ], { stdio: "ignore", timeout: 60_000 });
    ok = check.status === 0;
  }
  availability.set(version, ok);
  return ok;
}

/** App configuration passed to celery_app.py through the environment. */
export interface CeleryEnvOptions {
  /** `result_serializer` (default `json`). */
  serializer?: "json" | "msgpack";
  /** `result_expires` in seconds; `null` for no TTL (plain SET). Default: Celery's 86400. */
  resultExpires?: number | null;
  /** `timezone` setting (affects `date_done` on Celery >= 5.5). */
  timezone?: string;
  /** `result_backend_transport_options.global_keyprefix` (ignored by Celery 5.2). */
  globalKeyprefix?: string;
  /** Extra environment variables. */
  env?: Record<string, string>;
}

function celeryEnv(redisUrl: string, options: CeleryEnvOptions): Record<string, string> {
  const { brokerUrl, resultUrl } = celeryUrls(redisUrl);
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  Object.assign(env, {
    BROKER_URL: brokerUrl,
    RESULT_BACKEND: resultUrl,
    RESULT_SERIALIZER: options.serializer ?? "json",
    PYTHONUNBUFFERED: "1",
    PYTHONDONTWRITEBYTECODE: "1", // keep tests/python free of __pycache__
    PYTHONWARNINGS: "ignore",
  });
  if (options.resultExpires !== undefined) {
    env.RESULT_EXPIRES = options.resultExpires === null ? "none" : String(options.resultExpires);
  }
  if (options.timezone !== undefined) env.CELERY_TIMEZONE = options.timezone;
  if (options.globalKeyprefix !== undefined) env.GLOBAL_KEYPREFIX = options.globalKeyprefix;
  Object.assign(env, options.env ?? {});
  return env;
}

/** Keeps the last `limit` characters of a stream. */
class Tail {
  #text = "";
  readonly limit: number;
  constructor(limit = 64 * 1024) {
    this.limit = limit;
  }
  push(chunk: unknown): void {
    this.#text += String(chunk);
    if (this.#text.length > this.limit) this.#text = this.#text.slice(-this.limit);
  }
  get text(): string {
    return this.#text;
  }
}

export interface CeleryWorkerOptions extends CeleryEnvOptions {
  /** Worker node name (the `worker` field of extended results). Default `harness-<v>@localhost`. */
  hostname?: string;
  /** Pool (`solo` default; `prefork` is needed for `revoke --terminate`). */
  pool?: "solo" | "prefork" | "threads";
  concurrency?: number;
  /** Comma-separated queues to consume (default: `celery`). */
  queues?: string;
  loglevel?: string;
  /** How long to wait for the `worker_ready` signal (default 30 s). */
  readyTimeoutMs?: number;
}

/** A running Celery worker; disposal kills it (and its pool children) and waits for exit. */
export interface CeleryWorker extends AsyncDisposable {
  readonly version: CeleryVersion;
  readonly hostname: string;
  readonly pid: number;
  readonly brokerUrl: string;
  readonly resultUrl: string;
  /** Captured stdout + stderr (last 64 KiB), for failure messages. */
  output(): string;
  /** True once the process has exited. */
  readonly exited: boolean;
  /** SIGTERM (warm shutdown; SIGKILL after `graceMs`, default 10 s) or another signal. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal); // the worker leads its own process group (detached)
  } catch {
    try {
      child.kill(signal);
    } catch { /* already gone */ }
  }
}

function exitPromise(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

/** Starts `harness.py worker` for `version` against `redisUrl` (db layout: see header). */
export async function startCeleryWorker(
  version: CeleryVersion,
  redisUrl: string,
  options: CeleryWorkerOptions = {},
): Promise<CeleryWorker> {
  const python = celeryPythons[version];
  const hostname = options.hostname ?? `harness-${version}@localhost`;
  const args = [
    harnessPath,
    "worker",
    "--hostname",
    hostname,
    "--pool",
    options.pool ?? "solo",
    "--concurrency",
    String(options.concurrency ?? 1),
    "--loglevel",
    options.loglevel ?? "WARNING",
    "--exit-on-stdin-eof",
  ];
  if (options.queues) args.push("--queues", options.queues);
  const { brokerUrl, resultUrl } = celeryUrls(redisUrl);
  const child = spawn(python, args, {
    env: celeryEnv(redisUrl, options),
    stdio: ["pipe", "pipe", "pipe"],
    detached: true,
  });
  const out = new Tail();
  const exited = exitPromise(child);
  let exitedFlag = false;
  void exited.then(() => (exitedFlag = true));

  const ready = new Promise<void>((resolve, reject) => {
    let buffered = "";
    child.stdout!.on("data", (chunk) => {
      out.push(chunk);
      buffered += String(chunk);
      if (buffered.split("\n").some((line) => line.trim() === "ready")) resolve();
    });
    child.stderr!.on("data", (chunk) => out.push(chunk));
    child.once("error", (e) => reject(new Error(`cannot start ${python}: ${e.message}`)));
    child.once("exit", (code, signal) =>
      reject(
        new Error(
          `Celery ${version} worker exited before ready (code ${code}, signal ${signal}):\n${out.text}`,
        ),
      ));
  });
  // Ignore EPIPE if the worker dies while we still hold stdin.
  child.stdin!.on("error", () => {});

  const timeoutMs = options.readyTimeoutMs ?? 30_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new Error(`Celery ${version} worker not ready within ${timeoutMs} ms:\n${out.text}`),
        ),
      timeoutMs,
    );
  });
  try {
    await Promise.race([ready, timeout]);
  } catch (e) {
    killGroup(child, "SIGKILL");
    await exited;
    throw e;
  } finally {
    clearTimeout(timer);
  }

  const stop = async (signal: NodeJS.Signals = "SIGTERM", graceMs = 10_000) => {
    if (exitedFlag) return;
    killGroup(child, signal);
    if (signal !== "SIGKILL") {
      let graceTimer: ReturnType<typeof setTimeout> | undefined;
      const grace = new Promise<void>((resolve) => {
        graceTimer = setTimeout(() => {
          killGroup(child, "SIGKILL");
          resolve();
        }, graceMs);
      });
      await Promise.race([exited, grace]);
      clearTimeout(graceTimer);
    }
    await exited;
    child.stdin?.destroy();
  };

  return {
    version,
    hostname,
    pid: child.pid!,
    brokerUrl,
    resultUrl,
    output: () => out.text,
    get exited() {
      return exitedFlag;
    },
    stop,
    async [Symbol.asyncDispose]() {
      await stop("SIGKILL");
    },
  };
}

export interface HarnessOptions extends CeleryEnvOptions {
  /** Kill the harness and reject after this long (default 60 s). */
  timeoutMs?: number;
}

/**
 * Runs one harness subcommand (`send`, `wait`, `read`, `revoke`, `forget`, `encode-meta`, `store`,
 * `save-group`, `restore-group`, `parse-url`, `versions`) and resolves with its JSON output.
 * Rejects with the harness's stderr when it exits non-zero.
 */
export function harness(
  version: CeleryVersion,
  redisUrl: string,
  ...args: string[]
): Promise<unknown> {
  return runHarness(version, redisUrl, args);
}

/** `harness` with app options (serializer, expires, ...). */
export function runHarness(
  version: CeleryVersion,
  redisUrl: string,
  args: readonly string[],
  options: HarnessOptions = {},
): Promise<unknown> {
  const python = celeryPythons[version];
  const label = `harness ${args[0] ?? ""} (Celery ${version})`;
  return new Promise((resolve, reject) => {
    const child = spawn(python, [harnessPath, ...args], {
      env: celeryEnv(redisUrl, options),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    const stderr = new Tail();
    child.stdout!.setEncoding("utf8");
    child.stdout!.on("data", (chunk) => (stdout += chunk));
    child.stderr!.on("data", (chunk) => stderr.push(chunk));
    const timeoutMs = options.timeoutMs ?? 60_000;
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("error", (e) => {
      clearTimeout(timer);
      reject(new Error(`${label}: cannot start ${python}: ${e.message}`));
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) {
        const lines = stderr.text.trimEnd().split("\n");
        const last = lines[lines.length - 1] ?? "";
        const why = signal === "SIGKILL" ? `killed after ${timeoutMs} ms` : `exit code ${code}`;
        reject(new Error(`${label} failed (${why}): ${last}\n${stderr.text}`));
        return;
      }
      try {
        resolve(JSON.parse(stdout));
      } catch {
        reject(new Error(`${label}: output is not JSON:\n${stdout}\n${stderr.text}`));
      }
    });
  });
}

// ---- JSON shapes printed by the harness (see tests/python/harness.py for the typed encoding) ----

/** A Python value: plain JSON, or `{py: tag, value}` markers, or `{exception: {...}}`. */
export type PyValue = unknown;

/** How the harness prints an exception instance. */
export interface PyException {
  exception: {
    class: string;
    qualname: string;
    module: string;
    args: PyValue[];
    /** True when the class *is* the Python builtin of that name (e.g. ValueError). */
    is_instance_of_builtin: boolean;
    str: string;
    bases: string[];
  };
}

/** Output of `read` and `wait`: what `AsyncResult(id)` exposes, plus the raw stored value. */
export interface HarnessRead {
  id: string;
  state: string;
  result: PyValue;
  traceback: string | null;
  /** The datetime Python parsed from `date_done`: isoformat and `repr(tzinfo)`. */
  date_done: { iso: string | null; tzinfo: string; type: string } | null;
  name: string | null;
  args: PyValue;
  kwargs: PyValue;
  worker: string | null;
  retries: number | null;
  queue: string | null;
  /** `repr()` of each child result, or null. */
  children: string[] | null;
  key: string;
  /** The raw value (GET), one char per byte (latin-1); null when the key does not exist. */
  raw: string | null;
  ttl: number;
}

/** Input of `encode-meta` / `store` (JSON.stringify it). */
export interface HarnessStoreSpec {
  task_id: string;
  state?: string;
  result?: PyValue;
  traceback?: string | null;
  /** Freeze the clock used for `date_done` (isoformat; naive = UTC). */
  now?: string;
  request?: {
    task?: string;
    args?: PyValue[];
    kwargs?: Record<string, PyValue>;
    hostname?: string;
    retries?: number;
    delivery_info?: { routing_key?: string | null };
    group?: string | null;
    parent_id?: string | null;
    /** Result tuples (`as_tuple()` form), rebuilt with `result_from_tuple`. */
    children?: unknown[];
    [field: string]: unknown;
  } | null;
}

/** Output of `encode-meta` (no `ttl`) and `store`. */
export interface HarnessStored {
  key: string;
  raw: string;
  ttl?: number;
}

/** The bytes behind a harness `raw` string (one char per byte). */
export function rawBytes(raw: string): Uint8Array {
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  return bytes;
}
