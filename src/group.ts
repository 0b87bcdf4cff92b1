/**
 * {@linkcode Group}: gevent's `Group`/`Pool(size)` for async IO, with
 * structured cancellation. The job helpers ({@linkcode Job},
 * {@linkcode spawn}, {@linkcode joinAll}) live in `job.ts`.
 *
 * @module
 */

import { checkFunction, type Job, type JobFn } from "./job.ts";
import {
  type MapFn,
  type MapKind,
  mapStream,
  mapStreamOptions,
  type SpawnItem,
} from "./_map_stream.ts";
import { describe } from "./task.ts";
import { AsyncResult, type AsyncResultCallbacks } from "./async_result.ts";
import type {
  GroupApplyAsyncOptions,
  GroupApplyOptions,
  GroupMapOptions,
  GroupOptions,
} from "./group_options.ts";
import type { JoinOptions } from "./timeout.ts";
import { waitTimeout } from "./_wait.ts";
import { JobScope } from "./_job_scope.ts";
import {
  argumentTuple,
  iterable,
  optionalFunction,
  optionalLimit,
  optionalSignal,
} from "./_validate.ts";

export type { MapFn };
export type {
  GroupApplyAsyncOptions,
  GroupApplyOptions,
  GroupMapOptions,
  GroupOptions,
} from "./group_options.ts";

/**
 * A structured group of async jobs on the main thread: gevent's `Group`
 * (no limit) or `Pool(size)` (with `limit`), with Trio-style cancellation.
 *
 * - `spawn(fn)` starts `fn(signal)` and returns a {@linkcode Job}; with a
 *   `limit`, jobs beyond it queue and start in spawn order.
 * - The first job that fails aborts its siblings (queued ones never start);
 *   `join()` waits for all of them, then rejects with that error, or an
 *   `AggregateError` when several failed on their own. Siblings that reject
 *   with the abort reason are cancelled, not failed. Until `join()` has
 *   reported the failure, new jobs are cancelled at once; after, the group
 *   is usable again.
 * - Errors of jobs nobody awaits stay in the group: never an unhandled
 *   rejection.
 * - `map`, `imap`, `imapUnordered` run a function over any `Iterable` or
 *   `AsyncIterable`, pulling it lazily with bounded concurrency; `apply`
 *   and `applyAsync` run one call. Their errors go to their caller, not to
 *   `join()`.
 * - `await using` closes the group and waits for every job (graceful, like
 *   `Pool`); call `kill()` first to stop them instead.
 * - `limit: 0` makes a group that is always full (gevent's `Pool(0)`); see
 *   {@linkcode GroupOptions.limit}.
 *
 * @example
 * ```ts
 * import { Group } from "@multipool/multipool";
 * await using group = new Group({ limit: 10 });
 * const job = group.spawn((signal) => fetch("data:text/plain,hi", { signal }));
 * await group.join();
 * console.log(await (await job).text()); // "hi"
 * for await (const n of group.imapUnordered((s: string) => s.length, ["a", "bb"])) {
 *   console.log(n); // 1, 2 (in completion order)
 * }
 * ```
 */
export class Group {
  readonly #scope: JobScope;

  /**
   * Creates a group; see {@linkcode GroupOptions}.
   *
   * @example
   * ```ts
   * import { Group } from "@multipool/multipool";
   * const controller = new AbortController();
   * await using group = new Group({ limit: 4, signal: controller.signal });
   * console.log(group.limit, group.freeCount); // 4 4
   * ```
   */
  constructor(options: GroupOptions = {}) {
    if (typeof options !== "object" || options === null) {
      throw new TypeError(
        `Argument options must be an object such as { limit: 10 }, got ${describe(options)}`,
      );
    }
    const limit = optionalLimit(options.limit, "limit", 0) ?? Infinity;
    this.#scope = new JobScope(limit, optionalSignal(options.signal));
  }

  /**
   * The most jobs that run at once (`Infinity` without a limit).
   *
   * @example
   * ```ts
   * import { Group } from "@multipool/multipool";
   * console.log(new Group().limit); // Infinity
   * ```
   */
  get limit(): number {
    return this.#scope.limit;
  }

  /**
   * Jobs in the group: running plus waiting for a slot (`len(group)`).
   *
   * @example
   * ```ts
   * import { Group, sleep } from "@multipool/multipool";
   * await using group = new Group({ limit: 1 });
   * group.spawn(() => sleep(1));
   * group.spawn(() => sleep(1));
   * console.log(group.size); // 2
   * ```
   */
  get size(): number {
    return this.#scope.size;
  }

