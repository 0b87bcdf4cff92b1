/**
 * `deno task bench:group`: the coroutine Group against a plain
 * `Promise.all` and against gevent, in the same run, then an HTTP run.
 *
 * 1. 100k jobs of `await sleep(0)`: `Promise.all` (baseline), `Group({
 *    limit: 1000 })` spawn + join, and `imapUnordered`; gevent does the same
 *    with `gevent.sleep(0)` through `Pool(1000)` and through
 *    `joinall([spawn(...)])`. Median of interleaved rounds; ratios printed.
 *    Target: the Group at most 2x `Promise.all`.
 * 2. 10k HTTP GETs to a local `Deno.serve` on 127.0.0.1 through a Group
 *    with limit 100: errors (must be 0) and requests/s.
 *
 * gevent comes from Debian's `python3-gevent` (for /usr/bin/python3). When
 * no Python with gevent is found, the script installs it with apt-get if it
 * can, and says plainly when it cannot. Options: `--rounds=N`, `--jobs=N`,
 * `--requests=N`.
 *
 * @module
 */

import { Group } from "../src/group.ts";
import { type ReportRow, reportRows } from "./_report.ts";
import { JOBS, LIMIT, viaGroupImap, viaGroupSpawn, viaPromiseAll } from "./group_workloads.ts";

const args = parseArgs(Deno.args);
const ROUNDS = args.rounds ?? 5;
const JOB_COUNT = args.jobs ?? JOBS;
const REQUESTS = args.requests ?? 10_000;
const HTTP_LIMIT = 100;

const GEVENT_SCRIPT = `
import json, statistics, sys, time
import gevent
from gevent.pool import Pool

jobs, limit, rounds = map(int, sys.argv[1:4])

def job():
    gevent.sleep(0)

def pool_run():
    pool = Pool(limit)
    for _ in range(jobs):
        pool.spawn(job)
    pool.join()

def joinall_run():
    gevent.joinall([gevent.spawn(job) for _ in range(jobs)])

runs = {"pool": [], "joinall": []}
pool_run()  # warm-up
for _ in range(rounds):
    for name, fn in (("joinall", joinall_run), ("pool", pool_run)):
        start = time.perf_counter()
        fn()
        runs[name].append((time.perf_counter() - start) * 1000)
print(json.dumps({"version": gevent.__version__, "python": sys.version.split()[0],
                  **{name: statistics.median(ms) for name, ms in runs.items()}}))
`;

interface GeventFigures {
  version: string;
  python: string;
  pool: number;
  joinall: number;
}

function parseArgs(argv: string[]): { rounds?: number; jobs?: number; requests?: number } {
  const out: Record<string, number> = {};
  for (const arg of argv) {
    const match = /^--(rounds|jobs|requests)=(\d+)$/.exec(arg);
    if (!match) {
      throw new RangeError(
        `Unknown argument ${arg}: expected --rounds=N, --jobs=N or --requests=N`,
      );
    }
    out[match[1]] = Number(match[2]);
  }
  return out;
}

async function run(cmd: string, argv: string[]): Promise<{ ok: boolean; out: string }> {
  try {
    const { success, stdout, stderr } = await new Deno.Command(cmd, {
      args: argv,
      stdout: "piped",
      stderr: "piped",
      env: { DEBIAN_FRONTEND: "noninteractive" },
    }).output();
    const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
    return { ok: success, out: (decode(stdout) + decode(stderr)).trim() };
  } catch (error) {
    return { ok: false, out: error instanceof Error ? error.message : String(error) };
  }
}

function lastLine(text: string): string {
  return text.split("\n").filter(Boolean).at(-1) ?? "no output";
}

/** Pythons to try, in order: $GEVENT_PYTHON, Debian's python3 (where python3-gevent goes), PATH's. */
function pythonCandidates(): string[] {
  const fromEnv = Deno.env.get("GEVENT_PYTHON");
  return [...(fromEnv ? [fromEnv] : []), "/usr/bin/python3", "python3"];
}

