/**
 * One wait/notify primitive for every "wait until something holds" in
 * multipool (room in a full queue, a quiet pool, a free slot in a group, a
 * finished chunk): waiters give a predicate, the owner calls
 * {@linkcode Condition.notify} whenever the state behind it may have moved,
 * and each waiter whose predicate now holds is woken. No hand-rolled lists of
 * resolvers, and an aborted wait removes itself.
 *
 * @module
 */

import { settlesWithin } from "./_wait.ts";

interface Waiter {
  readonly ready: () => boolean;
  readonly resolve: () => void;
}

/** Waiters on a predicate over their owner's state. */
export class Condition {
  #waiters = new Set<Waiter>();
  /** Bumped by every notify(): what {@linkcode Condition.next} waits for. */
  #generation = 0;

  /** Number of waiters still waiting. */
  get waiting(): number {
    return this.#waiters.size;
  }

  /**
   * Resolves once `ready()` holds: at once (without a timer or a
   * microtask of its own) when it holds now, else at the first
   * {@linkcode Condition.notify} after which it holds. With a `signal`, an
   * abort rejects with the signal's reason and stops the wait.
   */
  until(ready: () => boolean, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (ready()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        this.#waiters.delete(waiter);
        reject(signal!.reason);
      };
      const waiter: Waiter = {
        ready,
        resolve: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      this.#waiters.add(waiter);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /**
   * Like {@linkcode Condition.until} for at most `ms` milliseconds (`0`:
   * only look now): resolves `true` once `ready()` holds, `false` when the
   * time ran out first (the waiter is removed then).
   */
  async untilWithin(ready: () => boolean, ms: number): Promise<boolean> {
    if (ready()) return true;
    const expired = new AbortController();
    if (await settlesWithin(this.until(ready, expired.signal), ms)) return true;
    expired.abort();
    return false;
  }

  /** Resolves at the next {@linkcode Condition.notify}, whatever the state. */
  next(signal?: AbortSignal): Promise<void> {
    const generation = this.#generation;
    return this.until(() => this.#generation !== generation, signal);
  }

  /** Re-checks every waiter; wakes (and removes) those whose predicate holds. */
  notify(): void {
    this.#generation++;
    if (this.#waiters.size === 0) return;
    for (const waiter of [...this.#waiters]) {
      if (!this.#waiters.has(waiter) || !waiter.ready()) continue;
      this.#waiters.delete(waiter);
      waiter.resolve();
    }
  }
}
