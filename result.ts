/**
 * The `result` command, like Celery's `celery result`: show, wait for, follow or forget a task's
 * result in Celery's Redis result backend.
 *
 *     deno run -A result.ts <task-id> [--url redis://host:6379/1] [--wait] [--timeout S]
 *         [--follow] [--traceback] [--json]
 *     deno run -A result.ts forget <task-id>
 *     bun result.ts …
 *
 * The backend URL comes from `--url` or `CELERY_RESULT_BACKEND` (one is required); a REST URL's
 * token from `--token` or `UPSTASH_REDIS_REST_TOKEN`. `--timeout` is in seconds, as in Celery.
 * Stored text is printed with terminal control characters escaped. Exit codes: 0 SUCCESS,
 * 1 FAILURE/REVOKED, 2 usage error, 3 timeout, 4 backend error, 5 not ready.
 *
 * @module
 */
import process from "node:process";
import { runResultCommand } from "./src/cli/result_command.ts";

const interrupted = new AbortController();
const onSigint = () => interrupted.abort(new Error("interrupted"));
process.on("SIGINT", onSigint);
try {
  process.exitCode = await runResultCommand(process.argv.slice(2), {
    out: (line) => console.log(line),
    err: (line) => console.error(line),
    env: process.env,
    signal: interrupted.signal,
  });
} finally {
  process.off("SIGINT", onSigint);
}
