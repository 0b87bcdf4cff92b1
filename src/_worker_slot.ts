/**
 * One worker as the local executor sees it: a state machine
 * (`starting | idle | busy | gone`) over a transport. The slot speaks the
 * chunk protocol: it sends the initializer once, each task spec and WASM
 * module once (later chunks refer to them by number), counts
 * `maxTasksPerWorker`, bounds the initializer by a timeout, and turns every
 * way the worker can end into one `ended` event, after failing the chunks
 * it held. A busy slot may hold up to `depth` chunks in flight.
 *
 * @module
 */

import type { Clock, TimerHandle } from "./_clock.ts";
import type { ExecutorChunk, ExecutorOutcome } from "./_executor.ts";
import {
  type DoneTuple,
  type FromWorker,
  isTuple,
  packNumbers,
  type TaskSpec,
  type ToWorker,
  type WorkerMessage,
} from "./_protocol.ts";
import { fromErrorData, RemoteError, TaskTimeoutError, WorkerCrashedError } from "./errors.ts";
import type { ExitStatus, Transport, TransportFactory, WorkerPermissions } from "./_transport.ts";
import { registeredModule } from "./_wasm_registry.ts";

/** Why a slot ended. */
export type SlotEnd =
  /** It never became ready: the worker failed to start, or its initializer threw or timed out. */
  | { readonly kind: "startup-failed"; readonly error: Error }
  /** The worker died on its own after it was ready (`status`: its exit code or signal, when known). */
  | {
    readonly kind: "crashed";
    readonly error: WorkerCrashedError;
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
  /** The slot can take a chunk: it just started, or a chunk it held ended. */
  ready(slot: WorkerSlot): void;
  /** A chunk the slot held ended. Reported before the slot takes anything else. */
  settled(slot: WorkerSlot, id: number, outcome: ExecutorOutcome): void;
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
  /** Chunks in flight at once; default 1. */
  readonly depth?: number | undefined;
  readonly clock: Clock;
  /** Called each time a WASM module is sent to the worker. */
  readonly onWasmSent?: (() => void) | undefined;
}

