/**
 * The engine behind `Group.map`, `Group.imap` and `Group.imapUnordered`:
 * pulls a source lazily, runs at most `limit` items at once as jobs, keeps
 * at most `buffersize` items started but not yet consumed, and on failure,
 * abort or early `break` aborts and awaits its running jobs and closes the
 * source.
 *
 * @module
 */

import { abortJob, type Job, type JobFn } from "./job.ts";
import { isThenable } from "./_thenable.ts";
import { Condition } from "./_condition.ts";

/**
 * The function a map applies to each item, with the item's job signal.
 *
 * @example
 * ```ts
 * import { Group, type MapFn } from "@multipool/multipool";
 * const double: MapFn<number, number> = async (x, signal) => {
 *   signal.throwIfAborted();
 *   return x * 2;
 * };
 * await using group = new Group();
 * console.log(await group.map(double, [1, 2])); // [2, 4]
 * ```
 */
export type MapFn<T, R> = (item: T, signal: AbortSignal) => R | PromiseLike<R>;

/** Starts a job in the owning group; `onSettled` runs once when it settles. */
export type SpawnItem = <R>(fn: JobFn<R>, onSettled: (job: Job<R>) => void) => Job<R>;

/** Settings of one map run (already checked). */
export interface MapStreamOptions {
  /** Items running at once. */
  limit: number;
  /** Items started and not yet consumed (running plus finished), at least `limit`. */
  buffersize: number;
  /** Yield in input order (`imap`) or in completion order (`imapUnordered`). */
  ordered: boolean;
  /** Aborting it stops the map, which then throws `signal.reason`. */
  signal: AbortSignal | undefined;
}

/** The reason running items are aborted with when the consumer stops early. */
function stoppedEarly(): DOMException {
  return new DOMException("Map was stopped before the end of its source", "AbortError");
}

/** Opens a sync or async iterator on `source`. */
function openSource<T>(source: Iterable<T> | AsyncIterable<T>): Iterator<T> | AsyncIterator<T> {
  const asyncOpen = (source as AsyncIterable<T>)[Symbol.asyncIterator];
  if (typeof asyncOpen === "function") return asyncOpen.call(source);
  return (source as Iterable<T>)[Symbol.iterator]();
}

/**
 * Runs `fn` over `source` through `spawnItem` and yields the results.
 * Invariant: items pulled from the source minus items yielded is at most
 * `buffersize`; items running is at most `limit`.
 */
export async function* mapStream<T, R>(
  spawnItem: SpawnItem,
  fn: MapFn<T, R>,
  source: Iterable<T> | AsyncIterable<T>,
  options: MapStreamOptions,
): AsyncGenerator<R, void, undefined> {
  const { limit, buffersize, ordered, signal } = options;
  const input = openSource(source);
  const running = new Set<Job<R>>();
  const finished = new Map<number, R>(); // ordered: by index; unordered: by finish number
  let started = 0;
  let finishedCount = 0;
  let yielded = 0;
  let pulling = false;
  let sourceDone = false; // exhausted, threw, or must not be pulled again
  let sourceClosed = false; // exhausted or threw: no return() needed
  let stopping = false; // the map itself aborted its jobs: their errors do not count
  let failed = false;
  let failure: unknown;
  let filling = false;
  /** Notified when an item settles, a pull ends or the map fails. */
  const changed = new Condition();

  function notify(): void {
    changed.notify();
  }

  function abortRunning(reason: unknown): void {
    stopping = true;
    for (const job of [...running]) abortJob(job, reason);
  }

  function fail(error: unknown): void {
    if (failed) return;
    failed = true;
    failure = error;
    sourceDone = true;
    abortRunning(error);
    notify();
  }

  function onSettled(job: Job<R>, index: number): void {
    running.delete(job);
    if (job.successful()) finished.set(ordered ? index : finishedCount++, job.value as R);
    else if (!stopping) fail(job.error);
    notify();
    fill();
  }

  function startItem(item: T): void {
    const index = started++;
    const job = spawnItem((jobSignal) => fn(item, jobSignal), (done) => onSettled(done, index));
    if (!job.ready()) running.add(job);
  }

  function canStart(): boolean {
    return !sourceDone && !pulling && running.size < limit &&
      started - yielded < buffersize;
  }

  function onPulled(result: IteratorResult<T>): void {
    pulling = false;
    if (result.done) {
      sourceDone = sourceClosed = true;
    } else if (!sourceDone) {
      startItem(result.value);
    }
    notify();
    fill();
  }

  function onPullError(error: unknown): void {
    pulling = false;
    sourceClosed = true;
    fail(error);
  }

  function fill(): void {
    if (filling) return;
    filling = true;
    try {
      while (canStart()) {
        const result = input.next();
        if (isThenable(result)) {
          pulling = true;
          Promise.resolve(result).then(onPulled, onPullError);
          return;
        }
        if (result.done) sourceDone = sourceClosed = true;
        else startItem(result.value);
      }
    } catch (error) {
      sourceClosed = true;
      fail(error);
    } finally {
      filling = false;
    }
  }

  function takeNext(): { value: R } | undefined {
    const key = ordered ? yielded : finishedCount - finished.size;
    if (!finished.has(key)) return undefined;
    const value = finished.get(key) as R;
    finished.delete(key);
    yielded++;
    return { value };
  }

  const onAbort = () => fail(signal!.reason);
  if (signal?.aborted) fail(signal.reason);
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    fill();
    while (true) {
      if (failed) throw failure;
      const next = takeNext();
      if (next) {
        yield next.value;
        fill();
        continue;
      }
      if (sourceDone && !pulling && running.size === 0) return;
      await changed.next();
    }
  } finally {
    signal?.removeEventListener("abort", onAbort);
    sourceDone = true;
    if (running.size > 0) abortRunning(failed ? failure : stoppedEarly());
    await changed.until(() => running.size === 0 && !pulling);
    if (!sourceClosed) await input.return?.();
  }
}
