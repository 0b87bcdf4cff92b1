/**
 * `deno task bench:compare`: runs every comparison script in one go, on this
 * machine, and prints one table of multipool against Python's
 * multiprocessing, gevent (where installed), poolifier-web-worker and the
 * other baselines, with ratios (> 1 means multipool is better) and targets. Each script also
 * prints its own details; they are summarised here. Scripts can be named to
 * run only some: `deno task bench:compare group_compare`.
 *
 * @module
 */
import { REPORT_PREFIX, type ReportRow } from "./_report.ts";

const SCRIPTS = [
  "python_compare",
  "imap_memory",
  "group_compare",
  "kernel_scaling",
  "transfer_compare",
  "peers_compare",
];

/** Runs `bench/<name>.ts`, returning its rows, or the reason it gave none. */
async function runScript(name: string): Promise<ReportRow[] | string> {
  const script = new URL(`./${name}.ts`, import.meta.url);
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script.href],
    env: { MULTIPOOL_BENCH_REPORT: "1", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const out = new TextDecoder().decode(stdout);
  const line = out.split("\n").findLast((l) => l.startsWith(REPORT_PREFIX));
  if (line === undefined) {
    const tail = (out + new TextDecoder().decode(stderr)).trim().split("\n").slice(-5).join("\n");
    return `exit code ${code}, no result line:\n${tail}`;
  }
  return JSON.parse(line.slice(REPORT_PREFIX.length)) as ReportRow[];
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  const line = (row: string[]) => `| ${row.map((cell, i) => cell.padEnd(widths[i])).join(" | ")} |`;
  return [line(rows[0]), line(widths.map((w) => "-".repeat(w))), ...rows.slice(1).map(line)]
    .join("\n");
}

const names = Deno.args.length > 0 ? Deno.args : SCRIPTS;
const unknown = names.filter((name) => !SCRIPTS.includes(name));
if (unknown.length > 0) {
  console.error(`Unknown script ${unknown.join(", ")}: expected some of ${SCRIPTS.join(", ")}`);
  Deno.exit(2);
}

const cells: string[][] = [["workload", "multipool", "vs", "theirs", "ratio", "target"]];
let misses = 0;
for (const name of names) {
  const started = performance.now();
  console.log(`running bench/${name}.ts ...`);
  const rows = await runScript(name);
  console.log(`  done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  if (typeof rows === "string") {
    console.log(`  ${rows.replaceAll("\n", "\n  ")}`);
    cells.push([name, "failed", "", "", "", ""]);
    misses++;
    continue;
  }
  for (const row of rows) {
    const verdict = row.pass === undefined ? "" : row.pass ? "PASS" : "MISS";
    if (row.pass === false) misses++;
    cells.push([
      row.workload,
      row.ours,
      row.against,
      row.theirs,
      `${row.ratio.toFixed(2)}x`,
      row.target ? `${row.target} ${verdict}` : "",
    ]);
  }
}
console.log(`\nmultipool vs the references, ${navigator.hardwareConcurrency} cores, one run:\n`);
console.log(table(cells));
console.log(
  `\nratio > 1: multipool is better. ${misses === 0 ? "Every target met." : `${misses} missed.`}`,
);
