// Waiting latency: from a result being stored (MULTI/SETEX/PUBLISH on another connection, exactly
// the bytes and commands of a Celery worker) to the waiter's promise resolving.
//
//   ours        new AsyncResult(id, backend).get() on a pub/sub ResultConsumer (subscribed and idle
//               when the result is stored); resolve time taken in the promise's .then
//   floor       a raw subscriber (our driver's openSubscriber, no decoding) timing a bare PUBLISH
//               of the same ~300 bytes; "floor+store" is the same subscriber timing the full
//               MULTI/SETEX/PUBLISH, i.e. the store's own cost with no waiter logic
//   Python      Celery 5.6.3's AsyncResult(id).get() (1 waiter) and ResultSet.join_native with a
//               callback (1,000 waiters), in a subprocess, on the same server; this process stores
//               the results the same way and timestamps the store; the two clocks are matched by
//               a ping-pong calibration (its uncertainty is printed)
//
// Scenarios: 1 waiter (one pending at a time); 1,000 waiters pending, results stored one at a time
// (the next once the previous waiter resolved: 1,000 → 1 pending); 1,000 waiters pending, all
// 1,000 results stored at once (a burst: latency includes queueing behind the others). Before
// every single store the process idles ≥1 ms, so each result finds its waiter asleep; with one
// waiter, the bare subscribers take the same steps before the clock as ours (idleAsOursDoes in _util.ts).
//
//   ioredis     a bare ioredis subscriber timing the full store (1 waiter), when bench/node_modules
//               has it
//
//   deno run -A bench/wait_latency.ts       bun bench/wait_latency.ts
//   node --import tsx bench/wait_latency.ts
//   options: --url redis://host:port/db, --samples 1000, --rounds 2, --python-samples 300,
//            --no-python, --no-ioredis
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import process from "node:process";
import {
  AsyncResult,
  consumerFor,
  createBackend,
  type RedisBackend,
  type RedisDriver,
  type ResultConsumer,
  type SubscriberHandlers,
  tcpDriver,
} from "../mod.ts";
import {
  benchDir,
  celeryPython,
  fmt,
  hasFlag,
  idleAsOursDoes,
  median,
  metaPayloads,
  numberFlag,
  percentile,
  printTable,
  runs,
  runtimeName,
  sleep,
  startRedis,
  taskIds,
  track,
  verdict,
} from "./_util.ts";

const SAMPLES = numberFlag("samples", 1000);
const ROUNDS = numberFlag("rounds", 2);
const BURST_ROUNDS = numberFlag("burst-rounds", 5);
const PY_SAMPLES = numberFlag("python-samples", 300);
const PY_ROUNDS = numberFlag("python-rounds", 1);
const MANY = 1000;
const EXPIRES = 600; // seconds: the keys a run leaves on a --url server expire

type Driver = ReturnType<typeof tcpDriver>;

const keyOf = (id: string) => `celery-task-meta-${id}`;

/** Stores not awaited when timed (their replies are awaited before any connection closes). */
const inflight = new Set<Promise<unknown>>();
function inFlight(promise: Promise<unknown>): Promise<unknown> {
  inflight.add(promise);
  void promise.finally(() => inflight.delete(promise)).catch(() => {});
  return promise;
}
async function settleStores(): Promise<void> {
  await Promise.all([...inflight]);
}

/** Celery's store: SETEX + PUBLISH of the same bytes in one MULTI/EXEC. */
function store(
  writer: Driver,
  id: string,
  payload: Uint8Array,
): Promise<unknown> {
  const key = keyOf(id);
  return inFlight(
    writer.transaction([["SETEX", key, EXPIRES, payload], [
      "PUBLISH",
      key,
      payload,
    ]]),
  );
}

async function until(
  condition: () => boolean,
  what: string,
  timeoutMs = 20_000,
): Promise<void> {
  const started = performance.now();
  while (!condition()) {
    if (performance.now() - started > timeoutMs) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await sleep(0);
  }
}

interface Samples {
  one: number[];
  seq: number[];
  burst: number[];
  /** 1 waiter: store → the message reaching the consumer's onMessage (ours only). */
  arrival: number[];
}
const emptySamples = (): Samples => ({
  one: [],
  seq: [],
  burst: [],
  arrival: [],
});

