/**
 * Streaming SUBSCRIBE over an Upstash-compatible REST service (server-sent events), as a
 * {@linkcode Subscriber} that keeps the subscribe-then-read guarantee even when streams fail.
 *
 * - **One stream for all channels.** Each `subscribe()` opens one stream for every channel wanted
 *   (`POST /subscribe/<ch1>/<ch2>/…`), waits until the server has confirmed each channel, and only
 *   then closes the streams it replaces: messages are never missed in between, and duplicates are
 *   dropped by the consumer. (Very long channel lists are split over several streams, so that no
 *   URL grows past `maxPathLength`.)
 * - **Confirmations are awaited**: `subscribe()` resolves after a `subscribe,<channel>,<n>` event
 *   for every channel, so a read made afterwards cannot miss a later publish.
 * - **Exact bytes.** The stream carries text; a message that may have lost bytes on the way (it
 *   holds U+FFFD or a line break, which Celery's JSON never does) is not delivered as it came:
 *   the key is read instead, binary-safe.
 * - **Fallback to polling.** When the service refuses streaming or a stream drops, the channels it
 *   carried are polled (one MGET per tick for all of them; a Celery result's channel is its key)
 *   while the stream is re-opened with backoff; once re-opened and confirmed, the channels are
 *   read once more and polling stops.
 *
 * `@upstash/redis`'s own `subscribe()` is not used: it opens one request per channel, does not
 * wait for the server's confirmation, and does not notice (or re-open) a dropped stream. The
 * stream is a plain `fetch` with the same URL and token.
 *
 * @module
 */
import type { Subscriber, SubscriberHandlers } from "../driver.ts";
import { BackendClosedError, RedisConnectionError } from "../../errors.ts";
import { abortableSleep } from "../retry.ts";
import { checkDelay } from "../time_units.ts";

/** Options of the HTTP driver's streaming subscriber (`httpStreaming({…})`). */
export interface HttpSubscriberOptions {
  /** Milliseconds between two polls of the channels no stream carries. @default {250} */
  pollInterval?: number | undefined;
  /**
   * Milliseconds to wait before re-opening attempt `attempt` (0-based) of a refused or dropped
   * stream. @default {(attempt) => Math.min(30_000, 500 * 2 ** attempt)}
   */
  reopenBackoff?: ((attempt: number) => number) | undefined;
  /** Milliseconds the server has to confirm a stream's channels. @default {10000} */
  confirmTimeout?: number | undefined;
  /** The longest `/subscribe/…` path of one stream, in characters. @default {6000} */
  maxPathLength?: number | undefined;
  /**
   * Milliseconds after an unsubscribe before streams still carrying unwanted channels are
   * replaced by one for the wanted channels only (several unsubscribes share one replacement).
   * @default {100}
   */
  compactDelay?: number | undefined;
}

/**
 * Refuses streaming options no timer can keep (a delay past 2^31-1 ms fires at once: polls or
 * confirmation timeouts in a tight loop).
 * @throws {RangeError} naming the option.
 */
export function checkStreamingOptions(options: HttpSubscriberOptions): void {
  checkDelay("streaming.pollInterval", options.pollInterval);
  checkDelay("streaming.confirmTimeout", options.confirmTimeout);
  checkDelay("streaming.compactDelay", options.compactDelay, true);
  const max = options.maxPathLength;
  if (max !== undefined && !(Number.isInteger(max) && max > 0)) {
    throw new RangeError(`streaming.maxPathLength must be a positive integer, got ${max}`);
  }
}

/** What the subscriber needs from its driver. */
export interface HttpSubscriberContext {
  /** The REST URL, without a trailing slash. */
  readonly url: string;
  /** The bearer token. */
  readonly token: string;
  /** Reads keys with one MGET (polling fallback and the read after a re-opened stream). */
  readKeys(keys: readonly string[]): Promise<(Uint8Array | null)[]>;
}

