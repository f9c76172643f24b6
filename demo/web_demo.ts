/**
 * The web demo (`main.ts --web`): a small local HTTP server (node:http, so it runs on Deno, Bun
 * and Node) whose page starts a demo task and shows its progress live through `sseResponse()`.
 * A simulated worker stores STARTED, PROGRESS steps and SUCCESS through the backend, as a Celery
 * worker would; on `memory://` the worker and the page share this process's store, on
 * `redis://` any Celery client can watch the same keys.
 *
 * @module
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { type RedisBackend, sseResponse } from "../mod.ts";
import { WEB_DEMO_PAGE } from "./web_page.ts";

/** Options of {@linkcode startWebDemo}. */
export interface WebDemoOptions {
  /** The port to listen on; `0` picks a free one. @default {8000, or a free port when taken} */
  port?: number | undefined;
  /** The address to listen on. @default {"127.0.0.1"} */
  host?: string | undefined;
  /** PROGRESS states the simulated worker stores. @default {5} */
  steps?: number | undefined;
  /** Milliseconds between two states of the simulated worker. @default {400} */
  stepMs?: number | undefined;
}

/** A running web demo. */
export interface WebDemo extends AsyncDisposable {
  /** The page's address, `http://127.0.0.1:<port>/`. */
  readonly url: string;
  /** Stops the server and waits for the simulated workers still running. */
  close(): Promise<void>;
}

const DEFAULT_PORT = 8000;
// Only the ids this server made are followed or run.
const DEMO_ID = /^web-[0-9a-z]+-[0-9a-z]+$/;

/**
 * Serves the demo page, `POST /tasks` (a new task id), `GET /events?id=` (the task's states as
 * server-sent events) and `POST /tasks/<id>/run` (starts the simulated worker for that task).
 * @param backend The backend the worker stores through and the events read from.
 * @param options Port, address and the worker's pace.
 * @returns The running demo, once it listens.
 * @throws {RangeError} for a port outside 0..65535.
 */
export async function startWebDemo(
  backend: RedisBackend,
  options: WebDemoOptions = {},
): Promise<WebDemo> {
  const host = options.host ?? "127.0.0.1";
  const steps = options.steps ?? 5;
  const stepMs = options.stepMs ?? 400;
  if (
    options.port !== undefined && !(Number.isInteger(options.port) && options.port >= 0 &&
      options.port <= 65535)
  ) {
    throw new RangeError(`--port must be an integer from 0 to 65535, got ${options.port}`);
  }
  const created = new Set<string>();
  const workers = new Set<Promise<void>>();
  const run = `web-${Date.now().toString(36)}`;
  let count = 0;

  async function simulatedWorker(id: string): Promise<void> {
    const pause = () => new Promise((resolve) => setTimeout(resolve, stepMs));
    await pause();
    await backend.markAsStarted(id, { pid: 4242, hostname: "ts@web-demo" });
    for (let done = 1; done <= steps; done++) {
      await pause();
      await backend.storeResult(id, { done, total: steps }, "PROGRESS");
    }
    await pause();
    await backend.markAsDone(id, { answer: 42, steps });
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? "/", "http://localhost");
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    };
    if (req.method === "GET" && url.pathname === "/") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(WEB_DEMO_PAGE);
      return;
    }
    if (req.method === "POST" && url.pathname === "/tasks") {
      const id = `${run}-${(++count).toString(36)}`;
      created.add(id);
      return json(201, { id });
    }
    const runMatch = /^\/tasks\/([^/]+)\/run$/.exec(url.pathname);
    if (req.method === "POST" && runMatch) {
      const id = decodeURIComponent(runMatch[1]!);
      if (!created.delete(id)) return json(404, { error: "no such task waiting to run" });
      const worker = simulatedWorker(id).catch((error) => {
        console.error(`simulated worker for ${id}: ${(error as Error).message}`);
      });
      workers.add(worker);
      void worker.finally(() => workers.delete(worker));
      return json(202, { id });
    }
    if (req.method === "GET" && url.pathname === "/events") {
      const id = url.searchParams.get("id");
      if (id === null || !DEMO_ID.test(id)) return json(400, { error: "expected ?id=<task id>" });
      return void streamEvents(backend, id, req, res);
    }
    json(404, { error: "not found" });
  }

  const server = createServer((req, res) => {
    try {
      handle(req, res);
    } catch (error) {
      if (!res.headersSent) res.writeHead(500).end(String((error as Error).message));
    }
  });
  const port = await listen(server, options.port, host);
  const close = async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await Promise.all(workers);
  };
  return { url: `http://${host}:${port}/`, close, [Symbol.asyncDispose]: close };
}

/** Pipes sseResponse() into a node:http response; the request's close ends the stream. */
async function streamEvents(
  backend: RedisBackend,
  id: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const left = new AbortController();
  res.on("close", () => left.abort());
  const response = sseResponse(backend, id, { signal: left.signal, retry: 500 });
  req.resume(); // a GET has no body; let node:http finish reading the request
  res.writeHead(response.status, Object.fromEntries(response.headers));
  res.flushHeaders();
  try {
    for await (const chunk of response.body!) res.write(chunk);
    res.end();
  } catch {
    res.destroy();
  }
}

/** Listens on `port`; with no port, on 8000, or on a free port when 8000 is taken. */
function listen(server: Server, port: number | undefined, host: string): Promise<number> {
  const attempt = (p: number) =>
    new Promise<number>((resolve, reject) => {
      const onError = (error: Error) => reject(error);
      server.once("error", onError);
      server.listen(p, host, () => {
        server.off("error", onError);
        const address = server.address();
        resolve(typeof address === "object" && address ? address.port : p);
      });
    });
  if (port !== undefined) return attempt(port);
  return attempt(DEFAULT_PORT).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== "EADDRINUSE") throw error;
    return attempt(0);
  });
}
