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
  type DoneTuple,
  type FromWorker,
  isTuple,
  type TaskSpec,
  type WorkerMessage,
} from "./_protocol.ts";
import { RemoteError, TaskTimeoutError, WorkerCrashedError } from "./errors.ts";
import type { ExitStatus, Transport, TransportFactory, WorkerPermissions } from "./_transport.ts";
import { FlightChunks } from "./_flight_chunks.ts";
import { exitReport, SlotWire } from "./_slot_wire.ts";

/** Why a slot ended. */
export type SlotEnd =
  /** It never became ready: the worker failed to start, or its initializer threw or timed out. */
  | { readonly kind: "startup-failed"; readonly error: Error }
  /**
   * The worker died on its own after it was ready. `held`: the chunks it
   * said it ended with, when it could say (the others never started).
   * `status`: its exit code or signal, when known.
   */
  | {
    readonly kind: "crashed";
    readonly error: WorkerCrashedError;
    readonly held?: readonly number[] | undefined;
    readonly status?: ExitStatus | undefined;
  }
  /** It ended as {@linkcode WorkerSlot.retire} asked, with `status`. */
  | { readonly kind: "exited"; readonly status: ExitStatus }
  /** It ran `maxTasks` chunks and was stopped. */
  | { readonly kind: "recycled" }
  /** Its owner stopped it to end a chunk ({@linkcode WorkerSlot.cancel}). */
  | { readonly kind: "killed" };

/** What a slot tells its owner; every call is synchronous. */
export interface SlotEvents {
  /** The slot can take a message: it just started, or one it held ended. */
  ready(slot: WorkerSlot): void;
  /** A chunk began to run in the worker (`at`: when, if the slot read the clock). */
  started(slot: WorkerSlot, id: number, at?: number): void;
  /** A chunk the slot held ended (`at`: as for `started`). Reported before the slot takes anything else. */
  settled(slot: WorkerSlot, id: number, outcome: ExecutorOutcome, at?: number): void;
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
  readonly chunks: FlightChunks;
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
  /** Asked to end on its own (its exit handlers run); stopped when `timer` fires first. */
  | { readonly state: "retiring"; readonly timer: TimerHandle }
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
  readonly #wire: SlotWire;

