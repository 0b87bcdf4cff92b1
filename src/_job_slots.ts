/**
 * The slots of a `Group`: at most `limit` jobs run at once, the others
 * wait and start in the order they came (gevent's `Pool(size)` semaphore).
 * The group decides what a settled job means; this only counts and starts.
 *
 * @module
 */

import { abortJob, type Job, startJob } from "./job.ts";
import { Deque } from "./_deque.ts";

/** Running and waiting jobs of one group. */
export class JobSlots {
  readonly #limit: number;
  /** Running jobs by their signal: how a call made from inside one is recognised. */
  readonly #running = new Map<AbortSignal, Job<unknown>>();
  /** Jobs waiting for a slot (membership); `#queue` keeps their order and may hold killed ones. */
  #waiting = new Set<Job<unknown>>();
  #queue = new Deque<Job<unknown>>();
  #pumping = false;

  /** `limit`: a non-negative integer or `Infinity` (0: nothing ever starts). */
  constructor(limit: number) {
    this.#limit = limit;
  }

  /** The most jobs that run at once. */
  get limit(): number {
    return this.#limit;
  }

  /** Jobs running plus waiting. */
  get size(): number {
    return this.#running.size + this.#waiting.size;
  }

  /** How many more jobs would start at once (at least 0). */
  get freeCount(): number {
    return Math.max(0, this.#limit - this.size);
  }

  /** The running job whose signal is `signal`, if any. */
  runningWith(signal: AbortSignal): Job<unknown> | undefined {
    return this.#running.get(signal);
  }

  /** Queues `job` behind the waiting ones; call {@linkcode JobSlots.pump} to start it. */
  enqueue(job: Job<unknown>): void {
    this.#waiting.add(job);
    this.#queue.push(job);
  }

  /** Forgets a settled job; false when it was not held (any more). */
  release(job: Job<unknown>): boolean {
    return this.#running.delete(job.signal) || this.#waiting.delete(job);
  }

  /** Starts waiting jobs while there are free slots, in order; re-entrant calls return at once. */
  pump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (this.#running.size < this.#limit && this.#waiting.size > 0) {
        const job = this.#queue.shift()!;
        if (!this.#waiting.delete(job)) continue; // killed while waiting
        this.#running.set(job.signal, job);
        startJob(job);
      }
    } finally {
      this.#pumping = false;
    }
  }

  /** Settles every waiting job with `reason`, without starting it. */
  cancelWaiting(reason: unknown): void {
    const waiting = this.#waiting;
    this.#waiting = new Set();
    this.#queue = new Deque();
    for (const job of waiting) job.kill(reason);
  }

  /** Aborts the signal of every running job; each ends when its function reacts. */
  abortRunning(reason: unknown): void {
    for (const job of [...this.#running.values()]) abortJob(job, reason);
  }

  /** Kills every running job: each settles now, rejected with `reason`. */
  killRunning(reason: unknown): void {
    for (const job of [...this.#running.values()]) job.kill(reason);
  }
}
