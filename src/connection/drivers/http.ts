/**
 * The HTTP driver: Redis commands over Upstash's REST API, through `@upstash/redis`, for places
 * with no TCP sockets (Cloudflare Workers, Vercel Edge functions, Deno Deploy, browsers).
 *
 * `@upstash/redis` is used with its defaults turned around, because they do not suit a result
 * backend:
 *
 * - **No JSON parsing** (`automaticDeserialization: false`): the backend decodes payloads itself.
 * - **Exact bytes**: every request asks for `Upstash-Encoding: base64`, and the client is told not
 *   to decode it (its own decoding turns bytes into UTF-8 text, which corrupts binary values);
 *   this driver decodes the base64 into `Uint8Array`s.
 * - **No retries of writes**: the client's retry loop (which even with `retry: false` tries twice)
 *   is switched off; only reads (GET, MGET, TTL, …) are retried here, on network failures. Writes
 *   also bypass the client: they are sent with a body that cannot be replayed, because some
 *   `fetch` implementations (Deno's) silently re-send a request whose kept-alive connection closed
 *   before the answer came, and a write applied twice is a PUBLISH or an INCR applied twice.
 * - **Aborts reject**: the client resolves an aborted request with the string `"Aborted"`; this
 *   driver rejects with the signal's reason instead.
 * - **Atomic store**: `transaction()` is one `/multi-exec` request, so a result's SETEX and its
 *   PUBLISH are applied together or not at all.
 *
 * ## Binary safety
 *
 * Reads are binary-safe: every bulk reply comes back base64-encoded and is decoded to its exact
 * bytes. Writes travel as JSON strings, which can carry any valid UTF-8 exactly (Celery's JSON
 * payloads are ASCII). A `Uint8Array` argument that is not valid UTF-8 (a msgpack payload, say)
 * cannot be a JSON string; for those, with `binaryWrites: "eval"` (the default), the command (or
 * the whole transaction) is sent as one `EVAL` of a small Lua script that receives the bytes
 * hex-encoded and rebuilds them in Redis: still one atomic request, exact bytes, at twice the
 * size on the wire. Differences from MULTI/EXEC there: an unknown command fails in its own slot
 * instead of discarding the block, and the REST service must allow EVAL.
 * With `binaryWrites: "reject"` such a write rejects with a `TypeError` instead.
 *
 * Streamed pub/sub messages arrive as text (Upstash's streams are not base64-encoded); one that may
 * have lost bytes (it holds U+FFFD or a line break, which Celery's JSON never does) is not trusted:
 * the subscriber reads the key instead, with exact bytes.
 *
 * @example Read a Celery result from a Cloudflare Worker
 * ```ts ignore
 * import { httpDriver, RedisBackend } from "@taskmeta/celery-redis/edge";
 *
 * export default {
 *   async fetch(request: Request, env: Record<string, string>): Promise<Response> {
 *     await using backend = new RedisBackend(httpDriver({ env }));
 *     const id = new URL(request.url).searchParams.get("id") ?? "";
 *     return Response.json(await backend.getTaskMeta(id));
 *   },
 * };
 * ```
 *
 * @module
 */
import { Redis, type Requester } from "@upstash/redis";
import type {
  RedisArg,
  RedisCommand,
  RedisDriver,
  RedisReply,
  Subscriber,
  SubscriberHandlers,
} from "../driver.ts";
import {
  BackendClosedError,
  DecodeError,
  RedisAuthenticationError,
  RedisConnectionError,
  RedisReplyError,
} from "../../errors.ts";
import type { HttpStreaming } from "./http_streaming.ts";
import { checkDelay } from "../time_units.ts";
import { redactUrl } from "../redact_url.ts";
import { READ_COMMANDS } from "../read_commands.ts";
import { abortableSleep } from "../retry.ts";
import { DEFAULT_RESP_LIMITS } from "../resp/limits.ts";

/**
 * An `@upstash/redis` `Redis` instance, as {@linkcode HttpDriverOptions.redis} takes it (typed by
 * shape, so that this module's public types do not depend on the package's).
 */
export interface UpstashRedisClient {
  /** `Redis.pipeline()`. */
  pipeline(): unknown;
}

