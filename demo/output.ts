/**
 * What every demo part shares: its options and a few formatting helpers.
 *
 * @module
 */

/** Options every demo part takes. */
export interface PartOptions {
  /** Small inputs that finish in a second or two (the tests use this). */
  quick?: boolean;
  /** Where the part's lines go; default `console.log`. */
  print?: (line: string) => void;
}

/** Milliseconds since the page's time origin, comparable between the main thread and workers. */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

/** Formats a duration: `"850 ms"` or `"2.41 s"`. */
export function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

/** Formats a byte count in megabytes: `"48.3 MB"`. */
export function formatMb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/** Lays out `rows` (the first one is the header) as a Markdown table with padded columns. */
export function table(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  const line = (row: readonly string[]) =>
    `| ${row.map((cell, i) => cell.padEnd(widths[i])).join(" | ")} |`;
  return [line(rows[0]), line(widths.map((w) => "-".repeat(w))), ...rows.slice(1).map(line)];
}