  /** Starts the worker and sends it the initializer; throws when the worker cannot start. */
  constructor(options: SlotOptions, events: SlotEvents) {
    this.#options = options;
    this.#events = events;
    this.#depth = options.depth ?? DEFAULT_DEPTH;
    this.#state = { state: "starting", timer: undefined };
    this.#transport = options.transport({
      message: (message) => this.#onMessage(message),
      exit: (error, status) => this.#onExit(error, status),
    }, { name: options.name, permissions: options.permissions });
    this.#wire = new SlotWire(this.#transport, options.onWasmSent);
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
    this.#wire.send(chunks);
    this.#sent += chunks.length;
    const ids = new Array<number>(chunks.length);
    for (let i = 0; i < chunks.length; i++) ids[i] = chunks[i].id;
    const flight: Flight = {
      chunks: new FlightChunks(ids),
      failed: false,
      expectedMs: expectedMs ?? NaN,
    };
    if (state.state === "busy") {
      state.flights.push(flight);
      return;
    }
    this.#state = { state: "busy", flights: [flight] };
    // Chunks that start together start at one clock reading.
    const at = chunks.length > 1 ? this.#options.clock.now() : undefined;
    for (const chunk of chunks) this.#events.started(this, chunk.id, at);
  }

  /**
   * Ends chunk `id`, whose outcome is no longer wanted. The worker runs its
   * chunks one at a time, in the order sent, so the running one is the
   * first not answered. That one is ended by stopping the worker (a running
   * task cannot be interrupted otherwise); the chunks sent after it never
   * started and are returned. Any other chunk is only dropped: it still
   * runs, and its answer is ignored, unless a chunk before it failed (then
   * the worker waits, and is told to skip it). Nothing is reported for `id`.
   * Returns whether the slot held `id`.
   */
  cancel(id: number): boolean {
    const state = this.#state;
    if (state.state !== "busy") return false;
    const flight = state.flights.find((flight) => flight.chunks.get(id) === true);
    if (flight === undefined) return false;
    flight.chunks.cancel(id);
    if (flight === state.flights[0] && flight.chunks.first() === id) {
      this.#end({ kind: "killed" });
      return true;
    }
    // The worker skips it if it has not started it yet, and says so.
    this.#transport.post({ type: "drop", ids: [id] });
    return true;
  }

  /** The OS process id of a subprocess worker; `undefined` for a thread. */
  get pid(): number | undefined {
    return this.#transport.pid;
  }

  /** Settles once the worker is gone (a subprocess has exited). */
  get closed(): Promise<void> {
    return this.#transport.closed;
  }

  /**
   * Stops the worker now, silently: no event follows, held chunks are not
   * reported. `"SIGTERM"` lets a subprocess handle the signal first.
   */
  stop(signal?: "SIGTERM" | "SIGKILL"): void {
    const state = this.#state;
    if (state.state === "gone") return;
    if (state.state === "starting" || state.state === "retiring") {
      this.#options.clock.clearTimeout(state.timer);
    }
    this.#state = { state: "gone", end: { kind: "killed" } };
    this.#transport.terminate(signal);
  }

  /**
   * Asks an idle worker to end on its own, as a program that returns does:
   * its exit handlers (`unload` listeners) run. `ended` follows with kind
   * `"exited"` and the worker's exit status; a worker still there after
   * `graceMs` is stopped (status without a code).
   */
  retire(graceMs: number): void {
    if (this.#state.state !== "idle") return;
    this.#transport.post({ type: "exit" });
    const timer = this.#options.clock.setTimeout(
      () => this.#end({ kind: "exited", status: {} }),
      graceMs,
    );
    this.#state = { state: "retiring", timer };
  }

  #onMessage(received: FromWorker): void {
    if (typeof received === "number") {
      // The one result of the oldest chunk not answered (see SoleResult).
      const busy = this.#state;
      if (busy.state !== "busy") return;
      const id = busy.flights[0].chunks.first();
      if (id !== undefined) this.#finish(id, { ok: true, results: [received] }, this.#now());
      return;
    }
    // Small answers of plain values come as JSON text (cheaper to post than a clone).
    const message = typeof received === "string" ? JSON.parse(received) as DoneTuple : received;
    if (isTuple<DoneTuple | BatchDoneTuple, WorkerMessage>(message)) {
      const [ids, results] = message;
      const at = this.#now();
      if (typeof ids === "number") {
        this.#finish(ids, { ok: true, results: results as DoneTuple[1] }, at);
        return;
      }
      // One clock reading for the whole batch: its chunks ended together.
      const batch = results as BatchDoneTuple[1];
      for (let i = 0; i < ids.length; i++) {
        this.#finish(ids[i], { ok: true, results: batch[i] }, at);
      }
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
        }, this.#now());
        return;
      case "exit": {
        const { error, status } = exitReport(message);
        this.#onExit(error, status, message.held);
        return;
      }
    }
  }

  #onExit(error: WorkerCrashedError, status?: ExitStatus, held?: readonly number[]): void {
    const state = this.#state.state;
    if (state === "starting") this.#end({ kind: "startup-failed", error });
    else if (state === "retiring") this.#end({ kind: "exited", status: status ?? {} });
    else this.#end({ kind: "crashed", error, status, held });
  }

  #now(): number {
    return this.#options.clock.now();
  }

  /**
   * A chunk ended (`when`: the time its answer came, if read): report it while
   * the slot still holds it, then free the slot (or recycle it).
   */
  #finish(id: number, outcome: ExecutorOutcome, when?: number): void {
    const busy = this.#state;
    if (busy.state !== "busy") return;
    const flights = busy.flights;
    let at = 0;
    while (at < flights.length && !flights[at].chunks.has(id)) at++;
    if (at === flights.length) return;
    const flight = busy.flights[at];
    if (!outcome.ok) flight.failed = true;
    if (flight.chunks.get(id)) {
      this.#events.settled(this, id, outcome, when);
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
        if (wanted) this.#events.started(this, next, when);
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
    const flight = state.flights[0].chunks;
    if (flight.size === 0 || flight.firstWanted()) return false;
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
    if (previous.state === "starting" || previous.state === "retiring") {
      this.#options.clock.clearTimeout(previous.timer);
    }
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
        : new Set([previous.flights[0].chunks.first()]);
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