/** Options of {@linkcode httpDriver}. Give `redis`, or `url` and `token`, or `env`. */
export interface HttpDriverOptions {
  /**
   * The REST URL, e.g. `https://eu1-…upstash.io` (or `http://127.0.0.1:8079` for a local server).
   * @default {env.UPSTASH_REDIS_REST_URL ?? env.KV_REST_API_URL}
   */
  url?: string | undefined;
  /**
   * The bearer token. Never appears in error messages or in the driver's `name`.
   * @default {env.UPSTASH_REDIS_REST_TOKEN ?? env.KV_REST_API_TOKEN}
   */
  token?: string | undefined;
  /**
   * An existing `@upstash/redis` client to take the URL and token from. Its other settings
   * (retries, response decoding, JSON parsing) are not used: the driver makes its own client
   * with safe ones. A client built on a custom `Requester` is used as it is.
   * @default {undefined}
   */
  redis?: UpstashRedisClient | undefined;
  /**
   * Where `url` and `token` are read from when not given: a Worker's `env` bindings, or any
   * record of strings.
   * @default {globalThis.process?.env, where it exists}
   */
  env?: Readonly<Record<string, unknown>> | undefined;
  /**
   * How many times a read (GET, MGET, TTL, …) is retried after a network failure. Writes are
   * never retried: a write whose answer was lost may have been applied.
   * @default {2}
   */
  readRetries?: number | undefined;
  /**
   * Milliseconds to wait before read retry number `attempt` (0-based).
   * @default {(attempt) => 50 * 2 ** attempt}
   */
  backoff?: ((attempt: number) => number) | undefined;
  /**
   * Milliseconds one request may take before it fails with `RedisConnectionError`.
   * @default {30000}
   */
  requestTimeout?: number | undefined;
  /**
   * What to do with a `Uint8Array` argument that is not valid UTF-8 (which a JSON request body
   * cannot carry): send the command as a Lua `EVAL` that rebuilds the bytes (`"eval"`), or reject
   * with a `TypeError` (`"reject"`).
   * @default {"eval"}
   */
  binaryWrites?: "eval" | "reject" | undefined;
  /**
   * Wait for results over the REST service's streaming SUBSCRIBE (server-sent events) instead of
   * polling: `httpStreaming()` or `httpStreaming({ … })` turns it on. The driver then has
   * `openSubscriber()`, so `RedisBackend` picks its pub/sub consumer. When the stream is refused
   * or drops, the subscriber polls the subscribed keys and keeps trying to re-open it.
   * @default {undefined} (polling)
   */
  streaming?: HttpStreaming | false | undefined;
}

/** The driver {@linkcode httpDriver} returns. */
export interface HttpDriver extends RedisDriver {
  /** The REST URL, without credentials. `undefined` for a custom `Requester`. */
  readonly url: string | undefined;
  /** How many HTTP requests this driver has sent (commands, retries; streams excluded). */
  readonly requests: number;
  /**
   * Sends the commands in one `/pipeline` request (not atomic) and resolves with one reply per
   * command, error replies as `RedisReplyError` items.
   */
  pipeline(commands: readonly RedisCommand[]): Promise<RedisReply[]>;
}

/** Commands whose reply is a status (which base64 encoding turns into bytes). */
const STATUS_REPLY = new Set(["PING", "TYPE"]);

/** The marker the EVAL script puts before an error, in a 2-element array. */
const EVAL_ERROR = "\u0000celery-http-error\u0000";

// Runs commands whose arguments arrive as "<n>" then n arguments, each prefixed with "s" (text)
// or "x" (hex bytes); returns one reply per command, errors as {marker, message}.
const EVAL_SCRIPT = `local out, i = {}, 1
while i <= #ARGV do
  local n = tonumber(ARGV[i])
  local args = {}
  for j = 1, n do
    local a = ARGV[i + j]
    if string.sub(a, 1, 1) == "x" then
      a = string.gsub(string.sub(a, 2), "%x%x", function(h) return string.char(tonumber(h, 16)) end)
    else
      a = string.sub(a, 2)
    end
    args[j] = a
  end
  i = i + n + 1
  local reply = redis.pcall(unpack(args))
  if type(reply) == "table" and reply.err then reply = { "\\0celery-http-error\\0", reply.err } end
  out[#out + 1] = reply
end
return out`;

const encoder = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const utf8 = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

