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
import type { Transport, TransportEvents, TransportOptions } from "../src/_transport.ts";
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
  readonly received: ToWorker[] = [];
  alive = true;
  readonly #events: TransportEvents;

  constructor(events: TransportEvents, options: TransportOptions) {
    this.#events = events;
    this.name = options.name;
  }

  post(message: ToWorker): void {
    assert.ok(this.alive, `${this.name} was sent a message after it was terminated`);
    this.received.push(message);
  }

  terminate(): void {
    this.alive = false;
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
  count(type: "init" | "task" | "wasm"): number {
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

  /** The worker dies on its own, as an error event would report. */
  crash(message = "boom"): void {
    assert.ok(this.alive, `${this.name} crashed after it was terminated`);
    this.alive = false;
    this.#events.exit(new WorkerCrashedError(`Worker failed: ${message}`));
  }

  #send(message: FromWorker): void {
    assert.ok(this.alive, `${this.name} answered after it was terminated`);
    this.#events.message(message);
  }
}

/** Fake workers, in the order they were started. */
export class FakeWorkers {
  readonly all: FakeWorker[] = [];

  readonly transport = (events: TransportEvents, options: TransportOptions): Transport => {
    const worker = new FakeWorker(events, options);
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

/** A scheduler over a local executor with fake workers and a manual clock. */
export function fakePool(
  options: Partial<Omit<LocalExecutorOptions, "transport" | "clock">> & { maxQueue?: number } = {},
): { scheduler: Scheduler; workers: FakeWorkers; clock: ManualClock } {
  const workers = new FakeWorkers();
  const clock = new ManualClock();
  const executor = localExecutor({
    size: 1,
    name: "fake",
    ...options,
    transport: workers.transport,
    clock,
  });
  const scheduler = new Scheduler(executor, { maxQueue: options.maxQueue, clock });
  return { scheduler, workers, clock };
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
