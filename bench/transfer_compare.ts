/**
 * `deno task bench:transfer`: a 64 MB `Float64Array` argument to `apply`,
 * copied (structured clone) against moved (`transfer` option), rounds
 * interleaved in one run; the task only reads the length, so the figures
 * are the cost of getting the argument to the worker and back. Target: the
 * move at least 20x cheaper than the copy (issue 13, point 4).
 *
 * @module
 */

import { Pool } from "../mod.ts";
import { fmt, median, verdict } from "./_pool_workloads.ts";
import { reportRows } from "./_report.ts";

const MB = 64;
const ROUNDS = 9;
const TARGET = 20;

const length = (a: Float64Array) => a.length;
const pool = new Pool({ size: 1 });
const copied: number[] = [];
const moved: number[] = [];
try {
  await pool.apply(length, [new Float64Array(8)]);
  for (let round = 0; round < ROUNDS; round++) {
    for (const move of round % 2 === 0 ? [false, true] : [true, false]) {
      const big = new Float64Array((MB << 20) / 8).fill(round);
      const start = performance.now();
      await pool.apply(length, [big], move ? { transfer: [big.buffer] } : {});
      (move ? moved : copied).push(performance.now() - start);
    }
  }
} finally {
  await pool.terminate();
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
reportRows([{
  workload: `apply with a ${MB} MB argument`,
  ours: `moved ${fmt(move, 2)} ms`,
  against: "copied (structured clone)",
  theirs: `${fmt(copy)} ms`,
  ratio,
  target: `>= ${TARGET}x`,
  pass: ratio >= TARGET,
}]);
