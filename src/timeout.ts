/**
 * Time limits: {@linkcode withTimeout}, and {@linkcode JoinOptions}, the
 * `{ timeout }` form every wait accepts (the waiting itself is in `_wait.ts`).
 *
 * @module
 */

import { isThenable } from "./_thenable.ts";
import { TimeoutError } from "./errors.ts";
import { describe } from "./task.ts";
import { optionalSignal } from "./_validate.ts";
import { checkDelay, settlesWithin } from "./_wait.ts";

/**
 * Options of {@linkcode withTimeout}.
 *
 * @example
 * ```ts
 * import { withTimeout, type WithTimeoutOptions } from "@multipool/multipool";
 * const options: WithTimeoutOptions = { signal: new AbortController().signal };
 * console.log(await withTimeout(Promise.resolve(1), 1_000, options)); // 1
 * ```
 */
export interface WithTimeoutOptions {
  /** Aborting it rejects at once with `signal.reason` (and aborts the work's signal). */
  signal?: AbortSignal;
}

/**
 * A timeout in milliseconds, given bare or as `{ timeout }`.
 *
 * @example
 * ```ts
 * import { Group, type JoinOptions } from "@multipool/multipool";
 * const options: JoinOptions = { timeout: 1_000 };
 * await using group = new Group();
 * group.spawn(() => 1);
 * console.log(await group.join(options)); // true
 * ```
 */
export interface JoinOptions {
  /** Milliseconds to wait at most; omitted or `Infinity`: no limit; `0`: do not wait. */
  timeout?: number;
}

/**
 * Waits for `work` at most `ms` milliseconds, then rejects with a
 * {@linkcode TimeoutError}.
 *
 * `work` is a promise, or better a function `(signal) => promise`: the
 * function's signal is aborted (with the `TimeoutError` as reason) when the
 * time is up or `options.signal` aborts, so a `fetch` or `sleep` given that
 * signal stops too. A bare promise cannot be stopped: it goes on, and its
 * later outcome is ignored. The timer is always cleared, so nothing is left
 * pending. `ms` may be `0` or `Infinity` (no limit). Bad arguments reject
 * with a `TypeError` or `RangeError`; it never throws.
 *
 * @example
 * ```ts
 * import { sleep, TimeoutError, withTimeout } from "@multipool/multipool";
 * try {
 *   await withTimeout((signal) => sleep(1000, { signal }), 10);
 * } catch (e) {
 *   console.log(e instanceof TimeoutError); // true
 * }
 * console.log(await withTimeout(Promise.resolve(42), 100)); // 42
 * ```
 */
export async function withTimeout<T>(
  work: PromiseLike<T> | ((signal: AbortSignal) => T | PromiseLike<T>),
  ms: number,
  options: WithTimeoutOptions = {},
): Promise<T> {
  if (typeof work !== "function" && !isThenable(work)) {
    throw new TypeError(
      `Argument work must be a promise or a function (signal) => promise, got ${describe(work)}`,
    );
  }
  checkDelay(ms, "ms");
  const signal = optionalSignal(options?.signal, "options.signal");
  signal?.throwIfAborted();
  const controller = new AbortController();
  const inner = Promise.resolve(typeof work === "function" ? work(controller.signal) : work);
  let settled: boolean;
  try {
    settled = await settlesWithin(inner, ms, { signal });
  } catch (reason) {
    controller.abort(reason);
    throw reason;
  }
  if (settled) return await inner;
  const error = new TimeoutError(`Timed out after ${ms} ms`);
  controller.abort(error);
  throw error;
}
