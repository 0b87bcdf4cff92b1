/**
 * Seam 1: where chunks run. The scheduler hands a chunk to an executor and
 * gets exactly one outcome back for it (unless it cancelled the chunk
 * first). An executor knows nothing of map, imap or chunk sizes, and the
 * scheduler knows nothing of workers, processes or servers: the local
 * executor runs chunks on worker slots kept by a supervisor; a remote one
 * would put them on a work queue, where there are no slots to count.
 *
 * @module
 */

import type { ChunkItems, TaskSpec } from "./_protocol.ts";

/** A chunk as an executor sees it. */
export interface ExecutorChunk {
  /** Unique among the chunks of one scheduler. */
  readonly id: number;
  readonly spec: TaskSpec;
  readonly items: ChunkItems;
  /** Each item is an argument tuple (`task(...item)`). */
  readonly star: boolean;
  /**
   * What to move to the worker instead of copying; a backend that cannot
   * move (another process, another machine) copies it.
   */
  readonly transfer?: readonly Transferable[] | undefined;
}

/** How a chunk ended, as the executor reports it. */
export type ExecutorOutcome =
  | { readonly ok: true; readonly results: ArrayLike<unknown> }
  | {
    readonly ok: false;
    readonly error: unknown;
    /** Results of the items before the failed one, when the worker sent them. */
    readonly partial?: ArrayLike<unknown> | undefined;
  };

/**
 * What an executor tells its scheduler. Every call is synchronous. `at`,
 * where given, is when the executor saw the event, on the clock it shares
 * with the scheduler (`performance.now()` in a pool): events it sees
 * together (a message answering many chunks) share one reading. Without
 * it the scheduler reads its clock.
 */
export interface ExecutorEvents {
  /** Chunk `id`, accepted by `offer`, began to run (its timeout starts now). */
  started(id: number, at?: number): void;
  /** Chunk `id` ended; reported once, and never for a chunk the scheduler cancelled. */
  settled(id: number, outcome: ExecutorOutcome, at?: number): void;
  /**
   * Chunks it took but will not run (the worker they waited on ended before
   * they started): the scheduler queues them again, ahead of the others.
   */
  returned(ids: readonly number[]): void;
  /** The executor may take more chunks now. */
  available(): void;
  /** No worker can be started (each one failed to): chunks waiting for one fail with `error`. */
  unavailable(error: Error): void;
}

/** Counts an executor adds to `Pool.stats()`. */
export interface ExecutorStats {
  /** Workers alive now (starting or running). */
  readonly alive: number;
  /** Workers holding at least one chunk. */
  readonly busy: number;
  /** Workers replaced after a crash, timeout, abort or recycling. */
  readonly replaced: number;
  /** WASM modules sent to (and instantiated once by) a worker. */
  readonly wasmInstantiations: number;
}

/** Where chunks run; see the module doc. */
export interface Executor {
  /**
   * What must happen before a chunk of `spec` can be offered (a WASM module
   * still compiling): a promise that settles when it has, or `undefined`
   * when the chunk can be offered now. Chunks of other tasks go on meanwhile.
   */
  prepare(spec: TaskSpec): Promise<void> | undefined;
  /**
   * Takes the first chunks of `chunks` (consecutive chunks of one task, in
   * queue order) that it can start, or hold to start soon, now, and returns
   * how many: 0 when it can take none. It may send the ones it takes
   * together (small calls coalesced into one message). `expectedMs` is how
   * long they should take together, from what earlier calls of the task
   * took (`undefined`: not known yet): a local executor queues work behind
   * a running message on the same worker (pipelining) only when both are
   * known to be short, so that long tasks never wait behind each other
   * while another worker could take them. Throws, and keeps nothing, when
   * they cannot be sent (an item that cannot be cloned).
   */
  offer(chunks: readonly ExecutorChunk[], expectedMs: number | undefined): number;
  /**
   * How many chunks it could start at once, or as soon as its starting
   * workers are up: what `maxQueue` counts as room.
   */
  spare(): number;
  /** Stops chunk `id` (timeout, abort): its outcome is no longer wanted. */
  cancel(id: number): void;
  /**
   * The scheduler has work outstanding (`true`: chunks queued, running or
   * waiting for their task, or a shutdown under way) or none (`false`);
   * called on each change. While held, the executor keeps the host's event
   * loop alive; otherwise nothing of it may (idle workers, back-off timers),
   * so a finished script exits on its own.
   */
  hold(active: boolean): void;
  /**
   * Optional: chunk `id` is no longer wanted (a caller left an `imap`
   * early). An executor that has it implements it when dropping such a
   * chunk is cheap (a remote queue: take it back, stop it); without it the
   * chunk finishes and its outcome is dropped.
   */
  abandon?(id: number): void;
  /**
   * No more chunks will come: lets workers still starting finish starting
   * (their initializer runs), then stops every worker. Resolves when all
   * are gone.
   */
  shutdown(): Promise<void>;
  /**
   * Stops every worker now; chunks it held are not reported. A remote
   * executor returns a promise that settles once its connection is closed.
   */
  terminate(): void | Promise<void>;
  stats(): ExecutorStats;
}

/** Creates the executor of one scheduler, which receives its events. */
export type ExecutorFactory = (events: ExecutorEvents) => Executor;
