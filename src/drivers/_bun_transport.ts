/**
 * The Bun transport: `Bun.connect()`'s callback socket (TCP, or `unix` for a socket path) adapted
 * to the callback {@linkcode Transport}. Bun's `write()` is unbuffered — it returns how many bytes
 * the kernel took — so what it does not take is kept, in order, and sent on `drain`.
 *
 * TLS will plug in here: `Bun.connect({ tls })` opens the same socket shape.
 *
 * The `Bun` global is reached through a local, minimal type (no `bun-types` needed to type-check).
 *
 * @module
 */

import type { Transport, TransportHandlers, TransportTarget } from "./_transport.ts";

/** The part of Bun's `Socket` used here. */
interface BunSocket {
  write(data: Uint8Array): number;
  end(): void;
  terminate?(): void;
  setNoDelay?(noDelay?: boolean): boolean;
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
}

/** The part of the `Bun` namespace used here. */
interface BunNet {
  connect(
    options:
      | { hostname: string; port: number; socket: BunSocketHandler }
      | { unix: string; socket: BunSocketHandler },
  ): Promise<BunSocket>;
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
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
  const bun = (globalThis as unknown as { Bun: BunNet }).Bun;
  const transport = new BunTransport(handlers);
  const socketHandler: BunSocketHandler = {
    binaryType: "uint8array",
    open: () => {},
    data: (_socket, data) => transport.data(data),
    drain: () => transport.drain(),
    end: () => transport.end(undefined),
    close: (_socket, error) => transport.end(error),
    error: (_socket, error) => transport.end(error),
    connectError: () => {}, // the connect() promise rejects with the error
  };
  const connecting = target.path !== undefined
    ? bun.connect({ unix: target.path, socket: socketHandler })
    : bun.connect({ hostname: target.hostname, port: target.port, socket: socketHandler });
  // Bun cannot cancel a connect: give up on abort and close the socket if it connects later.
  const socket = await untilAborted(connecting, signal, (late) => {
    late.terminate ? late.terminate() : late.end();
  });
  socket.setNoDelay?.(true);
  transport.attach(socket);
  return transport;
}

/** Settles like `promise`, or rejects as soon as `signal` aborts (then `discard`s a late value). */
function untilAborted<T>(
  promise: Promise<T>,
  signal: AbortSignal,
  discard: (late: T) => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const onAbort = () => {
      if (settled) return;
      settled = true;
      reject(asError(signal.reason));
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
    promise.then((value) => {
      signal.removeEventListener("abort", onAbort);
      if (settled) {
        discard(value);
      } else {
        settled = true;
        resolve(value);
      }
    }, (error: unknown) => {
      signal.removeEventListener("abort", onAbort);
      if (!settled) {
        settled = true;
        reject(error);
      }
    });
  });
}

class BunTransport implements Transport {
  readonly #handlers: TransportHandlers;
  #socket: BunSocket | null = null;
  #closed = false;
  /** Bytes the kernel has not taken yet, oldest first. */
  #pending: Uint8Array[] = [];

  constructor(handlers: TransportHandlers) {
    this.#handlers = handlers;
  }

  attach(socket: BunSocket): void {
    this.#socket = socket;
    if (this.#closed) socket.end(); // the peer hung up before connect() resolved
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
    if (socket !== null) {
      try {
        socket.end();
      } catch {
        // Already closed.
      }
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

function concatAll(parts: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const part of parts) total += part.length;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
