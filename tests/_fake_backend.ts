/**
 * An in-memory backend for deterministic scheduler and slot tests: a manual
 * clock (timers fire only when the test advances it) and fake workers that
 * record what they are sent and answer only when the test tells them to.
 * No real worker, no sleep.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Clock, TimerHandle } from "../src/_clock.ts";
import type { LoopHold } from "../src/_keep_alive.ts";
import { localExecutor, type LocalExecutorOptions } from "../src/_local_executor.ts";
import type {
  BatchTuple,
  ChunkItems,
  ErrorData,
  FromWorker,
  RunTuple,
  ToWorker,
} from "../src/_protocol.ts";
import { type ChunkOutcome, type ChunkRequest, Scheduler } from "../src/_scheduler.ts";
import type { TaskSpec } from "../src/_protocol.ts";
import type {
  ExitStatus,
  Transport,
  TransportEvents,
  TransportOptions,
} from "../src/_transport.ts";
import { WorkerCrashedError } from "../src/errors.ts";

/** Timers that fire only in {@linkcode ManualClock.advance}. */
export class ManualClock implements Clock {
  #now = 0;
  #next = 1;
  readonly #timers = new Map<number, { at: number; fn: () => void }>();

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const handle = this.#next++;
    this.#timers.set(handle, { at: this.#now + ms, fn });
    return handle;
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    if (typeof handle === "number") this.#timers.delete(handle);
  }

  /** Timers not fired or cleared yet. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Moves time on by `ms`, firing due timers in order. */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      let due: [number, { at: number; fn: () => void }] | undefined;
      for (const entry of this.#timers) {
        if (entry[1].at <= end && (due === undefined || entry[1].at < due[1].at)) due = entry;
      }
      if (due === undefined) break;
      this.#timers.delete(due[0]);
      this.#now = due[1].at;
      due[1].fn();
    }
    this.#now = end;
  }
}

/** One fake worker: what it was sent, and buttons to make it answer. */
export class FakeWorker implements Transport {
  readonly name: string;
  /** What it was sent, decoded (chunks as tuples). */
  readonly received: ToWorker[] = [];
  /** What it was sent, as it travelled. */
  readonly wire: ToWorker[] = [];
  /** The next post throws, as a message that cannot be cloned does (nothing is sent). */
  refuseNext = false;
  alive = true;
  /** The signal of the last terminate() (`undefined`: the default). */
  terminatedWith: string | undefined;
  readonly #events: TransportEvents;
  readonly #closed = Promise.withResolvers<void>();
  /** Whether `closed` waits for {@linkcode FakeWorker.reap} (a subprocess still exiting). */
  readonly #reapLater: boolean;
  /** The last chunk it was sent: what a bare number follows on. */
  #last: { id: number; task: number; star: 0 | 1 } = { id: NaN, task: NaN, star: 0 };

  constructor(events: TransportEvents, options: TransportOptions, reapLater = false) {
    this.#events = events;
    this.name = options.name;
    this.#reapLater = reapLater;
  }

  /** The worker (a subprocess) has finished exiting: `closed` settles. */
  reap(): void {
    this.#closed.resolve();
  }

  get closed(): Promise<void> {
    return this.#closed.promise;
  }

  post(message: ToWorker): void {
    assert.ok(this.alive, `${this.name} was sent a message after it was terminated`);
    if (this.refuseNext) {
      this.refuseNext = false;
      throw new DOMException("The fake worker refused the message", "DataCloneError");
    }
    this.wire.push(message);
    this.received.push(this.#decode(message));
  }

  /**
   * What a message says, as a worker reads it: small chunks of plain values
   * travel as JSON text, and a call of one number right after the last
   * chunk as the bare number (`NextCall`).
   */
  #decode(message: ToWorker): ToWorker {
    if (typeof message === "number") {
      const { id, task, star } = this.#last;
      assert.ok(!Number.isNaN(id), `${this.name} was sent a bare number before any chunk`);
      const decoded: RunTuple = [id + 1, task, star ? [[message]] : [message], star];
      this.#last.id = id + 1;
      return decoded;
    }
    const decoded = typeof message === "string" ? JSON.parse(message) as ToWorker : message;
    if (Array.isArray(decoded)) {
      const [ids, task, , star] = decoded as RunTuple | BatchTuple;
      this.#last = { id: typeof ids === "number" ? ids : ids[ids.length - 1], task, star };
    }
    return decoded;
  }

