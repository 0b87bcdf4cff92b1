/**
 * `deno task bench:cluster`: the NATS backend over two local worker
 * processes against the thread backend, in one run on this machine. It
 * starts a `nats-server -js` (temporary store, free port) and two workers
 * (`--concurrency 1` each, so both backends run two local threads), then
 * measures, in alternating rounds:
 *
 * - chunk throughput: `map` of tiny tasks in chunks of 10 items;
 * - `apply` latency: sequential round trips of a tiny task, p50 and p90.
 *
 * Targets on this box: at least 1,000 chunks/s and an `apply` p50 of at
 * most 3 ms over NATS. Figures are noisy on a shared 2-core machine:
 * compare the ratios of one run.
 *
 * @module
 */

import { Pool, taskModule } from "../mod.ts";
import { nats } from "../nats.ts";
import {
  findNatsServer,
  NATS_INSTALL_HINT,
  startNatsServer,
  startWorker,
} from "../scripts/local_cluster.ts";
import { reportRows } from "./_report.ts";

const tasks = taskModule<typeof import("../tests/fixtures/tasks.ts")>(
  new URL("../tests/fixtures/tasks.ts", import.meta.url),
);

const CHUNKS = 3_000;
const CHUNK_ITEMS = 10;
const APPLIES = 400;
const ROUNDS = 3;
const WORKER_FLAGS = ["--concurrency", "1", "--prefetch", "4"];

interface Figures {
  chunksPerSecond: number;
  applyP50: number;
  applyP90: number;
}

async function measure(pool: Pool): Promise<Figures> {
  const items = Array.from({ length: CHUNKS * CHUNK_ITEMS }, (_, i) => i);
  const start = performance.now();
  const out = await pool.map(tasks.square, items, { chunksize: CHUNK_ITEMS });
  const seconds = (performance.now() - start) / 1000;
  if (out.length !== items.length || out[7] !== 49) throw new Error("Wrong map results");
  const times: number[] = [];
  for (let i = 0; i < APPLIES; i++) {
    const t = performance.now();
    await pool.apply(tasks.square, [i]);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return {
    chunksPerSecond: CHUNKS / seconds,
    applyP50: times[Math.floor(times.length / 2)],
    applyP90: times[Math.floor(times.length * 0.9)],
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function main(): Promise<number> {
  if (findNatsServer() === undefined) {
    console.error(NATS_INSTALL_HINT);
    return 1;
  }
  const server = await startNatsServer();
  const workers = await Promise.all(
    ["bench-1", "bench-2"].map((name) =>
      startWorker(server.url, { pool: "bench", name, args: WORKER_FLAGS })
    ),
  );
  const remote = new Pool({ size: 2, backend: nats({ servers: server.url, pool: "bench" }) });
  const local = new Pool({ size: 2 });
  const runs: { nats: Figures[]; thread: Figures[] } = { nats: [], thread: [] };
  try {
    // Warm both: workers started, modules loaded, connection open.
    await remote.map(tasks.square, Array.from({ length: 2_000 }, (_, i) => i), { chunksize: 10 });
    await local.map(tasks.square, Array.from({ length: 2_000 }, (_, i) => i), { chunksize: 10 });
    for (let round = 0; round < ROUNDS; round++) {
      runs.nats.push(await measure(remote));
      runs.thread.push(await measure(local));
      console.log(
        `round ${round + 1}: nats ${runs.nats[round].chunksPerSecond.toFixed(0)} chunks/s, ` +
          `apply p50 ${runs.nats[round].applyP50.toFixed(2)} ms; thread ${
            runs.thread[round].chunksPerSecond.toFixed(0)
          } chunks/s, apply p50 ${runs.thread[round].applyP50.toFixed(3)} ms`,
      );
    }
  } finally {
    await remote.terminate();
    await local.terminate();
    await Promise.all(workers.map((worker) => worker.stop()));
    await server.stop();
  }
  const pick = (figures: Figures[], key: keyof Figures) => median(figures.map((f) => f[key]));
  const natsRate = pick(runs.nats, "chunksPerSecond");
  const threadRate = pick(runs.thread, "chunksPerSecond");
  const natsP50 = pick(runs.nats, "applyP50");
  const threadP50 = pick(runs.thread, "applyP50");
  const natsP90 = pick(runs.nats, "applyP90");
  const threadP90 = pick(runs.thread, "applyP90");
  console.log(
    `\nNATS backend (2 worker processes, ${WORKER_FLAGS.join(" ")}) vs thread backend Pool(2), ` +
      `median of ${ROUNDS} rounds:\n`,
  );
  console.log("| measure | nats | thread | nats/thread | target | met |");
  console.log("| --- | --- | --- | --- | --- | --- |");
  const rate = (x: number) => `${x.toFixed(0)} chunks/s`;
  const ms = (x: number) => `${x.toFixed(2)} ms`;
  const rateMet = natsRate >= 1_000;
  const p50Met = natsP50 <= 3;
  console.log(
    `| map, ${CHUNK_ITEMS}-item chunks | ${rate(natsRate)} | ${rate(threadRate)} | ${
      (natsRate / threadRate).toFixed(3)
    }x | >= 1,000 chunks/s | ${rateMet ? "yes" : "NO"} |`,
  );
  console.log(
    `| apply p50 | ${ms(natsP50)} | ${ms(threadP50)} | ${
      (natsP50 / threadP50).toFixed(1)
    }x | <= 3 ms | ${p50Met ? "yes" : "NO"} |`,
  );
  console.log(
    `| apply p90 | ${ms(natsP90)} | ${ms(threadP90)} | ${(natsP90 / threadP90).toFixed(1)}x | | |`,
  );
  reportRows([
    {
      workload: `NATS map, ${CHUNK_ITEMS}-item chunks, 2 worker processes`,
      ours: rate(natsRate),
      against: "thread backend Pool(2)",
      theirs: rate(threadRate),
      ratio: natsRate / threadRate,
      target: ">= 1000 chunks/s",
      pass: rateMet,
    },
    {
      workload: "NATS apply p50",
      ours: ms(natsP50),
      against: "thread backend Pool(2)",
      theirs: ms(threadP50),
      ratio: threadP50 / natsP50,
      target: "<= 3 ms",
      pass: p50Met,
    },
  ]);
  return rateMet && p50Met ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main());
