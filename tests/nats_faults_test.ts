import assert from "node:assert/strict";
import { Pool, TaskTimeoutError, WorkerCrashedError } from "../mod.ts";
import { ConnectionLostError } from "../nats.ts";
import { delay, tasks, timed } from "./_helpers.ts";
import { type Cluster, eventually, natsTasks, natsTest, withCluster } from "./_nats_helpers.ts";

/** The stream empties soon, and the pool answers at once (no sleeper left ahead of the call). */
async function assertPurged(cluster: Cluster, pool: Pool): Promise<void> {
  await eventually(async () => await cluster.queued() === 0, "the queued chunks are purged", 3_000);
  const next = await timed(pool.apply(tasks.square, [4]));
  assert.equal(next.value, 16);
  assert.ok(next.ms < 2_000, `the next call took ${next.ms} ms`);
}

/** One chunk at a time per worker, nothing held ahead, quick redelivery. */
const ONE_AT_A_TIME = ["--concurrency", "1", "--prefetch", "0", "--ack-wait", "1s"];

natsTest(
  "nats: a worker killed mid-chunk: its chunk is delivered again, each result arrives once, in order",
  async () => {
    await withCluster({ workers: 2, args: ONE_AT_A_TIME }, async (cluster) => {
      await using pool = new Pool({ size: 2, backend: cluster.backend() });
      const items = Array.from({ length: 8 }, (_, i): [number, number] => [400, i]);
      const mapped = pool.starmap(natsTasks.sleepTagged, items, { chunksize: 1 });
      const streamed = (async () => {
        const out: number[] = [];
        for await (const [value] of pool.imap(natsTasks.sleepTagged, items, { chunksize: 1 })) {
          out.push(value as number);
        }
        return out;
      })();
      await delay(600);
      const [victim, survivor] = cluster.workers;
      const status = await victim.stop({ signal: "SIGKILL" });
      assert.equal(status.signal, "SIGKILL");
      const results = await mapped;
      assert.deepEqual(results.map(([i]) => i), [0, 1, 2, 3, 4, 5, 6, 7]);
      assert.deepEqual(await streamed, [0, 1, 2, 3, 4, 5, 6, 7]);
      // The survivor ran what the victim held when it died.
      assert.ok(results.some(([, pid]) => pid === survivor.pid));
      assert.equal(pool.stats().completed, 16, "one result per item, no duplicates");
      await eventually(async () => await cluster.queued() === 0, "the stream is empty");
    });
  },
);

natsTest("nats: a chunk that keeps killing workers fails after --max-deliveries", async () => {
  const args = [...ONE_AT_A_TIME, "--max-deliveries", "2"];
  await withCluster({ workers: 2, args }, async (cluster) => {
    await using pool = new Pool({ size: 1, backend: cluster.backend() });
    const outcome = timed(pool.apply(natsTasks.killOwnProcess, []));
    const statuses = await Promise.all(cluster.workers.map((w) => w.status));
    assert.deepEqual(statuses.map((s) => s.signal), ["SIGKILL", "SIGKILL"], "both workers died");
    // The server gives the chunk up when a worker asks for more (as a restarted one does).
    const restarted = await cluster.addWorker("w3");
    const { error, ms } = await outcome;
    assert.ok(error instanceof WorkerCrashedError, String(error));
    assert.match(
      error.message,
      /killOwnProcess .* was delivered 2 times and no worker finished it: each worker that took it was lost/,
    );
    assert.ok(ms < 15_000, `gave up after ${ms} ms`);
    await eventually(async () => await cluster.queued() === 0, "the chunk left the stream");
    assert.equal(await pool.apply(tasks.square, [3]), 9, "the restarted worker lives on");
    assert.equal(restarted.lines.some((line) => /error/i.test(line)), false);
  });
});

natsTest(
  "nats: with no worker, calls wait; a call with a timeout rejects when it expires",
  async () => {
    await withCluster({ workers: 0, args: ONE_AT_A_TIME }, async (cluster) => {
      await using pool = new Pool({ size: 1, backend: cluster.backend() });
      const waiting = pool.apply(tasks.square, [5]);
      const { error, ms } = await timed(pool.apply(tasks.square, [6], { timeout: 500 }));
      assert.ok(error instanceof TaskTimeoutError, String(error));
      assert.ok(ms >= 450 && ms < 3_000, `rejected after ${ms} ms`);
      await cluster.addWorker("late");
      assert.equal(await waiting, 25);
    });
  },
);

natsTest("nats: timeout rejects with TaskTimeoutError and stops the remote chunk", async () => {
  await withCluster({ workers: 1, args: ONE_AT_A_TIME }, async (cluster) => {
    await using pool = new Pool({ size: 1, backend: cluster.backend() });
    await pool.apply(tasks.square, [1]); // warm
    const { error } = await timed(pool.apply(tasks.sleepEcho, [60_000, "never"], { timeout: 300 }));
    assert.ok(error instanceof TaskTimeoutError, String(error));
    // The worker runs one chunk at a time: it answers at once only if the sleeper was stopped.
    const next = await timed(pool.apply(tasks.square, [3]));
    assert.equal(next.value, 9);
    assert.ok(next.ms < 2_000, `the next call took ${next.ms} ms`);
  });
});

