// A child process of tests/chord_stress_test.ts: completes a slice of a chord's header parts
// against a shared redis-server, as one of several TypeScript workers would.
//
//   <runtime> tests/_chord_worker_script.ts <port> <groupId> <bodyId> <slice> <slices> <parts> [list]
//
// Completes every part i with i % slices === slice (16 at a time), storing i * 2. The body
// callback INCRs `stress:fired` in db 1 and stores the body's result, like a worker that ran it.
// Prints one JSON line: {"slice", "parts", "fired"}.
import process from "node:process";
import { canvas, RedisBackend, type Signature, tcpDriver } from "../mod.ts";

const [port, groupId, bodyId, sliceText, slicesText, partsText, mode] = process.argv.slice(2);
if (!port || !groupId || !bodyId || !sliceText || !slicesText || !partsText) {
  console.error(
    "usage: _chord_worker_script.ts <port> <groupId> <bodyId> <slice> <slices> <parts>",
  );
  process.exit(2);
}
const slice = Number(sliceText);
const slices = Number(slicesText);
const parts = Number(partsText);

const body: Signature = {
  task: "proj.tsum",
  args: [],
  kwargs: {},
  options: { task_id: bodyId, group_id: groupId },
  subtask_type: null,
  immutable: false,
};

await using backend = new RedisBackend(tcpDriver({ port: Number(port), db: 0 }), {
  resultChordOrdered: mode !== "list",
});
await using counter = tcpDriver({ port: Number(port), db: 1 });
let fired = 0;
const chord = {
  onBody: async (signature: Signature, results: unknown[]) => {
    fired++;
    await counter.send(["INCR", "stress:fired"]);
    await backend.markAsDone(signature.options!.task_id!, results, { group: groupId });
  },
};

const mine: number[] = [];
for (let i = slice; i < parts; i += slices) mine.push(i);
let next = 0;
await Promise.all(Array.from({ length: 16 }, async () => {
  while (next < mine.length) {
    const i = mine[next++]!;
    const id = `${groupId}-part-${i}`;
    await backend.markAsDone(id, i * 2, { id, group: groupId, groupIndex: i, chord: body }, {
      canvas: canvas(chord),
    });
  }
}));
console.log(JSON.stringify({ slice, parts: mine.length, fired }));