/**
 * The TCP driver createBackend(url) would build (same socketTimeout), with the time each pub/sub
 * message reaches the consumer recorded (one performance.now() per message), to split ours into
 * "store → message arrives" and "message arrives → promise resolved".
 */
function timedDriver(
  redis: { host: string; port: number; db: number },
  arrivals: Map<string, number>,
): RedisDriver {
  const base = tcpDriver({
    host: redis.host,
    port: redis.port,
    db: redis.db,
    socketTimeout: 120_000,
  });
  return {
    name: base.name,
    send: (command) => base.send(command),
    transaction: (commands) => base.transaction(commands),
    openSubscriber: (handlers: SubscriberHandlers) =>
      base.openSubscriber({
        onMessage: (message) => {
          arrivals.set(message.channel, performance.now());
          handlers.onMessage(message);
        },
        ...(handlers.onClose ? { onClose: handlers.onClose } : {}),
      }),
    close: () => base.close(),
    [Symbol.asyncDispose]: () => base.close(),
  };
}

// ---- ours ------------------------------------------------------------------------------------

async function measureOurs(
  redis: { host: string; port: number; db: number },
  writer: Driver,
): Promise<Samples> {
  const arrivals = new Map<string, number>();
  const backend: RedisBackend = createBackend(undefined, {
    driver: timedDriver(redis, arrivals),
  });
  const consumer = consumerFor(backend) as ResultConsumer;
  await consumer.start();
  await backend.driver.send(["PING"]);
  const out = emptySamples();

  /** Starts waits for the ids; resolves once they are all subscribed and the initial MGET is done. */
  const startWaits = async (ids: string[]) => {
    const resolvedAt = new Map<string, number>();
    const done = ids.map((id) =>
      new AsyncResult(id, backend).get({ timeout: 30_000 }).then(() => {
        resolvedAt.set(id, performance.now());
      })
    );
    await until(
      () => ids.every((id) => consumer.subscribedChannels.has(keyOf(id))),
      "SUBSCRIBE",
    );
    // The MGET after SUBSCRIBE was sent before this PING on the same connection.
    await backend.driver.send(["PING"]);
    return { resolvedAt, done };
  };

  // 1 waiter (warm-up included, then discarded).
  const warm = 200;
  const ids = taskIds(warm + SAMPLES);
  const payloads = await metaPayloads(ids);
  for (let i = 0; i < ids.length; i++) {
    const { resolvedAt, done } = await startWaits([ids[i]!]);
    await sleep(1);
    const t0 = performance.now();
    void store(writer, ids[i]!, payloads[i]!);
    await done[0];
    if (i >= warm) {
      out.one.push(resolvedAt.get(ids[i]!)! - t0);
      out.arrival.push(arrivals.get(keyOf(ids[i]!))! - t0);
    }
    arrivals.clear();
  }

  // 1,000 waiters, stored one at a time.
  for (let round = 0; round < ROUNDS; round++) {
    const many = taskIds(MANY);
    const manyPayloads = await metaPayloads(many);
    const { resolvedAt, done } = await startWaits(many);
    for (let i = 0; i < MANY; i++) {
      await sleep(1);
      const t0 = performance.now();
      void store(writer, many[i]!, manyPayloads[i]!);
      await done[i];
      out.seq.push(resolvedAt.get(many[i]!)! - t0);
    }
  }

  // 1,000 waiters, all stored at once.
  for (let round = 0; round < BURST_ROUNDS; round++) {
    const many = taskIds(MANY);
    const manyPayloads = await metaPayloads(many);
    const { resolvedAt, done } = await startWaits(many);
    await sleep(1);
    const t0 = performance.now();
    for (let i = 0; i < MANY; i++) {
      void store(writer, many[i]!, manyPayloads[i]!);
    }
    await Promise.all(done);
    for (const id of many) out.burst.push(resolvedAt.get(id)! - t0);
  }
  await settleStores();
  await backend.close();
  return out;
}

// ---- floor -----------------------------------------------------------------------------------

