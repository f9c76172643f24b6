// globalKeyprefix against real Celery, live: with result_backend_transport_options
// ['global_keyprefix'] set, task, group and chord keys written by Python are read here and the
// other way round, and the key names are byte-equal. Celery 5.2 ignores the option (its keys stay
// unprefixed), which is why the module refuses globalKeyprefix with celeryVersion "5.2".
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import {
  AsyncResult,
  canvas,
  createBackend,
  GroupResult,
  KeyBuilder,
  type RedisBackend,
  setChordSize,
  type Signature,
  tcpDriver,
} from "../mod.ts";
import { takeTaskMessages } from "./_broker_messages.ts";
import {
  celeryAvailable,
  celeryUrls,
  type CeleryVersion,
  type HarnessRead,
  type HarnessStored,
  runHarness,
} from "./_celery.ts";
import { celeryPythons, requirement } from "./_env.ts";
import { type RedisServer, startRedisServer } from "./_redis_server.ts";

let server: RedisServer;
before(async () => {
  server = await startRedisServer();
});
after(async () => {
  await server?.[Symbol.asyncDispose]();
});

interface PyKeys {
  task: string;
  group: string;
  chord: { j: string; t: string; s: string };
}

const py = <T>(v: CeleryVersion, prefix: string, ...args: string[]) =>
  runHarness(v, server.url, args, { globalKeyprefix: prefix }) as Promise<T>;

function body(id: string, queue: string): Signature {
  return {
    task: "celery_app.echo",
    args: [],
    kwargs: {},
    options: { task_id: id, queue },
    subtask_type: null,
    immutable: false,
  };
}

const skip56 = requirement(celeryAvailable("5.6"), `Celery 5.6 (${celeryPythons["5.6"]})`);

for (const prefix of ["pfx", "app:"]) {
  const named = (subject: string) => `Celery 5.6, global_keyprefix ${prefix}: ${subject}`;
  const tag = prefix.replace(/\W/g, "");
  const backend = (): RedisBackend =>
    createBackend(celeryUrls(server.url).resultUrl, {
      celeryVersion: "5.6",
      globalKeyprefix: prefix,
    });

  test(named("task, group and chord key names are byte-equal to Python's"), {
    skip: skip56,
  }, async () => {
    await using ts = backend();
    const keys = await py<PyKeys>("5.6", prefix, "keys", "t-1", "g-1");
    const chord = ts.keys.chord("g-1");
    assert.deepEqual(keys, {
      task: ts.keys.task("t-1"),
      group: ts.keys.group("g-1"),
      chord: { j: chord.results, t: chord.added, s: chord.size },
    });
    assert.ok(keys.task.startsWith(prefix === "pfx" ? "pfx_celery-task-meta-" : "app:celery"));
  });

  test(named("task results stored by either side are read by the other"), {
    skip: skip56,
  }, async () => {
    await using ts = backend();
    const stored = await py<HarnessStored>(
      "5.6",
      prefix,
      "store",
      JSON.stringify({ task_id: `kp-py-${tag}`, state: "SUCCESS", result: { from: "python" } }),
    );
    assert.equal(stored.key, ts.keys.task(`kp-py-${tag}`));
    const meta = await ts.getTaskMeta(`kp-py-${tag}`);
    assert.equal(meta.status, "SUCCESS");
    assert.deepEqual(meta.result, { from: "python" });

    await ts.markAsDone(`kp-ts-${tag}`, { from: "typescript" });
    const read = await py<HarnessRead>("5.6", prefix, "read", `kp-ts-${tag}`);
    assert.equal(read.key, ts.keys.task(`kp-ts-${tag}`));
    assert.equal(read.state, "SUCCESS");
    assert.deepEqual(read.result, { from: "typescript" });
    // Nothing was written under the unprefixed names.
    await using plain = tcpDriver({ port: server.port, db: 1 });
    assert.equal(await plain.send(["EXISTS", `celery-task-meta-kp-ts-${tag}`]), 0);
  });

  test(named("groups saved by either side are restored by the other"), {
    skip: skip56,
  }, async () => {
    await using ts = backend();
    const saved = await py<{ key: string }>(
      "5.6",
      prefix,
      "save-group",
      `kpg-py-${tag}`,
      JSON.stringify(["a", "b"]),
    );
    assert.equal(saved.key, ts.keys.group(`kpg-py-${tag}`));
    const group = await GroupResult.restore(ts, `kpg-py-${tag}`);
    assert.deepEqual(group?.leaves().map((r) => r.id), ["a", "b"]);

    await new GroupResult(`kpg-ts-${tag}`, [new AsyncResult("c", ts)], ts).save();
    const restored = await py<{ group: { results: { id: string }[] } | null }>(
      "5.6",
      prefix,
      "restore-group",
      `kpg-ts-${tag}`,
    );
    assert.deepEqual(restored.group?.results.map((r) => r.id), ["c"]);
  });
}

