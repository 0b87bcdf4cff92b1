/**
 * {@linkcode Job}: one coroutine (gevent's `Greenlet`), with
 * {@linkcode spawn} to start one outside any group and {@linkcode joinAll}
 * (gevent's `joinall`) to wait for several.
 *
 * @module
 */

import { describe } from "./task.ts";
import { isThenable } from "./_thenable.ts";
import type { JoinOptions } from "./timeout.ts";
import { type Outcome, Settled } from "./_settled.ts";
import { settlesWithin, waitTimeout } from "./_wait.ts";

/**
 * The work of a job: called once with the job's `AbortSignal`.
 *
 * @example
 * ```ts
 * import { type JobFn, spawn } from "@multipool/multipool";
 * const work: JobFn<string> = (signal) => (signal.aborted ? "aborted" : "done");
 * console.log(await spawn(work)); // "done"
 * ```
 */
export type JobFn<T> = (signal: AbortSignal) => T | PromiseLike<T>;

/**
 * Options of {@linkcode joinAll}.
 *
 * @example
 * ```ts
 * import { joinAll, type JoinAllOptions, spawn } from "@multipool/multipool";
 * const options: JoinAllOptions = { timeout: 1_000, raiseError: true };
 * const jobs = [spawn(() => 1), spawn(() => 2)];
 * console.log((await joinAll(jobs, options)).length); // 2
 * ```
 */
export interface JoinAllOptions {
  /** Milliseconds to wait at most; the jobs not done by then are left out of the result. */
  timeout?: number;
  /**
   * Reject with the first failure. Unlike gevent, the other jobs are then
   * aborted (and awaited), so none keeps running behind the error.
   */
  raiseError?: boolean;
}

/** Called once when a job settles; how a `Group` keeps count. */
export type SettleHook = (job: Job<unknown>) => void;

/**
 * Where a job is in its life; what it settled with is in its `Settled`.
 * `onSettled` is the owner's hook, called once at the settle.
 */
type Phase<T> =
  | { readonly name: "queued"; readonly fn: JobFn<T>; readonly onSettled?: SettleHook }
  | { readonly name: "running"; readonly onSettled?: SettleHook }
  | { readonly name: "done"; readonly killed: boolean };

/*
 * Keys of the static members through which the functions below reach a
 * job's private state. They never leave this module, so `createJob`,
 * `startJob` and `abortJob` (exported here, not from mod.ts) are the only
 * way in.
 */
const CREATE: unique symbol = Symbol("Job.create");
const START: unique symbol = Symbol("Job.start");
const ABORT: unique symbol = Symbol("Job.abort");

/**
 * A running (or queued) piece of work, like gevent's `Greenlet`: await it
 * (it is a `PromiseLike`) or use `get(timeout)`, `join(timeout)`, `ready()`,
 * `successful()`, `value`, `error`, and `kill(reason)`. Jobs come from
 * {@linkcode spawn} or `Group.spawn()`.
 *
 * A job that fails and that nobody awaits never becomes an unhandled
 * rejection: the error stays in `job.error` (and its group reports it).
 *
 * @example
 * ```ts
 * import { spawn } from "@multipool/multipool";
 * const job = spawn(async (signal) => {
 *   const response = await fetch("data:text/plain,hello", { signal });
 *   return await response.text();
 * });
 * console.log(await job); // "hello"
 * console.log(job.ready(), job.successful(), job.value); // true true "hello"
 * ```
 */
export class Job<T> implements PromiseLike<T> {
  readonly #settled = new Settled<T>("Job");
  #phase: Phase<T>;
  #controller: AbortController | undefined;

  private constructor(fn: JobFn<T>, onSettled?: SettleHook) {
    this.#phase = { name: "queued", fn, onSettled };
  }

  /** @ignore Internal: see {@linkcode createJob}. */
  static [CREATE]<T>(fn: JobFn<T>, onSettled?: SettleHook): Job<T> {
    return new Job(fn, onSettled);
  }

