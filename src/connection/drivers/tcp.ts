/**
 * The TCP driver: RESP2 over a socket (TCP, TLS or unix), on Deno and Bun.
 *
 * - Command connections opened lazily by the first command (or by `connect()`), re-opened by the
 *   first command after one drops: one by default, a pool of up to `maxConnections` when set
 *   (a command goes to the least busy connection; another one is opened while every open one is
 *   waiting for replies). Commands in flight when a connection drops reject with
 *   `RedisConnectionError` and are never resent: retrying is the caller's policy (see
 *   `retryingDriver()`).
 * - TLS (`tls`), with certificate verification on by default, a custom CA, client certificates.
 * - A health check (`healthCheckInterval`): a connection that stops answering — a paused or
 *   unplugged server whose socket stays open — is dropped within the interval.
 * - Automatic pipelining: every command issued in the same tick is encoded into one buffer and
 *   sent in one write when the microtask queue runs; replies are matched in order.
 * - `transaction()` sends MULTI, the commands and EXEC in one write.
 * - `openSubscriber()` opens a dedicated pub/sub connection with the same credentials.
 *
 * @module
 */

import { asError } from "./_socket_helpers.ts";
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
  MaxConnectionsError,
  RedisAuthenticationError,
  RedisConnectionError,
  RedisProtocolError,
  RedisReplyError,
} from "../../errors.ts";
import { RespDecoder } from "../resp/decode.ts";
import { checkDelay, MAX_TIMER_DELAY, TIME_UNITS_HINT } from "../time_units.ts";
import { type ResolvedRespLimits, resolveRespLimits, type RespLimits } from "../resp/limits.ts";
import {
  encodeCommand,
  encodeCommands,
  maxCommandByteLength,
  writeCommand,
} from "../resp/encode.ts";
import type { RedisSslParams, RedisUrlParams } from "../url.ts";
import {
  type RuntimeAdapter,
  runtimeAdapter,
  TlsError,
  type Transport,
  type TransportTarget,
  type TransportTls,
} from "./_transport.ts";

/** TLS settings of {@linkcode TcpDriverOptions.tls}. PEM text or file paths, not both. */
export interface TcpTlsOptions {
  /**
   * Whether and how the server's certificate is checked, in Celery's words (`ssl_cert_reqs`):
   * `"required"` (and `"optional"`, which means the same for a client) verify it against the CA;
   * `"none"` accepts any certificate (vulnerable to a man in the middle).
   * @default {"required"}
   */
  certReqs?: "required" | "optional" | "none" | undefined;
  /**
   * Whether the certificate must name the host connected to (`ssl_check_hostname`).
   * @default {true}
   */
  checkHostname?: boolean | undefined;
  /**
   * CA certificates (PEM) to trust instead of the runtime's root store.
   * @default {undefined} (the runtime's roots)
   */
  ca?: string | readonly string[] | undefined;
  /** A PEM file of CA certificates (`ssl_ca_certs`). @default {undefined} */
  caFile?: string | undefined;
  /** The client certificate chain (PEM), for mutual TLS. @default {undefined} */
  cert?: string | undefined;
  /** A PEM file with the client certificate (`ssl_certfile`). @default {undefined} */
  certFile?: string | undefined;
  /** The client certificate's private key (PEM). @default {undefined} */
  key?: string | undefined;
  /** A PEM file with the client key (`ssl_keyfile`). @default {undefined} */
  keyFile?: string | undefined;
}

/**
 * Converts Celery's TLS settings (from a `rediss://` URL or `redis_backend_use_ssl`) into
 * {@linkcode TcpTlsOptions}.
 *
 * @param ssl The parsed settings.
 * @returns The driver's TLS options.
 */
