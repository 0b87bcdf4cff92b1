/**
 * Time as the scheduler, supervisor and worker slots see it: `now()` and
 * one-shot timers. The real clock is `performance.now()` and `setTimeout`;
 * tests pass a manual clock, so that timeouts and back-off run without
 * sleeps.
 *
 * @module
 */

/** A handle of a timer started by {@linkcode Clock.setTimeout}. */
export type TimerHandle = ReturnType<typeof setTimeout> | number;

/** Time and timers. */
export interface Clock {
  /** Milliseconds on a monotonic clock. */
  now(): number;
  /** Calls `fn` once after `ms` milliseconds. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Cancels a timer; `undefined` and timers that fired are ignored. */
  clearTimeout(handle: TimerHandle | undefined): void;
}

/** `performance.now()` and the global timers. */
export const realClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle),
};

/**
 * Like {@linkcode realClock}, but its timers do not keep the event loop
 * alive (`Deno.unrefTimer`): the worker back-off and initializer timers of
 * an idle pool must not stop a finished script from exiting. While work is
 * outstanding the executor holds the loop (see `_keep_alive.ts`), so they
 * still fire.
 */
export const weakClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => {
    const id = setTimeout(fn, ms);
    Deno.unrefTimer(id);
    return id;
  },
  clearTimeout: (handle) => clearTimeout(handle),
};
