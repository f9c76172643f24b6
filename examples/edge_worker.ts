// A Cloudflare Worker (the same `fetch` works on Vercel Edge and Deno Deploy) that shows a
// Celery task's state to public clients. UPSTASH_REDIS_REST_URL and _TOKEN are its bindings.
//   GET /result?id=<task id>   the state as JSON: the result once ready, or the state after 10 s
//   GET /events?id=<task id>   every state as server-sent events, for a page's EventSource
import { createBackend, metaToJson, sseResponse, waitForResult } from "../edge.ts";

// Celery's ids are UUIDs; custom ids are allowed, but only as plain tokens.
const TASK_ID = /^[\w.:-]{1,128}$/;

export default {
  async fetch(request: Request, env: Record<string, string>): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname !== "/result" && url.pathname !== "/events") {
      return Response.json({ error: "not found" }, { status: 404 });
    }
    const id = url.searchParams.get("id");
    if (id === null || !TASK_ID.test(id)) {
      return Response.json({ error: "expected ?id=<task id>" }, { status: 400 });
    }
    const backend = createBackend(undefined, { env });
    if (url.pathname === "/events") {
      return sseResponse(backend, id, {
        signal: request.signal, // stop reading Redis when the browser leaves
        deadline: Date.now() + 25_000, // end before the platform's limit; EventSource reconnects
        keepAlive: 2_000, // workerd sees a closed connection only when it writes to it
        onClose: () => void backend.close(), // however the stream ends
      });
    }
    try {
      const meta = await waitForResult(backend, id, {
        deadline: Date.now() + 10_000,
        signal: request.signal,
      });
      // Big integers and Python values become JSON; the traceback is left out (it shows server
      // paths): pass { traceback: true } only to trusted clients.
      return Response.json(metaToJson(meta, id));
    } catch (error) {
      console.error(`task ${id}:`, error); // for your logs, not for the client
      return Response.json({ error: "could not read the task's state" }, { status: 502 });
    } finally {
      await backend.close();
    }
  },
};