/** The states of a slot. */
export type SlotState =
  | { readonly state: "starting"; readonly timer: TimerHandle | undefined }
  | { readonly state: "idle" }
  | { readonly state: "busy"; readonly chunks: Set<number> }
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
  /** Numbers of the task specs this worker was sent. */
  readonly #tasks = new Map<TaskSpec, number>();
  /** Keys of the WASM modules this worker was sent. */
  readonly #wasm = new Set<string>();

  /** Starts the worker and sends it the initializer; throws when the worker cannot start. */
  constructor(options: SlotOptions, events: SlotEvents) {
    this.#options = options;
    this.#events = events;
    this.#depth = options.depth ?? 1;
    this.#state = { state: "starting", timer: undefined };
    this.#transport = options.transport({
      message: (message) => this.#onMessage(message),
      exit: (error, status) => this.#onExit(error, status),
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

  /** How many more chunks it can take now (0 while starting, gone, full or about to recycle). */
  spare(): number {
    const state = this.#state;
    const held = state.state === "busy" ? state.chunks.size : state.state === "idle" ? 0 : -1;
    if (held < 0) return 0;
    const left = this.#options.maxTasks === undefined
      ? Infinity
      : this.#options.maxTasks - this.#sent;
    return Math.max(0, Math.min(this.#depth - held, left));
  }

  /** Chunks it holds now. */
  held(): number {
    const state = this.#state;
    return state.state === "busy" ? state.chunks.size : 0;
  }

  /**
   * Sends `chunk` to the worker; call only while {@linkcode WorkerSlot.spare}
   * is above 0. Throws, holding nothing, when the chunk cannot be sent.
   */
  run(chunk: ExecutorChunk): void {
    const state = this.#state;
    if (state.state !== "idle" && state.state !== "busy") {
      throw new Error(`Worker ${this.name} cannot take a chunk while ${state.state}`);
    }
    this.#send(chunk);
    this.#sent++;
    if (state.state === "busy") state.chunks.add(chunk.id);
    else this.#state = { state: "busy", chunks: new Set([chunk.id]) };
  }

  /**
   * Ends chunk `id`, whose outcome is no longer wanted, by stopping the
   * worker (a running task cannot be interrupted otherwise). Other chunks it
   * held fail with a {@linkcode WorkerCrashedError}. Nothing is reported
   * for `id`; `ended` follows with kind `"killed"`.
   */
  cancel(id: number): void {
    const state = this.#state;
    if (state.state !== "busy" || !state.chunks.delete(id)) return;
    this.#end(
      { kind: "killed" },
      new WorkerCrashedError("Worker was stopped to end another chunk it held (timeout or abort)"),
    );
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

  #send(chunk: ExecutorChunk): void {
    const { spec, star } = chunk;
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
    const items = chunk.items instanceof Float64Array
      ? chunk.items
      : (star ? undefined : packNumbers(chunk.items)) ?? chunk.items;
    const message: ToWorker = [chunk.id, task, items, star ? 1 : 0];
    if (items instanceof Float64Array) this.#transport.post(message, [items.buffer]);
    else this.#transport.post(message);
  }

  #onMessage(message: FromWorker): void {
    if (isTuple<DoneTuple, WorkerMessage>(message)) {
      this.#finish(message[0], { ok: true, results: message[1] });
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
      case "error":
        this.#finish(message.id, {
          ok: false,
          error: new RemoteError(message.error),
          partial: message.results,
        });
        return;
      case "exit": {
        const status = message.reason === "exit" ? { code: message.code ?? 0 } : undefined;
        const what = message.reason === "close"
          ? "Worker called close() before the task finished"
          : message.reason === "exit"
          ? `Worker called Deno.exit(${message.code ?? ""}) before the task finished`
          : message.reason === "oom"
          ? `Worker ran out of memory: ${message.error?.message}`
          : `Worker had an uncaught error: ${message.error?.name}: ${message.error?.message}`;
        const cause = message.reason === "oom"
          ? undefined
          : message.error && fromErrorData(message.error);
        this.#onExit(
          new WorkerCrashedError(what, cause === undefined ? undefined : { cause }),
          status,
        );
        return;
      }
    }
  }

  #onExit(error: WorkerCrashedError, status?: ExitStatus): void {
    const state = this.#state.state;
    if (state === "starting") this.#end({ kind: "startup-failed", error });
    else if (state === "retiring") this.#end({ kind: "exited", status: status ?? {} });
    else this.#end({ kind: "crashed", error, status });
  }

  /** A chunk ended: report it while the slot still holds it, then free the slot (or recycle it). */
  #finish(id: number, outcome: ExecutorOutcome): void {
    const busy = this.#state;
    if (busy.state !== "busy" || !busy.chunks.has(id)) return;
    this.#events.settled(this, id, outcome);
    if (this.#state !== busy) return; // ended meanwhile
    busy.chunks.delete(id);
    if (busy.chunks.size === 0) {
      const max = this.#options.maxTasks;
      if (max !== undefined && this.#sent >= max) {
        this.#end({ kind: "recycled" });
        return;
      }
      this.#state = IDLE;
    }
    if (this.spare() > 0) this.#events.ready(this);
  }

  /** Ends the slot once: stops the worker, fails the chunks it held, reports `end`. */
  #end(end: SlotEnd, heldError?: Error): void {
    const previous = this.#state;
    if (previous.state === "gone") return;
    if (previous.state === "starting" || previous.state === "retiring") {
      this.#options.clock.clearTimeout(previous.timer);
    }
    this.#state = { state: "gone", end };
    this.#transport.terminate();
    if (previous.state === "busy") {
      const error = end.kind === "crashed" ? end.error : heldError ??
        new WorkerCrashedError("Worker was stopped before the task finished");
      for (const id of previous.chunks) this.#events.settled(this, id, { ok: false, error });
    }
    this.#events.ended(this, end);
  }
}
