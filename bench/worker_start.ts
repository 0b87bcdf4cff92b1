/**
 * Worker start time per backend: `new Pool({ size: 1, backend })` until
 * its first `apply` has answered (start, load of the worker code, one
 * round trip), median over rounds, the backends alternating so that they
 * meet the same machine noise. A raw Web Worker's start to its first
 * message is the floor of the thread figures.
 *
 * Run alone: `deno run -A bench/worker_start.ts [--rounds 10]`;
 * `deno task bench:python` prints it next to Python's `Pool(1)`.
 *
 * @module
 */

import { type LocalBackend, Pool } from "../mod.ts";
import { echo, fmt, median, numberFlags } from "./_pool_workloads.ts";

/** Median start times (ms) per backend, and of a raw Web Worker. */
export interface StartTimes {
  thread: number;
  process: number;
  rawWorker: number;
}

async function startPool(backend: LocalBackend): Promise<number> {
  const start = performance.now();
  const pool = new Pool({ size: 1, backend });
  try {
    await pool.apply(echo, [0]);
    return performance.now() - start;
  } finally {
    await pool.terminate();
  }
}

async function startRawWorker(): Promise<number> {
  const start = performance.now();
  const worker = new Worker(new URL("./_raw_echo_worker.ts", import.meta.url), { type: "module" });
  try {
    await new Promise((resolve) => {
      worker.onmessage = resolve;
      worker.postMessage({ id: 0, args: [0] });
    });
    return performance.now() - start;
  } finally {
    worker.terminate();
  }
}

/** Measures `rounds` starts of each, alternating. */
export async function measureStarts(rounds: number): Promise<StartTimes> {
  const times: Record<keyof StartTimes, number[]> = { thread: [], process: [], rawWorker: [] };
  // One start of each first: module graphs loaded and compiled.
  await startPool("thread");
  await startPool("process");
  await startRawWorker();
  for (let r = 0; r < rounds; r++) {
    times.thread.push(await startPool("thread"));
    times.process.push(await startPool("process"));
    times.rawWorker.push(await startRawWorker());
  }
  return {
    thread: median(times.thread),
    process: median(times.process),
    rawWorker: median(times.rawWorker),
  };
}

if (import.meta.main) {
  const { rounds } = numberFlags(Deno.args, { rounds: 10 });
  const starts = await measureStarts(rounds);
  console.log(
    `worker start + first apply, median of ${rounds}: thread ${fmt(starts.thread)} ms, ` +
      `process ${fmt(starts.process)} ms; raw Web Worker ${fmt(starts.rawWorker)} ms`,
  );
}
