/**
 * The TCP driver: RESP2 over a socket (TCP or unix), on Deno and Bun.
 *
 * - One command connection, opened lazily by the first command (or by `connect()`), re-opened by
 *   the first command after it drops. Commands in flight when it drops reject with
 *   `RedisConnectionError` and are never resent: retrying is the caller's policy.
 * - Automatic pipelining: every command issued in the same tick is encoded into one buffer and
 *   sent in one write when the microtask queue runs; replies are matched in order.
 * - `transaction()` sends MULTI, the commands and EXEC in one write.
 * - `openSubscriber()` opens a dedicated pub/sub connection with the same credentials.
 *
 * @module
 */

import type {
  PubSubMessage,
  RedisArg,
  RedisCommand,
  RedisDriver,
  RedisReply,
  Subscriber,
  SubscriberHandlers,
} from "../driver.ts";
import {
  BackendClosedError,
  RedisAuthenticationError,
  RedisConnectionError,
  RedisReplyError,
} from "../errors.ts";
import { RespDecoder } from "../resp/decode.ts";
import {
  encodeCommand,
  encodeCommands,
  maxCommandByteLength,
  writeCommand,
} from "../resp/encode.ts";
import {
  type RuntimeAdapter,
  runtimeAdapter,
  type Transport,
  type TransportTarget,
} from "./_transport.ts";

/** Options for {@linkcode tcpDriver}. */
export interface TcpDriverOptions {
  /**
   * The Redis host name or IP address. Ignored when `path` is set.
   * @default {"127.0.0.1"}
   */
  host?: string;
  /**
   * The Redis TCP port. Ignored when `path` is set.
   * @default {6379}
   */
  port?: number;
  /**
   * A unix socket path to connect to instead of `host`/`port`.
   * @default {undefined}
   */
  path?: string;
  /**
   * The ACL user name (Redis 6+), sent as `AUTH username password`. Requires `password`.
   * @default {undefined} (the `default` user)
   */
  username?: string;
  /**
   * The password, sent with `AUTH` on every new connection. Never appears in error messages.
   * @default {undefined} (no AUTH)
   */
  password?: string;
  /**
   * The database number, selected with `SELECT` on every new connection.
   * @default {0}
   */
  db?: number;
  /**
   * Milliseconds allowed to open a connection and complete its handshake (AUTH, SELECT, or a PING
   * when there is nothing else to send); past it the attempt fails with `RedisConnectionError`.
   * @default {10000}
   */
  connectTimeout?: number;
  /**
   * Milliseconds a sent command may wait for its reply; past it the command fails with
   * `RedisConnectionError` and the connection is dropped (so do not combine with blocking
   * commands that wait longer).
   * @default {undefined} (wait as long as the connection lives)
   */
  socketTimeout?: number;
  /**
   * A name set with `CLIENT SETNAME` on every new connection (no spaces).
   * @default {undefined}
   */
  clientName?: string;
}

/** The driver {@linkcode tcpDriver} returns: a {@linkcode RedisDriver} that can also subscribe. */
export interface TcpDriver extends RedisDriver {
  /**
   * Opens the command connection now instead of on the first command, and resolves once the
   * handshake (AUTH, SELECT, CLIENT SETNAME) has succeeded.
   * @throws {RedisConnectionError} when the connection cannot be made in time.
   * @throws {RedisAuthenticationError} when Redis refuses the credentials.
   */
  connect(): Promise<void>;
  /**
   * Opens a dedicated pub/sub connection (same credentials), resolving once its handshake is done.
   * @param handlers Where messages and the loss of the connection are reported.
   */
  openSubscriber(handlers: SubscriberHandlers): Promise<Subscriber>;
}

