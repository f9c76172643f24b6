// Sentinel: three real redis-sentinel processes watching a password-protected master and its
// replica on loopback ports (the sentinels have their own password, Celery's sentinel_kwargs).
// While results are stored and waited on, a failover is forced (SENTINEL FAILOVER, then the old
// master is killed): every stored result must be readable afterwards and every wait must resolve.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import {
  consumerFor,
  createBackend,
  RedisConnectionError,
  SentinelBackend,
  sentinelDriver,
  type TaskMeta,
  tcpDriver,
} from "../mod.ts";
import { tcpDriverWithHooks } from "../src/connection/drivers/tcp.ts";
import { freePort, type RedisServer, startRedisServer } from "./_redis_server.ts";
import { sleep, until as untilHolds } from "./_time.ts";
import { requirement } from "./_env.ts";
import { sentinelBin, type SentinelProcess, startSentinel } from "./_redis_sentinel.ts";

const skip = requirement(
  spawnSync(sentinelBin, ["--version"], { encoding: "utf8" }).status === 0,
  "redis-sentinel",
);

const MASTER_PW = "master-pw";
const SENTINEL_PW = "sentinel-pw";
const NAME = "mymaster";
const text = new TextDecoder();

let dir = "";
let master: RedisServer | undefined;
let replica: RedisServer | undefined;
const sentinels: SentinelProcess[] = [];

function kill(child: ChildProcess, signal: NodeJS.Signals = "SIGKILL"): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(child.pid, signal);
  } catch {
    // Already gone.
  }
}

async function startWatchingSentinel(masterPort: number): Promise<SentinelProcess> {
  return await startSentinel(dir, [
    `requirepass ${SENTINEL_PW}`,
    `sentinel sentinel-pass ${SENTINEL_PW}`,
    `sentinel monitor ${NAME} 127.0.0.1 ${masterPort} 2`,
    `sentinel auth-pass ${NAME} ${MASTER_PW}`,
    `sentinel down-after-milliseconds ${NAME} 1000`,
    `sentinel failover-timeout ${NAME} 10000`,
    `sentinel parallel-syncs ${NAME} 1`,
  ]);
}

/** Asks one sentinel something, with its password. */
async function askSentinel(port: number, ...command: (string | number)[]) {
  await using driver = tcpDriver({ port, password: SENTINEL_PW, connectTimeout: 2000 });
  return await driver.send(command);
}

function record(reply: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  const list = reply as Uint8Array[];
  for (let i = 0; i + 1 < list.length; i += 2) {
    out[text.decode(list[i])] = text.decode(list[i + 1]);
  }
  return out;
}

// Sentinels refuse some commands while they settle: a check that fails counts as "not yet".
function until(what: string, check: () => Promise<boolean>, deadline = 20_000): Promise<void> {
  return untilHolds(what, () => check().catch(() => false), deadline, 50);
}

async function masterPort(sentinelPort: number): Promise<number> {
  const reply = await askSentinel(sentinelPort, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", NAME);
  return Number(text.decode((reply as Uint8Array[])[1]));
}

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), "redis-sentinel-"));
  // No 5 s wait for more replicas before a diskless full sync.
  const auth = [
    "--requirepass",
    MASTER_PW,
    "--masterauth",
    MASTER_PW,
    "--repl-diskless-sync-delay",
    "0",
  ];
  master = await startRedisServer({ args: auth });
  replica = await startRedisServer({
    args: [...auth, "--replicaof", "127.0.0.1", String(master.port)],
  });
  for (let i = 0; i < 3; i++) sentinels.push(await startWatchingSentinel(master.port));
  // Every sentinel knows the replica, in sync (a forced failover needs no quorum, so they need
  // not have met each other yet).
  for (const s of sentinels) {
    await until("the sentinels to see the replica", async () => {
      const replicas = await askSentinel(s.port, "SENTINEL", "REPLICAS", NAME) as unknown[];
      return replicas.length === 1 && record(replicas[0])["master-link-status"] === "ok";
    });
  }
});

