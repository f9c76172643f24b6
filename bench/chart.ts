// Redraws bench/results/speed.svg from the runs bench/speed.ts saved (bench/results/*.json).
// bench/speed.ts calls this itself after each run; run it alone to redraw.
//
//   deno run -A bench/chart.ts       bun bench/chart.ts
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { renderChart } from "./_chart.ts";
import type { SpeedResults } from "./_speed_results.ts";
import { benchDir } from "./_util.ts";

/** The saved runs: Deno, Bun, then Node. */
export function savedRuns(): SpeedResults[] {
  const runs: SpeedResults[] = [];
  for (const name of ["deno", "bun", "node"]) {
    const file = join(benchDir, "results", `${name}.json`);
    if (existsSync(file)) {
      runs.push(JSON.parse(readFileSync(file, "utf8")) as SpeedResults);
    }
  }
  return runs;
}

/** Writes bench/results/speed.svg from the saved runs; returns its path. */
export function writeChart(): string {
  const file = join(benchDir, "results", "speed.svg");
  writeFileSync(file, renderChart(savedRuns()));
  return file;
}

if (import.meta.main) console.log(`wrote ${writeChart()}`);