/**
 * Creates a Redis driver that speaks RESP2 over TCP or a unix socket, on Deno or Bun.
 *
 * @param options Where to connect and how to authenticate.
 * @returns The driver; it connects on first use.
 * @throws {RangeError} when `port`, `db` or a timeout is out of range.
 * @throws {TypeError} when `username` is given without `password`, when `clientName` has spaces,
 * or on a runtime that is neither Deno nor Bun.
 *
 * @example Sending commands
 * ```ts ignore
 * import { tcpDriver } from "./tcp.ts";
 * await using redis = tcpDriver({ host: "127.0.0.1", port: 6379, db: 1 });
 * await redis.send(["SET", "greeting", "hello", "EX", 60]);
 * const value = await redis.send(["GET", "greeting"]); // Uint8Array of "hello"
 * ```
 */
export function tcpDriver(options: TcpDriverOptions = {}): TcpDriver {
  return new TcpDriverImpl(resolveSettings(options, runtimeAdapter()));
}

// ---------------------------------------------------------------------------------------------
// Settings

interface Settings {
  readonly target: TransportTarget;
  /** `host:port` or `unix:/path`, for messages. */
  readonly label: string;
  readonly handshake: readonly RedisCommand[];
  readonly handshakeBytes: Uint8Array;
  readonly username: string | undefined;
  readonly connectTimeout: number;
  readonly socketTimeout: number | undefined;
  /** Sockets for the runtime this runs on (looked up when a driver is created, not on import). */
  readonly runtime: RuntimeAdapter;
}

function checkTimeout(name: string, value: number | undefined): void {
  if (value !== undefined && !(Number.isFinite(value) && value > 0)) {
    throw new RangeError(`The ${name} must be a positive number of milliseconds, got ${value}`);
  }
}

function resolveSettings(
  options: TcpDriverOptions,
  runtime: RuntimeAdapter,
): Settings {
  const host = options.host ?? "127.0.0.1";
  const port = options.port ?? 6379;
  const db = options.db ?? 0;
  const connectTimeout = options.connectTimeout ?? 10_000;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(`The Redis port must be an integer from 1 to 65535, got ${port}`);
  }
  if (!Number.isInteger(db) || db < 0) {
    throw new RangeError(`The Redis db must be a non-negative integer, got ${db}`);
  }
  checkTimeout("connectTimeout", connectTimeout);
  checkTimeout("socketTimeout", options.socketTimeout);
  if (options.username !== undefined && options.password === undefined) {
    throw new TypeError("A Redis username needs a password (use an empty string for nopass users)");
  }
  if (options.clientName !== undefined && /[\s]/.test(options.clientName)) {
    throw new TypeError("A Redis client name cannot contain spaces or newlines");
  }
  const handshake: RedisCommand[] = [];
  if (options.password !== undefined) {
    handshake.push(
      options.username === undefined
        ? ["AUTH", options.password]
        : ["AUTH", options.username, options.password],
    );
  }
  if (db !== 0) handshake.push(["SELECT", db]);
  if (options.clientName !== undefined) handshake.push(["CLIENT", "SETNAME", options.clientName]);
  // With nothing else to send, a PING proves the server answers before commands are released.
  if (handshake.length === 0) handshake.push(["PING"]);
  const target: TransportTarget = options.path !== undefined
    ? { path: options.path }
    : { hostname: host, port };
  const label = options.path !== undefined
    ? `unix:${options.path}`
    : host.includes(":")
    ? `[${host}]:${port}`
    : `${host}:${port}`;
  return {
    target,
    label,
    handshake,
    handshakeBytes: encodeCommands(handshake),
    username: options.username,
    connectTimeout,
    socketTimeout: options.socketTimeout,
    runtime,
  };
}

// ---------------------------------------------------------------------------------------------
// Connection

const CONNECTING = 0;
const READY = 1;
const DEAD = 2;

const MULTI_BYTES = encodeCommand(["MULTI"]);
const EXEC_BYTES = encodeCommand(["EXEC"]);
/** Commands are encoded into write slabs of this size (or of one command, when bigger). */
const WRITE_SLAB = 64 * 1024;
const NO_BYTES = new Uint8Array(0);

const textDecoder = new TextDecoder();

type Resolve = (value: RedisReply) => void;
type Reject = (error: Error) => void;

