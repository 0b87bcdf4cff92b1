/**
 * The async iterator of `imap` / `imapUnordered` over a {@linkcode ChunkStream}.
 *
 * @module
 */

import type { ChunkStream, Finished } from "./_chunk_stream.ts";

/**
 * The async iterator of `imap` / `imapUnordered`: hands out the results of
 * finished chunks one by one (a resolved promise per item, no generator
 * machinery), releases a chunk's window slot once its last result is taken,
 * and stops the stream on `return()`, `throw()`, an error or the end. The
 * stream starts on the first `next()`, so an iterator never used pulls
 * nothing.
 */
export class StreamIterator implements AsyncIterableIterator<unknown> {
  readonly #start: () => ChunkStream;
  readonly #ordered: boolean;
  readonly #signal: AbortSignal | undefined;
  #stream: ChunkStream | undefined;
  #results: ArrayLike<unknown> | undefined;
  #position = 0;
  #finished = false;
  #pending: Promise<IteratorResult<unknown>> | undefined;
  /** A failed chunk's error, thrown once the results before the failure are taken. */
  #failure: { readonly error: unknown } | undefined;

  constructor(
    start: () => ChunkStream,
    options: { ordered: boolean; signal: AbortSignal | undefined },
  ) {
    this.#start = start;
    this.#ordered = options.ordered;
    this.#signal = options.signal;
  }

  next(): Promise<IteratorResult<unknown>> {
    if (this.#pending !== undefined) return this.#pending.then(() => this.next());
    if (this.#signal?.aborted && !this.#finished) {
      this.#finish();
      return Promise.reject(this.#signal.reason);
    }
    const results = this.#results;
    if (results !== undefined && this.#position < results.length) {
      return Promise.resolve({ value: results[this.#position++], done: false });
    }
    this.#pending = this.#advance().finally(() => (this.#pending = undefined));
    return this.#pending;
  }

  return(value?: unknown): Promise<IteratorResult<unknown>> {
    this.#finish();
    return Promise.resolve({ value, done: true });
  }

  throw(error?: unknown): Promise<IteratorResult<unknown>> {
    this.#finish();
    return Promise.reject(error);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async #advance(): Promise<IteratorResult<unknown>> {
    if (this.#finished) return { value: undefined, done: true };
    if (this.#failure !== undefined) {
      this.#finish();
      throw this.#failure.error;
    }
    this.#stream ??= this.#start();
    const consumed = this.#results;
    if (consumed !== undefined) {
      this.#results = undefined;
      // Every result of it was handed out: its buffer may carry the next chunk.
      this.#stream.release(this.#position >= consumed.length ? consumed : undefined);
    }
    let finished: Finished | undefined;
    try {
      finished = await this.#stream.next(this.#ordered);
    } catch (error) {
      this.#finish();
      throw error;
    }
    if (finished === undefined) {
      this.#finish();
      return { value: undefined, done: true };
    }
    if (!finished.ok) {
      if (finished.partial === undefined || finished.partial.length === 0) {
        this.#finish();
        throw finished.error;
      }
      // The items before the failed one succeeded: they are yielded first.
      this.#failure = { error: finished.error };
    }
    const results = finished.ok ? finished.results : finished.partial!;
    this.#results = results;
    this.#position = 1;
    return { value: results[0], done: false };
  }

  #finish(): void {
    this.#finished = true;
    this.#results = undefined;
    this.#stream?.stop();
  }
}
