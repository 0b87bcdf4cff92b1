/**
 * A grouped bar chart as hand-written SVG text, no dependency: one panel a
 * metric, each with its own scale from zero, one bar a side (and series,
 * e.g. p50 and p99, as bars of one colour side by side, the later ones
 * lighter). Used by `peers_compare.ts` for `bench/results/peers.svg`.
 *
 * @module
 */

/** One metric: a panel of the chart. */
export interface ChartPanel {
  /** What is measured, e.g. "tiny tasks/s". */
  title: string;
  /** Which way is better, e.g. "higher is better". */
  note: string;
  /** Names of the bars of one side (e.g. `["p50", "p99"]`); one entry for a single bar. */
  series: string[];
  /** `values[side][series]`. */
  values: number[][];
  /** The top of the scale (e.g. 100 for a percentage); the largest value by default. */
  max?: number;
  /** Formats a value for the label above its bar. */
  format(value: number): string;
}

/** A whole chart: sides (with a colour each) and panels. */
export interface Chart {
  /** The heading. */
  title: string;
  /** A line under the heading (machine, settings). */
  subtitle: string;
  /** The sides compared; one colour each. */
  sides: string[];
  /** CSS colours of the sides, in order. */
  colors: string[];
  /** The metrics. */
  panels: ChartPanel[];
}

const PANEL_WIDTH = 250;
const PLOT_HEIGHT = 190;
const MARGIN = 20;
const TOP = 96;

/** Escapes text for SVG. */
function esc(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

/** A `<text>` element. */
function text(x: number, y: number, body: string, attrs = ""): string {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}"${attrs}>${esc(body)}</text>`;
}

/** The SVG of one panel, its left edge at `left`. */
function panelSvg(chart: Chart, panel: ChartPanel, left: number): string[] {
  const out: string[] = [];
  const plotLeft = left + 10;
  const plotWidth = PANEL_WIDTH - 20;
  const base = TOP + 40 + PLOT_HEIGHT;
  const finite = panel.values.flat().filter(Number.isFinite);
  const max = Math.max(1e-9, panel.max ?? 0, ...finite) * 1.18;
  out.push(text(left + PANEL_WIDTH / 2, TOP, panel.title, ` class="panel" text-anchor="middle"`));
  out.push(
    text(left + PANEL_WIDTH / 2, TOP + 16, panel.note, ` class="note" text-anchor="middle"`),
  );
  const group = plotWidth / chart.sides.length;
  const barWidth = Math.min(46, (group - 14) / panel.series.length);
  chart.sides.forEach((_, s) => {
    const groupLeft = plotLeft + s * group + (group - barWidth * panel.series.length) / 2;
    panel.series.forEach((name, k) => {
      const value = panel.values[s]?.[k] ?? NaN;
      const x = groupLeft + k * barWidth;
      const height = Number.isFinite(value) ? (value / max) * PLOT_HEIGHT : 0;
      const opacity = k === 0 ? "" : ` fill-opacity="${(0.45).toFixed(2)}"`;
      out.push(
        `<rect x="${(x + 1).toFixed(1)}" y="${(base - height).toFixed(1)}" width="${
          (barWidth - 2).toFixed(1)
        }" height="${height.toFixed(1)}" fill="${chart.colors[s]}"${opacity}/>`,
      );
      const label = Number.isFinite(value) ? panel.format(value) : "n/a";
      out.push(
        text(x + barWidth / 2, base - height - 4, label, ` class="value" text-anchor="middle"`),
      );
      if (panel.series.length > 1) {
        out.push(text(x + barWidth / 2, base + 13, name, ` class="series" text-anchor="middle"`));
      }
    });
  });
  out.push(
    `<line x1="${plotLeft}" y1="${base}" x2="${plotLeft + plotWidth}" y2="${base}" class="axis"/>`,
  );
  return out;
}

/** The chart as a complete SVG document. */
export function barChartSvg(chart: Chart): string {
  const width = MARGIN * 2 + PANEL_WIDTH * chart.panels.length;
  const height = TOP + 40 + PLOT_HEIGHT + 34;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
    `viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, sans-serif">`,
    "<style>" +
    ".title{font-size:17px;font-weight:600;fill:#222}.subtitle{font-size:12px;fill:#555}" +
    ".panel{font-size:13px;font-weight:600;fill:#222}.note{font-size:11px;fill:#666;font-style:italic}" +
    ".value{font-size:10.5px;fill:#222}.series{font-size:10px;fill:#555}.legend{font-size:12px;fill:#222}" +
    ".axis{stroke:#999;stroke-width:1}" +
    "</style>",
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    text(MARGIN, 26, chart.title, ` class="title"`),
    text(MARGIN, 44, chart.subtitle, ` class="subtitle"`),
  ];
  let x = MARGIN;
  chart.sides.forEach((side, s) => {
    out.push(`<rect x="${x}" y="56" width="12" height="12" fill="${chart.colors[s]}"/>`);
    out.push(text(x + 17, 66, side, ` class="legend"`));
    x += 17 + side.length * 7 + 24;
  });
  chart.panels.forEach((panel, i) => out.push(...panelSvg(chart, panel, MARGIN + i * PANEL_WIDTH)));
  out.push("</svg>");
  return out.join("\n") + "\n";
}
