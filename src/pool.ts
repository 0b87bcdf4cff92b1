/**
 * `Pool`: Python's `multiprocessing.Pool` on Deno workers. This is the
 * facade only: the public methods and their overloads; the argument checks
 * and the requests they make are `_call_checks.ts`'s.
 * Chunks go to the scheduler (`_scheduler.ts`), which hands them to an
 * executor (`_local_executor.ts`: worker slots kept by a supervisor, each
 * reached through a transport).
 *
 * @module
 */

import type { AsyncResult, AsyncResultCallbacks } from "./async_result.ts";
import { realClock } from "./_clock.ts";
import { poolSettings } from "./_pool_settings.ts";
import { executorFor } from "./backend.ts";
import { asyncCall, runMap, streamMap } from "./_calls.ts";
import { CallChecks, NO_OPTIONS } from "./_call_checks.ts";
import type {
  ApplyAsyncOptions,
  ApplyOptions,
  ImapOptions,
  MapAsyncOptions,
  MapOptions,
  PoolOptions,
  PoolStats,
  SeveralArgs,
} from "./pool_options.ts";
import { Scheduler } from "./_scheduler.ts";
import type { Task } from "./task.ts";
import { checkArray, optionalInteger } from "./_validate.ts";

/**
 * A pool of workers with Python's `multiprocessing.Pool` API. Tasks are
 * {@linkcode taskModule} exports, built-in {@linkcode kernels}, your own WASM
 * exports, or self-contained functions. Every submitted task settles: a
 * worker that throws, closes itself, hangs past its timeout or is aborted
 * fails only the tasks it held, and is replaced.
 *
 * `await using` closes the pool and waits for queued work (Python's `with
 * Pool()` terminates instead, dropping it).
 *
 * Bad arguments and submitting to a closed pool reject the returned promise
 * (`*Async` methods report them through their {@linkcode AsyncResult};
 * `imap` and `imapUnordered` throw at the call); nothing is sent to a
 * worker.
 *
 * @example
 * ```ts
 * import { Pool } from "@multipool/multipool";
 * await using pool = new Pool({ size: 2 });
 * console.log(await pool.map((x: number) => x * x, [1, 2, 3])); // [1, 4, 9]
 * console.log(await pool.apply((a: number, b: number) => a + b, [2, 3])); // 5
 * for await (const y of pool.imap((x: number) => x + 1, [1, 2, 3])) console.log(y);
 * ```
 */
export class Pool extends EventTarget implements AsyncDisposable {
  readonly #size: number;
  readonly #checks: CallChecks;
  readonly #scheduler: Scheduler;
  readonly #errorListeners = new Set<unknown>();

  /**
   * Starts `size` workers.
   *
   * @throws {TypeError | RangeError} for bad options (an unknown `backend`, a `maxHeapMb` that is
   * not a positive integer); no worker is left running.
   * @throws {Deno.errors.NotCapable} for `backend: "process"` in a host without `--allow-run`.
   */
  constructor(options: PoolOptions = {}) {
    super();
    const settings = poolSettings(options);
    this.#size = settings.size;
    this.#checks = new CallChecks(settings.taskTimeout);
    const executor = executorFor(options.backend, settings.backend);
    this.#scheduler = new Scheduler(executor, { maxQueue: settings.maxQueue, clock: realClock });
  }

  /** Number of workers the pool keeps. */
  get size(): number {
    return this.#size;
  }

