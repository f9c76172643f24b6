/**
 * The Deno transport: `Deno.connect()` (TCP, or `transport: "unix"` for a socket path) driven with
 * `read()` and `write()` from an ordered queue. Cheaper than the web streams `Deno.connect()` also
 * offers: no promise per chunk beyond the read itself, no stream reader.
 *
 * Reads land in slabs: each read fills the free tail of the current slab, and a new slab is
 * allocated when the tail gets short. A byte range, once handed to `onData`, is never written
 * again ("fresh chunks"), so the RESP decoder returns bulk strings as views into the slab instead
 * of copying each one — under Deno's V8 a small typed-array allocation costs ~1–2 µs, a view
 * ~40 ns.
 *
 * TLS: a TLS conn has the same `Conn` shape, so it only changes which function opens the socket:
 * `Deno.startTls()` over a TCP socket whose Nagle's algorithm is off (over `Deno.connectTls()`, which
 * cannot turn it off, the first write after the handshake waits ~40 ms for a delayed ACK), or
 * `Deno.connectTls()` when a client certificate is given (`startTls` takes none). The handshake is
 * completed before the transport is handed out, so a refused certificate fails the connect with a
 * {@linkcode TlsError}. Deno cannot skip certificate
 * verification per connection, so `verify: "none"` (Celery's `ssl_cert_reqs=none`) goes through
 * `node:tls` with `rejectUnauthorized: false` instead.
 *
 * The `Deno` global is reached through a local, minimal type, so this file also type-checks
 * without Deno's namespace (the core's browser-compatibility check).
 *
 * @module
 */

import { asError, concatAll, untilAborted } from "./_socket_helpers.ts";
import {
  TlsError,
  type Transport,
  type TransportHandlers,
  type TransportTarget,
  type TransportTls,
} from "./_transport_types.ts";

/** The part of `Deno.Conn` used here. */
interface DenoConn {
  read(buffer: Uint8Array): Promise<number | null>;
  write(bytes: Uint8Array): Promise<number>;
  close(): void;
  setNoDelay?(noDelay?: boolean): void;
  ref?(): void;
  unref?(): void;
}

/** The part of `Deno.TlsConn` used here. */
interface DenoTlsConn extends DenoConn {
  handshake(): Promise<unknown>;
}

/** The part of the `Deno` namespace used here. */
interface DenoNet {
  connect(
    options:
      | { hostname: string; port: number; transport?: "tcp"; signal?: AbortSignal }
      | { transport: "unix"; path: string },
  ): Promise<DenoConn>;
  connectTls(options: {
    hostname: string;
    port: number;
    caCerts?: string[];
    cert?: string;
    key?: string;
    unsafelyDisableHostnameVerification?: boolean;
  }): Promise<DenoTlsConn>;
  startTls(conn: DenoConn, options: {
    hostname: string;
    caCerts?: string[];
    unsafelyDisableHostnameVerification?: boolean;
  }): Promise<DenoTlsConn>;
  readTextFile(path: string): Promise<string>;
  unrefTimer?(id: number): void;
}

/** The part of a `node:tls` socket used for `verify: "none"`. */
interface NodeSocket {
  write(bytes: Uint8Array): boolean;
  end(): void;
  destroy(): void;
  setNoDelay?(noDelay?: boolean): unknown;
  on(event: "data", listener: (chunk: Uint8Array) => void): unknown;
  on(event: "close" | "end" | "drain", listener: () => void): unknown;
  on(event: "error", listener: (error: Error) => void): unknown;
  once(event: "secureConnect", listener: () => void): unknown;
  once(event: "error", listener: (error: Error) => void): unknown;
  removeAllListeners(event?: string): unknown;
  ref?(): unknown;
  unref?(): unknown;
}

/** The part of `node:tls` used for `verify: "none"`. */
interface NodeTls {
  connect(options: {
    host: string;
    port: number;
    rejectUnauthorized: boolean;
    ca?: string[];
    cert?: string;
    key?: string;
  }): NodeSocket;
}

function deno(): DenoNet {
  return (globalThis as unknown as { Deno: DenoNet }).Deno;
}

/**
 * Reads a text file with `Deno.readTextFile`.
 *
 * @param path The file.
 * @returns Its text.
 */
