// Celery's names keep Celery's meanings: GroupResult.get(), AsyncResult.parent, children() as
// result objects, collect() in Celery's order, expire() and the supports_* flags — each compared
// live with what Celery 5.2 and 5.6 return for the same keys on a real redis-server.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  AsyncResult,
  consumerFor,
  createBackend,
  type GroupMember,
  GroupResult,
  memoryDriver,
  RedisBackend,
  type RedisDriver,
  ResultConsumer,
  resultFromTuple,
  type ResultTuple,
  TaskError,
} from "../mod.ts";
import { celeryAvailable, celeryUrls, celeryVersions, type PyException } from "./_celery.ts";
import { celeryNames } from "./_celery_names.ts";
import { celeryPythons, denoBin, projectRoot, requirement } from "./_env.ts";
import { type RedisServer, startRedisServer } from "./_redis_server.ts";
import { until } from "./_time.ts";

let server: RedisServer;
before(async () => {
  server = await startRedisServer();
});
after(async () => {
  await server?.[Symbol.asyncDispose]();
});

const resultBackend = () => createBackend(celeryUrls(server.url).resultUrl);
const task = (id: string, parent: ResultTuple | null = null): ResultTuple => [[id, parent], null];

/** A result object as Celery's script describes it: [class name, id, parent id]. */
const describe = (r: GroupMember) => [r.constructor.name, r.id, r.parent?.id ?? null];

/** Python's typed JSON of a value, with exceptions reduced to their class name. */
function pythonValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(pythonValue);
  const exception = (value as PyException | null)?.exception;
  return exception ? exception.class : value;
}

/** Our value in the same form: errors reduced to their Python class name. */
function ourValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(ourValue);
  return value instanceof TaskError ? value.name : value;
}

/**
 * Stores a result graph: root → [c1 → [gc], group g1 [m1, m2], c2 (parent p0)]. Celery's collect()
 * visits it level by level: root, c1, g1, c2, gc, m1, m2.
 */
async function storeGraph(backend: RedisBackend, p: string): Promise<void> {
  await backend.storeResult(`${p}root`, "r", "SUCCESS", {
    children: [
      task(`${p}c1`),
      [[`${p}g1`, null], [task(`${p}m1`), task(`${p}m2`)]],
      task(`${p}c2`, task(`${p}p0`)),
    ],
  });
  await backend.storeResult(`${p}c1`, 1, "SUCCESS", { children: [task(`${p}gc`)] });
  for (const [id, value] of [["c2", 2], ["p0", 0], ["gc", 100], ["m1", 10], ["m2", 20]] as const) {
    await backend.markAsDone(`${p}${id}`, value);
  }
}

test("children() gives AsyncResult and GroupResult objects with their parents, the same ones once ready", async () => {
  await using backend = createBackend("memory://");
  await storeGraph(backend, "");
  const root = new AsyncResult("root", backend);
  const children = await root.children();
  assert.deepEqual(children?.map(describe), [
    ["AsyncResult", "c1", null],
    ["GroupResult", "g1", null],
    ["AsyncResult", "c2", "p0"],
  ]);
  assert.ok(children![2]!.parent instanceof AsyncResult);
  assert.deepEqual((children![1] as GroupResult).results.map((r) => r.id), ["m1", "m2"]);
  assert.equal(await root.children(), children, "built once from the cached ready meta");
  assert.equal(await new AsyncResult("nothing-stored", backend).children(), null);
});

test("collect() visits the result graph in Celery's order with each node's value", async () => {
  await using backend = createBackend("memory://");
  await storeGraph(backend, "");
  const visited: unknown[] = [];
  for await (const [node, value] of new AsyncResult("root", backend).collect({ timeout: 5_000 })) {
    visited.push([node.id, value]);
  }
  assert.deepEqual(visited, [
    ["root", "r"],
    ["c1", 1],
    ["g1", [10, 20]],
    ["c2", 2],
    ["gc", 100],
    ["m1", 10],
    ["m2", 20],
  ]);
});

