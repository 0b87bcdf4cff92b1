/**
 * Options and result types of `Pool`.
 *
 * @module
 */

import type { AsyncResultCallbacks } from "./async_result.ts";
import type { Backend } from "./backend.ts";
import type { Percentiles } from "./_samples.ts";
import type { Task } from "./task.ts";
import type { WorkerPermissions } from "./_transport.ts";

/**
 * Argument tuples of two or more parameters: `map` spreads such items (see `Pool.map`).
 *
 * @example
 * ```ts
 * import { type SeveralArgs } from "@multipool/multipool";
 * const pair: SeveralArgs = [0, 1e5]; // a tuple of two or more arguments
 * console.log(pair.length); // 2
 * ```
 */
export type SeveralArgs = [unknown, unknown, ...unknown[]];

/**
 * Options of `Pool`.
 *
 * @example
 * ```ts
 * import { type PoolOptions } from "@multipool/multipool";
 * const options: PoolOptions = { size: 2, maxTasksPerWorker: 100, taskTimeout: 30_000 };
 * console.log(options.size); // 2
 * ```
 */
export interface PoolOptions {
  /** Number of workers; default `navigator.hardwareConcurrency`. */
  size?: number;
  /** Runs in every new worker before its first task (also after a worker is replaced). */
  // deno-lint-ignore no-explicit-any
  initializer?: Task<any[], unknown>;
  /** Arguments of `initializer`. */
  initArgs?: unknown[];
  /** Replace a worker after it ran this many chunks (a chunk counts as one, as in Python). */
  maxTasksPerWorker?: number;
  /**
   * Most chunks waiting beyond the workers that can take them (idle or still
   * starting). An `apply`, or the first chunk of a `map` or `imap`, submitted
   * beyond it throws `QueueFullError`; the later chunks of a `map`
   * or `imap` already under way wait for room instead.
   */
  maxQueue?: number;
  /**
   * Default `timeout` (ms) of every chunk, measured from when it starts on a
   * worker. It also bounds the `initializer` of each new worker.
   */
  taskTimeout?: number;
  /**
   * Deno permissions of the workers (least privilege for task code): Deno
   * worker permissions on the thread backend (needs
   * `--unstable-worker-options`; such threads are Web Workers, without a
   * heap limit), `deno run` flags on the process backend. A worker never
   * gets a permission the host lacks. The workers may always read
   * multipool's own modules; grant read access to your task modules
   * yourself.
   */
  permissions?: WorkerPermissions;
  /** Name prefix of the workers (shows in stack traces); default `"multipool"`. */
  name?: string;
  /**
   * Where the workers run: `"thread"` (default: threads of this process),
   * `"process"` (each worker a `deno` subprocess: a runaway task is really
   * killed, output and crashes stay in the child), or a backend object such
   * as `nats({ ... })`.
   */
  backend?: Backend;
  /**
   * Heap limit of each worker, in MB: a task that exhausts it fails alone
   * with `WorkerCrashedError` ("ran out of memory") and its worker is
   * replaced. Default on the thread backend: the main thread's own V8 heap
   * limit (`v8.getHeapStatistics().heap_size_limit`); on the process
   * backend: V8's default (an out-of-memory ends only the subprocess).
   */
  maxHeapMb?: number;
}

/**
 * Per-call options of every Pool method.
 *
 * @example
 * ```ts
 * import { type CallOptions } from "@multipool/multipool";
 * const options: CallOptions = { signal: AbortSignal.timeout(5_000), timeout: 1_000 };
 * console.log(options.timeout); // 1000
 * ```
 */
export interface CallOptions {
  /** Aborting removes queued chunks and terminates (and replaces) workers running them. */
  signal?: AbortSignal;
  /** Milliseconds a chunk may run once started; then it fails with `TaskTimeoutError`. */
  timeout?: number;
}

