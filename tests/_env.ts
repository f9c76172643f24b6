// Where the tests find their external programs, and how they react when one is missing:
// locally a missing program skips the tests that need it; under CI=true it is a failure.
import { appendFileSync, existsSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import process from "node:process";

/** The project root (the folder holding deno.json). */
export const projectRoot: string = fileURLToPath(new URL("..", import.meta.url));

/** True under CI, where a missing Redis or Celery must fail rather than skip. */
export const inCI: boolean = process.env.CI === "true";

/** `redis-server` to start in tests. */
export const redisServerBin: string = process.env.REDIS_SERVER ?? "redis-server";

/** Python interpreters with a real Celery installed, by Celery minor version. */
export const celeryPythons: Readonly<Record<"5.2" | "5.6", string>> = {
  // Debian's python3-celery (5.2.6, kombu 5.2.4) lives under the system interpreter only.
  "5.2": process.env.CELERY52_PYTHON ?? "/usr/bin/python3",
  // Celery 5.6.3 / kombu 5.6.2 in a venv that .ci/run creates.
  "5.6": process.env.CELERY56_PYTHON ?? `${projectRoot}.venv56/bin/python`,
};

/**
 * Returns `false` (run the test) when the requirement holds, or a skip reason otherwise.
 * Under CI a missing requirement throws, so the suite fails loudly instead of skipping.
 */
export function requirement(ok: boolean, what: string): false | string {
  if (ok) return false;
  if (inCI) throw new Error(`Required for the tests under CI but missing: ${what}`);
  const reason = `missing: ${what}`;
  recordSkip(reason);
  return reason;
}

/**
 * Appends the calling test file and the reason to $TEST_SKIP_LOG, where scripts/test.sh finds the
 * reasons it lists next to the skipped tests (the runners' JUnit reports carry no reason).
 */
export function recordSkip(reason: string): void {
  const log = process.env.TEST_SKIP_LOG;
  if (!log) return;
  const caller = /[^\s(]*\/(tests\/[\w.-]+_test\.ts)/.exec(new Error().stack ?? "")?.[1] ?? "?";
  appendFileSync(log, JSON.stringify({ file: caller, reason }) + "\n");
}

/** Whether a file exists (for interpreter checks). */
export function exists(path: string): boolean {
  return existsSync(path);
}

/**
 * The deno binary for tests that spawn `deno check`, `deno info` or `deno publish`: the running
 * one under Deno, the `deno` on PATH under Bun (`undefined` when there is none).
 */
export const denoBin: string | undefined = "Deno" in globalThis
  ? process.execPath
  : spawnSync("deno", ["--version"], { stdio: "ignore", timeout: 60_000 }).status === 0
  ? "deno"
  : undefined;

/** The runtime running the tests. */
export const runtime: "deno" | "bun" | "node" = "Deno" in globalThis
  ? "deno"
  : "Bun" in globalThis
  ? "bun"
  : "node";

/** Runtime flags of {@linkcode scriptCommand}, per runtime. */
export interface ScriptFlags {
  /** After `deno run` (replaces the default `-A`). */
  readonly deno?: readonly string[];
  /** Before the script under Bun. */
  readonly bun?: readonly string[];
  /** Before `--import tsx` under Node. */
  readonly node?: readonly string[];
}

/**
 * The command line that runs a TypeScript script in a child process of the runtime running the
 * tests: `deno run -A`, `bun`, or `node --import tsx` (TypeScript through tsx, resolved from here
 * so the child's working folder does not matter).
 */
export function scriptCommand(
  script: string,
  args: readonly string[] = [],
  flags: ScriptFlags = {},
): [string, string[]] {
  if (runtime === "deno") {
    return [process.execPath, ["run", ...(flags.deno ?? ["-A"]), script, ...args]];
  }
  if (runtime === "bun") return [process.execPath, [...(flags.bun ?? []), script, ...args]];
  const tsx = import.meta.resolve("tsx");
  return [process.execPath, [...(flags.node ?? []), "--import", tsx, script, ...args]];
}
