/**
 * Waiting at most a given time: the one timeout validator and the one
 * "wait at most ms" helper behind every `get(timeout)`, `join(timeout)`,
 * `wait(timeout)`, `waitAvailable(timeout)` and `withTimeout`.
 *
 * A wait's timeout is a number of milliseconds from 0 to `2 ** 31 - 1`, or
 * `Infinity` (no limit); `0` means "do not wait" (as Python's `join(0)`).
 *
 * @module
 */

import { describe } from "./task.ts";
import type { JoinOptions } from "./timeout.ts";

/** The longest delay `setTimeout` honours (about 24.8 days); longer ones fire at once. */
const MAX_DELAY = 2 ** 31 - 1;

/**
 * Throws unless `ms` is a delay `setTimeout` can honour: `0 <= ms <= 2 ** 31 - 1`,
 * or `Infinity` (never). A `TypeError` when it is not a number, else a `RangeError`.
 */
export function checkDelay(ms: unknown, name: string): number {
  if (typeof ms !== "number") {
    throw new TypeError(`Argument ${name} must be a number of milliseconds, got ${describe(ms)}`);
  }
  if (!(ms >= 0) || (ms > MAX_DELAY && ms !== Infinity)) {
    throw new RangeError(
      `Argument ${name} must be a number of milliseconds from 0 to ${MAX_DELAY} or Infinity, got ${
        describe(ms)
      }`,
    );
  }
  return ms;
}

/**
 * Reads the timeout of a wait, given bare (`ms`) or as `{ timeout: ms }`:
 * `Infinity` when absent; `0` is allowed and means "do not wait". Throws a
 * `TypeError` or `RangeError` naming `name` (or `options.timeout`).
 */
export function waitTimeout(value: number | JoinOptions | undefined, name = "timeout"): number {
  if (value === undefined) return Infinity;
  if (typeof value === "number") return checkDelay(value, name);
  if (typeof value !== "object" || value === null) {
    throw new TypeError(
      `Argument ${name} must be a number of milliseconds or { timeout }, got ${describe(value)}`,
    );
  }
  return value.timeout === undefined ? Infinity : checkDelay(value.timeout, "options.timeout");
}

/** Options of {@linkcode settlesWithin}. */
export interface SettlesWithinOptions {
  /** Aborting it rejects the wait with its reason. */
  signal?: AbortSignal | undefined;
}

/**
 * Resolves `true` when `promise` settles (either way) within `ms`
 * milliseconds, `false` when the time runs out first (`ms` is `0`: only a
 * promise already settled counts). With a `signal`, an abort rejects with
 * its reason; otherwise it never rejects. Leaves no timer or listener behind.
 */
export function settlesWithin(
  promise: PromiseLike<unknown>,
  ms: number,
  options: SettlesWithinOptions = {},
): Promise<boolean> {
  const { signal } = options;
  if (signal?.aborted) return Promise.reject(signal.reason);
  const settled = Promise.resolve(promise).then(() => true, () => true);
  if (ms === Infinity && signal === undefined) return settled;
  return new Promise<boolean>((resolve, reject) => {
    const timer = ms === Infinity ? undefined : setTimeout(() => finish(false), ms);
    const onAbort = () => {
      cleanup();
      reject(signal!.reason);
    };
    function cleanup(): void {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    }
    function finish(done: boolean): void {
      cleanup();
      resolve(done);
    }
    signal?.addEventListener("abort", onAbort, { once: true });
    settled.then(finish);
  });
}
