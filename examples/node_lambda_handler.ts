// An AWS Lambda handler (Node runtime, behind a function URL or API Gateway) that reports a Celery
// task's state: GET ?id=<task id> reads it, GET ?id=<task id>&wait=1 waits until it is ready or
// until just before the invocation's time limit. CELERY_RESULT_BACKEND is the workers' setting.
import process from "node:process";
import { createBackend, metaToJson, waitForResult } from "../mod.ts";

// One backend per container, reused by every invocation; its idle sockets do not keep the
// function running after it returns.
const backend = createBackend(process.env.CELERY_RESULT_BACKEND!);
const TASK_ID = /^[\w.:-]{1,128}$/;

interface UrlEvent {
  queryStringParameters?: Record<string, string | undefined> | null;
}
interface LambdaContext {
  getRemainingTimeInMillis(): number;
}

export async function handler(event: UrlEvent, context: LambdaContext) {
  const id = event.queryStringParameters?.id;
  if (id === undefined || !TASK_ID.test(id)) return json(400, { error: "expected ?id=<task id>" });
  try {
    const meta = event.queryStringParameters?.wait === undefined
      ? await backend.getTaskMeta(id)
      : await waitForResult(backend, id, {
        // Answer with the state seen so far a second before Lambda ends the invocation.
        deadline: Date.now() + context.getRemainingTimeInMillis() - 1_000,
      });
    return json(200, metaToJson(meta, id)); // no traceback: it shows server paths
  } catch (error) {
    console.error(`task ${id}:`, error); // for your logs, not for the client
    return json(502, { error: "could not read the task's state" });
  }
}

function json(statusCode: number, body: unknown) {
  return {
    statusCode,
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  };
}