// A reusable executor: `new Promise(capture)` hands back resolve/reject without a closure per call.
let capturedResolve: Resolve = () => {};
let capturedReject: Reject = () => {};
function capture(resolve: Resolve, reject: Reject): void {
  capturedResolve = resolve;
  capturedReject = reject;
}

function commandName(name: RedisArg | undefined): string {
  if (typeof name === "string") return name.toUpperCase();
  if (name instanceof Uint8Array) return textDecoder.decode(name).toUpperCase();
  return String(name);
}

/** The state of one MULTI … EXEC block waiting for its n + 2 replies. */
class Multi {
  readonly commands: readonly RedisCommand[];
  /** Replies received so far (MULTI's OK, then one QUEUED or error per command). */
  received = 0;
  /** The first error raised while queueing; the server then discards the block. */
  queueError: Error | undefined;
  constructor(commands: readonly RedisCommand[]) {
    this.commands = commands;
  }
}

/** A SUBSCRIBE/UNSUBSCRIBE call waiting for one confirmation per channel. */
class Confirmations {
  readonly command: string;
  remaining: number;
  constructor(command: string, remaining: number) {
    this.command = command;
    this.remaining = remaining;
  }
}

type Meta = RedisArg | undefined | Multi | Confirmations;

/** Where a subscriber connection reports what is not a reply to a call. */
interface PubSubSink {
  onMessage(message: PubSubMessage): void;
  onLost(error: Error): void;
}

function isWord(bytes: RedisReply | undefined, word: string): boolean {
  if (!(bytes instanceof Uint8Array) || bytes.length !== word.length) return false;
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== word.charCodeAt(i)) return false;
  return true;
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** One socket, its handshake, and the replies it owes, in order. */
class Connection {
  readonly #settings: Settings;
  readonly #sink: PubSubSink | null;
  readonly #decoder: RespDecoder;
  readonly #runtime: RuntimeAdapter;
  #state = CONNECTING;
  #transport: Transport | null = null;
  #connecting: Promise<void>;
  #abort = new AbortController();
  #connectTimer: ReturnType<typeof setTimeout> | undefined;
  #handshakeIndex = 0;
  /** The server's text of the last error reply decoded during the handshake. */
  #handshakeMessage = "";

  /** Resolves when the handshake succeeded; rejects when the connection failed before. */
  readonly ready: Promise<void>;
  #readyResolve: () => void = () => {};
  #readyReject: (error: Error) => void = () => {};

  // Replies owed, oldest at #head: parallel arrays, compacted when drained.
  #resolves: Resolve[] = [];
  #rejects: Reject[] = [];
  #metas: Meta[] = [];
  #sentAt: number[] = [];
  #head = 0;
  /** Entries before this index have been handed to the transport. */
  #flushed = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  // The write slab: [#outStart, #outLen) holds encoded commands not written yet. Regions handed
  // to the transport are never written again, so no buffer is allocated per write.
  #out: Uint8Array = NO_BYTES;
  #outStart = 0;
  #outLen = 0;
  #flushQueued = false;

