/**
 * Sequential `apply` round trip against a raw Worker `postMessage` round
 * trip, with a control: a second, identical raw worker against the first.
 *
 * The three round trips are interleaved one by one (the order rotates) in
 * blocks; each block gives a p50 per side, and the ratios reported are the
 * medians of the per-block ratios, so both sides of a ratio always meet the
 * same stretch of machine noise.
 *
 * The control says whether the figure means anything. Which CPU a worker
 * thread wakes on is the scheduler's choice, it sticks for seconds, and on
 * a virtual machine waking an idle vCPU can cost more than the whole round
 * trip; then two identical raw workers differ by 3x and so does anything
 * compared with them. Pinned to one CPU (`--pin`, Linux `taskset`) every hop
 * is a plain thread switch: the ratio is the CPU cost of the pool, and the
 * control stays at 1.00.
 *
 * Run alone: `deno run -A bench/apply_latency.ts [--pin] [--blocks 60 --pairs 200]`;
 * `deno task bench:python` runs it both ways and prints the table.
 *
 * @module
 */

import { Pool } from "../mod.ts";
import { type ApplyBreakdown, breakdownLines, measureApplyBreakdown } from "./_apply_breakdown.ts";
import {
  echo,
  fmt,
  type JsonResult,
  median,
  numberFlags,
  percentile,
  RawEcho,
  runJson,
  verdict,
} from "./_pool_workloads.ts";

/** The target: `apply` p50 at most this many times the raw round trip of `{ id, args }`. */
export const APPLY_TARGET = 1.5;
/** The target: `apply` p50 at most this many times the minimal raw round trip (a bare number). */
export const MINIMAL_TARGET = 1.3;
/** How far from 1.00 the control may be for a measurement to be judged. */
export const CONTROL_TOLERANCE = 0.1;

/** What one measurement found; round trips in µs, ratios as medians of per-block ratios. */
export interface ApplyLatency {
  /** Whether the process was pinned to one CPU. */
  pinned: boolean;
  /** p50 of `await pool.apply(echo, [i])` over all blocks. */
  applyUs: number;
  /** p50 of the raw round trip over all blocks. */
  rawUs: number;
  /** Median over blocks of apply p50 / raw p50. */
  ratio: number;
  /** p50 of the minimal raw round trip (a bare number, echoed) over all blocks. */
  minimalUs: number;
  /** Median over blocks of apply p50 / minimal raw p50. */
  minimalRatio: number;
  /** Median over blocks of the second raw worker's p50 / the first's: 1.00 when the measure is sound. */
  control: number;
  /** Where the time over the minimal round trip goes, each part timed alone in the same process. */
  breakdown: ApplyBreakdown;
}

/** Options of {@linkcode measureApplyLatency}. */
export interface ApplyLatencyOptions {
  /** Blocks measured (each gives one ratio). */
  blocks: number;
  /** Round trips per side in a block. */
  pairs: number;
  /** Pool size. */
  size: number;
}

/** Measures in this process, as it is scheduled now. */
export async function measureApplyLatency(options: ApplyLatencyOptions): Promise<ApplyLatency> {
  const pool = new Pool({ size: options.size });
  const raw = new RawEcho();
  const twin = new RawEcho();
  const minimal = new RawEcho({ minimal: true });
  const sides = [
    (i: number) => pool.apply(echo, [i]),
    (i: number) => raw.roundTrip(i),
    (i: number) => twin.roundTrip(i),
    (i: number) => minimal.roundTrip(i),
  ];
  try {
    // Warm up: workers started, task loaded, everything JIT-compiled.
    for (let i = 0; i < 1000; i++) for (const side of sides) await side(i);
    const all = sides.map(() => [] as number[]);
    const ratios: number[] = [];
    const controls: number[] = [];
    const minimalRatios: number[] = [];
    for (let block = 0; block < options.blocks; block++) {
      const times = sides.map(() => [] as number[]);
      for (let i = 0; i < options.pairs; i++) {
        for (let k = 0; k < sides.length; k++) {
          const which = (i + k) % sides.length;
          const start = performance.now();
          await sides[which](i);
          times[which].push((performance.now() - start) * 1e3);
        }
      }
      const [apply, bare, other, least] = times.map((t) => percentile(t, 50));
      ratios.push(apply / bare);
      controls.push(other / bare);
      minimalRatios.push(apply / least);
      times.forEach((t, k) => all[k].push(...t));
    }
    const breakdown = await measureApplyBreakdown();
    return {
      pinned: false,
      breakdown,
      applyUs: median(all[0]),
      rawUs: median(all[1]),
      ratio: median(ratios),
      control: median(controls),
      minimalUs: median(all[3]),
      minimalRatio: median(minimalRatios),
    };
  } finally {
    raw.close();
    twin.close();
    minimal.close();
    await pool.terminate();
  }
}

