/**
 * Seam 2: how a local worker is reached. A transport posts protocol
 * messages (with transferables) to one worker, terminates it, and delivers
 * what the worker sends and the one time it ends on its own. It knows
 * nothing of chunks, tasks or pools: the worker slot speaks the protocol
 * over it. The implementations: `node:worker_threads` threads
 * (`_thread_transport.ts`), Web Workers for sandboxed threads
 * (`_web_worker_transport.ts`) and `deno` subprocesses
 * (`_process_transport.ts`); a test passes an in-memory fake.
 *
 * A transport never keeps the host's event loop alive by itself (its
 * worker is unref'd): the executor decides that (`Executor.hold`), so an
 * idle pool lets a finished script exit.
 *
 * @module
 */

import type { FromWorker, ToWorker } from "./_protocol.ts";
import type { WorkerCrashedError } from "./errors.ts";

/**
 * Deno permissions of a pool's or process's workers: as in
 * `new Worker(url, { deno: { permissions } })` on the thread backend, as
 * `--allow-*` flags on the process backend.
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

/** How a worker ended: the exit code it asked for or its process ended with, or the signal that killed it. */
export interface ExitStatus {
  /** `Deno.exit(code)`, or the exit code of its process. */
  readonly code?: number | undefined;
  /** The number of the signal that killed its process (9 for SIGKILL). */
  readonly signal?: number | undefined;
}

/** What a transport tells the slot that owns it. */
export interface TransportEvents {
  /** A message from the worker, in the order it was sent. */
  message(message: FromWorker): void;
  /**
   * The worker ended on its own (an error event, a failure to start, its
   * process exited); called at most once, never after `terminate()`.
   */
  exit(error: WorkerCrashedError, status?: ExitStatus): void;
}

/** What a transport needs to start a worker. */
export interface TransportOptions {
  /** Name of the worker (shows in stack traces; `globalThis.name` in the worker). */
  readonly name: string;
  /** Permissions of the worker; `undefined`: inherit. */
  readonly permissions?: WorkerPermissions | undefined;
}

/** One started worker. */
export interface Transport {
  /** Posts a message; throws when a value cannot be sent. */
  post(message: ToWorker, transfer?: Transferable[]): void;
  /**
   * Stops the worker now; idempotent. No event follows. `"SIGTERM"` lets a
   * subprocess handle the signal first (it is killed if it does not end
   * within a second); threads always stop at once.
   */
  terminate(signal?: "SIGTERM" | "SIGKILL"): void;
  /**
   * Settles once the worker is gone: terminated, or ended on its own (a
   * subprocess: exited, and its output read to the end).
   */
  readonly closed: Promise<void>;
  /** The OS process id of a subprocess worker; `undefined` for a thread. */
  readonly pid?: number | undefined;
}

/** Starts a worker and returns its transport; throws when it cannot be started. */
export type TransportFactory = (events: TransportEvents, options: TransportOptions) => Transport;

let live = 0;

/**
 * The lifetime of one thread worker, for its transport: counts it alive
 * (see {@linkcode liveWorkerCount}) until {@linkcode WorkerLife.end}, which
 * also settles `closed`.
 */
export class WorkerLife {
  #alive = true;
  readonly #closed = Promise.withResolvers<void>();

  constructor() {
    countWorker(1);
  }

  /** Whether {@linkcode WorkerLife.end} was not called yet. */
  get alive(): boolean {
    return this.#alive;
  }

  /** What {@linkcode Transport.closed} returns. */
  get closed(): Promise<void> {
    return this.#closed.promise;
  }

  /** Ends the worker's life once; `true` the first time, when the caller must stop it. */
  end(): boolean {
    if (!this.#alive) return false;
    this.#alive = false;
    countWorker(-1);
    this.#closed.resolve();
    return true;
  }
}

/**
 * Returns how many multipool workers (of every Pool and Process, threads
 * and subprocesses) are alive in this process: started, and neither ended
 * nor terminated. Useful in tests: after `await pool.terminate()` or
 * `close()` + `await join()` it drops back to where it was (and their
 * subprocesses have exited).
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
