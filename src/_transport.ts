/**
 * Seam 2: how a local worker is reached. A transport posts protocol
 * messages (with transferables) to one worker, terminates it, and delivers
 * what the worker sends and the one time it ends on its own. It knows
 * nothing of chunks, tasks or pools: the worker slot speaks the protocol
 * over it. Web Workers are the first implementation
 * (`_thread_transport.ts`); a test passes an in-memory fake.
 *
 * @module
 */

import type { FromWorker, ToWorker } from "./_protocol.ts";
import type { WorkerCrashedError } from "./errors.ts";

/**
 * Deno worker permissions, as in `new Worker(url, { deno: { permissions } })`.
 *
 * @example
 * ```ts
 * import { Pool, type WorkerPermissions } from "@multipool/multipool";
 * const permissions: WorkerPermissions = { read: false, net: ["127.0.0.1"] };
 * await using pool = new Pool({ size: 1, permissions });
 * console.log(await pool.apply((x: number) => x + 1, [1])); // 2
 * ```
 */
export type WorkerPermissions = "inherit" | "none" | Deno.PermissionOptionsObject;

/** What a transport tells the slot that owns it. */
export interface TransportEvents {
  /** A message from the worker, in the order it was sent. */
  message(message: FromWorker): void;
  /** The worker ended on its own (an error event, a failure to start); called at most once. */
  exit(error: WorkerCrashedError): void;
}

/** What a transport needs to start a worker. */
export interface TransportOptions {
  /** Name of the worker (shows in stack traces). */
  readonly name: string;
  /** Permissions of the worker; `undefined`: inherit. */
  readonly permissions?: WorkerPermissions | undefined;
}

/** One started worker. */
export interface Transport {
  /** Posts a message; throws when a value cannot be sent. */
  post(message: ToWorker, transfer?: Transferable[]): void;
  /** Stops the worker now; idempotent. No event follows. */
  terminate(): void;
}

/** Starts a worker and returns its transport; throws when it cannot be started. */
export type TransportFactory = (events: TransportEvents, options: TransportOptions) => Transport;

let live = 0;

/**
 * Returns how many multipool workers (of every Pool and Process) are alive
 * in this process. Useful in tests: after `terminate()` or `close()` +
 * `join()` it drops back to where it was.
 *
 * @example
 * ```ts
 * import { liveWorkerCount, Pool } from "@multipool/multipool";
 * const pool = new Pool({ size: 2 });
 * await pool.terminate();
 * console.log(liveWorkerCount()); // 0
 * ```
 */
export function liveWorkerCount(): number {
  return live;
}

/** Counts a worker that a transport started (`+1`) or that ended (`-1`). */
export function countWorker(delta: 1 | -1): void {
  live += delta;
}