async function findGeventPython(): Promise<string | undefined> {
  for (const python of pythonCandidates()) {
    if ((await run(python, ["-c", "import gevent"])).ok) return python;
  }
  return undefined;
}

/** Finds a Python with gevent, installing python3-gevent with apt-get when possible. */
async function ensureGevent(): Promise<{ python?: string; note: string }> {
  const found = await findGeventPython();
  if (found) return { python: found, note: `gevent found for ${found}` };
  if (!(await run("apt-get", ["--version"])).ok) {
    return {
      note: "gevent is not installed and apt-get is not available: gevent comparison skipped",
    };
  }
  console.log("gevent not found: installing python3-gevent with apt-get (this can take a minute)");
  let install = await run("apt-get", ["install", "-y", "python3-gevent"]);
  if (!install.ok) {
    await run("apt-get", ["update"]);
    install = await run("apt-get", ["install", "-y", "python3-gevent"]);
  }
  if (!install.ok) {
    return {
      note: `Could not install python3-gevent with apt-get (${lastLine(install.out)}): ` +
        "gevent comparison skipped; run `apt-get install -y python3-gevent` as root to include it",
    };
  }
  const python = await findGeventPython();
  return python ? { python, note: `installed python3-gevent with apt-get; using ${python}` } : {
    note: "python3-gevent was installed but no Python could import gevent: comparison skipped",
  };
}

async function runGevent(python: string): Promise<GeventFigures | string> {
  const result = await run(python, ["-c", GEVENT_SCRIPT, `${JOB_COUNT}`, `${LIMIT}`, `${ROUNDS}`]);
  if (!result.ok) return `gevent run failed: ${lastLine(result.out)}`;
  return JSON.parse(lastLine(result.out)) as GeventFigures;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Runs every workload once per round, interleaved, after one warm-up each; medians in ms. */
async function measure(
  workloads: Record<string, () => Promise<void>>,
): Promise<Record<string, number>> {
  const times: Record<string, number[]> = {};
  for (const [name, fn] of Object.entries(workloads)) {
    await fn();
    times[name] = [];
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, fn] of Object.entries(workloads)) {
      const start = performance.now();
      await fn();
      times[name].push(performance.now() - start);
    }
  }
  return Object.fromEntries(Object.entries(times).map(([name, ms]) => [name, median(ms)]));
}

function* range(n: number): Generator<number> {
  for (let i = 0; i < n; i++) yield i;
}

/** 10k GETs to a local Deno.serve through a Group with a limit; bodies are read in full. */
async function httpRun(): Promise<{ ok: number; errors: number; ms: number; firstError?: string }> {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (request) => new Response(`hello ${new URL(request.url).pathname}`),
  );
  const base = `http://127.0.0.1:${server.addr.port}`;
  let ok = 0;
  let errors = 0;
  let firstError: string | undefined;
  const start = performance.now();
  try {
    await using group = new Group({ limit: HTTP_LIMIT });
    const fetchOne = async (i: number, signal: AbortSignal) => {
      try {
        const response = await fetch(`${base}/${i}`, { signal });
        const text = await response.text();
        return response.ok && text === `hello /${i}`;
      } catch (error) {
        firstError ??= String(error);
        return false;
      }
    };
    for await (const good of group.imapUnordered(fetchOne, range(REQUESTS))) {
      if (good) ok++;
      else errors++;
    }
  } finally {
    await server.shutdown();
  }
  return { ok, errors, ms: performance.now() - start, firstError };
}

function row(cells: string[]): string {
  const widths = [44, 12, 14, 22];
  return cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join(
    "",
  );
}

const fmtMs = (ms: number) => `${ms.toFixed(0)} ms`;
const perSecond = (count: number, ms: number) =>
  `${Math.round(count / (ms / 1000)).toLocaleString("en")}/s`;

console.log(
  `multipool Group vs Promise.all vs gevent: ${JOB_COUNT.toLocaleString("en")} jobs of ` +
    `sleep(0), limit ${LIMIT}, median of ${ROUNDS} interleaved rounds`,
);
const gevent = await ensureGevent();
console.log(gevent.note);

