// A Next.js route handler, app/api/tasks/[id]/route.ts, on the Node runtime (TCP sockets; the Edge
// runtime takes the /edge entry): GET /api/tasks/<id> reads a Celery task's state,
// GET /api/tasks/<id>?wait=1 waits until it is ready, for at most 25 s.
import process from "node:process";
import { createBackend, metaToJson, waitForResult } from "../mod.ts";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";
export const maxDuration = 30;

// One backend per server process, shared by every request.
const backend = createBackend(process.env.CELERY_RESULT_BACKEND!);
const TASK_ID = /^[\w.:-]{1,128}$/;

export async function GET(
  request: Request,
  { params }: { params: Promise<{ id: string }> },
): Promise<Response> {
  const { id } = await params;
  if (!TASK_ID.test(id)) return Response.json({ error: "not a task id" }, { status: 400 });
  try {
    const meta = new URL(request.url).searchParams.has("wait")
      ? await waitForResult(backend, id, {
        deadline: Date.now() + 25_000, // before maxDuration: answer with the state seen so far
        signal: request.signal, // the client left: stop waiting
      })
      : await backend.getTaskMeta(id);
    return Response.json(metaToJson(meta, id)); // no traceback: it shows server paths
  } catch (error) {
    console.error(`task ${id}:`, error); // for your logs, not for the client
    return Response.json({ error: "could not read the task's state" }, { status: 502 });
  }
}
