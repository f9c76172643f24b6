import { AsyncResult, createBackend } from "../mod.ts";
const url = Deno.args[0]!;
await using backend = createBackend(url);
const t = Date.now();
for (const ms of [0, 1, 10, 0]) {
  try { console.log(await new AsyncResult("b", backend).get({ timeout: ms })); } catch (e) { console.log("get b", ms, (e as Error).name, Date.now() - t); }
}
console.log("done");
