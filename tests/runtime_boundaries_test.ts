// The core must run anywhere (edge runtimes included): runtime globals and node: modules appear
// only in the transport files that adapt each runtime's sockets (Deno, Bun, Node), and the
// chooser that picks one is imported by none of them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { spawnSync } from "node:child_process";
import { connectBun } from "../src/connection/drivers/_bun_transport.ts";
import { connectDeno } from "../src/connection/drivers/_deno_transport.ts";
import { connectNode } from "../src/connection/drivers/_node_transport.ts";
import { runtimeAdapter } from "../src/connection/drivers/_transport.ts";
import { denoBin, projectRoot, requirement, runtime } from "./_env.ts";

// Under Bun the deno on PATH does the checks; under CI a missing one fails.
const skipWithoutDeno = requirement(denoBin !== undefined, "the deno binary on PATH");
const deno = denoBin ?? "deno";

const RUNTIME_ADAPTERS = new Set([
  "src/connection/drivers/_deno_transport.ts",
  "src/connection/drivers/_bun_transport.ts",
  "src/connection/drivers/_node_transport.ts",
  "src/connection/drivers/_transport.ts",
]);
const TRANSPORTS = [...RUNTIME_ADAPTERS].filter((f) =>
  f !== "src/connection/drivers/_transport.ts"
);

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

test("the transports import only shared helpers and types, never the chooser or each other", () => {
  const imports: Record<string, string[]> = {};
  for (const name of TRANSPORTS) {
    const code = withoutComments(readFileSync(join(projectRoot, name), "utf8"));
    imports[name] = [...code.matchAll(/\bfrom\s+"(\.[^"]+)"/g)].map((m) => m[1]!).sort();
  }
  const shared = ["./_socket_helpers.ts", "./_transport_types.ts"];
  assert.deepEqual(imports, Object.fromEntries(TRANSPORTS.map((name) => [name, shared])));
});

test("the shared transport types use no runtime API", () => {
  const code = withoutComments(
    readFileSync(join(projectRoot, "src/connection/drivers/_transport_types.ts"), "utf8"),
  );
  assert.doesNotMatch(code, /\bDeno\b|\bBun\b|["']node:|\bprocess\b|\bimport\b/);
});

test("runtimeAdapter() picks the transport of the runtime running the tests", () => {
  const expected = { deno: connectDeno, bun: connectBun, node: connectNode }[runtime];
  assert.equal(runtimeAdapter().connect, expected, `the ${runtime} transport`);
  // Node and Deno hand out chunks they never write again; Bun's reuse is undocumented.
  assert.equal(runtimeAdapter().freshChunks, runtime !== "bun");
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
    local.filter((s) => /\/src\/connection\/drivers\/(tcp|_transport|_\w+_transport)\.ts$/.test(s)),
    [],
  );
  assert.deepEqual(modules.filter((s) => s.startsWith("node:")), []);
});
