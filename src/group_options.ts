/**
 * Options of `Group` and its methods.
 *
 * @module
 */

import type { AsyncResultCallbacks } from "./async_result.ts";

/**
 * Options of the {@linkcode Group} constructor.
 *
 * @example
 * ```ts
 * import { Group, type GroupOptions } from "@multipool/multipool";
 * const options: GroupOptions = { limit: 10, signal: AbortSignal.timeout(60_000) };
 * await using group = new Group(options);
 * console.log(group.limit); // 10
 * ```
 */
export interface GroupOptions {
  /**
   * At most this many jobs run at once; later ones wait their turn in spawn
   * order (gevent's `Pool(size)`). Omitted or `Infinity`: no limit (gevent's
   * `Group`). `0`: always full, nothing ever starts (gevent's `Pool(0)`):
   * spawned jobs stay queued until killed, and `close()` cancels them;
   * maps and a `waitAvailable()` without a timeout, which could
   * never end, fail at once with a `RangeError`.
   */
  limit?: number;
  /** Aborting it aborts every job (queued ones never start); `join()` then rejects with its reason. */
  signal?: AbortSignal;
}

/**
 * Options of `Group.map`, `Group.imap` and `Group.imapUnordered`.
 *
 * @example
 * ```ts
 * import { Group, type GroupMapOptions } from "@multipool/multipool";
 * const options: GroupMapOptions = { limit: 4, buffersize: 8 };
 * await using group = new Group();
 * console.log(await group.map(async (x: number) => x * 2, [1, 2], options)); // [2, 4]
 * ```
 */
export interface GroupMapOptions {
  /**
   * Items of this map running at once; default and upper bound: the group's
   * `limit` (100 in a group without a limit).
   */
  limit?: number;
  /**
   * Items started but not yet consumed (running plus finished and waiting
   * for the consumer); default `2 * limit`. The source is read no further
   * ahead than this, so a paused consumer pauses the source.
   */
  buffersize?: number;
  /** Aborting it stops the map: running items are aborted and the map rejects with its reason. */
  signal?: AbortSignal;
}

/**
 * Options of `Group.apply`.
 *
 * @example
 * ```ts
 * import { Group, type GroupApplyOptions } from "@multipool/multipool";
 * await using group = new Group({ limit: 1 });
 * const job = group.spawn((signal) => {
 *   const options: GroupApplyOptions = { signal }; // the job's own signal: runs inline
 *   return group.apply((a: number, b: number) => a + b, [1, 2], options);
 * });
 * console.log(await job); // 3
 * ```
 */
export interface GroupApplyOptions {
  /**
   * When calling from inside one of this group's jobs, pass that job's own
   * signal: the call then runs inline, in the caller's slot, and `fn` gets
   * that signal (gevent's `apply` does the same from one of the pool's
   * greenlets). Without it, a call from a job of a full group would wait
   * for a slot that only its caller can free: a deadlock.
   *
   * Why a signal: JavaScript cannot tell which job is running (there is no
   * `AsyncContext` yet, and after an `await` the stack no longer shows the
   * caller), while the job's signal is an object only that job was given,
   * so it names the caller reliably. A signal derived from it (for example
   * `AbortSignal.any`) is not recognised.
   *
   * Any other signal aborts the call: its job is killed with the signal's
   * reason (an aborted one rejects at once).
   */
  signal?: AbortSignal;
}

/**
 * Options of `Group.applyAsync`: {@linkcode GroupApplyOptions} plus the
 * callbacks of the returned `AsyncResult` (exactly one of them runs).
 *
 * @example
 * ```ts
 * import { Group, type GroupApplyAsyncOptions } from "@multipool/multipool";
 * const options: GroupApplyAsyncOptions<number> = { callback: (n) => console.log(n) };
 * await using group = new Group();
 * console.log(await group.applyAsync((x: number) => x * 2, [21], options)); // 42
 * ```
 */
export interface GroupApplyAsyncOptions<R> extends GroupApplyOptions, AsyncResultCallbacks<R> {}