/** The setting was `true` or options before it became an import: says how to write it now. */
function oldStreamingSetting(value: unknown): TypeError {
  // The value itself is not shown: it could be anything, a token included.
  const given = value === true || value === null
    ? String(value)
    : typeof value === "object"
    ? "an object of options (wrap them in httpStreaming())"
    : `a ${typeof value}`;
  return new TypeError(
    `streaming takes httpStreaming() or httpStreaming({ … }) (exported next to httpDriver), got ${given}`,
  );
}

/**
 * Creates a driver that sends Redis commands to an Upstash-compatible REST service over HTTPS,
 * with `@upstash/redis`. Nothing is sent until the first command.
 *
 * @param options The service (a client, `url` and `token`, or an `env` to read them from) and
 * how requests are retried, timed out (`requestTimeout`, in milliseconds) and waited on.
 * @returns The driver.
 * @throws {TypeError} when no URL or token can be found, the URL is not http(s), or `streaming`
 * is not made by `httpStreaming()`.
 * @throws {RangeError} when `readRetries` or `requestTimeout` is out of range.
 *
 * @example From the environment (UPSTASH_REDIS_REST_URL / _TOKEN, or Vercel's KV_REST_API_*)
 * ```ts ignore
 * import { httpDriver, RedisBackend } from "@taskmeta/celery-redis/edge";
 * await using backend = new RedisBackend(httpDriver());
 * console.log((await backend.getTaskMeta("d9a5c1b4-…")).status);
 * ```
 *
 * @example From a URL and token, waiting over streaming SUBSCRIBE
 * ```ts ignore
 * import { AsyncResult, httpDriver, httpStreaming, RedisBackend } from "@taskmeta/celery-redis/edge";
 * const driver = httpDriver({
 *   url: "https://eu1-x.upstash.io",
 *   token: "…",
 *   streaming: httpStreaming(),
 * });
 * await using backend = new RedisBackend(driver);
 * console.log(await new AsyncResult("d9a5c1b4-…", backend).get({ timeout: 10_000 }));
 * ```
 */
export function httpDriver(options: HttpDriverOptions = {}): HttpDriver {
  return new HttpDriverImpl(options);
}

// ---------------------------------------------------------------------------------------------

interface Connection {
  readonly requester: Requester;
  readonly url: string | undefined;
  readonly token: string | undefined;
}

function envOf(options: HttpDriverOptions): Readonly<Record<string, unknown>> {
  if (options.env) return options.env;
  const process = (globalThis as { process?: { env?: Record<string, unknown> } }).process;
  return process?.env ?? {};
}

function stringFrom(
  env: Readonly<Record<string, unknown>>,
  ...names: string[]
): string | undefined {
  for (const name of names) {
    const value = env[name];
    if (typeof value === "string" && value !== "") return value;
  }
  return undefined;
}

function makeRedis(url: string, token: string): Redis {
  return new Redis({
    url,
    token,
    automaticDeserialization: false,
    // Decoding is done here, to bytes; the client's own base64 decoding yields UTF-8 text.
    responseEncoding: false,
    // Even `retry: false` sends a failed request twice; zero retries sends it once.
    retry: { retries: 0, backoff: () => 0 },
    enableTelemetry: false,
    enableAutoPipelining: false,
    latencyLogging: false,
  });
}

function connectionFor(options: HttpDriverOptions): Connection {
  if (options.redis) {
    const client = (options.redis as unknown as { client?: unknown }).client as
      | (Requester & { baseUrl?: unknown; headers?: Record<string, string> })
      | undefined;
    if (!client || typeof client.request !== "function") {
      throw new TypeError("The redis option must be an @upstash/redis Redis instance");
    }
    const auth = client.headers?.authorization ?? client.headers?.Authorization;
    if (typeof client.baseUrl === "string" && typeof auth === "string") {
      const token = auth.replace(/^Bearer\s+/i, "");
      const url = client.baseUrl;
      return { requester: requesterOf(makeRedis(url, token)), url, token };
    }
    return { requester: client, url: undefined, token: undefined };
  }
  const env = envOf(options);
  const raw = options.url ?? stringFrom(env, "UPSTASH_REDIS_REST_URL", "KV_REST_API_URL");
  if (!raw) {
    throw new TypeError(
      "No REST URL: pass url (e.g. https://<name>.upstash.io), or set UPSTASH_REDIS_REST_URL " +
        "(or KV_REST_API_URL)",
    );
  }
  const { url, secret } = splitRestUrl(raw);
  const token = options.token ?? secret ??
    stringFrom(env, "UPSTASH_REDIS_REST_TOKEN", "KV_REST_API_TOKEN");
  if (!token) {
    const host = new URL(url).host;
    throw new TypeError(
      `No REST token for ${url}: write it in the URL as ${url.slice(0, url.indexOf("//") + 2)}` +
        `:TOKEN@${host}, or pass the token option (createBackend(url, { token })), or set ` +
        "UPSTASH_REDIS_REST_TOKEN (or KV_REST_API_TOKEN)",
    );
  }
  return { requester: requesterOf(makeRedis(url, token)), url, token };
}

