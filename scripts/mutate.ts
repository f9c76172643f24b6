// Mutation check: applies deliberate bugs to the core logic one at a time, in a temporary copy of
// the repository, and runs the test files that should catch each one under Deno. A mutant that
// leaves its tests green has survived: the tests do not guard that behaviour, and this script
// exits 1.
//
//   deno run -A scripts/mutate.ts                  # the committed tree (git archive HEAD)
//   deno run -A scripts/mutate.ts --working-tree   # the working tree, uncommitted changes too
//   deno run -A scripts/mutate.ts --only chord     # mutants whose name contains "chord"
//
// The real src/ is never touched: every mutant is written into the temporary copy only.
import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

/** One deliberate bug: where, what it replaces, and which test files must catch it. */
interface Mutant {
  name: string;
  file: string;
  original: string;
  replacement: string;
  tests: string[];
}

const CHORD_TESTS = ["tests/chord_memory_test.ts", "tests/chord_tcp_test.ts"];
const CONSUMER_TESTS = [
  "tests/backend_memory_test.ts",
  "tests/backend_tcp_test.ts",
];

const MUTANTS: Mutant[] = [
  {
    name: "chord fires at count >= total (== -> >=)",
    file: "src/canvas/chord.ts",
    original: `if (readyCount !== total) return { status: "waiting", readyCount, total };`,
    replacement: `if (readyCount < total) return { status: "waiting", readyCount, total };`,
    tests: CHORD_TESTS,
  },
  {
    name: "chord fires at count <= total (== -> <=)",
    file: "src/canvas/chord.ts",
    original: `if (readyCount !== total) return { status: "waiting", readyCount, total };`,
    replacement: `if (readyCount > total) return { status: "waiting", readyCount, total };`,
    tests: CHORD_TESTS,
  },
  {
    name: "chord fires at count > total (== -> >)",
    file: "src/canvas/chord.ts",
    original: `if (readyCount !== total) return { status: "waiting", readyCount, total };`,
    replacement: `if (readyCount <= total) return { status: "waiting", readyCount, total };`,
    tests: CHORD_TESTS,
  },
  {
    name: "chord fires at count < total (== -> <)",
    file: "src/canvas/chord.ts",
    original: `if (readyCount !== total) return { status: "waiting", readyCount, total };`,
    replacement: `if (readyCount >= total) return { status: "waiting", readyCount, total };`,
    tests: CHORD_TESTS,
  },
  {
    name: "chord ignores add_to_chord (.t)",
    file: "src/canvas/chord.ts",
    original: `const totalDiff = pythonInt(replies[2], 0, keys.added);`,
    replacement: `const totalDiff = 0;`,
    tests: CHORD_TESTS,
  },
  {
    name: "chord ordering: every part scored +inf (results by member bytes)",
    file: "src/canvas/chord.ts",
    original:
      `const score: RedisArg = typeof request.groupIndex === "number" ? request.groupIndex : "+inf";`,
    replacement: `const score: RedisArg = "+inf";`,
    tests: CHORD_TESTS,
  },
  {
    name: "chord keys get no TTL",
    file: "src/canvas/chord.ts",
    original: `if (backend.expires > 0) {`,
    replacement: `if (backend.expires < 0) {`,
    tests: CHORD_TESTS,
  },
  {
    name: "fired chord keeps its size key",
    file: "src/canvas/chord.ts",
    original: `["DEL", keys.size],`,
    replacement: ``,
    tests: CHORD_TESTS,
  },
  {
    name: "a stored value without a status read as a meta",
    file: "src/wire/read_meta.ts",
    original: `if (typeof meta.status !== "string") {`,
    replacement: `if (typeof meta.status === "symbol") {`,
    tests: ["tests/backend_memory_test.ts"],
  },
  {
    name: "a stored array read as a meta (refused only for its missing status)",
    file: "src/wire/read_meta.ts",
    original: `typeof decoded !== "object" || Array.isArray(decoded)) {`,
    replacement: `typeof decoded !== "object") {`,
    tests: ["tests/backend_memory_test.ts"],
  },
  {
    name: "SUCCESS guard off (a later state overwrites SUCCESS)",
    file: "src/backend/redis_backend.ts",
    original: `=== "SUCCESS") return undefined;`,
    replacement: `=== "NO-SUCH-STATE") return undefined;`,
    tests: ["tests/backend_memory_test.ts"],
  },
  {
    name: "chord key separator '.' -> ':'",
    file: "src/wire/keys.ts",
    original: "return { results: `${base}.j`, added: `${base}.t`, size: `${base}.s` };",
    replacement: "return { results: `${base}:j`, added: `${base}:t`, size: `${base}:s` };",
    tests: ["tests/keys_test.ts", ...CHORD_TESTS],
  },
  {
    name: "task key prefix separator '-' -> ':'",
    file: "src/wire/keys.ts",
    original: `const TASK_PREFIX = "celery-task-meta-";`,
    replacement: `const TASK_PREFIX = "celery-task-meta:";`,
    tests: ["tests/keys_test.ts", "tests/backend_memory_test.ts"],
  },
  {
    name: "key prefix rule: 5.5+ joins a prefix ending in '.' with '_'",
    file: "src/wire/keys.ts",
    original:
      `const keepAsIs = atLeast(celeryVersion, "5.5") && ":_-.".includes(globalKeyprefix.at(-1)!);`,
    replacement:
      `const keepAsIs = atLeast(celeryVersion, "5.5") && ":_-".includes(globalKeyprefix.at(-1)!);`,
    tests: ["tests/keys_test.ts"],
  },
  {
    name: "key prefix rule: 5.3/5.4 keep a prefix ending in ':' as is",
    file: "src/wire/keys.ts",
    original:
      `const keepAsIs = atLeast(celeryVersion, "5.5") && ":_-.".includes(globalKeyprefix.at(-1)!);`,
    replacement: `const keepAsIs = ":_-.".includes(globalKeyprefix.at(-1)!);`,
    tests: ["tests/keys_test.ts"],
  },
  {
    name: "resubscribe without reading (no MGET after a reconnection)",
    file: "src/results/consumer/result_consumer.ts",
    original: `if (keys.length > 0) await this.#subscribeThenRead(subscriber, keys);`,
    replacement: `if (keys.length > 0) await subscriber.subscribe(keys);`,
    tests: ["tests/consumer_resubscribe_test.ts"],
  },
  {
    name: "polling: one GET per waiter instead of one MGET",
    file: "src/results/consumer/polling_consumer.ts",
    original: `const payloads = await this.#backend.mget(keys);`,
    replacement: `const payloads = await Promise.all(keys.map((key) => this.#backend.get(key)));`,
    tests: CONSUMER_TESTS,
  },
  {
    name: "polling: failure limit off by one (rejects after maxErrors)",
    file: "src/results/consumer/polling_consumer.ts",
    original: `if (++errors > this.#maxErrors) {`,
    replacement: `if (++errors >= this.#maxErrors) {`,
    tests: ["tests/small_units_test.ts"],
  },
  {
    name: "date_done: fraction always written (isoformat omits .000000)",
    file: "src/wire/date_done.ts",
    original: "return micros === 0 ? base : `${base}.${pad(micros, 6)}`;",
    replacement: "return `${base}.${pad(micros, 6)}`;",
    tests: ["tests/date_done_test.ts"],
  },
  {
    name: "date_done: Celery 5.2 written with +00:00",
    file: "src/wire/date_done.ts",
    original: `if (!atLeast(style.celeryVersion, "5.4")) return isoLocal(date, 0, micros);`,
    replacement: `if (!atLeast(style.celeryVersion, "5.2")) return isoLocal(date, 0, micros);`,
    tests: ["tests/date_done_test.ts"],
  },
  {
    name: "chain failure propagates RETRY too",
    file: "src/canvas/chain.ts",
    original: `if ((options.storeResult ?? true) && PROPAGATE_STATES.has(state) && context.id) {`,
    replacement: `if ((options.storeResult ?? true) && context.id) {`,
    tests: ["tests/small_units_test.ts"],
  },
  {
    name: "isFinalState() true for every state",
    file: "src/results/sse_response.ts",
    original: `return READY_STATES.has(status);`,
    replacement: `return status !== "";`,
    tests: ["tests/small_units_test.ts"],
  },
  {
    name: "markAsDone() does not call the canvas hook",
    file: "src/backend/redis_backend.ts",
    original: `    if (request && canvas) {
      await canvas.afterStore(this, {
        taskId,
        request,
        state: "SUCCESS",`,
    replacement: `    if (request && canvas && false) {
      await canvas.afterStore(this, {
        taskId,
        request,
        state: "SUCCESS",`,
    tests: CHORD_TESTS,
  },
  {
    name: "markAsFailure() does not call the canvas hook",
    file: "src/backend/redis_backend.ts",
    original: `      if (canvas) {
        await canvas.afterStore(this, {`,
    replacement: `      if (canvas && false) {
        await canvas.afterStore(this, {`,
    tests: CHORD_TESTS,
  },
  {
    name: "markAsRevoked() does not call the canvas hook",
    file: "src/backend/redis_backend.ts",
    original: `    if (request && canvas) {
      await canvas.afterStore(this, {
        taskId,
        request,
        state: "REVOKED",`,
    replacement: `    if (request && canvas && false) {
      await canvas.afterStore(this, {
        taskId,
        request,
        state: "REVOKED",`,
    tests: CHORD_TESTS,
  },
  {
    name: "requireCanvas() not enforced (a chord part or chain without options.canvas)",
    file: "src/backend/redis_backend.ts",
    original: `  if (need) {
    throw new TypeError(`,
    replacement: `  if (need && false) {
    throw new TypeError(`,
    tests: CHORD_TESTS,
  },
  {
    name: "consumer not attached for forget() (waits on a forgotten task go on)",
    file: "src/results/consumer/consumer_for.ts",
    original: `      cancelFor: (taskId) => created.cancelFor(taskId),\n`,
    replacement: ``,
    tests: CONSUMER_TESTS,
  },
  {
    name: "consumer not attached for close() (pending waits outlive the backend)",
    file: "src/results/consumer/consumer_for.ts",
    original: `      close: () => created.stop(),\n`,
    replacement: ``,
    tests: CONSUMER_TESTS,
  },
  {
    name: "get(): propagate ignored (a FAILURE is returned instead of thrown)",
    file: "src/results/async_result.ts",
    original: `propagate ? AsyncResult.#readyResult : AsyncResult.#readyResultUnpropagated`,
    replacement: `AsyncResult.#readyResultUnpropagated`,
    tests: CONSUMER_TESTS,
  },
  {
    name: "get(): parents not followed (a revoked chain head leaves the wait hanging)",
    file: "src/results/async_result.ts",
    original: `if (propagate && followParents && this.parent) return`,
    replacement: `if (propagate && followParents && this.parent && false) return`,
    tests: CONSUMER_TESTS,
  },
  {
    name: "get(): parent checks go on after the wait settled",
    file: "src/results/async_result.ts",
    original: `    } finally {\n      unwatch();\n    }`,
    replacement: `    } finally {\n    }`,
    tests: CONSUMER_TESTS,
  },
  {
    name: "parent watch: one wait's failed parent ends every watching wait",
    file: "src/results/parent_watch.ts",
    original: `          this.#fail(watcher, propagatedError(meta));`,
    replacement:
      `          for (const other of watchers) this.#fail(other, propagatedError(meta));`,
    tests: CONSUMER_TESTS,
  },
  {
    name: "kombu JSON fast path: no look for a __type__ key (markers left unconverted)",
    file: "src/wire/serialization/kombu_json.ts",
    original: `    if (key === "__type__") return false;\n`,
    replacement: ``,
    tests: ["tests/kombu_json_test.ts", "tests/payload_fuzz_test.ts"],
  },
  {
    name: "HTTP driver: streaming set the old way (true, bare options) not refused when made",
    file: "src/connection/drivers/http.ts",
    original: `if (typeof (streaming as Partial<HttpStreaming>)?.open !== "function") {`,
    replacement: `if (false as boolean) {`,
    tests: ["tests/first_errors_test.ts"],
  },
  {
    name: "createBackend(): options for the driver it makes silently ignored beside { driver }",
    file: "src/backend/refuse_with_driver.ts",
    original: `  if (given.length === 0) return;`,
    replacement: `  if (given.length >= 0) return;`,
    tests: ["tests/first_errors_test.ts"],
  },
  {
    name: "HTTP subscriber: a closed stream's fetch aborted, its body not cancelled",
    file: "src/connection/drivers/_http_subscriber.ts",
    original: `    void this.#reader?.cancel().catch(() => {});\n`,
    replacement: ``,
    tests: ["tests/backend_http_test.ts"],
  },
  {
    name: "HTTP subscriber: no sweep after a replacement (given-up channels keep their stream)",
    file: "src/connection/drivers/_http_subscriber.ts",
    original: `    this.#sweep();\n    // A message published`,
    replacement: `    // A message published`,
    tests: ["tests/backend_http_test.ts"],
  },
  {
    name: "deadline queue: an expired deadline stays cancellable (a later wait loses its timeout)",
    file: "src/results/consumer/deadline_queue.ts",
    original: `      deadline.item = undefined;\n      this.#onExpire(item);`,
    replacement: `      this.#onExpire(item);`,
    tests: ["tests/deadline_queue_test.ts", "tests/backend_memory_test.ts"],
  },
  {
    name: "waiters: a settled wait's deadline released before its promise (the release goes first)",
    file: "src/results/consumer/waiters.ts",
    original: `    listener.resolve(outcomeOf(listener, ok, value));\n    // Cancelling`,
    replacement:
      `    const outcome = outcomeOf(listener, ok, value);\n    if (extra?.deadline !== undefined) this.#released();\n    listener.resolve(outcome);\n    // Cancelling`,
    tests: CONSUMER_TESTS,
  },
  {
    name: "waiters: a deadline times out a wait whose key was never read (Celery reads first)",
    file: "src/results/consumer/waiters.ts",
    original: `if (key !== undefined && this.#unread.has(key) && this.lastConnectionError`,
    replacement: `if (key !== undefined && false && this.lastConnectionError`,
    tests: CONSUMER_TESTS,
  },
  {
    name: "waiters: a message counts as the first read",
    file: "src/results/consumer/waiters.ts",
    original: `    entry.last = { payload, meta };\n`,
    replacement: `    entry.last = { payload, meta };\n    this.#unread.delete(key);\n`,
    tests: CONSUMER_TESTS,
  },
  {
    name: "waiters: a failed read leaves waits past their deadline pending",
    file: "src/results/consumer/waiters.ts",
    original:
      `    this.lastConnectionError = error;\n    for (const listener of [...this.#unreadAtDeadline]) {`,
    replacement:
      `    this.lastConnectionError = error;\n    for (const listener of [] as Listener[]) {`,
    tests: CONSUMER_TESTS,
  },
];

