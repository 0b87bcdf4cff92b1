import assert from "node:assert/strict";
import { kernels, Pool, PoolClosedError, RemoteError, taskModule } from "../mod.ts";
import { delay, tasks } from "./_helpers.ts";
import { eventually, natsTasks, natsTest, withCluster } from "./_nats_helpers.ts";

natsTest("nats: the whole Pool API runs on remote worker processes", async (t) => {
  await withCluster(
    { workers: 2, args: ["--concurrency", "2", "--allow-inline"] },
    async (cluster) => {
      await using pool = new Pool({ size: 4, backend: cluster.backend() });

      await t.step("apply and applyAsync, with callbacks", async () => {
        assert.equal(await pool.apply(tasks.add, [2, 3]), 5);
        let called: number | undefined;
        const r = pool.applyAsync(tasks.square, [9], { callback: (v) => called = v });
        assert.equal(await r.get(5_000), 81);
        assert.equal(called, 81);
        assert.ok(r.successful());
      });

      await t.step("map, mapAsync, starmap, starmapAsync keep input order", async () => {
        const xs = Array.from({ length: 200 }, (_, i) => i);
        assert.deepEqual(await pool.map(tasks.square, xs, { chunksize: 7 }), xs.map((x) => x * x));
        assert.deepEqual(await pool.mapAsync(tasks.square, [1, 2, 3]).get(5_000), [1, 4, 9]);
        assert.deepEqual(await pool.starmap(tasks.add, [[1, 2], [3, 4]]), [3, 7]);
        assert.deepEqual(await pool.starmapAsync(tasks.add, [[5, 6]]).get(5_000), [11]);
        // A generator (no known length) and a two-parameter task spread like starmap.
        function* pairs() {
          for (let i = 0; i < 50; i++) yield [i, 1] as [number, number];
        }
        assert.deepEqual(await pool.map(tasks.add, pairs()), xs.slice(1, 51));
      });

      await t.step(
        "imap pulls its input lazily and bounded; imapUnordered yields all",
        async () => {
          let pulled = 0;
          function* source() {
            for (let i = 0; i < 1_000_000; i++) {
              pulled++;
              yield i;
            }
          }
          const seen: number[] = [];
          for await (
            const y of pool.imap(tasks.square, source(), { chunksize: 5, buffersize: 4 })
          ) {
            seen.push(y);
            if (seen.length === 30) break;
          }
          assert.deepEqual(seen, Array.from({ length: 30 }, (_, i) => i * i));
          assert.ok(pulled <= 30 + 5 * 5, `pulled ${pulled} items for 30 results`);
          const unordered: number[] = [];
          const items: [number, number][] = [[30, 1], [0, 2], [10, 3]];
          for await (const [value] of pool.imapUnordered(natsTasks.sleepTagged, items)) {
            unordered.push(value as number);
          }
          assert.deepEqual(unordered.sort(), [1, 2, 3]);
        },
      );

      await t.step("results keep the structured-clone value model", async () => {
        const value = { m: new Map([[1, "a"]]), s: new Set([2]), big: 2n ** 70n, d: new Date(0) };
        assert.deepEqual(await pool.apply((v: unknown) => v, [value]), value);
        const range = await pool.apply(tasks.float64Range, [5]);
        assert.ok(range instanceof Float64Array);
        assert.deepEqual([...range], [0, 1, 2, 3, 4]);
      });

      await t.step("a task's error is a RemoteError with the original as cause", async () => {
        await assert.rejects(pool.apply(tasks.fail, ["boom"]), (error: unknown) => {
          assert.ok(error instanceof RemoteError);
          assert.match(error.message, /boom/);
          assert.equal(error.cause.name, "RangeError");
          assert.match(error.cause.stack ?? "", /tasks\.ts/);
          return true;
        });
        await assert.rejects(pool.map(tasks.fail, ["a", "b"]), RemoteError);
      });

      await t.step("WASM kernels: the module travels through the Object Store", async () => {
        assert.deepEqual(await pool.map(kernels.countPrimes, [[0, 1e5], [1e5, 2e5]]), [9592, 8392]);
      });

      await t.step(
        "an 8 MB argument and a 3 MB result travel through the Object Store",
        async () => {
          const big = new Uint8Array(8 * 1024 * 1024);
          for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
          await using local = new Pool({ size: 1 });
          const expected = await local.apply(kernels.fnv1a32, [big]);
          assert.equal(await pool.apply(kernels.fnv1a32, [big]), expected);
          const out = await pool.apply(tasks.bytes, [3_000_000, 7]);
          assert.equal(out.length, 3_000_000);
          assert.equal(out[2_999_999], 7);
        },
      );

      await t.step("task modules: http: and npm: URLs load on the workers unchanged", async () => {
        const root = new URL("../", import.meta.url);
        const server = Deno.serve(
          { hostname: "127.0.0.1", port: 0, onListen() {} },
          async (req) => {
            const body = await Deno.readFile(new URL(`.${new URL(req.url).pathname}`, root));
            return new Response(body, { headers: { "content-type": "application/typescript" } });
          },
        );
        try {
          const remote = taskModule<typeof import("./fixtures/tasks.ts")>(
            `http://127.0.0.1:${server.addr.port}/tests/fixtures/tasks.ts`,
          );
          assert.equal(await pool.apply(remote.square, [12]), 144);
        } finally {
          await server.shutdown();
        }
        const acorn = taskModule<{ isIdentifierStart(code: number): boolean }>("npm:acorn@8.19.0");
        assert.deepEqual(await pool.map(acorn.isIdentifierStart, [65, 48]), [true, false]);
      });

      await t.step(
        "a file: module missing on the worker fails with an error naming it",
        async () => {
          const missing = taskModule<{ f(): void }>("file:///no/such/dir/tasks.ts");
          await assert.rejects(pool.apply(missing.f, []), (error: unknown) => {
            assert.ok(error instanceof RemoteError);
            assert.match(
              error.message,
              /file:\/\/\/no\/such\/dir\/tasks\.ts does not exist on worker w\d/,
            );
            return true;
          });
        },
      );

      await t.step("stats() counts the workers it hears from and the results", async () => {
        await eventually(() => pool.stats().alive === 2, "both workers are heard from");
        const stats = pool.stats();
        assert.equal(stats.size, 4);
        assert.ok(stats.completed >= 250, `completed ${stats.completed}`);
        assert.ok(stats.runTime.p50 > 0);
      });

      await t.step("chunks ran on both worker processes", async () => {
        const items = Array.from({ length: 8 }, (_, i): [number, number] => [50, i]);
        const tagged = await pool.starmap(natsTasks.sleepTagged, items, { chunksize: 1 });
        assert.deepEqual(tagged.map(([i]) => i), [0, 1, 2, 3, 4, 5, 6, 7]);
        const pids = new Set(tagged.map(([, pid]) => pid));
        assert.deepEqual([...pids].sort(), cluster.workers.map((w) => w.pid).sort());
      });
    },
  );
});

natsTest(
  "nats: terminate() rejects what is out and returns; close() and join() drain",
  async () => {
    await withCluster(
      { workers: 1, args: ["--concurrency", "1", "--prefetch", "0"] },
      async (cluster) => {
        const pool = new Pool({ size: 1, backend: cluster.backend() });
        const slow = pool.apply(tasks.sleepEcho, [30_000, "late"]).catch((error) => error);
        const queued = pool.apply(tasks.square, [2]).catch((error) => error);
        await delay(300);
        const start = performance.now();
        await pool.terminate();
        assert.ok(performance.now() - start < 3_000, "terminate() returned in bounded time");
        assert.ok(await slow instanceof PoolClosedError);
        assert.ok(await queued instanceof PoolClosedError);
        await eventually(async () => await cluster.queued() === 0, "the stream is empty");

        const graceful = new Pool({ size: 1, backend: cluster.backend() });
        const r = graceful.apply(tasks.sleepEcho, [200, "done"]);
        graceful.close();
        await graceful.join();
        assert.equal(await r, "done");
      },
    );
  },
);
