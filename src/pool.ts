/**
 * `Pool`: Python's `multiprocessing.Pool` on Deno Web Workers.
 *
 * @module
 */

import { packNumbers, type TaskSpec } from "./_protocol.ts";
import { AsyncResult, type AsyncResultCallbacks } from "./async_result.ts";
import {
  type ChunkItems,
  ChunkStream,
  StreamIterator,
  type SubmittedChunk,
} from "./_chunk_stream.ts";
import { Deque } from "./_deque.ts";
import {
  PoolClosedError,
  QueueFullError,
  RemoteError,
  TaskTimeoutError,
  type WorkerCrashedError,
} from "./errors.ts";
import { type Percentiles, Samples } from "./_samples.ts";
import { type Task, taskLabel, toTaskSpec } from "./task.ts";
import {
  argumentTuple,
  cloneable,
  cloneableTuple,
  iterable,
  optionalFunction,
  optionalInteger,
  optionalSignal,
  optionalTimeout,
} from "./_validate.ts";
import { WorkerHandle, type WorkerListener, type WorkerPermissions } from "./_worker_handle.ts";
import { ensureModule, registeredModule } from "./_wasm_registry.ts";

/**
 * Argument tuples of two or more parameters: `map` spreads such items (see {@linkcode Pool.map}).
 *
 * @example
 * ```ts
 * import { type SeveralArgs } from "@multipool/multipool";
 * const pair: SeveralArgs = [0, 1e5]; // a tuple of two or more arguments
 * console.log(pair.length); // 2
 * ```
 */
export type SeveralArgs = [unknown, unknown, ...unknown[]];

/**
 * Options of {@linkcode Pool}.
 *
 * @example
 * ```ts
 * import { type PoolOptions } from "@multipool/multipool";
 * const options: PoolOptions = { size: 2, maxTasksPerWorker: 100, taskTimeout: 30_000 };
 * console.log(options.size); // 2
 * ```
 */
export interface PoolOptions {
  /** Number of workers; default `navigator.hardwareConcurrency`. */
  size?: number;
  /** Runs in every new worker before its first task (also after a worker is replaced). */
  // deno-lint-ignore no-explicit-any
  initializer?: Task<any[], unknown>;
  /** Arguments of `initializer`. */
  initArgs?: unknown[];
  /** Replace a worker after it ran this many chunks (a chunk counts as one, as in Python). */
  maxTasksPerWorker?: number;
  /**
   * Most chunks waiting beyond the workers that can take them (idle or still
   * starting). An `apply`, or the first chunk of a `map` or `imap`, submitted
   * beyond it throws {@linkcode QueueFullError}; the later chunks of a `map`
   * or `imap` already under way wait for room instead.
   */
  maxQueue?: number;
  /**
   * Default `timeout` (ms) of every chunk, measured from when it starts on a
   * worker. It also bounds the `initializer` of each new worker.
   */
  taskTimeout?: number;
  /**
   * Deno permissions of the workers (least privilege for task code). Needs
   * `--unstable-worker-options`. The workers may always read multipool's
   * own modules; grant read access to your task modules yourself.
   */
  permissions?: WorkerPermissions;
  /** Name prefix of the workers (shows in stack traces); default `"multipool"`. */
  name?: string;
}

/**
 * Per-call options of every Pool method.
 *
 * @example
 * ```ts
 * import { type CallOptions } from "@multipool/multipool";
 * const options: CallOptions = { signal: AbortSignal.timeout(5_000), timeout: 1_000 };
 * console.log(options.timeout); // 1000
 * ```
 */
export interface CallOptions {
  /** Aborting removes queued chunks and terminates (and replaces) workers running them. */
  signal?: AbortSignal;
  /** Milliseconds a chunk may run once started; then it fails with {@linkcode TaskTimeoutError}. */
  timeout?: number;
}

/**
 * Options of {@linkcode Pool.applyAsync}.
 *
 * @example
 * ```ts
 * import { type ApplyAsyncOptions } from "@multipool/multipool";
 * const options: ApplyAsyncOptions<number> = { callback: (n) => console.log(n), timeout: 1_000 };
 * console.log(typeof options.callback); // "function"
 * ```
 */
export interface ApplyAsyncOptions<R> extends CallOptions, AsyncResultCallbacks<R> {}

