/**
 * The checked settings of a `Pool`, read from its options: each bad option
 * throws a `TypeError` or `RangeError` naming it, before any worker starts.
 *
 * @module
 */

import type { BackendSettings } from "./backend.ts";
import { weakClock } from "./_clock.ts";
import type { PoolOptions } from "./pool_options.ts";
import { toTaskSpec } from "./task.ts";
import { argumentTuple, cloneableTuple, optionalInteger, optionalTimeout } from "./_validate.ts";

/** What a pool runs with. */
export interface PoolSettings {
  readonly size: number;
  /** Default run-time limit of every chunk (ms). */
  readonly taskTimeout: number | undefined;
  readonly maxQueue: number | undefined;
  /** What the backend needs to start workers. */
  readonly backend: BackendSettings;
}

/**
 * Reads and checks `options`.
 *
 * @throws {TypeError | RangeError} naming the first bad option.
 */
export function poolSettings(options: PoolOptions): PoolSettings {
  if (options === null || typeof options !== "object") {
    throw new TypeError("Argument options must be an object");
  }
  const size = optionalInteger(options.size, "size") ?? navigator.hardwareConcurrency ?? 1;
  const initializer = options.initializer === undefined
    ? undefined
    : toTaskSpec(options.initializer);
  const initArgs = options.initArgs === undefined
    ? []
    : argumentTuple(options.initArgs, "initArgs");
  cloneableTuple(initArgs, "initArgs");
  const maxTasksPerWorker = optionalInteger(options.maxTasksPerWorker, "maxTasksPerWorker");
  const maxQueue = optionalInteger(options.maxQueue, "maxQueue", 0);
  const maxHeapMb = optionalInteger(options.maxHeapMb, "maxHeapMb");
  const taskTimeout = optionalTimeout(options.taskTimeout, "taskTimeout");
  return {
    size,
    taskTimeout,
    maxQueue,
    backend: {
      size,
      name: options.name ?? "multipool",
      permissions: options.permissions,
      initializer,
      initArgs,
      initTimeout: taskTimeout,
      maxTasksPerWorker,
      maxHeapMb,
      // Back-off and initializer timers must not keep an idle pool's script alive.
      clock: weakClock,
    },
  };
}
