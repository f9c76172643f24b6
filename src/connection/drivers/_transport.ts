/**
 * The byte-transport seam under the TCP driver, and the one place that picks a runtime.
 *
 * A transport is the callback form of a socket: the driver hands it bytes with `write()` and gets
 * bytes back through `onData`. That form is what the driver's hot path wants (no promise per read,
 * no stream reader) and it adapts to every runtime cheaply:
 *
 * - Deno: `Deno.connect()`/`Deno.connectTls()`'s `read()`/`write()` loop (see `_deno_transport.ts`);
 * - Bun: `Bun.connect()`'s callback socket, with or without `tls` (see `_bun_transport.ts`);
 * - Node: `node:net` / `node:tls` sockets and their events (see `_node_transport.ts`);
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
import { connectNode, readTextFileNode, unrefTimerNode } from "./_node_transport.ts";
import type { RuntimeAdapter, Transport, TransportHandlers } from "./_transport_types.ts";

// The shared types, for the driver (the transports import them from _transport_types.ts, never
// from this file, which imports them).
export {
  type RuntimeAdapter,
  TlsError,
  type Transport,
  type TransportConnector,
  type TransportHandlers,
  type TransportTarget,
  type TransportTls,
} from "./_transport_types.ts";

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

/**
 * The adapter for the runtime this code runs on, chosen by its global: `Bun`, then `Deno` (both
 * also define `process`), then Node's `process.versions.node`. This is the only place that looks
 * at these globals outside the transport files.
 *
 * @returns The adapter.
 * @throws {TypeError} on a runtime with none of them.
 */
export function runtimeAdapter(): RuntimeAdapter {
  const runtime = globalThis as {
    Deno?: unknown;
    Bun?: unknown;
    process?: { versions?: { node?: string } };
  };
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
  if (typeof runtime.process?.versions?.node === "string") {
    return {
      connect: connectNode,
      freshChunks: true,
      readTextFile: readTextFileNode,
      unrefTimer: unrefTimerNode,
    };
  }
  throw new TypeError(
    "The TCP driver needs Deno, Bun or Node: none was found (on an edge runtime import the " +
      "/edge entry, whose HTTP driver speaks Upstash's REST API)",
  );
}
