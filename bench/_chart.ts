// Draws the goal table as an SVG: one panel per goal, one bar per runtime, each bar's goal as a
// red dashed tick and, where measured, the least possible client's value as a black one. Plain
// string building, no dependency.
import type { GoalRow, SpeedResults } from "./_speed_results.ts";

const WIDTH = 780;
const LEFT = 110; // the runtime column
const RIGHT = 200; // room for the value and goal text
const BAR = 16;
const PANEL_GAP = 14;
const COLORS: Record<string, string> = { Deno: "#2b7bb9", Bun: "#c9772f", Node: "#4c8c3a" };
/** Panel titles for rows whose peer differs by runtime (each bar names its own goal). */
const TITLES: Record<string, string> = {
  get: "getTaskMeta ×1,000 in flight, vs the runtime's fastest client: GET + JSON.parse",
  mget: "MGET of 100 ids, 10 in flight, vs the runtime's fastest client: MGET + JSON.parse",
};

function escapeXml(text: string): string {
  return text.replace(
    /[<>&"]/g,
    (c) => `&${{ "<": "lt", ">": "gt", "&": "amp", '"': "quot" }[c]};`,
  );
}

/** The floor a run measured for a row (see `GoalRow.limit`), if any. */
function floorOf(row: GoalRow): number | undefined {
  return row.limit !== undefined && Number.isFinite(row.limit) ? row.limit : undefined;
}

function formatValue(value: number, unit: string): string {
  if (!Number.isFinite(value)) return "n/a";
  if (unit === "×") return `${value.toFixed(2)}×`;
  return `${value.toFixed(1)} ${unit}`;
}

/**
 * The chart of one or more runs (one per runtime), rows in the order they first appear.
 *
 * @param runs The runs to draw.
 * @returns The SVG document.
 */
export function renderChart(runs: readonly SpeedResults[]): string {
  const ids: string[] = [];
  const titles = new Map<string, string>();
  for (const run of runs) {
    for (const row of run.rows) {
      if (!titles.has(row.id)) {
        ids.push(row.id);
        titles.set(row.id, TITLES[row.id] ?? row.label);
      }
    }
  }
  const plot = WIDTH - LEFT - RIGHT;
  const panelHeight = 22 + runs.length * (BAR + 4);
  const top = 88;
  const height = top + ids.length * (panelHeight + PANEL_GAP) + 10;
  const when = runs.map((r) => `${r.runtime}: ${r.date.slice(0, 16).replace("T", " ")} UTC`);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" ` +
    `viewBox="0 0 ${WIDTH} ${height}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="10" y="20" font-size="15" font-weight="bold">Speed goals (bench/speed.ts): ` +
    `measured vs goal, medians of interleaved rounds</text>`,
    `<text x="10" y="38" fill="#555">${escapeXml(runs[0]?.machine ?? "")}</text>`,
    `<text x="10" y="54" fill="#555">${escapeXml(when.join(" · "))}</text>`,
    `<text x="10" y="70" fill="#555">red dashes: each bar's goal · black: the floor, what the ` +
    `least possible byte-exact client reaches in the same run · ✓ met, ✗ not met</text>`,
  ];
  ids.forEach((id, p) => {
    const y0 = top + p * (panelHeight + PANEL_GAP);
    const rows: (GoalRow | undefined)[] = runs.map((run) => run.rows.find((r) => r.id === id));
    const max = Math.max(
      ...rows.map((
        r,
      ) => (r && Number.isFinite(r.value) ? Math.max(r.value, r.goal, floorOf(r) ?? 0) : 0)),
    ) * 1.08;
    const x = (v: number) => LEFT + (Math.max(0, v) / max) * plot;
    out.push(
      `<text x="10" y="${y0 + 12}" font-weight="bold">${escapeXml(titles.get(id)!)}</text>`,
    );
    runs.forEach((run, k) => {
      const row = rows[k];
      const y = y0 + 20 + k * (BAR + 4);
      const color = COLORS[run.runtime.split(" ")[0]!] ?? "#777";
      out.push(
        `<text x="${LEFT - 8}" y="${y + BAR - 4}" text-anchor="end">${
          escapeXml(run.runtime)
        }</text>`,
      );
      if (!row || !Number.isFinite(row.value)) {
        out.push(
          `<text x="${LEFT + 4}" y="${y + BAR - 4}" fill="#999">not measured</text>`,
        );
        return;
      }
      const end = x(row.value);
      const gx = x(row.goal);
      const goal = `${row.better === "higher" ? "≥" : "≤"} ${formatValue(row.goal, row.unit)}`;
      // The floor's tick and text, when the run measured one.
      const floor = floorOf(row);
      const fx = floor === undefined ? undefined : x(floor);
      const floorText = floor === undefined ? "" : `, floor ${formatValue(floor, row.unit)}`;
      out.push(
        `<rect x="${LEFT}" y="${y}" width="${
          Math.max(1, end - LEFT).toFixed(1)
        }" height="${BAR}" ` +
          `fill="${color}"/>`,
        `<line x1="${gx.toFixed(1)}" x2="${gx.toFixed(1)}" y1="${y - 2}" y2="${y + BAR + 2}" ` +
          `stroke="#d22" stroke-width="2" stroke-dasharray="3 2"/>`,
        ...(fx === undefined ? [] : [
          `<line x1="${fx.toFixed(1)}" x2="${fx.toFixed(1)}" y1="${y - 2}" y2="${y + BAR + 2}" ` +
          `stroke="#111" stroke-width="2"/>`,
        ]),
        `<text x="${(Math.max(end, gx, fx ?? 0) + 6).toFixed(1)}" y="${y + BAR - 4}">${
          escapeXml(formatValue(row.value, row.unit))
        } ${row.pass ? "✓" : "✗"} <tspan fill="#777">(goal ${
          escapeXml(goal + floorText)
        })</tspan></text>`,
      );
    });
  });
  out.push(`</svg>`);
  return out.join("\n") + "\n";
}
