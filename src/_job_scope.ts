/**
 * The state behind a `Group` (whose file is the public facade): a
 * cancellation scope over jobs. The first failure aborts every other job
 * and cancels new ones until `join()` has reported it; the group's signal
 * does the same; `close()` stops new work. Slots are counted by
 * {@linkcode JobSlots}, failures kept for `join()` by {@linkcode FailureReport}.
 *
 * @module
 */

import { PoolClosedError } from "./errors.ts";
import { createJob, isFailure, type Job, type JobFn, type SettleHook } from "./job.ts";
import { Condition } from "./_condition.ts";
import { FailureReport } from "./_failure_report.ts";
import { JobSlots } from "./_job_slots.ts";

/** Marks "nothing cancels new jobs" (a reason may be any value, even `undefined`). */
const NOT_CANCELLED: unique symbol = Symbol("not cancelled");

/** The jobs of one group, with structured cancellation. */
export class JobScope {
  readonly #slots: JobSlots;
  readonly #signal: AbortSignal | undefined;
  readonly #failures = new FailureReport();
  #closed = false;
  /** Calls in progress that `join()` waits for besides jobs (a `map()`). */
  #tracked = 0;
  /** Notified whenever a slot may have freed. */
  readonly #changed = new Condition();
  readonly #onJobSettled: SettleHook = (job) => {
    if (!this.#slots.release(job)) return;
    if (isFailure(job)) this.#fail(job.error);
    this.#pump();
  };
  readonly #onAbort = (): void => {
    // Reported by join() only when the abort cancelled work, and only once.
    if (!this.#isIdle() && this.#failures.count === 0) this.#fail(this.#signal!.reason);
  };

  /** `limit`: a non-negative integer or `Infinity`; aborting `signal` cancels every job. */
  constructor(limit: number, signal: AbortSignal | undefined) {
    this.#slots = new JobSlots(limit);
    this.#signal = signal;
    signal?.addEventListener("abort", this.#onAbort, { once: true });
  }

  /** The most jobs that run at once. */
  get limit(): number {
    return this.#slots.limit;
  }

  /** Jobs running plus waiting. */
  get size(): number {
    return this.#slots.size;
  }

  /** How many more jobs would start at once. */
  get freeCount(): number {
    return this.#slots.freeCount;
  }

  /** Whether `close()` happened. */
  get closed(): boolean {
    return this.#closed;
  }

  /** The running job whose signal is `signal`: a call passing it comes from inside that job. */
  runningWith(signal: AbortSignal): Job<unknown> | undefined {
    return this.#slots.runningWith(signal);
  }

  /** Throws `PoolClosedError` after `close()`. */
  checkOpen(): void {
    if (this.#closed) throw new PoolClosedError("Group is closed: no new jobs are accepted");
  }

  /** Throws a `RangeError` in a group with limit 0, where `what` would wait forever. */
  checkCanStart(what: string): void {
    if (this.#slots.limit === 0) {
      throw new RangeError(`Group has limit 0: ${what} could never start (use a limit >= 1)`);
    }
  }

  /** A job of the group: its failure aborts the others and is reported by `join()`. */
  spawn<T>(fn: JobFn<T>): Job<T> {
    return this.#spawn(fn, this.#onJobSettled, true);
  }

  /**
   * A job whose outcome belongs to its caller (a map's item, an `apply`):
   * `onSettled` gets it, the group only counts it.
   */
  spawnOwned<R>(fn: JobFn<R>, onSettled: (job: Job<R>) => void): Job<R> {
    const hook: SettleHook = (job) => {
      onSettled(job as Job<R>);
      if (this.#slots.release(job)) this.#pump();
    };
    return this.#spawn(fn, hook, false);
  }

  /** Counts `work` (a `map()`) as in progress for `join()` until it settles. */
  async track<R>(work: Promise<R>): Promise<R> {
    this.#tracked++;
    try {
      return await work;
    } finally {
      this.#tracked--;
      this.#notify();
    }
  }

  /** `join()`: waits at most `ms` for the group to be idle, then reports failures. */
  join(ms: number): Promise<boolean> {
    return this.#failures.join(this.#isIdle(), ms);
  }

  /** `waitAvailable()`: waits at most `ms` for a free slot; resolves with `freeCount`. */
  async waitAvailable(ms: number): Promise<number> {
    if (ms === Infinity && this.#slots.limit === 0) {
      throw new RangeError(
        "Group has limit 0: waitAvailable() without a timeout could never end (pass a timeout)",
      );
    }
    await this.#changed.untilWithin(() => this.#slots.freeCount > 0, ms);
    return this.#slots.freeCount;
  }

  /** Kills every job now, with `reason`. */
  kill(reason: unknown): void {
    this.#slots.cancelWaiting(reason);
    this.#slots.killRunning(reason);
    this.#notify();
  }

  /** No new work; with limit 0, cancels the queued jobs, which could never start. */
  close(): void {
    this.#closed = true;
    if (this.#slots.limit === 0 && this.#slots.size > 0) {
      // Nothing can ever start them: report them instead of waiting forever.
      const reason = new PoolClosedError(
        "Group with limit 0 was closed: its queued jobs could never start",
      );
      this.#failures.add(reason);
      this.#slots.cancelWaiting(reason);
    }
    this.#notify();
  }

  /** Stops listening to the group's signal. */
  detachSignal(): void {
    this.#signal?.removeEventListener("abort", this.#onAbort);
  }

  #isIdle(): boolean {
    return this.#slots.size === 0 && this.#tracked === 0;
  }

  /** The reason new jobs are cancelled with, or `NOT_CANCELLED`. */
  #cancelReason(): unknown {
    if (this.#failures.count > 0) return this.#failures.first;
    return this.#signal?.aborted ? this.#signal.reason : NOT_CANCELLED;
  }

  #spawn<T>(fn: JobFn<T>, onSettled: SettleHook, reports: boolean): Job<T> {
    const job = createJob(fn, onSettled);
    const reason = this.#cancelReason();
    if (reason !== NOT_CANCELLED) {
      if (reports && this.#failures.count === 0) this.#failures.add(reason);
      job.kill(reason);
    } else {
      this.#slots.enqueue(job);
      this.#pump();
    }
    return job;
  }

  /** Records a failure; the first one aborts every other job. */
  #fail(error: unknown): void {
    if (!this.#failures.add(error)) return;
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
      this.#failures.idle();
      if (this.#closed) this.detachSignal();
    }
    this.#changed.notify();
  }
}