  /** @ignore Internal: see {@linkcode startJob}. */
  static [START](job: Job<unknown>): void {
    job.#start();
  }

  /** @ignore Internal: see {@linkcode abortJob}. */
  static [ABORT](job: Job<unknown>, reason: unknown): void {
    job.#abortController().abort(reason);
  }

  /**
   * The signal the job's function receives: aborted by `kill()`, by the
   * group when a sibling fails or the group is killed or aborted.
   *
   * @example
   * ```ts
   * import { sleep, spawn } from "@multipool/multipool";
   * const job = spawn((signal) => sleep(60_000, { signal }));
   * job.kill();
   * console.log(job.signal.aborted); // true
   * ```
   */
  get signal(): AbortSignal {
    return this.#abortController().signal;
  }

  /**
   * The value once the job succeeded; `undefined` before or after a failure.
   *
   * @example
   * ```ts
   * import { spawn } from "@multipool/multipool";
   * const job = spawn(() => 7);
   * await job;
   * console.log(job.value); // 7
   * ```
   */
  get value(): T | undefined {
    return this.#settled.value;
  }

  /**
   * The error once the job failed or was killed (gevent's `exception`);
   * `undefined` otherwise.
   *
   * @example
   * ```ts
   * import { spawn } from "@multipool/multipool";
   * const job = spawn(() => {
   *   throw new Error("nope");
   * });
   * await job.join();
   * console.log((job.error as Error).message); // "nope"
   * ```
   */
  get error(): unknown {
    return this.#settled.error;
  }

  /**
   * Whether the job was ended by `kill()` (its `error` is the kill reason).
   *
   * @example
   * ```ts
   * import { sleep, spawn } from "@multipool/multipool";
   * const job = spawn((signal) => sleep(60_000, { signal }));
   * job.kill();
   * console.log(job.killed, job.ready()); // true true
   * ```
   */
  get killed(): boolean {
    return this.#phase.name === "done" && this.#phase.killed;
  }

  /**
   * Whether the job has finished: succeeded, failed or was killed.
   *
   * @example
   * ```ts
   * import { sleep, spawn } from "@multipool/multipool";
   * const job = spawn(() => sleep(5));
   * console.log(job.ready()); // false
   * await job;
   * console.log(job.ready()); // true
   * ```
   */
  ready(): boolean {
    return this.#settled.ready();
  }

  /**
   * Whether the job finished without error. Throws an `Error` if it is not
   * ready yet (like Python's `AsyncResult.successful()`).
   *
   * @example
   * ```ts
   * import { spawn } from "@multipool/multipool";
   * const job = spawn(() => "ok");
   * await job;
   * console.log(job.successful()); // true
   * ```
   */
  successful(): boolean {
    return this.#settled.successful();
  }

  /**
   * Waits until the job has finished, at most `timeout` ms (`0`: do not
   * wait); resolves with `ready()` (gevent's `Greenlet.join`). Never
   * rejects, except a bad `timeout` (a `TypeError` or `RangeError`).
   *
   * @example
   * ```ts
   * import { sleep, spawn } from "@multipool/multipool";
   * const job = spawn((signal) => sleep(1000, { signal }));
   * console.log(await job.join(5)); // false: still running
   * job.kill();
   * console.log(await job.join()); // true
   * ```
   */
  join(timeout?: number | JoinOptions): Promise<boolean> {
    return this.#settled.wait(timeout);
  }

  /**
   * Resolves with the value or rejects with the job's error; rejects with a
   * `TimeoutError` if the job has not finished within `timeout` ms (the job
   * goes on). A bad `timeout` rejects too; it never throws.
   *
   * @example
   * ```ts
   * import { spawn } from "@multipool/multipool";
   * const job = spawn(() => 21 * 2);
   * console.log(await job.get(100)); // 42
   * ```
   */
  get(timeout?: number | JoinOptions): Promise<T> {
    return this.#settled.get(timeout);
  }