async function measureFloor(
  redis: { host: string; port: number; db: number },
  writer: Driver,
  withStore: boolean,
): Promise<Samples> {
  const driver = tcpDriver({
    host: redis.host,
    port: redis.port,
    db: redis.db,
  });
  const arrived = new Map<string, number>();
  let wake: (() => void) | undefined;
  let expected = 0;
  const subscriber = await driver.openSubscriber({
    onMessage: (message) => {
      arrived.set(message.channel, performance.now());
      if (arrived.size >= expected) wake?.();
    },
  });
  const out = emptySamples();
  const send = (id: string, payload: Uint8Array) =>
    withStore ? store(writer, id, payload) : inFlight(writer.send(["PUBLISH", keyOf(id), payload]));
  const waitFor = (n: number) =>
    new Promise<void>((resolve) => {
      expected = n;
      if (arrived.size >= n) resolve();
      else wake = resolve;
    });

  const warm = 200;
  const ids = taskIds(warm + SAMPLES);
  const payloads = await metaPayloads(ids);
  for (let i = 0; i < ids.length; i++) {
    arrived.clear();
    await subscriber.subscribe([keyOf(ids[i]!)]);
    await idleAsOursDoes(() => driver.send(["PING"]));
    const t0 = performance.now();
    void send(ids[i]!, payloads[i]!);
    await waitFor(1);
    if (i >= warm) out.one.push(arrived.get(keyOf(ids[i]!))! - t0);
    await subscriber.unsubscribe([keyOf(ids[i]!)]);
  }

  for (let round = 0; round < ROUNDS; round++) {
    const many = taskIds(MANY);
    const manyPayloads = await metaPayloads(many);
    arrived.clear();
    await subscriber.subscribe(many.map(keyOf));
    for (let i = 0; i < MANY; i++) {
      await sleep(1);
      const t0 = performance.now();
      void send(many[i]!, manyPayloads[i]!);
      await waitFor(i + 1);
      out.seq.push(arrived.get(keyOf(many[i]!))! - t0);
    }
    await subscriber.unsubscribe(many.map(keyOf));
  }

  for (let round = 0; round < BURST_ROUNDS; round++) {
    const many = taskIds(MANY);
    const manyPayloads = await metaPayloads(many);
    arrived.clear();
    await subscriber.subscribe(many.map(keyOf));
    await sleep(1);
    const t0 = performance.now();
    for (let i = 0; i < MANY; i++) void send(many[i]!, manyPayloads[i]!);
    await waitFor(MANY);
    for (const id of many) out.burst.push(arrived.get(keyOf(id))! - t0);
    await subscriber.unsubscribe(many.map(keyOf));
  }
  await settleStores();
  await driver.close();
  return out;
}

// ---- a bare ioredis subscriber ---------------------------------------------------------------

type IORedisClass = typeof import("ioredis").default;

async function loadIORedis(): Promise<IORedisClass | undefined> {
  try {
    return (await import("ioredis")).default;
  } catch {
    return undefined; // `cd bench && npm i` installs it
  }
}

/**
 * 1 waiter, as measureFloor's first scenario with the full store, but the subscriber is ioredis
 * (messageBuffer events, no decoding): the bar a Node user would otherwise write by hand.
 */
async function measureIoredis(
  IORedis: IORedisClass,
  redis: { host: string; port: number; db: number },
  writer: Driver,
): Promise<number[]> {
  const client = new IORedis({
    host: redis.host,
    port: redis.port,
    db: redis.db,
  });
  const arrived = new Map<string, number>();
  let wake: (() => void) | undefined;
  client.on("messageBuffer", (channel: Uint8Array) => {
    arrived.set(new TextDecoder().decode(channel), performance.now());
    wake?.();
  });
  const out: number[] = [];
  const warm = 200;
  const ids = taskIds(warm + SAMPLES);
  const payloads = await metaPayloads(ids);
  for (let i = 0; i < ids.length; i++) {
    const key = keyOf(ids[i]!);
    arrived.clear();
    await client.subscribe(key);
    await idleAsOursDoes(() => client.ping());
    const got = new Promise<void>((resolve) => (wake = resolve));
    const t0 = performance.now();
    void store(writer, ids[i]!, payloads[i]!);
    await got;
    if (i >= warm) out.push(arrived.get(key)! - t0);
    await client.unsubscribe(key);
  }
  await settleStores();
  client.disconnect();
  return out;
}

