// The README's edge example is examples/edge_worker.ts, the file tests/edge_workerd_test.ts runs in
// workerd: the README shows it with the package's import path instead of the relative one.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { projectRoot } from "./_env.ts";

test("README's edge example is examples/edge_worker.ts, with the package import", () => {
  const readme = readFileSync(join(projectRoot, "README.md"), "utf8");
  const example = readFileSync(join(projectRoot, "examples/edge_worker.ts"), "utf8");
  const blocks = [...readme.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
  const edge = blocks.filter((b) =>
    b.includes('from "@taskmeta/celery-redis/edge"') && !b.includes("POST /tasks")
  );
  assert.equal(edge.length, 1, "one edge example block in README.md");
  assert.equal(edge[0], example.replace('from "../edge.ts"', 'from "@taskmeta/celery-redis/edge"'));
});
