// Issue 12, point 3: out-of-memory is contained. A task that exhausts its
// worker's heap limit (`maxHeapMb`) fails alone with WorkerCrashedError
// saying it ran out of memory, a task on another worker finishes, and the
// pool heals. The thread backend applies a default limit.

import assert from "node:assert/strict";
import { Pool, Process, WorkerCrashedError } from "../mod.ts";
import { DEFAULT_THREAD_HEAP_MB } from "../src/_thread_transport.ts";
import { fault, faulty, withFaults } from "./_fault_helpers.ts";
import { BACKENDS, withPool } from "./_helpers.ts";

for (const backend of BACKENDS) {
  Deno.test(`[${backend}] 3: a task that exhausts maxHeapMb fails alone; the pool heals`, async (t) => {
    await withFaults({ backend, size: 2, maxHeapMb: 48 }, async (pool) => {
      for (const where of ["sync", "async", "timer"] as const) {
        await t.step(`allocating ${where}`, async () => {
          await fault(
            pool,
            () => pool.apply(faulty.exhaustHeap, [where]),
            WorkerCrashedError,
            /^Worker ran out of memory: JavaScript heap out of memory \(maxHeapMb 48\)$/,
          );
        });
      }
      assert.equal(pool.stats().replaced, 3);
    });
  });
}

Deno.test("[thread] 3: threads get a heap limit by default (the main thread's), or maxHeapMb", async () => {
  const limit = async () => (await import("node:worker_threads")).resourceLimits;
  await withPool({ size: 1 }, async (pool) => {
    const limits = await pool.apply(limit, []);
    assert.equal(limits.maxOldGenerationSizeMb, DEFAULT_THREAD_HEAP_MB);
  });
  await withPool({ size: 1, maxHeapMb: 100 }, async (pool) => {
    assert.equal((await pool.apply(limit, [])).maxOldGenerationSizeMb, 100);
  });
  assert.ok(DEFAULT_THREAD_HEAP_MB >= 256, `${DEFAULT_THREAD_HEAP_MB} MB`);
});

Deno.test("8: maxHeapMb must be a positive integer", () => {
  for (const bad of [0, -1, 1.5, "64", NaN]) {
    assert.throws(() => new Pool({ size: 1, maxHeapMb: bad as number }), {
      name: "RangeError",
      message: /^Option maxHeapMb must be a positive integer, got /,
    });
    assert.throws(() => new Process({ target: () => {}, maxHeapMb: bad as number }), RangeError);
  }
});

Deno.test("[thread] maxHeapMb with permissions (Web Worker threads) is refused, naming the way out", () => {
  assert.throws(() => new Pool({ size: 1, maxHeapMb: 64, permissions: "none" }), {
    name: "TypeError",
    message: /maxHeapMb cannot be combined with permissions.*use backend "process"/,
  });
});
