/**
 * `deno task bench:imap`: streaming `imap` in flat memory, against Python's
 * `multiprocessing.Pool(2).imap(chunksize=1000)` in the same run.
 *
 * **Memory run**: `pool.imap(square, numbers(10_000_000))` (default
 * chunksize and buffersize); the consumer pauses 5 s after 1,000 results.
 * Prints the peak RSS growth over the base (the base is taken after the
 * pool's workers started; workers live in this process, so their memory
 * counts), measured as the kernel's `VmHWM` after resetting it through
 * `/proc/self/clear_refs`, and as `Deno.memoryUsage().rss` sampled every
 * 50 ms; the larger of the two counts. Also prints how many items the source
 * gave up while the consumer paused (the backpressure at work). Python's
 * figure sums the VmRSS of the parent and its worker processes, sampled
 * every 50 ms (`bench/python/imap_memory.py`).
 *
 * **Throughput runs**: the same stream without the pause, median of
 * `--runs` runs, items/s. Python's `imap` keeps computing (and buffering)
 * while the consumer sleeps, so "items / (wall - pause)" of a paused run
 * flatters it; the targets use the runs without a pause. Both figures are
 * printed. Throughput runs of ours and Python's alternate, so both see the
 * same machine noise.
 *
 * Targets: our peak RSS growth at most 64 MB; our throughput at least 3x
 * Python's `imap(chunksize=1000)`.
 *
 * Rerun: `deno task bench:imap`; quick: `deno task bench:imap --items 1000000
 * --pause-ms 1000 --runs 1`; other flags: `--pause-after`, `--size`,
 * `--chunksize` (Python's), `--python 0` (skip Python).
 *
 * @module
 */

import { Pool } from "../mod.ts";
import { reportRows } from "./_report.ts";
import {
  fmt,
  median,
  numberFlags,
  printTable,
  runPython,
  square,
  verdict,
} from "./_pool_workloads.ts";

const flags = numberFlags(Deno.args, {
  items: 10_000_000,
  pauseMs: 5000,
  pauseAfter: 1000,
  chunksize: 1000,
  size: 2,
  runs: 3,
  python: 1,
});
const RSS_TARGET_MB = 64;
const SPEED_TARGET = 3;
const MB = 1024 * 1024;

interface RunResult {
  wallMs: number;
  pausedMs: number;
  itemsPerS: number;
  pulledDuringPause: number;
}

interface PythonRun {
  python: string;
  startMethod: string;
  items: number;
  wallS: number;
  pauseS: number;
  itemsPerS: number;
  baseMb: number;
  peakGrowthMb: number;
  pulledDuringPause: number;
}