/**
 * Options of `Pool.apply`.
 *
 * @example
 * ```ts
 * import { type ApplyOptions, Pool } from "@multipool/multipool";
 * const big = new Float64Array(1_000_000).fill(1);
 * const options: ApplyOptions = { transfer: [big.buffer] };
 * await using pool = new Pool({ size: 1 });
 * console.log(await pool.apply((a: Float64Array) => a.length, [big], options)); // 1000000
 * console.log(big.length); // 0: moved to the worker, detached here
 * ```
 */
export interface ApplyOptions extends CallOptions {
  /**
   * What to move to the worker instead of copying, as in
   * `structuredClone(value, { transfer })`: `ArrayBuffer`s (and
   * `MessagePort`s) among the arguments. A moved buffer is detached here
   * (empty) once the call is sent. On the process and NATS backends it is
   * copied instead, and stays usable.
   */
  transfer?: readonly (Transferable | ArrayBufferLike)[];
}

/**
 * Options of `Pool.applyAsync`.
 *
 * @example
 * ```ts
 * import { type ApplyAsyncOptions } from "@multipool/multipool";
 * const options: ApplyAsyncOptions<number> = { callback: (n) => console.log(n), timeout: 1_000 };
 * console.log(typeof options.callback); // "function"
 * ```
 */
export interface ApplyAsyncOptions<R> extends ApplyOptions, AsyncResultCallbacks<R> {}

/**
 * Options of `Pool.map` and `Pool.starmap`.
 *
 * @example
 * ```ts
 * import { type MapOptions } from "@multipool/multipool";
 * const options: MapOptions = { chunksize: 1000 };
 * console.log(options.chunksize); // 1000
 * ```
 */
export interface MapOptions extends CallOptions {
  /** Items per chunk; default `ceil(n / (4 * size))` when the length is known, else adaptive. */
  chunksize?: number;
}

/**
 * Options of `Pool.mapAsync` and `Pool.starmapAsync`.
 *
 * @example
 * ```ts
 * import { type MapAsyncOptions } from "@multipool/multipool";
 * const options: MapAsyncOptions<number> = { chunksize: 10, callback: (all) => console.log(all.length) };
 * console.log(options.chunksize); // 10
 * ```
 */
export interface MapAsyncOptions<R> extends MapOptions, AsyncResultCallbacks<R[]> {}

/**
 * Options of `Pool.imap` and `Pool.imapUnordered`.
 *
 * @example
 * ```ts
 * import { type ImapOptions } from "@multipool/multipool";
 * const options: ImapOptions = { chunksize: 64, buffersize: 8 };
 * console.log(options.buffersize); // 8
 * ```
 */
export interface ImapOptions extends CallOptions {
  /**
   * Items per chunk. Default: adaptive, starting at 1 and doubling while a
   * chunk runs in under 2 ms, up to 4096: cheap tasks travel in big batches,
   * expensive ones one at a time so no worker starves.
   */
  chunksize?: number;
  /** Most chunks in flight or finished-but-unconsumed; default `4 * size`. */
  buffersize?: number;
}

/**
 * What `Pool.stats` returns.
 *
 * @example
 * ```ts
 * import { Pool, type PoolStats } from "@multipool/multipool";
 * await using pool = new Pool({ size: 1 });
 * const stats: PoolStats = pool.stats();
 * console.log(stats.size, stats.queued); // 1 0
 * ```
 */
export interface PoolStats {
  /** Configured number of workers. */
  readonly size: number;
  /** Workers alive now (starting, idle or busy). */
  readonly alive: number;
  /** Workers running a chunk. */
  readonly busy: number;
  /** Chunks waiting for a worker. */
  readonly queued: number;
  /** Calls that finished successfully (one per item of a chunk). */
  readonly completed: number;
  /** Chunks that failed (task error, crash, timeout, abort). */
  readonly failed: number;
  /** Workers replaced after a crash, timeout, abort or `maxTasksPerWorker`. */
  readonly replaced: number;
  /** How long chunks ran on a worker (ms, last 1024 chunks). */
  readonly runTime: Percentiles;
  /** How long chunks waited for a worker (ms, last 1024 chunks). */
  readonly waitTime: Percentiles;
  /** WASM modules sent to (and instantiated once by) a worker of this pool. */
  readonly wasmInstantiations: number;
}
