/**
 * `deno bench -A bench/pool_bench.ts` (also part of `deno task bench`): the
 * Pool's overheads against their floors, each group with a baseline.
 *
 * - **apply round trip**: sequential `await pool.apply(echo, [i])` against a
 *   raw Worker `postMessage` round trip (`_raw_echo_worker.ts`).
 * - **map 1e6**: `Pool(2).map(square, 0..1e6)` (default chunksize, numbers
 *   travel packed) against the same `x * x` in a plain loop on the main thread.
 *
 * Targets (ours vs Python's `multiprocessing.Pool`) are checked by
 * `deno task bench:python`, which measures both in one run. On a virtual
 * machine the apply group swings with where the scheduler wakes each thread
 * (see `apply_latency.ts`); `taskset -c 0 deno bench -A bench/pool_bench.ts`
 * gives the steady, pinned figures.
 *
 * @module
 */

import { Pool } from "../mod.ts";
import { echo, range, RawEcho, square } from "./_pool_workloads.ts";

const pool = new Pool({ size: 2 });
const raw = new RawEcho();
const items = range(1_000_000);
/** Keeps results alive so no work is optimised away. */
export let sink: unknown;

// Start the workers and load the tasks before anything is timed.
await pool.apply(echo, [0]);
await pool.map(square, items);
await raw.roundTrip(0);
globalThis.addEventListener("unload", () => {
  raw.close();
  void pool.terminate();
});

let id = 0;
Deno.bench("raw Worker postMessage round trip", {
  group: "apply round trip",
  baseline: true,
}, async () => {
  sink = await raw.roundTrip(id++);
});
Deno.bench("await pool.apply(echo, [i])", { group: "apply round trip" }, async () => {
  sink = await pool.apply(echo, [id++]);
});

Deno.bench("plain loop x * x (main thread)", { group: "map 1e6", baseline: true }, () => {
  const out = new Array<number>(items.length);
  for (let i = 0; i < items.length; i++) out[i] = square(items[i]);
  sink = out;
});
Deno.bench("Pool(2).map(square, 1e6 items)", { group: "map 1e6" }, async () => {
  sink = await pool.map(square, items);
});
