// The edge entry point's size once bundled and minified for a Worker, next to @upstash/redis alone
// (the only dependency). esbuild from npm (node_modules/.bin/esbuild), browser conditions, ESM,
// minified; sizes raw and gzipped (what Workers' 1 MiB/3 MiB limits and cold starts care about).
//
//   deno run -A bench/edge_size.ts       bun bench/edge_size.ts
import {
  bundleSize,
  esbuildVersion,
  HARDENED_FLOOR_WORKER,
  READ_AND_WAIT_WORKER,
  repoFile,
  UPSTASH_ONLY_WORKER,
} from "./_edge_bundle.ts";
import { printTable, runtimeName } from "./_util.ts";

/** The read-and-wait Worker with streaming turned on: what opting in costs. */
function streamingWorker(): string {
  const source = READ_AND_WAIT_WORKER
    .replace("createBackend, waitForResult", "createBackend, httpStreaming, waitForResult")
    .replace("{ env }", "{ env, streaming: httpStreaming() }");
  if (!source.includes("httpStreaming, waitForResult") || !source.includes("httpStreaming() }")) {
    throw new Error("READ_AND_WAIT_WORKER changed: update streamingWorker() in edge_size.ts");
  }
  return source;
}

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
    "edge.ts, the same Worker waiting over streaming SUBSCRIBE (httpStreaming())",
    streamingWorker(),
  ],
  [
    "edge.ts, createBackend + getTaskMeta only",
    `import { createBackend } from ${repoFile("edge.ts")};
export default { fetch: async (_r, env) => Response.json(await createBackend(undefined, { env }).getTaskMeta("x")) };`,
  ],
  [
    // The read-and-wait Worker's floor: the same reads and waits, as hardened, without the API.
    "our HTTP driver + byte-exact decoding + meta checks, polled in a bare loop (the floor)",
    HARDENED_FLOOR_WORKER,
  ],
  [
    // What any byte-exact reader carries whatever its driver and waiting code: the lower bound of
    // the read-and-wait Worker's size over @upstash/redis alone.
    "@upstash/redis get + byte-exact decoding only (kombu JSON, Python types, exceptions)",
    `import { Redis } from "@upstash/redis";
import { decodeKombuJson } from ${repoFile("src/wire/serialization/kombu_json.ts")};
import { TaskError } from ${repoFile("src/wire/task_error.ts")};
export default {
  async fetch(request, env) {
    const id = new URL(request.url).searchParams.get("id") ?? "";
    const redis = new Redis({ url: env.UPSTASH_REDIS_REST_URL, token: env.UPSTASH_REDIS_REST_TOKEN, automaticDeserialization: false });
    const meta = decodeKombuJson(await redis.get("celery-task-meta-" + id));
    const state = meta.status;
    if (state === "FAILURE") meta.result = TaskError.fromExceptionInfo(meta.result, { taskId: id, state, traceback: null });
    return Response.json({ status: state });
  },
};`,
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
