/**
 * What the TCP driver, the transport chooser (`_transport.ts`) and each runtime's transport share:
 * the transport contract's types and {@linkcode TlsError}. Kept apart so that the transports import
 * neither the chooser nor each other.
 *
 * @module
 */

/**
 * TLS settings of a connection. Certificates and keys are PEM text (the driver reads files before
 * connecting).
 */
export interface TransportTls {
  /** CA certificates to trust instead of the runtime's root store. */
  readonly ca?: readonly string[] | undefined;
  /** The client certificate chain, for mutual TLS. */
  readonly cert?: string | undefined;
  /** The client certificate's private key, for mutual TLS. */
  readonly key?: string | undefined;
  /**
   * How the server's certificate is checked: `"full"` (chain and host name), `"chain"` (chain
   * only, for `ssl_check_hostname=false`) or `"none"` (anything is accepted).
   */
  readonly verify: "full" | "chain" | "none";
}

/** Where to connect: a TCP host and port (optionally with TLS), or a unix socket path. */
export type TransportTarget =
  | {
    readonly hostname: string;
    readonly port: number;
    readonly path?: undefined;
    readonly tls?: TransportTls | undefined;
  }
  | { readonly path: string; readonly tls?: undefined };

/**
 * The error a transport rejects with when the TLS handshake fails or the server's certificate is
 * refused (`name` is `"TlsError"`): retrying will not fix it.
 */
export class TlsError extends Error {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TlsError";
  }
}

/** What a transport reports to its owner. */
export interface TransportHandlers {
  /** Bytes arrived. Unless the runtime's chunks are fresh, the chunk is valid only during the call. */
  onData(chunk: Uint8Array): void;
  /** The connection ended on its own: `error` says why, `undefined` means the peer closed it. */
  onClose(error: Error | undefined): void;
}

/** An open byte connection. */
export interface Transport {
  /** Queues bytes to send; takes ownership of the buffer (the caller must not reuse it). */
  write(bytes: Uint8Array): void;
  /** Closes the connection. Idempotent; `onClose` is not called afterwards. */
  close(): Promise<void>;
  /** Keeps the process alive while the connection is open (the default). */
  ref?(): void;
  /** Lets the process exit even though the connection is open. */
  unref?(): void;
}

/**
 * Opens a transport. Rejects when the connection cannot be made; honours `signal` by giving up
 * (and closing a socket that connects after the abort).
 */
export type TransportConnector = (
  target: TransportTarget,
  handlers: TransportHandlers,
  signal: AbortSignal,
) => Promise<Transport>;

/** What the driver needs to know about the runtime it runs on. */
export interface RuntimeAdapter {
  /** Opens sockets. */
  readonly connect: TransportConnector;
  /**
   * Whether every `onData` chunk is a view that the transport never writes to again, so the RESP
   * decoder may return bulk strings as views into it rather than copies. True for the Deno
   * transport (it reads into ever-advancing slabs, since allocating a small typed array costs
   * ~1–2 µs under Deno's V8); false for Bun, whose chunk reuse is undocumented and whose small
   * allocations are cheap.
   */
  readonly freshChunks: boolean;
  /** Reads a text file (TLS certificates and keys named by path, as Celery's `ssl_*` settings do). */
  readonly readTextFile: (path: string) => Promise<string>;
  /** Lets the process exit while a `setTimeout` timer is pending (for periodic health checks). */
  readonly unrefTimer: (timer: ReturnType<typeof setTimeout>) => void;
}