test(
  "Celery 5.6, global_keyprefix pfx: a chord begun by Python is completed here, and the other way round",
  {
    skip: skip56,
  },
  async () => {
    const prefix = "pfx";
    await using ts = createBackend(celeryUrls(server.url).resultUrl, {
      celeryVersion: "5.6",
      globalKeyprefix: prefix,
    });
    await using broker = tcpDriver({ port: server.port, db: 0 });
    const fired: unknown[][] = [];
    const chord = { onBody: (_b: Signature, results: unknown[]) => void fired.push(results) };

    // Python stores the size and the first part; our part reads both under the prefix and fires.
    const pyFirst = body("kpc-body-1", "kp-bodies");
    await py("5.6", prefix, "set-chord-size", "kpc-1", "2");
    await py("5.6", prefix, "chord-part", "kpc-1-a", "kpc-1", "0", "1", JSON.stringify(pyFirst));
    await ts.markAsDone("kpc-1-b", 2, {
      id: "kpc-1-b",
      group: "kpc-1",
      groupIndex: 1,
      chord: pyFirst,
    }, {
      canvas: canvas(chord),
    });
    assert.deepEqual(fired, [[1, 2]]);
    assert.deepEqual(await broker.send(["KEYS", "*kpc-1*"]), []);

    // We store the size and the first part; Python's part completes the chord and sends the body.
    const tsFirst = body("kpc-body-2", "kp-bodies");
    await setChordSize(ts, "kpc-2", 2);
    await ts.markAsDone("kpc-2-a", 10, {
      id: "kpc-2-a",
      group: "kpc-2",
      groupIndex: 0,
      chord: tsFirst,
    }, {
      canvas: canvas(chord),
    });
    const done = await py<{ chord_keys_left: string[] }>(
      "5.6",
      prefix,
      "chord-part",
      "kpc-2-b",
      "kpc-2",
      "1",
      "20",
      JSON.stringify(tsFirst),
    );
    assert.deepEqual(
      done.chord_keys_left,
      [],
      "Python saw the chord complete and deleted its keys",
    );
    const [message] = await takeTaskMessages(broker, "kp-bodies", 1, 10_000);
    assert.equal(message!.id, "kpc-body-2");
    assert.deepEqual(message!.args, [[10, 20]]);
    assert.equal(fired.length, 1, "our backend never fired the second chord");
  },
);

const skip52 = requirement(celeryAvailable("5.2"), `Celery 5.2 (${celeryPythons["5.2"]})`);

test("Celery 5.2 ignores global_keyprefix: its keys are unprefixed, and ours refuse the option", {
  skip: skip52,
}, async () => {
  const keys = await py<PyKeys>("5.2", "app:", "keys", "t-1", "g-1");
  const plain = new KeyBuilder(undefined, "5.2");
  const chord = plain.chord("g-1");
  assert.deepEqual(keys, {
    task: plain.task("t-1"),
    group: plain.group("g-1"),
    chord: { j: chord.results, t: chord.added, s: chord.size },
  });
  await py("5.2", "app:", "store", JSON.stringify({ task_id: "kp52", result: 52 }));
  await using ts = createBackend(celeryUrls(server.url).resultUrl, { celeryVersion: "5.2" });
  assert.equal((await ts.getTaskMeta("kp52")).result, 52);
  assert.throws(
    () => createBackend("memory://", { celeryVersion: "5.2", globalKeyprefix: "app:" }),
    (e: unknown) => e instanceof TypeError && /Celery 5\.2 ignores the option/.test(e.message),
  );
});
