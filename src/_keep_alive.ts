/**
 * Holds the host's event loop open on request: a timer that never fires,
 * ref'd while held and unref'd otherwise (toggling costs far less than
 * creating a timer, which matters on the hot path of `apply`: the hold
 * changes with every call on an otherwise idle pool; it is let go a
 * microtask later, so sequential calls do not toggle it at all). Workers,
 * subprocesses and supervisor timers never hold the loop themselves (they
 * are unref'd), so an idle pool lets a finished script exit, as Python's
 * would; an executor holds the loop while its scheduler has work
 * outstanding, a `Process` while it runs.
 *
 * @module
 */

/** Something that holds the event loop open while set. */
export interface LoopHold {
  /** Holds the loop open (`true`) or lets it go (`false`). */
  set(active: boolean): void;
  /** Lets the loop go for good and clears the timer; later calls do nothing. */
  dispose(): void;
}

/** Longest delay a timer takes; the timer never needs to fire. */
const FOREVER_MS = 2 ** 31 - 1;

/** A {@linkcode LoopHold} of its own, not held yet. */
export function loopHold(): LoopHold {
  let timer: number | undefined;
  let disposed = false;
  /** What the owner asked for last; whether the timer is ref'd; whether a release is queued. */
  let wanted = false;
  let held = false;
  let releasing = false;
  const release = () => {
    releasing = false;
    if (wanted || disposed || timer === undefined || !held) return;
    held = false;
    Deno.unrefTimer(timer);
  };
  return {
    set(active) {
      if (disposed) return;
      wanted = active;
      if (!active) {
        // Let go a microtask later: a caller that awaits one call and makes
        // the next (a sequential apply) takes the hold back before then, and
        // the timer is not toggled twice per call.
        if (held && !releasing) {
          releasing = true;
          queueMicrotask(release);
        }
        return;
      }
      if (held) return;
      held = true;
      // A number in Deno (the type may say Timeout when Node types are loaded).
      if (timer === undefined) timer = setInterval(() => {}, FOREVER_MS) as unknown as number;
      else Deno.refTimer(timer);
    },
    dispose() {
      disposed = true;
      clearInterval(timer);
      timer = undefined;
    },
  };
}