/**
 * Options of {@linkcode Pool.map} and {@linkcode Pool.starmap}.
 *
 * @example
 * ```ts
 * import { type MapOptions } from "@multipool/multipool";
 * const options: MapOptions = { chunksize: 1000 };
 * console.log(options.chunksize); // 1000
 * ```
 */
export interface MapOptions extends CallOptions {
  /** Items per chunk; default `ceil(n / (4 * size))` when the length is known, else adaptive. */
  chunksize?: number;
}

/**
 * Options of {@linkcode Pool.mapAsync} and {@linkcode Pool.starmapAsync}.
 *
 * @example
 * ```ts
 * import { type MapAsyncOptions } from "@multipool/multipool";
 * const options: MapAsyncOptions<number> = { chunksize: 10, callback: (all) => console.log(all.length) };
 * console.log(options.chunksize); // 10
 * ```
 */
export interface MapAsyncOptions<R> extends MapOptions, AsyncResultCallbacks<R[]> {}

/**
 * Options of {@linkcode Pool.imap} and {@linkcode Pool.imapUnordered}.
 *
 * @example
 * ```ts
 * import { type ImapOptions } from "@multipool/multipool";
 * const options: ImapOptions = { chunksize: 64, buffersize: 8 };
 * console.log(options.buffersize); // 8
 * ```
 */
export interface ImapOptions extends CallOptions {
  /**
   * Items per chunk. Default: adaptive, starting at 1 and doubling while a
   * chunk runs in under 2 ms, up to 4096: cheap tasks travel in big batches,
   * expensive ones one at a time so no worker starves.
   */
  chunksize?: number;
  /** Most chunks in flight or finished-but-unconsumed; default `4 * size`. */
  buffersize?: number;
}

/**
 * What {@linkcode Pool.stats} returns.
 *
 * @example
 * ```ts
 * import { Pool, type PoolStats } from "@multipool/multipool";
 * await using pool = new Pool({ size: 1 });
 * const stats: PoolStats = pool.stats();
 * console.log(stats.size, stats.queued); // 1 0
 * ```
 */
export interface PoolStats {
  /** Configured number of workers. */
  readonly size: number;
  /** Workers alive now (starting, idle or busy). */
  readonly alive: number;
  /** Workers running a chunk. */
  readonly busy: number;
  /** Chunks waiting for a worker. */
  readonly queued: number;
  /** Calls that finished successfully (one per item of a chunk). */
  readonly completed: number;
  /** Chunks that failed (task error, crash, timeout, abort). */
  readonly failed: number;
  /** Workers replaced after a crash, timeout, abort or `maxTasksPerWorker`. */
  readonly replaced: number;
  /** How long chunks ran on a worker (ms, last 1024 chunks). */
  readonly runTime: Percentiles;
  /** How long chunks waited for a worker (ms, last 1024 chunks). */
  readonly waitTime: Percentiles;
  /** WASM modules sent to (and instantiated once by) a worker of this pool. */
  readonly wasmInstantiations: number;
}

interface Chunk {
  readonly id: number;
  readonly spec: TaskSpec;
  readonly items: readonly unknown[] | Float64Array<ArrayBuffer>;
  readonly star: boolean;
  readonly timeout: number | undefined;
  readonly signal: AbortSignal | undefined;
  readonly resolve: (results: ArrayLike<unknown>) => void;
  readonly reject: (error: unknown) => void;
  readonly queuedAt: number;
  startedAt: number;
  runTime: number;
  /** Results of the items before the failed one, when a chunk fails. */
  partial: ArrayLike<unknown> | undefined;
  slot: Slot | undefined;
  timer: ReturnType<typeof setTimeout> | undefined;
  onAbort: (() => void) | undefined;
  done: boolean;
}

interface Slot {
  handle: WorkerHandle;
  state: "starting" | "idle" | "busy";
  chunk: Chunk | undefined;
  chunksRun: number;
  /** Bounds the initializer by `taskTimeout` while the worker is starting. */
  startTimer: ReturnType<typeof setTimeout> | undefined;
}

/** Internal options of a submission. */
interface SubmitOptions {
  signal: AbortSignal | undefined;
  timeout: number | undefined;
  /** Part of a call made before `close()` (map): still accepted after it. */
  pinned: boolean;
}

const RESPAWN_BASE_MS = 50;
const RESPAWN_MAX_MS = 2000;