const deno = await measure({
  promiseAll: () => viaPromiseAll(JOB_COUNT),
  groupSpawn: () => viaGroupSpawn(JOB_COUNT, LIMIT),
  groupImap: () => viaGroupImap(JOB_COUNT, LIMIT),
});
const py = gevent.python ? await runGevent(gevent.python) : gevent.note;

console.log();
console.log(row(["run", "time", "jobs/s", "ratio"]));
console.log(
  row([
    "Deno Promise.all (baseline, no limit)",
    fmtMs(deno.promiseAll),
    perSecond(JOB_COUNT, deno.promiseAll),
    "1.00x",
  ]),
);
for (
  const [key, label] of [["groupSpawn", "spawn + join"], ["groupImap", "imapUnordered"]] as const
) {
  console.log(row([
    `Deno Group({ limit: ${LIMIT} }) ${label}`,
    fmtMs(deno[key]),
    perSecond(JOB_COUNT, deno[key]),
    `${(deno[key] / deno.promiseAll).toFixed(2)}x Promise.all`,
  ]));
}
if (typeof py === "string") {
  console.log(`gevent: ${py}`);
} else {
  console.log(
    row([
      `gevent ${py.version} joinall(spawn) (py ${py.python})`,
      fmtMs(py.joinall),
      perSecond(JOB_COUNT, py.joinall),
      "",
    ]),
  );
  console.log(
    row([
      `gevent ${py.version} Pool(${LIMIT}).spawn + join`,
      fmtMs(py.pool),
      perSecond(JOB_COUNT, py.pool),
      "",
    ]),
  );
  console.log(
    `Group spawn + join vs gevent Pool(${LIMIT}): ${
      (py.pool / deno.groupSpawn).toFixed(2)
    }x as fast ` +
      `(${(deno.groupSpawn / py.pool).toFixed(2)}x the time)`,
  );
}
const overhead = deno.groupSpawn / deno.promiseAll;
console.log(
  `target: Group overhead at most 2x Promise.all: ${overhead <= 2 ? "met" : "NOT met"} (${
    overhead.toFixed(2)
  }x)`,
);

console.log();
const http = await httpRun();
console.log(
  `HTTP: ${
    REQUESTS.toLocaleString("en")
  } GETs to Deno.serve on 127.0.0.1 through Group({ limit: ${HTTP_LIMIT} }): ` +
    `${http.ok} ok, ${http.errors} errors, ${fmtMs(http.ms)}, ${
      perSecond(REQUESTS, http.ms)
    } requests`,
);
if (http.firstError) console.log(`first error: ${http.firstError}`);
if (http.errors > 0) Deno.exitCode = 1;

const rows: ReportRow[] = [{
  workload: `${JOB_COUNT / 1000}k sleep(0) jobs, limit ${LIMIT}`,
  ours: `Group ${fmtMs(deno.groupSpawn)}`,
  against: "Promise.all",
  theirs: fmtMs(deno.promiseAll),
  ratio: deno.promiseAll / deno.groupSpawn,
  target: "overhead <= 2x",
  pass: overhead <= 2,
}];
if (typeof py !== "string") {
  rows.push({
    workload: `${JOB_COUNT / 1000}k sleep(0) jobs, limit ${LIMIT}`,
    ours: `Group ${fmtMs(deno.groupSpawn)}`,
    against: `gevent ${py.version} Pool(${LIMIT})`,
    theirs: fmtMs(py.pool),
    ratio: py.pool / deno.groupSpawn,
  });
}
rows.push({
  workload: `${REQUESTS / 1000}k HTTP GETs, limit ${HTTP_LIMIT}`,
  ours: `${perSecond(REQUESTS, http.ms)}, ${http.errors} errors`,
  against: "no errors",
  theirs: "0 errors",
  ratio: http.errors === 0 ? 1 : 0,
  target: "0 errors",
  pass: http.errors === 0,
});
reportRows(rows);
