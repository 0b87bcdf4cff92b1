/**
 * The tasks of `peers_compare.ts`, the same functions on every side: a
 * multipool task module (loaded with `taskModule`), the task functions of
 * the poolifier worker and the body of the raw round-robin worker.
 *
 * @module
 */

/** The tiny task: `x + 1`. */
export function inc(x: number): number {
  return x + 1;
}

/** Busy work: spins on `performance.now()` for `ms` milliseconds, then returns `ms`. */
export function spin(ms: number): number {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // Busy: the point is to hold the CPU.
  }
  return ms;
}
