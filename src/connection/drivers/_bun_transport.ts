/**
 * The Bun transport: `Bun.connect()`'s callback socket (TCP, or `unix` for a socket path) adapted
 * to the callback {@linkcode Transport}. Bun's `write()` is unbuffered — it returns how many bytes
 * the kernel took — so what it does not take is kept, in order, and sent on `drain`.
 *
 * TLS: `Bun.connect({ tls })` opens the same socket shape. Bun accepts writes only once the
 * handshake is done, so a TLS connect resolves from the `handshake` callback; a refused
 * certificate rejects it with a {@linkcode TlsError}. Bun ignores `checkServerIdentity`, so
 * `verify: "chain"` connects with `rejectUnauthorized: false` and refuses every verification
 * error but a host name mismatch itself.
 *
 * The `Bun` global is reached through a local, minimal type (no `bun-types` needed to type-check).
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

/** The part of Bun's `Socket` used here. */
interface BunSocket {
  write(data: Uint8Array): number;
  end(): void;
  terminate?(): void;
  setNoDelay?(noDelay?: boolean): boolean;
  ref?(): void;
  unref?(): void;
}

/** The socket callbacks Bun calls (`this`-free: each gets the socket first). */
interface BunSocketHandler {
  binaryType: "uint8array";
  open(socket: BunSocket): void;
  data(socket: BunSocket, data: Uint8Array): void;
  drain(socket: BunSocket): void;
  end(socket: BunSocket): void;
  close(socket: BunSocket, error?: Error): void;
  error(socket: BunSocket, error: Error): void;
  connectError(socket: BunSocket, error: Error): void;
  handshake?(socket: BunSocket, authorized: boolean, error: Error | null): void;
}

/** The TLS options of `Bun.connect` used here. */
interface BunTlsOptions {
  ca?: string[];
  cert?: string;
  key?: string;
  rejectUnauthorized: boolean;
}

/** The part of the `Bun` namespace used here. */
interface BunNet {
  connect(
    options:
      | { hostname: string; port: number; socket: BunSocketHandler; tls?: BunTlsOptions }
      | { unix: string; socket: BunSocketHandler },
  ): Promise<BunSocket>;
  file(path: string): { text(): Promise<string> };
}

function bun(): BunNet {
  return (globalThis as unknown as { Bun: BunNet }).Bun;
}

/**
 * Reads a text file with `Bun.file()`.
 *
 * @param path The file.
 * @returns Its text.
 */
export function readTextFileBun(path: string): Promise<string> {
  return bun().file(path).text();
}

/**
 * Lets the process exit while the timer is pending (Bun's timers have `unref()`).
 *
 * @param timer What `setTimeout` returned.
 */
export function unrefTimerBun(timer: ReturnType<typeof setTimeout>): void {
  (timer as unknown as { unref?: () => void }).unref?.();
}

/** Whether a certificate error is only about the host name (accepted by `verify: "chain"`). */
function onlyHostnameMismatch(error: Error | null): boolean {
  return (error as { code?: string } | null)?.code === "ERR_TLS_CERT_ALTNAME_INVALID";
}

/**
 * Opens a Bun socket.
 *
 * @param target Host and port, or a unix socket path.
 * @param handlers Where data and the end of the connection are reported.
 * @param signal Aborts the attempt (a socket that connects afterwards is closed at once).
 * @returns The transport.
 */
