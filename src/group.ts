/**
 * {@linkcode Group}: gevent's `Group`/`Pool(size)` for async IO, with
 * structured cancellation. The job helpers ({@linkcode Job},
 * {@linkcode spawn}, {@linkcode joinAll}) live in `job.ts`.
 *
 * @module
 */

import { PoolClosedError } from "./errors.ts";
import {
  checkFunction,
  createJob,
  isFailure,
  type Job,
  type JobFn,
  type SettleHook,
} from "./job.ts";
import { type MapFn, type MapKind, mapStream } from "./_map_stream.ts";
import { describe } from "./task.ts";
import type { JoinOptions } from "./timeout.ts";
import { waitTimeout } from "./_wait.ts";
import { Condition } from "./_condition.ts";
import { JobSlots } from "./_job_slots.ts";
import { iterable, optionalInteger, optionalSignal } from "./_validate.ts";

export type { MapFn };

/**
 * Options of the {@linkcode Group} constructor.
 *
 * @example
 * ```ts
 * import { Group, type GroupOptions } from "@multipool/multipool";
 * const options: GroupOptions = { limit: 10, signal: AbortSignal.timeout(60_000) };
 * await using group = new Group(options);
 * console.log(group.limit); // 10
 * ```
 */
export interface GroupOptions {
  /**
   * At most this many jobs run at once; later ones wait their turn in spawn
   * order (gevent's `Pool(size)`). Omitted or `Infinity`: no limit (gevent's
   * `Group`). `0`: always full, nothing ever starts (gevent's `Pool(0)`):
   * spawned jobs stay queued until killed, and `close()` cancels them;
   * maps and a `waitAvailable()` without a timeout, which could
   * never end, fail at once with a `RangeError`.
   */
  limit?: number;
  /** Aborting it aborts every job (queued ones never start); `join()` then rejects with its reason. */
  signal?: AbortSignal;
}

/**
 * Options of `Group.map`, `Group.imap` and `Group.imapUnordered`.
 *
 * @example
 * ```ts
 * import { Group, type GroupMapOptions } from "@multipool/multipool";
 * const options: GroupMapOptions = { limit: 4, buffersize: 8 };
 * await using group = new Group();
 * console.log(await group.map(async (x: number) => x * 2, [1, 2], options)); // [2, 4]
 * ```
 */
export interface GroupMapOptions {
  /**
   * Items of this map running at once; default and upper bound: the group's
   * `limit` (100 in a group without a limit).
   */
  limit?: number;
  /**
   * Items started but not yet consumed (running plus finished and waiting
   * for the consumer); default `2 * limit`. The source is read no further
   * ahead than this, so a paused consumer pauses the source.
   */
  buffersize?: number;
  /** Aborting it stops the map: running items are aborted and the map rejects with its reason. */
  signal?: AbortSignal;
}

/** Concurrency of a map in a group that has no limit. */
const DEFAULT_MAP_LIMIT = 100;
/** Marks "nothing cancels new jobs" (a reason may be any value, even `undefined`). */
const NOT_CANCELLED: unique symbol = Symbol("not cancelled");

/**
 * One stretch of work until the group is next idle: the joins that wait
 * during it end together (when the group drops it) and report the same errors.
 */
