// A local server speaking Upstash's Redis REST API, in front of a real redis-server, for tests and
// benchmarks. Loopback only. Built on node:http and node:net so it runs under Deno, Bun and Node.
//
// What it implements (as Upstash's service and @upstash/redis's client use it):
// - `POST /` with a JSON command array → `{ "result": … }`, or `{ "error": "…" }` with 400;
// - `POST /pipeline` with an array of command arrays → `[{ "result" } | { "error" }, …]`;
// - `POST /multi-exec` → the same shape, run inside MULTI/EXEC; a block Redis discards (a queueing
//   error) answers `{ "error": "EXECABORT …" }` with 400;
// - path commands, `GET|POST /<command>/<arg>/…`, a POST body being appended as the last argument
//   (Upstash's way to send bytes that are not UTF-8) and query parameters after it;
// - `Authorization: Bearer <token>` (or `?_token=`), 401 `{ "error": "Unauthorized" }` otherwise;
// - `Upstash-Encoding: base64`: every string in the reply base64-encoded, except a status `OK`;
// - streaming subscribe, `POST|GET /subscribe/<channel>/…` with `Accept: text/event-stream`: one
//   redis connection per stream, `data: subscribe,<channel>,<count>` once Redis confirms each
//   channel, then `data: message,<channel>,<payload>`. The payload is UTF-8 text whatever
//   `Upstash-Encoding` says (@upstash/redis sends that header on streams too and expects raw
//   text); a payload holding line breaks is split over several `data:` lines, as SSE requires.
// Blocking commands and SUBSCRIBE on the command endpoints are refused, as on Upstash.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { connect, type Socket } from "node:net";
import { Buffer } from "node:buffer";
// The RESP side is tests/_independent_resp.ts, not src/resp/: a codec bug must not be shared by
// the driver under test and the server it is tested against.
import { encodeResp2, Resp2Decoder, type Resp2Reply } from "./_independent_resp.ts";

type RedisReply = Resp2Reply;
type RedisCommand = readonly (string | number | bigint | Uint8Array)[];

/** An error reply from Redis, keeping the server's exact text. */
export class ServerErrorReply extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ServerErrorReply";
  }
}

/** A minimal RESP connection: pipelined request/reply, or push mode for pub/sub. */
export class RespConnection {
  readonly #socket: Socket;
  readonly #decoder: Resp2Decoder;
  readonly #queue: { resolve(r: RedisReply): void; reject(e: Error): void }[] = [];
  #onPush: ((reply: RedisReply) => void) | undefined;
  #closed = false;
  /** Called once when the socket closes. */
  onClose: (() => void) | undefined;

  private constructor(socket: Socket) {
    this.#socket = socket;
    this.#decoder = new Resp2Decoder((reply) => {
      if (this.#onPush) return this.#onPush(reply);
      this.#queue.shift()?.resolve(reply);
    }, (message) => new ServerErrorReply(message));
    socket.on("data", (chunk: Uint8Array) => this.#decoder.feed(chunk));
    socket.on("close", () => {
      this.#closed = true;
      for (const pending of this.#queue.splice(0)) {
        pending.reject(new Error("The redis connection closed"));
      }
      this.onClose?.();
    });
    socket.on("error", () => {});
  }

