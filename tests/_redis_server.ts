// A real redis-server for tests, started on a free loopback port and stopped by disposal.
// Uses node: APIs, which both Deno and Bun provide, so the same helper serves both runtimes.
import { type ChildProcess, spawn } from "node:child_process";
import { createServer, Socket } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { redisServerBin } from "./_env.ts";

/** A running redis-server owned by a test. */
export interface RedisServer extends AsyncDisposable {
  readonly port: number;
  readonly host: string;
  /** `redis://127.0.0.1:<port>` (with `/db` appended by callers as needed). */
  readonly url: string;
  /** The working directory (for unix sockets, dumps). */
  readonly dir: string;
  /** Stops the server (SIGTERM by default, SIGKILL to simulate a crash). */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port (after `stop`). */
  restart(): Promise<void>;
  /** Pauses the process (SIGSTOP): the socket stays open but nothing answers. */
  pause(): void;
  /** Resumes a paused process (SIGCONT). */
  resume(): void;
}

/** Extra `redis-server` arguments, e.g. `["--requirepass", "s3cret"]`. */
export interface RedisServerOptions {
  args?: string[];
}

/** Finds a free TCP port on loopback. */
export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

// Deno's node:child_process ignores every ChildProcess.kill() after the first, so signals go
// through process.kill(pid) instead.
function signal(child: ChildProcess | undefined, name: NodeJS.Signals): void {
  if (child?.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(child.pid, name);
  } catch {
    // Already gone.
  }
}

// Ready means answering PING with anything but "-LOADING" (PONG, or NOAUTH when a password is set):
// an open port is not enough, since a restarted server with persistence replies "-LOADING" until
// its dataset is back in memory.
async function waitUntilServing(port: number, deadlineMs: number): Promise<void> {
  const started = Date.now();
  while (Date.now() - started < deadlineMs) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = new Socket();
      let reply = "";
      const done = (value: boolean) => {
        socket.destroy();
        resolve(value);
      };
      socket.setTimeout(1000, () => done(false));
      socket.once("connect", () => socket.write("PING\r\n"));
      socket.on("data", (chunk) => {
        reply += chunk.toString();
        if (reply.includes("\r\n")) done(!reply.startsWith("-LOADING"));
      });
      socket.once("error", () => done(false));
      socket.connect(port, "127.0.0.1");
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`redis-server on port ${port} did not serve PING within ${deadlineMs} ms`);
}

/** Starts a fresh redis-server with persistence off. */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "redis-test-"));
  let child: ChildProcess | undefined;

  const launch = async () => {
    const args = [
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
      ...(options.args ?? []),
    ];
    const proc = spawn(redisServerBin, args, { stdio: ["ignore", "ignore", "pipe"] });
    child = proc;
    const failed = new Promise<never>((_, reject) => {
      proc.once("error", (e) => reject(new Error(`cannot start ${redisServerBin}: ${e.message}`)));
      proc.once("exit", (code) => reject(new Error(`redis-server exited early with code ${code}`)));
    });
    failed.catch(() => {});
    await Promise.race([waitUntilServing(port, 10_000), failed]);
  };

  const stop = async (how: NodeJS.Signals = "SIGTERM") => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
    if (how !== "SIGKILL") signal(proc, "SIGCONT");
    signal(proc, how);
    await exited;
  };

  await launch();
  return {
    port,
    host: "127.0.0.1",
    url: `redis://127.0.0.1:${port}`,
    dir,
    stop,
    restart: launch,
    pause: () => signal(child, "SIGSTOP"),
    resume: () => signal(child, "SIGCONT"),
    async [Symbol.asyncDispose]() {
      await stop("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Waits until something accepts TCP connections on `127.0.0.1:port`; fails after `withinMs`. */
export async function listening(port: number, withinMs = 10_000): Promise<void> {
  const started = Date.now();
  while (Date.now() - started < withinMs) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = new Socket();
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => {
        socket.destroy();
        resolve(false);
      });
      socket.connect(port, "127.0.0.1");
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`nothing listens on ${port}`);
}