// ---- Python Celery ---------------------------------------------------------------------------

class LineReader {
  #buffer = "";
  #lines: string[] = [];
  #waiting: ((line: string) => void) | undefined;
  #failed: Error | undefined;
  #onFail: ((error: Error) => void) | undefined;
  constructor(child: ChildProcess) {
    child.stdout!.setEncoding("utf8");
    child.stdout!.on("data", (data: string) => {
      this.#buffer += data;
      let nl: number;
      while ((nl = this.#buffer.indexOf("\n")) !== -1) {
        const line = this.#buffer.slice(0, nl);
        this.#buffer = this.#buffer.slice(nl + 1);
        const waiting = this.#waiting;
        if (waiting) {
          this.#waiting = undefined;
          waiting(line);
        } else {
          this.#lines.push(line);
        }
      }
    });
    let err = "";
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (d: string) => (err += d));
    child.on("exit", (code) => {
      this.#failed = new Error(
        `Python exited with ${code}: ${err.trim().slice(-800)}`,
      );
      this.#onFail?.(this.#failed);
    });
  }
  next(timeoutMs = 60_000): Promise<string> {
    const line = this.#lines.shift();
    if (line !== undefined) return Promise.resolve(line);
    if (this.#failed) return Promise.reject(this.#failed);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error("Python did not answer in time")),
        timeoutMs,
      );
      this.#waiting = (l) => {
        clearTimeout(timer);
        resolve(l);
      };
      this.#onFail = (e) => {
        clearTimeout(timer);
        reject(e);
      };
    });
  }
  async expect(prefix: string): Promise<string[]> {
    const line = await this.next();
    if (!line.startsWith(prefix)) {
      throw new Error(`Python said "${line}", expected "${prefix}…"`);
    }
    return line.split(" ");
  }
}

interface PythonResult {
  samples: Samples;
  /** Clock offset uncertainty (± ms). */
  uncertainty: number;
}

