// The README's "Starting tasks" edge example is examples/edge_tasks_worker.ts, the file
// tests/edge_tasks_workerd_test.ts runs in workerd, shown with the package's import path.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { projectRoot } from "./_env.ts";

test("README's POST /tasks example is examples/edge_tasks_worker.ts, with the package import", () => {
  const readme = readFileSync(join(projectRoot, "README.md"), "utf8");
  const example = readFileSync(join(projectRoot, "examples/edge_tasks_worker.ts"), "utf8");
  const starting = readme.slice(readme.indexOf("## Starting tasks"));
  const section = starting.slice(0, starting.indexOf("\n## ", 1));
  const blocks = [...section.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
  const edge = blocks.filter((b) => b.includes("POST /tasks"));
  assert.equal(edge.length, 1, "one POST /tasks example in README's Starting tasks");
  assert.equal(edge[0], example.replace('from "../edge.ts"', 'from "@taskmeta/celery-redis/edge"'));
});
