/**
 * The long chaos soak (issue 6, point 13): rounds of tiny tasks, a few
 * percent of which throw, crash, close or exit their worker, hang past a
 * timeout or are aborted, on one pool. Prints tasks/s per round and the
 * process RSS before and after, so that leaks (workers, timers, listeners,
 * pending promises) show as growth from round to round. A clean round
 * without faults gives the baseline throughput.
 *
 * ```sh
 * deno task bench:chaos [--rounds 4] [--tasks 20000] [--fault-rate 0.02] [--size 2] [--seed 1]
 * ```
 *
 * Exits with code 1 when a task settled wrongly or the pool did not heal.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { liveWorkerCount, Pool } from "../mod.ts";
import { type ChaosReport, runChaos } from "../tests/_chaos.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    rounds: { type: "string", default: "4" },
    tasks: { type: "string", default: "20000" },
    "fault-rate": { type: "string", default: "0.02" },
    size: { type: "string", default: String(navigator.hardwareConcurrency) },
    seed: { type: "string", default: "1" },
  },
});
const rounds = Number(values.rounds);
const tasks = Number(values.tasks);
const faultRate = Number(values["fault-rate"]);
const size = Number(values.size);
const seed = Number(values.seed);

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`;
const rss = () => Deno.memoryUsage().rss;

function line(label: string, report: ChaosReport, replaced: number): string {
  const faults = Object.entries(report.outcomes)
    .filter(([kind]) => kind !== "ok" && kind !== "okAsync" && kind !== "starmap")
    .reduce((sum, [, n]) => sum + n, 0);
  const rate = Math.round(report.calls / (report.ms / 1000));
  return `${label.padEnd(10)} ${String(report.calls).padStart(7)} calls ${
    String(faults).padStart(5)
  } faults ${String(rate).padStart(7)} tasks/s ${
    String(replaced).padStart(5)
  } workers replaced  RSS ${mb(rss())}  heap ${
    mb(Deno.memoryUsage().heapUsed)
  }  peak live ${report.peakLive}`;
}

const pool = new Pool({ size });
await pool.map((x: number) => x, Array.from({ length: 1000 }, (_, i) => i)); // warm up
const rssBefore = rss();
console.log(
  `chaos soak: Pool({ size: ${size} }), ${rounds} rounds of ${tasks} tasks, fault rate ${faultRate}, seed ${seed}`,
);
console.log(`RSS before: ${mb(rssBefore)}`);

let failed = false;
const options = { tasks, seed, window: 16 * size, hangTimeout: 100, mapEvery: 500 };
const clean = await runChaos(pool, { ...options, faultRate: 0 });
console.log(line("clean", clean, pool.stats().replaced));
let replaced = pool.stats().replaced;
for (let round = 1; round <= rounds; round++) {
  const report = await runChaos(pool, { ...options, faultRate, seed: seed + round });
  console.log(line(`round ${round}`, report, pool.stats().replaced - replaced));
  replaced = pool.stats().replaced;
  if (report.wrong.length > 0 || report.peakLive > size) {
    failed = true;
    console.log(`  ${report.wrong.length} settled wrongly, e.g. ${report.wrong.slice(0, 3)}`);
  }
}
const stats = pool.stats();
if (stats.alive !== size) {
  failed = true;
  console.log(`pool ended with ${stats.alive} of ${size} workers`);
}
const rssAfter = rss();
await pool.terminate();
console.log(
  `RSS after: ${mb(rssAfter)} (${rssAfter >= rssBefore ? "+" : ""}${
    mb(rssAfter - rssBefore)
  }); after terminate(): ${mb(rss())}, live workers ${liveWorkerCount()}`,
);
if (failed || liveWorkerCount() !== 0) Deno.exit(1);
