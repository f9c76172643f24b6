// A real redis-server for tests, started on a free loopback port and stopped by disposal.
// Uses node: APIs, which both Deno and Bun provide, so the same helper serves both runtimes.
import type { ChildProcess } from "node:child_process";
import { Socket } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { redisServerBin } from "./_env.ts";
import { launchRedisProcess, onFreshPorts } from "./_redis_process.ts";

export { freePort } from "./_redis_process.ts";

/** A running redis-server owned by a test. */
export interface RedisServer extends AsyncDisposable {
  readonly port: number;
  /** The TLS listener's port, when started with `tls` arguments. */
  readonly tlsPort: number | undefined;
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

export interface RedisServerOptions {
  /** Extra `redis-server` arguments, e.g. `["--requirepass", "s3cret"]`. */
  args?: string[];
  /** Arguments of a TLS listener (certificates, `--tls-auth-clients`); the helper picks its port. */
  tls?: string[];
  /** Where ports come from (tests of this helper hand out a taken one). */
  pickPort?: () => Promise<number>;
}

// Logged once the server listens and has loaded its dataset (Redis 6 and 7 alike).
const READY_LINE = "Ready to accept connections";
const START_MS = 10_000;

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

// After the ready line, serving means answering PING with anything but "-LOADING" (PONG, or NOAUTH
// when a password is set).
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
  const dir = mkdtempSync(join(tmpdir(), "redis-test-"));
  let port = 0;
  let tlsPort: number | undefined;
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
      ...(tlsPort === undefined ? [] : ["--tls-port", String(tlsPort), ...options.tls!]),
      ...(options.args ?? []),
    ];
    child = await launchRedisProcess(
      redisServerBin,
      args,
      READY_LINE,
      () => waitUntilServing(port, START_MS),
    );
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

  try {
    await onFreshPorts(options.tls === undefined ? 1 : 2, ([plain, tls]) => {
      port = plain!;
      tlsPort = tls;
      return launch();
    }, options.pickPort);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    port,
    tlsPort,
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
