/**
 * A CPU-bound WASM kernel (counting primes) on one worker, then on all
 * cores.
 *
 * @module
 */

import { kernels, Pool } from "../mod.ts";
import { formatMs, now, type PartOptions } from "./output.ts";

/** What {@linkcode cpuSpeedup} measured. */
export interface CpuSpeedupResult {
  /** Primes below the limit, as counted by each run (they must agree). */
  counts: number[];
  /** Wall time on `Pool({ size: 1 })`, then on `Pool({ size: n })` (ms). */
  times: number[];
  /** Workers of the parallel run: `navigator.hardwareConcurrency`. */
  workers: number;
}

/** Counts the primes below 2e7 (2e6 when quick) in 64 chunks on 1 worker, then on n workers. */
export async function cpuSpeedup(options: PartOptions = {}): Promise<CpuSpeedupResult> {
  const print = options.print ?? console.log;
  const limit = options.quick ? 2e6 : 2e7;
  const chunks: [number, number][] = [];
  for (let i = 0; i < 64; i++) chunks.push([(limit * i) / 64, (limit * (i + 1)) / 64]);
  const workers = navigator.hardwareConcurrency;
  const load = Deno.loadavg()[0].toFixed(1);
  print(`kernels.countPrimes over [0, ${limit.toLocaleString("en")}) in ${chunks.length} chunks`);
  print(`${workers} cores, load average ${load} before the runs (other programs slow them down)`);
  const counts: number[] = [];
  const times: number[] = [];
  for (const size of [1, workers]) {
    await using pool = new Pool({ size });
    // Start the workers and instantiate the kernel in each, so the timing is the work alone.
    await pool.starmap(kernels.countPrimes, Array(size).fill([0, 1]), { chunksize: 1 });
    const start = now();
    const perChunk = await pool.starmap(kernels.countPrimes, chunks, { chunksize: 1 });
    times.push(now() - start);
    counts.push(perChunk.reduce((a, b) => a + b, 0));
    print(`Pool(${size}): ${counts.at(-1)} primes in ${formatMs(times.at(-1)!)}`);
  }
  print(`Speedup ${(times[0] / times[1]).toFixed(2)}x with ${workers} workers`);
  return { counts, times, workers };
}
