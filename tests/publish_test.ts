// The JSR package: `deno publish --dry-run` passes (type checks, no slow types) and would upload
// only what users need, and the publish workflow is valid YAML with what JSR's provenance needs.
// The dry run needs no network: the package has no jsr: dependencies to resolve.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import process from "node:process";
import { parse } from "yaml";
import { denoBin, projectRoot, requirement } from "./_env.ts";

const skipWithoutDeno = requirement(denoBin !== undefined, "the deno binary on PATH");

/** Whether a published path is something a user of the package needs. */
function userFacing(path: string): boolean {
  const entries = ["mod.ts", "edge.ts", "result.ts", "README.md", "LICENSE", "deno.json"];
  return entries.includes(path) || /^src\/[\w/]+\.ts$/.test(path);
}

test("deno publish --dry-run passes and lists only user-facing files", {
  skip: skipWithoutDeno,
  timeout: 300_000,
}, () => {
  const run = spawnSync(denoBin ?? "deno", ["publish", "--dry-run", "--allow-dirty"], {
    cwd: projectRoot,
    encoding: "utf8",
    timeout: 300_000,
    env: { ...process.env, NO_COLOR: "1" },
  });
  const output = `${run.stdout}\n${run.stderr}`;
  assert.equal(run.status, 0, output);
  assert.match(output, /Simulating publish of @taskmeta\/celery-redis@/);
  // Slow types would be errors (exit status 1); nothing else may warn either.
  assert.match(output, /Checking for slow types in the public API/);
  assert.doesNotMatch(output, /\b(error|warning)\[/);
  const root = pathToFileURL(projectRoot).href.replace(/\/?$/, "/");
  const files = [...output.matchAll(/^\s+(file:\/\/\S+)/gm)].map((m) => m[1]!.slice(root.length));
  for (const needed of ["mod.ts", "edge.ts", "result.ts", "README.md", "LICENSE"]) {
    assert.ok(files.includes(needed), `${needed} is published (files: ${files.join(", ")})`);
  }
  assert.ok(files.includes("src/backend/redis_backend.ts"), "src/ is published");
  assert.deepEqual(files.filter((f) => !userFacing(f)), []);
});

test("the publish workflow runs `npx jsr publish` on a tag push with OIDC provenance", () => {
  const workflow = parse(readFileSync(join(projectRoot, ".github/workflows/publish.yml"), "utf8"));
  assert.deepEqual(workflow.on, { push: { tags: ["v*"] } });
  assert.deepEqual(workflow.permissions, { contents: "read", "id-token": "write" });
  const steps: { uses?: string; run?: string }[] = workflow.jobs.publish.steps;
  assert.ok(steps.some((s) => s.uses?.startsWith("actions/checkout@")), "checks out the code");
  const publish = steps.findIndex((s) => s.run === "npx jsr publish");
  assert.ok(publish >= 0, "runs npx jsr publish");
  const tagCheck = steps.findIndex((s) => s.run?.includes("GITHUB_REF_NAME"));
  assert.ok(tagCheck >= 0 && tagCheck < publish, "checks the tag against deno.json first");
});
