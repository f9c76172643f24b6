// A real redis-sentinel for tests, on a free loopback port, with a configuration file of its own.
import type { ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { launchRedisProcess, onFreshPorts } from "./_redis_process.ts";

export const sentinelBin: string = process.env.REDIS_SENTINEL ?? "redis-sentinel";

// Logged once the sentinel listens and has loaded its configuration.
const READY_LINE = "Sentinel ID is";

export interface SentinelProcess {
  readonly port: number;
  readonly child: ChildProcess;
}

/**
 * Starts a sentinel whose configuration (in `dir`) holds `lines` after `port` and `bind`; it is
 * the caller's to kill.
 */
export async function startSentinel(dir: string, lines: string[]): Promise<SentinelProcess> {
  return await onFreshPorts(1, async ([port]) => {
    const conf = join(dir, `sentinel-${port}.conf`);
    writeFileSync(conf, [`port ${port}`, "bind 127.0.0.1", `dir ${dir}`, ...lines, ""].join("\n"));
    const child = await launchRedisProcess(sentinelBin, [conf], READY_LINE);
    return { port: port!, child };
  });
}
