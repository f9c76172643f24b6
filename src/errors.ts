/**
 * The module's error hierarchy. Every class sets `name` and accepts `cause`. Caller mistakes
 * (a bad argument) use the built-in `TypeError` / `RangeError` instead.
 *
 * Messages never contain passwords, tokens or payload bytes beyond a short, printable preview.
 *
 * @module
 */

/** Base class of every error this module raises about Redis or stored results. */
export class CeleryBackendError extends Error {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "CeleryBackendError";
  }
}

/** Options of {@linkcode RedisReplyError}. */
export interface RedisReplyErrorOptions extends ErrorOptions {
  /** A message that says what to change, instead of quoting the server's. */
  message?: string | undefined;
}

/** Redis answered a command with an error reply (`-ERR ...`, `-WRONGTYPE ...`). */
export class RedisReplyError extends CeleryBackendError {
  /** The first word of the reply, e.g. `ERR`, `WRONGTYPE`, `NOAUTH`, `READONLY`. */
  readonly code: string;
  /** The name of the command that failed (never its arguments). */
  readonly command: string | undefined;
  /** Creates the error from the server's message (already scrubbed of any secret it echoes). */
  constructor(serverMessage: string, command?: string, options?: RedisReplyErrorOptions) {
    const { message, ...errorOptions } = options ?? {};
    super(
      message ??
        (command === undefined
          ? `Redis replied with an error: ${serverMessage}`
          : `Redis replied to ${command} with an error: ${serverMessage}`),
      errorOptions,
    );
    this.name = "RedisReplyError";
    this.code = serverMessage.split(" ", 1)[0] ?? "ERR";
    this.command = command;
  }
}

/** The connection could not be made, was refused, timed out or dropped. Safe to retry. */
export class RedisConnectionError extends CeleryBackendError {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "RedisConnectionError";
  }
}

/** Redis refused the credentials (wrong password, unknown ACL user) or required some. */
export class RedisAuthenticationError extends RedisConnectionError {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "RedisAuthenticationError";
  }
}

/**
 * The server sent bytes that are not RESP, or a reply beyond the decoder's limits (too deep, too
 * many elements, a bulk string or line too long). The connection is closed; a new one is made for
 * the next command.
 */
export class RedisProtocolError extends RedisConnectionError {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "RedisProtocolError";
  }
}

/** A stored payload could not be decoded (corrupt bytes, unknown type marker, bad meta). */
export class DecodeError extends CeleryBackendError {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DecodeError";
  }
}

/**
 * A payload is in a serializer this backend was not told to accept (for example pickle), so it is
 * refused rather than guessed at, as kombu's `ContentDisallowed` does.
 */
export class ContentDisallowedError extends DecodeError {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ContentDisallowedError";
  }
}

/** A value cannot be represented in the configured serializer (as kombu's `EncodeError`). */
export class EncodeError extends CeleryBackendError {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "EncodeError";
  }
}

/** A result could not be stored (as Celery's `BackendStoreError`), e.g. a value over 512 MiB. */
export class BackendStoreError extends CeleryBackendError {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "BackendStoreError";
  }
}

/** The backend or driver was used after `close()`. */
export class BackendClosedError extends CeleryBackendError {
  /** Creates the error. */
  constructor(message = "The backend has been closed", options?: ErrorOptions) {
    super(message, options);
    this.name = "BackendClosedError";
  }
}

/**
 * Waiting for a result took longer than the timeout (Celery's `TimeoutError`: "The operation
 * timed out."). Its `name` is `TimeoutError`, as for `AbortSignal.timeout()`.
 */
export class TimeoutError extends CeleryBackendError {
  /** Creates the error. */
  constructor(message = "The operation timed out.", options?: ErrorOptions) {
    super(message, options);
    this.name = "TimeoutError";
  }
}

/**
 * `maxConnections` leaves no room for a connection that is needed (as redis-py's
 * `MaxConnectionsError`): waiting for results needs a subscriber connection and a command
 * connection. Retrying cannot fix it, so it fails at once.
 */
export class MaxConnectionsError extends RedisConnectionError {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "MaxConnectionsError";
  }
}