export async function connectBun(
  target: TransportTarget,
  handlers: TransportHandlers,
  signal: AbortSignal,
): Promise<Transport> {
  const transport = new BunTransport(handlers);
  const tls = target.tls;
  // For TLS: settles when the handshake is over (Bun takes no bytes before).
  let handshaken: ((error: Error | undefined) => void) | undefined;
  const handshake = tls === undefined ? undefined : new Promise<void>((resolve, reject) => {
    handshaken = (error) => (error === undefined ? resolve() : reject(error));
  });
  handshake?.catch(() => {});
  const socketHandler: BunSocketHandler = {
    binaryType: "uint8array",
    open: () => {},
    data: (_socket, data) => transport.data(data),
    drain: () => transport.drain(),
    end: () => {
      handshaken?.(new TlsError("The server closed the connection during the TLS handshake"));
      transport.end(undefined);
    },
    close: (_socket, error) => {
      handshaken?.(
        new TlsError(`The TLS handshake failed: ${error?.message ?? "connection closed"}`),
      );
      transport.end(error);
    },
    error: (_socket, error) => {
      handshaken?.(new TlsError(`The TLS handshake failed: ${error.message}`, { cause: error }));
      transport.end(error);
    },
    connectError: () => {}, // the connect() promise rejects with the error
  };
  if (tls !== undefined) {
    socketHandler.handshake = (_socket, authorized, error) => {
      const settle = handshaken!;
      handshaken = undefined;
      const accepted = authorized || tls.verify === "none" ||
        (tls.verify === "chain" && onlyHostnameMismatch(error));
      if (accepted) {
        settle(undefined);
      } else {
        settle(
          new TlsError(
            `The server's certificate was refused: ${error?.message ?? "not authorized"}`,
            { cause: error },
          ),
        );
      }
    };
  }
  const connecting = target.path !== undefined
    ? bun().connect({ unix: target.path, socket: socketHandler })
    : bun().connect({
      hostname: target.hostname,
      port: target.port,
      socket: socketHandler,
      ...(tls === undefined ? {} : { tls: bunTls(tls) }),
    });
  const opened = (async () => {
    const socket = await connecting;
    if (handshake !== undefined) {
      try {
        await handshake;
      } catch (error) {
        socket.terminate ? socket.terminate() : socket.end();
        throw error;
      }
    }
    return socket;
  })();
  // Bun cannot cancel a connect: give up on abort and close the socket if it connects later.
  const socket = await untilAborted(opened, signal, (late) => {
    late.terminate ? late.terminate() : late.end();
  });
  socket.setNoDelay?.(true);
  transport.attach(socket);
  return transport;
}

function bunTls(tls: TransportTls): BunTlsOptions {
  const options: BunTlsOptions = { rejectUnauthorized: tls.verify === "full" };
  if (tls.ca !== undefined) options.ca = [...tls.ca];
  if (tls.cert !== undefined) options.cert = tls.cert;
  if (tls.key !== undefined) options.key = tls.key;
  return options;
}

class BunTransport implements Transport {
  readonly #handlers: TransportHandlers;
  #socket: BunSocket | null = null;
  #closed = false;
  /** Why the socket ended before `attach()`: reported then, once the owner holds the transport. */
  #early: { error: Error | undefined } | undefined;
  /** Bytes the kernel has not taken yet, oldest first. */
  #pending: Uint8Array[] = [];

  constructor(handlers: TransportHandlers) {
    this.#handlers = handlers;
  }

  attach(socket: BunSocket): void {
    this.#socket = socket;
    const early = this.#early;
    if (early === undefined) return;
    // The peer hung up before connect() resolved.
    this.#early = undefined;
    socket.end();
    this.#handlers.onClose(early.error);
  }

  write(bytes: Uint8Array): void {
    const socket = this.#socket;
    if (this.#closed || socket === null || bytes.length === 0) return;
    if (this.#pending.length > 0) {
      this.#pending.push(bytes);
      return;
    }
    const written = socket.write(bytes);
    if (written < 0) {
      this.end(new Error("The socket was closed while writing"));
    } else if (written < bytes.length) {
      this.#pending.push(bytes.subarray(written));
    }
  }

  ref(): void {
    if (!this.#closed) this.#socket?.ref?.();
  }

  unref(): void {
    if (!this.#closed) this.#socket?.unref?.();
  }

  drain(): void {
    const socket = this.#socket;
    if (socket === null) return;
    while (!this.#closed && this.#pending.length > 0) {
      const pending = this.#pending;
      const bytes = pending.length === 1 ? pending[0]! : concatAll(pending);
      this.#pending = [];
      const written = socket.write(bytes);
      if (written < 0) {
        this.end(new Error("The socket was closed while writing"));
        return;
      }
      if (written < bytes.length) {
        this.#pending.unshift(bytes.subarray(written));
        return;
      }
    }
  }

  data(chunk: Uint8Array): void {
    if (this.#closed) return;
    try {
      this.#handlers.onData(chunk);
    } catch (error) {
      this.end(asError(error));
    }
  }

  end(error: Error | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#pending = [];
    const socket = this.#socket;
    if (socket === null) {
      // Not handed out yet: a failed connect or handshake rejects it; otherwise attach() reports.
      this.#early = { error };
      return;
    }
    try {
      socket.end();
    } catch {
      // Already closed.
    }
    this.#handlers.onClose(error);
  }

  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#pending = [];
      const socket = this.#socket;
      if (socket !== null) socket.terminate ? socket.terminate() : socket.end();
    }
    return Promise.resolve();
  }
}
