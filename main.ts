/**
 * The demo: stores task results the way a Celery worker does, reads them back the way a Celery
 * client does, and prints them, on the in-memory driver or, with `--url`, on a real Redis.
 *
 *     deno run -A main.ts [--url redis://localhost:6379/1] [--celery-version 5.6]
 *     deno run -A main.ts --web [--port 8000]   # a page that follows a task live (sseResponse)
 *     bun main.ts [--url …] [--web]
 *
 * @module
 */
import process from "node:process";
import { runResultCommand } from "./src/cli/result_command.ts";
import { startWebDemo } from "./demo/web_demo.ts";
import {
  type CeleryVersion,
  createBackend,
  maskUrl,
  PyDecimal,
  type RedisBackend,
  TaskError,
  type TaskMeta,
} from "./mod.ts";

interface DemoArgs {
  url: string;
  celeryVersion: CeleryVersion;
  web: boolean;
  port: number | undefined;
}

const USAGE = "usage: main.ts [--url redis://host:port/db] [--celery-version 5.2|5.3|5.4|5.5|5.6]" +
  " [--web [--port N]]";

function parseArgs(argv: string[]): DemoArgs | string {
  const args: DemoArgs = {
    url: process.env.CELERY_RESULT_BACKEND ?? "memory://",
    celeryVersion: "5.6",
    web: false,
    port: undefined,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = () => {
      const next = argv[++i];
      if (next === undefined) throw new TypeError(`${arg} needs a value`);
      return next;
    };
    if (arg === "--url") args.url = value();
    else if (arg === "--celery-version") args.celeryVersion = value() as CeleryVersion;
    else if (arg === "--web") args.web = true;
    else if (arg === "--port") {
      const text = value();
      const port = Number(text);
      if (!/^\d+$/.test(text) || port > 65535) {
        throw new RangeError(`--port must be an integer from 0 to 65535, got ${text}`);
      }
      args.port = port;
    } else if (arg === "-h" || arg === "--help") return USAGE;
    else throw new TypeError(`Unknown argument ${arg} (try --help)`);
  }
  if (args.port !== undefined && !args.web) throw new TypeError("--port needs --web");
  return args;
}

function show(id: string, meta: TaskMeta): string {
  const result = meta.result instanceof TaskError
    ? `${meta.result.excModule}.${meta.result.excType}${JSON.stringify(meta.result.excMessage)}`
    : JSON.stringify(meta.result, (_k, v) => typeof v === "bigint" ? `${v}n` : v);
  return `${id.padEnd(12)} ${String(meta.status).padEnd(9)} ${result}` +
    (meta.date_done ? `  (done ${meta.date_done})` : "");
}

async function main(): Promise<number> {
  let args: DemoArgs | string;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (error) {
    console.error((error as Error).message);
    return 2;
  }
  if (typeof args === "string") {
    console.log(args);
    return 0;
  }
  await using backend = createBackend(args.url, {
    resultExtended: true,
    celeryVersion: args.celeryVersion,
    resultExpires: 600,
  });
  console.log(
    `Backend ${
      maskUrl(args.url)
    } (${backend.driver.name} driver), Celery ${args.celeryVersion} format\n`,
  );
  if (args.web) return await serveWebDemo(backend, args.port);

  const run = `demo-${Date.now().toString(36)}`;
  const request = { task: "demo.add", args: [2, 3], kwargs: {}, hostname: "ts@demo", retries: 0 };
  const ids = ["add", "rich", "progress", "failed", "retried", "revoked", "missing"].map((name) =>
    `${run}-${name}`
  );
  const [add, rich, progress, failed, retried, revoked] = ids as [string, ...string[]];
  await backend.markAsDone(add, 5, { ...request, deliveryInfo: { routingKey: "celery" } });
  await backend.markAsDone(rich!, {
    when: new Date(Date.UTC(2024, 4, 6, 7, 8, 9)),
    price: new PyDecimal("1.50"),
    big: 2n ** 70n,
    text: "héllo ☃",
  });
  await backend.storeResult(progress!, { done: 3, total: 10 }, "PROGRESS");
  await backend.markAsFailure(failed!, new TypeError("unsupported operand"));
  await backend.markAsRetry(retried!, new Error("connection reset"));
  await backend.markAsRevoked(revoked!, "terminated");

  for (const [i, meta] of (await backend.getTaskMetas(ids)).entries()) {
    console.log(show(ids[i]!.slice(run.length + 1), meta));
  }
  const raw = await backend.get(backend.keys.task(add));
  console.log(`\nStored bytes of ${backend.keys.task(add)}:\n${new TextDecoder().decode(raw!)}`);

  // The `result` command (result.ts) on the same backend: follow a task a "worker" advances.
  const follow = `${run}-follow`;
  console.log(`\n$ result ${follow} --follow --timeout 5`);
  const worker = (async () => {
    const pause = () => new Promise((r) => setTimeout(r, 100));
    await pause();
    await backend.markAsStarted(follow, { pid: 4242, hostname: "ts@demo" });
    for (const done of [1, 2, 3]) {
      await pause();
      await backend.storeResult(follow, { done, total: 3 }, "PROGRESS");
    }
    await backend.markAsDone(follow, "finished");
  })();
  const io = {
    out: (line: string) => console.log(line),
    err: (line: string) => console.error(line),
    env: {},
    backend, // the memory driver's data lives in this process, so share the backend
  };
  const code = await runResultCommand([follow, "--follow", "--timeout", "5"], io);
  await worker;
  console.log(`(exit code ${code})`);
  console.log(`\n$ result ${failed} --traceback | head -2`);
  const lines: string[] = [];
  await runResultCommand([failed!, "--traceback"], {
    ...io,
    out: (l) => lines.push(...l.split("\n")),
  });
  console.log(lines.slice(0, 2).join("\n"));

  await Promise.all([...ids, follow].map((id) => backend.forget(id)));
  return 0;
}

/** Serves the web demo until Ctrl-C (SIGINT) or SIGTERM. */
async function serveWebDemo(backend: RedisBackend, port: number | undefined): Promise<number> {
  await using demo = await startWebDemo(backend, { port });
  console.log(`Web demo: ${demo.url}  (open it in a browser; Ctrl-C to stop)`);
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  console.log("Stopped.");
  return 0;
}

try {
  process.exitCode = await main();
} catch (error) {
  console.error(`error: ${(error as Error).message}`);
  process.exitCode = 1;
}
