/**
 * Error classes of multipool. Every class extends `Error`; where an error has
 * an underlying reason it is kept as `cause`.
 *
 * @module
 */

import type { ErrorData } from "./_protocol.ts";

/**
 * Thrown when work is submitted to a pool or group that was closed or
 * terminated.
 *
 * @example
 * ```ts
 * import { Pool, PoolClosedError } from "@multipool/multipool";
 * const pool = new Pool({ size: 1 });
 * pool.close();
 * try {
 *   await pool.apply((x: number) => x, [1]);
 * } catch (e) {
 *   console.log(e instanceof PoolClosedError); // true
 * }
 * await pool.join();
 * ```
 */
export class PoolClosedError extends Error {
  /** Creates the error; `message` defaults to a sentence naming the cause. */
  constructor(message = "Pool is closed: no new work is accepted", options?: ErrorOptions) {
    super(message, options);
    this.name = "PoolClosedError";
  }
}

/**
 * The worker running a task died before answering (an uncaught error in a
 * timer, an unhandled rejection, `self.close()`, a failure to start). The pool replaces the worker; only the tasks it held fail.
 *
 * @example
 * ```ts
 * import { Pool, WorkerCrashedError } from "@multipool/multipool";
 * await using pool = new Pool({ size: 1 });
 * try {
 *   await pool.apply(() => (globalThis as { close(): void }).close(), []);
 * } catch (e) {
 *   console.log(e instanceof WorkerCrashedError); // true
 * }
 * ```
 */
export class WorkerCrashedError extends Error {
  /** Creates the error. */
  constructor(message = "Worker crashed before the task finished", options?: ErrorOptions) {
    super(message, options);
    this.name = "WorkerCrashedError";
  }
}

/**
 * A task ran longer than its `timeout` (or the pool's `taskTimeout`); its
 * worker was terminated and replaced.
 *
 * @example
 * ```ts
 * import { Pool, TaskTimeoutError } from "@multipool/multipool";
 * await using pool = new Pool({ size: 1 });
 * try {
 *   await pool.apply(() => { while (true) {} }, [], { timeout: 100 });
 * } catch (e) {
 *   console.log(e instanceof TaskTimeoutError); // true
 * }
 * ```
 */
export class TaskTimeoutError extends Error {
  /** Creates the error. */
  constructor(message = "Task timed out", options?: ErrorOptions) {
    super(message, options);
    this.name = "TaskTimeoutError";
  }
}

/**
 * Waiting took longer than the `timeout` given to `AsyncResult.get()`,
 * `Job.get()`, `withTimeout()` and similar (Python's
 * `multiprocessing.TimeoutError`). The work itself goes on.
 *
 * @example
 * ```ts
 * import { Pool, TimeoutError } from "@multipool/multipool";
 * await using pool = new Pool({ size: 1 });
 * const result = pool.applyAsync((ms: number) => new Promise((r) => setTimeout(r, ms)), [200]);
 * try {
 *   await result.get(10);
 * } catch (e) {
 *   console.log(e instanceof TimeoutError); // true
 * }
 * await result;
 * ```
 */
export class TimeoutError extends Error {
  /** Creates the error. */
  constructor(message = "Timed out", options?: ErrorOptions) {
    super(message, options);
    this.name = "TimeoutError";
  }
}

/**
 * The pool's backlog already holds `maxQueue` chunks: an `apply`, or the
 * first chunk of a `map`, rejects with it (later chunks of a map or imap
 * under way wait for room instead).
 *
 * @example
 * ```ts
 * import { Pool, QueueFullError } from "@multipool/multipool";
 * await using pool = new Pool({ size: 1, maxQueue: 1 });
 * const slow = (ms: number) => new Promise((r) => setTimeout(r, ms));
 * // One chunk runs, one waits: the third submission at the latest is refused.
 * const outcomes = await Promise.allSettled(Array.from({ length: 5 }, () => pool.apply(slow, [20])));
 * console.log(outcomes.some((o) => o.status === "rejected" && o.reason instanceof QueueFullError)); // true
 * ```
 */
export class QueueFullError extends Error {
  /** Creates the error. */
  constructor(message = "Queue is full", options?: ErrorOptions) {
    super(message, options);
    this.name = "QueueFullError";
  }
}

/**
 * A task threw (or rejected) inside a worker. `cause` is an `Error` with the
 * original `name`, `message` and the worker's `stack`.
 *
 * @example
 * ```ts
 * import { Pool, RemoteError } from "@multipool/multipool";
 * await using pool = new Pool({ size: 1 });
 * try {
 *   await pool.apply(() => { throw new RangeError("boom"); }, []);
 * } catch (e) {
 *   if (e instanceof RemoteError) console.log((e.cause as Error).name); // "RangeError"
 * }
 * ```
 */
export class RemoteError extends Error {
  /** The error as it was thrown in the worker. */
  declare readonly cause: Error;

  /** Wraps the error `data` that a worker reported. */
  constructor(data: ErrorData, options?: { context?: string }) {
    const prefix = options?.context ? `${options.context}: ` : "";
    super(`${prefix}${data.name}: ${data.message}`, { cause: fromErrorData(data) });
    this.name = "RemoteError";
  }
}

/** Rebuilds an `Error` from {@linkcode ErrorData}, keeping name, message and stack. */
export function fromErrorData(data: ErrorData): Error {
  const error = new Error(data.message, data.cause ? { cause: fromErrorData(data.cause) } : {});
  error.name = data.name;
  if (data.stack !== undefined) error.stack = data.stack;
  return error;
}

/**
 * A pool on a remote backend lost its connection to the server (the
 * server died, or the network did) while the task was out: the task may or
 * may not have run. Exported by `@multipool/multipool/nats`.
 *
 * @example
 * ```ts
 * import { ConnectionLostError } from "@multipool/multipool/nats";
 * const error = new ConnectionLostError("Connection to NATS server nats://127.0.0.1:4222 was lost");
 * console.log(error.name); // "ConnectionLostError"
 * ```
 */
export class ConnectionLostError extends Error {
  /** Creates the error. */
  constructor(message = "Connection to the server was lost", options?: ErrorOptions) {
    super(message, options);
    this.name = "ConnectionLostError";
  }
}
