/**
 * Shared helpers of the pool test suites.
 *
 * @module
 */

import assert from "node:assert/strict";
import { liveWorkerCount } from "../mod.ts";
import { Pool, type PoolOptions, taskModule } from "../mod.ts";

/** The local backends; suites that must hold on each run once per backend. */
export const BACKENDS = ["thread", "process"] as const;

/** Typed references to the fixture task module. */
export const tasks = taskModule<typeof import("./fixtures/tasks.ts")>(
  new URL("./fixtures/tasks.ts", import.meta.url),
);

/**
 * Creates a pool, runs `fn` with it, then terminates the pool (whatever `fn`
 * did with it) and asserts that no worker of this process is left alive.
 */
export async function withPool<T>(
  options: PoolOptions,
  fn: (pool: Pool) => Promise<T>,
): Promise<T> {
  assert.equal(liveWorkerCount(), 0, "a worker from an earlier test is still alive");
  const pool = new Pool(options);
  try {
    return await fn(pool);
  } finally {
    await pool.terminate();
    assert.equal(liveWorkerCount(), 0, "a worker outlived its pool");
  }
}

/**
 * Runs one {@linkcode tasks.meet} per worker at once: every worker is up and
 * idle afterwards. Returns, per worker, its name and what the fixture's
 * initializer recorded in it.
 */
export function warmUp(pool: Pool): Promise<[worker: string, setup: unknown][]> {
  const counter = sharedCounter();
  const calls = Array.from({ length: pool.size }, (): [Int32Array, number] => [counter, pool.size]);
  return pool.starmap(tasks.meet, calls, { chunksize: 1 });
}

/**
 * Asserts that `call()` does not throw at the call, and that what it
 * returns (a promise, or an AsyncResult) rejects as `expected` says: a
 * promise-returning method reports bad input and a closed pool by rejecting.
 */
export async function rejectsAtCall(
  call: () => unknown,
  expected: Parameters<typeof assert.rejects>[1],
  message?: string,
): Promise<void> {
  let returned: unknown;
  assert.doesNotThrow(() => {
    returned = call();
  }, message);
  const then = (returned as { then?: unknown } | null)?.then;
  assert.equal(typeof then, "function", `${message ?? "call"}: did not return a promise`);
  await assert.rejects(Promise.resolve(returned as PromiseLike<unknown>), expected, message);
}

/** Resolves after `ms` milliseconds. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A counter the workers can bump (slot 0) and the main thread can read. */
export function sharedCounter(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(4));
}

/** Milliseconds `promise` took to settle, and how it settled. */
export async function timed<T>(
  promise: Promise<T>,
): Promise<{ ms: number; value?: T; error?: unknown }> {
  const start = performance.now();
  try {
    const value = await promise;
    return { ms: performance.now() - start, value };
  } catch (error) {
    return { ms: performance.now() - start, error };
  }
}

/** Collects everything an async iterable yields, and the error that ended it (if any). */
export async function drain<T>(
  iterable: AsyncIterable<T>,
): Promise<{ values: T[]; error: unknown }> {
  const values: T[] = [];
  try {
    for await (const value of iterable) values.push(value);
  } catch (error) {
    return { values, error };
  }
  return { values, error: undefined };
}

/** `[0, 1, ..., n - 1]`. */
export function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** A generator over `0..n-1` (endless by default) that counts what it produced and whether it was closed. */
export function counting(n = Infinity) {
  const state = { produced: 0, closed: false };
  function* generate(): Generator<number> {
    try {
      for (let i = 0; i < n; i++) {
        state.produced++;
        yield i;
      }
    } finally {
      state.closed = true;
    }
  }
  return { state, source: generate() };
}
