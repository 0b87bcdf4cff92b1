/**
 * The one chunk scheduler behind `map`, `starmap`, `imap`, `imapUnordered`
 * and their `*Async` variants. It pulls the source lazily, cuts it into
 * chunks, submits them to the pool and keeps at most `buffersize` chunks in
 * flight or finished-but-unconsumed. The consumer takes finished chunks in
 * input order or in completion order.
 *
 * @module
 */

import { Condition } from "./_condition.ts";
import { type ChunkItems, ownsBuffer, PACK_MIN, packRange } from "./_protocol.ts";
import type { OutcomeHandler, Ticket } from "./_scheduler.ts";
import { unwrapTransfers } from "./_transfer.ts";

/**
 * Submits one chunk; `onOutcome` receives its outcome once, synchronously.
 * `transfer`: what its items move to the worker (items marked by `transfer()`).
 */
export type SubmitChunk = (
  items: ChunkItems,
  onOutcome: OutcomeHandler,
  transfer: readonly Transferable[] | undefined,
) => Ticket;

/** A finished chunk handed to the consumer. */
export type Finished =
  | { readonly ok: true; readonly offset: number; readonly results: ArrayLike<unknown> }
  | {
    readonly ok: false;
    readonly offset: number;
    readonly error: unknown;
    /** Results of the items before the failure, yielded before the error. */
    readonly partial?: ArrayLike<unknown> | undefined;
  };

/** How a stream cuts and bounds its chunks. */
export interface ChunkStreamOptions {
  /** Items per chunk, or `"auto"`: start at 1 and double while chunks run under {@linkcode AUTO_TARGET_MS}. */
  chunksize: number | "auto";
  /** Most chunks in flight or finished-but-unconsumed. */
  buffersize: number;
  signal?: AbortSignal | undefined;
  /** Checks each item as it is pulled (throwing ends the stream with that error). */
  check(item: unknown, index: number): void;
  /**
   * Undefined when the pool accepts a chunk now; else settles when it may
   * (or rejects once `signal` aborts). The first chunk is submitted
   * regardless (a full pool refuses the call); later ones wait, so a stream
   * under way never fails for a full queue.
   */
  room?(signal: AbortSignal): Promise<void> | undefined;
}

/** With `chunksize: "auto"`, chunks grow while a chunk runs for less than this. */
export const AUTO_TARGET_MS = 2;
/** With `chunksize: "auto"`, the largest chunk. */
export const AUTO_MAX_CHUNK = 4096;
/** Most result buffers kept for reuse. */
const SPARE_BUFFERS = 4;

const NOT_YET = Symbol("not yet");

/** Resolves after a few microtask turns: an async source with a value at hand answers sooner. */
function soon(): Promise<typeof NOT_YET> {
  let p: Promise<unknown> = Promise.resolve();
  for (let i = 0; i < 6; i++) p = p.then();
  return p.then(() => NOT_YET);
}

interface Entry {
  readonly offset: number;
  ticket: Ticket | undefined;
  finished: Finished | undefined;
}

/** Pulls, chunks, submits and hands back finished chunks; see the module doc. */
export class ChunkStream {
  readonly #submit: SubmitChunk;
  readonly #options: ChunkStreamOptions;
  readonly #array: readonly unknown[] | undefined;
  /** A source of plain numbers already packed: chunks are slices of it. */
  readonly #floats: Float64Array | undefined;
  readonly #iterator: Iterator<unknown> | AsyncIterator<unknown> | undefined;
  readonly #isAsync: boolean;
  #pendingNext: Promise<IteratorResult<unknown>> | undefined;
  /** Numbers pulled into a Float64Array before a value that is not a number; the array path goes on. */
  #spill: unknown[] | undefined;
  /** Result buffers the consumer is done with, for the next chunks of numbers. */
  #spare: Float64Array<ArrayBuffer>[] = [];
  /** The source (or an item check) threw after some items of a chunk: thrown by the next pull. */
  #failed: { error: unknown } | undefined;
  #entries: Entry[] = [];
  #inWindow = 0;
  #pulled = 0;
  #size: number;
  #exhausted = false;
  /** The feeder is done: every chunk it will ever start is in `#entries`. */
  #fed = false;
  /** A chunk failed: the stream ends at it, so nothing after it is pulled or started. */
  #failing = false;
  #stopped = false;
  /** Aborted by stop() or by the caller's signal: ends waits for room. */
  readonly #stop = new AbortController();
  readonly #stopSignal: AbortSignal;
  /** Woken whenever a chunk finishes, the window moves, or the stream stops or aborts. */
  readonly #changed = new Condition();
  readonly #onAbort = () => this.#changed.notify();

