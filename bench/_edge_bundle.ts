// Bundles a Worker entry the way a Cloudflare deployment would (esbuild from the project's
// node_modules, browser/workerd conditions, ESM, minified) and reports its size, raw and gzipped.
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { gzipSync } from "node:zlib";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const esbuild = process.env.ESBUILD ?? join(root, "node_modules/.bin/esbuild");
// Under node_modules/ so that bare imports resolve from the project's node_modules.
const work = join(root, "node_modules/.cache/edge-size");

/** An absolute import specifier for a file of this repository. */
export function repoFile(path: string): string {
  return JSON.stringify(join(root, path));
}

/** esbuild's version, or `undefined` when it is not installed. */
export function esbuildVersion(): string | undefined {
  const result = spawnSync(esbuild, ["--version"], { encoding: "utf8" });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

/** Bundled size in bytes of an entry module given as source text. */
export function bundleSize(
  name: string,
  source: string,
): { raw: number; gzip: number } {
  mkdirSync(work, { recursive: true });
  const entry = join(work, `${name}.mjs`);
  const out = join(work, `${name}.out.js`);
  try {
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
  } finally {
    rmSync(entry, { force: true });
    rmSync(out, { force: true });
  }
}

/** A Worker that reads a result and waits for one, on the edge entry point. */
export const READ_AND_WAIT_WORKER = `import { createBackend, waitForResult } from ${
  repoFile("edge.ts")
};
export default {
  async fetch(request, env) {
    const id = new URL(request.url).searchParams.get("id") ?? "";
    const backend = createBackend(undefined, { env });
    const meta = request.method === "POST"
      ? await waitForResult(backend, id, { deadline: Date.now() + 20000 })
      : await backend.getTaskMeta(id);
    return Response.json({ status: meta.status });
  },
};`;

/**
 * The floor of the read-and-wait Worker: the least a reader as hardened as ours carries. Our HTTP
 * driver (timeouts, typed errors, retries, secrets kept out of messages, binary-safe replies),
 * the byte-exact decoding within its limits and the meta checks `getTaskMeta()` makes, around a
 * bare loop that polls until the task is ready or the deadline passes: no backend, no waiting API
 * (no abort signal, no progress callback, no waits sharing one poll). What the read-and-wait
 * Worker carries beyond it is the API.
 */
export const HARDENED_FLOOR_WORKER = `import { httpDriver } from ${
  repoFile("src/connection/drivers/http.ts")
};
import { decodeKombuJson } from ${repoFile("src/wire/serialization/kombu_json.ts")};
import { asDecodeError, refuseForeign } from ${repoFile("src/wire/serializers.ts")};
import { taskMetaOf } from ${repoFile("src/wire/read_meta.ts")};
import { checkId } from ${repoFile("src/wire/keys.ts")};
import { READY_STATES } from ${repoFile("src/wire/states.ts")};
export default {
  async fetch(request, env) {
    const id = checkId(new URL(request.url).searchParams.get("id") ?? "");
    const driver = httpDriver({ env });
    const deadline = Date.now() + 20000;
    for (;;) {
      const payload = await driver.send(["GET", "celery-task-meta-" + id]);
      let meta = { status: "PENDING", result: null };
      if (payload instanceof Uint8Array && payload.length > 0) {
        let decoded;
        try {
          refuseForeign(payload, "json");
          decoded = decodeKombuJson(payload);
        } catch (error) {
          throw asDecodeError(error, "the result of task " + id);
        }
        meta = taskMetaOf(id, decoded);
      }
      if (request.method !== "POST" || READY_STATES.has(meta.status) || Date.now() >= deadline) {
        return Response.json({ status: meta.status });
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  },
};`;

/** The same Worker's reads on @upstash/redis alone (the edge entry's only dependency). */
export const UPSTASH_ONLY_WORKER = `import { Redis } from "@upstash/redis";
export default {
  async fetch(request, env) {
    const id = new URL(request.url).searchParams.get("id") ?? "";
    const redis = new Redis({ url: env.UPSTASH_REDIS_REST_URL, token: env.UPSTASH_REDIS_REST_TOKEN });
    return Response.json(await redis.get("celery-task-meta-" + id));
  },
};`;
