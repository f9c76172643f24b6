// What a Node user writes: run by node_runtime_test.ts on Node, through tsx or bundled by esbuild.
// Reads one result, then waits for another with a deadline, and never calls close(): the process
// must end by itself once the wait is over.
//   <url> <id to read> <id to wait for> <timeout ms>
import process from "node:process";
import { AsyncResult, createBackend } from "../mod.ts";

const [url, readId, waitId, timeout] = process.argv.slice(2);
const backend = createBackend(url!);
const meta = await backend.getTaskMeta(readId!);
console.log("read", meta.status, JSON.stringify(meta.result));
console.log("waiting");
const value = await new AsyncResult(waitId!, backend).get({ timeout: Number(timeout) });
console.log("waited", JSON.stringify(value));