/** Why a pinned measurement could not run, or its result. */
export type PinnedResult = JsonResult<ApplyLatency>;

/** Measures in a child process pinned to CPU 0 with `taskset` (Linux). */
export async function measurePinned(options: ApplyLatencyOptions): Promise<PinnedResult> {
  const result = await runJson<ApplyLatency>("taskset", [
    "-c",
    "0",
    Deno.execPath(),
    "run",
    "-A",
    new URL(import.meta.url).pathname,
    "--json",
    ...Object.entries(options).flatMap(([key, value]) => [`--${key}`, String(value)]),
  ]);
  return result.ok ? { ok: true, value: { ...result.value, pinned: true } } : result;
}

/** Whether a measurement can be judged: its control (identical raw workers) agrees. */
export function isSound(measured: ApplyLatency): boolean {
  return Math.abs(measured.control - 1) <= CONTROL_TOLERANCE;
}

/** The raw round trips `apply` is compared with: `{ id, args }` echoed, or a bare number. */
export type Baseline = "raw" | "minimal";

/** Each baseline's target, what it is, and where a measurement keeps its figures. */
export const BASELINES: Readonly<
  Record<Baseline, {
    readonly target: number;
    readonly what: string;
    readonly us: (m: ApplyLatency) => number;
    readonly ratio: (m: ApplyLatency) => number;
  }>
> = {
  raw: { target: APPLY_TARGET, what: "raw", us: (m) => m.rawUs, ratio: (m) => m.ratio },
  minimal: {
    target: MINIMAL_TARGET,
    what: "minimal raw",
    us: (m) => m.minimalUs,
    ratio: (m) => m.minimalRatio,
  },
};

/** Whether the target against `baseline` is met; undefined when the measurement is not sound. */
export function meetsTarget(
  measured: ApplyLatency,
  baseline: Baseline = "raw",
): boolean | undefined {
  const { target, ratio } = BASELINES[baseline];
  return isSound(measured) ? ratio(measured) <= target : undefined;
}

/** PASS/MISS against `baseline`, or why the measurement is not judged. */
export function applyVerdict(measured: ApplyLatency, baseline: Baseline = "raw"): string {
  const met = meetsTarget(measured, baseline);
  return met === undefined ? `n/a (control ${fmt(measured.control, 2)})` : verdict(met);
}

if (import.meta.main) {
  const pin = Deno.args.includes("--pin");
  const json = Deno.args.includes("--json");
  const options = numberFlags(Deno.args.filter((arg) => arg !== "--pin" && arg !== "--json"), {
    blocks: 60,
    pairs: 200,
    size: 2,
  });
  const result: PinnedResult = pin
    ? await measurePinned(options)
    : { ok: true, value: await measureApplyLatency(options) };
  if (!result.ok) throw new Error(result.reason);
  const measured = result.value;
  if (json) {
    console.log(JSON.stringify(measured));
  } else {
    console.log(
      `${measured.pinned ? "pinned to CPU 0" : "unpinned"}: apply p50 ${
        fmt(measured.applyUs)
      } µs, ` +
        `raw Worker postMessage p50 ${fmt(measured.rawUs)} µs: ${fmt(measured.ratio, 2)}x raw ` +
        `(target <= ${APPLY_TARGET}x: ${applyVerdict(measured)}); control ${
          fmt(measured.control, 2)
        }`,
    );
    console.log(
      `  minimal raw round trip (a bare number) p50 ${fmt(measured.minimalUs)} µs: apply is ${
        fmt(measured.minimalRatio, 2)
      }x (target <= ${MINIMAL_TARGET}x: ${applyVerdict(measured, "minimal")})`,
    );
    for (const line of breakdownLines(measured.breakdown, measured.applyUs - measured.minimalUs)) {
      console.log(line);
    }
  }
}
