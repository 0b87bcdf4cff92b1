/**
 * The scheduler: every chunk of every call passes through it. It owns the
 * queue, admission (`maxQueue`) and room, dispatch to the executor,
 * per-chunk timeouts and aborts, the pool's lifecycle (open, closing,
 * stopping, stopped, terminated) and the stats of chunks. Each chunk is a
 * tagged state (`preparing | queued | offered | running | settled`) and
 * settles exactly once, through one synchronous outcome handler. It knows
 * nothing of workers, processes or servers (that is the executor's), nor of
 * map, imap or chunk sizes (that is the caller's).
 *
 * @module
 */

import { type Clock, realClock } from "./_clock.ts";
import { Condition } from "./_condition.ts";
import { Costs } from "./_coalescing.ts";
import { Deque } from "./_deque.ts";
import type { Executor, ExecutorFactory, ExecutorOutcome } from "./_executor.ts";
import { Samples } from "./_samples.ts";
import {
  type Chunk,
  type ChunkRequest,
  type ChunkStatus,
  type Lease,
  OFFERED,
  type OutcomeHandler,
  PREPARING,
  QUEUED,
  type SchedulerOptions,
  type SchedulerStats,
  SETTLED,
  type Ticket,
} from "./_chunk.ts";
import { PoolClosedError, QueueFullError, TaskTimeoutError } from "./errors.ts";
import { taskLabel } from "./task.ts";

export type {
  ChunkOutcome,
  ChunkRequest,
  Lease,
  OutcomeHandler,
  SchedulerOptions,
  SchedulerStats,
  Ticket,
} from "./_chunk.ts";

type Phase =
  | { readonly state: "open" }
  /** close(): no new calls; queued work still runs. */
  | { readonly state: "closing" }
  /** Work is done; the executor is shutting its workers down. */
  | { readonly state: "stopping" }
  | { readonly state: "stopped" }
  | { readonly state: "terminated" };

/** See the module doc. */
export class Scheduler {
  readonly #executor: Executor;
  readonly #clock: Clock;
  readonly #maxQueue: number | undefined;
  readonly #queue = new Deque<Chunk>();
  readonly #preparing = new Set<Chunk>();
  /** Offered and running chunks, by id. */
  readonly #active = new Map<number, Chunk>();
  /** Woken whenever room, the phase or a chunk may have changed. */
  readonly #changed = new Condition();
  readonly #runTimes = new Samples();
  /** What each task costs, as measured: what coalescing and pipelining go by. */
  readonly #costs = new Costs();
  readonly #waitTimes = new Samples();
  #phase: Phase = { state: "open" };
  #leases = 0;
  #nextId = 0;
  #completed = 0;
  #failed = 0;
  #dispatching = false;
  /** Settles once the executor has stopped after terminate(). */
  #terminated: Promise<void> | undefined;
  /** Chunks in the "offered" state. */
  #offered = 0;
  /**
   * The executor took nothing for the chunk at the head of the queue, and
   * nothing changed since: no use offering again until it says it can take
   * more or the head changes (so that a submit into a long queue costs O(1)).
   */
  #saturated = false;
  /** Whether the executor was last told to hold the event loop. */
  #held = false;
  /** The chunk whose submit is dispatching now. */
  #submitting: Chunk | undefined;

