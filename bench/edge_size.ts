// The edge entry point's size once bundled and minified for a Worker, next to @upstash/redis alone
// (the only dependency). esbuild from npm (node_modules/.bin/esbuild), browser conditions, ESM,
// minified; sizes raw and gzipped (what Workers' 1 MiB/3 MiB limits and cold starts care about).
//
//   deno run -A bench/edge_size.ts       bun bench/edge_size.ts
import {
  bundleSize,
  esbuildVersion,
  READ_AND_WAIT_WORKER,
  repoFile,
  UPSTASH_ONLY_WORKER,
} from "./_edge_bundle.ts";
import { printTable, runtimeName } from "./_util.ts";

const entries: [string, string][] = [
  ["edge.ts, everything exported", `export * from ${repoFile("edge.ts")};`],
  [
    "edge.ts, the test Worker (tests/_edge_worker.ts: reads, waits, SSE)",
    `export { default } from ${repoFile("tests/_edge_worker.ts")};`,
  ],
  [
    "edge.ts, a Worker that reads and waits (bench/_edge_bundle.ts)",
    READ_AND_WAIT_WORKER,
  ],
  [
    "edge.ts, createBackend + getTaskMeta only",
    `import { createBackend } from ${repoFile("edge.ts")};
export default { fetch: async (_r, env) => Response.json(await createBackend(undefined, { env }).getTaskMeta("x")) };`,
  ],
  ["@upstash/redis alone (new Redis + get)", UPSTASH_ONLY_WORKER],
];

console.log(
  `# edge bundle size — ${runtimeName()}; esbuild ${esbuildVersion()}, --minify, browser conditions`,
);
const rows = entries.map(([label, source], i) => {
  const { raw, gzip } = bundleSize(`entry${i}`, source);
  return [label, (raw / 1024).toFixed(1), (gzip / 1024).toFixed(1)];
});
console.log();
printTable(["bundle", "minified (KiB)", "gzip -9 (KiB)"], rows);
