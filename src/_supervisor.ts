/**
 * Keeps `size` worker slots alive for the local executor: starts them,
 * replaces one that crashed, timed out, was aborted or recycled, backs off
 * when workers keep failing to start (and reports that none can, so the
 * backlog fails instead of waiting forever), and shuts down gracefully
 * (workers still starting finish starting first) or at once.
 *
 * @module
 */

import type { Clock, TimerHandle } from "./_clock.ts";
import type { ExecutorOutcome } from "./_executor.ts";
import type { SlotEnd, SlotEvents, WorkerSlot } from "./_worker_slot.ts";

/** First delay before a worker is started again after one failed to start. */
export const RESPAWN_BASE_MS = 50;
/** Longest such delay (it doubles with each failure in a row). */
export const RESPAWN_MAX_MS = 2000;

/**
 * A message is queued behind others on a busy worker only when it, and all
 * the worker holds, should take at most this long (tiny tasks): longer work
 * waits in the scheduler for the first free worker.
 */
export const PIPELINE_MAX_MS = 2;

/** What the supervisor tells the executor. */
export interface SupervisorEvents {
  /** A chunk began to run on a slot. */
  started(id: number, at?: number): void;
  /** A chunk held by a slot ended. */
  settled(id: number, outcome: ExecutorOutcome, at?: number): void;
  /** Chunks a slot took that never started (it ended first). */
  returned(ids: readonly number[]): void;
  /** A slot can take chunks. */
  available(): void;
  /** A worker failed to start and no slot is healthy. */
  unavailable(error: Error): void;
}

/** How the supervisor starts slots. */
export interface SupervisorOptions {
  readonly size: number;
  readonly clock: Clock;
  /** Starts one slot reporting to `events`; throws when its worker cannot start. */
  spawn(events: SlotEvents): WorkerSlot;
}

type Mode =
  | { readonly state: "running" }
  /** shutdown(): each slot is stopped once it is up and holds nothing. */
  | { readonly state: "draining" }
  | { readonly state: "stopped" };

const RUNNING: Mode = { state: "running" };
const DRAINING: Mode = { state: "draining" };
const STOPPED: Mode = { state: "stopped" };

/** See the module doc. */
export class Supervisor {
  readonly #options: SupervisorOptions;
  readonly #events: SupervisorEvents;
  readonly #slots = new Set<WorkerSlot>();
  readonly #respawns = new Set<TimerHandle>();
  readonly #slotEvents: SlotEvents;
  #mode: Mode = RUNNING;
  /** Settles when shutdown() has stopped every slot (or terminate() did). */
  #drained: PromiseWithResolvers<void> | undefined;
  #failuresInARow = 0;
  #replaced = 0;