/**
 * A pool of Web Workers with Python's `multiprocessing.Pool` API. Tasks are
 * {@linkcode taskModule} exports, built-in {@linkcode kernels}, your own WASM
 * exports, or self-contained functions. Every submitted task settles: a
 * worker that throws, closes itself, hangs past its timeout or is aborted
 * fails only the tasks it held, and is replaced.
 *
 * `await using` closes the pool and waits for queued work (Python's `with
 * Pool()` terminates instead, dropping it).
 *
 * Bad arguments and submitting to a closed pool throw at the call; nothing
 * is sent to a worker.
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
  readonly #initializer: TaskSpec | undefined;
  readonly #initArgs: unknown[];
  readonly #maxTasksPerWorker: number | undefined;
  readonly #maxQueue: number | undefined;
  readonly #taskTimeout: number | undefined;
  readonly #permissions: WorkerPermissions | undefined;
  readonly #name: string;
  readonly #slots = new Set<Slot>();
  readonly #idle: Slot[] = [];
  readonly #queue = new Deque<Chunk>();
  readonly #runTimes = new Samples();
  readonly #waitTimes = new Samples();
  readonly #respawnTimers = new Set<ReturnType<typeof setTimeout>>();
  readonly #compiling = new Set<string>();
  /** map/imap feeders waiting for room in a full queue; woken whenever it may have moved. */
  #roomWaiters: (() => void)[] = [];
  readonly #errorListeners = new Set<unknown>();
  #state: "running" | "closed" | "terminated" = "running";
  #nextId = 0;
  #workerSeq = 0;
  #completed = 0;
  #failed = 0;
  #replaced = 0;
  #wasmInstantiations = 0;
  #startupFailures = 0;
  #pinned = 0;
  #quietWaiters: (() => void)[] = [];

  /** Starts `size` workers. Throws a `RangeError`/`TypeError` for bad options. */
  constructor(options: PoolOptions = {}) {
    super();
    if (options === null || typeof options !== "object") {
      throw new TypeError("Argument options must be an object");
    }
    this.#size = optionalInteger(options.size, "size") ?? navigator.hardwareConcurrency ?? 1;
    this.#initializer = options.initializer === undefined
      ? undefined
      : toTaskSpec(options.initializer);
    this.#initArgs = options.initArgs === undefined
      ? []
      : argumentTuple(options.initArgs, "initArgs");
    cloneableTuple(this.#initArgs, "initArgs");
    this.#maxTasksPerWorker = optionalInteger(options.maxTasksPerWorker, "maxTasksPerWorker");
    this.#maxQueue = optionalInteger(options.maxQueue, "maxQueue", 0);
    this.#taskTimeout = optionalTimeout(options.taskTimeout, "taskTimeout");
    this.#permissions = options.permissions;
    this.#name = options.name ?? "multipool";
    try {
      for (let i = 0; i < this.#size; i++) this.#spawn();
    } catch (error) {
      this.#terminateAll();
      throw error;
    }
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
  apply<A extends unknown[], R>(task: Task<A, R>, args: A, options: CallOptions = {}): Promise<R> {
    return this.#applyPromise(task, args, options) as Promise<R>;
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
    return this.#asyncResult(options, () => this.#applyPromise(task, args, options) as Promise<R>);
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
    if (this.#state === "running") this.#state = "closed";
    this.#checkQuiet();
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
    if (this.#state === "running") {
      return Promise.reject(
        new Error("Pool is still running: call close() or terminate() before join()"),
      );
    }
    return new Promise<void>((resolve) => {
      this.#quietWaiters.push(resolve);
      this.#checkQuiet();
    });
  }

  /**
   * Stops now: every queued and running chunk rejects with
   * {@linkcode PoolClosedError} and every worker is terminated.
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
    if (this.#state === "terminated") return Promise.resolve();
    this.#state = "terminated";
    const error = new PoolClosedError("Pool was terminated before the task finished");
    for (const chunk of this.#queue.drain()) this.#settle(chunk, error);
    for (const slot of this.#slots) if (slot.chunk) this.#settle(slot.chunk, error);
    this.#terminateAll();
    this.#checkQuiet();
    return Promise.resolve();
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
    let alive = 0;
    let busy = 0;
    for (const slot of this.#slots) {
      if (slot.handle.alive) alive++;
      if (slot.state === "busy") busy++;
    }
    return {
      size: this.#size,
      alive,
      busy,
      queued: this.#queue.length,
      completed: this.#completed,
      failed: this.#failed,
      replaced: this.#replaced,
      runTime: this.#runTimes.percentiles(),
      waitTime: this.#waitTimes.percentiles(),
      wasmInstantiations: this.#wasmInstantiations,
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

  // ---- submission -------------------------------------------------------

  #applyPromise(task: unknown, args: unknown, options: CallOptions): Promise<unknown> {
    const spec = toTaskSpec(task);
    const tuple = argumentTuple(args, "args");
    cloneableTuple(tuple, "args");
    const submit = this.#submitOptions(options, false);
    return this.#submit(spec, [tuple], true, submit).promise.then((results) => results[0]);
  }

  /** Checks the callbacks before `start` submits anything: bad options send nothing. */
  #asyncResult<R>(options: AsyncResultCallbacks<R>, start: () => Promise<R>): AsyncResult<R> {
    const callback = optionalFunction(options?.callback, "callback");
    const errorCallback = optionalFunction(options?.errorCallback, "errorCallback");
    return new AsyncResult(start(), {
      callback,
      errorCallback,
      onCallbackError: (error) => this.#report(error),
    });
  }

  #submitOptions(options: CallOptions, pinned: boolean): SubmitOptions {
    if (options === null || typeof options !== "object") {
      throw new TypeError("Argument options must be an object");
    }
    this.#assertOpen(false); // a new call; its later chunks may be pinned
    return {
      signal: optionalSignal(options.signal),
      timeout: optionalTimeout(options.timeout, "timeout") ?? this.#taskTimeout,
      pinned,
    };
  }

  #assertOpen(pinned: boolean): void {
    if (this.#state === "terminated") {
      throw new PoolClosedError("Pool was terminated: no new work is accepted");
    }
    if (this.#state === "closed" && !pinned) throw new PoolClosedError();
  }

  /** Queues one chunk; throws PoolClosedError / QueueFullError. */
  #submit(
    spec: TaskSpec,
    items: ChunkItems,
    star: boolean,
    options: SubmitOptions,
  ): SubmittedChunk {
    this.#assertOpen(options.pinned);
    if (!this.#hasRoom()) {
      throw new QueueFullError(
        `Queue is full: ${this.#queue.length} chunks wait (maxQueue ${this.#maxQueue})`,
      );
    }
    let resolve!: (results: ArrayLike<unknown>) => void;
    let reject!: (error: unknown) => void;
    const promise = new Promise<ArrayLike<unknown>>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const chunk: Chunk = {
      id: this.#nextId++,
      spec,
      items: items instanceof Float64Array
        ? items
        : (star ? undefined : packNumbers(items)) ?? items,
      star,
      timeout: options.timeout,
      signal: options.signal,
      resolve,
      reject,
      queuedAt: performance.now(),
      startedAt: 0,
      runTime: 0,
      partial: undefined,
      slot: undefined,
      timer: undefined,
      onAbort: undefined,
      done: false,
    };
    if (options.signal) {
      if (options.signal.aborted) {
        chunk.done = true;
        reject(options.signal.reason);
        return { promise, cancel() {}, runTime: 0, partial: undefined };
      }
      chunk.onAbort = () => this.#abort(chunk);
      options.signal.addEventListener("abort", chunk.onAbort, { once: true });
    }
    this.#queue.push(chunk);
    this.#dispatch();
    return {
      promise,
      cancel: () => {
        if (!chunk.done && chunk.slot === undefined && this.#queue.remove(chunk)) {
          this.#settle(chunk, new Error("Chunk was cancelled before it started"));
          this.#checkQuiet();
        }
      },
      get runTime() {
        return chunk.runTime;
      },
      get partial() {
        return chunk.partial;
      },
    };
  }

  #collect(task: unknown, source: unknown, star: boolean, options: MapOptions): Promise<unknown[]> {
    const spec = toTaskSpec(task);
    const items = iterable(source, "iterable");
    const chunksize = optionalInteger(options?.chunksize, "chunksize");
    const submit = this.#submitOptions(options, true);
    const check = itemCheck(star);
    // An array is checked whole at the call: a bad item throws there and nothing is sent.
    const checked = Array.isArray(items);
    if (checked) items.forEach(check);
    const known = knownLength(items);
    const stream = new ChunkStream(items, (chunk) => this.#submit(spec, chunk, star, submit), {
      chunksize: chunksize ??
        (known === undefined ? "auto" : Math.max(1, Math.ceil(known / (4 * this.#size)))),
      // Bounded as in imap: the adaptive chunksize needs finished chunks to grow
      // (unbounded, a 20k-item generator went out as 20k one-item chunks).
      buffersize: 4 * this.#size,
      signal: submit.signal,
      check: checked ? () => {} : check,
      room: () => this.#room(),
    });
    this.#pinned++;
    return this.#drain(stream).finally(() => {
      stream.stop();
      this.#pinned--;
      this.#checkQuiet();
    });
  }

  /** Takes chunks in completion order (to fail fast), then assembles them in input order. */
  async #drain(stream: ChunkStream): Promise<unknown[]> {
    const finished: { offset: number; results: ArrayLike<unknown> }[] = [];
    let total = 0;
    for (let done = await stream.next(false); done !== undefined; done = await stream.next(false)) {
      if (!done.ok) throw done.error;
      finished.push(done);
      total += done.results.length;
      stream.release();
    }
    finished.sort((a, b) => a.offset - b.offset);
    const results = new Array<unknown>(total);
    let at = 0;
    for (const { results: part } of finished) {
      for (let i = 0; i < part.length; i++) results[at++] = part[i];
    }
    return results;
  }

  #stream(
    task: unknown,
    source: unknown,
    ordered: boolean,
    options: ImapOptions,
  ): AsyncIterableIterator<unknown> {
    const spec = toTaskSpec(task);
    const items = iterable(source, "iterable");
    const chunksize = optionalInteger(options?.chunksize, "chunksize");
    const buffersize = optionalInteger(options?.buffersize, "buffersize") ?? 4 * this.#size;
    const submit = this.#submitOptions(options, false);
    return new StreamIterator(
      () =>
        new ChunkStream(items, (chunk) => this.#submit(spec, chunk, false, submit), {
          chunksize: chunksize ?? "auto",
          buffersize,
          signal: submit.signal,
          check: itemCheck(false),
          room: () => this.#room(),
        }),
      { ordered, signal: submit.signal },
    );
  }

  // ---- scheduling -------------------------------------------------------

  #dispatch(): void {
    while (this.#queue.length > 0 && this.#idle.length > 0) {
      const front = this.#queue.peek()!;
      if (front.spec.kind === "wasm" && !this.#wasmCompiled(front.spec.key)) break;
      this.#start(this.#idle.pop()!, this.#queue.shift()!);
    }
    this.#wakeRoomWaiters();
  }

  /**
   * Whether one more chunk may be queued: `maxQueue` counts the chunks that
   * wait beyond the workers able to take them (idle, or starting up).
   */
  #hasRoom(): boolean {
    if (this.#maxQueue === undefined) return true;
    let free = this.#idle.length;
    for (const slot of this.#slots) if (slot.state === "starting") free++;
    return this.#queue.length < this.#maxQueue + free;
  }

  /** Undefined when a chunk may be queued now; else settles when the queue may have room. */
  #room(): Promise<void> | undefined {
    if (this.#hasRoom()) return undefined;
    return new Promise((resolve) => this.#roomWaiters.push(resolve));
  }

  #wakeRoomWaiters(): void {
    if (this.#roomWaiters.length === 0) return;
    const waiters = this.#roomWaiters;
    this.#roomWaiters = [];
    for (const wake of waiters) wake();
  }

  /** Whether the WASM module `key` is compiled; if not, compiles it and dispatches again after. */
  #wasmCompiled(key: string): boolean {
    try {
      registeredModule(key);
      return true;
    } catch {
      if (!this.#compiling.has(key)) {
        this.#compiling.add(key);
        ensureModule(key).then(
          () => {
            this.#compiling.delete(key);
            this.#dispatch();
          },
          (error) => {
            this.#compiling.delete(key);
            const failed = this.#queue.removeWhere((c) =>
              c.spec.kind === "wasm" && c.spec.key === key
            );
            for (const chunk of failed) this.#settle(chunk, error);
            this.#dispatch();
            this.#checkQuiet();
          },
        );
      }
      return false;
    }
  }

  #start(slot: Slot, chunk: Chunk): void {
    slot.state = "busy";
    slot.chunk = chunk;
    chunk.slot = slot;
    chunk.startedAt = performance.now();
    this.#waitTimes.add(chunk.startedAt - chunk.queuedAt);
    try {
      if (chunk.spec.kind === "wasm") this.#sendWasm(slot, chunk.spec.key);
      slot.handle.run(chunk.id, chunk.spec, chunk.items, chunk.star);
    } catch (error) {
      this.#settle(chunk, error);
      this.#release(slot);
      return;
    }
    if (chunk.timeout !== undefined) {
      const timeout = chunk.timeout;
      chunk.timer = setTimeout(() => {
        const error = new TaskTimeoutError(
          `Task ${
            taskLabel(chunk.spec)
          } did not finish within ${timeout} ms; its worker was replaced`,
        );
        this.#settle(chunk, error);
        this.#replace(slot);
      }, timeout);
    }
  }

  #sendWasm(slot: Slot, key: string): void {
    if (slot.handle.wasmKeys.has(key)) return;
    slot.handle.post({ type: "wasm", key, module: registeredModule(key) });
    slot.handle.wasmKeys.add(key);
    this.#wasmInstantiations++;
  }

  #abort(chunk: Chunk): void {
    if (chunk.done) return;
    const slot = chunk.slot;
    if (slot === undefined) this.#queue.remove(chunk);
    this.#settle(chunk, chunk.signal!.reason);
    if (slot !== undefined) this.#replace(slot);
    this.#checkQuiet();
  }

  /** Settles a chunk once: resolves with `results`, or rejects when `error` is given. */
  #settle(chunk: Chunk, error: unknown, results?: ArrayLike<unknown>): void {
    if (chunk.done) return;
    chunk.done = true;
    if (chunk.timer !== undefined) clearTimeout(chunk.timer);
    if (chunk.onAbort) chunk.signal!.removeEventListener("abort", chunk.onAbort);
    if (chunk.slot !== undefined) {
      chunk.runTime = performance.now() - chunk.startedAt;
      this.#runTimes.add(chunk.runTime);
    }
    if (results !== undefined) {
      this.#completed += results.length;
      chunk.resolve(results);
    } else {
      this.#failed++;
      chunk.reject(error);
    }
    this.#wakeRoomWaiters();
  }

  /** A worker finished its chunk: it takes the next one, or is recycled. */
  #release(slot: Slot): void {
    slot.chunk = undefined;
    slot.chunksRun++;
    if (this.#maxTasksPerWorker !== undefined && slot.chunksRun >= this.#maxTasksPerWorker) {
      this.#replace(slot);
      return;
    }
    slot.state = "idle";
    this.#idle.push(slot);
    this.#dispatch();
    this.#checkQuiet();
  }

  #onMessage(slot: Slot, message: Parameters<WorkerListener["message"]>[0]): void {
    switch (message.type) {
      case "ready":
        clearTimeout(slot.startTimer);
        slot.state = "idle";
        this.#startupFailures = 0;
        this.#idle.push(slot);
        this.#dispatch();
        this.#checkQuiet();
        return;
      case "init-error":
        this.#startupFailed(
          slot,
          new RemoteError(message.error, { context: "Pool initializer failed" }),
        );
        return;
      case "done":
      case "error": {
        const chunk = slot.chunk;
        if (chunk === undefined || chunk.id !== message.id) return;
        if (message.type === "done") {
          this.#settle(chunk, undefined, message.results);
          this.#release(slot);
          return;
        }
        chunk.partial = message.results;
        this.#settle(chunk, new RemoteError(message.error));
        // Free the worker after the failure's first reaction, in which a map
        // or imap drops its chunks not yet started: none of them starts here.
        queueMicrotask(() => {
          if (this.#slots.has(slot) && slot.chunk === chunk) this.#release(slot);
        });
      }
    }
  }

  #onExit(slot: Slot, error: WorkerCrashedError): void {
    if (slot.state === "starting") {
      this.#startupFailed(slot, error);
      return;
    }
    if (slot.chunk) this.#settle(slot.chunk, error);
    this.#replace(slot);
  }

  /** A worker died before it was ready: back off before the next one, and fail the backlog if no worker is healthy. */
  #startupFailed(slot: Slot, error: Error): void {
    this.#remove(slot);
    this.#startupFailures++;
    const healthy = [...this.#slots].some((s) => s.state !== "starting");
    if (!healthy) {
      for (const chunk of this.#queue.drain()) this.#settle(chunk, error);
    }
    if (this.#state !== "terminated") {
      const delay = Math.min(RESPAWN_BASE_MS * 2 ** (this.#startupFailures - 1), RESPAWN_MAX_MS);
      const timer = setTimeout(() => {
        this.#respawnTimers.delete(timer);
        if (this.#needsWorkers()) this.#spawn();
        this.#checkQuiet();
      }, delay);
      this.#respawnTimers.add(timer);
    }
    this.#checkQuiet();
  }

  /** Terminates a worker (crash, timeout, abort, recycling) and starts a fresh one. */
  #replace(slot: Slot): void {
    this.#remove(slot);
    this.#replaced++;
    if (this.#needsWorkers()) this.#spawn();
    this.#checkQuiet();
  }

  #remove(slot: Slot): void {
    clearTimeout(slot.startTimer);
    slot.handle.terminate();
    this.#slots.delete(slot);
    const index = this.#idle.indexOf(slot);
    if (index >= 0) this.#idle.splice(index, 1);
  }

  #needsWorkers(): boolean {
    if (this.#state === "terminated") return false;
    return this.#state === "running" || this.#queue.length > 0 || this.#pinned > 0;
  }

  #spawn(): void {
    const slot = {
      state: "starting",
      chunk: undefined,
      chunksRun: 0,
      startTimer: undefined,
    } as Omit<
      Slot,
      "handle"
    > as Slot;
    slot.handle = this.#spawnHandle({
      message: (message) => this.#onMessage(slot, message),
      exit: (error) => this.#onExit(slot, error),
    });
    this.#slots.add(slot);
    const limit = this.#taskTimeout;
    if (this.#initializer !== undefined && limit !== undefined) {
      slot.startTimer = setTimeout(() => {
        slot.startTimer = undefined;
        if (slot.state !== "starting" || !this.#slots.has(slot)) return;
        const error = new TaskTimeoutError(
          `Pool initializer did not finish within ${limit} ms (taskTimeout)`,
        );
        this.#startupFailed(slot, error);
      }, limit);
    }
  }

  #spawnHandle(listener: WorkerListener): WorkerHandle {
    return new WorkerHandle(listener, {
      name: `${this.#name}-${++this.#workerSeq}`,
      permissions: this.#permissions,
      initializer: this.#initializer,
      initArgs: this.#initArgs,
    });
  }

  #terminateAll(): void {
    for (const slot of this.#slots) {
      clearTimeout(slot.startTimer);
      slot.handle.terminate();
    }
    this.#slots.clear();
    this.#idle.length = 0;
    for (const timer of this.#respawnTimers) clearTimeout(timer);
    this.#respawnTimers.clear();
  }

  /** After close/terminate: once no work is left, stop the workers and wake join(). */
  #checkQuiet(): void {
    if (this.#state === "running") return;
    if (this.#state === "closed") {
      const busy = [...this.#slots].some((s) => s.state === "busy");
      if (busy || this.#queue.length > 0 || this.#pinned > 0) return;
      // Queued work may still wait for a worker that is starting or backing off.
    }
    this.#terminateAll();
    const waiters = this.#quietWaiters;
    this.#quietWaiters = [];
    for (const resolve of waiters) resolve();
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

function knownLength(source: Iterable<unknown> | AsyncIterable<unknown>): number | undefined {
  if (Array.isArray(source) || ArrayBuffer.isView(source)) {
    return (source as ArrayLike<unknown>).length;
  }
  if (source instanceof Set || source instanceof Map) return source.size;
  return undefined;
}

function itemCheck(star: boolean): (item: unknown, index: number) => void {
  if (star) {
    return (item, index) => {
      if (!Array.isArray(item) || !item.every(isPlain)) {
        cloneableTuple(argumentTuple(item, `iterable[${index}]`), `iterable[${index}]`);
      }
    };
  }
  return (item, index) => {
    if (!isPlain(item)) cloneable(item, `iterable[${index}]`);
  };
}

function isPlain(value: unknown): boolean {
  return typeof value === "number" || typeof value === "string" || typeof value === "boolean";
}
