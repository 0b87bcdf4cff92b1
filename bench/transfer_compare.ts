/**
 * `deno task bench:transfer`: a 64 MB `Float64Array` argument to `apply`,
 * copied (structured clone) against moved (`transfer` option), rounds
 * interleaved in one run; the task only reads the length, so the figures
 * are the cost of getting the argument to the worker and back. Target: the
 * move at least 20x cheaper than the copy (issue 13, point 4).
 *
 * Then `kernels.sum` of the same 64 MB: over a `SharedArrayBuffer`
 * (shared with the worker, no copy on the way) against the same array
 * copied and moved, rounds interleaved; each call also copies the array
 * into WASM memory once and sums it (issue 13, point 5).
 *
 * @module
 */

import { kernels, Pool } from "../mod.ts";
import { fmt, median, verdict } from "./_pool_workloads.ts";
import { type ReportRow, reportRows } from "./_report.ts";

const MB = 64;
const ROUNDS = 9;
const TARGET = 20;
const LENGTH = (MB << 20) / 8;

type Way = "shared" | "copied" | "moved";

const length = (a: Float64Array) => a.length;
const pool = new Pool({ size: 1 });
const copied: number[] = [];
const moved: number[] = [];
const kernel: Record<Way, number[]> = { shared: [], copied: [], moved: [] };
try {
  await pool.apply(length, [new Float64Array(8)]);
  for (let round = 0; round < ROUNDS; round++) {
    for (const move of round % 2 === 0 ? [false, true] : [true, false]) {
      const big = new Float64Array(LENGTH).fill(round);
      const start = performance.now();
      await pool.apply(length, [big], move ? { transfer: [big.buffer] } : {});
      (move ? moved : copied).push(performance.now() - start);
    }
  }
  await sumRounds();
} finally {
  await pool.terminate();
}

/** `kernels.sum` of 64 MB, each way once per round, in a rotating order. */
async function sumRounds(): Promise<void> {
  const shared = new Float64Array(new SharedArrayBuffer(LENGTH * 8)).fill(1);
  const plain = new Float64Array(LENGTH).fill(1);
  // Warm up: the module is sent and instantiated, its memory grows to fit 64 MB.
  await pool.apply(kernels.sum, [plain]);
  const ways: Way[] = ["shared", "copied", "moved"];
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < ways.length; k++) {
      const way = ways[(round + k) % ways.length];
      const fresh = way === "moved" ? new Float64Array(LENGTH).fill(1) : undefined;
      const start = performance.now();
      const sum = way === "shared"
        ? await pool.apply(kernels.sum, [shared])
        : way === "copied"
        ? await pool.apply(kernels.sum, [plain])
        : await pool.apply(kernels.sum, [fresh!], { transfer: [fresh!.buffer] });
      kernel[way].push(performance.now() - start);
      if (sum !== LENGTH) throw new Error(`kernels.sum (${way}) returned ${sum}, not ${LENGTH}`);
    }
  }
}

const copy = median(copied);
const move = median(moved);
const ratio = copy / move;
console.log(`apply with a ${MB} MB Float64Array, median of ${ROUNDS} rounds each:`);
console.log(`  copied (structured clone): ${fmt(copy)} ms`);
console.log(`  moved (transfer option):   ${fmt(move, 2)} ms`);
console.log(
  `  moved is ${fmt(ratio)}x cheaper (target >= ${TARGET}x: ${verdict(ratio >= TARGET)})`,
);

const sum = {
  shared: median(kernel.shared),
  copied: median(kernel.copied),
  moved: median(kernel.moved),
};
console.log(`kernels.sum of a ${MB} MB Float64Array (apply), median of ${ROUNDS} rounds each:`);
console.log(`  shared (SharedArrayBuffer): ${fmt(sum.shared)} ms`);
console.log(`  copied (structured clone):  ${fmt(sum.copied)} ms`);
console.log(`  moved (transfer option):    ${fmt(sum.moved)} ms`);
console.log(
  `  shared is ${fmt(sum.copied / sum.shared)}x cheaper than copied, ` +
    `${fmt(sum.shared / sum.moved, 2)}x the time of moved (both copy into WASM memory once)`,
);

const rows: ReportRow[] = [{
  workload: `apply with a ${MB} MB argument`,
  ours: `moved ${fmt(move, 2)} ms`,
  against: "copied (structured clone)",
  theirs: `${fmt(copy)} ms`,
  ratio,
  target: `>= ${TARGET}x`,
  pass: ratio >= TARGET,
}, {
  workload: `kernels.sum of a ${MB} MB Float64Array`,
  ours: `shared ${fmt(sum.shared)} ms`,
  against: "copied (structured clone)",
  theirs: `${fmt(sum.copied)} ms`,
  ratio: sum.copied / sum.shared,
}, {
  workload: `kernels.sum of a ${MB} MB Float64Array`,
  ours: `shared ${fmt(sum.shared)} ms`,
  against: "moved (transfer option)",
  theirs: `${fmt(sum.moved)} ms`,
  ratio: sum.moved / sum.shared,
}];
reportRows(rows);
