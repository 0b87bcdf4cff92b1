/**
 * `Process`: Python's `multiprocessing.Process` on one Web Worker.
 *
 * @module
 */

import { realClock } from "./_clock.ts";
import type { ExecutorChunk } from "./_executor.ts";
import type { TaskSpec } from "./_protocol.ts";
import { type Task, toTaskSpec } from "./task.ts";
import { threadTransport } from "./_thread_transport.ts";
import type { WorkerPermissions } from "./_transport.ts";
import { argumentTuple, cloneableTuple } from "./_validate.ts";
import { settlesWithin, waitTimeout } from "./_wait.ts";
import { WorkerSlot } from "./_worker_slot.ts";

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
  /** Name of the process (and its worker); default `Process-<pid>`. */
  name?: string;
  /** Deno permissions of the worker, as for `Pool` (needs `--unstable-worker-options`). */
  permissions?: WorkerPermissions;
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

let lastPid = 0;

/**
 * Runs one task in its own worker, like Python's `multiprocessing.Process`.
 * `exitCode` is `null` until it ends, then `0` (success), `1` (the target
 * threw, or its worker crashed or closed itself) or negative (terminated).
 * `join()` always returns, whatever the target does.
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
  readonly #pid: number;
  readonly #name: string;
  #slot: WorkerSlot | undefined;
  #exitCode: number | null = null;
  #error: unknown;
  #done: Promise<void> | undefined;
  #finish: (() => void) | undefined;

  /** Validates the target and arguments; nothing runs until {@linkcode Process.start}. */
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
    this.#pid = ++lastPid;
    this.#name = options.name ?? `Process-${this.#pid}`;
  }

  /** The process's name. */
  get name(): string {
    return this.#name;
  }

  /** A number unique among the processes of this program. */
  get pid(): number {
    return this.#pid;
  }

  /** `null` while not started or running; then 0 ok, 1 error, negative when terminated or killed. */
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
    this.#slot = new WorkerSlot({
      transport: threadTransport,
      name: this.#name,
      permissions: this.#permissions,
      clock: realClock,
    }, {
      ready: (slot) => {
        if (this.#exitCode !== null || slot.held() > 0) return;
        try {
          slot.run([target]);
        } catch (error) {
          this.#end(1, error);
        }
      },
      started: () => {},
      returned: () => {},
      settled: (_slot, _id, outcome) => {
        if (outcome.ok) this.#end(0, undefined);
        else this.#end(1, outcome.error);
      },
      ended: (_slot, end) => {
        if (end.kind === "crashed" || end.kind === "startup-failed") this.#end(1, end.error);
      },
    });
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
    if (this.#exitCode === null) await settlesWithin(done, ms);
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
    this.#end(TERMINATED_EXIT_CODE, undefined);
  }

  /** Like {@linkcode Process.terminate}, with `exitCode` {@linkcode KILLED_EXIT_CODE} (Python's `kill`). */
  kill(): void {
    this.#end(KILLED_EXIT_CODE, undefined);
  }

  #end(code: number, error: unknown): void {
    if (this.#exitCode !== null || this.#slot === undefined) return;
    this.#exitCode = code;
    this.#error = error;
    this.#slot.stop();
    this.#finish?.();
  }
}
