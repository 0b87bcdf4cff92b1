/**
 * Time limits: {@linkcode withTimeout}, plus the small helpers that `Job`,
 * `Group` and `sleep` use to read and wait on a timeout in milliseconds.
 *
 * @module
 */

import { isThenable } from "./_thenable.ts";
import { TimeoutError } from "./errors.ts";
import { describe } from "./task.ts";
import { optionalSignal } from "./_validate.ts";

/** The longest delay `setTimeout` honours (about 24.8 days); longer ones fire at once. */
const MAX_DELAY = 2 ** 31 - 1;

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
  /** Milliseconds to wait at most; omitted or `Infinity`: no limit. */
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
 * pending. `ms` may be `0` or `Infinity` (no limit).
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
  const signal = optionalSignal(options.signal, "options.signal");
  signal?.throwIfAborted();

  const controller = new AbortController();
  const { promise, resolve, reject } = Promise.withResolvers<T>();
  const timer = ms === Infinity
    ? undefined
    : setTimeout(() => stop(new TimeoutError(`Timed out after ${ms} ms`)), ms);
  const onAbort = () => stop(signal!.reason);
  signal?.addEventListener("abort", onAbort, { once: true });

  function cleanup(): void {
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
  }
  function stop(reason: unknown): void {
    cleanup();
    reject(reason);
    controller.abort(reason);
  }

  try {
    const inner = typeof work === "function" ? work(controller.signal) : work;
    Promise.resolve(inner).then(
      (value) => (cleanup(), resolve(value)),
      (error) => (cleanup(), reject(error)),
    );
  } catch (error) {
    cleanup();
    reject(error);
  }
  return await promise;
}

/**
 * Throws a `RangeError` naming `name` unless `ms` is a delay `setTimeout`
 * can honour: `0 <= ms <= 2 ** 31 - 1`, or `Infinity` (never).
 */
export function checkDelay(ms: unknown, name: string): number {
  if (typeof ms !== "number" || !(ms >= 0) || (ms > MAX_DELAY && ms !== Infinity)) {
    throw new RangeError(
      `Argument ${name} must be a number of milliseconds from 0 to ${MAX_DELAY} or Infinity, got ${
        describe(ms)
      }`,
    );
  }
  return ms;
}

/** Reads a timeout given as `ms` or `{ timeout: ms }`; `Infinity` when absent. */
export function timeoutOf(options: number | JoinOptions | undefined): number {
  if (options === undefined) return Infinity;
  if (typeof options === "number") return checkDelay(options, "timeout");
  if (typeof options !== "object" || options === null) {
    throw new TypeError(
      `Argument options must be a number of milliseconds or { timeout }, got ${describe(options)}`,
    );
  }
  return options.timeout === undefined ? Infinity : checkDelay(options.timeout, "timeout");
}

/**
 * Resolves `true` when `promise` settles (either way) within `ms`, `false`
 * when the time runs out first. Never rejects; clears its timer.
 */
export function settlesWithin(promise: PromiseLike<unknown>, ms: number): Promise<boolean> {
  const settled = Promise.resolve(promise).then(() => true, () => true);
  if (ms === Infinity) return settled;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  return Promise.race([settled, expired]).finally(() => clearTimeout(timer));
}