const root = fileURLToPath(new URL("..", import.meta.url));
const args = process.argv.slice(2);
const workingTree = args.includes("--working-tree");
const onlyAt = args.indexOf("--only");
const only = onlyAt >= 0 ? args[onlyAt + 1] ?? "" : undefined;
const selected = MUTANTS.filter((m) => only === undefined || m.name.includes(only));

// A mutant can make a test wait forever; a run this long is stopped and counts as failed.
const RUN_TIMEOUT_MS = 120_000;

function run(
  command: string,
  argv: string[],
  cwd: string,
): { ok: boolean; output: string } {
  const result = spawnSync(command, argv, {
    cwd,
    encoding: "utf8",
    timeout: RUN_TIMEOUT_MS,
    killSignal: "SIGKILL",
    stdio: ["ignore", "pipe", "pipe"],
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, NO_COLOR: "1" },
  });
  const timedOut = result.signal === "SIGKILL" ? `\n(stopped after ${RUN_TIMEOUT_MS} ms)` : "";
  return {
    ok: result.status === 0,
    output: `${result.stdout ?? ""}${result.stderr ?? ""}${timedOut}`,
  };
}

/** A copy of the repository in a temporary folder: HEAD, or the working tree's files. */
function makeCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), "mutate-"));
  if (workingTree) {
    const files = run(
      "git",
      ["ls-files", "-co", "--exclude-standard", "-z"],
      root,
    ).output
      .split("\0").filter((f) => f !== "" && existsSync(join(root, f)));
    for (const file of files) {
      mkdirSync(dirname(join(dir, file)), { recursive: true });
      writeFileSync(join(dir, file), readFileSync(join(root, file)));
    }
  } else {
    // Through a pipe, not a buffer: the archive is larger than spawnSync's default buffer.
    const extract = run("sh", [
      "-c",
      'git archive --format=tar HEAD | tar -x -C "$0"',
      dir,
    ], root);
    if (!extract.ok) {
      throw new Error(`git archive | tar failed: ${extract.output}`);
    }
  }
  // npm dev dependencies (@upstash/redis, fast-check) are shared, read-only.
  if (existsSync(join(root, "node_modules"))) {
    symlinkSync(join(root, "node_modules"), join(dir, "node_modules"));
  }
  return dir;
}