  constructor(
    source: Iterable<unknown> | AsyncIterable<unknown>,
    submit: SubmitChunk,
    options: ChunkStreamOptions,
  ) {
    this.#submit = submit;
    this.#options = options;
    this.#size = options.chunksize === "auto" ? 1 : options.chunksize;
    if (Array.isArray(source)) {
      this.#array = source;
      this.#isAsync = false;
    } else if (source instanceof Float64Array) {
      this.#floats = source;
      this.#isAsync = false;
    } else if (typeof source !== "string" && Symbol.asyncIterator in source) {
      this.#iterator = source[Symbol.asyncIterator]();
      this.#isAsync = true;
    } else {
      this.#iterator = source[Symbol.iterator]();
      this.#isAsync = false;
    }
    this.#stopSignal = options.signal === undefined
      ? this.#stop.signal
      : AbortSignal.any([this.#stop.signal, options.signal]);
    options.signal?.addEventListener("abort", this.#onAbort);
    this.#feed();
  }

  /**
   * The next finished chunk: the next in input order when `ordered`, else
   * whichever finished first; `undefined` when the source is done and every
   * chunk was handed out. Rejects with the signal's reason once aborted.
   */
  async next(ordered: boolean): Promise<Finished | undefined> {
    for (;;) {
      this.#options.signal?.throwIfAborted();
      const index = this.#nextIndex(ordered);
      if (index >= 0) return this.#entries.splice(index, 1)[0].finished;
      if (this.#entries.length === 0 && this.#fed) return undefined;
      await this.#changed.until(() =>
        this.#options.signal?.aborted === true || this.#nextIndex(ordered) >= 0 ||
        (this.#entries.length === 0 && this.#fed)
      );
    }
  }

  #nextIndex(ordered: boolean): number {
    return ordered ? (this.#entries[0]?.finished ? 0 : -1) : this.#firstFinished();
  }

  /**
   * Unordered: the first finished chunk. An error that ended the input (the
   * source threw, or the pool refused a chunk after close()) is the last
   * entry and comes only after the chunks still in flight, so none is lost.
   */
  #firstFinished(): number {
    const index = this.#entries.findIndex((e) =>
      e.finished !== undefined && e.ticket !== undefined
    );
    if (index >= 0) return index;
    return this.#entries.length === 1 && this.#entries[0].finished ? 0 : -1;
  }

  /**
   * The consumer is done with one chunk it took: another may be pulled.
   * `consumed`: its results, read to the end and no longer referenced; a
   * `Float64Array` of them is reused for the next chunk of numbers (an
   * `imap` over a generator of numbers allocates no buffers once running).
   */
  release(consumed?: ArrayLike<unknown>): void {
    if (
      consumed instanceof Float64Array && this.#spare.length < SPARE_BUFFERS &&
      ownsBuffer(consumed)
    ) {
      this.#spare.push(consumed as Float64Array<ArrayBuffer>);
    }
    this.#inWindow--;
    this.#changed.notify();
  }

  /** Stops pulling, calls the source's `return()`, drops chunks not yet started. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#stop.abort();
    this.#options.signal?.removeEventListener("abort", this.#onAbort);
    for (const entry of this.#entries) entry.ticket?.cancel();
    this.#entries = [];
    this.#changed.notify();
    if (!this.#exhausted) this.#closeSource();
  }

  #closeSource(): void {
    try {
      const result = this.#iterator?.return?.();
      if (result instanceof Promise) result.catch(() => {});
    } catch {
      // A source whose return() throws has nothing left for us to clean up.
    }
  }

  #finish(entry: Entry, finished: Finished): void {
    entry.finished = finished;
    this.#changed.notify();
  }

  async #feed(): Promise<void> {
    try {
      while (!this.#stopped) {
        await this.#changed.until(() => this.#inWindow < this.#options.buffersize || this.#stopped);
        if (this.#pulled > 0) await this.#waitForRoom();
        if (this.#stopped || this.#failing || this.#options.signal?.aborted) break;
        const offset = this.#pulled;
        const items = await this.#pull();
        if (this.#stopped || this.#failing) break;
        if (items.length > 0) this.#start(offset, items);
        if (this.#exhausted) break;
      }
    } catch (error) {
      // The source (or an item check) threw: the consumer meets it at this position.
      this.#entries.push({
        offset: this.#pulled,
        ticket: undefined,
        finished: { ok: false, offset: this.#pulled, error },
      });
      this.#exhausted = true;
    } finally {
      // #exhausted stays false when the feeder just stopped: stop() still closes the source.
      this.#fed = true;
      this.#changed.notify();
    }
  }

  /** Waits while the pool's queue is full (or until stop() or an abort). */
  async #waitForRoom(): Promise<void> {
    while (!this.#stopSignal.aborted) {
      const room = this.#options.room?.(this.#stopSignal);
      if (room === undefined) return;
      await room.catch(() => {}); // stopped or aborted: the loop sees it
    }
  }

  #start(offset: number, pulled: ChunkItems): void {
    const entry: Entry = { offset, ticket: undefined, finished: undefined };
    this.#entries.push(entry);
    this.#inWindow++;
    try {
      const marked = pulled instanceof Float64Array
        ? undefined
        : unwrapTransfers(pulled, (i) => `iterable[${offset + i}]`);
      const items = marked?.items ?? pulled;
      // The outcome arrives synchronously, before the worker that ran it is
      // free: a failure drops the chunks after it before one of them can start.
      entry.ticket = this.#submit(items, (outcome) => {
        if (outcome.ok) {
          this.#grow(outcome.runTime);
          this.#finish(entry, { ok: true, offset, results: outcome.results });
        } else {
          this.#dropAfter(entry);
          this.#finish(entry, {
            ok: false,
            offset,
            error: outcome.error,
            partial: outcome.partial,
          });
        }
      }, marked?.transfer);
    } catch (error) {
      this.#finish(entry, { ok: false, offset, error });
      this.#exhausted = true;
      this.#closeSource();
    }
  }

  /**
   * A chunk failed: no consumer takes a chunk after it, so the ones not yet
   * started are dropped now, before a worker that frees up can start them.
   */
  #dropAfter(failed: Entry): void {
    this.#failing = true;
    const at = this.#entries.indexOf(failed);
    if (at < 0) return;
    for (const entry of this.#entries.slice(at + 1)) entry.ticket?.cancel();
  }

  #grow(runTime: number): void {
    if (this.#options.chunksize !== "auto") return;
    if (runTime < AUTO_TARGET_MS) this.#size = Math.min(this.#size * 2, AUTO_MAX_CHUNK);
    else if (runTime > 8 * AUTO_TARGET_MS && this.#size > 1) {
      this.#size = Math.max(1, this.#size >> 1);
    }
  }

  async #pull(): Promise<unknown[] | Float64Array<ArrayBuffer>> {
    if (this.#failed !== undefined) throw this.#failed.error;
    const size = this.#size;
    if (this.#floats !== undefined) {
      // A copy per chunk: its buffer is transferred to the worker.
      const items = this.#floats.slice(this.#pulled, this.#pulled + size);
      this.#pulled += items.length;
      if (this.#pulled >= this.#floats.length) this.#exhausted = true;
      return items;
    }
    if (this.#array !== undefined) {
      const packed = this.#packArray(size);
      if (packed !== undefined) return packed;
      const items = this.#array.slice(this.#pulled, this.#pulled + size);
      this.#checkAll(items);
      return items;
    }
    if (!this.#isAsync && size >= PACK_MIN && this.#spill === undefined) {
      const packed = this.#pullNumbers(size);
      if (packed !== undefined) return packed;
    }
    const items: unknown[] = this.#spill ?? [];
    this.#spill = undefined;
    try {
      while (items.length < size) {
        const result = this.#isAsync
          ? await this.#nextAsync(items.length > 0)
          : (this.#iterator as Iterator<unknown>).next();
        if (result === NOT_YET) break;
        if (result.done) {
          this.#exhausted = true;
          break;
        }
        this.#options.check(result.value, this.#pulled);
        this.#pulled++;
        items.push(result.value);
      }
    } catch (error) {
      this.#failLater(items, error);
    }
    return items;
  }

  /**
   * Pulls up to `size` values of a sync source into a Float64Array while
   * they are plain numbers. At the first value that is not, keeps what it
   * has in `#spill` and returns undefined: `#pull` goes on with an array.
   */
  #pullNumbers(size: number): Float64Array<ArrayBuffer> | undefined {
    const iterator = this.#iterator as Iterator<unknown>;
    const check = this.#options.check;
    const packed = this.#spareOf(size) ?? new Float64Array(size);
    let n = 0;
    try {
      while (n < size) {
        const result = iterator.next();
        if (result.done) {
          this.#exhausted = true;
          break;
        }
        const value = result.value;
        check(value, this.#pulled);
        this.#pulled++;
        if (typeof value !== "number") {
          const items: unknown[] = Array.from(packed.subarray(0, n));
          items.push(value);
          this.#spill = items;
          return undefined;
        }
        packed[n++] = value;
      }
    } catch (error) {
      this.#failLater(packed.subarray(0, n), error);
    }
    return n === size ? packed : packed.slice(0, n);
  }

  /**
   * The next `size` items of an array source packed in a Float64Array,
   * when they are all plain numbers (they need no check); else undefined,
   * and nothing is pulled. Chunk by chunk: the first chunk is on its way
   * while the next ones are packed.
   */
  #packArray(size: number): Float64Array<ArrayBuffer> | undefined {
    const array = this.#array!;
    const start = this.#pulled;
    const end = Math.min(array.length, start + size);
    const packed = end - start < PACK_MIN ? undefined : packRange(array, start, end);
    if (packed === undefined) return undefined;
    this.#pulled = end;
    if (end >= array.length) this.#exhausted = true;
    return packed;
  }

  /** A spare buffer of `size` numbers, if one came back (those of other sizes are dropped). */
  #spareOf(size: number): Float64Array<ArrayBuffer> | undefined {
    for (let spare = this.#spare.pop(); spare !== undefined; spare = this.#spare.pop()) {
      if (spare.length === size) return spare;
    }
    return undefined;
  }

  /** The items pulled before `error` still run; the error comes next, at its position. */
  #failLater(items: ArrayLike<unknown>, error: unknown): void {
    if (items.length === 0) throw error;
    this.#failed = { error };
  }

  #checkAll(items: unknown[]): void {
    for (let i = 0; i < items.length; i++) {
      try {
        this.#options.check(items[i], this.#pulled + i);
      } catch (error) {
        items.length = i;
        this.#pulled += i;
        this.#failLater(items, error);
        return;
      }
    }
    this.#pulled += items.length;
    if (this.#pulled >= this.#array!.length) this.#exhausted = true;
  }

  /** The next value of an async source; when `partial`, gives up (NOT_YET) if it is not at hand. */
  async #nextAsync(partial: boolean): Promise<IteratorResult<unknown> | typeof NOT_YET> {
    const next = this.#pendingNext ?? (this.#iterator as AsyncIterator<unknown>).next();
    this.#pendingNext = undefined;
    if (!partial) return await next;
    const result = await Promise.race([next, soon()]);
    if (result === NOT_YET) {
      next.catch(() => {}); // awaited again by the next pull, or dropped on stop
      this.#pendingNext = next;
    }
    return result;
  }
}

