// Runs tests/python/celery_names.py (what Celery's own members return) under one Celery version,
// against the result database of a test redis-server; shared by celery_names_test and
// get_many_test.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import process from "node:process";
import { celeryUrls, type CeleryVersion } from "./_celery.ts";
import { celeryPythons } from "./_env.ts";

const script = fileURLToPath(new URL("./python/celery_names.py", import.meta.url));

/** Runs one `celery_names.py` command and resolves with the JSON it prints. */
export function celeryNames<T>(
  version: CeleryVersion,
  redisUrl: string,
  ...args: string[]
): Promise<T> {
  const { brokerUrl, resultUrl } = celeryUrls(redisUrl);
  const env = {
    ...process.env,
    BROKER_URL: brokerUrl,
    RESULT_BACKEND: resultUrl,
    PYTHONDONTWRITEBYTECODE: "1",
    PYTHONWARNINGS: "ignore",
  };
  return new Promise((resolve, reject) => {
    const child = spawn(celeryPythons[version], [script, ...args], { env });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk) => (stderr += chunk));
    child.once("error", reject);
    child.once("close", (code) => {
      if (code !== 0) {
        reject(
          new Error(`celery_names.py ${args[0]} (Celery ${version}) exit ${code}:\n${stderr}`),
        );
        return;
      }
      try {
        resolve(JSON.parse(stdout) as T);
      } catch {
        reject(new Error(`celery_names.py ${args[0]}: not JSON:\n${stdout}\n${stderr}`));
      }
    });
  });
}
