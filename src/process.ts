/**
 * `Process`: Python's `multiprocessing.Process` on one worker: a thread,
 * or on the process backend a `deno` subprocess (an OS process with its
 * own pid).
 *
 * @module
 */

import { type LocalBackend, localBackend, transportFor } from "./backend.ts";
import { realClock } from "./_clock.ts";
import type { ExecutorChunk } from "./_executor.ts";
import { type LoopHold, loopHold } from "./_keep_alive.ts";
import type { TaskSpec } from "./_protocol.ts";
import { type Task, toTaskSpec } from "./task.ts";
import { WorkerCrashedError } from "./errors.ts";
import type { TransportFactory, WorkerPermissions } from "./_transport.ts";
import { argumentTuple, cloneableTuple, optionalInteger } from "./_validate.ts";
import { settlesWithin, waitTimeout } from "./_wait.ts";
import { type SlotEnd, WorkerSlot } from "./_worker_slot.ts";

/**
 * Options of {@linkcode Process}.
 *
 * @example
 * ```ts
 * import { type ProcessOptions } from "@multipool/multipool";
 * const options: ProcessOptions<[string]> = { target: (who: string) => console.log(who), args: ["bob"] };
 * console.log(options.args); // ["bob"]
 * ```
 */
export interface ProcessOptions<A extends unknown[]> {
  /** What to run: a task reference or a self-contained function. */
  target: Task<A, unknown>;
  /** Arguments of `target`. */
  args?: A;
  /** Name of the process (and its worker); default `Process-<n>`, numbered in this program. */
  name?: string;
  /**
   * Deno permissions of the worker, as for `Pool` (on the thread backend it
   * needs `--unstable-worker-options`; on `"process"` they are CLI flags).
   */
  permissions?: WorkerPermissions;
  /** Where the target runs: `"thread"` (default) or `"process"` (a `deno` subprocess). */
  backend?: LocalBackend;
  /** Heap limit of the worker (MB): running out ends it with exitCode 1 (a thread) or < 0 (a process). */
  maxHeapMb?: number;
}

/**
 * `exitCode` of a process stopped by {@linkcode Process.terminate} (as SIGTERM in Python).
 *
 * @example
 * ```ts
 * import { Process, TERMINATED_EXIT_CODE } from "@multipool/multipool";
 * const p = new Process({ target: () => new Promise(() => {}) });
 * p.start();
 * p.terminate();
 * await p.join();
 * console.log(p.exitCode === TERMINATED_EXIT_CODE); // true
 * ```
 */
export const TERMINATED_EXIT_CODE: number = -15;
/**
 * `exitCode` of a process stopped by {@linkcode Process.kill} (as SIGKILL in Python).
 *
 * @example
 * ```ts
 * import { KILLED_EXIT_CODE, Process } from "@multipool/multipool";
 * const p = new Process({ target: () => new Promise(() => {}) });
 * p.start();
 * p.kill();
 * await p.join();
 * console.log(p.exitCode === KILLED_EXIT_CODE); // true
 * ```
 */
export const KILLED_EXIT_CODE: number = -9;

let lastNumber = 0;

/** How long a worker may take to run its exit handlers after its target returned (ms). */
const RETIRE_GRACE_MS = 2000;

/**
 * Runs one task in its own worker, like Python's `multiprocessing.Process`:
 * a thread, or with `backend: "process"` a `deno` subprocess. `exitCode`
 * is `null` until it ends, then as in Python: `0` (success, or
 * `Deno.exit()`), the code of `Deno.exit(code)`, `1` (the target threw, or
 * its worker crashed or closed itself), `-15` after `terminate()`, `-9`
 * after `kill()`, `-N` when signal N killed its process. When the target
 * returns, its exit handlers (`unload` listeners) run. `join()` always
 * returns, whatever the target does; a running process keeps the host
 * alive, as Python waits for its children.
 *
 * @example
 * ```ts
 * import { Process } from "@multipool/multipool";
 * const p = new Process({ target: (who: string) => console.log(`hello ${who}`), args: ["bob"] });
 * p.start();
 * await p.join();
 * console.log(p.exitCode); // 0
 * ```
 */
export class Process<A extends unknown[] = unknown[]> {
  readonly #spec: TaskSpec;
  readonly #args: unknown[];
  readonly #permissions: WorkerPermissions | undefined;
  readonly #backend: LocalBackend;
  readonly #transport: TransportFactory;
  readonly #number: number;
  readonly #name: string;
  #slot: WorkerSlot | undefined;
  #loop: LoopHold | undefined;
  #exitCode: number | null = null;
  #error: unknown;
  #done: Promise<void> | undefined;
  #finish: (() => void) | undefined;