export function readTextFileDeno(path: string): Promise<string> {
  return deno().readTextFile(path);
}

/**
 * Lets the process exit while the timer is pending: Deno's timers are numbers (`Deno.unrefTimer`),
 * or objects with `unref()` under its Node compatibility.
 *
 * @param timer What `setTimeout` returned.
 */
export function unrefTimerDeno(timer: ReturnType<typeof setTimeout>): void {
  const handle = timer as unknown as number | { unref?: () => void };
  if (typeof handle === "number") deno().unrefTimer?.(handle);
  else handle.unref?.();
}

/** Slab size; doubled (up to the maximum) while reads keep filling a whole slab. */
const SLAB_SIZE = 64 * 1024;
const MAX_SLAB_SIZE = 512 * 1024;
/** A new slab is started when the free tail is shorter than this. */
const MIN_READ = 16 * 1024;

/**
 * Opens a Deno socket.
 *
 * @param target Host and port, or a unix socket path.
 * @param handlers Where data and the end of the connection are reported.
 * @param signal Aborts the attempt.
 * @returns The transport.
 */
export async function connectDeno(
  target: TransportTarget,
  handlers: TransportHandlers,
  signal: AbortSignal,
): Promise<Transport> {
  if (target.path !== undefined) {
    const conn = await untilAborted(
      deno().connect({ transport: "unix", path: target.path }),
      signal,
      (late) => late.close(),
    );
    return new DenoTransport(conn, handlers);
  }
  const tls = target.tls;
  if (tls === undefined) {
    const connecting = deno().connect({ hostname: target.hostname, port: target.port, signal });
    const conn = await untilAborted(connecting, signal, (late) => late.close());
    return new DenoTransport(conn, handlers);
  }
  if (tls.verify === "none") {
    return await connectNodeTls(target.hostname, target.port, tls, handlers, signal);
  }
  const connecting = (async () => {
    let conn: DenoTlsConn;
    if (tls.cert === undefined && tls.key === undefined) {
      // TCP first, so Nagle's algorithm can be turned off before the handshake: over a
      // Deno.connectTls socket the first write after the handshake waits ~40 ms for a delayed ACK.
      const tcp = await deno().connect({ hostname: target.hostname, port: target.port, signal });
      tcp.setNoDelay?.(true);
      try {
        conn = await deno().startTls(tcp, {
          hostname: target.hostname,
          ...(tls.ca !== undefined ? { caCerts: [...tls.ca] } : {}),
          unsafelyDisableHostnameVerification: tls.verify === "chain",
        });
      } catch (error) {
        try {
          tcp.close();
        } catch {
          // Consumed by startTls.
        }
        throw new TlsError(`TLS handshake failed: ${asError(error).message}`, { cause: error });
      }
    } else {
      // Client certificates need Deno.connectTls (startTls takes none), whose socket keeps Nagle.
      conn = await deno().connectTls({
        hostname: target.hostname,
        port: target.port,
        ...(tls.ca !== undefined ? { caCerts: [...tls.ca] } : {}),
        ...(tls.cert !== undefined ? { cert: tls.cert } : {}),
        ...(tls.key !== undefined ? { key: tls.key } : {}),
        unsafelyDisableHostnameVerification: tls.verify === "chain",
      });
    }
    try {
      await conn.handshake();
    } catch (error) {
      conn.close();
      throw new TlsError(`TLS handshake failed: ${asError(error).message}`, { cause: error });
    }
    return conn;
  })();
  const conn = await untilAborted(connecting, signal, (late) => late.close());
  return new DenoTransport(conn, handlers);
}

/** `verify: "none"`: a `node:tls` socket that accepts any certificate, adapted to a transport. */
async function connectNodeTls(
  hostname: string,
  port: number,
  tls: TransportTls,
  handlers: TransportHandlers,
  signal: AbortSignal,
): Promise<Transport> {
  const nodeTls = await import("node:tls") as unknown as NodeTls;
  const socket = nodeTls.connect({
    host: hostname,
    port,
    rejectUnauthorized: false,
    ...(tls.ca !== undefined ? { ca: [...tls.ca] } : {}),
    ...(tls.cert !== undefined ? { cert: tls.cert } : {}),
    ...(tls.key !== undefined ? { key: tls.key } : {}),
  });
  const connected = new Promise<NodeSocket>((resolve, reject) => {
    socket.once("secureConnect", () => resolve(socket));
    socket.once("error", reject);
  });
  await untilAborted(connected, signal, (late) => late.destroy()).catch((error: unknown) => {
    socket.destroy();
    throw error;
  });
  socket.removeAllListeners("error");
  return new NodeTransport(socket, handlers);
}