  /** Starts `size` slots; throws (leaving none running) when one cannot start. */
  constructor(options: SupervisorOptions, events: SupervisorEvents) {
    this.#options = options;
    this.#events = events;
    this.#slotEvents = {
      ready: (slot) => this.#onReady(slot),
      started: (_slot, id, at) => this.#events.started(id, at),
      settled: (_slot, id, outcome, at) => this.#events.settled(id, outcome, at),
      returned: (_slot, ids) => this.#events.returned(ids),
      ended: (slot, end) => this.#onEnded(slot, end),
    };
    try {
      for (let i = 0; i < options.size; i++) this.#spawn();
    } catch (error) {
      this.terminate();
      throw error;
    }
  }

  /**
   * The slot to send a message expected to take `expectedMs` to: an idle
   * one; else, when the message is known to be short, a busy one whose
   * messages in flight are all known to be short too (pipelining: the
   * worker finds it waiting when it finishes), the least loaded first.
   * `undefined` when none fits: the message waits in the scheduler.
   */
  pick(expectedMs: number | undefined): WorkerSlot | undefined {
    let best: WorkerSlot | undefined;
    const short = expectedMs !== undefined && expectedMs <= PIPELINE_MAX_MS;
    for (const slot of this.#slots) {
      if (slot.capacity() === 0) continue;
      if (slot.load() === 0) return slot;
      if (!short || !(slot.expectedMs() <= PIPELINE_MAX_MS)) continue;
      if (best === undefined || slot.load() < best.load()) best = slot;
    }
    return best;
  }

  /** Ends chunk `id` in the slot that holds it, if one does (see {@linkcode WorkerSlot.cancel}). */
  cancel(id: number): void {
    for (const slot of this.#slots) if (slot.cancel(id)) return;
  }

  /** Slots that would start a chunk at once, or as soon as they are up. */
  spare(): number {
    let spare = 0;
    for (const slot of this.#slots) if (slot.state === "starting" || slot.free()) spare++;
    return spare;
  }

  /** Slots alive, and slots holding chunks. */
  counts(): { alive: number; busy: number; replaced: number } {
    let busy = 0;
    for (const slot of this.#slots) if (slot.held() > 0) busy++;
    return { alive: this.#slots.size, busy, replaced: this.#replaced };
  }

  /**
   * Starts no more slots, lets the ones starting finish starting, and stops
   * each once it holds nothing. Resolves when every slot is gone.
   */
  shutdown(): Promise<void> {
    this.#drained ??= Promise.withResolvers<void>();
    if (this.#mode.state === "running") {
      this.#mode = DRAINING;
      this.#clearRespawns();
      for (const slot of [...this.#slots]) this.#stopIfDone(slot);
      this.#checkDrained();
    } else if (this.#mode.state === "stopped") {
      this.#drained.resolve();
    }
    return this.#drained.promise;
  }

  /** Stops every slot now, silently. */
  terminate(): void {
    this.#mode = STOPPED;
    this.#clearRespawns();
    for (const slot of this.#slots) slot.stop();
    this.#slots.clear();
    this.#drained?.resolve();
  }

  #spawn(): void {
    const slot = this.#options.spawn(this.#slotEvents);
    this.#slots.add(slot);
  }

  #onReady(slot: WorkerSlot): void {
    this.#failuresInARow = 0;
    if (this.#mode.state === "draining") {
      this.#stopIfDone(slot);
      this.#checkDrained();
      return;
    }
    this.#events.available();
  }

  #onEnded(slot: WorkerSlot, end: SlotEnd): void {
    if (!this.#slots.delete(slot)) return;
    if (end.kind === "startup-failed") this.#startupFailed(end.error);
    else {
      this.#replaced++;
      if (this.#mode.state === "running") this.#respawn();
    }
    this.#checkDrained();
  }

  /** Backs off before the next start; with no healthy slot left, the backlog fails. */
  #startupFailed(error: Error): void {
    this.#failuresInARow++;
    const healthy = [...this.#slots].some((slot) => slot.state !== "starting");
    if (!healthy) this.#events.unavailable(error);
    if (this.#mode.state !== "running") return;
    const delay = Math.min(RESPAWN_BASE_MS * 2 ** (this.#failuresInARow - 1), RESPAWN_MAX_MS);
    const timer = this.#options.clock.setTimeout(() => {
      this.#respawns.delete(timer);
      if (this.#mode.state === "running") this.#respawn();
    }, delay);
    this.#respawns.add(timer);
  }

  /** Starts a replacement; one that cannot start counts as a startup failure. */
  #respawn(): void {
    try {
      this.#spawn();
    } catch (error) {
      this.#startupFailed(error instanceof Error ? error : new Error(String(error)));
    }
  }

  #stopIfDone(slot: WorkerSlot): void {
    if (slot.state === "idle") {
      this.#slots.delete(slot);
      slot.stop();
    }
  }

  #checkDrained(): void {
    if (this.#mode.state !== "draining" || this.#slots.size > 0) return;
    this.#mode = STOPPED;
    this.#drained?.resolve();
  }

  #clearRespawns(): void {
    for (const timer of this.#respawns) this.#options.clock.clearTimeout(timer);
    this.#respawns.clear();
  }
}