  constructor(settings: Settings, sink: PubSubSink | null) {
    this.#settings = settings;
    this.#sink = sink;
    this.#runtime = settings.runtime;
    this.#decoder = new RespDecoder(this.#onReply, {
      createError: this.#createError,
      freshChunks: this.#runtime.freshChunks,
    });
    this.ready = new Promise<void>((resolve, reject) => {
      this.#readyResolve = resolve;
      this.#readyReject = reject;
    });
    this.ready.catch(() => {});
    this.#connecting = this.#open();
  }

  get dead(): boolean {
    return this.#state === DEAD;
  }

  // -- opening ------------------------------------------------------------------------------

  async #open(): Promise<void> {
    const settings = this.#settings;
    this.#connectTimer = setTimeout(() => {
      this.#connectTimer = undefined;
      this.#abort.abort();
      this.#fail(
        new RedisConnectionError(
          `Timed out after ${settings.connectTimeout} ms connecting to Redis at ${settings.label}`,
        ),
      );
    }, settings.connectTimeout);
    let transport: Transport;
    try {
      transport = await this.#runtime.connect(settings.target, {
        onData: this.#onData,
        onClose: this.#onClose,
      }, this.#abort.signal);
    } catch (error) {
      this.#fail(
        new RedisConnectionError(
          `Cannot connect to Redis at ${settings.label}: ${asError(error).message}`,
          { cause: error },
        ),
      );
      return;
    }
    if (this.#state === DEAD) {
      await transport.close();
      return;
    }
    this.#transport = transport;
    transport.write(settings.handshakeBytes.slice());
  }

  #handshakeReply(reply: RedisReply): void {
    const settings = this.#settings;
    const command = settings.handshake[this.#handshakeIndex++]!;
    if (reply instanceof Error) {
      const name = commandName(command[0]);
      const code = reply instanceof RedisReplyError ? reply.code : "";
      const serverMessage = this.#handshakeMessage;
      if (name === "AUTH" || code === "NOAUTH" || code === "WRONGPASS" || code === "NOPERM") {
        const who = settings.username === undefined ? "" : ` for user "${settings.username}"`;
        this.#fail(
          new RedisAuthenticationError(
            `Redis at ${settings.label} refused the credentials${who}: ${serverMessage}`,
            { cause: reply },
          ),
        );
      } else {
        this.#fail(reply);
      }
      return;
    }
    if (this.#handshakeIndex < settings.handshake.length) return;
    clearTimeout(this.#connectTimer);
    this.#connectTimer = undefined;
    this.#state = READY;
    this.#readyResolve();
    if (this.#outLen > this.#outStart) this.#flush();
  }

  // -- sending ------------------------------------------------------------------------------

  send(command: RedisCommand): Promise<RedisReply> {
    let size: number;
    try {
      size = maxCommandByteLength(command);
    } catch (error) {
      return Promise.reject(error);
    }
    const promise = new Promise<RedisReply>(capture);
    this.#enqueue(capturedResolve, capturedReject, command[0]);
    const out = this.#reserve(size);
    this.#outLen = writeCommand(out, this.#outLen, command);
    return promise;
  }

  transaction(commands: readonly RedisCommand[]): Promise<RedisReply[]> {
    let size = MULTI_BYTES.length + EXEC_BYTES.length;
    try {
      for (const command of commands) size += maxCommandByteLength(command);
    } catch (error) {
      return Promise.reject(error);
    }
    const promise = new Promise<RedisReply>(capture) as Promise<RedisReply[]>;
    this.#enqueue(capturedResolve, capturedReject, new Multi(commands));
    const out = this.#reserve(size);
    let p = this.#outLen;
    out.set(MULTI_BYTES, p);
    p += MULTI_BYTES.length;
    for (const command of commands) p = writeCommand(out, p, command);
    out.set(EXEC_BYTES, p);
    this.#outLen = p + EXEC_BYTES.length;
    return promise;
  }

  /** Sends SUBSCRIBE or UNSUBSCRIBE; resolves once every channel is confirmed. */
  pubsub(command: "SUBSCRIBE" | "UNSUBSCRIBE", channels: readonly string[]): Promise<void> {
    const args: RedisArg[] = [command, ...channels];
    const size = maxCommandByteLength(args);
    const promise = new Promise<RedisReply>(capture);
    this.#enqueue(capturedResolve, capturedReject, new Confirmations(command, channels.length));
    const out = this.#reserve(size);
    this.#outLen = writeCommand(out, this.#outLen, args);
    return promise as Promise<unknown> as Promise<void>;
  }

  #enqueue(resolve: Resolve, reject: Reject, meta: Meta): void {
    this.#resolves.push(resolve);
    this.#rejects.push(reject);
    this.#metas.push(meta);
  }

  /** Makes room for `size` more bytes in the write slab and schedules a flush. */
  #reserve(size: number): Uint8Array {
    let out = this.#out;
    if (this.#outLen + size > out.length) {
      // A new slab; the unsent commands move to its start.
      const unsent = this.#outLen - this.#outStart;
      const fresh = new Uint8Array(Math.max(WRITE_SLAB, 2 * unsent + size));
      if (unsent > 0) fresh.set(out.subarray(this.#outStart, this.#outLen));
      this.#out = out = fresh;
      this.#outStart = 0;
      this.#outLen = unsent;
    }
    if (!this.#flushQueued && this.#state === READY) {
      this.#flushQueued = true;
      queueMicrotask(this.#flush);
    }
    return out;
  }

  #flush = (): void => {
    this.#flushQueued = false;
    const start = this.#outStart;
    const end = this.#outLen;
    if (this.#state !== READY || end === start) return;
    // The transport owns these bytes now; later commands are written after them.
    const bytes = this.#out.subarray(start, end);
    this.#outStart = end;
    const timeout = this.#settings.socketTimeout;
    if (timeout !== undefined) {
      const now = Date.now();
      const sentAt = this.#sentAt;
      for (let i = this.#flushed; i < this.#resolves.length; i++) sentAt[i] = now;
      if (this.#timer === undefined) this.#timer = setTimeout(this.#checkTimeout, timeout);
    }
    this.#flushed = this.#resolves.length;
    this.#transport!.write(bytes);
  };

  #checkTimeout = (): void => {
    this.#timer = undefined;
    const timeout = this.#settings.socketTimeout!;
    if (this.#state !== READY || this.#head >= this.#resolves.length) return;
    const sentAt = this.#sentAt[this.#head];
    const now = Date.now();
    if (sentAt !== undefined && now - sentAt >= timeout) {
      const name = this.#describe(this.#metas[this.#head]);
      this.#fail(
        new RedisConnectionError(
          `Redis at ${this.#settings.label} did not answer ${name} within ${timeout} ms; ` +
            `the connection was dropped`,
        ),
      );
      return;
    }
    this.#timer = setTimeout(
      this.#checkTimeout,
      sentAt === undefined ? timeout : timeout - (now - sentAt),
    );
  };

  #describe(meta: Meta): string {
    if (meta instanceof Multi) return "MULTI/EXEC";
    if (meta instanceof Confirmations) return meta.command;
    return commandName(meta);
  }

  // -- receiving ----------------------------------------------------------------------------

  #onData = (chunk: Uint8Array): void => {
    try {
      this.#decoder.feed(chunk);
    } catch (error) {
      this.#fail(
        new RedisConnectionError(
          `Connection to Redis at ${this.#settings.label} failed: ${asError(error).message}`,
          { cause: error },
        ),
      );
    }
  };

  #onClose = (error: Error | undefined): void => {
    const label = this.#settings.label;
    this.#fail(
      error === undefined
        ? new RedisConnectionError(`Connection to Redis at ${label} was closed by the server`)
        : new RedisConnectionError(`Connection to Redis at ${label} failed: ${error.message}`, {
          cause: error,
        }),
    );
  };

  /** Names the command whose reply is being decoded, for error replies. */
  #createError = (message: string, depth: number, index: number): RedisReply => {
    if (this.#state === CONNECTING) {
      const command = this.#settings.handshake[this.#handshakeIndex];
      this.#handshakeMessage = message;
      return new RedisReplyError(message, command && commandName(command[0]));
    }
    const meta = this.#metas[this.#head];
    if (meta instanceof Multi) {
      const n = meta.commands.length;
      if (depth === 0) {
        const at = meta.received;
        if (at === 0) return new RedisReplyError(message, "MULTI");
        if (at <= n) return new RedisReplyError(message, commandName(meta.commands[at - 1]![0]));
        return new RedisReplyError(
          message,
          "EXEC",
          meta.queueError === undefined ? undefined : { cause: meta.queueError },
        );
      }
      const command = depth === 1 ? meta.commands[index] : undefined;
      return new RedisReplyError(message, command === undefined ? "EXEC" : commandName(command[0]));
    }
    if (meta instanceof Confirmations) return new RedisReplyError(message, meta.command);
    return new RedisReplyError(message, commandName(meta));
  };

  #onReply = (reply: RedisReply): void => {
    if (this.#state !== READY) {
      if (this.#state === CONNECTING) this.#handshakeReply(reply);
      return;
    }
    const head = this.#head;
    if (this.#sink !== null && Array.isArray(reply) && isWord(reply[0], "message")) {
      const channel = reply[1];
      const payload = reply[2];
      if (channel instanceof Uint8Array && payload instanceof Uint8Array) {
        this.#deliver({ channel: textDecoder.decode(channel), payload });
      }
      return;
    }
    if (head >= this.#resolves.length) {
      if (this.#sink !== null) return; // an unsolicited frame (e.g. a confirmation nobody awaits)
      this.#fail(
        new RedisConnectionError(
          `Connection to Redis at ${this.#settings.label} failed: it sent a reply nobody asked for`,
        ),
      );
      return;
    }
    const meta = this.#metas[head];
    if (meta instanceof Multi) {
      if (meta.received++ <= meta.commands.length) {
        // MULTI's OK, then QUEUED (or an error) per command.
        if (reply instanceof Error && meta.queueError === undefined) meta.queueError = reply;
        return;
      }
      const resolve = this.#resolves[head]!;
      const reject = this.#rejects[head]!;
      this.#shift();
      if (Array.isArray(reply)) resolve(reply);
      else if (reply instanceof Error) reject(reply);
      else reject(new RedisReplyError("EXECABORT the transaction was aborted (EXEC returned nil)"));
      return;
    }
    if (meta instanceof Confirmations && !(reply instanceof Error)) {
      if (--meta.remaining > 0) return;
    }
    const resolve = this.#resolves[head]!;
    const reject = this.#rejects[head]!;
    this.#shift();
    if (reply instanceof Error) reject(reply);
    else resolve(reply);
  };

  #deliver(message: PubSubMessage): void {
    try {
      this.#sink!.onMessage(message);
    } catch (error) {
      // A throwing handler must not desynchronise the reply stream: report it out of band.
      queueMicrotask(() => {
        throw error;
      });
    }
  }

  #shift(): void {
    const head = this.#head + 1;
    const length = this.#resolves.length;
    if (head === length) {
      this.#resolves.length = 0;
      this.#rejects.length = 0;
      this.#metas.length = 0;
      this.#sentAt.length = 0;
      this.#head = 0;
      this.#flushed -= length;
      return;
    }
    this.#head = head;
    this.#resolves[head - 1] = undefined!;
    this.#rejects[head - 1] = undefined!;
    this.#metas[head - 1] = undefined;
    if (head >= 1024 && head * 2 >= length) {
      this.#resolves.splice(0, head);
      this.#rejects.splice(0, head);
      this.#metas.splice(0, head);
      this.#sentAt.splice(0, head);
      this.#flushed -= head;
      this.#head = 0;
    }
  }

  // -- ending -------------------------------------------------------------------------------

  /** Ends the connection, rejecting every owed reply with `error`. */
  #fail(error: Error): void {
    if (this.#state === DEAD) return;
    const wasReady = this.#state === READY;
    this.#teardown();
    this.#readyReject(error);
    this.#rejectAll(error);
    if (this.#transport !== null) void this.#transport.close();
    if (wasReady) this.#sink?.onLost(error);
  }

  #teardown(): void {
    this.#state = DEAD;
    clearTimeout(this.#connectTimer);
    clearTimeout(this.#timer);
    this.#connectTimer = undefined;
    this.#timer = undefined;
    this.#out = NO_BYTES;
    this.#outStart = 0;
    this.#outLen = 0;
    this.#decoder.reset();
  }

  #rejectAll(error: Error): void {
    const rejects = this.#rejects;
    const head = this.#head;
    this.#resolves = [];
    this.#rejects = [];
    this.#metas = [];
    this.#sentAt = [];
    this.#head = 0;
    this.#flushed = 0;
    for (let i = head; i < rejects.length; i++) rejects[i]!(error);
  }

  /** Closes the socket; replies still owed reject with `BackendClosedError`. Idempotent. */
  async close(): Promise<void> {
    if (this.#state !== DEAD) {
      this.#teardown();
      this.#abort.abort();
      const error = new BackendClosedError("The Redis driver was closed before Redis replied");
      this.#readyReject(error);
      this.#rejectAll(error);
    }
    await this.#connecting;
    if (this.#transport !== null) await this.#transport.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Driver and subscriber

class TcpDriverImpl implements TcpDriver {
  readonly name = "tcp";
  readonly #settings: Settings;
  #connection: Connection | null = null;
  #closing: Promise<void> | null = null;
  readonly #subscribers = new Set<TcpSubscriber>();

  constructor(settings: Settings) {
    this.#settings = settings;
  }

  #live(): Connection {
    let connection = this.#connection;
    if (connection === null || connection.dead) {
      connection = this.#connection = new Connection(this.#settings, null);
    }
    return connection;
  }

  send(command: RedisCommand): Promise<RedisReply> {
    if (this.#closing !== null) return Promise.reject(new BackendClosedError());
    return this.#live().send(command);
  }

  transaction(commands: readonly RedisCommand[]): Promise<RedisReply[]> {
    if (this.#closing !== null) return Promise.reject(new BackendClosedError());
    if (commands.length === 0) return Promise.resolve([]);
    return this.#live().transaction(commands);
  }

  connect(): Promise<void> {
    if (this.#closing !== null) return Promise.reject(new BackendClosedError());
    return this.#live().ready;
  }

  async openSubscriber(handlers: SubscriberHandlers): Promise<Subscriber> {
    if (this.#closing !== null) throw new BackendClosedError();
    const subscriber = new TcpSubscriber(this.#settings, handlers, this.#subscribers);
    try {
      await subscriber.ready;
    } catch (error) {
      await subscriber.close();
      throw error;
    }
    return subscriber;
  }

  close(): Promise<void> {
    if (this.#closing === null) {
      const closings = [...this.#subscribers].map((subscriber) => subscriber.close());
      if (this.#connection !== null) closings.push(this.#connection.close());
      this.#connection = null;
      this.#closing = Promise.all(closings).then(() => {});
    }
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

class TcpSubscriber implements Subscriber {
  readonly #connection: Connection;
  readonly #registry: Set<TcpSubscriber>;
  #closing: Promise<void> | null = null;
  readonly ready: Promise<void>;

  constructor(settings: Settings, handlers: SubscriberHandlers, registry: Set<TcpSubscriber>) {
    this.#registry = registry;
    let lost = false;
    this.#connection = new Connection(settings, {
      onMessage: (message) => handlers.onMessage(message),
      onLost: (error) => {
        registry.delete(this);
        if (lost || this.#closing !== null) return;
        lost = true;
        handlers.onClose?.(error);
      },
    });
    registry.add(this);
    this.ready = this.#connection.ready;
  }

  subscribe(channels: readonly string[]): Promise<void> {
    return this.#call("SUBSCRIBE", channels);
  }

  unsubscribe(channels: readonly string[]): Promise<void> {
    return this.#call("UNSUBSCRIBE", channels);
  }

  #call(command: "SUBSCRIBE" | "UNSUBSCRIBE", channels: readonly string[]): Promise<void> {
    if (this.#closing !== null) return Promise.reject(new BackendClosedError());
    if (this.#connection.dead) {
      return Promise.reject(
        new RedisConnectionError("The subscriber's connection is lost; open a new subscriber"),
      );
    }
    if (channels.length === 0) return Promise.resolve();
    for (const channel of channels) {
      if (typeof channel !== "string") {
        return Promise.reject(new TypeError("Channel names must be strings"));
      }
    }
    return this.#connection.pubsub(command, channels);
  }

  close(): Promise<void> {
    if (this.#closing === null) {
      this.#registry.delete(this);
      this.#closing = this.#connection.close();
    }
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