  /**
   * Ends the job now: aborts its signal with `reason` and settles it as
   * rejected with `reason` (default: a `DOMException` named `AbortError`),
   * even if its function ignores the signal. A queued job never starts.
   * Does nothing once the job is ready.
   *
   * @example
   * ```ts
   * import { sleep, spawn } from "@multipool/multipool";
   * const job = spawn((signal) => sleep(60_000, { signal }));
   * job.kill(new Error("enough"));
   * console.log((job.error as Error).message); // "enough"
   * ```
   */
  kill(reason: unknown = new DOMException("Job was killed", "AbortError")): void {
    if (this.ready()) return;
    this.#abortController().abort(reason);
    this.#settle({ state: "rejected", error: reason }, true);
  }

  /**
   * Makes the job awaitable: `await job` gives its value or throws its error.
   *
   * @example
   * ```ts
   * import { spawn } from "@multipool/multipool";
   * const length = await spawn(() => "four").then((s) => s.length);
   * console.log(length); // 4
   * ```
   */
  then<A = T, B = never>(
    onFulfilled?: ((value: T) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.#settled.promise().then(onFulfilled, onRejected);
  }

  /**
   * Like `Promise.prototype.catch`.
   *
   * @example
   * ```ts
   * import { spawn } from "@multipool/multipool";
   * const job = spawn((): number => {
   *   throw new Error("bad");
   * });
   * console.log(await job.catch(() => -1)); // -1
   * ```
   */
  catch<B = never>(onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<T | B> {
    return this.#settled.promise().catch(onRejected);
  }

  /**
   * Like `Promise.prototype.finally`.
   *
   * @example
   * ```ts
   * import { spawn } from "@multipool/multipool";
   * await spawn(() => 1).finally(() => console.log("done"));
   * ```
   */
  finally(onFinally?: (() => void) | null): Promise<T> {
    return this.#settled.promise().finally(onFinally);
  }

  /**
   * `"Job"`; with `then`, `catch` and `finally` it makes a job usable where
   * a `Promise` is expected.
   *
   * @example
   * ```ts
   * import { spawn } from "@multipool/multipool";
   * const pending: Promise<number> = spawn(() => 1);
   * console.log(String(pending), await pending); // "[object Job]" 1
   * ```
   */
  get [Symbol.toStringTag](): string {
    return "Job";
  }

  #abortController(): AbortController {
    return this.#controller ??= new AbortController();
  }

  #start(): void {
    const phase = this.#phase;
    if (phase.name !== "queued") return;
    this.#phase = { name: "running", onSettled: phase.onSettled };
    let result: T | PromiseLike<T>;
    try {
      result = phase.fn(this.signal);
    } catch (error) {
      this.#settle({ state: "rejected", error }, false);
      return;
    }
    if (!isThenable(result)) {
      this.#settle({ state: "fulfilled", value: result }, false);
      return;
    }
    Promise.resolve(result).then(
      (value) => this.#settle({ state: "fulfilled", value }, false),
      (error) => this.#settle({ state: "rejected", error }, false),
    );
  }

  /** Settles once: the state first, then the owner's hook, then the awaiters. */
  #settle(outcome: Exclude<Outcome<T>, { state: "pending" }>, killed: boolean): void {
    const phase = this.#phase;
    if (phase.name === "done") return;
    this.#phase = { name: "done", killed };
    const settled = this.#settled;
    if (outcome.state === "fulfilled") settled.fulfill(outcome.value);
    else settled.reject(outcome.error);
    phase.onSettled?.(this);
  }
}

/** Creates a job that waits for {@linkcode startJob}; `onSettled` runs once when it settles. */
export function createJob<T>(fn: JobFn<T>, onSettled?: SettleHook): Job<T> {
  return Job[CREATE](fn, onSettled);
}

