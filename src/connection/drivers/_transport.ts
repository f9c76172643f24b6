/**
 * The byte-transport seam under the TCP driver, and the one place that picks a runtime.
 *
 * A transport is the callback form of a socket: the driver hands it bytes with `write()` and gets
 * bytes back through `onData`. That form is what the driver's hot path wants (no promise per read,
 * no stream reader) and it adapts to every runtime cheaply:
 *
 * - Deno: `Deno.connect()`/`Deno.connectTls()`'s `read()`/`write()` loop (see `_deno_transport.ts`);
 * - Bun: `Bun.connect()`'s callback socket, with or without `tls` (see `_bun_transport.ts`);
 * - anything exposing `{ readable, writable, close() }` — `Deno.connect()`'s streams, Cloudflare's
 *   `connect()` — through {@linkcode streamTransport}.
 *
 * Contract:
 * - `onData` chunks are borrowed by default: valid only during the call, so the consumer copies
 *   what it keeps. A runtime whose transport never writes to a chunk again says so with
 *   {@linkcode RuntimeAdapter.freshChunks}, and the decoder then keeps views instead of copies.
 * - `write()` never blocks and never throws: bytes are queued in order and sent as the socket
 *   accepts them; a failed write ends the transport through `onClose(error)`.
 * - `onClose` is called at most once, when the peer or the network ends the connection (with
 *   `undefined` for a clean end of stream), and never after `close()` was called.
 * - `close()` is idempotent and resolves once the socket is released (the read loop has stopped),
 *   so tests that check for leaked resources pass.
 * - `unref()` lets the process exit while the socket is open and idle; `ref()` undoes it. The
 *   driver unrefs a connection that owes no reply, so a script that forgets `close()` still ends.
 *
 * @module
 */

import { connectBun, readTextFileBun, unrefTimerBun } from "./_bun_transport.ts";
import { connectDeno, readTextFileDeno, unrefTimerDeno } from "./_deno_transport.ts";

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

/** A socket in the web-streams shape (`Deno.connect()`, Cloudflare's `connect()`). */
export interface StreamSocket {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  close(): void | Promise<void>;
}

/**
 * Adapts a web-streams socket to the callback {@linkcode Transport}.
 *
 * @param socket The socket, already connected.
 * @param handlers Where to report data and the end of the connection.
 * @returns The transport.
 */
export function streamTransport(socket: StreamSocket, handlers: TransportHandlers): Transport {
  let closed = false;
  const reader = socket.readable.getReader();
  const writer = socket.writable.getWriter();
  const end = (error: Error | undefined) => {
    if (closed) return;
    closed = true;
    handlers.onClose(error);
    void Promise.resolve(socket.close()).catch(() => {});
  };
  const reading = (async () => {
    try {
      while (true) {
        const { value, done } = await reader.read();
        if (done) break;
        if (closed) return;
        handlers.onData(value);
      }
      end(undefined);
    } catch (error) {
      end(error instanceof Error ? error : new Error(String(error)));
    }
  })();
  return {
    write(bytes) {
      if (closed) return;
      writer.write(bytes).catch((error: unknown) => {
        end(error instanceof Error ? error : new Error(String(error)));
      });
    },
    async close() {
      if (!closed) {
        closed = true;
        await reader.cancel().catch(() => {});
        await Promise.resolve(socket.close()).catch(() => {});
      }
      await reading;
    },
  };
}

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

/**
 * The adapter for the runtime this code runs on, chosen by its global (`Bun` or `Deno`). This is
 * the only place that looks at either global outside the transport files.
 *
 * @returns The adapter.
 * @throws {TypeError} on a runtime with neither.
 */
export function runtimeAdapter(): RuntimeAdapter {
  const runtime = globalThis as { Deno?: unknown; Bun?: unknown };
  if (runtime.Bun !== undefined) {
    return {
      connect: connectBun,
      freshChunks: false,
      readTextFile: readTextFileBun,
      unrefTimer: unrefTimerBun,
    };
  }
  if (runtime.Deno !== undefined) {
    return {
      connect: connectDeno,
      freshChunks: true,
      readTextFile: readTextFileDeno,
      unrefTimer: unrefTimerDeno,
    };
  }
  throw new TypeError("The TCP driver needs Deno or Bun: neither global was found");
}
