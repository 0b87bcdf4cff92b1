/**
 * `AsyncResult`: the handle `applyAsync`, `mapAsync` and `starmapAsync`
 * return, with Python's `get`, `wait`, `ready`, `successful`, and awaitable.
 *
 * @module
 */

import { Settled } from "./_settled.ts";

/**
 * Callbacks of an {@linkcode AsyncResult}: exactly one of them runs, once.
 *
 * @example
 * ```ts
 * import { type AsyncResultCallbacks } from "@multipool/multipool";
 * const callbacks: AsyncResultCallbacks<number> = {
 *   callback: (value) => console.log("got", value),
 *   errorCallback: (error) => console.error(error),
 * };
 * console.log(typeof callbacks.callback); // "function"
 * ```
 */
export interface AsyncResultCallbacks<T> {
  /** Called with the value when the work succeeds. */
  callback?: ((value: T) => void) | undefined;
  /** Called with the error when the work fails. */
  errorCallback?: ((error: unknown) => void) | undefined;
}

/**
 * Options of the {@linkcode AsyncResult} constructor.
 *
 * @example
 * ```ts
 * import { AsyncResult, type AsyncResultOptions } from "@multipool/multipool";
 * const options: AsyncResultOptions<number> = { callback: (v) => console.log(v) };
 * console.log(await new AsyncResult(Promise.resolve(1), options)); // 1
 * ```
 */
export interface AsyncResultOptions<T> extends AsyncResultCallbacks<T> {
  /** Receives an error thrown by a callback (the pool reports it as an `error` event). */
  onCallbackError?: ((error: unknown) => void) | undefined;
}

/**
 * The result of work that is still running. Await it (it is a
 * `PromiseLike`), or use Python's methods: `get(timeout)`, `wait(timeout)`,
 * `ready()`, `successful()`. Timeouts are in milliseconds.
 *
 * @example
 * ```ts
 * import { Pool } from "@multipool/multipool";
 * await using pool = new Pool({ size: 2 });
 * const result = pool.applyAsync((a: number, b: number) => a + b, [1, 2], {
 *   callback: (sum) => console.log("sum", sum),
 * });
 * console.log(await result.get(1000)); // 3
 * console.log(result.ready(), result.successful()); // true true
 * ```
 */
export class AsyncResult<T> implements PromiseLike<T> {
  readonly #settled = new Settled<T>("Result");

  /** Wraps `promise`; callbacks in `options` run once it settles. */
  constructor(promise: Promise<T>, options: AsyncResultOptions<T> = {}) {
    const guard = (fn: () => void) => {
      try {
        fn();
      } catch (error) {
        if (options.onCallbackError) options.onCallbackError(error);
        else console.error("multipool: a callback threw:", error);
      }
    };
    // Settle first, then the callback: it runs before any awaiter resumes.
    promise.then(
      (value) => {
        this.#settled.fulfill(value);
        if (options.callback) guard(() => options.callback!(value));
      },
      (error) => {
        this.#settled.reject(error);
        if (options.errorCallback) guard(() => options.errorCallback!(error));
      },
    );
  }

  /** Whether the work has finished (successfully or not). */
  ready(): boolean {
    return this.#settled.ready();
  }

  /** Whether the work finished without error; throws an `Error` if it is not ready yet. */
  successful(): boolean {
    return this.#settled.successful();
  }

  /**
   * Resolves with the value, or rejects with the work's error; with a
   * `timeout` (ms), rejects with a `TimeoutError` if the work has
   * not finished by then (the work goes on). `get(0)` does not wait. A bad
   * `timeout` rejects with a `TypeError` or `RangeError` (it never throws).
   */
  get(timeout?: number): Promise<T> {
    return this.#settled.get(timeout);
  }

  /**
   * Waits until the work has finished, or `timeout` ms (`0`: do not wait);
   * resolves with `ready()`. Never rejects, except a bad `timeout`.
   */
  wait(timeout?: number): Promise<boolean> {
    return this.#settled.wait(timeout);
  }

  /** The value, once fulfilled (`undefined` before). */
  get value(): T | undefined {
    return this.#settled.value;
  }

  /** The error, once rejected (`undefined` before). */
  get error(): unknown {
    return this.#settled.error;
  }

  /** Makes the result awaitable. */
  then<A = T, B = never>(
    onFulfilled?: ((value: T) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.#settled.promise().then(onFulfilled, onRejected);
  }
}