export function tcpTlsFromCelery(ssl: RedisSslParams): TcpTlsOptions {
  const tls: TcpTlsOptions = { certReqs: ssl.certReqs };
  if (ssl.checkHostname !== undefined) tls.checkHostname = ssl.checkHostname;
  if (ssl.caCerts !== undefined) tls.caFile = ssl.caCerts;
  if (ssl.certfile !== undefined) tls.certFile = ssl.certfile;
  if (ssl.keyfile !== undefined) tls.keyFile = ssl.keyfile;
  return tls;
}

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
  /**
   * TLS: `true` for the defaults (verify the certificate against the runtime's roots and the host
   * name), or settings. Not for unix sockets.
   * @default {undefined} (plain TCP)
   */
  tls?: boolean | TcpTlsOptions | undefined;
  /**
   * Milliseconds of silence after which a connection is checked: an idle connection is sent a
   * PING, and one whose replies stop coming for this long (a paused server, a dead peer whose
   * socket stays open) is dropped, rejecting what it owed with `RedisConnectionError`. Celery's
   * `redis_backend_health_check_interval` (in seconds there).
   * @default {undefined} (no health check)
   */
  healthCheckInterval?: number | undefined;
  /**
   * The most connections the driver holds, subscribers included (Celery's `max_connections`).
   * Commands share pipelined connections, so one carries any load; with more, a burst of
   * concurrent commands is spread over up to this many (each awaited command still runs in order,
   * but commands not awaited in sequence may run in any order). Opening a subscriber past the
   * limit fails with `RedisConnectionError`.
   * @default {undefined} (one command connection, any number of subscribers)
   */
  maxConnections?: number | undefined;
  /**
   * Limits on the replies a server may send: nesting depth, elements per aggregate, bulk string
   * and line lengths. A reply beyond them (or bytes that are not RESP) closes its connection and
   * rejects what that connection owed with `RedisProtocolError`; the next command opens a new one.
   * @default {{ maxDepth: 128, maxAggregateLength: 16_777_216, maxBulkLength: 536_870_912, maxLineLength: 65_536 }}
   */
  replyLimits?: RespLimits | undefined;
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
 * @param options Where to connect and how to authenticate; timeouts and intervals in
 * milliseconds (Celery's settings and the URL's query, read by `createBackend()`, are seconds).
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
  return new TcpDriverImpl(resolveSettings(options, runtimeAdapter(), undefined));
}

/**
 * Hooks for drivers built on the TCP driver (the Sentinel driver). Not part of the public API.
 * @internal
 */
export interface TcpDriverHooks {
  /** A short name for messages, e.g. `master "mymaster"`. */
  readonly describe: string;
  /** Where the next connection goes; called once per connection. */
  endpoint(): Promise<{ host: string; port: number }>;
  /**
   * Check `ROLE` during the handshake and refuse a server that is not a master; drop a connection
   * that answers `READONLY` (a master turned replica), failing what it owed with
   * `RedisConnectionError`.
   */
  readonly requireMaster: boolean;
}

/**
 * A TCP driver whose connections go where `hooks.endpoint()` says (the Sentinel driver's base).
 * @internal
 */
export function tcpDriverWithHooks(
  options: TcpDriverOptions,
  hooks: TcpDriverHooks,
): TcpDriverInternals {
  return new TcpDriverImpl(resolveSettings(options, runtimeAdapter(), hooks));
}

/** A connection's command interface, for commands that must share one connection. @internal */
export interface PinnedConnection {
  /** `host:port` of the server the connection reached (empty while connecting). */
  readonly address: string;
  send(command: RedisCommand): Promise<RedisReply>;
  transaction(commands: readonly RedisCommand[]): Promise<RedisReply[]>;
}

/** What drivers built on the TCP driver may also call. @internal */
export interface TcpDriverInternals extends TcpDriver {
  /** Runs `fn` with one connection of the pool, so its commands are written together. */
  withConnection<T>(fn: (connection: PinnedConnection) => T): T;
  /**
   * Drops every connection (subscribers included, which report `onClose`) whose server address
   * matches, failing what they owed with `error`.
   */
  dropConnections(matches: (address: string) => boolean, error: Error): void;
}

// ---------------------------------------------------------------------------------------------
// Settings