  terminate(signal?: string): void {
    if (!this.alive) return;
    this.alive = false;
    this.terminatedWith = signal;
    if (!this.#reapLater) this.#closed.resolve();
  }

  /** Messages of chunks it was sent, as `[id or ids, task number, items, star]`. */
  chunks(): (RunTuple | BatchTuple)[] {
    return this.received.filter((m): m is RunTuple | BatchTuple => Array.isArray(m));
  }

  /** Ids of the chunks it was sent, in order. */
  chunkIds(): number[] {
    return this.chunks().flatMap((message) => message[0]);
  }

  /** How many messages of `type` it was sent. */
  count(type: "init" | "task" | "wasm" | "exit"): number {
    return this.received.filter((m) => (m as { type?: string }).type === type).length;
  }

  ready(): void {
    this.#send({ type: "ready" });
  }

  initError(message: string): void {
    this.#send({ type: "init-error", error: { name: "Error", message } });
  }

  /** Answers chunk `id` with `results`. */
  reply(id: number, results: unknown[]): void {
    this.#send([id, results]);
  }

  /** Answers the oldest chunk it holds with one number, as the bare number (`SoleResult`). */
  answer(result: number): void {
    this.#send(result);
  }

  /** Says it skipped the chunks `ids` it was told to drop. */
  dropped(ids: number[]): void {
    this.#send({ type: "dropped", ids });
  }

  /** Answers several chunks in one message. */
  replyAll(ids: number[], results: unknown[][]): void {
    this.#send([ids, results]);
  }

  /** Answers chunk `id` with an error at `index`, after the results before it. */
  fail(id: number, message: string, before: unknown[] = []): void {
    const error: ErrorData = { name: "RangeError", message };
    this.#send({ type: "error", id, index: before.length, error, results: before });
  }

  /** The worker reports it is going away (`Deno.exit()`, `close()`), ending with `held`. */
  exit(reason: "close" | "exit", held: number[]): void {
    this.#send({ type: "exit", reason, held });
  }

  /** The worker dies on its own, as an error event would report (with its exit `status`). */
  crash(message = "boom", status?: ExitStatus): void {
    assert.ok(this.alive, `${this.name} crashed after it was terminated`);
    this.alive = false;
    if (!this.#reapLater) this.#closed.resolve();
    this.#events.exit(new WorkerCrashedError(`Worker failed: ${message}`), status);
  }

  /** The worker reports `Deno.exit(code)`, as its unload handler would. */
  exitWith(code: number): void {
    this.#send({ type: "exit", reason: "exit", code });
  }

  #send(message: FromWorker): void {
    assert.ok(this.alive, `${this.name} answered after it was terminated`);
    this.#events.message(message);
  }
}

/** Fake workers, in the order they were started. */
export class FakeWorkers {
  readonly all: FakeWorker[] = [];
  /** Workers' `closed` waits for `reap()`, as a subprocess's does for its exit. */
  reapLater = false;

  readonly transport = (events: TransportEvents, options: TransportOptions): Transport => {
    const worker = new FakeWorker(events, options, this.reapLater);
    this.all.push(worker);
    return worker;
  };

  /** Workers not terminated. */
  alive(): FakeWorker[] {
    return this.all.filter((worker) => worker.alive);
  }

  /** The alive worker that was sent chunk `id`. */
  holding(id: number): FakeWorker {
    const worker = this.alive().find((w) => w.chunkIds().includes(id));
    assert.ok(worker, `no alive worker holds chunk ${id}`);
    return worker;
  }
}

/** A module task spec (never loaded: fake workers only record it). */
export const SPEC: TaskSpec = Object.freeze({
  kind: "module",
  url: "file:///fake.ts",
  name: "work",
});

/** Outcomes as they arrive, per chunk id. */
export class Outcomes {
  readonly #seen = new Map<number, ChunkOutcome[]>();

  /** A handler that records under `key`. */
  for(key: number): (outcome: ChunkOutcome) => void {
    return (outcome) => {
      const list = this.#seen.get(key) ?? [];
      list.push(outcome);
      this.#seen.set(key, list);
    };
  }

  /** The one outcome of `key`; fails if there is none or more than one. */
  of(key: number): ChunkOutcome {
    const list = this.#seen.get(key) ?? [];
    assert.equal(list.length, 1, `chunk ${key} settled ${list.length} times`);
    return list[0];
  }

  /** Whether `key` settled. */
  has(key: number): boolean {
    return this.#seen.has(key);
  }

  /** Asserts that each of `keys` settled exactly once. */
  allSettledOnce(keys: number[]): void {
    for (const key of keys) this.of(key);
  }

  /** The error of `key`'s failed outcome. */
  error(key: number): unknown {
    const outcome = this.of(key);
    assert.equal(outcome.ok, false, `chunk ${key} succeeded`);
    return (outcome as Extract<ChunkOutcome, { ok: false }>).error;
  }

  /** The results of `key`'s successful outcome. */
  results(key: number): unknown[] {
    const outcome = this.of(key);
    assert.ok(outcome.ok, `chunk ${key} failed: ${(outcome as { error?: unknown }).error}`);
    return Array.from(outcome.results);
  }
}

/** Records whether the event loop is held, in place of the real hold. */
export class LoopHolds implements LoopHold {
  /** 1 while held, else 0. */
  count = 0;
  /** How many times it went from let go to held. */
  taken = 0;
  disposed = false;

  set(active: boolean): void {
    if (this.disposed) return;
    if (active && this.count === 0) this.taken++;
    this.count = active ? 1 : 0;
  }

  dispose(): void {
    this.disposed = true;
    this.count = 0;
  }
}

/** A scheduler over a local executor with fake workers, a manual clock and counted loop holds. */
export function fakePool(
  options: Partial<Omit<LocalExecutorOptions, "transport" | "clock">> & {
    maxQueue?: number;
    /** The fake workers to start (default: new ones). */
    workers?: FakeWorkers;
  } = {},
): { scheduler: Scheduler; workers: FakeWorkers; clock: ManualClock; holds: LoopHolds } {
  const workers = options.workers ?? new FakeWorkers();
  const clock = new ManualClock();
  const holds = new LoopHolds();
  const executor = localExecutor({
    size: 1,
    name: "fake",
    loopHold: holds,
    ...options,
    transport: workers.transport,
    clock,
  });
  const scheduler = new Scheduler(executor, { maxQueue: options.maxQueue, clock });
  return { scheduler, workers, clock, holds };
}

/** A one-item chunk request of {@linkcode SPEC}. */
export function request(
  item: unknown,
  options: { timeout?: number; signal?: AbortSignal; spec?: TaskSpec; items?: ChunkItems } = {},
): ChunkRequest {
  return {
    spec: options.spec ?? SPEC,
    items: options.items ?? [item],
    star: false,
    timeout: options.timeout,
    signal: options.signal,
  };
}
