// Runs the demo (main.ts) as a child process on the runtime running the tests, with the
// permissions of `deno task demo` under Deno, and collects its output.
import { type ChildProcess, spawn } from "node:child_process";
import process from "node:process";
import { projectRoot, scriptCommand } from "./_env.ts";

/** The command line that runs main.ts with `args` on this runtime. */
export function demoCommand(args: string[]): [string, string[]] {
  return scriptCommand("main.ts", args, {
    deno: ["--allow-net", "--allow-env", "--allow-read"],
  });
}

/** A running demo process. */
export interface DemoProcess {
  readonly child: ChildProcess;
  /** Everything printed so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves with the first stdout match of `pattern` (rejects if the process exits first). */
  waitFor(pattern: RegExp): Promise<RegExpExecArray>;
  /** Resolves with the exit code. */
  readonly exited: Promise<number | null>;
}

/** Starts main.ts with `args` (environment without CELERY_RESULT_BACKEND: the memory driver). */
export function startDemo(args: string[]): DemoProcess {
  const [bin, argv] = demoCommand(args);
  const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: "1" };
  delete env.CELERY_RESULT_BACKEND;
  const child = spawn(bin, argv, { cwd: projectRoot, env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  const listeners = new Set<() => void>();
  child.stdout!.on("data", (chunk) => {
    out += chunk;
    for (const listener of listeners) listener();
  });
  child.stderr!.on("data", (chunk) => (err += chunk));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => {
      for (const listener of listeners) listener();
      resolve(code);
    });
  });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor(pattern) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const match = pattern.exec(out);
          if (match) {
            listeners.delete(check);
            resolve(match);
          } else if (child.exitCode !== null || child.signalCode !== null) {
            listeners.delete(check);
            reject(new Error(`The demo exited ${child.exitCode} before ${pattern}: ${out}${err}`));
          }
        };
        listeners.add(check);
        check();
      });
    },
  };
}
