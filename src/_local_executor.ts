/**
 * The local executor: runs chunks on worker slots of this host (threads
 * or subprocesses, whatever the transport starts), kept by a
 * {@linkcode Supervisor}. It routes each message of chunks to the slot with
 * the fewest in flight (pipelining onto busy ones up to their depth),
 * remembers which slot holds which chunk (to stop it on timeout or abort),
 * makes sure a WASM module is compiled before a chunk that needs it is
 * offered, holds the host's event loop while the scheduler has work
 * outstanding (its workers never do), and waits for every worker to be gone
 * before a shutdown or terminate settles.
 *
 * @module
 */

import type {
  Executor,
  ExecutorChunk,
  ExecutorEvents,
  ExecutorFactory,
  ExecutorStats,
} from "./_executor.ts";
import type { TaskSpec } from "./_protocol.ts";
import { type LoopHold, loopHold } from "./_keep_alive.ts";
import { Supervisor } from "./_supervisor.ts";
import type { TransportFactory } from "./_transport.ts";
import { compiledModule, ensureModule } from "./_wasm_registry.ts";
import { type SlotOptions, WorkerSlot } from "./_worker_slot.ts";

/** Settings of a local executor (already checked); the slot options are passed on to each slot. */
export interface LocalExecutorOptions extends
  Pick<
    SlotOptions,
    "transport" | "permissions" | "initializer" | "initArgs" | "initTimeout" | "clock"
  > {
  readonly size: number;
  /** Name prefix of the workers. */
  readonly name: string;
  readonly maxTasksPerWorker?: number | undefined;
  /** What holds the host's event loop open; default a real one. */
  readonly loopHold?: LoopHold | undefined;
}

/** An {@linkcode ExecutorFactory} of local executors with `options`. */
export function localExecutor(options: LocalExecutorOptions): ExecutorFactory {
  return (events) => new LocalExecutor(events, options);
}

/** See the module doc. */
class LocalExecutor implements Executor {
  readonly #supervisor: Supervisor;
  /** Workers not gone yet (their transports' `closed`). */
  readonly #closing = new Set<Promise<void>>();
  readonly #loop: LoopHold;
  /** The scheduler has work outstanding. */
  #busy = false;
  /** terminate() or shutdown() waits for workers to be gone. */
  #waiting = false;
  #wasmSent = 0;
  #workerSeq = 0;

  constructor(events: ExecutorEvents, options: LocalExecutorOptions) {
    this.#loop = options.loopHold ?? loopHold();
    const onWasmSent = () => this.#wasmSent++;
    const transport: TransportFactory = (transportEvents, transportOptions) => {
      const started = options.transport(transportEvents, transportOptions);
      const closed = started.closed;
      this.#closing.add(closed);
      closed.then(() => this.#closing.delete(closed));
      return started;
    };
    this.#supervisor = new Supervisor({
      size: options.size,
      clock: options.clock,
      spawn: (slotEvents) =>
        new WorkerSlot({
          transport,
          name: `${options.name}-${++this.#workerSeq}`,
          permissions: options.permissions,
          initializer: options.initializer,
          initArgs: options.initArgs,
          initTimeout: options.initTimeout,
          maxTasks: options.maxTasksPerWorker,
          clock: options.clock,
          onWasmSent,
        }, slotEvents),
    }, events); // the supervisor's events are the scheduler's, as they are
  }

  prepare(spec: TaskSpec): Promise<void> | undefined {
    if (spec.kind !== "wasm" || compiledModule(spec.key) !== undefined) return undefined;
    return ensureModule(spec.key).then(() => {});
  }

  offer(chunks: readonly ExecutorChunk[], expectedMs: number | undefined): number {
    const slot = this.#supervisor.pick(expectedMs);
    if (slot === undefined) return 0;
    const taken = chunks.length <= slot.capacity() ? chunks : chunks.slice(0, slot.capacity());
    slot.run(taken, expectedMs);
    return taken.length;
  }

  spare(): number {
    return this.#supervisor.spare();
  }

  cancel(id: number): void {
    this.#supervisor.cancel(id);
  }

  hold(active: boolean): void {
    this.#busy = active;
    this.#loop.set(this.#busy || this.#waiting);
  }

  shutdown(): Promise<void> {
    return this.#supervisor.shutdown().then(() => this.#gone());
  }

  terminate(): Promise<void> {
    this.#supervisor.terminate();
    return this.#gone();
  }

  stats(): ExecutorStats {
    return { ...this.#supervisor.counts(), wasmInstantiations: this.#wasmSent };
  }

  /**
   * Settles when every worker started so far is gone; then the executor
   * holds the event loop no more. Waiting holds it: an exiting subprocess
   * does not (it is unref'd), and the caller awaits this.
   */
  async #gone(): Promise<void> {
    if (this.#closing.size > 0) {
      this.#waiting = true;
      this.#loop.set(true);
      while (this.#closing.size > 0) await Promise.all(this.#closing);
    }
    this.#loop.dispose();
  }
}
