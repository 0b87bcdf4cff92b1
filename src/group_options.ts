/**
 * Options of `Group` and its methods.
 *
 * @module
 */

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
