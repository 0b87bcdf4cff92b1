/**
 * `deno task bench:python`: multipool's `Pool(2)` against Python's
 * `multiprocessing.Pool(2)` on the same workloads, measured in one run on
 * the same machine, printed as a table of ratios with PASS/MISS per target.
 *
 * - **map of 1e6 trivial items** (`x * x` over `0..1e6`, default chunksize
 *   on both sides). Target: ours at least 3x faster than Python's `Pool.map`.
 * - **sequential apply round trip, p50**: `await pool.apply(echo, [i])`
 *   against a raw Worker `postMessage` round trip, interleaved one by one so
 *   both see the same machine noise. Target: ours at most 1.5x raw. Python's
 *   `pool.apply` p50 is shown for reference.
 *
 * Every figure is a median over `--runs` rounds after a warm-up; each
 * round runs Python first (a fresh `bench/python/pool_compare.py` process:
 * warm-up, one map run, its applies) and then ours, so both sides meet the
 * same machine noise. Set `$PYTHON` to use another interpreter. Rerun with `deno task bench:python`, or
 * `deno run -A bench/python_compare.ts --runs 9 --applies 5000`.
 *
 * @module
 */

import { Pool } from "../mod.ts";
import { reportRows } from "./_report.ts";
import {
  echo,
  fmt,
  median,
  numberFlags,
  percentile,
  printTable,
  range,
  RawEcho,
  runPython,
  square,
  verdict,
} from "./_pool_workloads.ts";

interface PythonFigures {
  python: string;
  startMethod: string;
  size: number;
  items: number;
  mapMs: number[];
  serialMs: number[];
  applyP50Us: number;
  applyMeanUs: number;
}

const flags = numberFlags(Deno.args, { items: 1_000_000, runs: 7, applies: 3000, size: 2 });
const MAP_TARGET = 3;
const APPLY_TARGET = 1.5;

console.log(
  `Pool(${flags.size}): map of ${flags.items} items x ${flags.runs} runs, ` +
    `${flags.applies} sequential applies x ${flags.runs} runs; ${navigator.hardwareConcurrency} CPUs`,
);

