// A Cloudflare Worker (the same `fetch` works on Vercel Edge and Deno Deploy) that starts Celery
// tasks for public clients and streams their progress. UPSTASH_REDIS_REST_URL and _TOKEN are its
// bindings (the database is Celery's broker_url and result_backend); CELERY_TASKS lists, comma
// separated, the task names clients may start.
//   POST /tasks  {"name": "proj.tasks.add", "args": [2, 3], "kwargs": {}}  (application/json)
//     → the task's states as server-sent events (PENDING, STARTED, PROGRESS…) until its result
import { createBroker, httpStreaming, sseResponse } from "../edge.ts";

const MAX_BODY_BYTES = 16_384;

interface TaskInput {
  name: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
}

// Returns the task to start, or what is wrong with the request (for a 400 answer).
function parseTaskInput(text: string, allowed: ReadonlySet<string>): TaskInput | string {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return "the body must be JSON";
  }
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    return "expected {name, args, kwargs}";
  }
  const { name, args = [], kwargs = {} } = body as Record<string, unknown>;
  if (typeof name !== "string" || !allowed.has(name)) {
    return "name must be a task this Worker starts";
  }
  if (!Array.isArray(args)) return "args must be an array";
  if (kwargs === null || typeof kwargs !== "object" || Array.isArray(kwargs)) {
    return "kwargs must be an object";
  }
  return { name, args, kwargs: kwargs as Record<string, unknown> };
}

export default {
  async fetch(request: Request, env: Record<string, string>): Promise<Response> {
    if (new URL(request.url).pathname !== "/tasks") {
      return Response.json({ error: "not found" }, { status: 404 });
    }
    if (request.method !== "POST") {
      return Response.json({ error: "use POST" }, { status: 405, headers: { allow: "POST" } });
    }
    // JSON only: a cross-site form cannot send it without the browser asking first (CORS).
    if (!(request.headers.get("content-type") ?? "").startsWith("application/json")) {
      return Response.json({ error: "expected application/json" }, { status: 415 });
    }
    const text = await request.text();
    if (text.length > MAX_BODY_BYTES) {
      return Response.json({ error: "the body is too large" }, { status: 413 });
    }
    const allowed = new Set((env.CELERY_TASKS ?? "").split(",").map((name) => name.trim()));
    const input = parseTaskInput(text, allowed);
    if (typeof input === "string") return Response.json({ error: input }, { status: 400 });

    // Results are read on the same database, over a subscription made before the task is sent.
    const broker = createBroker(undefined, { env, streaming: httpStreaming() });
    let taskId: string;
    try {
      const result = await broker.sendTask(input.name, { args: input.args, kwargs: input.kwargs });
      taskId = result.id;
    } catch (error) {
      await broker.close();
      if (error instanceof TypeError || error instanceof RangeError) {
        return Response.json({ error: error.message }, { status: 400 }); // e.g. an odd kwarg
      }
      console.error(`sending ${input.name}:`, error); // for your logs, not for the client
      return Response.json({ error: "could not start the task" }, { status: 502 });
    }
    // Results as JSON without the Python traceback (it shows server paths).
    return sseResponse(broker.backend, taskId, {
      signal: request.signal, // stop reading Redis when the client leaves
      deadline: Date.now() + 25_000, // then follow it with GET /events?id= (examples/edge_worker.ts)
      keepAlive: 2_000, // workerd sees a closed connection only when it writes to it
      headers: { "x-task-id": taskId },
      onClose: () => void broker.close(), // however the stream ends
    });
  },
};
