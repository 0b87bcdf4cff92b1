/**
 * The Group workloads shared by `group_bench.ts` (deno bench) and
 * `group_compare.ts` (the side-by-side with gevent): many tiny IO-like jobs,
 * each `await sleep(0)`, run through a plain `Promise.all` (the baseline)
 * and through a `Group` with a limit.
 *
 * @module
 */

import { Group } from "../src/group.ts";
import { sleep } from "../src/sleep.ts";

/** Jobs per run. */
export const JOBS = 100_000;
/** Concurrency limit of the group runs (gevent: `Pool(1000)`). */
export const LIMIT = 1000;

/** One job: the smallest piece of async IO-like work. */
export async function tinyJob(): Promise<void> {
  await sleep(0);
}

/** Baseline: every job at once, no limit, no cancellation. */
export async function viaPromiseAll(jobs: number = JOBS): Promise<void> {
  await Promise.all(Array.from({ length: jobs }, tinyJob));
}

/** `Group({ limit })`: spawn every job (they queue), then join. */
export async function viaGroupSpawn(jobs: number = JOBS, limit: number = LIMIT): Promise<void> {
  await using group = new Group({ limit });
  for (let i = 0; i < jobs; i++) group.spawn(tinyJob);
  await group.join();
}

/** `Group({ limit }).imapUnordered` over a lazy range: bounded memory. */
export async function viaGroupImap(jobs: number = JOBS, limit: number = LIMIT): Promise<void> {
  await using group = new Group({ limit });
  for await (const _ of group.imapUnordered(tinyJob, range(jobs))) {
    // results are consumed as they come
  }
}

function* range(n: number): Generator<number> {
  for (let i = 0; i < n; i++) yield i;
}