  /**
   * Validates the target and arguments; nothing runs until {@linkcode Process.start}.
   *
   * @throws {TypeError | RangeError} for bad options (an unknown `backend`, a `maxHeapMb` that is
   * not a positive integer).
   * @throws {Deno.errors.NotCapable} for `backend: "process"` in a host without `--allow-run`.
   */
  constructor(options: ProcessOptions<A>) {
    if (options === null || typeof options !== "object") {
      throw new TypeError("Argument options must be an object with a target");
    }
    this.#spec = toTaskSpec(options.target);
    this.#args = options.args === undefined ? [] : argumentTuple(options.args, "args");
    cloneableTuple(this.#args, "args");
    if (options.name !== undefined && typeof options.name !== "string") {
      throw new TypeError(`Option name must be a string, got ${typeof options.name}`);
    }
    this.#permissions = options.permissions;
    this.#backend = localBackend(options.backend);
    const maxHeapMb = optionalInteger(options.maxHeapMb, "maxHeapMb");
    this.#transport = transportFor(this.#backend, { permissions: this.#permissions, maxHeapMb });
    this.#number = ++lastNumber;
    this.#name = options.name ?? `Process-${this.#number}`;
  }

  /** The process's name. */
  get name(): string {
    return this.#name;
  }

  /**
   * On the process backend its OS process id (`null` until started); on
   * threads a number unique among the processes of this program.
   */
  get pid(): number | null {
    if (this.#backend === "thread") return this.#number;
    return this.#slot?.pid ?? null;
  }

  /**
   * `null` while not started or running; then 0 ok (or `Deno.exit()`), the
   * code of `Deno.exit(code)`, 1 error, -15 after `terminate()`, -9 after
   * `kill()`, -N when signal N killed its process.
   */
  get exitCode(): number | null {
    return this.#exitCode;
  }

  /** What the target threw (a {@linkcode RemoteError}), or why its worker died; `undefined` otherwise. */
  get error(): unknown {
    return this.#error;
  }

  /**
   * Starts the worker and the target. A second call throws.
   *
   * @example
   * ```ts
   * import { Process } from "@multipool/multipool";
   * const p = new Process({ target: () => {} });
   * p.start();
   * await p.join();
   * ```
   */
  start(): void {
    if (this.#done !== undefined) throw new Error(`Process ${this.#name} was already started`);
    this.#done = new Promise<void>((resolve) => (this.#finish = resolve));
    const target: ExecutorChunk = { id: 0, spec: this.#spec, items: [this.#args], star: true };
    this.#loop = loopHold();
    this.#loop.set(true);
    let ran = false;
    try {
      this.#slot = new WorkerSlot({
        transport: this.#transport,
        name: this.#name,
        permissions: this.#permissions,
        clock: realClock,
      }, {
        ready: (slot) => {
          if (this.#exitCode !== null || ran) return;
          ran = true;
          try {
            slot.run([target]);
          } catch (error) {
            this.#end(1, error);
          }
        },
        started: () => {},
        returned: () => {},
        settled: (slot, _id, outcome) => {
          if (outcome.ok) queueMicrotask(() => slot.retire(RETIRE_GRACE_MS)); // once it is idle
          // A worker that died fails the target first; `ended` follows with how it exited.
          else if (!(outcome.error instanceof WorkerCrashedError)) this.#end(1, outcome.error);
        },
        ended: (_slot, end) => this.#ended(end),
      });
    } catch (error) {
      this.#loop.dispose();
      this.#done = undefined; // never started
      throw error;
    }
  }

  /**
   * Waits until the process ends, or at most `timeout` ms (then it returns
   * with the process still running, as in Python; check `isAlive()`).
   * `join(0)` does not wait. Rejects if the process was never started, and
   * rejects a bad `timeout` with a `TypeError` or `RangeError` (it never
   * throws).
   *
   * @example
   * ```ts
   * import { Process } from "@multipool/multipool";
   * const p = new Process({ target: (ms: number) => new Promise((r) => setTimeout(r, ms)), args: [50] });
   * p.start();
   * await p.join(10);
   * console.log(p.isAlive()); // true
   * await p.join();
   * console.log(p.isAlive()); // false
   * ```
   */
  async join(timeout?: number): Promise<void> {
    const ms = waitTimeout(timeout);
    const done = this.#done;
    if (done === undefined) {
      throw new Error(`Process ${this.#name} was not started: call start() first`);
    }
    // Once it has an exit code, the worker is at most moments from gone: wait for that.
    if (this.#exitCode !== null) await done;
    else await settlesWithin(done, ms);
  }

  /** Whether the process was started and has not ended. */
  isAlive(): boolean {
    return this.#done !== undefined && this.#exitCode === null;
  }

  /**
   * Stops the process now; `exitCode` becomes {@linkcode TERMINATED_EXIT_CODE}.
   *
   * @example
   * ```ts
   * import { Process } from "@multipool/multipool";
   * const p = new Process({ target: () => new Promise(() => {}) });
   * p.start();
   * p.terminate();
   * await p.join();
   * console.log(p.exitCode); // -15
   * ```
   */
  terminate(): void {
    this.#end(TERMINATED_EXIT_CODE, undefined, "SIGTERM");
  }

  /**
   * Like {@linkcode Process.terminate}, with `exitCode` {@linkcode KILLED_EXIT_CODE}
   * (Python's `kill`; SIGKILL on the process backend).
   */
  kill(): void {
    this.#end(KILLED_EXIT_CODE, undefined);
  }

  /** The worker ended: after its target (exit handlers ran), or on its own. */
  #ended(end: SlotEnd): void {
    if (end.kind === "exited") this.#end(end.status.code ?? 0, undefined);
    else if (end.kind === "crashed") {
      const { code, signal } = end.status ?? {};
      if (signal !== undefined) this.#end(-signal, end.error);
      else if (code === 0) this.#end(0, undefined);
      else this.#end(code ?? 1, end.error);
    } else {
      const error = end.kind === "startup-failed"
        ? end.error
        : new WorkerCrashedError(`Worker of process ${this.#name} was stopped`);
      this.#end(1, error);
    }
  }

  /** Ends the process once: `exitCode` now, `join()` once its worker is gone. */
  #end(code: number, error: unknown, signal?: "SIGTERM"): void {
    if (this.#exitCode !== null || this.#slot === undefined) return;
    this.#exitCode = code;
    this.#error = error;
    this.#slot.stop(signal);
    this.#slot.closed.then(() => {
      this.#loop?.dispose();
      this.#finish?.();
    });
  }
}
