// Draws the goal table as an SVG: one panel per goal, one bar per runtime, the goal as a dashed
// line. Plain string building, no dependency.
import type { GoalRow, SpeedResults } from "./_speed_results.ts";

const WIDTH = 760;
const LEFT = 250; // the label column
const RIGHT = 110; // room for the value text
const BAR = 16;
const PANEL_GAP = 14;
const COLORS: Record<string, string> = { Deno: "#2b7bb9", Bun: "#c9772f" };

function escapeXml(text: string): string {
  return text.replace(
    /[<>&"]/g,
    (c) => `&${{ "<": "lt", ">": "gt", "&": "amp", '"': "quot" }[c]};`,
  );
}

function formatValue(value: number, unit: string): string {
  if (!Number.isFinite(value)) return "n/a";
  if (unit === "×") return `${value.toFixed(2)}×`;
  return `${value.toFixed(1)} ${unit}`;
}

/**
 * The chart of one or more runs (one per runtime), rows in the order of the first run.
 *
 * @param runs The runs to draw.
 * @returns The SVG document.
 */
export function renderChart(runs: readonly SpeedResults[]): string {
  const ids: string[] = [];
  const rowsById = new Map<string, GoalRow>();
  for (const run of runs) {
    for (const row of run.rows) {
      if (!rowsById.has(row.id)) {
        ids.push(row.id);
        rowsById.set(row.id, row);
      }
    }
  }
  const plot = WIDTH - LEFT - RIGHT;
  const panelHeight = 22 + runs.length * (BAR + 4);
  const top = 56;
  const height = top + ids.length * (panelHeight + PANEL_GAP) + 10;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" ` +
      `viewBox="0 0 ${WIDTH} ${height}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="10" y="20" font-size="15" font-weight="bold">Speed goals (bench/speed.ts): ` +
      `measured vs goal, medians, ratios from one run</text>`,
  );
  const machines = runs.map((r) =>
    `${r.runtime} ${r.date.slice(0, 16).replace("T", " ")}`
  );
  out.push(
    `<text x="10" y="38" fill="#555">${escapeXml(runs[0]?.machine ?? "")} · ${
      escapeXml(machines.join(" · "))
    } UTC · dashed line = goal · ✓ met, ✗ not met</text>`,
  );
  ids.forEach((id, p) => {
    const y0 = top + p * (panelHeight + PANEL_GAP);
    const first = rowsById.get(id)!;
    const values = runs.map((run) => run.rows.find((r) => r.id === id));
    const max = Math.max(
      first.goal,
      ...values.map((v) => (v && Number.isFinite(v.value) ? v.value : 0)),
    ) *
      1.12;
    const x = (v: number) => LEFT + (Math.max(0, v) / max) * plot;
    const goalText = `${first.better === "higher" ? "≥" : "≤"} ${
      formatValue(first.goal, first.unit)
    }`;
    out.push(
      `<text x="10" y="${y0 + 12}" font-weight="bold">${
        escapeXml(first.label)
      }</text>`,
      `<text x="${WIDTH - 10}" y="${
        y0 + 12
      }" text-anchor="end" fill="#555">goal ${escapeXml(goalText)}</text>`,
    );
    runs.forEach((run, k) => {
      const row = values[k];
      const y = y0 + 20 + k * (BAR + 4);
      const color = COLORS[run.runtime.split(" ")[0]!] ?? "#777";
      out.push(
        `<text x="${LEFT - 8}" y="${y + BAR - 4}" text-anchor="end">${
          escapeXml(run.runtime)
        }</text>`,
      );
      if (!row || !Number.isFinite(row.value)) {
        out.push(
          `<text x="${LEFT + 4}" y="${
            y + BAR - 4
          }" fill="#999">not measured</text>`,
        );
        return;
      }
      const w = Math.max(1, x(row.value) - LEFT);
      out.push(
        `<rect x="${LEFT}" y="${y}" width="${
          w.toFixed(1)
        }" height="${BAR}" fill="${color}"/>`,
        `<text x="${(LEFT + w + 6).toFixed(1)}" y="${y + BAR - 4}">${
          escapeXml(formatValue(row.value, row.unit))
        } ${row.pass ? "✓" : "✗"}</text>`,
      );
    });
    const gx = x(first.goal).toFixed(1);
    out.push(
      `<line x1="${gx}" x2="${gx}" y1="${y0 + 16}" y2="${
        y0 + panelHeight
      }" stroke="#d22" ` +
        `stroke-width="1.5" stroke-dasharray="4 3"/>`,
    );
  });
  out.push(`</svg>`);
  return out.join("\n") + "\n";
}
