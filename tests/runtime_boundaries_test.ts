// The core must run anywhere (edge runtimes included): runtime globals and node: modules appear
// only in the transport files that adapt each runtime's sockets.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { spawnSync } from "node:child_process";
import { denoBin, projectRoot, requirement } from "./_env.ts";

// Under Bun the deno on PATH does the checks; under CI a missing one fails.
const skipWithoutDeno = requirement(denoBin !== undefined, "the deno binary on PATH");
const deno = denoBin ?? "deno";

const RUNTIME_ADAPTERS = new Set([
  "src/connection/drivers/_deno_transport.ts",
  "src/connection/drivers/_bun_transport.ts",
  "src/connection/drivers/_transport.ts",
]);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? sourceFiles(path) : path.endsWith(".ts") ? [path] : [];
  });
}

function withoutComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
}

test("src/ uses Deno, Bun and node: APIs only in the runtime adapters", () => {
  const offenders: string[] = [];
  for (const file of sourceFiles(join(projectRoot, "src"))) {
    const name = relative(projectRoot, file).replaceAll("\\", "/");
    if (RUNTIME_ADAPTERS.has(name)) continue;
    const code = withoutComments(readFileSync(file, "utf8"));
    const hit = /\bDeno\.|\bBun\.|["']node:|\bprocess\.|\bBuffer\b|globalThis\.(Deno|Bun)\b/.exec(
      code,
    );
    if (hit) offenders.push(`${name}: ${hit[0]}`);
  }
  assert.deepEqual(offenders, []);
});

test("mod.ts type-checks without Deno's namespace", {
  skip: skipWithoutDeno,
}, () => {
  const result = spawnSync(
    deno,
    ["check", "--no-lock", "--config", "deno.no-runtime.json", "mod.ts"],
    { cwd: projectRoot, encoding: "utf8", timeout: 120_000 },
  );
  assert.equal(result.status, 0, result.stderr);
});

test("edge.ts type-checks without Deno's namespace and imports no TCP or node: module", {
  skip: skipWithoutDeno,
}, () => {
  const result = spawnSync(
    deno,
    ["check", "--no-lock", "--config", "deno.no-runtime.json", "edge.ts"],
    { cwd: projectRoot, encoding: "utf8", timeout: 120_000 },
  );
  assert.equal(result.status, 0, result.stderr);
  const graph = spawnSync(deno, ["info", "--no-lock", "--json", "edge.ts"], {
    cwd: projectRoot,
    encoding: "utf8",
    timeout: 120_000,
  });
  assert.equal(graph.status, 0, graph.stderr);
  const modules: string[] = JSON.parse(graph.stdout).modules.map((m: { specifier: string }) =>
    m.specifier
  );
  const local = modules.filter((s) => s.startsWith("file:"));
  assert.ok(
    local.some((s) => s.endsWith("/src/connection/drivers/http.ts")),
    "edge.ts includes the HTTP driver",
  );
  assert.deepEqual(
    local.filter((s) => /\/src\/drivers\/(tcp|_deno_transport|_bun_transport)\.ts$/.test(s)),
    [],
  );
  assert.deepEqual(modules.filter((s) => s.startsWith("node:")), []);
});