  /**
   * Runs `task(...args)` in a worker and resolves with its result (Python's
   * `apply`). A task's error rejects with {@linkcode RemoteError}.
   *
   * @example
   * ```ts
   * import { Pool } from "@multipool/multipool";
   * await using pool = new Pool({ size: 1 });
   * console.log(await pool.apply((a: number, b: number) => a * b, [6, 7])); // 42
   * ```
   */
  apply<A extends unknown[], R>(
    task: Task<A, R>,
    args: A,
    options: ApplyOptions = NO_OPTIONS,
  ): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      // Thrown here (bad input, a closed pool, a full queue), an error rejects the promise.
      const request = this.#checks.apply(task, args, options);
      this.#scheduler.submit(request, (outcome) => {
        if (outcome.ok) resolve(outcome.results[0] as R);
        else reject(outcome.error);
      });
    });
  }

  /**
   * Like {@linkcode Pool.apply} but returns an {@linkcode AsyncResult} at
   * once; exactly one of `callback` / `errorCallback` runs. A callback that
   * throws is reported as an `error` event on the pool (`console.error` when
   * nobody listens) and never breaks the pool.
   *
   * @example
   * ```ts
   * import { Pool } from "@multipool/multipool";
   * await using pool = new Pool({ size: 1 });
   * const r = pool.applyAsync((x: number) => x + 1, [1], { callback: (v) => console.log(v) });
   * console.log(await r.get()); // 2
   * ```
   */
  applyAsync<A extends unknown[], R>(
    task: Task<A, R>,
    args: A,
    options: ApplyAsyncOptions<R> = {},
  ): AsyncResult<R> {
    return this.#asyncResult(options, () => this.apply(task, args, options));
  }

  /**
   * Applies `task` to every item of `iterable` (any `Iterable` or
   * `AsyncIterable`) and resolves with the results in input order. Rejects
   * on the first failed chunk without waiting for the rest, and drops the
   * chunks not yet started.
   *
   * @example
   * ```ts
   * import { Pool } from "@multipool/multipool";
   * await using pool = new Pool({ size: 2 });
   * console.log(await pool.map((x: number) => x * 2, [1, 2, 3], { chunksize: 2 })); // [2, 4, 6]
   * ```
   */
  map<T, R>(
    task: Task<[T], R>,
    iterable: Iterable<T> | AsyncIterable<T>,
    options?: MapOptions,
  ): Promise<R[]>;
  /** A task with two or more required parameters gets each item spread, as in `starmap`. */
  map<A extends SeveralArgs, R>(
    task: Task<A, R>,
    iterable: Iterable<A> | AsyncIterable<A>,
    options?: MapOptions,
  ): Promise<R[]>;
  map(
    task: Task<unknown[], unknown>,
    iterable: Iterable<unknown> | AsyncIterable<unknown>,
    options: MapOptions = {},
  ): Promise<unknown[]> {
    return this.#collect(task, iterable, false, options);
  }

  /**
   * Like {@linkcode Pool.map} but returns an {@linkcode AsyncResult}; the
   * `callback` receives the whole list once.
   *
   * @example
   * ```ts
   * import { Pool } from "@multipool/multipool";
   * await using pool = new Pool({ size: 2 });
   * const r = pool.mapAsync((x: number) => -x, [1, 2], { callback: (all) => console.log(all) });
   * console.log(await r); // [-1, -2]
   * ```
   */
  mapAsync<T, R>(
    task: Task<[T], R>,
    iterable: Iterable<T> | AsyncIterable<T>,
    options?: MapAsyncOptions<R>,
  ): AsyncResult<R[]>;
  /** A task with two or more required parameters gets each item spread, as in `starmap`. */
  mapAsync<A extends SeveralArgs, R>(
    task: Task<A, R>,
    iterable: Iterable<A> | AsyncIterable<A>,
    options?: MapAsyncOptions<R>,
  ): AsyncResult<R[]>;
  mapAsync(
    task: Task<unknown[], unknown>,
    iterable: Iterable<unknown> | AsyncIterable<unknown>,
    options: MapAsyncOptions<unknown> = {},
  ): AsyncResult<unknown[]> {
    return this.#asyncResult(
      options,
      () => this.#collect(task, iterable, false, options),
    );
  }

  /**
   * Like {@linkcode Pool.map}, but each item is an argument tuple:
   * `task(...item)`.
   *
   * @example
   * ```ts
   * import { Pool } from "@multipool/multipool";
   * await using pool = new Pool({ size: 2 });
   * console.log(await pool.starmap((a: number, b: number) => a + b, [[1, 2], [3, 4]])); // [3, 7]
   * ```
   */
  starmap<A extends unknown[], R>(
    task: Task<A, R>,
    iterable: Iterable<A> | AsyncIterable<A>,
    options: MapOptions = {},
  ): Promise<R[]> {
    return this.#collect(task, iterable, true, options) as Promise<R[]>;
  }

  /**
   * Like {@linkcode Pool.starmap} but returns an {@linkcode AsyncResult}.
   *
   * @example
   * ```ts
   * import { Pool } from "@multipool/multipool";
   * await using pool = new Pool({ size: 2 });
   * console.log(await pool.starmapAsync((a: number, b: number) => a * b, [[2, 3]])); // [6]
   * ```
   */
  starmapAsync<A extends unknown[], R>(
    task: Task<A, R>,
    iterable: Iterable<A> | AsyncIterable<A>,
    options: MapAsyncOptions<R> = {},
  ): AsyncResult<R[]> {
    return this.#asyncResult(
      options,
      () => this.#collect(task, iterable, true, options) as Promise<R[]>,
    );
  }

  /**
   * Streams `task(item)` for every item of `iterable`, in input order. Input
   * is pulled lazily: at most `buffersize` chunks are in flight or finished
   * but unconsumed, so a huge generator runs in flat memory. Leaving the
   * loop early stops the source and drops chunks not yet started. A failed
   * item ends the stream at its position. After `close()` the stream stops
   * pulling input and ends with {@linkcode PoolClosedError} once the results
   * already in flight are yielded.
   *
   * @example
   * ```ts
   * import { Pool } from "@multipool/multipool";
   * await using pool = new Pool({ size: 2 });
   * function* numbers() { for (let i = 0; i < 1000; i++) yield i; }
   * let total = 0;
   * for await (const y of pool.imap((x: number) => x * 2, numbers())) total += y;
   * console.log(total); // 999000
   * ```
   */
  imap<T, R>(
    task: Task<[T], R>,
    iterable: Iterable<T> | AsyncIterable<T>,
    options?: ImapOptions,
  ): AsyncIterableIterator<R>;
  /** A task with two or more required parameters gets each item spread, as in `starmap`. */
  imap<A extends SeveralArgs, R>(
    task: Task<A, R>,
    iterable: Iterable<A> | AsyncIterable<A>,
    options?: ImapOptions,
  ): AsyncIterableIterator<R>;
  imap(
    task: Task<unknown[], unknown>,
    iterable: Iterable<unknown> | AsyncIterable<unknown>,
    options: ImapOptions = {},
  ): AsyncIterableIterator<unknown> {
    return this.#stream(task, iterable, true, options);
  }

  /**
   * Like {@linkcode Pool.imap}, but yields results in completion order. A
   * failed item ends the stream when it arrives.
   *
   * @example
   * ```ts
   * import { Pool } from "@multipool/multipool";
   * await using pool = new Pool({ size: 2 });
   * const seen: number[] = [];
   * for await (const y of pool.imapUnordered((x: number) => x, [3, 1, 2])) seen.push(y);
   * console.log(seen.sort()); // [1, 2, 3]
   * ```
   */
  imapUnordered<T, R>(
    task: Task<[T], R>,
    iterable: Iterable<T> | AsyncIterable<T>,
    options?: ImapOptions,
  ): AsyncIterableIterator<R>;
  /** A task with two or more required parameters gets each item spread, as in `starmap`. */
  imapUnordered<A extends SeveralArgs, R>(
    task: Task<A, R>,
    iterable: Iterable<A> | AsyncIterable<A>,
    options?: ImapOptions,
  ): AsyncIterableIterator<R>;
  imapUnordered(
    task: Task<unknown[], unknown>,
    iterable: Iterable<unknown> | AsyncIterable<unknown>,
    options: ImapOptions = {},
  ): AsyncIterableIterator<unknown> {
    return this.#stream(task, iterable, false, options);
  }

  /**
   * Stops accepting work; queued work still runs. Call {@linkcode Pool.join}
   * to wait for it and for the workers to exit.
   *
   * @example
   * ```ts
   * import { Pool } from "@multipool/multipool";
   * const pool = new Pool({ size: 1 });
   * const r = pool.applyAsync((x: number) => x, [1]);
   * pool.close();
   * await pool.join();
   * console.log(await r); // 1
   * ```
   */
  close(): void {
    this.#scheduler.close();
  }

  /**
   * Waits until queued work is done and every worker has exited. Rejects if
   * the pool was neither closed nor terminated (as Python's `join` raises).
   *
   * @example
   * ```ts
   * import { Pool } from "@multipool/multipool";
   * const pool = new Pool({ size: 1 });
   * pool.close();
   * await pool.join();
   * ```
   */
  join(): Promise<void> {
    return this.#scheduler.join();
  }

  /**
   * Stops now: every queued and running chunk rejects with
   * {@linkcode PoolClosedError} and every worker is terminated (a
   * subprocess is killed, a runaway loop included). Resolves when the
   * workers are gone.
   *
   * @example
   * ```ts
   * import { Pool } from "@multipool/multipool";
   * const pool = new Pool({ size: 1 });
   * const r = pool.apply((ms: number) => new Promise((res) => setTimeout(res, ms)), [10_000]);
   * await pool.terminate();
   * await r.catch((e) => console.log(e.name)); // "PoolClosedError"
   * ```
   */
  terminate(): Promise<void> {
    return this.#scheduler.terminate();
  }

  /** Closes the pool and waits for queued work (graceful, unlike Python's `with Pool()`). */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    await this.join();
  }

  /**
   * A snapshot of the pool's state and timings.
   *
   * @example
   * ```ts
   * import { Pool } from "@multipool/multipool";
   * await using pool = new Pool({ size: 2 });
   * await pool.map((x: number) => x, [1, 2, 3]);
   * const { size, completed, runTime } = pool.stats();
   * console.log(size, completed, runTime.p50 >= 0); // 2 3 true
   * ```
   */
  stats(): PoolStats {
    const stats = this.#scheduler.stats();
    return {
      size: this.#size,
      alive: stats.alive,
      busy: stats.busy,
      queued: stats.queued,
      completed: stats.completed,
      failed: stats.failed,
      replaced: stats.replaced,
      runTime: stats.runTime,
      waitTime: stats.waitTime,
      wasmInstantiations: stats.wasmInstantiations,
    };
  }

  /** Tracks `error` listeners so that callback errors go to `console.error` when there is none. */
  override addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | AddEventListenerOptions,
  ): void {
    if (type === "error" && listener) this.#errorListeners.add(listener);
    super.addEventListener(type, listener, options);
  }

  /** Counterpart of {@linkcode Pool.addEventListener}. */
  override removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | EventListenerOptions,
  ): void {
    if (type === "error") this.#errorListeners.delete(listener);
    super.removeEventListener(type, listener, options);
  }

  // ---- from calls to chunks ---------------------------------------------

  #asyncResult<R>(options: AsyncResultCallbacks<R>, start: () => Promise<R>): AsyncResult<R> {
    return asyncCall(options, start, (error) => this.#report(error));
  }

  #collect(task: unknown, source: unknown, star: boolean, options: MapOptions): Promise<unknown[]> {
    try {
      const call = this.#checks.map({ task, source, star }, options);
      // An array is checked whole at the call: a bad item rejects there and nothing is sent.
      if (Array.isArray(call.source)) {
        checkArray(call.source, call.check, !star);
        return runMap(this.#scheduler, { ...call, check: () => {} }, this.#size);
      }
      return runMap(this.#scheduler, call, this.#size);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #stream(
    task: unknown,
    source: unknown,
    ordered: boolean,
    options: ImapOptions,
  ): AsyncIterableIterator<unknown> {
    const call = this.#checks.map({ task, source, star: false }, options);
    const buffersize = optionalInteger(options?.buffersize, "buffersize") ?? 4 * this.#size;
    return streamMap(this.#scheduler, call, { ordered, buffersize });
  }

  #report(error: unknown): void {
    if (this.#errorListeners.size > 0) {
      const message = error instanceof Error ? error.message : String(error);
      this.dispatchEvent(new ErrorEvent("error", { error, message }));
    } else {
      console.error("multipool: a callback threw:", error);
    }
  }
}