after(async () => {
  for (const s of sentinels) kill(s.child);
  await master?.[Symbol.asyncDispose]();
  await replica?.[Symbol.asyncDispose]();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The port of the server a backend's driver is connected to (`CONFIG GET port` through it). */
async function serverPort(backend: { driver: { send(c: string[]): Promise<unknown> } }) {
  const reply = await backend.driver.send(["CONFIG", "GET", "port"]) as Uint8Array[];
  return Number(text.decode(reply[1]));
}

function sentinelUrl(db: number): string {
  return sentinels.map((s, i) =>
    `sentinel://${i === 0 ? `:${MASTER_PW}@` : ""}127.0.0.1:${s.port}/${db}`
  ).join(";");
}

test("sentinelDriver() asks each sentinel in turn and checks the master really is one", {
  skip,
}, async () => {
  const dead = await freePort();
  await using driver = sentinelDriver({
    sentinels: [
      { host: "127.0.0.1", port: dead },
      ...sentinels.map((s) => ({
        host: "127.0.0.1",
        port: s.port,
      })),
    ],
    masterName: NAME,
    password: MASTER_PW,
    sentinelKwargs: { password: SENTINEL_PW },
  });
  assert.deepEqual(await driver.discoverMaster(), { host: "127.0.0.1", port: master!.port });
  assert.equal(await driver.send(["SET", "discovered", "yes"]), "OK");
  // An unknown service: every sentinel is named in the error.
  await using unknown = sentinelDriver({
    sentinels: sentinels.map((s) => ({ host: "127.0.0.1", port: s.port })),
    masterName: "no-such-master",
    sentinelKwargs: { password: SENTINEL_PW },
  });
  await assert.rejects(
    unknown.send(["GET", "x"]),
    (e: unknown) =>
      e instanceof RedisConnectionError && /no-such-master/.test(e.message) &&
      sentinels.every((s) => e.message.includes(String(s.port))),
  );
  // Without the sentinels' password (sentinel_kwargs) they refuse to answer.
  await using noAuth = sentinelDriver({
    sentinels: [{ host: "127.0.0.1", port: sentinels[0]!.port }],
    masterName: NAME,
    password: MASTER_PW,
  });
  await assert.rejects(noAuth.send(["GET", "x"]), RedisConnectionError);
  // A replica's address is refused by the ROLE check.
  await using toReplica = tcpDriverWithHooks({ password: MASTER_PW }, {
    describe: "a replica",
    endpoint: () => Promise.resolve({ host: "127.0.0.1", port: replica!.port }),
    requireMaster: true,
  });
  await assert.rejects(toReplica.send(["GET", "x"]), /is not the master \(its role is slave\)/);
});

test("a master turned replica answers READONLY: the connection is dropped with a retryable error", {
  skip,
}, async () => {
  await using lone = await startRedisServer();
  await using other = await startRedisServer();
  await using driver = tcpDriverWithHooks({}, {
    describe: "a master",
    endpoint: () => Promise.resolve({ host: "127.0.0.1", port: lone.port }),
    requireMaster: true,
  });
  assert.equal(await driver.send(["SET", "k", "v"]), "OK");
  await using admin = tcpDriver({ port: lone.port });
  await admin.send(["REPLICAOF", "127.0.0.1", other.port]);
  await assert.rejects(
    driver.send(["SET", "k", "w"]),
    (e: unknown) => e instanceof RedisConnectionError && /READONLY/.test(e.message),
  );
  // The next connection's ROLE check refuses it too.
  await assert.rejects(driver.send(["GET", "k"]), /not the master/);
  await admin.send(["REPLICAOF", "NO", "ONE"]);
});

test("createBackend() makes a SentinelBackend that masks every chunk like Celery's as_uri()", {
  skip,
}, async () => {
  await using backend = createBackend(sentinelUrl(1), {
    masterName: NAME,
    sentinelKwargs: { password: SENTINEL_PW },
  });
  assert.ok(backend instanceof SentinelBackend);
  assert.equal(
    (backend as SentinelBackend).asUri(),
    sentinels.map((s, i) => `sentinel://${i === 0 ? ":**@" : ""}127.0.0.1:${s.port}/1`)
      .join(";"),
  );
  assert.equal((backend as SentinelBackend).asUri(true), sentinelUrl(1));
  assert.throws(() => createBackend(sentinelUrl(1)), /masterName/);
});

test("SentinelBackend rides out a forced failover while storing and waiting: nothing lost", {
  skip,
  timeout: 90_000,
}, async () => {
  const retries: string[] = [];
  const options = {
    masterName: NAME,
    sentinelKwargs: { password: SENTINEL_PW },
    alwaysRetry: true,
    retryPolicy: { maxRetries: 100, intervalStart: 0, intervalStep: 0.1, intervalMax: 0.3 },
    onConnectionError: (error: Error) => retries.push(error.message),
  };
  await using writer = createBackend(sentinelUrl(1), options);
  await using waiter = createBackend(sentinelUrl(1), options);
  const total = 600;
  const ids = Array.from({ length: total }, (_, i) => `failover-${i}`);
  const waitedAt = new Map<string, number>();
  const waits = ids.map((id) =>
    consumerFor(waiter).wait(id, { timeout: 60_000 }).then((meta: TaskMeta) => {
      waitedAt.set(id, Date.now());
      return meta;
    })
  );
  // The consumer has subscribed to every channel: the master counts a subscriber on each.
  await using probe = tcpDriver({ port: master!.port, password: MASTER_PW, db: 1 });
  const channels = ids.map((id) => waiter.keys.task(id));
  await until("the consumer's subscriptions", async () => {
    const reply = await probe.send(["PUBSUB", "NUMSUB", ...channels]) as unknown[];
    return channels.every((_, i) => Number(reply[2 * i + 1]) === 1);
  });
  // Both backends start on the old master.
  assert.deepEqual(await serverPort(writer), master!.port);

  const oldMaster = master!;
  const firstSentinel = sentinels[0]!.port;
  const stores: Promise<unknown>[] = [];
  const storedAt: number[] = [];
  const issuedAt: number[] = [];
  let failoverAt = 0;
  let switchedAt = 0;
  for (let i = 0; i < total; i++) {
    issuedAt[i] = Date.now();
    stores.push(
      writer.markAsDone(ids[i]!, { i }).then(() => {
        storedAt[i] = Date.now();
      }),
    );
    if (i === total / 4) {
      failoverAt = Date.now();
      await askSentinel(firstSentinel, "SENTINEL", "FAILOVER", NAME);
    }
    // The last quarter is issued only once the sentinels have switched (however long the
    // failover takes on a loaded machine): stores come before, during and after it.
    const holding = i === (total * 3) / 4;
    if (failoverAt && !switchedAt && (i % 10 === 0 || holding)) {
      if (holding) {
        await until(
          "the failover",
          async () => (await masterPort(firstSentinel)) === replica!.port,
        );
      }
      if (await masterPort(firstSentinel) === replica!.port) {
        switchedAt = Date.now();
        await oldMaster.stop("SIGKILL"); // the old master is gone for good
      }
    }
    await sleep(5);
  }
  await Promise.all(stores);
  const metas = await Promise.all(waits);
  metas.forEach((meta, i) => {
    assert.equal(meta.status, "SUCCESS");
    assert.deepEqual(meta.result, { i });
  });

  // Every result is on the new master, read by a fresh backend and directly.
  await using reader = createBackend(sentinelUrl(1), {
    masterName: NAME,
    sentinelKwargs: { password: SENTINEL_PW },
  });
  const read = await reader.getTaskMetas(ids);
  assert.deepEqual(read.map((m) => m.status), ids.map(() => "SUCCESS"));
  await using direct = tcpDriver({ port: replica!.port, password: MASTER_PW, db: 1 });
  const keys = await direct.send(["KEYS", "celery-task-meta-failover-*"]) as unknown[];
  assert.equal(keys.length, total);

  // The failover hit the work: stores were issued while it went on (after SENTINEL FAILOVER,
  // before the sentinels named the new master) and all landed, the backends lost connections
  // and retried, and waits resolved after the switch. (How many stores were still in flight at
  // the switch depends on when the writer found the new master: logged, not asserted.)
  const during = ids.filter((_, i) => i > total / 4 && issuedAt[i]! < switchedAt);
  assert.ok(during.length > 0, "some stores were issued during the failover");
  const spanning = ids.filter((_, i) => issuedAt[i]! < switchedAt && storedAt[i]! > switchedAt);
  assert.ok(
    [...waitedAt.values()].some((at) => at > switchedAt),
    "some waits resolved after the switch",
  );
  assert.ok(retries.length > 0, "the backends saw the old master go and retried");
  // Both backends now talk to the new master (the former replica).
  assert.equal(await serverPort(writer), replica!.port);
  assert.equal(await serverPort(waiter), replica!.port);

  const lastWait = Math.max(...waitedAt.values());
  console.log(
    `failover: ${total} stored and waited (${total - total / 4} of them issued after SENTINEL ` +
      `FAILOVER, ${during.length} before the switch); ${spanning.length} stores in flight ` +
      `across the switch; ${retries.length} ` +
      `retries; all waits resolved ${lastWait - failoverAt} ms after the failover`,
  );
});