  /**
   * How many more jobs would start at once: `limit - size`, at least 0
   * (gevent's `free_count()`).
   *
   * @example
   * ```ts
   * import { Group, sleep } from "@multipool/multipool";
   * await using group = new Group({ limit: 3 });
   * group.spawn(() => sleep(1));
   * console.log(group.freeCount); // 2
   * ```
   */
  get freeCount(): number {
    return this.#scope.freeCount;
  }

  /**
   * Whether a new job would have to wait for a slot (gevent's `full()`).
   *
   * @example
   * ```ts
   * import { Group, sleep } from "@multipool/multipool";
   * await using group = new Group({ limit: 1 });
   * group.spawn(() => sleep(1));
   * console.log(group.full); // true
   * ```
   */
  get full(): boolean {
    return this.freeCount === 0;
  }

  /**
   * Whether `close()` (or disposal) happened: no new jobs or maps.
   *
   * @example
   * ```ts
   * import { Group } from "@multipool/multipool";
   * const group = new Group();
   * group.close();
   * console.log(group.closed); // true
   * ```
   */
  get closed(): boolean {
    return this.#scope.closed;
  }

  /**
   * Starts `fn(signal)` as a {@linkcode Job}, or queues it while the group
   * is full (it starts when a slot frees, in spawn order). Throws
   * `PoolClosedError` after `close()`. While the group is failing (a job
   * failed and `join()` has not reported it yet) or its signal is aborted,
   * the job is cancelled at once: it is rejected with that reason and `fn`
   * never runs. In a group with limit 0 the job stays queued until it is
   * killed (or `close()` cancels it).
   *
   * @example
   * ```ts
   * import { Group, sleep } from "@multipool/multipool";
   * await using group = new Group({ limit: 2 });
   * const job = group.spawn(async (signal) => {
   *   await sleep(5, { signal });
   *   return "done";
   * });
   * console.log(await job); // "done"
   * ```
   */
  spawn<T>(fn: JobFn<T>): Job<T> {
    checkFunction(fn, "fn");
    this.#scope.checkOpen();
    return this.#scope.spawn(fn);
  }

  /**
   * Runs `fn(item, signal)` over `source` and resolves with the results in
   * input order. Rejects on the first failure, after aborting and awaiting
   * the items still running; the source is not read further (its
   * `return()` is called). See {@linkcode GroupMapOptions} for concurrency and
   * buffering. Bad arguments, a closed group and a group with limit 0
   * reject the promise; `map` never throws.
   *
   * @example
   * ```ts
   * import { Group } from "@multipool/multipool";
   * await using group = new Group({ limit: 2 });
   * console.log(await group.map(async (x: number) => x * 2, [1, 2, 3])); // [2, 4, 6]
   * ```
   */
  async map<T, R>(
    fn: MapFn<T, R>,
    source: Iterable<T> | AsyncIterable<T>,
    options: GroupMapOptions = {},
  ): Promise<R[]> {
    return await this.#scope.track(Array.fromAsync(this.#mapStream(fn, source, options, "map")));
  }

  /**
   * Like `map`, as an async iterator yielding results in input order
   * (`imap`). The source is read lazily: at most `buffersize` items are
   * started and not yet consumed. Leaving the loop early (`break`, `throw`)
   * closes the source and aborts, then awaits, the items still running.
   * The iterator can feed `pool.imap` directly.
   *
   * A failure ends the stream at the failed item's position: the results
   * before it in input order are yielded first (earlier items still running
   * are let finish), then the error is thrown; items after it are aborted
   * and the source is read no further. An error thrown by the source comes
   * after the items pulled before it.
   *
   * @example
   * ```ts
   * import { Group } from "@multipool/multipool";
   * await using group = new Group({ limit: 4 });
   * async function* numbers() {
   *   for (let i = 0; ; i++) yield i;
   * }
   * for await (const square of group.imap((x: number) => x * x, numbers())) {
   *   if (square > 10) break; // the generator is closed, nothing keeps running
   * }
   * ```
   */
  imap<T, R>(
    fn: MapFn<T, R>,
    source: Iterable<T> | AsyncIterable<T>,
    options: GroupMapOptions = {},
  ): AsyncIterableIterator<R> {
    return this.#mapStream(fn, source, options, "imap");
  }