test("collect() waits for a node that is not ready when reached, and a failed node throws", async () => {
  await using backend = createBackend("memory://");
  await backend.storeResult("w-root", 1, "SUCCESS", { children: [task("w-late"), task("w-bad")] });
  await backend.markAsFailure("w-bad", new ValueError("no"));
  const nodes = new AsyncResult("w-root", backend).collect();
  assert.equal((await nodes.next()).value?.[0].id, "w-root");
  const late = nodes.next();
  const consumer = consumerFor(backend);
  assert.ok(consumer instanceof ResultConsumer);
  await until("collect() to wait for w-late", () => consumer.subscribedChannels.size === 1);
  await backend.markAsDone("w-late", "finally");
  assert.deepEqual((await late).value?.[1], "finally");
  await assert.rejects(nodes.next(), (e) => e instanceof TaskError && e.name === "ValueError");
});

test("parent: set from result tuples (GroupResult.restore, resultFromTuple) and kept in asTuple()", async () => {
  await using backend = createBackend("memory://");
  const tuple: ResultTuple = [["grp", task("before")], [task("a", task("pa")), task("b")]];
  await backend.set(backend.keys.group("grp"), backend.encode({ result: tuple }));
  const group = (await GroupResult.restore(backend, "grp"))!;
  assert.equal(group.parent?.id, "before");
  assert.ok(group.results[0]!.parent instanceof AsyncResult);
  assert.equal(group.results[0]!.parent.id, "pa");
  assert.equal(group.results[1]!.parent, null);
  assert.deepEqual(group.asTuple(), tuple);
  const withGroupParent = resultFromTuple(task("c", [["g0", null], [task("x")]]), backend);
  assert.ok(withGroupParent.parent instanceof GroupResult);
  assert.throws(() => new AsyncResult("c", backend, "p0" as never), TypeError);
});

test("forget() forgets the parents too, as Celery's AsyncResult.forget()", async () => {
  await using backend = createBackend("memory://");
  await backend.markAsDone("f-parent", 1);
  await backend.markAsDone("f-child", 2);
  await backend.markAsDone("f-other", 3);
  const child = resultFromTuple(task("f-child", task("f-parent")), backend) as AsyncResult;
  await child.forget();
  assert.equal(await backend.exists("f-child"), false);
  assert.equal(await backend.exists("f-parent"), false);
  assert.equal(await backend.exists("f-other"), true);
});

test("expire() refuses 1.5 seconds with a RangeError before any I/O", async () => {
  let commands = 0;
  const driver = memoryDriver();
  const counting = new Proxy(driver, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        if (key === "send" || key === "transaction") commands++;
        return value.apply(target, args);
      };
    },
  }) as RedisDriver;
  await using backend = new RedisBackend(counting);
  await assert.rejects(backend.expire("k", 1.5), /whole number of seconds, got 1.5/);
  await assert.rejects(backend.expire("k", 1.5), RangeError);
  assert.equal(commands, 0);
});