const items = range(flags.items);
const pool = new Pool({ size: flags.size });
const raw = new RawEcho();
const pyRuns: PythonFigures[] = [];
let pySkipped: string | undefined;
try {
  // Warm up: workers started, task compiled and JIT-warm on both sides.
  for (let i = 0; i < 3; i++) await pool.map(square, items);
  for (let i = 0; i < 500; i++) {
    await pool.apply(echo, [i]);
    await raw.roundTrip(i);
  }

  const mapMs: number[] = [];
  const loopMs: number[] = [];
  const poolP50: number[] = [];
  const rawP50: number[] = [];
  const ratios: number[] = [];
  // Rounds: Python (a fresh process: warm-up, one map run, its applies), then ours,
  // so both sides see the same stretch of machine noise.
  for (let r = 0; r < flags.runs; r++) {
    if (pySkipped === undefined) {
      const py = await runPython<PythonFigures>("pool_compare.py", [
        "--items",
        String(flags.items),
        "--runs",
        "1",
        "--applies",
        String(flags.applies),
        "--size",
        String(flags.size),
      ]);
      if (py.ok) pyRuns.push(py.value);
      else pySkipped = py.reason;
    }

    const start = performance.now();
    const out = await pool.map(square, items);
    mapMs.push(performance.now() - start);
    if (out.length !== items.length || out[items.length - 1] !== square(items.length - 1)) {
      throw new Error("map returned wrong results");
    }

    const loopStart = performance.now();
    const serial = new Array<number>(items.length);
    for (let i = 0; i < items.length; i++) serial[i] = square(items[i]);
    loopMs.push(performance.now() - loopStart);

    // Ours and raw interleaved one by one (alternating which goes first).
    const ours: number[] = [];
    const bare: number[] = [];
    for (let i = 0; i < flags.applies; i++) {
      for (const which of i % 2 === 0 ? [0, 1] : [1, 0]) {
        const t = performance.now();
        if (which === 0) await pool.apply(echo, [i]);
        else await raw.roundTrip(i);
        (which === 0 ? ours : bare).push((performance.now() - t) * 1e3);
      }
    }
    const p = percentile(ours, 50);
    const b = percentile(bare, 50);
    poolP50.push(p);
    rawP50.push(b);
    ratios.push(p / b);
  }
  if (pySkipped !== undefined) console.log(`Python comparison skipped: ${pySkipped}`);
  const py = pyRuns.length > 0
    ? {
      ok: true as const,
      value: {
        ...pyRuns[0],
        mapMs: pyRuns.flatMap((run) => run.mapMs),
        serialMs: pyRuns.flatMap((run) => run.serialMs),
        applyP50Us: median(pyRuns.map((run) => run.applyP50Us)),
        applyMeanUs: median(pyRuns.map((run) => run.applyMeanUs)),
      },
    }
    : { ok: false as const };

  const ourMap = median(mapMs);
  const pyMap = py.ok ? median(py.value.mapMs) : NaN;
  const mapSpeedup = pyMap / ourMap;
  const applyRatio = median(ratios);
  const ourApply = median(poolP50);
  const rawApply = median(rawP50);
  const pyApply = py.ok ? py.value.applyP50Us : NaN;

  console.log(
    py.ok
      ? `Python ${py.value.python} (${py.value.startMethod}), Deno ${Deno.version.deno}`
      : `Deno ${Deno.version.deno}`,
  );
  printTable(["workload", "multipool", "Python", "raw Worker", "ratio", "target", "result"], [
    [
      `map ${flags.items} x*x, Pool(${flags.size})`,
      fmt(ourMap, 1, " ms"),
      fmt(pyMap, 1, " ms"),
      "",
      fmt(mapSpeedup, 2, "x faster than Python"),
      `>= ${MAP_TARGET}x`,
      py.ok ? verdict(mapSpeedup >= MAP_TARGET) : "n/a",
    ],
    [
      `same, serial on one thread`,
      fmt(median(loopMs), 1, " ms (loop)"),
      fmt(py.ok ? median(py.value.serialMs) : NaN, 1, " ms (map)"),
      "",
      "",
      "",
      "",
    ],
    [
      "sequential apply round trip p50",
      fmt(ourApply, 1, " µs"),
      fmt(pyApply, 1, " µs"),
      fmt(rawApply, 1, " µs"),
      fmt(applyRatio, 2, "x raw") +
      (py.ok ? ` (${fmt(pyApply / ourApply, 1)}x faster than Python)` : ""),
      `<= ${APPLY_TARGET}x raw`,
      verdict(applyRatio <= APPLY_TARGET),
    ],
  ]);
  console.log(
    `map runs (ms): ours ${mapMs.map((v) => fmt(v)).join(" ")}` +
      (py.ok ? `; Python ${py.value.mapMs.map((v) => fmt(v)).join(" ")}` : ""),
  );
  reportRows([
    {
      workload: `map ${flags.items} x*x, Pool(${flags.size})`,
      ours: fmt(ourMap, 1, " ms"),
      against: "Python Pool.map",
      theirs: fmt(pyMap, 1, " ms"),
      ratio: mapSpeedup,
      target: `>= ${MAP_TARGET}x`,
      pass: py.ok ? mapSpeedup >= MAP_TARGET : undefined,
    },
    {
      workload: "sequential apply round trip p50",
      ours: fmt(ourApply, 1, " µs"),
      against: "raw Worker postMessage",
      theirs: fmt(rawApply, 1, " µs"),
      ratio: 1 / applyRatio,
      target: `>= ${(1 / APPLY_TARGET).toFixed(2)}x (<= ${APPLY_TARGET}x raw)`,
      pass: applyRatio <= APPLY_TARGET,
    },
    {
      workload: "sequential apply round trip p50",
      ours: fmt(ourApply, 1, " µs"),
      against: "Python Pool.apply",
      theirs: fmt(pyApply, 1, " µs"),
      ratio: pyApply / ourApply,
    },
  ]);
  console.log(
    `apply p50 per run (µs): ours ${poolP50.map((v) => fmt(v)).join(" ")}; ` +
      `raw ${rawP50.map((v) => fmt(v)).join(" ")}` +
      (py.ok ? `; Python mean ${fmt(py.value.applyMeanUs)}` : ""),
  );
} finally {
  raw.close();
  await pool.terminate();
}
