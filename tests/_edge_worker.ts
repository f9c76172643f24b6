// A Cloudflare Worker built on the edge entry point, bundled by tests/edge_workerd_test.ts and
// run in workerd (no nodejs_compat: a `node:` import would fail to load). Its bindings name the
// REST server: UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN.
//   GET /read?id=…                   the task's meta, read once
//   GET /wait?id=…&ms=…[&stream=1]   waits (polling, or streaming SUBSCRIBE) until ready or the
//                                    deadline; answers { meta, seen, requests }
//   GET /events?id=…                 the task's states as server-sent events
import {
  createBackend,
  httpStreaming,
  metaToJson,
  sseResponse,
  type TaskMeta,
  waitForResult,
} from "../edge.ts";

interface Env {
  UPSTASH_REDIS_REST_URL: string;
  UPSTASH_REDIS_REST_TOKEN: string;
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    const id = url.searchParams.get("id") ?? "";
    const streaming = url.searchParams.get("stream") === "1";
    const backend = createBackend(undefined, {
      env: env as unknown as Record<string, unknown>,
      streaming: streaming && httpStreaming({ pollInterval: 100 }),
      consumer: streaming ? undefined : { type: "polling", minInterval: 50, maxInterval: 200 },
    });
    if (url.pathname === "/events") {
      return sseResponse(backend, id, {
        signal: request.signal,
        keepAlive: 1000,
        onClose: () => void backend.close(),
      });
    }
    try {
      if (url.pathname === "/read") {
        const meta = await backend.getTaskMeta(id);
        return Response.json({ ...meta, ...metaToJson(meta, id) });
      }
      if (url.pathname === "/wait") {
        const seen: string[] = [];
        const meta: TaskMeta = await waitForResult(backend, id, {
          deadline: Date.now() + Number(url.searchParams.get("ms") ?? "5000"),
          onMessage: (m) => seen.push(m.status),
        });
        const driver = backend.driver as { requests?: number };
        return Response.json({ meta: metaToJson(meta, id), seen, requests: driver.requests });
      }
      return new Response("not found", { status: 404 });
    } catch (error) {
      return Response.json({ error: String(error) }, { status: 500 });
    } finally {
      await backend.close();
    }
  },
};
