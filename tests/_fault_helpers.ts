/**
 * Helpers of the reliability, sandbox and chaos tests (issue 6): a fault
 * must reject its task with the expected error type within
 * {@linkcode SETTLE_MS}, leave tasks on other workers alone, and leave the
 * pool at full size; after `terminate()` no worker may be alive.
 *
 * @module
 */

import assert from "node:assert/strict";
import { liveWorkerCount, Pool, type PoolOptions, taskModule } from "../mod.ts";
import type * as Faulty from "./fixtures/faulty_tasks.ts";
import type { Counter } from "./fixtures/faulty_tasks.ts";

/** Typed references to the faulty fixture tasks. */
export const faulty = taskModule<typeof Faulty>(
  new URL("./fixtures/faulty_tasks.ts", import.meta.url),
);

/** How long a fault may take to reject its task (generous: a noisy 2-core machine). */
export const SETTLE_MS = 2000;

/** Resolves after `ms` milliseconds. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` every 10 ms; fails naming `what` after `ms`. */
export async function until(condition: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!condition()) {
    if (performance.now() > deadline) assert.fail(`Timed out after ${ms} ms waiting for ${what}`);
    await delay(10);
  }
}

/**
 * Asserts that `promise` rejects with an instance of `type` whose message
 * matches `pattern`, within `ms`; a promise that never settles fails the
 * test instead of hanging it.
 */
export async function rejectsWithin<E extends Error>(
  promise: Promise<unknown>,
  type: new (...args: never[]) => E,
  pattern: RegExp,
  ms = SETTLE_MS,
): Promise<E> {
  const start = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const pending = Symbol("pending");
  const guard = new Promise<typeof pending>((resolve) => {
    timer = setTimeout(() => resolve(pending), 3 * ms);
  });
  try {
    const outcome = await Promise.race([promise, guard]);
    assert.notEqual(outcome, pending, `still pending after ${3 * ms} ms`);
    assert.fail(`resolved with ${String(outcome)} instead of rejecting with ${type.name}`);
  } catch (error) {
    if (error instanceof assert.AssertionError) throw error;
    const took = performance.now() - start;
    assert.ok(error instanceof type, `expected ${type.name}, got ${String(error)}`);
    assert.match(error.message, pattern);
    assert.ok(took < ms, `${type.name} took ${took.toFixed(0)} ms (limit ${ms} ms)`);
    return error;
  } finally {
    clearTimeout(timer);
  }
}

// The bystander and the health check use inline tasks: they run under any
// permissions (module tasks need read access to their module).

/** Resolves with `value` after `ms` milliseconds. */
const sleepEcho = (ms: number, value: string): Promise<string> =>
  new Promise((resolve) => setTimeout(() => resolve(value), ms));

/**
 * A barrier: counts itself in `counter` (shared memory, or a file for
 * subprocess workers), waits (up to 5 s) until `parties` tasks have, and
 * returns the name of its worker. Tasks that all get there ran at the same
 * time, so on distinct workers.
 */
const meet = async (counter: Int32Array | string, parties: number): Promise<string> => {
  const count = typeof counter === "string"
    ? () => Deno.statSync(counter).size
    : () => Atomics.load(counter, 0);
  if (typeof counter === "string") {
    Deno.writeFileSync(counter, new Uint8Array(1), { append: true });
  } else Atomics.add(counter, 0, 1);
  const deadline = Date.now() + 5000;
  while (count() < parties && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return (globalThis as { name?: string }).name ?? "";
};

/** A counter for tasks of `backend` (the `arg` to pass them) that the test can read. */
export interface TestCounter {
  readonly arg: Counter;
  value(): number;
}

let counterDir: string | undefined;

/** A {@linkcode TestCounter}: shared memory on threads, a temporary file for subprocesses. */
export function testCounter(backend: PoolOptions["backend"]): TestCounter {
  if (backend !== "process") {
    const shared = new Int32Array(new SharedArrayBuffer(4));
    return { arg: shared, value: () => Atomics.load(shared, 0) };
  }
  if (counterDir === undefined) {
    const dir = counterDir = Deno.makeTempDirSync({ prefix: "multipool_counters_" });
    globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
  }
  const path = Deno.makeTempFileSync({ dir: counterDir });
  return { arg: path, value: () => Deno.statSync(path).size };
}

/**
 * Runs `fault()` while a bystander task sleeps on another worker, asserts
 * the fault rejects as {@linkcode rejectsWithin} says and that the bystander
 * still resolves with its value.
 */
export async function fault<E extends Error>(
  pool: Pool,
  run: () => Promise<unknown>,
  type: new (...args: never[]) => E,
  pattern: RegExp,
): Promise<E> {
  const bystander = pool.apply(sleepEcho, [300, "bystander"]);
  bystander.catch(() => {}); // not unhandled when an assertion below fails first
  const error = await rejectsWithin(run(), type, pattern);
  assert.equal(await bystander, "bystander");
  return error;
}

/**
 * The pool is at full size and every worker serves a task (checked with a
 * barrier, skipped for sandboxed subprocesses: their barrier needs a file).
 */
export async function assertHealed(pool: Pool, options: PoolOptions = {}): Promise<void> {
  await until(() => pool.stats().alive === pool.size, "the pool to be back at full size");
  if (options.backend !== "process" || options.permissions === undefined) {
    const counter = testCounter(options.backend);
    const names = await Promise.all(
      Array.from({ length: pool.size }, () => pool.apply(meet, [counter.arg, pool.size])),
    );
    assert.equal(new Set(names).size, pool.size, `workers that served: ${names}`);
  }
  // One chunk: a pool with maxQueue may refuse more.
  assert.deepEqual(await pool.map((x: number) => x * x, [1, 2, 3, 4], { chunksize: 4 }), [
    1,
    4,
    9,
    16,
  ]);
  assert.ok(liveWorkerCount() <= pool.size, `${liveWorkerCount()} live workers`);
}

/** A fresh pool for `fn`; then it must have healed, and terminate() must leave no worker. */
export async function withFaults(
  options: PoolOptions,
  fn: (pool: Pool) => Promise<void>,
  healed = true,
): Promise<void> {
  assert.equal(liveWorkerCount(), 0, "a worker of an earlier test is alive");
  const pool = new Pool(options);
  try {
    await fn(pool);
    if (healed) await assertHealed(pool, options);
  } finally {
    await pool.terminate();
  }
  assert.equal(liveWorkerCount(), 0, "a worker outlived terminate()");
}

/** Runs `deno <args>` in a subprocess; returns its exit code, stdout and stderr. */
export async function deno(
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await new Deno.Command(Deno.execPath(), { args, stdout: "piped", stderr: "piped" })
    .output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/** The script the subprocess tests run; see its module doc for the scenarios. */
export const FAULTY_SCRIPT: string = new URL("./fixtures/faulty_script.ts", import.meta.url).href;
