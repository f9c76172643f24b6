// The shape of src/: no import cycle (type imports included), no import from a lower layer into a
// higher one, and a Worker that only reads and waits bundles none of the canvases, msgpack, SSE,
// Sentinel or Celery's URL parser.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import process from "node:process";
import { projectRoot, requirement } from "./_env.ts";

const src = join(projectRoot, "src");

/** Bottom to top: a file may import its own layer and the ones before it, never a later one. */
const LAYERS = ["errors.ts", "wire", "connection", "backend", "results", "canvas", "broker", "cli"];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

/** Relative imports and re-exports of a file, comments (and the examples in them) left out. */
function importsOf(file: string): string[] {
  const code = readFileSync(file, "utf8").replace(/\/\*[\s\S]*?\*\//g, "").replace(
    /^\s*\/\/.*$/gm,
    "",
  );
  const specs = [
    ...code.matchAll(/(?:^|\n)\s*(?:import|export)\b[^;]*?\bfrom\s*"(\.[^"]+)"/g),
    ...code.matchAll(/\bimport\(\s*"(\.[^"]+)"\s*\)/g),
    ...code.matchAll(/(?:^|\n)\s*import\s*"(\.[^"]+)"/g),
  ].map((m) => m[1]!);
  return specs.map((spec) => resolve(dirname(file), spec));
}

function layerOf(file: string): number {
  const top = relative(src, file).split("/")[0]!;
  const index = LAYERS.indexOf(top);
  assert.notEqual(index, -1, `${relative(projectRoot, file)} is in no known layer`);
  return index;
}

const files = sourceFiles(src);
const graph = new Map(files.map((file) => [file, importsOf(file)]));

test("src/ files sit in the known layer folders", () => {
  for (const file of files) layerOf(file);
  assert.ok(files.length > 40);
});

test("no file in src/ is part of an import cycle, type imports included", () => {
  const state = new Map<string, "open" | "done">();
  const cycles: string[] = [];
  const path: string[] = [];
  const visit = (file: string): void => {
    state.set(file, "open");
    path.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === "open") {
        cycles.push(
          path.slice(path.indexOf(next)).concat(next).map((f) => relative(src, f)).join(" → "),
        );
      } else if (!state.has(next)) visit(next);
    }
    path.pop();
    state.set(file, "done");
  };
  for (const file of files) if (!state.has(file)) visit(file);
  assert.deepEqual(cycles, []);
});

test("layers only look down: no src/ file imports a higher layer", () => {
  const upward: string[] = [];
  for (const [file, imports] of graph) {
    for (const target of imports) {
      if (target.startsWith(src) && layerOf(target) > layerOf(file)) {
        upward.push(`${relative(src, file)} → ${relative(src, target)}`);
      }
    }
  }
  assert.deepEqual(upward, []);
});

const esbuild = process.env.ESBUILD ?? join(projectRoot, "node_modules/.bin/esbuild");
const noEsbuild = requirement(existsSync(esbuild), `esbuild (npm install), at ${esbuild}`);

test(
  "a Worker reading and waiting through the edge entry bundles no canvas, msgpack, SSE (neither sseResponse nor the streaming client), Sentinel, URL parser or in-memory driver",
  { skip: noEsbuild },
  () => {
    const dir = mkdtempSync(join(tmpdir(), "layers-"));
    try {
      const entry = join(dir, "worker.ts");
      writeFileSync(
        entry,
        `import { createBackend, waitForResult } from ${
          JSON.stringify(join(projectRoot, "edge.ts"))
        };
export default {
  async fetch(_request: Request, env: Record<string, string>): Promise<Response> {
    await using backend = createBackend(undefined, { env });
    const now = await backend.getTaskMeta("t");
    const meta = await waitForResult(backend, "t", { deadline: Date.now() + 1_000 });
    return new Response(String(now.status) + meta.status);
  },
};
`,
      );
      const meta = join(dir, "meta.json");
      const built = spawnSync(esbuild, [
        entry,
        "--bundle",
        "--minify",
        "--format=esm",
        "--platform=browser",
        "--conditions=workerd,worker,browser",
        "--target=es2022",
        `--outfile=${join(dir, "out.js")}`,
        `--metafile=${meta}`,
        "--log-level=error",
      ], { encoding: "utf8", cwd: projectRoot });
      assert.equal(built.status, 0, built.stderr);
      // The inputs that put bytes into the bundle (esbuild lists every file it read, shaken or not).
      const outputs = JSON.parse(readFileSync(meta, "utf8")).outputs as Record<
        string,
        { inputs: Record<string, { bytesInOutput: number }> }
      >;
      const inputs = Object.values(outputs).flatMap((output) =>
        Object.entries(output.inputs).filter(([, input]) => input.bytesInOutput > 0).map((
          [path],
        ) => resolve(projectRoot, path))
      );
      const bundled = (path: string) => inputs.includes(join(src, path));
      // The bundle really holds the reading path, so the check below is not vacuous.
      for (const present of ["backend/redis_backend.ts", "results/wait_for_result.ts"]) {
        assert.ok(bundled(present), `${present} should be in the bundle`);
      }
      const forbidden = [
        ...inputs.filter((path) => path.startsWith(join(src, "canvas/"))),
        ...inputs.filter((path) => path.startsWith(join(src, "broker/"))),
        ...[
          "wire/serialization/msgpack.ts",
          "results/sse_response.ts",
          "connection/drivers/_http_subscriber.ts",
          "connection/drivers/http_streaming.ts",
          "connection/drivers/sentinel.ts",
          "backend/sentinel_backend.ts",
          "connection/url.ts",
          "connection/drivers/tcp.ts",
          "connection/drivers/memory.ts",
        ].filter(bundled).map((path) => join(src, path)),
      ];
      assert.deepEqual(forbidden.map((path) => relative(projectRoot, path)), []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