/** Calls a queued job's function (once; a job that is not queued any more is left alone). */
export function startJob(job: Job<unknown>): void {
  Job[START](job);
}

/** Aborts a job's signal without settling it: the job ends when its function reacts. */
export function abortJob(job: Job<unknown>, reason: unknown): void {
  Job[ABORT](job, reason);
}

/**
 * Whether `job` failed by itself: it was rejected, not killed, and not just
 * giving back the reason its signal was aborted with (a cancelled sibling).
 */
export function isFailure(job: Job<unknown>): boolean {
  if (!job.ready() || job.successful() || job.killed) return false;
  const signal = job.signal;
  if (!signal.aborted) return true;
  const error = job.error;
  return error !== signal.reason &&
    !(error instanceof DOMException && error.name === "AbortError");
}

/**
 * Starts `fn(signal)` as a standalone {@linkcode Job} (`gevent.spawn`): no
 * group, no limit. `fn` is called right away; a synchronous throw becomes
 * the job's error.
 *
 * @example
 * ```ts
 * import { sleep, spawn } from "@multipool/multipool";
 * const job = spawn(async (signal) => {
 *   await sleep(5, { signal });
 *   return "slept";
 * });
 * console.log(await job); // "slept"
 * ```
 */
export function spawn<T>(fn: JobFn<T>): Job<T> {
  checkFunction(fn, "fn");
  const job = createJob(fn);
  startJob(job);
  return job;
}

/**
 * Waits for `jobs` (gevent's `joinall`) and resolves with those that
 * finished, in input order: all of them, or fewer when `timeout` ran out.
 * With `raiseError`, rejects with the first job that failed on its own (not
 * killed or cancelled); the other jobs are aborted with that error and
 * awaited first, so nothing keeps running behind the rejection (gevent#1933).
 * Bad arguments reject with a `TypeError` or `RangeError` (never a throw).
 *
 * @example
 * ```ts
 * import { joinAll, sleep, spawn } from "@multipool/multipool";
 * const fast = spawn(() => sleep(1));
 * const slow = spawn((signal) => sleep(1000, { signal }));
 * const done = await joinAll([fast, slow], { timeout: 50 });
 * console.log(done.length); // 1
 * slow.kill();
 * ```
 */
export async function joinAll<J extends Job<unknown>>(
  jobs: Iterable<J>,
  options: JoinAllOptions = {},
): Promise<J[]> {
  const list = toJobList(jobs);
  const ms = waitTimeout(options?.timeout, "options.timeout");
  const { promise: outcome, resolve } = Promise.withResolvers<void>();
  let failed: J | undefined;
  let pending = list.length;
  if (pending === 0) resolve();
  for (const job of list) {
    job.join().then(() => {
      if (options?.raiseError && !failed && isFailure(job)) {
        failed = job;
        resolve();
      }
      if (--pending === 0) resolve();
    });
  }
  await settlesWithin(outcome, ms);
  if (!failed) return list.filter((job) => job.ready());
  for (const job of list) if (job !== failed) abortJob(job, failed.error);
  await Promise.all(list.map((job) => job.join()));
  throw failed.error;
}

function toJobList<J extends Job<unknown>>(jobs: Iterable<J>): J[] {
  if (jobs === null || typeof (jobs as Partial<Iterable<J>>)?.[Symbol.iterator] !== "function") {
    throw new TypeError(`Argument jobs must be an Iterable of Job, got ${describe(jobs)}`);
  }
  const list = [...jobs];
  list.forEach((job, i) => {
    if (!(job instanceof Job)) {
      throw new TypeError(`Argument jobs[${i}] must be a Job, got ${describe(job)}`);
    }
  });
  return list;
}

/** Throws a `TypeError` naming `name` unless `fn` is a function. */
export function checkFunction(fn: unknown, name: string): void {
  if (typeof fn !== "function") {
    throw new TypeError(`Argument ${name} must be a function, got ${describe(fn)}`);
  }
}
