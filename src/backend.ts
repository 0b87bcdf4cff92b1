/**
 * Backends: where a pool's workers run. `"thread"` (the default) runs them
 * as worker threads of this process; a backend object, such as the one
 * `nats()` of `@multipool/multipool/nats` returns, runs chunks elsewhere.
 * Every backend plugs into the same scheduler through one executor seam
 * (`_executor.ts`), so the Pool API is the same on each.
 *
 * @module
 */

import type { ExecutorFactory } from "./_executor.ts";
import { localExecutor, type LocalExecutorOptions } from "./_local_executor.ts";
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
 * Where a pool's workers run: `"thread"` (the default), or a
 * {@linkcode PoolBackend} object.
 *
 * @example
 * ```ts
 * import { type Backend, Pool } from "@multipool/multipool";
 * const backend: Backend = "thread";
 * await using pool = new Pool({ size: 1, backend });
 * console.log(await pool.apply((x: number) => x + 1, [1])); // 2
 * ```
 */
export type Backend = "thread" | PoolBackend;

/** What a pool asks of every backend (already checked). */
export type BackendSettings = Omit<LocalExecutorOptions, "transport">;

/** The key under which a backend object keeps how it creates executors. */
export const CREATE_EXECUTOR: unique symbol = Symbol("multipool.createExecutor");

/** A backend object as multipool's own backends build it. */
export interface ExecutorBackend extends PoolBackend {
  readonly [CREATE_EXECUTOR]: (settings: BackendSettings) => ExecutorFactory;
}

/** The names a `backend` string may have. */
export const BACKEND_NAMES: readonly string[] = ["thread"];

/**
 * The executor factory of `backend` (undefined: `"thread"`) with
 * `settings`.
 *
 * @throws {RangeError} for an unknown backend, naming the allowed values.
 */
export function executorFor(backend: unknown, settings: BackendSettings): ExecutorFactory {
  if (backend === undefined || backend === "thread") {
    return localExecutor({ ...settings, transport: webWorkerTransport });
  }
  if (isExecutorBackend(backend)) return backend[CREATE_EXECUTOR](settings);
  throw new RangeError(
    `Option backend must be ${
      BACKEND_NAMES.map((name) => `"${name}"`).join(", ")
    } or a backend object such as nats({ ... }), got ${describe(backend)}`,
  );
}

function isExecutorBackend(value: unknown): value is ExecutorBackend {
  return value !== null && typeof value === "object" && CREATE_EXECUTOR in value &&
    typeof (value as ExecutorBackend)[CREATE_EXECUTOR] === "function";
}
