// Real Python Celery for the canvas (chord, chain, group) interop tests, through
// tests/python/canvas_client.py: a worker that can run list-mode chords, and one long-lived Python
// client process answering JSON commands (starting Python per command costs ~0.4 s).
//
// Only node: APIs, so the helpers run under Deno and Bun alike. Process output is captured and
// attached to errors, never printed.
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import process from "node:process";
import { celeryUrls, type CeleryVersion } from "./_celery.ts";
import { celeryPythons } from "./_env.ts";

const pythonDir = fileURLToPath(new URL("./python/", import.meta.url));

function pythonEnv(redisUrl: string): Record<string, string> {
  const { brokerUrl, resultUrl } = celeryUrls(redisUrl);
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  return {
    ...env,
    BROKER_URL: brokerUrl,
    RESULT_BACKEND: resultUrl,
    RESULT_SERIALIZER: "json",
    PYTHONUNBUFFERED: "1",
    PYTHONDONTWRITEBYTECODE: "1",
    PYTHONWARNINGS: "ignore",
  };
}

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    child.kill("SIGKILL");
  }
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

/** A running canvas worker; disposal kills its process group. */
export interface CanvasWorker extends AsyncDisposable {
  output(): string;
}

/** Options of {@linkcode startCanvasWorker}. */
export interface CanvasWorkerOptions {
  /** Chords in list mode (`result_chord_ordered = False`). Default: ordered. */
  list?: boolean;
  /** Comma-separated queues. Default `celery`. */
  queues?: string;
  hostname?: string;
}

/** Starts `canvas_client.py worker` (harness.py's solo worker) and waits until it is ready. */
export async function startCanvasWorker(
  version: CeleryVersion,
  redisUrl: string,
  options: CanvasWorkerOptions = {},
): Promise<CanvasWorker> {
  const args = [
    "canvas_client.py",
    "worker",
    ...(options.list ? ["--list"] : []),
    "--hostname",
    options.hostname ?? `canvas-${version}@localhost`,
    "--queues",
    options.queues ?? "celery",
    "--exit-on-stdin-eof",
  ];
  const child = spawn(celeryPythons[version], args, {
    cwd: pythonDir,
    env: pythonEnv(redisUrl),
    stdio: ["pipe", "pipe", "pipe"],
    detached: true,
  });
  child.stdin!.on("error", () => {});
  let out = "";
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.on("data", (chunk) => {
      out += String(chunk);
      if (out.split("\n").some((line) => line.trim() === "ready")) resolve();
    });
    child.stderr!.on("data", (chunk) => (out += String(chunk)));
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`canvas worker exited (${code}):\n${out}`)));
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      ready,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`canvas worker not ready:\n${out}`)), 30_000);
      }),
    ]);
  } catch (error) {
    killGroup(child);
    await exited(child);
    throw error;
  } finally {
    clearTimeout(timer);
  }
  return {
    output: () => out.slice(-64 * 1024),
    async [Symbol.asyncDispose]() {
      killGroup(child);
      await exited(child);
      child.stdin?.destroy();
    },
  };
}

/** A long-lived `canvas_client.py serve` process: one JSON command at a time. */
export interface CanvasClient extends AsyncDisposable {
  call<T = unknown>(cmd: string, args?: Record<string, unknown>): Promise<T>;
}

/** Starts `canvas_client.py serve` for the Celery `version`. */
export function startCanvasClient(version: CeleryVersion, redisUrl: string): CanvasClient {
  const child = spawn(celeryPythons[version], ["canvas_client.py", "serve"], {
    cwd: pythonDir,
    env: pythonEnv(redisUrl),
    stdio: ["pipe", "pipe", "pipe"],
  });
  child.stdin!.on("error", () => {});
  let stderr = "";
  let buffered = "";
  const waiting: { resolve: (v: unknown) => void; reject: (e: Error) => void; cmd: string }[] = [];
  child.stderr!.on("data", (chunk) => (stderr = (stderr + String(chunk)).slice(-16 * 1024)));
  child.stdout!.setEncoding("utf8");
  child.stdout!.on("data", (chunk: string) => {
    buffered += chunk;
    let newline;
    while ((newline = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      const next = waiting.shift();
      if (!next) continue;
      const answer = JSON.parse(line) as { ok?: unknown; error?: string; traceback?: string };
      if ("error" in answer) {
        next.reject(new Error(`canvas_client ${next.cmd}: ${answer.error}\n${answer.traceback}`));
      } else next.resolve(answer.ok);
    }
  });
  child.once("exit", (code) => {
    for (const w of waiting.splice(0)) {
      w.reject(new Error(`canvas_client exited (${code}) during ${w.cmd}:\n${stderr}`));
    }
  });
  let queue = Promise.resolve();
  return {
    call<T>(cmd: string, args: Record<string, unknown> = {}): Promise<T> {
      const result = queue.then(() =>
        new Promise<T>((resolve, reject) => {
          waiting.push({ resolve: resolve as (v: unknown) => void, reject, cmd });
          child.stdin!.write(JSON.stringify({ cmd, ...args }) + "\n");
        })
      );
      queue = result.then(() => {}, () => {});
      return result;
    },
    async [Symbol.asyncDispose]() {
      child.stdin!.end();
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited(child);
      clearTimeout(timer);
    },
  };
}
