// The README's Node examples are examples/node_lambda_handler.ts and examples/nextjs_route.ts
// (readme_test.ts type-checks the README's copies), and they work on Node against a real Redis:
// called as Lambda and Next.js call them, they read a result, wait for one stored later, answer
// at Lambda's deadline with the state seen so far, and leave a process that exits by itself.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { createBackend, type RedisBackend } from "../mod.ts";
import { projectRoot, requirement, runtime } from "./_env.ts";
import { type RedisServer, startRedisServer } from "./_redis_server.ts";

const node = runtime === "node" ? process.execPath : "node";
const skip = requirement(
  spawnSync(node, ["--version"], { stdio: "ignore" }).status === 0,
  "node on PATH",
);
const EXAMPLES = { lambda: "examples/node_lambda_handler.ts", next: "examples/nextjs_route.ts" };

let server: RedisServer;
let backend: RedisBackend;
let url = "";
before(async () => {
  server = await startRedisServer();
  url = `${server.url}/2`;
  backend = createBackend(url);
});
after(async () => {
  await backend.close();
  await server[Symbol.asyncDispose]();
});

test("the README shows both Node examples as they are, with the package import", () => {
  const readme = readFileSync(join(projectRoot, "README.md"), "utf8");
  const blocks = [...readme.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
  for (const file of Object.values(EXAMPLES)) {
    const example = readFileSync(join(projectRoot, file), "utf8");
    const shown = example.replace('from "../mod.ts"', 'from "@taskmeta/celery-redis"');
    assert.ok(blocks.includes(shown), `README.md shows ${file}`);
  }
});

interface Answer {
  status: number;
  body: { task_id: string; status: string; result: unknown };
}

/** Runs the example in a node child; `whileRunning` acts once the child is waiting. */
async function call(
  args: string[],
  whileRunning?: (subscribed: () => Promise<boolean>) => Promise<void>,
): Promise<Answer> {
  const child = spawn(node, ["--import", "tsx", "tests/_node_examples_script.ts", ...args], {
    cwd: projectRoot,
    env: { ...process.env, CELERY_RESULT_BACKEND: url },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk) => (stdout += chunk));
  child.stderr!.on("data", (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  try {
    await whileRunning?.(async () => {
      const reply = await backend.driver.send(["PUBSUB", "NUMSUB", `celery-task-meta-${args[1]}`]);
      return Array.isArray(reply) && reply[1] === 1;
    });
    // Never killed on success: the child must end by itself (idle sockets are unref'd).
    assert.equal(await exited, 0, stderr);
    assert.equal(stderr, "");
    return JSON.parse(stdout) as Answer;
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
}

for (const example of Object.keys(EXAMPLES)) {
  test(`${example}: reads a stored result`, { skip }, async () => {
    await backend.markAsDone(`${example}-read`, { total: 42 });
    const answer = await call([example, `${example}-read`, "read"]);
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.body.result, { total: 42 });
    assert.equal(answer.body.status, "SUCCESS");
  });

  test(`${example}: waits for a result stored later`, { skip }, async () => {
    const id = `${example}-wait`;
    const answer = await call([example, id, "wait"], async (subscribed) => {
      while (!(await subscribed())) await new Promise((resolve) => setTimeout(resolve, 20));
      await backend.markAsDone(id, "later");
    });
    assert.equal(answer.status, 200);
    assert.equal(answer.body.status, "SUCCESS");
    assert.equal(answer.body.result, "later");
  });

  test(`${example}: refuses an id that is not a task id`, { skip }, async () => {
    const answer = await call([example, "../../etc", "read"]);
    assert.equal(answer.status, 400);
  });
}

test(
  "lambda: answers at the invocation's deadline with the state seen so far",
  { skip },
  async () => {
    // 1.5 s left: the handler stops waiting at 0.5 s and answers PENDING (nothing was stored).
    const answer = await call(["lambda", "lambda-never", "wait", "1500"]);
    assert.equal(answer.status, 200);
    assert.equal(answer.body.status, "PENDING");
    assert.equal(answer.body.task_id, "lambda-never");
  },
);