  /**
   * Like `imap`, yielding each result as soon as it is ready (completion
   * order). A failure (an item's or the source's) is thrown after the
   * results that had finished when it arrived; items still running then
   * are aborted.
   *
   * @example
   * ```ts
   * import { Group, sleep } from "@multipool/multipool";
   * await using group = new Group();
   * const delays = [30, 1];
   * for await (const ms of group.imapUnordered((ms: number) => sleep(ms).then(() => ms), delays)) {
   *   console.log(ms); // 1, then 30
   * }
   * ```
   */
  imapUnordered<T, R>(
    fn: MapFn<T, R>,
    source: Iterable<T> | AsyncIterable<T>,
    options: GroupMapOptions = {},
  ): AsyncIterableIterator<R> {
    return this.#mapStream(fn, source, options, "imapUnordered");
  }

  /**
   * Runs `fn(...args, signal)` as a job of the group and resolves with its
   * result (gevent's `apply`): it waits for a slot like `spawn`, and `fn`
   * gets the job's `AbortSignal` after `args` (as `map`'s `fn(item,
   * signal)`). Its failure goes to the caller only, not to `join()`.
   *
   * From inside one of the group's jobs, pass that job's signal as
   * `options.signal`: the call then runs inline in the caller's slot, as
   * gevent's does, so a full group cannot deadlock on it (see
   * {@linkcode GroupApplyOptions}). Any other signal aborts the call.
   *
   * Never throws: bad arguments reject with a `TypeError`, a closed group
   * with `PoolClosedError` (an inline call still runs), a group with limit
   * 0 with a `RangeError` (the call could never start).
   *
   * @example
   * ```ts
   * import { Group } from "@multipool/multipool";
   * await using group = new Group({ limit: 1 });
   * console.log(await group.apply((a: number, b: number) => a * b, [6, 7])); // 42
   * // From inside a job of the full group: pass the job's signal, it runs inline.
   * const outer = group.spawn((signal) => group.apply((x: number) => x + 1, [1], { signal }));
   * console.log(await outer); // 2
   * ```
   */
  async apply<A extends unknown[], F extends (...args: [...A, signal: AbortSignal]) => unknown>(
    fn: F,
    args: [...A],
    options: GroupApplyOptions = {},
  ): Promise<Awaited<ReturnType<F>>> {
    checkFunction(fn, "fn");
    const tuple = argumentTuple(args, "args");
    if (typeof options !== "object" || options === null) {
      throw new TypeError(
        `Argument options must be an object such as { signal }, got ${describe(options)}`,
      );
    }
    const signal = optionalSignal(options.signal, "options.signal");
    signal?.throwIfAborted();
    const call = (jobSignal: AbortSignal) =>
      (fn as unknown as (...a: unknown[]) => unknown)(...tuple, jobSignal);
    // Called from inside one of our running jobs: run in its slot, do not wait for another.
    if (signal && this.#scope.runningWith(signal)) {
      return await call(signal) as Awaited<ReturnType<F>>;
    }
    this.#scope.checkOpen();
    this.#scope.checkCanStart("apply()");
    const onAbort = () => job.kill(signal!.reason);
    const job = this.#scope.spawnOwned(call, () => signal?.removeEventListener("abort", onAbort));
    if (!job.ready()) signal?.addEventListener("abort", onAbort, { once: true });
    return await job as Awaited<ReturnType<F>>;
  }

  /**
   * Like `apply`, returning an {@linkcode AsyncResult} at once (gevent's
   * and Python's `apply_async`); exactly one of `options.callback` /
   * `options.errorCallback` runs. It never throws: bad input rejects the
   * result. A callback that throws goes to `console.error`.
   *
   * @example
   * ```ts
   * import { Group } from "@multipool/multipool";
   * await using group = new Group({ limit: 2 });
   * const result = group.applyAsync((s: string) => s.toUpperCase(), ["hi"], {
   *   callback: (value) => console.log(value), // "HI"
   * });
   * console.log(await result.get(1000), result.successful()); // "HI" true
   * ```
   */
  applyAsync<A extends unknown[], F extends (...args: [...A, signal: AbortSignal]) => unknown>(
    fn: F,
    args: [...A],
    options: GroupApplyAsyncOptions<Awaited<ReturnType<F>>> = {},
  ): AsyncResult<Awaited<ReturnType<F>>> {
    type R = Awaited<ReturnType<F>>;
    let callbacks: AsyncResultCallbacks<R>;
    try {
      callbacks = {
        callback: optionalFunction(options?.callback, "options.callback"),
        errorCallback: optionalFunction(options?.errorCallback, "options.errorCallback"),
      };
    } catch (error) {
      return new AsyncResult<R>(Promise.reject(error));
    }
    return new AsyncResult(this.apply(fn, args, options), callbacks);
  }

