/**
 * From Pool calls to chunks and results: a `map` or an `imap` cuts its
 * source with a {@linkcode ChunkStream} and submits each chunk to the
 * scheduler (a `map` holds a lease, so its later chunks are still accepted
 * after `close()`, and collects the results; an `imap` hands them out
 * through a {@linkcode StreamIterator}); an `*Async` call wraps its promise
 * in an {@linkcode AsyncResult}.
 *
 * @module
 */

import { AsyncResult, type AsyncResultCallbacks } from "./async_result.ts";
import { ChunkStream, collect, knownLength, type SubmitChunk } from "./_chunk_stream.ts";
import type { ChunkRequest, Scheduler } from "./_scheduler.ts";
import type { TaskSpec } from "./_protocol.ts";
import { StreamIterator } from "./_stream_iterator.ts";
import { optionalFunction } from "./_validate.ts";

/** A checked map call. */
export interface MapCall {
  readonly spec: TaskSpec;
  readonly source: Iterable<unknown> | AsyncIterable<unknown>;
  /** Each item is an argument tuple. */
  readonly star: boolean;
  /** Items per chunk; `undefined`: the default of the call. */
  readonly chunksize: number | undefined;
  readonly signal: ChunkRequest["signal"];
  readonly timeout: ChunkRequest["timeout"];
  /** Checks each item as it is pulled. */
  readonly check: (item: unknown, index: number) => void;
}

/**
 * Runs a `map`: resolves with the results in input order, rejects with the
 * first failure. The default chunksize is Python's `ceil(n / (4 * size))`
 * when `n` is known, else adaptive.
 */
export function runMap(scheduler: Scheduler, call: MapCall, size: number): Promise<unknown[]> {
  const known = knownLength(call.source);
  const lease = scheduler.lease();
  const { spec, star, signal, timeout } = call;
  const stream = new ChunkStream(
    call.source,
    (items, onOutcome, transfer) =>
      lease.submit({ spec, items, star, signal, timeout, transfer }, onOutcome),
    {
      chunksize: call.chunksize ??
        (known === undefined ? "auto" : Math.max(1, Math.ceil(known / (4 * size)))),
      // Bounded as in imap: the adaptive chunksize needs finished chunks to grow
      // (unbounded, a 20k-item generator went out as 20k one-item chunks).
      buffersize: 4 * size,
      signal,
      check: call.check,
      room: (stop) => scheduler.waitForRoom(stop),
    },
  );
  return collect(stream, known).finally(() => lease.release());
}

/**
 * Streams an `imap` (`ordered`) or `imapUnordered`: nothing is pulled until
 * the first `next()`. The default chunksize is adaptive.
 *
 * @throws {PoolClosedError} after `close()` or `terminate()`.
 */
export function streamMap(
  scheduler: Scheduler,
  call: MapCall,
  options: { readonly ordered: boolean; readonly buffersize: number },
): AsyncIterableIterator<unknown> {
  scheduler.assertOpen();
  const { spec, star, signal, timeout } = call;
  const submit: SubmitChunk = (items, onOutcome, transfer) =>
    scheduler.submit({ spec, items, star, signal, timeout, transfer }, onOutcome);
  return new StreamIterator(
    () =>
      new ChunkStream(call.source, submit, {
        chunksize: call.chunksize ?? "auto",
        buffersize: options.buffersize,
        signal,
        check: call.check,
        room: (stop) => scheduler.waitForRoom(stop),
      }),
    { ordered: options.ordered, signal },
  );
}

/**
 * An AsyncResult of `start()` with the callbacks of `options`. Bad
 * callbacks, and whatever `start` throws, reject it (and reach a valid
 * `errorCallback`); nothing is submitted then. A callback that throws goes
 * to `onCallbackError`.
 */
export function asyncCall<R>(
  options: AsyncResultCallbacks<R>,
  start: () => Promise<R>,
  onCallbackError: (error: unknown) => void,
): AsyncResult<R> {
  const given = options !== null && typeof options === "object" ? options : {};
  const errorCallback = typeof given.errorCallback === "function" ? given.errorCallback : undefined;
  let callback: ((value: R) => void) | undefined;
  let promise: Promise<R>;
  try {
    callback = optionalFunction(given.callback, "callback");
    optionalFunction(given.errorCallback, "errorCallback");
    promise = start();
  } catch (error) {
    promise = Promise.reject(error);
  }
  return new AsyncResult(promise, { callback, errorCallback, onCallbackError });
}