const utf8 = new TextDecoder();
const encoder = new TextEncoder();

/** One server-sent-events request carrying a fixed set of channels. */
class Stream {
  readonly channels: ReadonlySet<string>;
  // The channels by the form the stream spells them back in (usually one per form).
  readonly #byWire = new Map<string, string[]>();
  // Without commas in channel names, a message's channel ends at its first comma.
  readonly #wireHasComma: boolean;
  readonly context: HttpSubscriberContext;
  readonly onMessage: (channel: string, payload: Uint8Array, exact: boolean) => void;
  readonly onEnd: (stream: Stream, error: Error) => void;
  readonly #controller = new AbortController();
  readonly #confirmed = new Set<string>();
  #ended = false;
  #reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  #confirm!: () => void;
  #fail!: (error: Error) => void;
  readonly ready: Promise<void>;

  constructor(
    channels: readonly string[],
    context: HttpSubscriberContext,
    onMessage: (channel: string, payload: Uint8Array, exact: boolean) => void,
    onEnd: (stream: Stream, error: Error) => void,
    confirmTimeout: number,
  ) {
    this.context = context;
    this.onMessage = onMessage;
    this.onEnd = onEnd;
    this.channels = new Set(channels);
    for (const channel of this.channels) {
      const wire = onTheWire(channel);
      this.#byWire.set(wire, [...(this.#byWire.get(wire) ?? []), channel]);
    }
    this.#wireHasComma = [...this.#byWire.keys()].some((wire) => wire.includes(","));
    this.ready = new Promise<void>((resolve, reject) => {
      this.#confirm = resolve;
      this.#fail = reject;
    });
    this.ready.catch(() => {});
    const timer = setTimeout(
      () =>
        this.#end(
          new RedisConnectionError(
            `The REST service did not confirm the subscription within ${confirmTimeout} ms`,
          ),
        ),
      confirmTimeout,
    );
    this.ready.then(() => clearTimeout(timer), () => clearTimeout(timer));
    void this.#run();
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Closes the request (by us: no `onEnd`). */
  close(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#fail(new BackendClosedError("The stream was closed"));
    this.#release();
  }