  /** Creates the executor; throws what it throws (no worker is left running). */
  constructor(executor: ExecutorFactory, options: SchedulerOptions = {}) {
    this.#clock = options.clock ?? realClock;
    this.#maxQueue = options.maxQueue;
    this.#executor = executor({
      started: (id, at) => this.#onStarted(id, at),
      settled: (id, outcome, at) => {
        const chunk = this.#active.get(id);
        if (chunk !== undefined) this.#settle(chunk, outcome, true, at);
      },
      returned: (ids) => this.#onReturned(ids),
      available: () => {
        this.#saturated = false;
        this.#dispatch();
      },
      unavailable: (error) => {
        for (const chunk of this.#queue.drain()) this.#settle(chunk, { ok: false, error });
      },
    });
  }

  /**
   * Queues a chunk; `onOutcome` receives its outcome once (at once for an
   * already aborted signal).
   *
   * @throws {PoolClosedError} after `close()` or `terminate()`.
   * @throws {QueueFullError} when `maxQueue` chunks already wait.
   */
  submit(request: ChunkRequest, onOutcome: OutcomeHandler): Ticket {
    this.assertOpen();
    return this.#submit(request, onOutcome);
  }

  /**
   * Opens a call that submits several chunks over time: they are accepted
   * after `close()` until the lease is released.
   *
   * @throws {PoolClosedError} after `close()` or `terminate()`.
   */
  lease(): Lease {
    this.assertOpen();
    this.#leases++;
    let released = false;
    return {
      submit: (request, onOutcome) => {
        this.#checkOpen(!released);
        return this.#submit(request, onOutcome);
      },
      release: () => {
        if (released) return;
        released = true;
        this.#leases--;
        this.#checkQuiet();
      },
    };
  }

  /**
   * `undefined` when a chunk may be submitted now (or submitting would
   * throw because the pool was terminated); else settles when there may be
   * room, or rejects when `signal` aborts.
   */
  waitForRoom(signal?: AbortSignal): Promise<void> | undefined {
    const ready = () => this.#hasRoom() || this.#phase.state === "terminated";
    return ready() ? undefined : this.#changed.until(ready, signal);
  }

  /** No new calls; queued work still runs, then the executor shuts down. */
  close(): void {
    if (this.#phase.state === "open") this.#phase = { state: "closing" };
    this.#checkQuiet();
  }

  /**
   * Resolves once the pool has stopped: closed with its work done and its
   * workers gone, or terminated.
   */
  join(): Promise<void> {
    if (this.#phase.state === "open") {
      return Promise.reject(
        new Error("Pool is still running: call close() or terminate() before join()"),
      );
    }
    return this.#changed.until(() =>
      this.#phase.state === "stopped" || this.#phase.state === "terminated"
    ).then(() => this.#terminated);
  }

  /**
   * Rejects every chunk not settled yet with {@linkcode PoolClosedError} and
   * stops the executor; resolves once it has stopped.
   */
  terminate(): Promise<void> {
    if (this.#terminated !== undefined) return this.#terminated;
    this.#phase = { state: "terminated" };
    const error = new PoolClosedError("Pool was terminated before the task finished");
    const pending = [...this.#preparing, ...this.#queue.drain(), ...this.#active.values()];
    this.#terminated = Promise.resolve(this.#executor.terminate());
    for (const chunk of pending) this.#settle(chunk, { ok: false, error });
    this.#updateHold();
    this.#changed.notify();
    return this.#terminated;
  }

  /** Counts and timings of chunks, with the executor's counts. */
  stats(): SchedulerStats {
    return {
      ...this.#executor.stats(),
      queued: this.#waiting(),
      completed: this.#completed,
      failed: this.#failed,
      runTime: this.#runTimes.percentiles(),
      waitTime: this.#waitTimes.percentiles(),
    };
  }

  /**
   * Throws unless new calls are accepted.
   *
   * @throws {PoolClosedError} after `close()` or `terminate()`.
   */
  assertOpen(): void {
    this.#checkOpen(false);
  }

  #checkOpen(leased: boolean): void {
    const phase = this.#phase.state;
    if (phase === "open") return;
    if (phase === "terminated") {
      throw new PoolClosedError("Pool was terminated: no new work is accepted");
    }
    if (!leased || phase !== "closing") throw new PoolClosedError();
  }

  #submit(request: ChunkRequest, onOutcome: OutcomeHandler): Ticket {
    if (!this.#hasRoom()) {
      throw new QueueFullError(
        `Queue is full: ${this.#waiting()} chunks wait (maxQueue ${this.#maxQueue})`,
      );
    }
    const now = this.#clock.now();
    const chunk: Chunk = {
      id: this.#nextId++,
      spec: request.spec,
      items: request.items,
      star: request.star,
      transfer: request.transfer,
      timeout: request.timeout,
      signal: request.signal,
      onOutcome,
      queuedAt: now,
      status: QUEUED,
      onAbort: undefined,
      batchItems: 1,
    };
    const ticket: Ticket = { cancel: () => this.#cancel(chunk) };
    const signal = request.signal;
    if (signal !== undefined) {
      if (signal.aborted) {
        this.#settle(chunk, { ok: false, error: signal.reason });
        return ticket;
      }
      chunk.onAbort = () => this.#abort(chunk);
      signal.addEventListener("abort", chunk.onAbort, { once: true });
    }
    const preparing = this.#executor.prepare(chunk.spec);
    if (preparing === undefined) {
      this.#queue.push(chunk);
      // A chunk that starts now, within its own submit, starts at its queuedAt: one clock reading.
      this.#submitting = chunk;
      try {
        this.#dispatch();
      } finally {
        this.#submitting = undefined;
      }
    } else {
      this.#move(chunk, PREPARING);
      this.#preparing.add(chunk);
      preparing.then(() => {
        if (chunk.status.state !== "preparing") return;
        this.#preparing.delete(chunk);
        this.#move(chunk, QUEUED);
        this.#queue.push(chunk);
        this.#dispatch();
      }, (error) => this.#settle(chunk, { ok: false, error }));
    }
    this.#updateHold();
    return ticket;
  }

  /**
   * Whether one more chunk may be queued: `maxQueue` counts the chunks that
   * wait beyond what the executor can take (free workers, or starting ones).
   */
  #hasRoom(): boolean {
    if (this.#maxQueue === undefined) return true;
    return this.#waiting() < this.#maxQueue + this.#executor.spare();
  }

  /** Chunks not started yet: queued, preparing, or sent to a worker behind another. */
  #waiting(): number {
    return this.#queue.length + this.#preparing.size + this.#offered;
  }

  /** Moves a chunk to its next state, counting the chunks offered but not started. */
  #move(chunk: Chunk, next: ChunkStatus): void {
    if (chunk.status.state === "offered") this.#offered--;
    if (next.state === "offered") this.#offered++;
    chunk.status = next;
  }

  #dispatch(): void {
    if (this.#dispatching || this.#saturated) return;
    this.#dispatching = true;
    let single = false;
    try {
      while (this.#queue.length > 0) {
        // One chunk waiting (a sequential call): nothing to coalesce it with.
        const batch: Chunk[] = single || this.#queue.length === 1
          ? [this.#queue.peek()!]
          : this.#costs.batch(this.#queue);
        let items = 0;
        for (const chunk of batch) items += chunk.items.length;
        for (const chunk of batch) {
          this.#move(chunk, OFFERED);
          chunk.batchItems = items;
          this.#active.set(chunk.id, chunk);
        }
        let taken: number;
        try {
          taken = this.#executor.offer(batch, this.#costs.expected(batch[0].spec, items));
        } catch (error) {
          this.#unoffer(batch, 0);
          // One chunk of a coalesced message could not be sent: try them one by one.
          single = batch.length > 1;
          if (!single) this.#settle(this.#queue.shift()!, { ok: false, error });
          continue;
        }
        single = false;
        this.#unoffer(batch, taken);
        if (taken === 0) {
          this.#saturated = true;
          break;
        }
        for (let i = 0; i < taken; i++) this.#queue.shift();
      }
    } finally {
      this.#dispatching = false;
    }
    this.#changed.notify();
  }

  /** Chunks of `batch` from `from` on were not taken: back to queued. */
  #unoffer(batch: Chunk[], from: number): void {
    for (let i = from; i < batch.length; i++) {
      this.#active.delete(batch[i].id);
      this.#move(batch[i], QUEUED);
    }
  }

  /** Chunks whose worker ended before they started: queued again, first, in order. */
  #onReturned(ids: readonly number[]): void {
    const chunks: Chunk[] = [];
    for (const id of ids) {
      const chunk = this.#active.get(id);
      if (chunk === undefined) continue;
      this.#active.delete(id);
      if (chunk.status.state === "running") this.#clock.clearTimeout(chunk.status.timer);
      this.#move(chunk, QUEUED);
      chunks.push(chunk);
    }
    this.#queue.unshift(chunks);
    this.#saturated = false;
    this.#dispatch();
  }

  #onStarted(id: number, at: number | undefined): void {
    const chunk = this.#active.get(id);
    if (chunk === undefined || chunk.status.state !== "offered") return;
    const startedAt = chunk === this.#submitting
      ? chunk.queuedAt
      : Math.max(at ?? this.#clock.now(), chunk.queuedAt);
    this.#waitTimes.add(startedAt - chunk.queuedAt);
    const timeout = chunk.timeout;
    const timer = timeout === undefined
      ? undefined
      : this.#clock.setTimeout(() => this.#expire(chunk, timeout), timeout);
    this.#move(chunk, { state: "running", startedAt, timer });
  }

  #expire(chunk: Chunk, timeout: number): void {
    if (chunk.status.state !== "running") return;
    const error = new TaskTimeoutError(
      `Task ${taskLabel(chunk.spec)} did not finish within ${timeout} ms and was stopped`,
    );
    this.#settle(chunk, { ok: false, error });
    this.#executor.cancel(chunk.id);
  }

  #abort(chunk: Chunk): void {
    const state = chunk.status.state;
    if (state === "settled") return;
    if (state === "queued") this.#dequeue(chunk);
    this.#settle(chunk, { ok: false, error: chunk.signal!.reason });
    if (state === "offered" || state === "running") this.#executor.cancel(chunk.id);
  }

  /**
   * A caller drops a chunk it no longer wants: one that has not started
   * (queued, preparing, or sent to a worker behind another, which then
   * skips it if it can). A running one finishes and its outcome still comes,
   * unless the executor can abandon it (a remote queue takes it back).
   */
  #cancel(chunk: Chunk): void {
    const state = chunk.status.state;
    if (state === "running") {
      // An executor that can take the chunk back (a remote queue) does; else it finishes.
      if (this.#executor.abandon === undefined) return;
      const error = new Error("Chunk was abandoned by its caller");
      this.#settle(chunk, { ok: false, error }, false);
      this.#executor.abandon(chunk.id);
      return;
    }
    if (state !== "queued" && state !== "preparing" && state !== "offered") return;
    if (state === "queued") this.#dequeue(chunk);
    const error = new Error("Chunk was cancelled before it started");
    this.#settle(chunk, { ok: false, error }, false);
    if (state === "offered") this.#executor.cancel(chunk.id);
  }

  /** Takes a queued chunk out of the queue; the head may change, so offering is worth a try again. */
  #dequeue(chunk: Chunk): void {
    if (this.#queue.peek() === chunk) this.#saturated = false;
    this.#queue.remove(chunk);
  }

  /**
   * Settles a chunk once: takes it out of the preparing set and the active
   * map (callers take it out of the queue), records its timing and counts,
   * and hands its outcome to the caller.
   */
  #settle(chunk: Chunk, outcome: ExecutorOutcome, counts = true, at?: number): void {
    const status = chunk.status;
    if (status.state === "settled") return;
    this.#move(chunk, SETTLED);
    let runTime = 0;
    if (status.state === "running") {
      this.#clock.clearTimeout(status.timer);
      runTime = Math.max(0, (at ?? this.#clock.now()) - status.startedAt);
      this.#runTimes.add(runTime);
      if (outcome.ok) this.#costs.measure(chunk.spec, chunk.batchItems, runTime);
    }
    if (status.state === "running" || status.state === "offered") this.#active.delete(chunk.id);
    else if (status.state === "preparing") this.#preparing.delete(chunk);
    if (chunk.onAbort !== undefined) chunk.signal!.removeEventListener("abort", chunk.onAbort);
    if (outcome.ok) this.#completed += outcome.results.length;
    else if (counts) this.#failed++;
    chunk.onOutcome(
      outcome.ok
        ? { ok: true, results: outcome.results, runTime }
        : { ok: false, error: outcome.error, partial: outcome.partial, runTime },
    );
    this.#changed.notify();
    this.#checkQuiet();
    this.#updateHold();
  }

  /** After close(): once no work is left, shut the executor down. */
  #checkQuiet(): void {
    if (this.#phase.state !== "closing") return;
    if (this.#leases > 0 || this.#active.size > 0) return;
    if (this.#queue.length > 0 || this.#preparing.size > 0) return;
    this.#phase = { state: "stopping" };
    this.#updateHold();
    this.#executor.shutdown().then(() => {
      if (this.#phase.state === "stopping") this.#phase = { state: "stopped" };
      this.#updateHold();
      this.#changed.notify();
    });
  }

  /**
   * Tells the executor whether work is outstanding (chunks not settled, or
   * a shutdown under way), on each change: idle workers must not keep a
   * finished script alive, queued or running work must.
   */
  #updateHold(): void {
    const active = this.#phase.state !== "terminated" &&
      (this.#active.size > 0 || this.#queue.length > 0 || this.#preparing.size > 0 ||
        this.#phase.state === "stopping");
    if (active === this.#held) return;
    this.#held = active;
    this.#executor.hold(active);
  }
}
