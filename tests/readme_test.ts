// The README's TypeScript examples are real: every ```ts block type-checks against the local entry
// files (the package's import specifiers rewritten to them), and the runnable ones (memory://)
// run under the current runtime and print what their `// →` comments say.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import process from "node:process";
import { denoBin, projectRoot, requirement, scriptCommand } from "./_env.ts";

const readme = readFileSync(join(projectRoot, "README.md"), "utf8");
const blocks = [...readme.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
const entry = (file: string) => pathToFileURL(join(projectRoot, file)).href;
const dir = mkdtempSync(join(tmpdir(), "readme-"));
// ES modules (top-level await) for tsx on Node too, which reads the nearest package.json.
writeFileSync(join(dir, "package.json"), '{ "type": "module" }\n');
after(() => rmSync(dir, { recursive: true, force: true }));

/** The package's specifiers, as a user writes them, pointed at the files they publish. */
function local(code: string): string {
  return code
    .replaceAll('"@taskmeta/celery-redis/edge"', JSON.stringify(entry("edge.ts")))
    .replaceAll('"@taskmeta/celery-redis/result"', JSON.stringify(entry("result.ts")))
    .replaceAll('"@taskmeta/celery-redis"', JSON.stringify(entry("mod.ts")));
}

/** Names the examples use without defining them (a block that defines one keeps its own). */
const PLACEHOLDERS: Record<string, string> = {
  backend: "declare const backend: RedisBackend;",
  taskId: "declare const taskId: string;",
  signal: "declare const signal: AbortSignal;",
  request: "declare const request: TaskRequest;",
  result: "declare const result: unknown;",
  sendTask: "declare function sendTask(body: Signature, args: unknown[]): Promise<void>;",
};

function withPrelude(code: string): string {
  const defines = (name: string) =>
    new RegExp(`\\b(const|let|var|using|function|class)\\s+${name}\\b`).test(code);
  const used = Object.entries(PLACEHOLDERS).filter(([name]) =>
    new RegExp(`\\b${name}\\b`).test(code) && !defines(name)
  );
  if (used.length === 0) return local(code);
  const types = `import type { RedisBackend, Signature, TaskRequest } from ${
    JSON.stringify(entry("mod.ts"))
  };\n`;
  return types + used.map(([, declaration]) => declaration).join("\n") + "\n" + local(code);
}

const runnable = blocks.filter((code) => code.includes('"memory://"'));

test("the README has TypeScript examples, runnable ones among them", () => {
  assert.ok(blocks.length >= 4, `found ${blocks.length} ts blocks`);
  assert.ok(runnable.length >= 2, `found ${runnable.length} memory:// blocks`);
  assert.ok(blocks.some((code) => code.includes('"@taskmeta/celery-redis/edge"')));
});

test("every ts block of the README type-checks", {
  skip: requirement(denoBin !== undefined, "the deno binary on PATH"),
  timeout: 300_000,
}, () => {
  const files = blocks.map((code, i) => {
    const file = join(dir, `block_${i + 1}.ts`);
    // `export {}` makes each block a module, so top-level await and names stay its own.
    writeFileSync(file, withPrelude(code) + "\nexport {};\n");
    return file;
  });
  const check = spawnSync(
    denoBin ?? "deno",
    ["check", "--no-lock", "--config", join(projectRoot, "deno.json"), ...files],
    {
      cwd: projectRoot,
      encoding: "utf8",
      timeout: 300_000,
      env: { ...process.env, NO_COLOR: "1" },
    },
  );
  assert.equal(check.status, 0, `${check.stdout}\n${check.stderr}`);
});

for (const [i, code] of runnable.entries()) {
  const expected = [...code.matchAll(/\/\/ → (.*)$/gm)].map((m) => m[1]!.trim());
  test(`README example ${i + 1} on memory:// prints ${JSON.stringify(expected)}`, {
    timeout: 120_000,
  }, () => {
    const file = join(dir, `run_${i + 1}.ts`);
    writeFileSync(file, local(code));
    const [command, args] = scriptCommand(file, [], {
      deno: ["-A", "--no-lock", "--config", join(projectRoot, "deno.json")],
    });
    const run = spawnSync(command, args, {
      cwd: projectRoot,
      encoding: "utf8",
      timeout: 120_000,
      env: { ...process.env, NO_COLOR: "1" },
    });
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(run.stdout.trim().split("\n").map((line) => line.trim()), expected);
  });
}
