/**
 * Holds the host's event loop open while anybody asks it to: one ref'd
 * timer exists while the count of holders is above zero, none otherwise.
 * Workers, subprocesses and supervisor timers never hold the loop
 * themselves (they are unref'd), so an idle pool lets a finished script
 * exit, as Python's would; an executor holds the loop while its scheduler
 * has work outstanding, a `Process` while it runs.
 *
 * @module
 */

/** Releases a hold; calling it again does nothing. */
export type Release = () => void;

/** Longest delay a timer takes; the timer never needs to fire. */
const FOREVER_MS = 2 ** 31 - 1;

let holders = 0;
let timer: ReturnType<typeof setInterval> | undefined;

/** Holds the event loop open until the returned function is called. */
export function holdEventLoop(): Release {
  if (holders++ === 0) timer = setInterval(() => {}, FOREVER_MS);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--holders === 0) {
      clearInterval(timer);
      timer = undefined;
    }
  };
}
