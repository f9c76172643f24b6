/**
 * The Node transport: a `node:net` socket (TCP, or `path` for a unix socket) or a `node:tls` one,
 * adapted to the callback {@linkcode Transport}. Node's `write()` buffers on its own, in order, so
 * it maps one to one; `data` events map to `onData`.
 *
 * Chunks are fresh: Node hands every `data` event a buffer of its own and never writes to it again
 * (streams' users keep them across events), so the RESP decoder may keep views into them. Each is
 * passed on as a plain `Uint8Array` view, not a `Buffer`, so bulk strings compare and print as the
 * other runtimes' do.
 *
 * TLS: verification is Node's (`rejectUnauthorized`, the runtime's roots or `ca`), with the server
 * name sent for SNI; `verify: "chain"` keeps the chain check and skips only the host-name check
 * (`checkServerIdentity`). The connect resolves after the handshake, so a refused certificate
 * rejects it with a {@linkcode TlsError} naming Node's reason (unknown issuer, host-name mismatch).
 *
 * `node:` modules are loaded on first use through a local, minimal type: importing the module on
 * Deno, Bun or an edge runtime costs nothing, and no `@types/node` is needed to type-check.
 *
 * @module
 */

import { asError } from "./_socket_helpers.ts";
import {
  TlsError,
  type Transport,
  type TransportHandlers,
  type TransportTarget,
  type TransportTls,
} from "./_transport_types.ts";

/** The part of a `node:net` / `node:tls` socket used here. */
interface NodeSocket {
  write(bytes: Uint8Array): boolean;
  destroy(): void;
  setNoDelay(noDelay?: boolean): unknown;
  on(event: "data", listener: (chunk: Uint8Array) => void): unknown;
  on(event: "close", listener: () => void): unknown;
  on(event: "error", listener: (error: Error) => void): unknown;
  once(event: "connect" | "secureConnect" | "close", listener: () => void): unknown;
  once(event: "error", listener: (error: Error) => void): unknown;
  removeAllListeners(event?: string): unknown;
  ref(): unknown;
  unref(): unknown;
}

/** The part of `node:net` used here. */
interface NodeNet {
  connect(options: { host: string; port: number } | { path: string }): NodeSocket;
  isIP(input: string): number;
}

/** The part of `node:tls` used here. */
interface NodeTls {
  connect(options: {
    host: string;
    port: number;
    servername?: string;
    rejectUnauthorized: boolean;
    checkServerIdentity?: () => undefined;
    ca?: string[];
    cert?: string;
    key?: string;
  }): NodeSocket;
}

/** The part of `node:fs/promises` used here. */
interface NodeFs {
  readFile(path: string, encoding: "utf8"): Promise<string>;
}

interface NodeModules {
  readonly net: NodeNet;
  readonly tls: NodeTls;
  readonly fs: NodeFs;
}

let loading: Promise<NodeModules> | undefined;

/** The `node:` modules, imported once. */
function nodeModules(): Promise<NodeModules> {
  loading ??= Promise.all([import("node:net"), import("node:tls"), import("node:fs/promises")])
    .then(([net, tls, fs]) => ({
      net: net as unknown as NodeNet,
      tls: tls as unknown as NodeTls,
      fs: fs as unknown as NodeFs,
    }));
  return loading;
}

/**
 * Reads a text file with `node:fs/promises`.
 *
 * @param path The file.
 * @returns Its text.
 */
export async function readTextFileNode(path: string): Promise<string> {
  return await (await nodeModules()).fs.readFile(path, "utf8");
}

/**
 * Lets the process exit while the timer is pending (Node's timers have `unref()`).
 *
 * @param timer What `setTimeout` returned.
 */
export function unrefTimerNode(timer: ReturnType<typeof setTimeout>): void {
  (timer as unknown as { unref?: () => void }).unref?.();
}

/**
 * Opens a Node socket.
 *
 * @param target Host and port (optionally with TLS), or a unix socket path.
 * @param handlers Where data and the end of the connection are reported.
 * @param signal Aborts the attempt (the socket is destroyed).
 * @returns The transport, connected (and past the TLS handshake).
 */
