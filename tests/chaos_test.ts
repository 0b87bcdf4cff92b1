// Issue 6, point 13: the chaos soak. Thousands of tiny tasks, a few percent
// of which throw, crash, close or exit their worker, hang past a timeout or
// are aborted: every promise settles as it should, every good result is
// right, and the pool ends at full size without ever holding more live
// workers than its size. `deno task bench:chaos` runs a longer soak.
// MULTIPOOL_SEED replays a run.

import assert from "node:assert/strict";
import { liveWorkerCount, type Pool } from "../mod.ts";
import { FAULTS, runChaos } from "./_chaos.ts";
import { until, withFaults } from "./_fault_helpers.ts";

const SEED = Number(Deno.env.get("MULTIPOOL_SEED") ?? 20240611);
/** The soak must finish well within this (it takes a few seconds on 2 cores). */
const LIMIT_MS = 60_000;

Deno.test(`chaos soak: every task settles as it should (seed ${SEED})`, async () => {
  await withFaults({ size: 2 }, async (pool: Pool) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const limit = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`not settled after ${LIMIT_MS} ms`)), LIMIT_MS);
    });
    const run = runChaos(pool, {
      tasks: 3000,
      faultRate: 0.04,
      seed: SEED,
      window: 64,
      hangTimeout: 250,
      mapEvery: 250,
    });
    try {
      const report = await Promise.race([run, limit]);
      assert.deepEqual(report.wrong, []);
      const settled = Object.values(report.outcomes).reduce((a, b) => a + b, 0);
      assert.equal(settled, 3000 + 12, "every call settled, each starmap counted once");
      for (const kind of FAULTS) {
        assert.ok((report.outcomes[kind] ?? 0) > 0, `no "${kind}" fault was drawn`);
      }
      assert.ok(report.peakLive <= pool.size, `${report.peakLive} live workers`);
      assert.ok(pool.stats().replaced >= 40, `replaced ${pool.stats().replaced}`);
      await until(() => pool.stats().alive === pool.size, "the pool to be at full size");
      assert.equal(liveWorkerCount(), pool.size);
    } finally {
      clearTimeout(timer);
    }
  });
});