for (const version of celeryVersions) {
  const skip = requirement(
    celeryAvailable(version),
    `Celery ${version} (${celeryPythons[version]})`,
  );

  test(`GroupResult.get() returns what Celery ${version}'s group_result.get() returns`, {
    skip,
  }, async () => {
    await using backend = resultBackend();
    const p = `gg${version}-`;
    for (const [id, value] of [["a", 1], ["b", 2], ["c", 3]] as const) {
      await backend.markAsDone(`${p}${id}`, value);
    }
    await backend.markAsFailure(`${p}bad`, new TypeError("broken"));
    const member = (id: string) => new AsyncResult(`${p}${id}`, backend);
    const inner = new GroupResult(`${p}inner`, [member("c")], backend);
    await new GroupResult(`${p}ok`, [member("a"), member("b"), inner], backend).save();
    await new GroupResult(`${p}failing`, [member("a"), member("bad")], backend).save();

    const restored = async (id: string) => (await GroupResult.restore(backend, `${p}${id}`))!;
    const theirs = await celeryNames<{ values: unknown }>(
      version,
      server.url,
      "group-get",
      `${p}ok`,
      "true",
    );
    assert.deepEqual(await (await restored("ok")).get({ timeout: 5_000 }), theirs.values);
    assert.deepEqual(theirs.values, [1, 2, [3]]);

    const raised = await celeryNames<{ error: string }>(
      version,
      server.url,
      "group-get",
      `${p}failing`,
      "true",
    );
    await assert.rejects(
      (await restored("failing")).get({ timeout: 5_000 }),
      (e) => e instanceof TaskError && e.name === raised.error,
    );
    const kept = await celeryNames<{ values: unknown }>(
      version,
      server.url,
      "group-get",
      `${p}failing`,
      "false",
    );
    const ours = await (await restored("failing")).get({ timeout: 5_000, propagate: false });
    assert.deepEqual(ourValue(ours), pythonValue(kept.values));
    assert.deepEqual(ourValue(ours), [1, "TypeError"]);
  });

  test(`get({ timeout }) is decided by its first read, as Celery ${version}'s get(timeout=)`, {
    skip,
  }, async () => {
    // CLIENT PAUSE holds get()'s first read (SUBSCRIBE, then the read) for longer than its
    // timeout: Celery reads before its clock starts, so a ready task is still returned.
    await using backend = resultBackend();
    const ready = `pause${version}-ready`;
    const pending = `pause${version}-pending`;
    await backend.markAsDone(ready, 7);
    const pauseMs = 300;
    const theirs = async (id: string) =>
      await celeryNames<{ value?: unknown; error?: string; seconds: number }>(
        version,
        server.url,
        "get-after-pause",
        id,
        "0.05",
        String(pauseMs),
      );
    const ours = async (id: string) => {
      await backend.driver.send(["CLIENT", "PAUSE", pauseMs, "ALL"]);
      const started = Date.now();
      const outcome = await new AsyncResult(id, backend).get({ timeout: 50 }).then(
        (value) => ({ value, error: undefined }),
        (error: Error) => ({ value: undefined, error: error.name }),
      );
      return { ...outcome, ms: Date.now() - started };
    };
    const python = { ready: await theirs(ready), pending: await theirs(pending) };
    assert.ok(python.ready.seconds >= (pauseMs - 5) / 1000, "the pause did not hold Celery's read");
    assert.equal(python.ready.value, 7);
    assert.equal(python.pending.error, "TimeoutError");
    const mine = { ready: await ours(ready), pending: await ours(pending) };
    assert.deepEqual([mine.ready.value, mine.ready.error], [7, undefined]);
    assert.equal(mine.pending.error, "TimeoutError");
    assert.ok(
      mine.pending.ms >= pauseMs - 5,
      `timed out after ${mine.pending.ms} ms, before the read`,
    );
  });

  test(`children and collect() match Celery ${version}'s on the same stored graph`, {
    skip,
  }, async () => {
    await using backend = resultBackend();
    const p = `graph${version}-`;
    await storeGraph(backend, p);
    const theirs = await celeryNames<{ children: unknown[]; collected: unknown[][] }>(
      version,
      server.url,
      "graph",
      `${p}root`,
    );
    const root = new AsyncResult(`${p}root`, backend);
    assert.deepEqual((await root.children())?.map(describe), theirs.children);
    const ours: unknown[] = [];
    for await (const [node, value] of root.collect({ timeout: 5_000 })) {
      ours.push([...describe(node), value]);
    }
    assert.deepEqual(ours, theirs.collected);
    assert.equal(ours.length, 7);
  });

  test(`expire() returns what Celery ${version}'s backend.expire() returns`, {
    skip,
  }, async () => {
    await using backend = resultBackend();
    const key = `expire-${version}`;
    await backend.set(key, "v");
    for (const [what, name] of [["existing", key], ["missing", `${key}-missing`]] as const) {
      const theirs = await celeryNames<{ value: boolean }>(
        version,
        server.url,
        "expire",
        name,
        "100",
      );
      assert.equal(await backend.expire(name, 100), theirs.value, `${what} key`);
    }
    const ttl = Number(await backend.driver.send(["TTL", key]));
    assert.ok(ttl > 0 && ttl <= 100, `TTL ${ttl}`);
    // Celery passes 1.5 on and Redis refuses it; here it is refused before it is sent.
    const refused = await celeryNames<{ error: string }>(version, server.url, "expire", key, "1.5");
    assert.equal(refused.error, "ResponseError");
    await assert.rejects(backend.expire(key, 1.5), RangeError);
  });

  test(`supportsAutoexpire and supportsNativeJoin equal Celery ${version}'s flags`, {
    skip,
  }, async () => {
    await using backend = resultBackend();
    const flags = await celeryNames<Record<string, boolean>>(version, server.url, "flags");
    assert.deepEqual(
      {
        supports_autoexpire: backend.supportsAutoexpire,
        supports_native_join: backend.supportsNativeJoin,
      },
      flags,
    );
    assert.deepEqual(flags, { supports_autoexpire: true, supports_native_join: true });
  });
}

// ---- The README's "Celery name → this module" tables ------------------------------------------