natsTest(
  "nats: abort and leaving an imap early cancel and purge the call's chunks; the pool goes on",
  async (t) => {
    await withCluster({ workers: 1, args: ONE_AT_A_TIME }, async (cluster) => {
      await using pool = new Pool({ size: 4, backend: cluster.backend() });
      await pool.apply(tasks.square, [1]); // warm

      await t.step("leaving an imap early", async () => {
        const seen: unknown[] = [];
        const items = Array.from({ length: 50 }, (_, i): [number, number] => [1_000, i]);
        for await (const y of pool.imap(tasks.sleepEcho, items, { chunksize: 1, buffersize: 8 })) {
          seen.push(y);
          if (seen.length === 1) break;
        }
        await assertPurged(cluster, pool);
      });

      await t.step("an abort signal", async () => {
        const controller = new AbortController();
        const items = Array.from({ length: 8 }, (_, i): [number, number] => [1_000, i]);
        const mapped = pool.starmap(tasks.sleepEcho, items, {
          chunksize: 1,
          signal: controller.signal,
        });
        await delay(300);
        controller.abort(new Error("Enough"));
        await assert.rejects(mapped, /Enough/);
        await assertPurged(cluster, pool);
      });
    });
  },
);

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  natsTest(
    `nats: a worker stopped with ${signal} finishes its running chunk and exits 0`,
    async () => {
      await withCluster({ workers: 1, args: ONE_AT_A_TIME }, async (cluster) => {
        await using pool = new Pool({ size: 1, backend: cluster.backend() });
        const result = pool.apply(tasks.sleepEcho, [800, "finished"]);
        await eventually(() => pool.stats().busy === 1, "the worker is busy");
        const [worker] = cluster.workers;
        const status = await worker.stop({ signal });
        assert.equal(status.code, 0);
        assert.equal(await result, "finished");
        assert.ok(
          worker.lines.some((line) => /stopped: ran 1 chunks \(0 failed\)/.test(line)),
          worker.lines.join("\n"),
        );
      });
    },
  );
}

natsTest(
  "nats: the server dying mid-call rejects every outstanding call with ConnectionLostError",
  async () => {
    await withCluster({ workers: 1, args: ONE_AT_A_TIME }, async (cluster) => {
      const pool = new Pool({ size: 2, backend: cluster.backend() });
      await pool.apply(tasks.square, [1]); // connected
      const running = pool.apply(tasks.sleepEcho, [2_500, "never"]).catch((error) => error);
      const mapped = pool.map(tasks.sleepMs, [2_500, 2_500, 2_500]).catch((error) => error);
      await delay(300);
      const start = performance.now();
      await cluster.server.kill();
      for (const outcome of [await running, await mapped]) {
        assert.ok(outcome instanceof ConnectionLostError, String(outcome));
        assert.match(
          outcome.message,
          /Connection to NATS server nats:\/\/127\.0\.0\.1:\d+ was lost/,
        );
      }
      assert.ok(performance.now() - start < 3_000, "rejected in bounded time");
      const late = await timed(pool.apply(tasks.square, [2]));
      assert.ok(late.error instanceof ConnectionLostError, String(late.error));
      const stopped = await timed(pool.terminate());
      assert.ok(stopped.ms < 3_000, `terminate() took ${stopped.ms} ms`);
    });
  },
);

natsTest(
  "nats: a worker holds at most --concurrency + --prefetch chunks; the rest wait in the queue",
  async () => {
    const args = ["--concurrency", "1", "--prefetch", "2", "--ack-wait", "1s"];
    await withCluster({ workers: 1, args }, async (cluster) => {
      await using pool = new Pool({ size: 4, backend: cluster.backend() });
      const items = Array.from({ length: 12 }, (_, i): [number, number] => [150, i]);
      const mapped = pool.starmap(tasks.sleepEcho, items, { chunksize: 1 });
      await delay(400);
      const [unacked, queued] = [await cluster.unacked(), await cluster.queued()];
      assert.ok(unacked >= 1 && unacked <= 3, `${unacked} chunks delivered and not acked`);
      assert.ok(queued >= unacked + 4, `${queued} messages in the stream`);
      assert.deepEqual(await mapped, items.map(([, i]) => i));
    });
  },
);

natsTest("nats: a chunk longer than the ack wait is heartbeated, not delivered again", async () => {
  await withCluster({ workers: 2, args: ONE_AT_A_TIME }, async (cluster) => {
    {
      await using pool = new Pool({ size: 1, backend: cluster.backend() });
      assert.equal(await pool.apply(tasks.sleepEcho, [2_500, "long"]), "long");
    }
    const ran = await Promise.all(cluster.workers.map(async (worker) => {
      await worker.stop();
      const line = worker.lines.find((l) => / stopped: ran \d+ chunks/.test(l)) ?? "";
      return Number(/ran (\d+) chunks/.exec(line)?.[1]);
    }));
    assert.deepEqual(ran.toSorted(), [0, 1], "the chunk ran once, on one worker");
  });
});

natsTest("nats: a worker whose stream was deleted says so and creates it again", async () => {
  await withCluster({ workers: 1, args: ONE_AT_A_TIME }, async (cluster) => {
    await using pool = new Pool({ size: 1, backend: cluster.backend() });
    assert.equal(await pool.apply(tasks.square, [2]), 4);
    await cluster.deleteStream();
    await eventually(
      () =>
        cluster.workers[0].lines.some((line) =>
          /(the server refused a pull \(\d+|the pool's consumer was deleted).*; making it again/
            .test(line)
        ),
      "the worker reports the refusal",
    );
    // Server 2.9.10 may fail a publish or two on a stream made again at once (a missing block file).
    await eventually(
      () => pool.apply(tasks.square, [3], { timeout: 2_000 }).then((y) => y === 9, () => false),
      "a call succeeds again",
    );
  });
});
