/**
 * multipool: Python's `multiprocessing.Pool` for Deno, on Web Workers, with
 * hot kernels in AssemblyScript compiled to WebAssembly.
 *
 * ```ts
 * import { kernels, Pool } from "@multipool/multipool";
 * await using pool = new Pool({ size: 2 });
 * console.log(await pool.starmap(kernels.countPrimes, [[0, 1e5], [1e5, 2e5]])); // [9592, 8392]
 * ```
 *
 * @module
 */

export {
  type ApplyAsyncOptions,
  type CallOptions,
  type ImapOptions,
  type MapAsyncOptions,
  type MapOptions,
  Pool,
  type PoolOptions,
  type PoolStats,
  type SeveralArgs,
} from "./src/pool.ts";
export {
  KILLED_EXIT_CODE,
  Process,
  type ProcessOptions,
  TERMINATED_EXIT_CODE,
} from "./src/process.ts";
export {
  AsyncResult,
  type AsyncResultCallbacks,
  type AsyncResultOptions,
} from "./src/async_result.ts";
export { type Task, type TaskModule, taskModule, type TaskRef } from "./src/task.ts";
export type { TaskSpec } from "./src/_protocol.ts";
export type { Percentiles } from "./src/_samples.ts";
export { liveWorkerCount, type WorkerPermissions } from "./src/_worker_handle.ts";
export {
  PoolClosedError,
  QueueFullError,
  RemoteError,
  TaskTimeoutError,
  TimeoutError,
  WorkerCrashedError,
} from "./src/errors.ts";

export { compileKernels, type Kernels, kernels } from "./src/kernels.ts";
export {
  type WasmAbi,
  type WasmArrayKind,
  type WasmExports,
  type WasmModule,
  wasmModule,
  type WasmModuleOptions,
  type WasmParamKind,
  type WasmResultKind,
} from "./src/wasm.ts";

export { Group, type GroupMapOptions, type GroupOptions, type MapFn } from "./src/group.ts";
export { Job, type JobFn, joinAll, type JoinAllOptions, spawn } from "./src/job.ts";
export { sleep, type SleepOptions } from "./src/sleep.ts";
export { type JoinOptions, withTimeout, type WithTimeoutOptions } from "./src/timeout.ts";
