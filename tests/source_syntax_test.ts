// The sources use only TypeScript syntax that type stripping erases (Node's, tsx's): no parameter
// properties, enums or namespaces. And the edge entry type-checks against Cloudflare's Workers
// types alone. Both checks are TypeScript's compiler (npm typescript), run with node.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import process from "node:process";
import { projectRoot, runtime } from "./_env.ts";

const node = runtime === "node" ? process.execPath : "node";
const checker = join(projectRoot, "tests", "_typescript_checks.mjs");

function check<T>(args: string[]): T {
  const run = spawnSync(node, [checker, ...args], {
    cwd: projectRoot,
    encoding: "utf8",
    timeout: 120_000,
  });
  assert.equal(run.status, 0, run.stderr);
  return JSON.parse(run.stdout) as T;
}

function typeScriptFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? typeScriptFiles(path) : path.endsWith(".ts") ? [path] : [];
  });
}

test("every source file uses only erasable syntax (the checker flags what it must)", () => {
  const entries = ["mod.ts", "edge.ts", "result.ts", "main.ts"].map((f) => join(projectRoot, f));
  const sources = [...typeScriptFiles(join(projectRoot, "src")), ...entries];
  // A file with each non-erasable form proves the check is not vacuous.
  const dir = mkdtempSync(join(tmpdir(), "erasable-"));
  try {
    const probe = join(dir, "probe.ts");
    writeFileSync(
      probe,
      [
        "export class A { constructor(readonly x: number) {} }",
        "export enum Colour { Red }",
        "export namespace N { export const y = 1; }",
      ].join("\n"),
    );
    const { checked, offenders } = check<{ checked: number; offenders: string[] }>([
      "erasable",
      ...sources,
      probe,
    ]);
    assert.equal(checked, sources.length + 1);
    const probeLines = offenders.filter((o) => o.includes("probe.ts")).map((o) =>
      /:(\d+):/.exec(o)?.[1]
    );
    assert.deepEqual([...new Set(probeLines)], ["1", "2", "3"], offenders.join("\n"));
    const inSources = offenders.filter((o) => !o.includes("probe.ts"));
    assert.deepEqual(inSources, [], `non-erasable syntax:\n${inSources.join("\n")}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.ok(
    sources.some((f) =>
      relative(projectRoot, f) === join("src", "connection", "drivers", "http.ts")
    ),
  );
});

test("edge.ts type-checks against @cloudflare/workers-types (no DOM, Deno or Node types)", () => {
  const result = check<
    { errors: string[]; workersTypes: boolean; domTypes: boolean; sources: number }
  >(["workers", join(projectRoot, "edge.ts")]);
  assert.equal(result.workersTypes, true);
  assert.equal(result.domTypes, false);
  assert.ok(result.sources > 10, `only ${result.sources} project files were checked`);
  assert.deepEqual(result.errors, []);
});