  #end(error: Error): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#fail(error);
    this.#release();
    this.onEnd(this, error);
  }

  // Cancels the body before aborting: an abort only errors the body stream, and a runtime may
  // then keep the connection (and the server its subscription) until the body is collected;
  // a cancel is what tells it the body is not wanted. Aborting covers a response not yet there.
  #release(): void {
    void this.#reader?.cancel().catch(() => {});
    this.#controller.abort();
  }

  async #run(): Promise<void> {
    const path = [...this.channels].map(encodeURIComponent).join("/");
    let response: Response;
    try {
      response = await fetch(`${this.context.url}/subscribe/${path}`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${this.context.token}`,
          accept: "text/event-stream",
          "cache-control": "no-cache",
          "content-type": "application/json",
        },
        body: "[]",
        signal: this.#controller.signal,
      });
    } catch (error) {
      return this.#end(
        new RedisConnectionError("The subscribe stream could not be opened", { cause: error }),
      );
    }
    if (!response.ok || !response.body) {
      await response.body?.cancel().catch(() => {});
      return this.#end(
        new RedisConnectionError(
          `The REST service refused the subscribe stream (HTTP ${response.status})`,
        ),
      );
    }
    const reader = response.body.getReader();
    if (this.#ended) return void reader.cancel().catch(() => {});
    this.#reader = reader;
    let buffer = "";
    let data: string[] = [];
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += utf8.decode(value, { stream: true });
        let newline: number;
        while ((newline = buffer.indexOf("\n")) !== -1) {
          const line = buffer.slice(0, newline).replace(/\r$/, "");
          buffer = buffer.slice(newline + 1);
          if (line === "") {
            // A blank line ends the event; its data lines are joined with "\n" (SSE rules).
            if (data.length > 0) this.#event(data.join("\n"));
            data = [];
          } else if (line.startsWith("data:")) {
            data.push(line.slice(line[5] === " " ? 6 : 5));
          }
        }
      }
      this.#end(new RedisConnectionError("The REST service closed the subscribe stream"));
    } catch (error) {
      this.#end(new RedisConnectionError("The subscribe stream dropped", { cause: error }));
    } finally {
      reader.releaseLock();
    }
  }

  #event(data: string): void {
    const first = data.indexOf(",");
    if (first === -1) return;
    const type = data.slice(0, first);
    if (type === "subscribe") {
      // `subscribe,<channel>,<count>`: the channel may hold commas, the count cannot.
      const last = data.lastIndexOf(",");
      if (last <= first) return;
      const named = this.#byWire.get(data.slice(first + 1, last)) ?? [];
      for (const channel of named) this.#confirmed.add(channel);
      if (this.#confirmed.size === this.channels.size) this.#confirm();
    } else if (type === "message") {
      // `message,<channel>,<payload>`: a channel may hold commas (and so may the payload), so the
      // line is matched against the channels this stream carries, not split at a comma.
      const rest = data.slice(first + 1);
      const wires = this.#wireHasComma
        ? [...this.#byWire.keys()].filter((wire) => rest.startsWith(`${wire},`))
        : [rest.slice(0, rest.indexOf(","))].filter((wire) => this.#byWire.has(wire));
      const channels = wires.flatMap((wire) => this.#byWire.get(wire)!);
      if (channels.length === 0) return;
      if (channels.length > 1) {
        // Channels such as "a" and "a,b" (or "a\rb" and "a\nb") both fit: read each key.
        for (const channel of channels) this.onMessage(channel, new Uint8Array(), false);
        return;
      }
      const [wire, channel] = [wires[0]!, channels[0]!];
      const payload = rest.slice(wire.length + 1);
      // The stream carries text: bytes that were not UTF-8 arrive as U+FFFD, and line breaks
      // cannot be told apart. Such a payload is not trusted: the key is read instead.
      const exact = !payload.includes("\uFFFD") && !payload.includes("\n");
      this.onMessage(channel, encoder.encode(payload), exact);
    }
  }
}

// SSE splits a data line at CR, LF and CRLF, and the reader joins the pieces with LF: that is how
// a channel holding line breaks comes back.
function onTheWire(channel: string): string {
  return channel.replace(/\r\n|\r/g, "\n");
}

/** The HTTP driver's {@linkcode Subscriber}: streams when it can, polls when it must. */
export class HttpSubscriber implements Subscriber {
  readonly #context: HttpSubscriberContext;
  readonly #handlers: SubscriberHandlers;
  readonly #onClosed: () => void;
  readonly #pollInterval: number;
  readonly #reopenBackoff: (attempt: number) => number;
  readonly #confirmTimeout: number;
  readonly #maxPathLength: number;
  readonly #compactDelay: number;
  #compactTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #live = new Set<string>();
  readonly #streams = new Set<Stream>();
  readonly #closing = new AbortController();
  #lock: Promise<void> = Promise.resolve();
  #recovering: Promise<void> | undefined;
  #polls = 0;

  /**
   * @param context The driver's URL, token and MGET.
   * @param handlers Where messages go. `onClose` is never called: the subscriber heals itself.
   * @param options Polling and re-opening settings.
   * @param onClosed Called once by `close()`.
   */
  constructor(
    context: HttpSubscriberContext,
    handlers: SubscriberHandlers,
    options: HttpSubscriberOptions,
    onClosed: () => void,
  ) {
    this.#context = context;
    this.#handlers = handlers;
    this.#onClosed = onClosed;
    this.#pollInterval = options.pollInterval ?? 250;
    this.#reopenBackoff = options.reopenBackoff ??
      ((attempt) => Math.min(30_000, 500 * 2 ** attempt));
    this.#confirmTimeout = options.confirmTimeout ?? 10_000;
    this.#maxPathLength = options.maxPathLength ?? 6000;
    this.#compactDelay = options.compactDelay ?? 100;
  }

  /** Streams currently open (for tests and diagnostics). */
  get streamCount(): number {
    return [...this.#streams].filter((s) => !s.ended).length;
  }

  /** MGETs sent by the polling fallback so far. */
  get polls(): number {
    return this.#polls;
  }

  /** Whether some channel is being polled because no stream carries it. */
  get polling(): boolean {
    return this.#uncovered().length > 0;
  }

  /** Subscribes; resolves once a stream confirmed every channel, or polling covers them. */
  subscribe(channels: readonly string[]): Promise<void> {
    if (this.#closing.signal.aborted) return Promise.reject(new BackendClosedError());
    for (const channel of channels) this.#live.add(channel);
    return this.#locked(async () => {
      // While streams are down, polling covers new channels and the recovery re-opens for all.
      if (this.#uncovered().length === 0 || this.#recovering) return;
      try {
        await this.#replaceStreams();
      } catch {
        // Refused or failed: polling covers the channels until a stream can be re-opened.
        this.#recover();
      }
    });
  }

  /**
   * Unsubscribes. A stream none of whose channels is wanted closes at once; one that still
   * carries wanted channels is replaced (after `compactDelay`) by a stream of those only.
   */
  unsubscribe(channels: readonly string[]): Promise<void> {
    for (const channel of channels) this.#live.delete(channel);
    this.#sweep();
    return Promise.resolve();
  }

  /** Closes every stream and stops polling. Idempotent. */
  close(): Promise<void> {
    if (this.#closing.signal.aborted) return Promise.resolve();
    this.#closing.abort();
    if (this.#compactTimer !== undefined) clearTimeout(this.#compactTimer);
    for (const stream of this.#streams) stream.close();
    this.#streams.clear();
    this.#live.clear();
    this.#onClosed();
    return Promise.resolve();
  }

  /** Same as {@linkcode HttpSubscriber.close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // -------------------------------------------------------------------------------------------

  /** Closes the streams carrying no wanted channel; compacts the ones carrying a few later. */
  #sweep(): void {
    let partly = false;
    for (const stream of this.#streams) {
      const wanted = [...stream.channels].filter((c) => this.#live.has(c)).length;
      if (wanted === 0) {
        this.#streams.delete(stream);
        stream.close();
      } else if (wanted < stream.channels.size) {
        partly = true;
      }
    }
    if (partly && this.#compactTimer === undefined && !this.#closing.signal.aborted) {
      this.#compactTimer = setTimeout(() => {
        this.#compactTimer = undefined;
        void this.#locked(() => this.#compact()).catch(() => this.#recover());
      }, this.#compactDelay);
    }
  }

  #locked(task: () => Promise<void>): Promise<void> {
    const run = this.#lock.then(task);
    this.#lock = run.catch(() => {});
    return run;
  }

  /** Live channels no open, confirmed stream carries. */
  #uncovered(): string[] {
    const covered = new Set<string>();
    for (const stream of this.#streams) {
      if (!stream.ended) { for (const c of stream.channels) covered.add(c); }
    }
    return [...this.#live].filter((c) => !covered.has(c));
  }

  async #compact(): Promise<void> {
    if (this.#recovering || this.#closing.signal.aborted) return;
    const stale = [...this.#streams].some((s) => [...s.channels].some((c) => !this.#live.has(c)));
    if (!stale) return;
    if (this.#live.size === 0) {
      for (const stream of this.#streams) stream.close();
      this.#streams.clear();
      return;
    }
    await this.#replaceStreams();
  }

  /** Opens streams for every live channel, then closes the ones they replace. */
  async #replaceStreams(): Promise<string[]> {
    const old = [...this.#streams];
    const channels = [...this.#live];
    const fresh: Stream[] = [];
    for (const group of this.#groups(channels)) {
      fresh.push(
        new Stream(
          group,
          this.#context,
          (channel, payload, exact) => {
            if (exact) this.#deliver(channel, payload);
            else void this.#readOnce([channel]).catch(() => {});
          },
          (stream) => this.#onStreamEnd(stream),
          this.#confirmTimeout,
        ),
      );
    }
    try {
      await Promise.all(fresh.map((s) => s.ready));
    } catch (error) {
      for (const stream of fresh) stream.close();
      throw error;
    }
    if (this.#closing.signal.aborted) {
      for (const stream of fresh) stream.close();
      throw new BackendClosedError();
    }
    for (const stream of fresh) this.#streams.add(stream);
    for (const stream of old) {
      this.#streams.delete(stream);
      stream.close();
    }
    // Channels given up while the fresh streams were being confirmed: unsubscribe() could not
    // see those streams yet (a stream of only such channels stayed open until close()).
    this.#sweep();
    // A message published before the fresh streams were confirmed may still have been in flight
    // on a stream just closed: the channels that moved over are read once (one MGET).
    const moved = channels.filter((channel) => old.some((stream) => stream.channels.has(channel)));
    void this.#readOnce(moved).catch(() => {});
    return channels;
  }

  #groups(channels: string[]): string[][] {
    const groups: string[][] = [];
    let current: string[] = [];
    let length = 0;
    for (const channel of channels) {
      const size = encodeURIComponent(channel).length + 1;
      if (current.length > 0 && length + size > this.#maxPathLength) {
        groups.push(current);
        current = [];
        length = 0;
      }
      current.push(channel);
      length += size;
    }
    if (current.length > 0) groups.push(current);
    return groups;
  }

  #deliver(channel: string, payload: Uint8Array): void {
    if (this.#live.has(channel)) this.#handlers.onMessage({ channel, payload });
  }

  #onStreamEnd(stream: Stream): void {
    if (!this.#streams.delete(stream) || this.#closing.signal.aborted) return;
    this.#recover();
  }

  // Polls the uncovered channels (starting at once: publishes during the gap are read) and
  // re-opens streams with backoff; once they are confirmed, reads the channels one last time.
  #recover(): void {
    if (this.#recovering || this.#closing.signal.aborted) return;
    const stop = new AbortController();
    const signal = AbortSignal.any([stop.signal, this.#closing.signal]);
    const polling = this.#pollLoop(signal);
    this.#recovering = (async () => {
      for (let attempt = 0; !signal.aborted && this.#uncovered().length > 0; attempt++) {
        await abortableSleep(this.#reopenBackoff(attempt), signal).catch(() => {});
        if (signal.aborted || this.#uncovered().length === 0) break;
        try {
          const channels = await this.#locked(async () => {
            if (this.#uncovered().length > 0) await this.#replaceStreams();
          }).then(() => [...this.#live]);
          await this.#readOnce(channels);
          break;
        } catch {
          // Still refused or dropped: keep polling and try again later.
        }
      }
    })().finally(async () => {
      stop.abort();
      await polling;
      this.#recovering = undefined;
      if (!this.#closing.signal.aborted && this.#uncovered().length > 0) this.#recover();
    });
  }

  async #pollLoop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const keys = this.#uncovered();
      if (keys.length > 0) await this.#readOnce(keys).catch(() => {});
      await abortableSleep(this.#pollInterval, signal).catch(() => {});
    }
  }

  async #readOnce(keys: readonly string[]): Promise<void> {
    if (keys.length === 0 || this.#closing.signal.aborted) return;
    this.#polls++;
    const payloads = await this.#context.readKeys(keys);
    payloads.forEach((payload, i) => {
      if (payload !== null && payload.length > 0) this.#deliver(keys[i]!, payload);
    });
  }
}
