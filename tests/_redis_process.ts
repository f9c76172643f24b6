// Starts redis-server or redis-sentinel on a free loopback port and knows when it is its own
// process that listens there. Uses node: APIs, which Deno and Bun provide too.
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";

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

/** A Redis process that exited before it was ready; `log` is the tail of what it printed. */
export class RedisProcessExited extends Error {
  constructor(message: string, readonly log: string) {
    super(message);
  }
}

// What an early exit reports of the process's own log (redis logs to stdout).
const LOG_TAIL_CHARS = 2000;
const START_MS = 10_000;
// How many fresh ports a first start tries: a port found free can be taken before the process
// binds it (by another test process, or by the other of two ports picked one after the other).
const START_ATTEMPTS = 3;

/**
 * Spawns `bin` and resolves once its log shows `readyLine` (which Redis prints only after it
 * listens: a connection alone could reach another process holding the port) and `serving()`
 * resolves. Rejects with the log's tail if the process exits first or takes over 10 s.
 */
export async function launchRedisProcess(
  bin: string,
  args: string[],
  readyLine: string,
  serving: () => Promise<void> = async () => {},
): Promise<ChildProcess> {
  const proc = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  let announce = () => {};
  const announced = new Promise<void>((resolve) => announce = resolve);
  const keepTail = (chunk: Buffer) => {
    const grown = log + chunk.toString();
    if (grown.includes(readyLine)) announce();
    log = grown.slice(-LOG_TAIL_CHARS);
  };
  proc.stdout!.on("data", keepTail);
  proc.stderr!.on("data", keepTail);
  const failed = new Promise<never>((_, reject) => {
    proc.once("error", (e) => reject(new Error(`cannot start ${bin}: ${e.message}`)));
    // "close" comes after the output is read to its end, so the log is complete.
    proc.once("close", (code) => {
      reject(new RedisProcessExited(`${bin} exited early with code ${code}:\n${log}`, log));
    });
  });
  failed.catch(() => {});
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`${bin} did not start within ${START_MS} ms:\n${log}`));
    }, START_MS);
  });
  try {
    await Promise.race([announced.then(serving), failed, late]);
    return proc;
  } catch (error) {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `start` with fresh ports until it does not fail on a port someone else took. */
export async function onFreshPorts<T>(
  count: number,
  start: (ports: number[]) => Promise<T>,
  pickPort: () => Promise<number> = freePort,
): Promise<T> {
  for (let attempt = 1;; attempt++) {
    const ports: number[] = [];
    while (ports.length < count) {
      const port = await pickPort();
      if (!ports.includes(port)) ports.push(port);
    }
    try {
      return await start(ports);
    } catch (error) {
      const clash = error instanceof RedisProcessExited &&
        error.log.includes("Address already in use");
      if (!clash || attempt === START_ATTEMPTS) throw error;
    }
  }
}