/** Bytes of a `/proc/self/status` field such as `VmHWM`, or NaN off Linux. */
function procStatus(field: string): number {
  try {
    const status = Deno.readTextFileSync("/proc/self/status");
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
    return match ? Number(match[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** Resets the kernel's peak-RSS mark (`VmHWM`) to the current RSS; false where unsupported. */
function resetPeak(): boolean {
  try {
    Deno.writeTextFileSync("/proc/self/clear_refs", "5");
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function stream(
  pool: Pool,
  items: number,
  pauseMs: number,
  pauseAfter: number,
): Promise<RunResult> {
  let pulled = 0;
  function* numbers(): Generator<number> {
    for (let i = 0; i < items; i++) {
      pulled = i + 1;
      yield i;
    }
  }
  let count = 0;
  let pausedMs = 0;
  let pulledDuringPause = 0;
  const start = performance.now();
  for await (const y of pool.imap(square, numbers())) {
    if (y !== count * count) throw new Error(`imap result ${count} is ${y}`);
    count++;
    if (count === pauseAfter && pauseMs > 0) {
      const before = pulled;
      const pauseStart = performance.now();
      await sleep(pauseMs);
      pausedMs = performance.now() - pauseStart;
      pulledDuringPause = pulled - before;
    }
  }
  const wallMs = performance.now() - start;
  if (count !== items) throw new Error(`imap yielded ${count} of ${items} results`);
  return {
    wallMs,
    pausedMs,
    itemsPerS: items / ((wallMs - pausedMs) / 1000),
    pulledDuringPause,
  };
}

console.log(
  `imap over a ${flags.items}-item generator, trivial task, Pool(${flags.size}); ` +
    `consumer pauses ${flags.pauseMs} ms after ${flags.pauseAfter} results; ` +
    `${navigator.hardwareConcurrency} CPUs, Deno ${Deno.version.deno}`,
);

const pythonArgs = (pauseMs: number) => [
  "--items",
  String(flags.items),
  "--pause-ms",
  String(pauseMs),
  "--pause-after",
  String(flags.pauseAfter),
  "--chunksize",
  String(flags.chunksize),
  "--size",
  String(flags.size),
];

const pool = new Pool({ size: flags.size });
let memory: RunResult;
let baseMb: number;
let hwmGrowthMb = NaN;
let sampledGrowthMb: number;
let pyMemory: PythonRun | undefined;
const ourRuns: number[] = [];
const pyRuns: number[] = [];
try {
  // Warm up: workers started, task loaded, chunk sizes and JIT settled.
  await stream(pool, Math.min(flags.items, 200_000), 0, 0);
  await sleep(200);

  const base = Math.min(...Array.from({ length: 5 }, () => Deno.memoryUsage().rss));
  const canReset = resetPeak();
  let sampled = base;
  const sampler = setInterval(() => {
    sampled = Math.max(sampled, Deno.memoryUsage().rss);
  }, 50);
  try {
    memory = await stream(pool, flags.items, flags.pauseMs, flags.pauseAfter);
  } finally {
    clearInterval(sampler);
  }
  sampled = Math.max(sampled, Deno.memoryUsage().rss);
  if (canReset) hwmGrowthMb = (procStatus("VmHWM") - base) / MB;
  baseMb = base / MB;
  sampledGrowthMb = (sampled - base) / MB;

  if (flags.python) {
    const result = await runPython<PythonRun>("imap_memory.py", pythonArgs(flags.pauseMs));
    if (result.ok) pyMemory = result.value;
    else console.log(`Python comparison skipped: ${result.reason}`);
  }
  // Throughput: ours and Python's alternate, so both see the same machine noise.
  for (let r = 0; r < flags.runs; r++) {
    ourRuns.push((await stream(pool, flags.items, 0, 0)).itemsPerS);
    if (pyMemory === undefined) continue;
    const run = await runPython<PythonRun>("imap_memory.py", pythonArgs(0));
    if (run.ok) pyRuns.push(run.value.itemsPerS);
  }
} finally {
  await pool.terminate();
}

const ourGrowth = Number.isFinite(hwmGrowthMb)
  ? Math.max(hwmGrowthMb, sampledGrowthMb)
  : sampledGrowthMb;
const ourSpeed = median(ourRuns);
const pySpeed = pyRuns.length > 0 ? median(pyRuns) : NaN;
const speedRatio = ourSpeed / pySpeed;
const perS = (v: number) => fmt(v / 1e6, 2, " M items/s");

if (pyMemory) console.log(`Python ${pyMemory.python} (${pyMemory.startMethod})`);
printTable(["figure", "multipool imap", "Python imap", "ratio", "target", "result"], [
  [
    "peak RSS growth (paused run)",
    fmt(ourGrowth, 1, " MB"),
    fmt(pyMemory?.peakGrowthMb ?? NaN, 1, " MB"),
    fmt((pyMemory?.peakGrowthMb ?? NaN) / ourGrowth, 1, "x less"),
    `<= ${RSS_TARGET_MB} MB`,
    verdict(ourGrowth <= RSS_TARGET_MB),
  ],
  [
    "base RSS (workers started)",
    fmt(baseMb, 1, " MB"),
    fmt(pyMemory?.baseMb ?? NaN, 1, " MB"),
    "",
    "",
    "",
  ],
  [
    "items pulled during the pause",
    String(memory.pulledDuringPause),
    String(pyMemory?.pulledDuringPause ?? "n/a"),
    "",
    "",
    "",
  ],
  [
    `throughput, no pause (median of ${flags.runs})`,
    perS(ourSpeed),
    pyRuns.length > 0 ? `${perS(pySpeed)} (chunksize=${flags.chunksize})` : "n/a",
    fmt(speedRatio, 2, "x"),
    `>= ${SPEED_TARGET}x`,
    pyRuns.length > 0 ? verdict(speedRatio >= SPEED_TARGET) : "n/a",
  ],
  [
    "items / (wall - pause), paused run",
    perS(memory.itemsPerS),
    pyMemory ? `${perS(pyMemory.itemsPerS)} (works during the pause)` : "n/a",
    fmt(memory.itemsPerS / (pyMemory?.itemsPerS ?? NaN), 2, "x"),
    "",
    "",
  ],
]);
reportRows([
  {
    workload: `imap ${flags.items} items, paused ${flags.pauseMs} ms: peak RSS growth`,
    ours: fmt(ourGrowth, 1, " MB"),
    against: "Python Pool.imap",
    theirs: fmt(pyMemory?.peakGrowthMb ?? NaN, 1, " MB"),
    ratio: (pyMemory?.peakGrowthMb ?? NaN) / ourGrowth,
    target: `<= ${RSS_TARGET_MB} MB`,
    pass: ourGrowth <= RSS_TARGET_MB,
  },
  {
    workload: `imap ${flags.items} items: throughput`,
    ours: perS(ourSpeed),
    against: `Python imap(chunksize=${flags.chunksize})`,
    theirs: perS(pySpeed),
    ratio: speedRatio,
    target: `>= ${SPEED_TARGET}x`,
    pass: pyRuns.length > 0 ? speedRatio >= SPEED_TARGET : undefined,
  },
]);
console.log(
  `our peak growth: VmHWM ${fmt(hwmGrowthMb)} MB, sampled rss ${fmt(sampledGrowthMb)} MB; ` +
    `throughput runs (M items/s): ours ${ourRuns.map((v) => fmt(v / 1e6, 2)).join(" ")}` +
    (pyRuns.length > 0 ? `; Python ${pyRuns.map((v) => fmt(v / 1e6, 2)).join(" ")}` : ""),
);
