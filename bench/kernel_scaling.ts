/**
 * How `kernels.countPrimes` over `[0, 2e7)` scales from `Pool(1)` to
 * `Pool(2)` (issue 4 target: at least 1.85x on 2 cores). The range is cut in
 * 64 chunks, as in the Python anchor (primes below 5e6 in 64 chunks: 2.1-2.3x).
 * Best of `--runs` runs per pool size, measured in one run of this script.
 *
 * Run: `deno task bench:scaling [--hi 20000000] [--chunks 64] [--runs 3]`
 *
 * @module
 */
import { compileKernels, kernels, Pool } from "../mod.ts";
import { reportRows } from "./_report.ts";

function flag(name: string, fallback: number): number {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Number(Deno.args[i + 1]) : fallback;
}

const hi = flag("hi", 2e7);
const chunks = flag("chunks", 64);
const runs = flag("runs", 3);
const ranges: [number, number][] = Array.from(
  { length: chunks },
  (_, i) => [Math.floor((i * hi) / chunks), Math.floor(((i + 1) * hi) / chunks)],
);

/** Best wall time (ms) of `runs` maps over `ranges` on a pool of `size`, and the prime count. */
async function measure(size: number): Promise<{ ms: number; primes: number }> {
  await using pool = new Pool({ size });
  await pool.map(kernels.countPrimes, ranges.slice(0, size)); // warm: start, instantiate
  let best = Infinity;
  let primes = 0;
  for (let r = 0; r < runs; r++) {
    const start = performance.now();
    const counts = await pool.map(kernels.countPrimes, ranges, { chunksize: 1 });
    best = Math.min(best, performance.now() - start);
    primes = counts.reduce((a, b) => a + b, 0);
  }
  return { ms: best, primes };
}

await compileKernels();
const one = await measure(1);
const two = await measure(2);
if (one.primes !== two.primes) {
  throw new Error(`Prime counts differ: ${one.primes} vs ${two.primes}`);
}
const speedup = one.ms / two.ms;
console.log(`countPrimes [0, ${hi}) in ${chunks} chunks: ${one.primes} primes`);
console.log(`  Pool(1)  ${one.ms.toFixed(0).padStart(6)} ms`);
console.log(`  Pool(2)  ${two.ms.toFixed(0).padStart(6)} ms`);
console.log(
  `  speedup  ${speedup.toFixed(2)}x (target >= 1.85x: ${speedup >= 1.85 ? "PASS" : "MISS"}; ` +
    `${navigator.hardwareConcurrency} cores)`,
);
reportRows([{
  workload: `countPrimes [0, ${hi}), ${chunks} chunks`,
  ours: `Pool(2) ${two.ms.toFixed(0)} ms`,
  against: "Pool(1)",
  theirs: `${one.ms.toFixed(0)} ms`,
  ratio: speedup,
  target: ">= 1.85x",
  pass: speedup >= 1.85,
}]);
