/**
 * multipool: Python's `multiprocessing` (`Pool`, `Process`) and gevent's
 * coroutine groups for Deno. CPU work runs in a pool of worker threads or
 * (`backend: "process"`) `deno` subprocesses, hot kernels are
 * AssemblyScript compiled to WebAssembly, and IO runs in a structured async
 * `Group` on the main thread. Every submitted task settles, whatever its
 * worker does, and an idle pool never keeps a finished script alive.
 *
 * @example Map over a pool
 * ```ts
 * import { Pool } from "@multipool/multipool";
 * await using pool = new Pool({ size: 2 });
 * console.log(await pool.map((x: number) => x * x, [1, 2, 3])); // [1, 4, 9]
 * ```
 *
 * @example Built-in WASM kernels
 * ```ts
 * import { kernels, Pool } from "@multipool/multipool";
 * await using pool = new Pool({ size: 2 });
 * console.log(await pool.map(kernels.countPrimes, [[0, 1e5], [1e5, 2e5]])); // [9592, 8392]
 * ```
 *
 * @example IO in a Group feeding CPU work in a Pool
 * ```ts
 * import { Group, Pool } from "@multipool/multipool";
 * await using group = new Group({ limit: 10 });
 * await using pool = new Pool({ size: 2 });
 * const words = group.imap(async (n: number) => "word ".repeat(n), [1, 2, 3]);
 * for await (const length of pool.imap((s: string) => s.length, words)) console.log(length);
 * ```
 *
 * @module
 */

export { Pool } from "./src/pool.ts";
export type { Backend, LocalBackend, PoolBackend } from "./src/backend.ts";
export {
  type ApplyAsyncOptions,
  type ApplyOptions,
  type CallOptions,
  type ImapOptions,
  type MapAsyncOptions,
  type MapOptions,
  type PoolOptions,
  type PoolStats,
  type SeveralArgs,
} from "./src/pool_options.ts";
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
export { transfer } from "./src/transfer.ts";
export type { TaskSpec } from "./src/_protocol.ts";
export type { Percentiles } from "./src/_samples.ts";
export { liveWorkerCount, type WorkerPermissions } from "./src/_transport.ts";
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

export {
  Group,
  type GroupApplyAsyncOptions,
  type GroupApplyOptions,
  type GroupMapOptions,
  type GroupOptions,
  type MapFn,
} from "./src/group.ts";
export { Job, type JobFn, joinAll, type JoinAllOptions, spawn } from "./src/job.ts";
export { sleep, type SleepOptions } from "./src/sleep.ts";
export { type JoinOptions, withTimeout, type WithTimeoutOptions } from "./src/timeout.ts";