export async function connectNode(
  target: TransportTarget,
  handlers: TransportHandlers,
  signal: AbortSignal,
): Promise<Transport> {
  if (signal.aborted) throw asError(signal.reason);
  const { net, tls } = await nodeModules();
  if (signal.aborted) throw asError(signal.reason);
  let socket: NodeSocket;
  if (target.path !== undefined) socket = net.connect({ path: target.path });
  else if (target.tls === undefined) {
    socket = net.connect({ host: target.hostname, port: target.port });
  } else socket = tls.connect(tlsOptions(net, target.hostname, target.port, target.tls));
  const ready = target.tls === undefined ? "connect" : "secureConnect";
  await new Promise<void>((resolve, reject) => {
    let tcpConnected = false;
    const settle = (error: Error | undefined) => {
      signal.removeEventListener("abort", onAbort);
      socket.removeAllListeners("error");
      socket.removeAllListeners("connect");
      socket.removeAllListeners("secureConnect");
      if (error === undefined) return resolve();
      socket.destroy();
      reject(error);
    };
    const onAbort = () => settle(asError(signal.reason));
    signal.addEventListener("abort", onAbort, { once: true });
    // TLS sockets also emit "connect" once TCP is up: an error after it is the handshake's.
    socket.once("connect", () => (tcpConnected = true));
    socket.once(ready, () => settle(undefined));
    socket.once("error", (error) => {
      settle(target.tls !== undefined && tcpConnected ? tlsError(error) : error);
    });
  });
  socket.setNoDelay(true);
  return new NodeTransport(socket, handlers);
}

function tlsOptions(net: NodeNet, host: string, port: number, tls: TransportTls) {
  return {
    host,
    port,
    // SNI takes host names only.
    ...(net.isIP(host) === 0 ? { servername: host } : {}),
    rejectUnauthorized: tls.verify !== "none",
    ...(tls.verify === "chain" ? { checkServerIdentity: () => undefined } : {}),
    ...(tls.ca !== undefined ? { ca: [...tls.ca] } : {}),
    ...(tls.cert !== undefined ? { cert: tls.cert } : {}),
    ...(tls.key !== undefined ? { key: tls.key } : {}),
  };
}

/** Node's handshake errors, with the certificate refusals said in words. */
function tlsError(error: Error): TlsError {
  const code = (error as { code?: string }).code ?? "";
  const why = code === "ERR_TLS_CERT_ALTNAME_INVALID"
    ? "the server's certificate is not valid for this host name"
    : /ISSUER|SELF_SIGNED|UNABLE_TO_VERIFY|CERT_/.test(code)
    ? "the server's certificate was refused"
    : "the TLS handshake failed";
  return new TlsError(`${why}: ${error.message}${code ? ` (${code})` : ""}`, { cause: error });
}

class NodeTransport implements Transport {
  readonly #socket: NodeSocket;
  readonly #handlers: TransportHandlers;
  readonly #released: Promise<void>;
  #closed = false;
  #failure: Error | undefined;

  constructor(socket: NodeSocket, handlers: TransportHandlers) {
    this.#socket = socket;
    this.#handlers = handlers;
    this.#released = new Promise<void>((resolve) => socket.once("close", resolve));
    socket.on("data", (chunk) => {
      if (this.#closed) return;
      try {
        handlers.onData(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      } catch (error) {
        // Thrown here it would be an uncaught exception: end the connection instead.
        this.#failure = asError(error);
        socket.destroy();
      }
    });
    socket.on("error", (error) => (this.#failure ??= error));
    socket.on("close", () => {
      if (this.#closed) return;
      this.#closed = true;
      this.#handlers.onClose(this.#failure);
    });
  }

  write(bytes: Uint8Array): void {
    if (!this.#closed && bytes.length > 0) this.#socket.write(bytes);
  }

  ref(): void {
    if (!this.#closed) this.#socket.ref();
  }

  unref(): void {
    if (!this.#closed) this.#socket.unref();
  }

  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#socket.destroy();
    }
    await this.#released;
  }
}
