// A minimal RESP2 client for tests that talk to redis-server directly (one request, one reply, in
// order; a pushed message answers the next call). It speaks through the independent codec of
// _independent_resp.ts, not src's, so a differential test compares a driver with redis-server
// through bytes the project's own decoder never read.
import { Socket } from "node:net";
import { encodeResp2, Resp2Decoder, type Resp2Reply } from "./_independent_resp.ts";

/** An error reply from the server, its text as the message. */
export class RespServerError extends Error {
  override name = "RespServerError";
}

/** A connection to a RESP2 server on loopback. */
export class RespTestClient {
  readonly #socket: Socket;
  readonly #waiting: ((reply: Resp2Reply) => void)[] = [];

  private constructor(socket: Socket) {
    this.#socket = socket;
    const decoder = new Resp2Decoder(
      (reply) => this.#waiting.shift()?.(reply),
      (message) => new RespServerError(message),
    );
    socket.on("data", (chunk: Uint8Array) => decoder.feed(chunk));
  }

  /** Connects to `127.0.0.1:port`. */
  static connect(port: number): Promise<RespTestClient> {
    return new Promise((resolve, reject) => {
      const socket = new Socket();
      socket.once("error", reject);
      socket.connect(port, "127.0.0.1", () => resolve(new RespTestClient(socket)));
    });
  }

  /** Sends one command; resolves with the next reply (a server error as a RespServerError). */
  call(command: readonly (string | number | bigint | Uint8Array)[]): Promise<Resp2Reply> {
    return new Promise((resolve) => {
      this.#waiting.push(resolve);
      this.#socket.write(encodeResp2([command]));
    });
  }

  close(): void {
    this.#socket.destroy();
  }
}
