// Run in a child process with a small heap (Deno: --max-old-space-size=256): reads every hostile
// payload through backend.getTaskMeta, a deep saved group through GroupResult.restore, and prints
// one JSON line per case plus the process's peak memory. A decoder that allocates by a declared
// length kills the process instead.
import process from "node:process";
import { createBackend, GroupResult } from "../mod.ts";
import { hostilePayloads } from "./_hostile_payloads.ts";

// maxRSS is in kilobytes (Node's convention, which Deno and Bun follow).
const maxRssMB = () => Math.round(process.resourceUsage().maxRSS / 1024);

function outcome(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : `thrown ${String(error)}`;
}

for (const payload of hostilePayloads()) {
  await using backend = createBackend("memory://", {
    resultSerializer: payload.serializer,
    ...(payload.limits === undefined ? {} : { decodeLimits: payload.limits }),
  });
  await backend.set(backend.keys.task("t"), payload.bytes());
  let result: string;
  try {
    await backend.getTaskMeta("t");
    result = "decoded";
  } catch (error) {
    result = outcome(error);
  }
  console.log(JSON.stringify({ name: payload.name, result, maxRssMB: maxRssMB() }));
}

{
  // A saved group whose parent chain nests 100,000 deep: within a raised maxDepth the decoder
  // accepts 4,096 levels, the tuple walk must stop on its own.
  await using backend = createBackend("memory://", { decodeLimits: { maxDepth: 4096 } });
  let tuple = "null";
  for (let i = 0; i < 2000; i++) tuple = `[["p${i}", ${tuple}], null]`;
  await backend.set(backend.keys.group("g"), new TextEncoder().encode(`{"result": ${tuple}}`));
  let result: string;
  try {
    await GroupResult.restore(backend, "g");
    result = "decoded";
  } catch (error) {
    result = outcome(error);
  }
  console.log(JSON.stringify({ name: "group: a parent chain 2,000 tuples deep", result }));
}

const usage = process.memoryUsage();
console.log(JSON.stringify({
  done: true,
  heapUsedMB: Math.round(usage.heapUsed / 2 ** 20),
  maxRssMB: maxRssMB(),
}));
