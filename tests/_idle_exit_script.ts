// Run as a child process by idle_exit_test.ts: uses a backend and never calls close(), so the
// process ends only when nothing it started is pending.
//   read  <url> <id>: reads a result and stores another, then returns
//   wait  <url> <id> <timeout|none>: prints "waiting", then waits for the result and prints it
import process from "node:process";
import { AsyncResult, createBackend } from "../mod.ts";

const [mode, url, id, timeout] = process.argv.slice(2);
const backend = createBackend(url);
if (mode === "read") {
  const meta = await backend.getTaskMeta(id!);
  await backend.markAsDone(`${id}-copy`, meta.result);
  // A wait that finds its result at once leaves the subscriber connection open and idle.
  console.log(meta.status, JSON.stringify(await new AsyncResult(`${id}-copy`, backend).get()));
} else if (mode === "wait") {
  console.log("waiting");
  const limit = timeout === "none" ? undefined : Number(timeout);
  console.log("result", await new AsyncResult(id!, backend).get({ timeout: limit }));
} else {
  throw new TypeError(`unknown mode ${mode}`);
}
