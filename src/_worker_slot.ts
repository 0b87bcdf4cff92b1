/**
 * One worker as the local executor sees it: a state machine
 * (`starting | idle | busy | gone`) over a transport. The slot speaks the
 * chunk protocol: it sends the initializer once, each task spec and WASM
 * module once (later chunks refer to them by number), counts
 * `maxTasksPerWorker`, bounds the initializer by a timeout, and turns every
 * way the worker can end into one `ended` event.
 *
 * A busy slot holds up to `depth` messages in flight (pipelining: the
 * worker finds the next message waiting when it finishes one), each with
 * one chunk or several small chunks of one task (coalesced). The worker
 * runs one chunk at a time, in the order sent (`_worker_runner.ts`), so the
 * slot knows which one is running: the first it has not seen answered.
 * When the worker ends, that chunk fails (or those the worker named in its
 * exit report); the chunks sent after it never started and are returned to
 * be run elsewhere.
 *
 * @module
 */

import type { Clock, TimerHandle } from "./_clock.ts";
import type { ExecutorChunk, ExecutorOutcome } from "./_executor.ts";
import {
  type BatchDoneTuple,
  type ChunkItems,
  type DoneTuple,
  type FromWorker,
  isTuple,
  packNumbers,
  type TaskSpec,
  type ToWorker,
  type WorkerMessage,
} from "./_protocol.ts";
import { fromErrorData, RemoteError, TaskTimeoutError, WorkerCrashedError } from "./errors.ts";
import type { Transport, TransportFactory, WorkerPermissions } from "./_transport.ts";
import { registeredModule } from "./_wasm_registry.ts";

/** Why a slot ended. */
export type SlotEnd =
  /** It never became ready: the worker failed to start, or its initializer threw or timed out. */
  | { readonly kind: "startup-failed"; readonly error: Error }
  /**
   * The worker died on its own after it was ready. `held`: the chunks it
   * said it ended with, when it could say (the others never started).
   */
  | {
    readonly kind: "crashed";
    readonly error: WorkerCrashedError;
    readonly held?: readonly number[] | undefined;
  }
  /** It ran `maxTasks` chunks and was stopped. */
  | { readonly kind: "recycled" }
  /** Its owner stopped it to end a chunk ({@linkcode WorkerSlot.cancel}). */
  | { readonly kind: "killed" };

/** What a slot tells its owner; every call is synchronous. */
export interface SlotEvents {
  /** The slot can take a message: it just started, or one it held ended. */
  ready(slot: WorkerSlot): void;
  /** A chunk began to run in the worker. */
  started(slot: WorkerSlot, id: number): void;
  /** A chunk the slot held ended. Reported before the slot takes anything else. */
  settled(slot: WorkerSlot, id: number, outcome: ExecutorOutcome): void;
  /** Chunks it was sent but that never started (the worker ended first), in order. */
  returned(slot: WorkerSlot, ids: readonly number[]): void;
  /** The slot is gone, once; the chunks it held were reported first. */
  ended(slot: WorkerSlot, end: SlotEnd): void;
}

/** How a slot starts its worker and runs chunks. */
export interface SlotOptions {
  readonly transport: TransportFactory;
  readonly name: string;
  readonly permissions?: WorkerPermissions | undefined;
  readonly initializer?: TaskSpec | undefined;
  readonly initArgs?: readonly unknown[] | undefined;
  /** Milliseconds the initializer may take (with an initializer only). */
  readonly initTimeout?: number | undefined;
  /** Chunks after which the worker is recycled. */
  readonly maxTasks?: number | undefined;
  /** Messages in flight at once; default {@linkcode DEFAULT_DEPTH}. */
  readonly depth?: number | undefined;
  readonly clock: Clock;
  /** Called each time a WASM module is sent to the worker. */
  readonly onWasmSent?: (() => void) | undefined;
}

/** Messages a slot keeps in flight by default: one running, one waiting in the worker. */
export const DEFAULT_DEPTH = 2;

/** One message in flight. */
interface Flight {
  /**
   * Its chunks not answered yet, by id: `true` while the answer is wanted,
   * `false` once the chunk was cancelled (its answer is dropped).
   */
  readonly chunks: Map<number, boolean>;
  /**
   * A chunk of it failed: the worker then waits for a `resume` before it
   * starts the next message, so that chunks cancelled in reaction (a map
   * failing fast) are dropped before they start.
   */
  failed: boolean;
  /** How long it should run (`NaN`: not known). */
  readonly expectedMs: number;
}

