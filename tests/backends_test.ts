// Issue 12, point 1: every Pool feature works on both local backends. The
// reliability and sandbox suites run on both too; this one walks through
// the API once per backend, with values only structured clone keeps.

import assert from "node:assert/strict";
import { kernels, liveWorkerCount, Pool, QueueFullError, TaskTimeoutError } from "../mod.ts";
import { BACKENDS, drain, range, tasks, withPool } from "./_helpers.ts";

for (const backend of BACKENDS) {
  Deno.test(`[${backend}] 1: every Pool method, on one pool`, async (t) => {
    await withPool(
      { size: 2, backend, initializer: tasks.setup, initArgs: ["ready"] },
      async (pool) => {
        await t.step("apply, applyAsync", async () => {
          assert.equal(await pool.apply(tasks.add, [2, 3]), 5);
          let seen: number | undefined;
          const r = pool.applyAsync(tasks.square, [4], { callback: (v) => (seen = v) });
          assert.equal(await r.get(5000), 16);
          assert.equal(seen, 16);
        });
        await t.step("map, mapAsync, starmap, starmapAsync", async () => {
          const xs = range(10_000);
          assert.deepEqual(await pool.map(tasks.square, xs), xs.map((x) => x * x));
          assert.deepEqual(await pool.mapAsync(tasks.square, [1, 2]), [1, 4]);
          assert.deepEqual(await pool.starmap(tasks.add, [[1, 2], [3, 4]]), [3, 7]);
          assert.deepEqual(await pool.starmapAsync(tasks.add, [[5, 6]]), [11]);
        });
        await t.step("imap, imapUnordered over a generator", async () => {
          function* numbers() {
            for (let i = 0; i < 500; i++) yield i;
          }
          const ordered = await drain(pool.imap(tasks.square, numbers()));
          assert.deepEqual(ordered.values, range(500).map((x) => x * x));
          const unordered = await drain(
            pool.imapUnordered(tasks.square, numbers(), { chunksize: 7 }),
          );
          assert.deepEqual(unordered.values.sort((a, b) => a - b), range(500).map((x) => x * x));
        });
        await t.step("initializer and initArgs ran in every worker", async () => {
          const setups = await pool.map(tasks.readSetup, range(8), { chunksize: 1 });
          assert.ok(setups.every((s) => s === "ready"), `${setups}`);
        });
        await t.step("values only structured clone keeps", async () => {
          const value = {
            map: new Map<unknown, unknown>([[1, { a: [1n, -0] }]]),
            set: new Set(["x"]),
            date: new Date(86_400_000),
            bytes: new Uint8Array([1, 2, 255]),
            floats: new Float64Array([0.5, NaN, -Infinity]),
            error: new RangeError("kept"),
            nested: [undefined, null, "ü"],
          };
          const back = await pool.apply((v: typeof value) => v, [value]);
          assert.deepEqual(back, value);
          assert.ok(back.error instanceof RangeError);
          assert.ok(Object.is(back.map.get(1) && (back.map.get(1) as { a: unknown[] }).a[1], -0));
        });
        await t.step("kernels (WASM) and stats", async () => {
          assert.deepEqual(await pool.map(kernels.countPrimes, [[0, 1e4], [1e4, 2e4]]), [
            1229,
            1033,
          ]);
          const stats = pool.stats();
          assert.equal(stats.size, 2);
          assert.ok(stats.completed > 10_000, `${stats.completed}`);
          assert.ok(stats.wasmInstantiations >= 1 && stats.wasmInstantiations <= 2);
        });
        await t.step("timeout", async () => {
          await assert.rejects(
            pool.apply(tasks.sleepMs, [5000], { timeout: 100 }),
            TaskTimeoutError,
          );
        });
      },
    );
  });

  Deno.test(`[${backend}] 1: maxTasksPerWorker, maxQueue, taskTimeout, close + join, await using`, async () => {
    await withPool({ size: 1, backend, maxTasksPerWorker: 1 }, async (pool) => {
      const names = await pool.map(tasks.workerName, range(3), { chunksize: 1 });
      assert.equal(new Set(names).size, 3, `${names}`);
    });
    await withPool({ size: 1, backend, maxQueue: 0, taskTimeout: 150 }, async (pool) => {
      await pool.apply(tasks.square, [1]); // the worker is up
      const running = pool.apply(tasks.sleepMs, [5000]);
      await assert.rejects(pool.apply(tasks.square, [2]), QueueFullError);
      await assert.rejects(running, TaskTimeoutError);
    });
    {
      await using pool = new Pool({ size: 2, backend });
      const r = pool.applyAsync(tasks.sleepEcho, [50, "done"]);
      pool.close();
      await pool.join();
      assert.equal(await r, "done");
      assert.equal(liveWorkerCount(), 0);
    }
    {
      await using pool = new Pool({ size: 2, backend });
      assert.equal(await pool.apply(tasks.square, [9]), 81);
    }
    assert.equal(liveWorkerCount(), 0);
  });
}