  /**
   * Waits until every job has settled, at most `timeout` ms. Resolves
   * `true` when the group is empty, `false` when the time ran out (jobs go
   * on). Rejects when jobs failed since the last report: with the error, or
   * an `AggregateError` when several failed; a failure is reported once.
   * Also waits for `map()` calls in progress. `join(0)` does not wait; a
   * bad `timeout` rejects with a `TypeError` or `RangeError`.
   *
   * @example
   * ```ts
   * import { Group, sleep } from "@multipool/multipool";
   * await using group = new Group();
   * group.spawn(() => sleep(1));
   * group.spawn(async () => {
   *   throw new Error("boom");
   * });
   * await group.join().catch((e) => console.log(e.message)); // "boom"
   * ```
   */
  async join(options?: number | JoinOptions): Promise<boolean> {
    return await this.#scope.join(waitTimeout(options));
  }

  /**
   * Kills every job now (see `Job.kill`): queued ones never start, running
   * ones are aborted with `reason` and settle at once. The group stays
   * usable; killed jobs are not failures, so `join()` does not reject for
   * them.
   *
   * @example
   * ```ts
   * import { Group, sleep } from "@multipool/multipool";
   * await using group = new Group();
   * const job = group.spawn((signal) => sleep(60_000, { signal }));
   * group.kill();
   * console.log(job.killed, group.size); // true 0
   * ```
   */
  kill(reason: unknown = new DOMException("Group was killed", "AbortError")): void {
    this.#scope.kill(reason);
  }

  /**
   * Waits until a spawned job would start at once (`freeCount > 0`), at
   * most `timeout` ms; resolves with `freeCount` (0 if the time ran out).
   * In a group with limit 0 it needs a timeout: without one it rejects with
   * a `RangeError`, as it could never end. A bad `timeout` rejects too.
   *
   * @example
   * ```ts
   * import { Group, sleep } from "@multipool/multipool";
   * await using group = new Group({ limit: 1 });
   * group.spawn(() => sleep(5));
   * console.log(await group.waitAvailable()); // 1
   * ```
   */
  async waitAvailable(timeout?: number | JoinOptions): Promise<number> {
    return await this.#scope.waitAvailable(waitTimeout(timeout));
  }

  /**
   * Accepts no new jobs or maps (`spawn` and `imap` throw
   * `PoolClosedError`, `map` and `apply` reject with it); jobs already in
   * the group go on. Maps already iterating go on too. In a group with
   * limit 0, whose queued jobs could never start, it cancels them with a
   * `PoolClosedError` that `join()` then reports.
   *
   * @example
   * ```ts
   * import { Group, sleep } from "@multipool/multipool";
   * const group = new Group();
   * group.spawn(() => sleep(1));
   * group.close();
   * await group.join();
   * ```
   */
  close(): void {
    this.#scope.close();
  }

  /**
   * Closes the group and waits for every job (`close()` then `join()`);
   * rejects like `join()` with failures not reported yet.
   *
   * @example
   * ```ts
   * import { Group, sleep } from "@multipool/multipool";
   * {
   *   await using group = new Group();
   *   group.spawn(() => sleep(1));
   * } // waits here for the job
   * ```
   */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    try {
      await this.join();
    } finally {
      this.#scope.detachSignal();
    }
  }

  #mapStream<T, R>(
    fn: MapFn<T, R>,
    source: Iterable<T> | AsyncIterable<T>,
    options: GroupMapOptions,
    kind: MapKind,
  ): AsyncGenerator<R, void, undefined> {
    checkFunction(fn, "fn");
    iterable(source, "source");
    this.#scope.checkOpen();
    this.#scope.checkCanStart(`${kind}()`);
    const settings = mapStreamOptions(kind, this.#scope.limit, options);
    return mapStream(this.#spawnItem, fn, source, settings);
  }

  #spawnItem: SpawnItem = (fn, onSettled) => this.#scope.spawnOwned(fn, onSettled);
}