/** Celery's API page of celery.backends.redis: the table must list each of these. */
const CELERY_REDIS_MEMBERS = [
  ..."GET MGET DEL INCRBY EXPIRE SET SETEX".split(" "),
  ..."cancel_for consume_from drain_events on_after_fork on_state_change on_wait_for_pending reconnect_on_error start stop"
    .split(" ").map((m) => `ResultConsumer.${m}`),
  ..."add_to_chord apply_chord client connection_class_ssl delete ensure expire forget get incr max_connections mget on_chord_part_return on_connection_error on_task_call retry_policy set set_chord_size supports_autoexpire supports_native_join"
    .split(" ").map((m) => `RedisBackend.${m}`),
  "SentinelBackend.as_uri",
  "SentinelBackend.sentinel",
];
/** Members with no place in JavaScript: their row must say why. */
const NO_PLACE = [
  "ResultConsumer.drain_events",
  "ResultConsumer.on_after_fork",
  "RedisBackend.connection_class_ssl",
];

/** The rows of the README's tables under "Celery name → this module": [celery, here, note]. */
function celeryNameRows(): { celery: string[]; here: string[]; note: string }[] {
  const readme = readFileSync(join(projectRoot, "README.md"), "utf8");
  const start = readme.indexOf("\n## Celery name → this module\n");
  assert.notEqual(start, -1, "the README has the section");
  const section = readme.slice(start + 1, readme.indexOf("\n## ", start + 1));
  const codes = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
  return section.split("\n").filter((line) => line.startsWith("|") && !/^\|\s*-/.test(line))
    .map((line) => line.split("|").slice(1, -1).map((cell) => cell.trim()))
    .filter(([, here]) => here !== "here")
    .map(([celery, here, note]) => ({ celery: codes(celery!), here: codes(here!), note: note! }));
}

interface DocNode {
  name: string;
  declarations: { kind: string; def?: DocDef }[];
}
interface DocDef {
  properties?: { name: string }[];
  methods?: { name: string }[];
  extends?: string | { repr: string }[];
}

test("the README's Celery-name tables list every member of celery.backends.redis", () => {
  const rows = celeryNameRows();
  const listed = new Set(rows.flatMap((row) => row.celery));
  assert.deepEqual(CELERY_REDIS_MEMBERS.filter((name) => !listed.has(name)), []);
  for (const name of NO_PLACE) {
    const row = rows.find((r) => r.celery.includes(name))!;
    assert.match(row.note, /^No place in JavaScript: .+\. .+/, `${name} says why and what instead`);
  }
  assert.ok(rows.every((row) => row.here.length > 0), "every row names its TypeScript member");
});

test(
  "every TypeScript name in the README's Celery-name tables is exported or is a member",
  { skip: requirement(denoBin !== undefined, "deno (for deno doc --json)") },
  () => {
    const out = spawnSync(denoBin!, ["doc", "--json", "mod.ts"], {
      cwd: projectRoot,
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
    });
    assert.equal(out.status, 0, out.stderr);
    const nodes = JSON.parse(out.stdout).nodes as Record<string, { symbols: DocNode[] }>;
    const symbols = new Map(Object.values(nodes)[0]!.symbols.map((node) => [node.name, node]));
    const membersOf = (name: string): Set<string> => {
      const def = symbols.get(name)?.declarations.find((d) => d.def)?.def;
      if (!def) return new Set();
      const parents = typeof def.extends === "string"
        ? [def.extends]
        : (def.extends ?? []).map((e) => e.repr);
      return new Set([
        ...(def.properties ?? []).map((p) => p.name),
        ...(def.methods ?? []).map((m) => m.name),
        ...parents.flatMap((parent) => [...membersOf(parent)]),
      ]);
    };
    const missing: string[] = [];
    const names = celeryNameRows().flatMap((row) => row.here);
    for (const written of names) {
      const [owner, member] = written.replace(/\(\)$/, "").split(".") as [string, string?];
      const symbol = symbols.get(owner);
      const found = member === undefined
        ? symbol !== undefined &&
          (!written.endsWith("()") || symbol.declarations.some((d) => d.kind === "function"))
        : membersOf(owner).has(member);
      if (!found) missing.push(written);
    }
    assert.deepEqual(missing, []);
    assert.ok(names.length > 60, `${names.length} names checked`);
  },
);

/** Python's ValueError, for a failing task stored from here. */
class ValueError extends Error {
  override name = "ValueError";
}