/**
 * Takes every chunk of `stream` in completion order (so the first failure
 * rejects at once), then assembles the results in input order: `map`.
 */
export async function collect(stream: ChunkStream, length?: number): Promise<unknown[]> {
  const finished: { offset: number; results: ArrayLike<unknown> }[] = [];
  // With the length known, each chunk's results are copied in as it comes,
  // while later chunks still run (allocated then: not while the first chunk waits to go out).
  let early: unknown[] | undefined;
  let total = 0;
  try {
    for (let done = await stream.next(false); done !== undefined; done = await stream.next(false)) {
      if (!done.ok) throw done.error;
      finished.push(done);
      total += done.results.length;
      const { offset, results: part } = done;
      if (length !== undefined) early ??= new Array<unknown>(length);
      if (early !== undefined && offset + part.length <= early.length) {
        for (let i = 0; i < part.length; i++) early[offset + i] = part[i];
      }
      stream.release();
    }
  } finally {
    stream.stop();
  }
  if (early !== undefined && total === early.length) return early;
  // The source changed length under way: assemble what came, in order.
  finished.sort((a, b) => a.offset - b.offset);
  const results = new Array<unknown>(total);
  let at = 0;
  for (const { results: part } of finished) {
    for (let i = 0; i < part.length; i++) results[at++] = part[i];
  }
  return results;
}

/** The number of items of `source` when it is known without reading it. */
export function knownLength(
  source: Iterable<unknown> | AsyncIterable<unknown>,
): number | undefined {
  if (Array.isArray(source) || ArrayBuffer.isView(source)) {
    return (source as ArrayLike<unknown>).length;
  }
  if (source instanceof Set || source instanceof Map) return source.size;
  return undefined;
}
