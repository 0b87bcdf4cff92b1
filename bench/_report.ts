/**
 * The one convention the comparison scripts share so that `deno task
 * bench:compare` can gather them into one table: each script calls
 * {@linkcode reportRows} with its comparisons, which prints one
 * `BENCH_RESULT <json>` line when the script runs under `bench/compare.ts`
 * (environment variable `MULTIPOOL_BENCH_REPORT=1`) and nothing otherwise.
 *
 * @module
 */

/** One comparison: multipool against a reference on the same machine, in the same run. */
export interface ReportRow {
  /** The workload, e.g. "Pool(2).map of 1e6 x*x". */
  workload: string;
  /** multipool's figure, formatted (e.g. "61 ms"). */
  ours: string;
  /** What it is compared with (e.g. "Python Pool(2).map"). */
  against: string;
  /** The reference's figure, formatted. */
  theirs: string;
  /** How many times better multipool is (> 1 means better). */
  ratio: number;
  /** The target as text (e.g. ">= 3x"), if there is one. */
  target?: string;
  /** Whether the target was met; undefined when there is no target. */
  pass?: boolean;
}

/** Prefix of the line that carries the rows. */
export const REPORT_PREFIX = "BENCH_RESULT ";

/** Prints `rows` for `bench/compare.ts` when it runs this script. */
export function reportRows(rows: ReportRow[]): void {
  if (Deno.env.get("MULTIPOOL_BENCH_REPORT") === "1") {
    console.log(REPORT_PREFIX + JSON.stringify(rows));
  }
}