async function measurePython(
  url: string,
  writer: Driver,
  admin: Driver,
): Promise<PythonResult> {
  const child = track(
    spawn(celeryPython, [join(benchDir, "_celery_wait.py"), url], {
      stdio: ["pipe", "pipe", "pipe"],
      env: {
        ...process.env,
        PYTHONUNBUFFERED: "1",
        PYTHONDONTWRITEBYTECODE: "1",
      },
    }),
  );
  const reader = new LineReader(child);
  const say = (line: string) => child.stdin!.write(line + "\n");
  try {
    await reader.expect("hello");

    // Clock calibration: Python's time.time_ns() vs our timeOrigin + performance.now().
    let best = { rtt: Infinity, offset: 0 };
    for (let i = 0; i < 300; i++) {
      const a = performance.timeOrigin + performance.now();
      say("ping");
      const [, ns] = await reader.expect("pong");
      const b = performance.timeOrigin + performance.now();
      if (b - a < best.rtt) {
        best = {
          rtt: b - a,
          offset: Number(BigInt(ns!) / 1000n) / 1000 - (a + b) / 2,
        };
      }
    }
    /** Python's time_ns → our performance.now() timeline. */
    const toLocal = (ns: string) =>
      Number(BigInt(ns) / 1000n) / 1000 - best.offset - performance.timeOrigin;

    const numsub = async (keys: string[]) => {
      const reply = await admin.send([
        "PUBSUB",
        "NUMSUB",
        ...keys,
      ]) as unknown[];
      let subscribed = 0;
      for (let i = 1; i < reply.length; i += 2) {
        if (Number(reply[i]) > 0) subscribed++;
      }
      return subscribed;
    };
    const untilSubscribed = async (keys: string[]) => {
      const started = performance.now();
      while (await numsub(keys) < keys.length) {
        if (performance.now() - started > 20_000) {
          throw new Error("Python never subscribed");
        }
        await sleep(1);
      }
      // Let Celery finish its initial GET/MGET and block in drain_events.
      await sleep(2);
    };

    const out = emptySamples();
    const warm = 30;
    const ids = taskIds(warm + PY_SAMPLES);
    const payloads = await metaPayloads(ids);
    for (let i = 0; i < ids.length; i++) {
      say(`one ${ids[i]}`);
      await reader.expect("ready");
      await untilSubscribed([keyOf(ids[i]!)]);
      const t0 = performance.now();
      void store(writer, ids[i]!, payloads[i]!);
      const [, , ns] = await reader.expect("done");
      if (i >= warm) out.one.push(toLocal(ns!) - t0);
    }

    for (let round = 0; round < PY_ROUNDS; round++) {
      const many = taskIds(MANY);
      const manyPayloads = await metaPayloads(many);
      say(`many seq ${many.join(" ")}`);
      await reader.expect("ready");
      await untilSubscribed(many.map(keyOf));
      for (let i = 0; i < MANY; i++) {
        await sleep(1);
        const t0 = performance.now();
        void store(writer, many[i]!, manyPayloads[i]!);
        const [, id, ns] = await reader.expect("done");
        if (id !== many[i]) {
          throw new Error(`Python reported ${id}, expected ${many[i]}`);
        }
        out.seq.push(toLocal(ns!) - t0);
      }
      await reader.expect("end");
    }

    for (let round = 0; round < PY_ROUNDS; round++) {
      const many = taskIds(MANY);
      const manyPayloads = await metaPayloads(many);
      say(`many burst ${many.join(" ")}`);
      await reader.expect("ready");
      await untilSubscribed(many.map(keyOf));
      const t0 = performance.now();
      for (let i = 0; i < MANY; i++) {
        void store(writer, many[i]!, manyPayloads[i]!);
      }
      const line = await reader.next();
      if (!line.startsWith("times ")) {
        throw new Error(`Python said "${line.slice(0, 200)}"`);
      }
      const times = JSON.parse(line.slice(6)) as [string, number][];
      if (times.length !== MANY) {
        throw new Error(`Python reported ${times.length} results`);
      }
      // time_ns as a JSON number loses precision past 2^53 ns (~0.1 µs here): irrelevant.
      for (const [, ns] of times) {
        out.burst.push(toLocal(BigInt(Math.round(ns)).toString()) - t0);
      }
    }
    await settleStores();
    say("quit");
    return { samples: out, uncertainty: best.rtt / 2 };
  } finally {
    child.stdin!.end();
    setTimeout(() => child.kill("SIGKILL"), 2000);
  }
}

// ---- report ----------------------------------------------------------------------------------

