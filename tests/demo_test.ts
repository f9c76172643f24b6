// The demo command (`deno task demo`, main.ts) run as a child process, the way a stranger runs it
// first: it must exit 0 and print each state, the stored bytes and the `result` command's output.
import { test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { startDemo } from "./_demo_process.ts";

test("the demo (memory driver) exits 0 and prints every state and the result command", async () => {
  const demo = startDemo([]);
  const code = await demo.exited;
  const out = demo.stdout();
  assert.equal(code, 0, `exit ${code}: ${out}${demo.stderr()}`);
  assert.match(out, /^Backend memory:\/\/ \(memory driver\), Celery 5\.6 format$/m);
  assert.match(out, /^add {10}SUCCESS {3}5 {2}\(done \d{4}-\d\d-\d\dT[\d:.]+\+00:00\)$/m);
  assert.match(out, /^rich .*"price":"1\.50","big":"1180591620717411303424n"/m);
  assert.match(out, /^progress +PROGRESS +\{"done":3,"total":10\}$/m);
  assert.match(out, /^failed +FAILURE +builtins\.TypeError\["unsupported operand"\]/m);
  assert.match(out, /^retried +RETRY +builtins\.Exception\["connection reset"\]$/m);
  assert.match(out, /^revoked +REVOKED +celery\.exceptions\.TaskRevokedError\["terminated"\]/m);
  assert.match(out, /^missing +PENDING +null$/m);
  assert.match(
    out,
    /^Stored bytes of celery-task-meta-demo-\w+-add:\n\{"status": "SUCCESS", "result": 5,/m,
  );
  const follow = out.slice(out.indexOf("--follow --timeout 5\n"));
  assert.match(
    follow,
    /STARTED .*\nPROGRESS \{"done":1,"total":3\}\nPROGRESS \{"done":2,"total":3\}\nPROGRESS \{"done":3,"total":3\}\nSUCCESS "finished"\n\(exit code 0\)/,
  );
  assert.match(out, /--traceback \| head -2\nTypeError: unsupported operand\n/);
  assert.equal(demo.stderr().trim(), "");
});

test("the demo's --help exits 0; a bad argument or port exits 2 with a clear message", async () => {
  const help = startDemo(["--help"]);
  assert.equal(await help.exited, 0);
  assert.match(help.stdout(), /usage: main\.ts .*\[--web \[--port N\]\]/);
  for (
    const [args, message] of [
      [["--nope"], /Unknown argument --nope/],
      [["--web", "--port", "70000"], /--port must be an integer from 0 to 65535, got 70000/],
      [["--port", "8080"], /--port needs --web/],
    ] as const
  ) {
    const demo = startDemo([...args]);
    assert.equal(await demo.exited, 2, args.join(" "));
    assert.match(demo.stderr(), message);
  }
});

test("the demo's --web mode prints its URL, serves the page and stops on SIGTERM", async () => {
  const demo = startDemo(["--web", "--port", "0"]);
  try {
    const [, url] = await demo.waitFor(/^Web demo: (http:\/\/127\.0\.0\.1:\d+\/)/m);
    const page = await fetch(url!);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /new EventSource\("\/events\?id="/);
    const { id } = await (await fetch(new URL("tasks", url), { method: "POST" })).json();
    const bad = await fetch(new URL("events?id=..%2Fetc", url));
    assert.equal(bad.status, 400);
    await bad.body?.cancel();
    // Run the simulated worker and read the whole stream: it ends after SUCCESS.
    const events = await fetch(new URL(`events?id=${id}`, url));
    const run = await fetch(new URL(`tasks/${id}/run`, url), { method: "POST" });
    assert.equal(run.status, 202);
    const text = await events.text();
    const states = [...text.matchAll(/^event: state\ndata: (.*)$/gm)].map((m) => JSON.parse(m[1]!));
    assert.equal(states.at(-1).status, "SUCCESS");
    assert.deepEqual(states.at(-1).result, { answer: 42, steps: 5 });
  } finally {
    // By pid: Deno's ChildProcess.kill() reports the signal as the exit cause even when the
    // process handles it and exits by itself.
    process.kill(demo.child.pid!, "SIGTERM");
  }
  const exit = await demo.exited;
  assert.equal(exit, 0, `${demo.child.signalCode} ${demo.stdout()} ${demo.stderr()}`);
  assert.match(demo.stdout(), /^Stopped\.$/m);
});