/** The states of a slot. */
export type SlotState =
  | { readonly state: "starting"; readonly timer: TimerHandle | undefined }
  | { readonly state: "idle" }
  /** `flights[0]` is running; the others wait in the worker, in order. */
  | { readonly state: "busy"; readonly flights: Flight[] }
  | { readonly state: "gone"; readonly end: SlotEnd };

const IDLE: SlotState = { state: "idle" };

/** One worker; see the module doc. */
export class WorkerSlot {
  readonly #options: SlotOptions;
  readonly #events: SlotEvents;
  readonly #transport: Transport;
  readonly #depth: number;
  #state: SlotState;
  /** Chunks sent to the worker (what `maxTasks` counts). */
  #sent = 0;
  /** Numbers of the task specs this worker was sent. */
  readonly #tasks = new Map<TaskSpec, number>();
  /** Keys of the WASM modules this worker was sent. */
  readonly #wasm = new Set<string>();

  /** Starts the worker and sends it the initializer; throws when the worker cannot start. */
  constructor(options: SlotOptions, events: SlotEvents) {
    this.#options = options;
    this.#events = events;
    this.#depth = options.depth ?? DEFAULT_DEPTH;
    this.#state = { state: "starting", timer: undefined };
    this.#transport = options.transport({
      message: (message) => this.#onMessage(message),
      exit: (error) => this.#onExit(error),
    }, { name: options.name, permissions: options.permissions });
    this.#transport.post({
      type: "init",
      initializer: options.initializer,
      initArgs: options.initArgs,
    });
    const limit = options.initTimeout;
    if (options.initializer !== undefined && limit !== undefined) {
      const timer = options.clock.setTimeout(() => {
        const error = new TaskTimeoutError(
          `Pool initializer did not finish within ${limit} ms (taskTimeout)`,
        );
        this.#end({ kind: "startup-failed", error });
      }, limit);
      this.#state = { state: "starting", timer };
    }
  }

  /** The worker's name. */
  get name(): string {
    return this.#options.name;
  }

  /** Where the slot is in its life. */
  get state(): SlotState["state"] {
    return this.#state.state;
  }

  /** Messages in flight (0 when idle; the slot cannot take one unless it is idle or busy). */
  load(): number {
    const state = this.#state;
    return state.state === "busy" ? state.flights.length : 0;
  }

  /**
   * How many chunks it can take in one more message now: 0 while starting,
   * gone, or with `depth` messages in flight; bounded by what is left of
   * `maxTasks`.
   */
  capacity(): number {
    const state = this.#state;
    if (state.state !== "idle" && state.state !== "busy") return 0;
    if (state.state === "busy" && state.flights.length >= this.#depth) return 0;
    const max = this.#options.maxTasks;
    return max === undefined ? Infinity : Math.max(0, max - this.#sent);
  }

  /** How long its messages in flight should take together (`NaN` when one is not known). */
  expectedMs(): number {
    const state = this.#state;
    let total = 0;
    if (state.state === "busy") { for (const flight of state.flights) total += flight.expectedMs; }
    return total;
  }

  /** Whether it would start a chunk at once: up and idle, with tasks left. */
  free(): boolean {
    return this.#state.state === "idle" && this.capacity() > 0;
  }

  /** Chunks it holds now, running or waiting in the worker. */
  held(): number {
    const state = this.#state;
    let held = 0;
    if (state.state === "busy") { for (const flight of state.flights) held += flight.chunks.size; }
    return held;
  }

  /**
   * Sends `chunks` (of one task; at most {@linkcode WorkerSlot.capacity})
   * to the worker in one message. Throws, holding nothing, when they cannot
   * be sent. Chunks that start at once are reported as `started`.
   */
  run(chunks: readonly ExecutorChunk[], expectedMs?: number): void {
    const state = this.#state;
    if (state.state !== "idle" && state.state !== "busy") {
      throw new Error(`Worker ${this.name} cannot take a chunk while ${state.state}`);
    }
    this.#send(chunks);
    this.#sent += chunks.length;
    const flight: Flight = {
      chunks: new Map(chunks.map((chunk) => [chunk.id, true])),
      failed: false,
      expectedMs: expectedMs ?? NaN,
    };
    if (state.state === "busy") {
      state.flights.push(flight);
      return;
    }
    this.#state = { state: "busy", flights: [flight] };
    for (const chunk of chunks) this.#events.started(this, chunk.id);
  }

  /**
   * Ends chunk `id`, whose outcome is no longer wanted. The worker runs its
   * chunks one at a time, in the order sent, so the running one is the
   * first not answered. That one is ended by stopping the worker (a running
   * task cannot be interrupted otherwise); the chunks sent after it never
   * started and are returned. Any other chunk is only dropped: it still
   * runs, and its answer is ignored, unless a chunk before it failed (then
   * the worker waits, and is told to skip it). Nothing is reported for `id`.
   */
  cancel(id: number): void {
    const state = this.#state;
    if (state.state !== "busy") return;
    const flight = state.flights.find((flight) => flight.chunks.get(id) === true);
    if (flight === undefined) return;
    flight.chunks.set(id, false);
    if (flight === state.flights[0] && flight.chunks.keys().next().value === id) {
      this.#end({ kind: "killed" });
      return;
    }
    // The worker skips it if it has not started it yet, and says so.
    this.#transport.post({ type: "drop", ids: [id] });
  }

  /** Stops the worker now, silently: no event follows, held chunks are not reported. */
  stop(): void {
    const state = this.#state;
    if (state.state === "gone") return;
    if (state.state === "starting") this.#options.clock.clearTimeout(state.timer);
    this.#state = { state: "gone", end: { kind: "killed" } };
    this.#transport.terminate();
  }

  #send(chunks: readonly ExecutorChunk[]): void {
    const { spec, star } = chunks[0];
    if (spec.kind === "wasm" && !this.#wasm.has(spec.key)) {
      this.#transport.post({ type: "wasm", key: spec.key, module: registeredModule(spec.key) });
      this.#wasm.add(spec.key);
      this.#options.onWasmSent?.();
    }
    let task = this.#tasks.get(spec);
    if (task === undefined) {
      task = this.#tasks.size;
      this.#transport.post({ type: "task", task, spec });
      this.#tasks.set(spec, task);
    }
    const flag = star ? 1 : 0;
    if (chunks.length === 1) {
      const items = wireItems(chunks[0]);
      const message: ToWorker = [chunks[0].id, task, items, flag];
      if (items instanceof Float64Array) this.#transport.post(message, [items.buffer]);
      else this.#transport.post(message);
      return;
    }
    const items = chunks.map(wireItems);
    const transfer: Transferable[] = [];
    for (const list of items) if (list instanceof Float64Array) transfer.push(list.buffer);
    this.#transport.post([chunks.map((chunk) => chunk.id), task, items, flag], transfer);
  }

  #onMessage(message: FromWorker): void {
    if (isTuple<DoneTuple | BatchDoneTuple, WorkerMessage>(message)) {
      const [ids, results] = message;
      if (typeof ids === "number") {
        this.#finish(ids, { ok: true, results: results as DoneTuple[1] });
        return;
      }
      const batch = results as BatchDoneTuple[1];
      for (let i = 0; i < ids.length; i++) this.#finish(ids[i], { ok: true, results: batch[i] });
      return;
    }
    switch (message.type) {
      case "ready": {
        const state = this.#state;
        if (state.state !== "starting") return;
        this.#options.clock.clearTimeout(state.timer);
        this.#state = IDLE;
        this.#events.ready(this);
        return;
      }
      case "init-error":
        this.#end({
          kind: "startup-failed",
          error: new RemoteError(message.error, { context: "Pool initializer failed" }),
        });
        return;
      case "dropped":
        for (const id of message.ids) this.#finish(id, { ok: true, results: [] });
        return;
      case "error":
        this.#finish(message.id, {
          ok: false,
          error: new RemoteError(message.error),
          partial: message.results,
        });
        return;
      case "exit": {
        const what = message.reason === "close"
          ? "Worker called close() before the task finished"
          : message.reason === "exit"
          ? `Worker called Deno.exit(${message.code ?? ""}) before the task finished`
          : `Worker had an uncaught error: ${message.error?.name}: ${message.error?.message}`;
        const cause = message.error && fromErrorData(message.error);
        const error = new WorkerCrashedError(what, cause === undefined ? undefined : { cause });
        this.#onExit(error, message.held);
        return;
      }
    }
  }

  #onExit(error: WorkerCrashedError, held?: readonly number[]): void {
    if (this.#state.state === "starting") this.#end({ kind: "startup-failed", error });
    else this.#end({ kind: "crashed", error, held });
  }

  /** A chunk ended: report it while the slot still holds it, then free the slot (or recycle it). */
  #finish(id: number, outcome: ExecutorOutcome): void {
    const busy = this.#state;
    if (busy.state !== "busy") return;
    const at = busy.flights.findIndex((flight) => flight.chunks.has(id));
    if (at < 0) return;
    const flight = busy.flights[at];
    if (!outcome.ok) flight.failed = true;
    if (flight.chunks.get(id)) {
      this.#events.settled(this, id, outcome);
      if (this.#state !== busy) return; // ended meanwhile
    }
    flight.chunks.delete(id);
    if (at > 0) {
      // Emptied by drops: it will never run.
      if (flight.chunks.size > 0) return;
      busy.flights.splice(at, 1);
      if (this.capacity() > 0) this.#events.ready(this);
      return;
    }
    if (flight.chunks.size > 0) {
      this.#runsUnwanted();
      return;
    }
    busy.flights.shift();
    if (flight.failed) this.#resume(busy.flights);
    if (busy.flights.length > 0) {
      for (const [next, wanted] of busy.flights[0].chunks) {
        if (wanted) this.#events.started(this, next);
      }
    } else {
      const max = this.#options.maxTasks;
      if (max !== undefined && this.#sent >= max) {
        this.#end({ kind: "recycled" });
        return;
      }
      this.#state = IDLE;
    }
    if (this.#runsUnwanted()) return;
    if (this.capacity() > 0) this.#events.ready(this);
  }

  /**
   * Whether the chunk now running is one nobody wants (it was cancelled
   * while it waited and the worker could not skip it): then the worker is
   * stopped, as for a running chunk, and the chunks behind it are returned.
   */
  #runsUnwanted(): boolean {
    const state = this.#state;
    if (state.state !== "busy" || state.flights.length === 0) return false;
    const first = state.flights[0].chunks.entries().next().value;
    if (first === undefined || first[1]) return false;
    this.#end({ kind: "killed" });
    return true;
  }

  /** Lets the worker go on after a failed message, skipping the chunks cancelled meanwhile. */
  #resume(flights: Flight[]): void {
    const drop: number[] = [];
    for (const flight of flights) {
      for (const [id, wanted] of flight.chunks) {
        if (wanted) continue;
        drop.push(id);
        flight.chunks.delete(id);
      }
    }
    for (let i = flights.length - 1; i >= 0; i--) {
      if (flights[i].chunks.size === 0) flights.splice(i, 1);
    }
    this.#transport.post({ type: "resume", drop });
  }

  /** Ends the slot once: stops the worker, fails the chunk it ran, returns the others, reports `end`. */
  #end(end: SlotEnd): void {
    const previous = this.#state;
    if (previous.state === "gone") return;
    if (previous.state === "starting") this.#options.clock.clearTimeout(previous.timer);
    this.#state = { state: "gone", end };
    this.#transport.terminate();
    if (previous.state === "busy" && previous.flights.length > 0) {
      const error = end.kind === "crashed"
        ? end.error
        : new WorkerCrashedError("Worker was stopped before the task finished");
      // The chunk the worker ended with fails: the ones it named, else the one it
      // was running (the first not answered). The others never started: returned.
      const held = end.kind === "crashed" && end.held !== undefined
        ? new Set(end.held)
        : new Set(previous.flights[0].chunks.keys().take(1));
      const unstarted: number[] = [];
      for (const flight of previous.flights) {
        for (const [id, wanted] of flight.chunks) {
          if (!wanted) continue;
          if (held.has(id)) this.#events.settled(this, id, { ok: false, error });
          else unstarted.push(id);
        }
      }
      if (unstarted.length > 0) this.#events.returned(this, unstarted);
    }
    this.#events.ended(this, end);
  }
}

/** A chunk's items as they travel: plain numbers of a plain chunk packed into a Float64Array. */
function wireItems(chunk: ExecutorChunk): ChunkItems {
  if (chunk.items instanceof Float64Array || chunk.star) return chunk.items;
  return packNumbers(chunk.items) ?? chunk.items;
}