async function main(): Promise<void> {
  console.log(`# wait_latency — ${runtimeName()}`);
  await using redis = await startRedis();
  console.log(
    `redis: ${redis.url}${redis.owned ? " (started for this run)" : ""}`,
  );
  const writer = tcpDriver({
    host: redis.host,
    port: redis.port,
    db: redis.db,
  });
  const admin = tcpDriver({ host: redis.host, port: redis.port, db: redis.db });
  await writer.connect();
  await admin.connect();

  // Alternate the in-process measurements so background load hits them alike.
  const ours = emptySamples();
  const floor = emptySamples();
  const floorStore = emptySamples();
  const append = (into: Samples, from: Samples) => {
    into.one.push(...from.one);
    into.seq.push(...from.seq);
    into.burst.push(...from.burst);
    into.arrival.push(...from.arrival);
  };
  const IORedis = hasFlag("no-ioredis") ? undefined : await loadIORedis();
  const ioredis: number[] = [];
  const passes = 2;
  for (let pass = 0; pass < passes; pass++) {
    append(floor, await measureFloor(redis, writer, false));
    append(ours, await measureOurs(redis, writer));
    append(floorStore, await measureFloor(redis, writer, true));
    if (IORedis) ioredis.push(...await measureIoredis(IORedis, redis, writer));
  }

  let python: PythonResult | undefined;
  let pythonNote = "";
  if (
    !hasFlag("no-python") && runs(celeryPython, ["-c", "import celery, redis"])
  ) {
    try {
      python = await measurePython(redis.url, writer, admin);
      pythonNote = `clock match ±${(python.uncertainty * 1000).toFixed(0)} µs`;
    } catch (error) {
      pythonNote = `failed: ${(error as Error).message}`;
    }
  } else {
    pythonNote = "skipped";
  }

  const us = (ms: number) => fmt(ms * 1000);
  const row = (name: string, s: Samples) => [
    name,
    us(percentile(s.one, 50)),
    us(percentile(s.one, 99)),
    us(percentile(s.seq, 50)),
    us(percentile(s.seq, 99)),
    us(percentile(s.burst, 50)),
    us(percentile(s.burst, 99)),
  ];
  console.log();
  console.log(
    `latency in µs, store → resolved (1 waiter: ${fmt(ours.one.length)} samples; 1,000 one at a ` +
      `time: ${fmt(ours.seq.length)}; 1,000 burst: ${fmt(ours.burst.length)})`,
  );
  console.log();
  const rows = [
    row("floor: bare PUBLISH → raw subscriber", floor),
    row("floor+store: MULTI/SETEX/PUBLISH → raw subscriber", floorStore),
    row(`ours: asyncResult(id).get() (${runtimeName()})`, ours),
  ];
  if (ioredis.length > 0) {
    rows.push(
      row(`bare ioredis subscriber, MULTI/SETEX/PUBLISH (${runtimeName()})`, {
        ...emptySamples(),
        one: ioredis,
      }),
    );
  }
  if (python) {
    rows.push(row(`Python Celery 5.6.3 (${pythonNote})`, python.samples));
  }
  printTable([
    "",
    "1 waiter p50",
    "1 waiter p99",
    "1,000 one at a time p50",
    "p99",
    "1,000 burst p50",
    "p99",
  ], rows);
  if (!python) console.log(`Python Celery: ${pythonNote}`);
  const arrival = percentile(ours.arrival, 50);
  console.log(
    `ours, 1 waiter, split at the message reaching the consumer: store → message p50 ` +
      `${us(arrival)} µs; message → promise resolved p50 ` +
      `${us(median(ours.one.map((v, i) => v - ours.arrival[i]!)))} µs`,
  );

  const p50 = (s: number[]) => percentile(s, 50);
  console.log();
  const r1 = p50(ours.one) / p50(floor.one);
  const r1s = p50(ours.one) / p50(floorStore.one);
  console.log(
    `goal: p50 within 1.2× of the floor (1 waiter): ` +
      verdict(
        r1 <= 1.2,
        `${r1.toFixed(2)}× the bare-PUBLISH floor; ${r1s.toFixed(2)}× floor+store`,
      ),
  );
  if (ioredis.length > 0) {
    const ri = p50(ours.one) / p50(ioredis);
    console.log(
      `goal: p50 within 1.2× of a bare ioredis subscriber (1 waiter, ${runtimeName()}): ` +
        verdict(ri <= 1.2, `${ri.toFixed(2)}×`),
    );
  }
  const rs = p50(ours.seq) / p50(floor.seq);
  const rb = p50(ours.burst) / p50(floor.burst);
  console.log(
    `      (1,000 waiters: ${rs.toFixed(2)}× one at a time, ${
      rb.toFixed(2)
    }× burst; vs floor+store ` +
      `${(p50(ours.seq) / p50(floorStore.seq)).toFixed(2)}× and ` +
      `${(p50(ours.burst) / p50(floorStore.burst)).toFixed(2)}×)`,
  );
  if (python) {
    const py = python.samples;
    const f1 = p50(py.one) / p50(ours.one);
    const fs = p50(py.seq) / p50(ours.seq);
    const fb = p50(py.burst) / p50(ours.burst);
    console.log(
      `goal: at least 10× better than Python Celery (p50): ` +
        verdict(
          Math.min(f1, fs, fb) >= 10,
          `1 waiter ${f1.toFixed(1)}×, 1,000 one at a time ` +
            `${fs.toFixed(1)}×, 1,000 burst ${fb.toFixed(1)}×`,
        ),
    );
  }
  await settleStores();
  await writer.close();
  await admin.close();
  await redis.stop();
}

await main();
process.exit(0);
