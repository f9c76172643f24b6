// The figures bench/speed.ts writes (bench/results/<runtime>.json) and bench/chart.ts draws.

/** One row of the goal table, measured on one runtime. */
export interface GoalRow {
  /** Stable key shared by the runtimes' files (e.g. "get", "mget", "latency"). */
  readonly id: string;
  /** What is compared, e.g. "getTaskMeta ×1,000 in flight vs ioredis GET + JSON.parse". */
  readonly label: string;
  /** The unit of `value` and `goal`: "×" (a ratio), "MB" or "KiB". */
  readonly unit: string;
  readonly value: number;
  readonly goal: number;
  /** Whether the goal is a floor (`value >= goal`) or a ceiling (`value <= goal`). */
  readonly better: "higher" | "lower";
  readonly pass: boolean;
  /** The figures behind the value (medians of each side, ranges), for the table. */
  readonly detail: string;
  /**
   * The best value the least possible byte-exact client reaches in the same run (for reads the
   * floor client of `_floor_client.ts`, which parses each meta and checks that JSON.parse read it
   * exactly; for latency a bare subscriber that does the same and resolves a waiting promise; for
   * the bundle our HTTP driver and decoding polled in a bare loop, with no API): when it misses the
   * goal too, the goal is out of any byte-exact client's reach on this runtime and machine.
   */
  readonly limit?: number;
}

/** One run of bench/speed.ts. */
export interface SpeedResults {
  readonly runtime: string;
  readonly machine: string;
  /** ISO date of the run. */
  readonly date: string;
  readonly rows: readonly GoalRow[];
  /** Extra measurements that explain the rows (per-result costs, breakdowns). */
  readonly notes: readonly string[];
}

/** Whether a value meets its goal. */
export function meets(
  value: number,
  goal: number,
  better: "higher" | "lower",
): boolean {
  return better === "higher" ? value >= goal : value <= goal;
}
