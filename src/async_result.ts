/**
 * `AsyncResult`: the handle `applyAsync`, `mapAsync` and `starmapAsync`
 * return, with Python's `get`, `wait`, `ready`, `successful`, and awaitable.
 *
 * @module
 */

import { TimeoutError } from "./errors.ts";
import { settlesWithin, waitTimeout } from "./_wait.ts";

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
  readonly #promise: Promise<T>;
  #state: "pending" | "fulfilled" | "rejected" = "pending";
  #value: T | undefined;
  #error: unknown;

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
    this.#promise = promise.then(
      (value) => {
        this.#state = "fulfilled";
        this.#value = value;
        if (options.callback) guard(() => options.callback!(value));
        return value;
      },
      (error) => {
        this.#state = "rejected";
        this.#error = error;
        if (options.errorCallback) guard(() => options.errorCallback!(error));
        throw error;
      },
    );
    // The owner may never await: the error is kept for get(), not left unhandled.
    this.#promise.catch(() => {});
  }

  /** Whether the work has finished (successfully or not). */
  ready(): boolean {
    return this.#state !== "pending";
  }

  /** Whether the work finished without error; throws an `Error` if it is not ready yet. */
  successful(): boolean {
    if (this.#state === "pending") {
      throw new Error("Result is not ready: call successful() after ready() is true");
    }
    return this.#state === "fulfilled";
  }

  /**
   * Resolves with the value, or rejects with the work's error; with a
   * `timeout` (ms), rejects with {@linkcode TimeoutError} if the work has
   * not finished by then (the work goes on).
   */
  get(timeout?: number): Promise<T> {
    if (timeout === undefined || this.#state !== "pending") return this.#promise;
    return this.#within(timeout).then((ready) => {
      if (!ready) throw new TimeoutError(`Result was not ready within ${timeout} ms`);
      return this.#promise;
    });
  }

  /** Waits until the work has finished, or `timeout` ms; resolves with `ready()`. Never rejects. */
  wait(timeout?: number): Promise<boolean> {
    if (timeout === undefined) return this.#promise.then(() => true, () => true);
    return this.#within(timeout);
  }

  /** The value, once fulfilled (`undefined` before). */
  get value(): T | undefined {
    return this.#value;
  }

  /** The error, once rejected (`undefined` before). */
  get error(): unknown {
    return this.#error;
  }

  /** Makes the result awaitable. */
  then<A = T, B = never>(
    onFulfilled?: ((value: T) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.#promise.then(onFulfilled, onRejected);
  }

  async #within(timeout: number): Promise<boolean> {
    const ms = waitTimeout(timeout);
    return this.#state !== "pending" || await settlesWithin(this.#promise, ms);
  }
}