interface Drain {
  report?: unknown[];
}

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
 *   `AsyncIterable`, pulling it lazily with bounded concurrency; their
 *   errors go to their caller, not to `join()`.
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
  readonly #slots: JobSlots;
  readonly #signal: AbortSignal | undefined;
  #errors: unknown[] = [];
  #closed = false;
  #activeMaps = 0;
  /** The drain joins wait on now; `undefined` while nobody waits. */
  #drain: Drain | undefined;
  /** Notified whenever a slot may have freed or the group may have become idle. */
  readonly #changed = new Condition();
  readonly #onJobSettled: SettleHook = (job) => {
    if (!this.#slots.release(job)) return;
    if (isFailure(job)) this.#fail(job.error);
    this.#pump();
  };
  readonly #onAbort = (): void => {
    // Reported by join() only when the abort cancelled work, and only once.
    if (!this.#isIdle() && this.#errors.length === 0) this.#fail(this.#signal!.reason);
  };

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
    this.#slots = new JobSlots(checkLimit(options.limit, "limit", 0) ?? Infinity);
    this.#signal = optionalSignal(options.signal);
    this.#signal?.addEventListener("abort", this.#onAbort, { once: true });
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
    return this.#slots.limit;
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
    return this.#slots.size;
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
    return this.#slots.freeCount;
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
    return this.#closed;
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
    this.#checkOpen();
    return this.#spawn(fn, this.#onJobSettled, true);
  }

  /**
   * Runs `fn(item, signal)` over `source` and resolves with the results in
   * input order. Rejects on the first failure, after aborting and awaiting
   * the items still running; the source is not read further (its
   * `return()` is called). See {@linkcode GroupMapOptions} for concurrency and
   * buffering.
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
    return await this.#collect(this.#mapStream(fn, source, options, "map"));
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
   * Waits until every job has settled, at most `timeout` ms. Resolves
   * `true` when the group is empty, `false` when the time ran out (jobs go
   * on). Rejects when jobs failed since the last report: with the error, or
   * an `AggregateError` when several failed; a failure is reported once.
   * Also waits for `map()` calls in progress.
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
    return await this.#join(waitTimeout(options));
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
    this.#slots.cancelWaiting(reason);
    this.#slots.killRunning(reason);
    this.#notify();
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
    const ms = waitTimeout(timeout);
    if (ms === Infinity && this.#slots.limit === 0) {
      throw new RangeError(
        "Group has limit 0: waitAvailable() without a timeout could never end (pass a timeout)",
      );
    }
    await this.#changed.untilWithin(() => this.freeCount > 0, ms);
    return this.freeCount;
  }

  /**
   * Accepts no new jobs or maps (`spawn` and `imap` throw
   * `PoolClosedError`, `map` rejects with it); jobs already in
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
    this.#closed = true;
    if (this.#slots.limit === 0 && this.#slots.size > 0) {
      // Nothing can ever start them: report them instead of waiting forever.
      const reason = new PoolClosedError(
        "Group with limit 0 was closed: its queued jobs could never start",
      );
      this.#errors.push(reason);
      this.#slots.cancelWaiting(reason);
    }
    this.#notify();
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
      this.#detachSignal();
    }
  }

  #checkOpen(): void {
    if (this.#closed) throw new PoolClosedError("Group is closed: no new jobs are accepted");
  }

  /** Throws when the group has limit 0: `what` would wait for a slot forever. */
  #checkCanStart(what: string): void {
    if (this.#slots.limit === 0) {
      throw new RangeError(`Group has limit 0: ${what} could never start (use a limit >= 1)`);
    }
  }

  #isIdle(): boolean {
    return this.#slots.size === 0 && this.#activeMaps === 0;
  }

  /** The reason new jobs are cancelled with, or `NOT_CANCELLED`. */
  #cancelReason(): unknown {
    if (this.#errors.length > 0) return this.#errors[0];
    return this.#signal?.aborted ? this.#signal.reason : NOT_CANCELLED;
  }

  #spawn<T>(fn: JobFn<T>, onSettled: SettleHook, reports: boolean): Job<T> {
    const job = createJob(fn, onSettled);
    const reason = this.#cancelReason();
    if (reason !== NOT_CANCELLED) {
      if (reports && this.#errors.length === 0) this.#errors.push(reason);
      job.kill(reason);
    } else {
      this.#slots.enqueue(job);
      this.#pump();
    }
    return job;
  }

  /** Spawns one item of a map: its failure goes to the map, not to `join()`. */
  #spawnItem = <R>(fn: JobFn<R>, onSettled: (job: Job<R>) => void): Job<R> => {
    const hook: SettleHook = (job) => {
      onSettled(job as Job<R>);
      if (this.#slots.release(job)) this.#pump();
    };
    return this.#spawn(fn, hook, false);
  };

  #mapStream<T, R>(
    fn: MapFn<T, R>,
    source: Iterable<T> | AsyncIterable<T>,
    options: GroupMapOptions,
    kind: MapKind,
  ): AsyncGenerator<R, void, undefined> {
    checkFunction(fn, "fn");
    iterable(source, "source");
    this.#checkOpen();
    this.#checkCanStart(`${kind}()`);
    const groupLimit = this.#slots.limit;
    const defaultLimit = Number.isFinite(groupLimit) ? groupLimit : DEFAULT_MAP_LIMIT;
    const limit = Math.min(checkLimit(options.limit, "options.limit") ?? defaultLimit, groupLimit);
    const buffersize = optionalInteger(options.buffersize, "options.buffersize") ?? 2 * limit;
    const signal = optionalSignal(options.signal, "options.signal");
    return mapStream(this.#spawnItem, fn, source, { limit, buffersize, kind, signal });
  }

  async #collect<R>(stream: AsyncIterable<R>): Promise<R[]> {
    this.#activeMaps++;
    try {
      return await Array.fromAsync(stream);
    } finally {
      this.#activeMaps--;
      this.#notify();
    }
  }

  async #join(ms: number): Promise<boolean> {
    if (this.#isIdle()) return this.#outcome(this.#takeErrors());
    const drain: Drain = this.#drain ??= {};
    if (!(await this.#changed.untilWithin(() => this.#drain !== drain, ms))) return false;
    // Every join waiting on the same drain reports the same errors.
    drain.report ??= this.#takeErrors();
    return this.#outcome(drain.report);
  }

  #takeErrors(): unknown[] {
    const errors = this.#errors;
    this.#errors = [];
    return errors;
  }

  #outcome(errors: unknown[]): true {
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) {
      throw new AggregateError(errors, `Several jobs of the group failed (${errors.length})`);
    }
    return true;
  }

  /** Records a failure; the first one aborts every other job. */
  #fail(error: unknown): void {
    this.#errors.push(error);
    if (this.#errors.length > 1) return;
    this.#slots.cancelWaiting(error);
    this.#slots.abortRunning(error);
    this.#notify();
  }

  /** Starts queued jobs while there are free slots, in spawn order. */
  #pump(): void {
    this.#slots.pump();
    this.#notify();
  }

  /** Wakes `waitAvailable()` and `join()` callers whose condition now holds. */
  #notify(): void {
    if (this.#isIdle()) {
      this.#drain = undefined; // ends the drain: its joins wake below
      if (this.#closed) this.#detachSignal();
    }
    this.#changed.notify();
  }

  #detachSignal(): void {
    this.#signal?.removeEventListener("abort", this.#onAbort);
  }
}

/** Reads a concurrency limit: an integer >= `min`, `Infinity`, or `undefined` (not given). */
function checkLimit(value: unknown, name: string, min = 1): number | undefined {
  return value === Infinity ? Infinity : optionalInteger(value, name, min);
}
