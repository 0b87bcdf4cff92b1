/**
 * Backends: where a pool's workers run. `"thread"` (the default) runs them
 * as threads of this process, `"process"` as `deno` subprocesses; a backend
 * object, such as the one `nats()` of `@multipool/multipool/nats` returns,
 * runs chunks elsewhere. Every backend plugs into the same scheduler
 * through one executor seam (`_executor.ts`), so the Pool API is the same
 * on each; the local ones differ only in their transport (`_transport.ts`).
 *
 * @module
 */

import type { ExecutorFactory } from "./_executor.ts";
import { localExecutor, type LocalExecutorOptions } from "./_local_executor.ts";
import { processTransport } from "./_process_transport.ts";
import { threadTransport } from "./_thread_transport.ts";
import type { TransportFactory, WorkerPermissions } from "./_transport.ts";
import { webWorkerTransport } from "./_web_worker_transport.ts";
import { describe } from "./task.ts";

/**
 * A backend object: where chunks run when they do not run on local
 * workers (see `nats()` in `@multipool/multipool/nats`).
 *
 * @example
 * ```ts
 * import type { PoolBackend } from "@multipool/multipool";
 * function describeBackend(backend: PoolBackend): string {
 *   return `runs on ${backend.kind}`;
 * }
 * console.log(typeof describeBackend); // "function"
 * ```
 */
export interface PoolBackend {
  /** What the backend is, e.g. `"nats"`; shown in errors. */
  readonly kind: string;
}

/**
 * Where a pool's workers run: `"thread"` (the default: threads of this
 * process), `"process"` (each worker a `deno` subprocess: killable,
 * out-of-memory isolated, sandboxed by CLI flags), or a
 * {@linkcode PoolBackend} object.
 *
 * @example
 * ```ts
 * import { type Backend, Pool } from "@multipool/multipool";
 * const backend: Backend = "process";
 * await using pool = new Pool({ size: 1, backend });
 * console.log(await pool.apply((x: number) => x + 1, [1])); // 2
 * ```
 */
export type Backend = LocalBackend | PoolBackend;

/**
 * The backends whose workers run on this machine: the `backend` of a
 * `Process`, and the names a Pool's `backend` may have.
 *
 * @example
 * ```ts
 * import type { LocalBackend } from "@multipool/multipool";
 * const backend: LocalBackend = "thread";
 * console.log(backend); // "thread"
 * ```
 */
export type LocalBackend = "thread" | "process";

/** What a pool asks of every backend (already checked). */
export interface BackendSettings extends Omit<LocalExecutorOptions, "transport"> {
  /** Heap limit of each worker (MB); `undefined`: the backend's default. */
  readonly maxHeapMb?: number | undefined;
}

/** The key under which a backend object keeps how it creates executors. */
export const CREATE_EXECUTOR: unique symbol = Symbol("multipool.createExecutor");

/** A backend object as multipool's own backends build it. */
export interface ExecutorBackend extends PoolBackend {
  readonly [CREATE_EXECUTOR]: (settings: BackendSettings) => ExecutorFactory;
}

/** The names a `backend` string may have. */
export const BACKEND_NAMES: readonly LocalBackend[] = ["thread", "process"];

/**
 * The executor factory of `backend` (undefined: `"thread"`) with
 * `settings`.
 *
 * @throws {RangeError} for an unknown backend, naming the allowed values.
 * @throws {TypeError} for `maxHeapMb` with `permissions` on threads.
 * @throws {Deno.errors.NotCapable} for `"process"` in a host without `--allow-run`.
 */
export function executorFor(backend: unknown, settings: BackendSettings): ExecutorFactory {
  if (backend === undefined || isLocalBackend(backend)) {
    const transport = transportFor(backend ?? "thread", settings);
    return localExecutor({ ...settings, transport });
  }
  if (isExecutorBackend(backend)) return backend[CREATE_EXECUTOR](settings);
  throw new RangeError(
    `Option backend must be ${
      BACKEND_NAMES.map((name) => `"${name}"`).join(", ")
    } or a backend object such as nats({ ... }), got ${describe(backend)}`,
  );
}

/**
 * Checks the `backend` option of a `Process`: a local backend name or
 * undefined.
 *
 * @throws {RangeError} for anything else, naming the allowed values.
 */
export function localBackend(backend: unknown): LocalBackend {
  if (backend === undefined) return "thread";
  if (isLocalBackend(backend)) return backend;
  throw new RangeError(
    `Option backend must be ${BACKEND_NAMES.map((name) => `"${name}"`).join(" or ")}, got ${
      describe(backend)
    }`,
  );
}

/**
 * How the workers of a local backend are started.
 *
 * @throws {TypeError} for `maxHeapMb` with `permissions` on threads.
 * @throws {Deno.errors.NotCapable} for `"process"` in a host without `--allow-run`.
 */
export function transportFor(
  backend: LocalBackend,
  settings: { permissions?: WorkerPermissions | undefined; maxHeapMb?: number | undefined },
): TransportFactory {
  if (backend === "process") return processTransport({ maxHeapMb: settings.maxHeapMb });
  if (settings.permissions === undefined) return threadTransport(settings);
  if (settings.maxHeapMb !== undefined) {
    throw new TypeError(
      'Option maxHeapMb cannot be combined with permissions on the thread backend (sandboxed threads are Web Workers, which have no heap limit): use backend "process"',
    );
  }
  return webWorkerTransport;
}

function isLocalBackend(value: unknown): value is LocalBackend {
  return value === "thread" || value === "process";
}

function isExecutorBackend(value: unknown): value is ExecutorBackend {
  return value !== null && typeof value === "object" && CREATE_EXECUTOR in value &&
    typeof (value as ExecutorBackend)[CREATE_EXECUTOR] === "function";
}