/**
 * A REST URL without its credentials (the password, or Upstash's `_token` query parameter), and
 * the token they held. The driver's `url` is shown in messages and printed with the driver.
 */
function splitRestUrl(raw: string): { url: string; secret: string | undefined } {
  if (typeof raw !== "string" || !/^https?:\/\/[^\s/?#]+/i.test(raw)) {
    throw new TypeError(
      `The REST URL ${redactUrl(String(raw))} must start with https:// (or http:// for a local ` +
        "server), e.g. https://:TOKEN@<name>.upstash.io",
    );
  }
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new TypeError(
      `The REST URL ${redactUrl(raw)} is malformed (percent-encode a token holding / ? # or @)`,
    );
  }
  let secret = parsed.password === "" ? undefined : safeDecode(parsed.password);
  const queryToken = parsed.searchParams.get("_token");
  if (queryToken !== null) {
    secret ??= queryToken;
    parsed.searchParams.delete("_token");
  }
  parsed.username = "";
  parsed.password = "";
  return { url: parsed.href.replace(/\/+$/, ""), secret };
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

// The client's requester is a protected field: the one way to send a request with our own
// headers and signal through it.
function requesterOf(redis: Redis): Requester {
  return (redis as unknown as { client: Requester }).client;
}

/** Encodes an argument for a JSON body, or returns `undefined` for bytes that are not UTF-8. */
function jsonArg(arg: RedisArg): string | undefined {
  if (typeof arg === "string") return arg;
  if (typeof arg === "number") {
    if (!Number.isFinite(arg)) throw new RangeError(`Cannot send the number ${arg} to Redis`);
    return String(arg);
  }
  if (typeof arg === "bigint") return arg.toString();
  if (arg instanceof Uint8Array) {
    try {
      return strictUtf8.decode(arg);
    } catch {
      return undefined;
    }
  }
  throw new TypeError(`Unsupported Redis argument type: ${typeof arg}`);
}

function hex(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i++) {
    out += (bytes[i]! < 16 ? "0" : "") + bytes[i]!.toString(16);
  }
  return out;
}