class DenoTransport implements Transport {
  readonly #conn: DenoConn;
  readonly #handlers: TransportHandlers;
  #closed = false;
  #reading: Promise<void>;
  #writing: Promise<void> | null = null;
  #busy = false;
  #queue: Uint8Array[] = [];

  constructor(conn: DenoConn, handlers: TransportHandlers) {
    this.#conn = conn;
    this.#handlers = handlers;
    this.#reading = this.#readLoop();
  }

  write(bytes: Uint8Array): void {
    if (this.#closed || bytes.length === 0) return;
    if (this.#busy) {
      this.#queue.push(bytes);
      return;
    }
    this.#busy = true;
    this.#writing = this.#writeLoop(bytes);
  }

  ref(): void {
    if (!this.#closed) this.#conn.ref?.();
  }

  unref(): void {
    if (!this.#closed) this.#conn.unref?.();
  }

  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#queue = [];
      try {
        this.#conn.close();
      } catch {
        // Already closed by the runtime.
      }
    }
    await this.#reading;
    if (this.#writing !== null) await this.#writing;
  }

  #end(error: Error | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue = [];
    try {
      this.#conn.close();
    } catch {
      // Already closed.
    }
    this.#handlers.onClose(error);
  }

  async #readLoop(): Promise<void> {
    let size = SLAB_SIZE;
    let slab = new Uint8Array(size);
    let at = 0;
    try {
      while (!this.#closed) {
        if (slab.length - at < MIN_READ) {
          slab = new Uint8Array(size);
          at = 0;
        }
        const free = slab.length - at;
        const n = await this.#conn.read(at === 0 ? slab : slab.subarray(at));
        if (this.#closed) return;
        if (n === null) {
          this.#end(undefined);
          return;
        }
        // A read that fills a whole slab means more is waiting: read bigger next time.
        if (n === free && free === size && size < MAX_SLAB_SIZE) size *= 2;
        const chunk = slab.subarray(at, at + n);
        at += n;
        this.#handlers.onData(chunk);
      }
    } catch (error) {
      this.#end(asError(error));
    }
  }

  async #writeLoop(first: Uint8Array): Promise<void> {
    let bytes = first;
    try {
      while (true) {
        let offset = 0;
        while (offset < bytes.length) {
          offset += await this.#conn.write(offset === 0 ? bytes : bytes.subarray(offset));
        }
        const queue = this.#queue;
        if (queue.length === 0 || this.#closed) break;
        this.#queue = [];
        bytes = queue.length === 1 ? queue[0]! : concatAll(queue);
      }
    } catch (error) {
      this.#end(asError(error));
    } finally {
      this.#busy = false;
    }
  }
}

/** A `node:` socket adapted to the callback transport (Deno, `verify: "none"` only). */
class NodeTransport implements Transport {
  readonly #socket: NodeSocket;
  #closed = false;
  readonly #ended: Promise<void>;

  constructor(socket: NodeSocket, handlers: TransportHandlers) {
    this.#socket = socket;
    socket.setNoDelay?.(true);
    let release = () => {};
    this.#ended = new Promise<void>((resolve) => (release = resolve));
    let failure: Error | undefined;
    socket.on("data", (chunk) => {
      // Copied: the decoder may keep views into Deno chunks, and these come from node's pools.
      if (!this.#closed) handlers.onData(new Uint8Array(chunk));
    });
    socket.on("error", (error) => (failure = error));
    socket.on("close", () => {
      release();
      if (this.#closed) return;
      this.#closed = true;
      handlers.onClose(failure);
    });
  }

  write(bytes: Uint8Array): void {
    if (!this.#closed && bytes.length > 0) this.#socket.write(bytes);
  }

  ref(): void {
    this.#socket.ref?.();
  }

  unref(): void {
    this.#socket.unref?.();
  }

  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#socket.destroy();
    }
    await this.#ended;
  }
}
