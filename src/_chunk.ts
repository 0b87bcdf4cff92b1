/**
 * A chunk as the scheduler tracks it: what a caller submits (a request), its
 * states (a tagged union), and what the caller learns back (one outcome).
 *
 * @module
 */

import type { Clock, TimerHandle } from "./_clock.ts";
import type { ExecutorChunk, ExecutorStats } from "./_executor.ts";
import type { ChunkItems, TaskSpec } from "./_protocol.ts";
import type { Percentiles } from "./_samples.ts";

/** A chunk to run, as a caller submits it. */
export interface ChunkRequest {
  readonly spec: TaskSpec;
  readonly items: ChunkItems;
  /** Each item is an argument tuple. */
  readonly star: boolean;
  /** Milliseconds it may run once started. */
  readonly timeout: number | undefined;
  /** Aborting it removes the chunk from the queue or stops the worker running it. */
  readonly signal: AbortSignal | undefined;
  /** What to move to the worker instead of copying (detached here once sent). */
  readonly transfer?: readonly Transferable[] | undefined;
}

/** How a chunk ended, as its caller learns it. */
export type ChunkOutcome =
  | { readonly ok: true; readonly results: ArrayLike<unknown>; readonly runTime: number }
  | {
    readonly ok: false;
    readonly error: unknown;
    /** Results of the items before the failed one, when the worker sent them. */
    readonly partial: ArrayLike<unknown> | undefined;
    readonly runTime: number;
  };

/** Receives a chunk's outcome, once, synchronously. */
export type OutcomeHandler = (outcome: ChunkOutcome) => void;

/** A submitted chunk. */
export interface Ticket {
  /**
   * Drops the chunk if it has not started; a running one finishes and its
   * outcome is dropped, unless the executor can abandon it (a remote
   * executor takes it off its queue and stops it).
   */
  cancel(): void;
}

/** A call that keeps submitting chunks (a `map` under way): accepted after `close()` too. */
export interface Lease {
  /** Like {@linkcode Scheduler.submit}, still accepted after `close()`. */
  submit(request: ChunkRequest, onOutcome: OutcomeHandler): Ticket;
  /** The call is done: the pool may stop once its other work is. */
  release(): void;
}

/** What `Scheduler.stats()` returns. */
export interface SchedulerStats extends ExecutorStats {
  readonly queued: number;
  readonly completed: number;
  readonly failed: number;
  readonly runTime: Percentiles;
  readonly waitTime: Percentiles;
}

/** Settings of a scheduler (already checked). */
export interface SchedulerOptions {
  /** Most chunks waiting beyond what the executor can take. */
  readonly maxQueue?: number | undefined;
  readonly clock?: Clock | undefined;
}

export type ChunkStatus =
  /** Waiting for its task to be ready (a WASM module compiling); other chunks go on. */
  | { readonly state: "preparing" }
  | { readonly state: "queued" }
  /** Handed to the executor, not started yet. */
  | { readonly state: "offered" }
  | {
    readonly state: "running";
    readonly startedAt: number;
    readonly timer: TimerHandle | undefined;
  }
  | { readonly state: "settled" };

export interface Chunk extends ExecutorChunk {
  readonly timeout: number | undefined;
  readonly signal: AbortSignal | undefined;
  readonly onOutcome: OutcomeHandler;
  readonly queuedAt: number;
  status: ChunkStatus;
  onAbort: (() => void) | undefined;
  /** Items of the message it was last offered in (itself and the chunks coalesced with it). */
  batchItems: number;
}

/** Waiting for its task to be prepared. */
export const PREPARING: ChunkStatus = { state: "preparing" };
/** In the scheduler's queue. */
export const QUEUED: ChunkStatus = { state: "queued" };
/** Handed to the executor, not started. */
export const OFFERED: ChunkStatus = { state: "offered" };
/** Done: its outcome was handed to its caller. */
export const SETTLED: ChunkStatus = { state: "settled" };