function base64ToBytes(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function sameBytes(a: Uint8Array, text: string): boolean {
  if (a.length !== text.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== text.charCodeAt(i)) return false;
  return true;
}

/**
 * Turns a base64-encoded JSON result into the driver's reply shapes. Recursive, so nesting is
 * bounded (as the TCP driver bounds RESP): a deeper reply is a DecodeError, not a stack overflow.
 */
function decodeResult(value: unknown, depth = 0): RedisReply {
  if (value === null || value === undefined) return null;
  if (typeof value === "number") return value;
  if (typeof value === "boolean") return value ? 1 : 0;
  if (typeof value === "string") {
    if (value === "OK") return "OK";
    try {
      return base64ToBytes(value);
    } catch {
      return encoder.encode(value);
    }
  }
  if (Array.isArray(value)) {
    if (depth >= DEFAULT_RESP_LIMITS.maxDepth) {
      throw new DecodeError(
        `The REST service's reply nests arrays deeper than ${DEFAULT_RESP_LIMITS.maxDepth} levels`,
      );
    }
    return value.map((item) => decodeResult(item, depth + 1));
  }
  throw new RedisConnectionError("The REST service answered with an unexpected JSON value");
}

function commandName(command: RedisCommand): string {
  return String(command[0] ?? "").toUpperCase();
}

function statusFix(command: RedisCommand, reply: RedisReply): RedisReply {
  if (reply instanceof Uint8Array && STATUS_REPLY.has(commandName(command)) && command.length < 3) {
    return command.length === 1 || commandName(command) === "TYPE" ? utf8.decode(reply) : reply;
  }
  return reply;
}

/** Strips `@upstash/redis`'s ", command was: [...]" suffix (it would leak payload bytes). */
function serverMessage(error: Error): string {
  const at = error.message.indexOf(", command was: ");
  return at === -1 ? error.message : error.message.slice(0, at);
}

/** A non-2xx answer to a write, or one that is not JSON. */
class HttpStatusError extends Error {
  readonly status: number;
  readonly serverMessage: string | undefined;
  constructor(status: number, serverMessage: string | undefined) {
    super(`HTTP ${status}`);
    this.name = "HttpStatusError";
    this.status = status;
    this.serverMessage = serverMessage;
  }
}

class HttpDriverImpl implements HttpDriver {
  readonly name = "http";
  readonly url: string | undefined;
  readonly openSubscriber?: (handlers: SubscriberHandlers) => Promise<Subscriber>;
  readonly #connection: Connection;
  readonly #readRetries: number;
  readonly #backoff: (attempt: number) => number;
  readonly #timeout: number;
  readonly #binaryWrites: "eval" | "reject";
  readonly #closing = new AbortController();
  readonly #subscribers = new Set<Subscriber>();
  #requests = 0;

  constructor(options: HttpDriverOptions) {
    this.#connection = connectionFor(options);
    this.url = this.#connection.url;
    this.#readRetries = options.readRetries ?? 2;
    if (!Number.isInteger(this.#readRetries) || this.#readRetries < 0) {
      throw new RangeError(
        `readRetries must be a non-negative integer, got ${options.readRetries}`,
      );
    }
    this.#backoff = options.backoff ?? ((attempt) => 50 * 2 ** attempt);
    this.#timeout = options.requestTimeout ?? 30_000;
    // A timer longer than 2^31-1 ms fires at once: every request would time out.
    checkDelay("requestTimeout", this.#timeout);
    this.#binaryWrites = options.binaryWrites ?? "eval";
    const streaming = options.streaming;
    if (streaming !== undefined && streaming !== false) {
      if (typeof (streaming as Partial<HttpStreaming>)?.open !== "function") {
        throw oldStreamingSetting(streaming);
      }
      const { url, token } = this.#connection;
      if (url === undefined || token === undefined) {
        throw new TypeError("Streaming SUBSCRIBE needs a url and token (not a custom Requester)");
      }
      this.openSubscriber = (handlers) => {
        if (this.#closing.signal.aborted) return Promise.reject(new BackendClosedError());
        const subscriber = streaming.open(
          { url, token, readKeys: (keys) => this.#readKeys(keys) },
          handlers,
          () => this.#subscribers.delete(subscriber),
        );
        this.#subscribers.add(subscriber);
        return Promise.resolve(subscriber);
      };
    }
  }

  get requests(): number {
    return this.#requests;
  }

  async send(command: RedisCommand): Promise<RedisReply> {
    const body = this.#jsonCommand(command);
    if (body === undefined) {
      const [reply] = await this.#evalBinary([command]);
      if (reply instanceof Error) throw reply;
      return statusFix(command, reply ?? null);
    }
    const read = READ_COMMANDS.has(commandName(command));
    const response = await this.#request([], body, read, commandName(command));
    if (typeof response.error === "string") {
      throw new RedisReplyError(response.error, commandName(command));
    }
    return statusFix(command, decodeResult(response.result));
  }

  async transaction(commands: readonly RedisCommand[]): Promise<RedisReply[]> {
    if (commands.length === 0) return [];
    const bodies = commands.map((c) => this.#jsonCommand(c));
    if (bodies.some((b) => b === undefined)) return await this.#evalBinary(commands);
    const response = await this.#request(["multi-exec"], bodies, false, "EXEC");
    return this.#items(commands, response);
  }

  async pipeline(commands: readonly RedisCommand[]): Promise<RedisReply[]> {
    if (commands.length === 0) return [];
    const bodies = commands.map((c) => this.#jsonCommand(c));
    if (bodies.some((b) => b === undefined)) {
      throw new TypeError("A pipeline cannot carry bytes that are not UTF-8; use transaction()");
    }
    const read = commands.every((c) => READ_COMMANDS.has(commandName(c)));
    const response = await this.#request(["pipeline"], bodies, read, "pipeline");
    return this.#items(commands, response);
  }

  async close(): Promise<void> {
    if (this.#closing.signal.aborted) return;
    this.#closing.abort(new BackendClosedError("The HTTP driver has been closed"));
    await Promise.all([...this.#subscribers].map((s) => s.close()));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // -------------------------------------------------------------------------------------------

  async #readKeys(keys: readonly string[]): Promise<(Uint8Array | null)[]> {
    const reply = await this.send(["MGET", ...keys]);
    if (!Array.isArray(reply)) throw new RedisConnectionError("MGET did not return an array");
    return reply.map((r) => (r instanceof Uint8Array ? r : null));
  }

  #jsonCommand(command: RedisCommand): string[] | undefined {
    if (command.length === 0) throw new TypeError("A Redis command cannot be empty");
    const out: string[] = [];
    for (const arg of command) {
      const text = jsonArg(arg);
      if (text === undefined) {
        if (this.#binaryWrites === "reject") {
          throw new TypeError(
            `The HTTP driver cannot send bytes that are not UTF-8 in ${commandName(command)} ` +
              '(binaryWrites is "reject")',
          );
        }
        return undefined;
      }
      out.push(text);
    }
    return out;
  }

  #items(commands: readonly RedisCommand[], response: unknown): RedisReply[] {
    if (!Array.isArray(response)) {
      const error = (response as { error?: unknown } | null)?.error;
      if (typeof error === "string") throw new RedisReplyError(error, "EXEC");
      throw new RedisConnectionError("The REST service answered a batch with something else");
    }
    return response.map((item: { result?: unknown; error?: unknown }, i) =>
      typeof item?.error === "string"
        ? new RedisReplyError(item.error, commandName(commands[i]!))
        : statusFix(commands[i]!, decodeResult(item?.result))
    );
  }

  // Sends commands with bytes that are not UTF-8 as one EVAL (atomic, like MULTI/EXEC).
  async #evalBinary(commands: readonly RedisCommand[]): Promise<RedisReply[]> {
    const argv: string[] = [];
    for (const command of commands) {
      argv.push(String(command.length));
      for (const arg of command) {
        const text = arg instanceof Uint8Array ? undefined : jsonArg(arg);
        if (text !== undefined) argv.push("s" + text);
        else argv.push("x" + hex(arg as Uint8Array));
      }
    }
    const response = await this.#request([], ["EVAL", EVAL_SCRIPT, "0", ...argv], false, "EVAL");
    if (typeof response.error === "string") throw new RedisReplyError(response.error, "EVAL");
    const replies = decodeResult(response.result);
    if (!Array.isArray(replies) || replies.length !== commands.length) {
      throw new RedisConnectionError("The REST service answered EVAL with something else");
    }
    return replies.map((reply, i) => {
      if (
        Array.isArray(reply) && reply.length === 2 && reply[0] instanceof Uint8Array &&
        sameBytes(reply[0], EVAL_ERROR) && reply[1] instanceof Uint8Array
      ) {
        return new RedisReplyError(utf8.decode(reply[1]), commandName(commands[i]!));
      }
      return statusFix(commands[i]!, reply);
    });
  }

  // One request: reads through @upstash/redis's requester (retried on network failures), writes
  // once with a body no layer can replay. Exact-bytes encoding, a timeout, and abort that rejects.
  async #request(
    path: string[],
    body: unknown,
    read: boolean,
    what: string,
  ): Promise<{ result?: unknown; error?: unknown }> {
    const retries = read ? this.#readRetries : 0;
    for (let attempt = 0;; attempt++) {
      if (this.#closing.signal.aborted) throw new BackendClosedError();
      const signal = AbortSignal.any([this.#closing.signal, AbortSignal.timeout(this.#timeout)]);
      this.#requests++;
      try {
        const response = read || this.#connection.url === undefined
          ? await this.#connection.requester.request<unknown>({
            path,
            body,
            headers: { "Upstash-Encoding": "base64" },
            signal,
          })
          : await this.#sendOnce(path, body, signal);
        // @upstash/redis resolves an aborted request with { result: "Aborted" }: never use it.
        if (signal.aborted) throw signal.reason;
        return response as { result?: unknown; error?: unknown };
      } catch (error) {
        const failure = this.#classify(error, signal, what);
        const retryable = failure instanceof RedisConnectionError &&
          !(failure instanceof RedisAuthenticationError) && !this.#closing.signal.aborted;
        if (!retryable || attempt >= retries) throw failure;
        // close() ends the pause (the loop then throws BackendClosedError), not the other way.
        await abortableSleep(this.#backoff(attempt), this.#closing.signal).catch(() => {});
      }
    }
  }

  // A write, sent once: the JSON body goes as a stream, which fetch cannot replay.
  async #sendOnce(path: string[], body: unknown, signal: AbortSignal): Promise<unknown> {
    const { url, token } = this.#connection;
    const init: RequestInit & { duplex: "half" } = {
      method: "POST",
      headers: {
        authorization: `Bearer ${token}`,
        "content-type": "application/json",
        "upstash-encoding": "base64",
      },
      body: new Blob([JSON.stringify(body)]).stream(),
      duplex: "half",
      cache: "no-store",
      signal,
    };
    const response = await fetch([url, ...path].join("/"), init);
    const raw = await response.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      throw new HttpStatusError(response.status, undefined);
    }
    if (!response.ok) {
      const error = (parsed as { error?: unknown } | null)?.error;
      throw new HttpStatusError(response.status, typeof error === "string" ? error : undefined);
    }
    return parsed;
  }

  #classify(error: unknown, signal: AbortSignal, what: string): Error {
    if (this.#closing.signal.aborted) return new BackendClosedError();
    if (signal.aborted) {
      return new RedisConnectionError(
        `The REST request for ${what} to ${this.#where()} timed out after ${this.#timeout} ms`,
        { cause: signal.reason },
      );
    }
    if (!(error instanceof Error)) return new RedisConnectionError(String(error));
    if (error instanceof HttpStatusError) {
      if (error.status === 401 || error.status === 403) {
        return new RedisAuthenticationError(
          `The REST service refused the token (HTTP ${error.status})`,
        );
      }
      if (error.serverMessage !== undefined && error.status < 500) {
        return new RedisReplyError(error.serverMessage, what);
      }
      return new RedisConnectionError(
        `The REST service answered ${what} with HTTP ${error.status}` +
          (error.serverMessage === undefined ? " and no JSON" : `: ${error.serverMessage}`),
      );
    }
    if (error.name === "UpstashError") {
      const message = serverMessage(error);
      if (/^(Unauthorized|WRONGPASS|NOAUTH)\b/i.test(message)) {
        return new RedisAuthenticationError(`The REST service refused the token: ${message}`);
      }
      return new RedisReplyError(message, what);
    }
    if (error.name === "UpstashJSONParseError") {
      return new RedisConnectionError(
        "The REST service answered with something that is not JSON (a proxy error page?)",
      );
    }
    return new RedisConnectionError(
      `Cannot reach the REST service at ${this.#where()} (${what}): ${error.message}; check the ` +
        "URL's host and port, and that the service is up",
      { cause: error },
    );
  }

  /** The service's URL for messages (it never holds the token). */
  #where(): string {
    return this.#connection.url ?? "the custom Requester's service";
  }
}

/** Options of {@linkcode httpDriverFromUrl}: the driver's options other than `url`. */
export type HttpUrlOptions = Omit<HttpDriverOptions, "url" | "redis">;

/**
 * Creates an {@linkcode httpDriver} for an `https://` (or `http://`) REST URL, as
 * `createBackend("https://…", { token })` does. A token in the URL's password
 * (`https://default:<token>@host`) is used when `options.token` is not given; it is removed
 * from the URL either way.
 *
 * @param url The REST URL.
 * @param options The token (else the URL's password, else the environment) and driver settings.
 * @returns The driver.
 * @throws {TypeError} for a URL that is not http(s), or when no token can be found.
 *
 * @example
 * ```ts ignore
 * import { httpDriverFromUrl } from "./http.ts";
 * const driver = httpDriverFromUrl("https://eu1-x.upstash.io", { token: "…" });
 * ```
 */
export function httpDriverFromUrl(url: string, options: HttpUrlOptions = {}): HttpDriver {
  if (typeof url !== "string") throw new TypeError("An HTTP backend URL must be a string");
  // httpDriver() takes the token out of the URL (options.token wins) and keeps it private.
  return httpDriver({ ...options, url });
}