/** Runs test files under Deno; `failed` names the failing tests (empty if none could be named). */
function denoTest(
  dir: string,
  files: string[],
): { ok: boolean; failed: Set<string>; output: string } {
  const { ok, output } = run(process.execPath, [
    "test",
    "-A",
    "--no-check",
    ...files,
  ], dir);
  const failed = new Set(
    output.split("\n").map((line) => /^(.+) \.\.\. FAILED/.exec(line)?.[1])
      .filter((n) => n !== undefined),
  );
  return { ok, failed, output };
}

const copy = makeCopy();
let exitCode = 0;
try {
  console.log(
    `Mutation check of ${workingTree ? "the working tree" : "HEAD"} in ${copy}`,
  );
  const allTests = [...new Set(selected.flatMap((m) => m.tests))];
  const baseline = denoTest(copy, allTests);
  // A test that already fails unmutated cannot catch anything: it is listed, and a mutant counts
  // as caught only when some other test fails (or the run fails without naming a test).
  if (!baseline.ok && baseline.failed.size === 0) {
    console.error(
      `The unmutated tests do not run:\n${baseline.output.slice(-4000)}`,
    );
    process.exit(2);
  }
  for (const name of baseline.failed) {
    console.log(`already failing unmutated: ${name}`);
  }
  const rows: string[][] = [];
  for (const mutant of selected) {
    const path = join(copy, mutant.file);
    const source = readFileSync(path, "utf8");
    const at = source.indexOf(mutant.original);
    if (at === -1 || source.indexOf(mutant.original, at + 1) !== -1) {
      rows.push([mutant.name, mutant.file, "snippet not found once", ""]);
      exitCode = 1;
      continue;
    }
    writeFileSync(
      path,
      source.slice(0, at) + mutant.replacement +
        source.slice(at + mutant.original.length),
    );
    const started = Date.now();
    try {
      const result = denoTest(copy, mutant.tests);
      const newlyFailed = [...result.failed].filter((name) => !baseline.failed.has(name));
      const caught = !result.ok &&
        (newlyFailed.length > 0 || result.failed.size === 0);
      const stopped = result.output.includes("(stopped after");
      const verdict = caught ? (stopped ? "caught (hung, stopped)" : "caught") : "SURVIVED";
      if (!caught) exitCode = 1;
      rows.push([
        mutant.name,
        mutant.file,
        verdict,
        `${((Date.now() - started) / 1000).toFixed(1)} s`,
      ]);
      console.log(`${verdict.padEnd(8)} ${mutant.name}`);
    } finally {
      writeFileSync(path, source);
    }
  }
  console.log("\n| mutant | file | result | time |\n|---|---|---|---|");
  for (const row of rows) console.log(`| ${row.join(" | ")} |`);
  const caught = rows.filter((r) => r[2]!.startsWith("caught")).length;
  console.log(`\n${caught} of ${rows.length} mutants caught`);
} finally {
  rmSync(copy, { recursive: true, force: true });
}
process.exit(exitCode);
