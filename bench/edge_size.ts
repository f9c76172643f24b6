// The edge entry point's size once bundled and minified for a Worker, next to @upstash/redis alone
// (the only dependency). esbuild from npm (node_modules/.bin/esbuild), browser conditions, ESM,
// minified; sizes raw and gzipped (what Workers' 1 MiB/3 MiB limits and cold starts care about).
//
//   deno run -A bench/edge_size.ts       bun bench/edge_size.ts
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { gzipSync } from "node:zlib";
import { fileURLToPath } from "node:url";
import { printTable, runtimeName } from "./_util.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const esbuild = process.env.ESBUILD ?? join(root, "node_modules/.bin/esbuild");
// Under node_modules/ so that bare imports resolve from the project's node_modules.
const work = join(root, "node_modules/.cache/edge-size");

const entries: [string, string][] = [
  [
    "edge.ts, everything exported",
    `export * from ${JSON.stringify(join(root, "edge.ts"))};`,
  ],
  [
    "edge.ts, a Worker reading and waiting (tests/_edge_worker.ts)",
    `export { default } from ${JSON.stringify(join(root, "tests/_edge_worker.ts"))};`,
  ],
  [
    "edge.ts, createBackend + getTaskMeta only",
    `import { createBackend } from ${JSON.stringify(join(root, "edge.ts"))};
export default { fetch: async (_r, env) => Response.json(await createBackend(undefined, { env }).getTaskMeta("x")) };`,
  ],
  [
    "@upstash/redis alone (new Redis + get)",
    `import { Redis } from "@upstash/redis";
export default { fetch: async (_r, env) => Response.json(await new Redis({ url: env.U, token: env.T }).get("x")) };`,
  ],
];

function bundle(name: string, source: string): { raw: number; gzip: number } {
  const entry = join(work, `${name}.mjs`);
  const out = join(work, `${name}.out.js`);
  writeFileSync(entry, source);
  const result = spawnSync(esbuild, [
    entry,
    "--bundle",
    "--minify",
    "--format=esm",
    "--platform=browser",
    "--conditions=workerd,worker,browser",
    "--target=es2022",
    `--outfile=${out}`,
    "--log-level=error",
  ], { encoding: "utf8", cwd: root });
  if (result.status !== 0) {
    throw new Error(`esbuild failed for ${name}: ${result.stderr}`);
  }
  const bytes = readFileSync(out);
  return { raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
}

const version = spawnSync(esbuild, ["--version"], { encoding: "utf8" }).stdout
  .trim();
console.log(
  `# edge bundle size — ${runtimeName()}; esbuild ${version}, --minify, browser conditions`,
);
mkdirSync(work, { recursive: true });
try {
  const rows = entries.map(([label, source], i) => {
    const { raw, gzip } = bundle(`entry${i}`, source);
    return [label, (raw / 1024).toFixed(1), (gzip / 1024).toFixed(1)];
  });
  console.log();
  printTable(["bundle", "minified (KiB)", "gzip -9 (KiB)"], rows);
} finally {
  rmSync(work, { recursive: true, force: true });
}
