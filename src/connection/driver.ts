/**
 * The command-level seam between the Celery backend core and a Redis driver.
 *
 * The core builds commands as argument arrays and never sees sockets, HTTP or maps: every driver
 * (memory, TCP, HTTP) implements this interface and nothing more is asked of it.
 *
 * @module
 */

/** One argument of a Redis command. Numbers are sent as their decimal text. */
export type RedisArg = string | Uint8Array | number | bigint;

/** A Redis command: its name followed by its arguments, e.g. `["SET", key, value, "EX", 60]`. */
export type RedisCommand = readonly RedisArg[];

/**
 * A reply as drivers return it.
 *
 * - status replies (`+OK`, `+QUEUED`) are strings;
 * - integers are numbers;
 * - bulk strings are `Uint8Array` (binary-safe; the core decodes them), nil is `null`;
 * - arrays are arrays of replies.
 *
 * Error replies never appear as values of {@linkcode RedisDriver.send}: they reject with
 * `RedisReplyError`. Inside {@linkcode RedisDriver.transaction} results they appear as
 * `RedisReplyError` instances, one per failed command, as Redis reports them.
 */
export type RedisReply = string | number | Uint8Array | null | RedisReply[] | Error;

/** A message received on a subscribed channel. */
export interface PubSubMessage {
  /** The channel name (for Celery results: the task's meta key). */
  readonly channel: string;
  /** The published bytes, exactly as sent. */
  readonly payload: Uint8Array;
}

/** Callbacks a subscriber connection reports to. */
export interface SubscriberHandlers {
  /** Called for every `message` frame, in the order the server sent them. */
  onMessage(message: PubSubMessage): void;
  /**
   * Called once when the connection is lost or closed by the server (never after `close()`).
   * The subscriber is unusable afterwards; the caller reconnects by opening a new one.
   */
  onClose?(error: Error): void;
}

/**
 * A dedicated pub/sub connection. Subscribing and unsubscribing resolve when the server has
 * confirmed every channel, so a caller can read a key after `subscribe()` resolves and know
 * that no later publish can be missed.
 */
export interface Subscriber extends AsyncDisposable {
  /** Subscribes to the channels; resolves once the server has confirmed all of them. */
  subscribe(channels: readonly string[]): Promise<void>;
  /** Unsubscribes from the channels; resolves once the server has confirmed all of them. */
  unsubscribe(channels: readonly string[]): Promise<void>;
  /** Closes the connection. Idempotent. */
  close(): Promise<void>;
}

/**
 * What the backend core needs from Redis.
 *
 * The core only issues: GET, MGET, SET (with EX), DEL, INCRBY, EXPIRE, PUBLISH, RPUSH, LLEN,
 * LRANGE, ZADD, ZCOUNT, ZRANGE, and MULTI/EXEC blocks of those. Drivers may accept more.
 */
export interface RedisDriver extends AsyncDisposable {
  /** A short name for messages and logs, e.g. `"tcp"` or `"memory"`. Never contains secrets. */
  readonly name: string;
  /**
   * Sends one command and resolves with its reply.
   * @throws {RedisReplyError} when the server answers with an error reply.
   * @throws {RedisConnectionError} when the connection fails before the reply arrives.
   */
  send(command: RedisCommand): Promise<RedisReply>;
  /**
   * Runs the commands atomically (MULTI ... EXEC) and resolves with one reply per command.
   * Per-command errors raised while executing come back as `RedisReplyError` items; an error while
   * queueing (the whole block discarded) rejects.
   */
  transaction(commands: readonly RedisCommand[]): Promise<RedisReply[]>;
  /**
   * Opens a dedicated pub/sub connection. Absent on drivers that cannot subscribe (HTTP); the core
   * then falls back to polling.
   */
  openSubscriber?(handlers: SubscriberHandlers): Promise<Subscriber>;
  /** Closes every connection the driver holds. Idempotent. */
  close(): Promise<void>;
}
