/**
 * The seed articles' table of `map` / `apply` / `mapAsync` / `applyAsync`,
 * filled in from what the calls actually did.
 *
 * @module
 */

import { Pool, taskModule } from "../mod.ts";
import { formatMs, now, type PartOptions, table } from "./output.ts";
import type { NapReport } from "./tasks.ts";

const tasks = taskModule<typeof import("./tasks.ts")>(new URL("./tasks.ts", import.meta.url));

/** One row of the table, each value derived from a run. */
export interface MethodRow {
  /** Pool method. */
  method: "map" | "apply" | "mapAsync" | "applyAsync";
  /** One task call received several arguments. */
  multiArgs: boolean;
  /** Two tasks ran at the same time. */
  concurrent: boolean;
  /** Every call returned only once its results were ready. */
  blocking: boolean;
  /**
   * Results reached the caller in input order although the tasks finished
   * in another order; `"n/a"` when they finished in input order anyway.
   */
  ordered: boolean | "n/a";
}

/** The seed articles' table, to compare with. */
const SEED: Record<MethodRow["method"], string> = {
  map: "no yes yes yes",
  apply: "yes no yes no",
  mapAsync: "no yes no yes",
  applyAsync: "yes yes no no",
};

/** What one method did with the jobs. */
interface Run {
  /** What each task reported, in input order. */
  reports: NapReport[];
  /** Labels in the order the caller received the results. */
  received: string[];
  /** Per call: when it returned, and when the last of its tasks ended. */
  calls: { returned: number; ready: number }[];
}

type Job = [label: string, ms: number];

/** Runs each method on jobs that sleep different amounts, prints what happened and the derived table. */
export async function methodsTable(options: PartOptions = {}): Promise<MethodRow[]> {
  const print = options.print ?? console.log;
  const unit = options.quick ? 50 : 100;
  const jobs: Job[] = [["A", 3 * unit], ["B", unit], ["C", 1.5 * unit], ["D", 2 * unit]];
  print(`Jobs ${jobs.map(([label, ms]) => `${label}=${ms} ms`).join(" ")} on Pool(2), each`);
  print("sleeping, then reporting when it ran and how many arguments it got (tasks.nap)");

  await using pool = new Pool({ size: 2 });
  await pool.map(tasks.nap, [["warm-up", 20], ["warm-up", 20], ["warm-up", 20]], { chunksize: 1 });
  const runs: [MethodRow["method"], () => Promise<Run>][] = [
    ["map", () => runMap(pool, jobs)],
    ["apply", () => runApply(pool, jobs)],
    ["mapAsync", () => runMapAsync(pool, jobs)],
    ["applyAsync", () => runApplyAsync(pool, jobs)],
  ];
  const rows: MethodRow[] = [];
  for (const [method, run] of runs) {
    const t0 = now();
    const result = await run();
    print(describeRun(method, result, t0));
    rows.push(deriveRow(method, result, jobs));
  }

  const yesNo = (value: boolean | "n/a") => value === true ? "yes" : "no";
  const cell = (value: boolean | "n/a") => value === "n/a" ? "no (n/a)" : yesNo(value);
  const header = ["method", "multi-args", "concurrent", "blocking", "ordered results"];
  for (const line of table([header, ...rows.map((r) => [r.method, ...values(r).map(cell)])])) {
    print(line);
  }
  const same = rows.every((r) => values(r).map(yesNo).join(" ") === SEED[r.method]);
  print("multi-args: a task call got several arguments; concurrent: two tasks overlapped;");
  print("blocking: each call returned only with its results; ordered: results in input order");
  print("though tasks finished out of order (n/a: they finished in order anyway)");
  print(same ? "Same as the seed articles' table" : "Differs from the seed articles' table");
  return rows;
}

function values(row: MethodRow): (boolean | "n/a")[] {
  return [row.multiArgs, row.concurrent, row.blocking, row.ordered];
}

async function runMap(pool: Pool, jobs: Job[]): Promise<Run> {
  const reports = await pool.map(tasks.nap, jobs, { chunksize: 1 });
  const returned = now();
  return { reports, received: labels(reports), calls: [{ returned, ready: lastEnd(reports) }] };
}

async function runApply(pool: Pool, jobs: Job[]): Promise<Run> {
  const reports: NapReport[] = [];
  const calls: Run["calls"] = [];
  for (const job of jobs) {
    const report = await pool.apply(tasks.nap, job);
    calls.push({ returned: now(), ready: report.end });
    reports.push(report);
  }
  return { reports, received: labels(reports), calls };
}

async function runMapAsync(pool: Pool, jobs: Job[]): Promise<Run> {
  let received: string[] = [];
  const result = pool.mapAsync(tasks.nap, jobs, {
    chunksize: 1,
    callback: (all) => received = labels(all),
  });
  const returned = now();
  const reports = await result;
  return { reports, received, calls: [{ returned, ready: lastEnd(reports) }] };
}

async function runApplyAsync(pool: Pool, jobs: Job[]): Promise<Run> {
  const received: string[] = [];
  const calls = jobs.map((job) => {
    const result = pool.applyAsync(tasks.nap, job, { callback: (r) => received.push(r.label) });
    return { result, returned: now() };
  });
  const reports = await Promise.all(calls.map((call) => call.result.get()));
  return {
    reports,
    received,
    calls: calls.map((call, i) => ({ returned: call.returned, ready: reports[i].end })),
  };
}

function deriveRow(method: MethodRow["method"], run: Run, jobs: Job[]): MethodRow {
  const inputOrder = jobs.map(([label]) => label).join(" ");
  const finishOrder = labels([...run.reports].sort((a, b) => a.end - b.end)).join(" ");
  const byStart = [...run.reports].sort((a, b) => a.start - b.start);
  return {
    method,
    multiArgs: run.reports.some((r) => r.argc > 1),
    concurrent: byStart.some((r, i) => i > 0 && r.start < byStart[i - 1].end),
    blocking: run.calls.every((call) => call.returned >= call.ready),
    ordered: finishOrder === inputOrder ? "n/a" : run.received.join(" ") === inputOrder,
  };
}

function describeRun(method: string, run: Run, t0: number): string {
  const finished = [...run.reports].sort((a, b) => a.end - b.end)
    .map((r) => `${r.label}@${Math.round(r.end - t0)}`);
  const returned = Math.min(...run.calls.map((call) => call.returned)) - t0;
  return `${method.padEnd(10)}  finished ${finished.join(" ")} ms; caller received ${
    run.received.join(" ")
  }; first return at ${formatMs(returned)}`;
}

function labels(reports: NapReport[]): string[] {
  return reports.map((r) => r.label);
}

function lastEnd(reports: NapReport[]): number {
  return Math.max(...reports.map((r) => r.end));
}