/** Where one connection goes, resolved when it opens. */
interface Endpoint {
  readonly target: TransportTarget;
  /** `host:port` or `unix:/path`, for messages. */
  readonly label: string;
  /** `host:port` (empty for a unix socket), to drop connections by server. */
  readonly address: string;
}

interface Settings {
  /** Where the next connection goes (reads TLS files on first use). */
  readonly endpoint: () => Promise<Endpoint>;
  /** The static `host:port` or `unix:/path`, or the hooks' name, for messages before connecting. */
  readonly label: string;
  readonly handshake: readonly RedisCommand[];
  readonly handshakeBytes: Uint8Array;
  readonly username: string | undefined;
  readonly connectTimeout: number;
  readonly socketTimeout: number | undefined;
  readonly healthCheckInterval: number | undefined;
  readonly maxConnections: number | undefined;
  readonly requireMaster: boolean;
  /** See {@linkcode TcpDriverOptions.replyLimits}. */
  readonly replyLimits: ResolvedRespLimits;
  /** Sockets for the runtime this runs on (looked up when a driver is created, not on import). */
  readonly runtime: RuntimeAdapter;
}

function labelOf(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

function pemList(value: string | readonly string[] | undefined): string[] {
  return value === undefined ? [] : typeof value === "string" ? [value] : [...value];
}

/** Reads the TLS files once, on the first connection; the result is shared by all. */
function tlsLoader(
  tls: TcpTlsOptions,
  runtime: RuntimeAdapter,
): () => Promise<TransportTls> {
  let loaded: Promise<TransportTls> | undefined;
  const read = async (path: string | undefined, what: string): Promise<string | undefined> => {
    if (path === undefined) return undefined;
    try {
      return await runtime.readTextFile(path);
    } catch (error) {
      throw new TlsError(`Cannot read the ${what} file ${path}: ${asError(error).message}`, {
        cause: error,
      });
    }
  };
  return () =>
    loaded ??= (async () => {
      const caFile = await read(tls.caFile, "CA certificate (ssl_ca_certs)");
      const certFile = await read(tls.certFile, "client certificate (ssl_certfile)");
      const keyFile = await read(tls.keyFile, "client key (ssl_keyfile)");
      const ca = [...pemList(tls.ca), ...pemList(caFile)];
      const cert = tls.cert ?? certFile;
      const key = tls.key ?? keyFile;
      const verify = tls.certReqs === "none"
        ? "none"
        : tls.checkHostname === false
        ? "chain"
        : "full";
      return {
        verify,
        ...(ca.length > 0 ? { ca } : {}),
        ...(cert !== undefined ? { cert } : {}),
        ...(key !== undefined ? { key } : {}),
      };
    })();
}

function resolveSettings(
  options: TcpDriverOptions,
  runtime: RuntimeAdapter,
  hooks: TcpDriverHooks | undefined,
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
  checkDelay("connectTimeout", connectTimeout);
  checkDelay("socketTimeout", options.socketTimeout);
  checkDelay("healthCheckInterval", options.healthCheckInterval);
  const max = options.maxConnections;
  if (max !== undefined && !(Number.isInteger(max) && max >= 1)) {
    throw new RangeError(`maxConnections must be a positive integer, got ${max}`);
  }
  if (options.username !== undefined && options.password === undefined) {
    throw new TypeError("A Redis username needs a password (use an empty string for nopass users)");
  }
  if (options.clientName !== undefined && /[\s]/.test(options.clientName)) {
    throw new TypeError("A Redis client name cannot contain spaces or newlines");
  }
  const tlsOptions = options.tls === true ? {} : options.tls === false ? undefined : options.tls;
  if (tlsOptions !== undefined && options.path !== undefined && hooks === undefined) {
    throw new TypeError("TLS is for TCP connections, not unix sockets");
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
  // A Sentinel-managed connection proves it reached the master before commands are released.
  if (hooks?.requireMaster) handshake.push(["ROLE"]);
  // With nothing else to send, a PING proves the server answers before commands are released.
  if (handshake.length === 0) handshake.push(["PING"]);
  const loadTls = tlsOptions === undefined ? undefined : tlsLoader(tlsOptions, runtime);
  let endpoint: () => Promise<Endpoint>;
  let label: string;
  if (hooks !== undefined) {
    label = hooks.describe;
    endpoint = async () => {
      const at = await hooks.endpoint();
      const tls = loadTls === undefined ? undefined : await loadTls();
      return {
        target: { hostname: at.host, port: at.port, tls },
        label: labelOf(at.host, at.port),
        address: labelOf(at.host, at.port),
      };
    };
  } else if (options.path !== undefined) {
    label = `unix:${options.path}`;
    const fixed: Promise<Endpoint> = Promise.resolve({
      target: { path: options.path },
      label,
      address: "",
    });
    endpoint = () => fixed;
  } else {
    label = labelOf(host, port);
    let fixed: Promise<Endpoint> | undefined;
    const address = label;
    endpoint = () =>
      loadTls === undefined
        ? (fixed ??= Promise.resolve({ target: { hostname: host, port }, label, address }))
        : loadTls().then((tls) => ({ target: { hostname: host, port, tls }, label, address }));
  }
  return {
    endpoint,
    label,
    handshake,
    handshakeBytes: encodeCommands(handshake),
    username: options.username,
    connectTimeout,
    socketTimeout: options.socketTimeout,
    healthCheckInterval: options.healthCheckInterval,
    maxConnections: max,
    requireMaster: hooks?.requireMaster ?? false,
    replyLimits: resolveRespLimits(options.replyLimits),
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

/**
 * An error reply to the handshake without the AUTH arguments: a server that does not know AUTH
 * (or a proxy) echoes them ("unknown command 'AUTH', with args beginning with: 'pw' ").
 */
function scrubHandshakeReply(message: string, handshake: readonly RedisCommand[]): string {
  const auth = handshake.find((command) => commandName(command[0]) === "AUTH");
  if (auth === undefined) return message;
  let out = message.replace(/,? with args beginning with:.*$/s, "");
  for (const arg of auth.slice(1)) {
    const secret = typeof arg === "string" ? arg : String(arg);
    if (secret === "") continue;
    out = out.replaceAll(`'${secret}'`, "'**'");
    if (secret.length >= 3) out = out.replaceAll(secret, "**");
  }
  return out;
}

/** The URL form of where a connection goes, for messages (never with credentials). */
function urlOfLabel(label: string, tls: boolean): string {
  return label.startsWith("unix:")
    ? `redis+socket://${label.slice(5)}`
    : `${tls ? "rediss" : "redis"}://${label}`;
}

/** SELECT refused an index: the message names the server, the db, and what to change. */
function missingDatabaseMessage(where: string, db: number, count: number | undefined): string {
  const fix = `name an existing one in the URL's path, e.g. ${where}/0, or raise \`databases\` ` +
    "in the server's redis.conf";
  return count === undefined
    ? `${where}: database ${db} does not exist (the server has fewer databases; ${fix})`
    : `${where}: database ${db} does not exist (the server has ${count}, numbered 0 to ` +
      `${count - 1}; ${fix})`;
}

function isWord(bytes: RedisReply | undefined, word: string): boolean {
  if (!(bytes instanceof Uint8Array) || bytes.length !== word.length) return false;
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== word.charCodeAt(i)) return false;
  return true;
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
  /** Where this connection goes, for messages (the static label until the endpoint is known). */
  #label: string;
  /** `host:port` of the server, once known (empty for unix sockets and while resolving). */
  address = "";
  // Health check: whether any byte arrived since the last tick, and whether replies were owed then.
  #heard = false;
  #owedAtTick = false;
  #healthTimer: ReturnType<typeof setTimeout> | undefined;
  /** Whether the connection uses TLS, for messages. */
  #tls = false;
  /** SELECT was refused: the replies still owed by the handshake, then `CONFIG GET databases`. */
  #missingDb: { db: number; refusal: RedisReplyError; skip: number } | undefined;
  /** Whether the socket is unref'd: it owes no reply, so it must not keep the process alive. */
  #idle = false;

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
    this.#label = settings.label;
    this.#sink = sink;
    this.#runtime = settings.runtime;
    this.#decoder = new RespDecoder(this.#onReply, {
      createError: this.#createError,
      freshChunks: this.#runtime.freshChunks,
      ...settings.replyLimits,
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

  /** Replies owed (sent or queued): the pool sends new commands to the least loaded connection. */
  get load(): number {
    return this.#resolves.length - this.#head;
  }

  /** Ends the connection as if it had failed: what it owed rejects with `error`. */
  drop(error: Error): void {
    this.#fail(error);
  }

  // -- opening ------------------------------------------------------------------------------

  async #open(): Promise<void> {
    const settings = this.#settings;
    this.#connectTimer = setTimeout(() => {
      this.#connectTimer = undefined;
      this.#abort.abort();
      this.#fail(
        new RedisConnectionError(
          `Timed out after ${settings.connectTimeout} ms connecting to Redis at ${this.#label}`,
        ),
      );
    }, settings.connectTimeout);
    let endpoint: Endpoint;
    try {
      endpoint = await settings.endpoint();
    } catch (error) {
      this.#fail(
        error instanceof RedisConnectionError ? error : new RedisConnectionError(
          `Cannot connect to Redis at ${this.#label}: ${asError(error).message}`,
          { cause: error },
        ),
      );
      return;
    }
    if (this.#state === DEAD) return;
    this.#label = endpoint.label;
    this.#tls = endpoint.target.tls !== undefined;
    this.address = endpoint.address;
    let transport: Transport;
    try {
      transport = await this.#runtime.connect(endpoint.target, {
        onData: this.#onData,
        onClose: this.#onClose,
      }, this.#abort.signal);
    } catch (error) {
      this.#fail(
        new RedisConnectionError(
          error instanceof TlsError
            ? `TLS connection to Redis at ${this.#label} failed: ${error.message}`
            : `Cannot connect to Redis at ${this.#label}: ${asError(error).message}`,
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
    if (this.#missingDb !== undefined) {
      this.#missingDatabaseReply(reply);
      return;
    }
    const settings = this.#settings;
    const command = settings.handshake[this.#handshakeIndex++]!;
    if (reply instanceof Error) {
      const name = commandName(command[0]);
      const code = reply instanceof RedisReplyError ? reply.code : "";
      const serverMessage = this.#handshakeMessage;
      if (
        name === "SELECT" && reply instanceof RedisReplyError && /out of range/i.test(serverMessage)
      ) {
        // Ask how many databases there are, once the rest of the handshake has answered.
        this.#missingDb = {
          db: Number(command[1]),
          refusal: reply,
          skip: settings.handshake.length - this.#handshakeIndex,
        };
        this.#transport?.write(encodeCommand(["CONFIG", "GET", "databases"]));
        return;
      }
      if (name === "AUTH" || code === "NOAUTH" || code === "WRONGPASS" || code === "NOPERM") {
        const who = settings.username === undefined ? "" : ` for user "${settings.username}"`;
        this.#fail(
          new RedisAuthenticationError(
            `Redis at ${this.#label} refused the credentials${who}: ${serverMessage}`,
            { cause: reply },
          ),
        );
      } else {
        this.#fail(reply);
      }
      return;
    }
    if (
      commandName(command[0]) === "ROLE" && !(Array.isArray(reply) && isWord(reply[0], "master"))
    ) {
      const role = Array.isArray(reply) && reply[0] instanceof Uint8Array
        ? textDecoder.decode(reply[0])
        : "unknown";
      this.#fail(
        new RedisConnectionError(`Redis at ${this.#label} is not the master (its role is ${role})`),
      );
      return;
    }
    if (this.#handshakeIndex < settings.handshake.length) return;
    clearTimeout(this.#connectTimer);
    this.#connectTimer = undefined;
    this.#state = READY;
    this.#readyResolve();
    if (this.load === 0) this.#setIdle(true);
    if (settings.healthCheckInterval !== undefined) this.#scheduleHealthCheck();
    if (this.#outLen > this.#outStart) this.#flush();
  }

  /** Skips what the handshake still owed, then fails with the count `CONFIG GET` gave (if any). */
  #missingDatabaseReply(reply: RedisReply): void {
    const missing = this.#missingDb!;
    if (missing.skip > 0) {
      missing.skip--;
      return;
    }
    const value = Array.isArray(reply) && reply[1] instanceof Uint8Array
      ? Number(textDecoder.decode(reply[1]))
      : NaN;
    const count = Number.isInteger(value) && value > 0 ? value : undefined;
    const where = urlOfLabel(this.#label, this.#tls);
    this.#fail(
      new RedisReplyError(this.#handshakeMessage, "SELECT", {
        message: missingDatabaseMessage(where, missing.db, count),
        cause: missing.refusal,
      }),
    );
  }

  // -- health check -------------------------------------------------------------------------

  // Every third of the interval: a silent connection that owed replies at the previous tick and
  // still does is dead; a silent idle one is sent a PING. A pause is so noticed within the
  // interval: at most one tick to see silence, one to PING, one to find the PING unanswered.
  #scheduleHealthCheck(): void {
    const interval = this.#settings.healthCheckInterval!;
    this.#healthTimer = setTimeout(this.#healthTick, Math.max(1, Math.floor(interval / 3)));
    this.#runtime.unrefTimer(this.#healthTimer);
  }

  // A script that forgets close() still exits: only a connection owing replies holds the process.
  #setIdle(idle: boolean): void {
    this.#idle = idle;
    if (idle) this.#transport?.unref?.();
    else this.#transport?.ref?.();
  }

  #healthTick = (): void => {
    this.#healthTimer = undefined;
    if (this.#state !== READY) return;
    const owed = this.#head < this.#flushed;
    if (!this.#heard && this.#owedAtTick && owed) {
      this.#fail(
        new RedisConnectionError(
          `Redis at ${this.#label} stopped answering: no reply within the health check interval ` +
            `(${this.#settings.healthCheckInterval} ms); the connection was dropped`,
        ),
      );
      return;
    }
    let pinged = false;
    if (!this.#heard && this.load === 0) {
      this.send(["PING"]).catch(() => {});
      pinged = true;
    }
    this.#owedAtTick = owed || pinged;
    this.#heard = false;
    this.#scheduleHealthCheck();
  };

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
    if (this.#idle) this.#setIdle(false);
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
    if (this.#out.length > 16 * WRITE_SLAB) {
      // Grown for one big command (a SUBSCRIBE of 100,000 channels): not kept for the small ones
      // that follow, or each connection would hold megabytes for good (a slab up to 1 MiB, as
      // pipelines of ordinary commands reach, is kept and reused).
      this.#out = NO_BYTES;
      this.#outStart = this.#outLen = 0;
    }
    const timeout = this.#settings.socketTimeout;
    if (timeout !== undefined) {
      const now = Date.now();
      const sentAt = this.#sentAt;
      for (let i = this.#flushed; i < this.#resolves.length; i++) sentAt[i] = now;
      if (this.#timer === undefined) {
        this.#timer = setTimeout(this.#checkTimeout, timeout);
        // Outlives the replies it watches; the socket, ref'd while they are owed, holds the process.
        this.#runtime.unrefTimer(this.#timer);
      }
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
          `Redis at ${this.#label} did not answer ${name} within ${timeout} ms; ` +
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
    this.#heard = true;
    try {
      this.#decoder.feed(chunk);
    } catch (error) {
      // Malformed or over a limit: the rest of the stream cannot be trusted, so the connection
      // goes, and what it owed fails with a RedisConnectionError (the retry policies retry those).
      this.#fail(
        new RedisProtocolError(
          `Connection to Redis at ${this.#label} failed: ${asError(error).message}`,
          { cause: error },
        ),
      );
    }
  };

  #onClose = (error: Error | undefined): void => {
    const label = this.#label;
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
      const scrubbed = scrubHandshakeReply(message, this.#settings.handshake);
      if (this.#missingDb === undefined) this.#handshakeMessage = scrubbed;
      return new RedisReplyError(scrubbed, command && commandName(command[0]));
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
    if (
      this.#settings.requireMaster && reply instanceof RedisReplyError && reply.code === "READONLY"
    ) {
      // A master turned replica (a failover): what this connection owes goes elsewhere.
      this.#fail(
        new RedisConnectionError(
          `Redis at ${this.#label} answered READONLY: it is no longer the master`,
          { cause: reply },
        ),
      );
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
          `Connection to Redis at ${this.#label} failed: it sent a reply nobody asked for`,
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
      if (this.#state === READY) this.#setIdle(true);
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
    clearTimeout(this.#healthTimer);
    this.#connectTimer = undefined;
    this.#timer = undefined;
    this.#healthTimer = undefined;
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

class TcpDriverImpl implements TcpDriverInternals {
  readonly name = "tcp";
  readonly #settings: Settings;
  /** Command connections; dead ones are pruned when the next command picks one. */
  #pool: Connection[] = [];
  #closing: Promise<void> | null = null;
  readonly #subscribers = new Set<TcpSubscriber>();

  constructor(settings: Settings) {
    this.#settings = settings;
  }

  /** The least loaded live connection, or a new one while every one is busy and room is left. */
  #live(): Connection {
    const pool = this.#pool;
    // The common case, kept cheap: one live connection and no pool to grow.
    if (pool.length === 1 && this.#settings.maxConnections === undefined && !pool[0]!.dead) {
      return pool[0]!;
    }
    let best: Connection | undefined;
    let live = 0;
    for (const connection of this.#pool) {
      if (connection.dead) continue;
      live++;
      if (best === undefined || connection.load < best.load) best = connection;
    }
    if (live !== this.#pool.length) this.#pool = this.#pool.filter((c) => !c.dead);
    const max = this.#settings.maxConnections;
    const room = max === undefined ? 1 - live : max - live - this.#subscribers.size;
    if (best !== undefined && (best.load === 0 || room <= 0)) return best;
    if (best === undefined && room <= 0) {
      throw new MaxConnectionsError(
        `Too many connections: maxConnections (${max}) are all held by subscribers, leaving ` +
          "none for commands (waiting for results needs a subscriber and a command connection)",
      );
    }
    const connection = new Connection(this.#settings, null);
    this.#pool.push(connection);
    return connection;
  }

  send(command: RedisCommand): Promise<RedisReply> {
    if (this.#closing !== null) return Promise.reject(new BackendClosedError());
    let connection: Connection;
    try {
      connection = this.#live();
    } catch (error) {
      return Promise.reject(error);
    }
    return connection.send(command);
  }

  transaction(commands: readonly RedisCommand[]): Promise<RedisReply[]> {
    if (this.#closing !== null) return Promise.reject(new BackendClosedError());
    if (commands.length === 0) return Promise.resolve([]);
    let connection: Connection;
    try {
      connection = this.#live();
    } catch (error) {
      return Promise.reject(error);
    }
    return connection.transaction(commands);
  }

  connect(): Promise<void> {
    if (this.#closing !== null) return Promise.reject(new BackendClosedError());
    try {
      return this.#live().ready;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  withConnection<T>(fn: (connection: PinnedConnection) => T): T {
    if (this.#closing !== null) throw new BackendClosedError();
    return fn(this.#live());
  }

  dropConnections(matches: (address: string) => boolean, error: Error): void {
    for (const connection of this.#pool) {
      if (!connection.dead && matches(connection.address)) connection.drop(error);
    }
    for (const subscriber of [...this.#subscribers]) {
      if (matches(subscriber.address)) subscriber.drop(error);
    }
  }

  async openSubscriber(handlers: SubscriberHandlers): Promise<Subscriber> {
    if (this.#closing !== null) throw new BackendClosedError();
    const max = this.#settings.maxConnections;
    if (max !== undefined && max < 2) {
      // A subscriber would leave no connection for the reads that waiting needs.
      throw new MaxConnectionsError(
        `maxConnections (${max}) is too small to wait for results: the subscriber needs a ` +
          "connection of its own besides the command connection (set it to 2 or more)",
      );
    }
    if (max !== undefined) {
      const live = this.#pool.filter((c) => !c.dead);
      if (live.length + this.#subscribers.size >= max) {
        // Make room by closing an idle command connection, if there is one.
        const idle = live.find((c) => c.load === 0);
        if (idle === undefined) {
          throw new RedisConnectionError(
            `Too many connections: maxConnections (${max}) are all in use`,
          );
        }
        this.#pool = this.#pool.filter((c) => c !== idle);
        void idle.close();
      }
    }
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
      for (const connection of this.#pool) closings.push(connection.close());
      this.#pool = [];
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

  /** `host:port` of the server this subscriber reached. */
  get address(): string {
    return this.#connection.address;
  }

  /** Ends the connection as if it had failed (the handlers' `onClose` is called). */
  drop(error: Error): void {
    this.#connection.drop(error);
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

// ---------------------------------------------------------------------------------------------
// Celery's settings

/** Celery's connection settings that are not in the URL (seconds, as Celery configures them). */
export interface CelerySocketSettings {
  /** `redis_socket_timeout` in seconds; `0` or `Infinity` for none. @default {120} */
  socketTimeout?: number | undefined;
  /** `redis_socket_connect_timeout` in seconds. @default {10} */
  socketConnectTimeout?: number | undefined;
  /** `redis_backend_health_check_interval` in seconds; `0` for none. @default {undefined} */
  healthCheckInterval?: number | undefined;
  /** `redis_max_connections`. @default {undefined} */
  maxConnections?: number | undefined;
}

function seconds(name: string, value: number | undefined): number | undefined {
  if (value === undefined || value === 0 || value === Infinity) return undefined;
  if (typeof value !== "number" || !(value > 0)) {
    throw new RangeError(
      `${name} must be a positive number of seconds, got ${value} ${TIME_UNITS_HINT}`,
    );
  }
  const ms = Math.max(1, Math.round(value * 1000));
  // Beyond what a timer holds: none, as Infinity (Celery users write a huge number for "never").
  return ms > MAX_TIMER_DELAY ? undefined : ms;
}

/**
 * Driver options for a parsed Celery URL (`redis://`, `rediss://`, `redis+socket://`), with
 * Celery's settings as defaults that the URL's query overrides, as in Celery.
 *
 * @param params The parsed URL.
 * @param settings Celery's settings.
 * @returns Options for {@linkcode tcpDriver}.
 * @throws {RangeError} for a timeout or interval that is negative or not a number.
 */
export function tcpOptionsFromCelery(
  params: RedisUrlParams,
  settings: CelerySocketSettings = {},
): TcpDriverOptions {
  const options: TcpDriverOptions = { db: params.db };
  if (params.path !== undefined) options.path = params.path;
  else {
    options.host = params.host;
    options.port = params.port;
  }
  if (params.password !== undefined) options.password = params.password;
  if (params.username !== undefined) {
    options.username = params.username;
    options.password ??= "";
  }
  const socketTimeout = seconds(
    "socket_timeout",
    params.socketTimeout ?? settings.socketTimeout ?? 120,
  );
  if (socketTimeout !== undefined) options.socketTimeout = socketTimeout;
  const connectTimeout = seconds(
    "socket_connect_timeout",
    params.socketConnectTimeout ?? settings.socketConnectTimeout,
  );
  if (connectTimeout !== undefined) options.connectTimeout = connectTimeout;
  const health = seconds(
    "health_check_interval",
    params.healthCheckInterval ?? settings.healthCheckInterval,
  );
  if (health !== undefined) options.healthCheckInterval = health;
  const max = params.maxConnections ?? settings.maxConnections;
  if (max !== undefined) options.maxConnections = max;
  if (params.ssl !== undefined) options.tls = tcpTlsFromCelery(params.ssl);
  return options;
}
