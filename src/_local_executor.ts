/**
 * The local executor: runs chunks on worker slots in this process (threads
 * today), kept by a {@linkcode Supervisor}. It routes each message of
 * chunks to the slot with the fewest in flight (pipelining onto busy ones
 * up to their depth), remembers which slot holds which chunk (to stop it on
 * timeout or abort), and makes sure a WASM module is compiled before a
 * chunk that needs it is offered.
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
import { Supervisor } from "./_supervisor.ts";
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
}

/** An {@linkcode ExecutorFactory} of local executors with `options`. */
export function localExecutor(options: LocalExecutorOptions): ExecutorFactory {
  return (events) => new LocalExecutor(events, options);
}

/** See the module doc. */
class LocalExecutor implements Executor {
  readonly #events: ExecutorEvents;
  readonly #supervisor: Supervisor;
  /** Which slot holds each chunk in flight. */
  readonly #holders = new Map<number, WorkerSlot>();
  #wasmSent = 0;
  #workerSeq = 0;

  constructor(events: ExecutorEvents, options: LocalExecutorOptions) {
    this.#events = events;
    const onWasmSent = () => this.#wasmSent++;
    this.#supervisor = new Supervisor({
      size: options.size,
      clock: options.clock,
      spawn: (slotEvents) =>
        new WorkerSlot({
          transport: options.transport,
          name: `${options.name}-${++this.#workerSeq}`,
          permissions: options.permissions,
          initializer: options.initializer,
          initArgs: options.initArgs,
          initTimeout: options.initTimeout,
          maxTasks: options.maxTasksPerWorker,
          clock: options.clock,
          onWasmSent,
        }, slotEvents),
    }, {
      started: (id) => this.#events.started(id),
      settled: (id, outcome) => {
        this.#holders.delete(id);
        this.#events.settled(id, outcome);
      },
      returned: (ids) => {
        for (const id of ids) this.#holders.delete(id);
        this.#events.returned(ids);
      },
      available: () => this.#events.available(),
      unavailable: (error) => this.#events.unavailable(error),
    });
  }

  prepare(spec: TaskSpec): Promise<void> | undefined {
    if (spec.kind !== "wasm" || compiledModule(spec.key) !== undefined) return undefined;
    return ensureModule(spec.key).then(() => {});
  }

  offer(chunks: readonly ExecutorChunk[], expectedMs: number | undefined): number {
    const slot = this.#supervisor.pick(expectedMs);
    if (slot === undefined) return 0;
    const taken = chunks.length <= slot.capacity() ? chunks : chunks.slice(0, slot.capacity());
    for (const chunk of taken) this.#holders.set(chunk.id, slot);
    try {
      slot.run(taken, expectedMs);
    } catch (error) {
      for (const chunk of taken) this.#holders.delete(chunk.id);
      throw error;
    }
    return taken.length;
  }

  spare(): number {
    return this.#supervisor.spare();
  }

  cancel(id: number): void {
    const slot = this.#holders.get(id);
    if (slot === undefined) return;
    this.#holders.delete(id);
    slot.cancel(id);
  }

  shutdown(): Promise<void> {
    return this.#supervisor.shutdown();
  }

  terminate(): void {
    this.#holders.clear();
    this.#supervisor.terminate();
  }

  stats(): ExecutorStats {
    return { ...this.#supervisor.counts(), wasmInstantiations: this.#wasmSent };
  }
}
