/**
 * The page of the web demo (`main.ts --web`): it asks the server for a task, follows its states
 * with an `EventSource` on `/events` (served by `sseResponse()`), and starts the simulated worker
 * once the first state has arrived, so that no PROGRESS is missed.
 *
 * @module
 */
export const WEB_DEMO_PAGE = `<!doctype html>
<html lang="en">
<meta charset="utf-8">
<title>Celery task progress — @taskmeta/celery-redis demo</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 42rem; margin: 2rem auto; padding: 0 1rem; }
  progress { width: 100%; height: 1.2rem; }
  li { font-family: ui-monospace, monospace; }
</style>
<h1>A Celery task, live</h1>
<p>A simulated worker stores STARTED, PROGRESS and SUCCESS through the result backend, as a
Celery worker does; this page follows them with <code>EventSource</code> and
<code>sseResponse()</code>.</p>
<p><button id="run" disabled>Run another task</button> <span id="task"></span></p>
<progress id="bar" max="1" value="0"></progress>
<ol id="log"></ol>
<script>
  const button = document.getElementById("run");
  const bar = document.getElementById("bar");
  const log = document.getElementById("log");
  const show = (text) => log.append(Object.assign(document.createElement("li"), { textContent: text }));

  async function runTask() {
    button.disabled = true;
    log.replaceChildren();
    bar.value = 0;
    delete document.body.dataset.done;
    const { id } = await (await fetch("/tasks", { method: "POST" })).json();
    document.getElementById("task").textContent = id;
    const events = new EventSource("/events?id=" + encodeURIComponent(id));
    let started = false;
    const finish = (status) => {
      events.close();
      document.body.dataset.done = status;
      button.disabled = false;
    };
    events.addEventListener("state", (event) => {
      const meta = JSON.parse(event.data);
      if (meta.status === "PROGRESS") {
        show("PROGRESS " + meta.result.done + "/" + meta.result.total);
        bar.max = meta.result.total;
        bar.value = meta.result.done;
      } else {
        show(meta.status + (meta.status === "SUCCESS" ? " " + JSON.stringify(meta.result) : ""));
      }
      if (!started) {
        started = true; // the stream is following the task: let the worker begin
        fetch("/tasks/" + encodeURIComponent(id) + "/run", { method: "POST" });
      }
      if (["SUCCESS", "FAILURE", "REVOKED"].includes(meta.status)) finish(meta.status);
    });
    // sseResponse()'s own "error" event carries data; a lost connection does not (EventSource
    // then reconnects by itself).
    events.addEventListener("error", (event) => {
      if (event.data) {
        show("error " + JSON.parse(event.data).message);
        finish("error");
      }
    });
  }
  button.addEventListener("click", runTask);
  runTask();
</script>
</html>
`;