  /** Connects to redis on loopback. */
  static open(port: number, host = "127.0.0.1"): Promise<RespConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, host);
      socket.setNoDelay(true);
      socket.once("error", reject);
      socket.once("connect", () => {
        socket.off("error", reject);
        resolve(new RespConnection(socket));
      });
    });
  }

  /** Sends the commands in one write; resolves with one reply per command. */
  call(commands: readonly RedisCommand[]): Promise<RedisReply[]> {
    if (this.#closed) return Promise.reject(new Error("The redis connection is closed"));
    const replies = commands.map(() =>
      new Promise<RedisReply>((resolve, reject) => this.#queue.push({ resolve, reject }))
    );
    this.#socket.write(encodeResp2(commands));
    return Promise.all(replies);
  }

  /** Switches to push mode: every reply from now on goes to the handler. */
  pushMode(onPush: (reply: RedisReply) => void): void {
    this.#onPush = onPush;
  }

  /** Writes commands without waiting for replies (push mode). */
  write(commands: readonly RedisCommand[]): void {
    if (!this.#closed) this.#socket.write(encodeResp2(commands));
  }

  /** Closes the socket. */
  close(): void {
    this.#closed = true;
    this.#socket.destroy();
  }
}

/** Options of {@linkcode startUpstashServer}. */
export interface UpstashServerOptions {
  /** The redis-server port to front. */
  redisPort: number;
  /** The bearer token clients must send. */
  token: string;
  /** The database every request runs in. @default {0} */
  db?: number;
  /** Answer `/subscribe` with 404, as a REST service without streaming would. @default {false} */
  noStreaming?: boolean;
}

/** A running local Upstash-compatible REST server. */
export interface UpstashServer extends AsyncDisposable {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  readonly token: string;
  /** Requests served, by endpoint (`/`, `/pipeline`, `/multi-exec`, `/subscribe`, `path`). */
  readonly requests: Record<string, number>;
  /** The commands received, in order (names upper-cased; `/pipeline` bodies one per command). */
  readonly commands: string[];
  /** Streams currently open. */
  readonly openStreams: number;
  /** Streams that have ended so far (closed by either side). */
  readonly endedStreams: number;
  /** The open streams' state, for a failing test's message. */
  describeStreams(): string;
  /** Resets the request counters and the command log. */
  resetCounts(): void;
  /** Cuts every open subscribe stream (as a proxy or platform limit would). */
  dropStreams(): void;
  /** Makes `/subscribe` answer 404 (true) or stream again (false). */
  setStreaming(enabled: boolean): void;
  /**
   * Runs a hook before each command request is executed (e.g. to fail or delay it). Throwing
   * from it destroys the connection without an answer, like a network failure.
   */
  setHook(hook: ((path: string, body: unknown) => Promise<void> | void) | undefined): void;
  /** Runs a hook before each stream subscribes its channels (e.g. to hold the confirmation). */
  setSubscribeHook(hook: ((channels: string[]) => Promise<void> | void) | undefined): void;
  /**
   * For the next `count` command requests, runs the command and then drops the connection
   * without answering: a write applied whose answer was lost.
   */
  dropAnswers(count: number): void;
  close(): Promise<void>;
}

const BLOCKED = new Set([
  "SUBSCRIBE",
  "PSUBSCRIBE",
  "SSUBSCRIBE",
  "UNSUBSCRIBE",
  "PUNSUBSCRIBE",
  "MONITOR",
  "BLPOP",
  "BRPOP",
  "BLMOVE",
  "BRPOPLPUSH",
  "BZPOPMIN",
  "BZPOPMAX",
  "BLMPOP",
  "BZMPOP",
  "MULTI",
  "EXEC",
  "DISCARD",
  "WATCH",
  "UNWATCH",
  "SELECT",
  "QUIT",
  "RESET",
  "HELLO",
  "AUTH",
]);

class BadRequest extends Error {}

function toArgs(command: unknown): string[] {
  if (!Array.isArray(command) || command.length === 0) {
    throw new BadRequest("ERR a command must be a non-empty JSON array");
  }
  return command.map((arg) => {
    if (typeof arg === "string") return arg;
    if (typeof arg === "number" || typeof arg === "boolean") return String(arg);
    throw new BadRequest("ERR command arguments must be strings or numbers");
  });
}

function checkAllowed(args: readonly (string | Uint8Array)[]): void {
  const name = String(args[0]).toUpperCase();
  if (BLOCKED.has(name)) throw new BadRequest(`ERR Command is not available: '${name}'`);
}

function encodeReply(reply: RedisReply, base64: boolean): unknown {
  if (reply === null || typeof reply === "number") return reply;
  if (reply instanceof Uint8Array) {
    const buffer = Buffer.from(reply.buffer, reply.byteOffset, reply.byteLength);
    return base64 ? buffer.toString("base64") : buffer.toString("utf8");
  }
  if (typeof reply === "string") {
    return base64 && reply !== "OK" ? Buffer.from(reply, "utf8").toString("base64") : reply;
  }
  if (reply instanceof Error) return reply.message; // an error nested in an array (EVAL)
  return reply.map((r) => encodeReply(r, base64));
}

function item(reply: RedisReply, base64: boolean): { result: unknown } | { error: string } {
  return reply instanceof Error ? { error: reply.message } : { result: encodeReply(reply, base64) };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (dropNext(res)) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}

const dropping = new WeakSet<ServerResponse>();
function dropNext(res: ServerResponse): boolean {
  if (!dropping.has(res)) return false;
  res.socket?.destroy();
  return true;
}

/** Starts the REST server on a free loopback port, connected to the given redis-server. */
interface StreamState {
  opened: number;
  writesRefused: number;
  lastWriteOk: number;
}

export async function startUpstashServer(options: UpstashServerOptions): Promise<UpstashServer> {
  const db = options.db ?? 0;
  const main = await RespConnection.open(options.redisPort);
  if (db !== 0) await main.call([["SELECT", db]]);
  let streaming = !options.noStreaming;
  let hook: ((path: string, body: unknown) => Promise<void> | void) | undefined;
  let subscribeHook: ((channels: string[]) => Promise<void> | void) | undefined;
  let answersToDrop = 0;
  const requests: Record<string, number> = {};
  const commands: string[] = [];
  const streams = new Set<{ res: ServerResponse; conn: RespConnection; state: StreamState }>();
  let endedStreams = 0;
  const count = (kind: string) => (requests[kind] = (requests[kind] ?? 0) + 1);

  async function runOne(args: (string | Uint8Array)[]): Promise<RedisReply> {
    checkAllowed(args);
    commands.push(String(args[0]).toUpperCase());
    const [reply] = await main.call([args]);
    return reply!;
  }

  async function runMulti(list: string[][]): Promise<RedisReply[] | ServerErrorReply> {
    for (const args of list) checkAllowed(args);
    commands.push("MULTI", ...list.map((a) => String(a[0]).toUpperCase()), "EXEC");
    const replies = await main.call([["MULTI"], ...list, ["EXEC"]]);
    const exec = replies[replies.length - 1]!;
    if (exec instanceof Error) {
      // Report the queueing error itself when there was one (clearer than EXECABORT alone).
      const queued = replies.slice(1, -1).find((r) => r instanceof Error);
      return new ServerErrorReply(
        queued ? `EXECABORT Transaction discarded: ${queued.message}` : exec.message,
      );
    }
    return exec as RedisReply[];
  }

  async function subscribe(req: IncomingMessage, res: ServerResponse, channels: string[]) {
    count("/subscribe");
    if (!streaming) return sendJson(res, 404, { error: "ERR streaming is not supported" });
    if (channels.length === 0) return sendJson(res, 400, { error: "ERR no channel given" });
    // The client may give up while the connection opens or the hook holds it: listen first, so
    // such a stream still ends (and no subscription is left behind on the redis-server).
    let gone = false;
    const leave = () => void (gone = true);
    res.on("close", leave);
    const conn = await RespConnection.open(options.redisPort);
    await subscribeHook?.(channels);
    res.off("close", leave);
    if (gone || res.destroyed || res.socket?.destroyed !== false) {
      conn.close();
      return void res.destroy();
    }
    const state: StreamState = { opened: Date.now(), writesRefused: 0, lastWriteOk: Date.now() };
    const stream = { res, conn, state };
    streams.add(stream);
    res.writeHead(200, {
      "content-type": "text/event-stream",
      "cache-control": "no-cache",
      "connection": "keep-alive",
    });
    res.flushHeaders();
    const text = (bytes: RedisReply) =>
      bytes instanceof Uint8Array ? Buffer.from(bytes).toString("utf8") : String(bytes);
    conn.pushMode((reply) => {
      if (!Array.isArray(reply)) return;
      const [kind, channel, data] = reply;
      const type = text(kind!);
      let line: string;
      if (type === "message" && data instanceof Uint8Array) {
        line = `message,${text(channel!)},${text(data)}`;
      } else {
        line = `${type},${text(channel!)},${text(data!)}`;
      }
      res.write(`${line.split(/\r\n|\r|\n/).map((l) => `data: ${l}\n`).join("")}\n`);
    });
    // A comment line now and then: a runtime may notice a client that went away only when it
    // writes (Deno's node:http, under load, left a closed stream counted for over 10 s).
    const keepAlive = setInterval(() => {
      if (res.write(": keep-alive\n\n")) {
        state.lastWriteOk = Date.now();
      } else {
        state.writesRefused++;
        if (res.destroyed || res.socket?.destroyed) end();
      }
    }, 100);
    const end = () => {
      clearInterval(keepAlive);
      if (!streams.delete(stream)) return;
      endedStreams++;
      conn.close();
      res.end();
    };
    conn.onClose = end;
    req.on("close", end);
    res.on("close", end);
    res.on("error", end);
    conn.write([["SUBSCRIBE", ...channels]]);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const auth = req.headers.authorization;
    const token = auth !== undefined ? /^Bearer (.*)$/.exec(auth)?.[1] : url.searchParams.get(
      "_token",
    );
    if (token !== options.token) {
      await readBody(req);
      return sendJson(res, 401, { error: "Unauthorized" });
    }
    if (req.method !== "POST" && req.method !== "GET") {
      return sendJson(res, 405, { error: "Method not allowed" });
    }
    const base64 = req.headers["upstash-encoding"] === "base64";
    const segments = url.pathname.split("/").filter((s) => s !== "").map(decodeURIComponent);
    if (segments[0]?.toLowerCase() === "subscribe") {
      await readBody(req);
      return subscribe(req, res, segments.slice(1));
    }
    const raw = await readBody(req);
    const endpoint = segments.length === 0 ? "/" : segments.length === 1 &&
        (segments[0] === "pipeline" || segments[0] === "multi-exec")
      ? `/${segments[0]}`
      : "path";
    count(endpoint);
    let body: unknown = undefined;
    try {
      if (endpoint !== "path") body = JSON.parse(raw.toString("utf8"));
    } catch {
      return sendJson(res, 400, { error: "ERR the request body is not valid JSON" });
    }
    if (answersToDrop > 0) {
      answersToDrop--;
      dropping.add(res);
    }
    if (hook) {
      try {
        await hook(endpoint, body);
      } catch {
        req.socket.destroy();
        return;
      }
    }
    try {
      if (endpoint === "/") {
        const reply = await runOne(toArgs(body));
        if (reply instanceof Error) return sendJson(res, 400, { error: reply.message });
        return sendJson(res, 200, { result: encodeReply(reply, base64) });
      }
      if (endpoint === "/pipeline") {
        if (!Array.isArray(body)) throw new BadRequest("ERR the pipeline must be an array");
        const list = body.map(toArgs);
        for (const args of list) checkAllowed(args);
        commands.push(...list.map((a) => String(a[0]).toUpperCase()));
        const replies = await main.call(list);
        return sendJson(res, 200, replies.map((r) => item(r, base64)));
      }
      if (endpoint === "/multi-exec") {
        if (!Array.isArray(body)) throw new BadRequest("ERR the transaction must be an array");
        const replies = await runMulti(body.map(toArgs));
        if (replies instanceof Error) return sendJson(res, 400, { error: replies.message });
        return sendJson(res, 200, replies.map((r) => item(r, base64)));
      }
      // Path command: the arguments are the path; a POST body is the last argument, and query
      // parameters (other than _token) follow it as `name value` pairs (`?EX=100` → EX 100).
      const args: (string | Uint8Array)[] = [...segments];
      if (req.method === "POST" && raw.length > 0) args.push(new Uint8Array(raw));
      for (const [name, value] of url.searchParams) {
        if (name === "_token") continue;
        args.push(name);
        if (value !== "") args.push(value);
      }
      const reply = await runOne(args);
      if (reply instanceof Error) return sendJson(res, 400, { error: reply.message });
      return sendJson(res, 200, { result: encodeReply(reply, base64) });
    } catch (error) {
      return sendJson(res, 400, { error: (error as Error).message });
    }
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error) => {
      if (!res.headersSent) sendJson(res, 500, { error: String(error) });
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    for (const stream of [...streams]) {
      stream.conn.close();
      stream.res.destroy();
    }
    streams.clear();
    main.close();
    server.closeAllConnections?.();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    token: options.token,
    requests,
    commands,
    get openStreams() {
      return streams.size;
    },
    get endedStreams() {
      return endedStreams;
    },
    describeStreams() {
      const now = Date.now();
      return [...streams].map(({ res, state }) =>
        `open ${now - state.opened} ms, last write ok ${now - state.lastWriteOk} ms ago, ` +
        `${state.writesRefused} refused, destroyed ${res.destroyed}, ` +
        `socket destroyed ${res.socket?.destroyed}, buffered ${res.writableLength}`
      ).join("; ");
    },
    resetCounts() {
      for (const key of Object.keys(requests)) delete requests[key];
      commands.length = 0;
    },
    dropStreams() {
      for (const stream of [...streams]) {
        streams.delete(stream);
        stream.conn.close();
        stream.res.destroy();
      }
    },
    setStreaming(enabled: boolean) {
      streaming = enabled;
    },
    setHook(next) {
      hook = next;
    },
    setSubscribeHook(next) {
      subscribeHook = next;
    },
    dropAnswers(n: number) {
      answersToDrop = n;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
