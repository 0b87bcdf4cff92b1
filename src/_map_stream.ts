/**
 * The engine behind `Group.map`, `Group.imap` and `Group.imapUnordered`:
 * pulls a source lazily, runs at most `limit` items at once as jobs, keeps
 * at most `buffersize` items started but not yet consumed, and on failure,
 * abort or early `break` aborts and awaits its running jobs and closes the
 * source.
 *
 * Where a failure (an item's, or the source's) surfaces depends on the kind:
 * - `map` fails at once: every running item is aborted.
 * - `imap` fails at the failed item's position: the results before it in
 *   input order are yielded first (items before it that still run may
 *   finish), items after it are aborted. A source error sits after the last
 *   item pulled.
 * - `imapUnordered` yields the results that had finished when the failure
 *   arrived, then fails; running items are aborted.
 *
 * @module
 */

import { abortJob, type Job, type JobFn } from "./job.ts";
import { isThenable } from "./_thenable.ts";
import { describe } from "./task.ts";
import { Condition } from "./_condition.ts";
import type { GroupMapOptions } from "./group_options.ts";
import { optionalInteger, optionalLimit, optionalSignal } from "./_validate.ts";

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

/** Which method runs the stream: how results come out and where a failure surfaces. */
export type MapKind = "map" | "imap" | "imapUnordered";

/** Settings of one map run (already checked). */
export interface MapStreamOptions {
  /** Items running at once. */
  limit: number;
  /** Items started and not yet consumed (running plus finished), at least `limit`. */
  buffersize: number;
  /** `map` and `imap` yield in input order, `imapUnordered` in completion order. */
  kind: MapKind;
  /** Aborting it stops the map at once, which then throws `signal.reason`. */
  signal: AbortSignal | undefined;
}

/** Concurrency of a map in a group that has no limit. */
const DEFAULT_MAP_LIMIT = 100;

/**
 * Checks the options of a group's map and fills in the defaults: `limit`
 * defaults to and is capped by the group's (100 in a group without a
 * limit), `buffersize` defaults to `2 * limit`.
 */
export function mapStreamOptions(
  kind: MapKind,
  groupLimit: number,
  options: GroupMapOptions,
): MapStreamOptions {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(
      `Argument options must be an object such as { limit: 4 }, got ${describe(options)}`,
    );
  }
  const defaultLimit = Number.isFinite(groupLimit) ? groupLimit : DEFAULT_MAP_LIMIT;
  const limit = Math.min(optionalLimit(options.limit, "options.limit") ?? defaultLimit, groupLimit);
  const buffersize = optionalInteger(options.buffersize, "options.buffersize") ?? 2 * limit;
  const signal = optionalSignal(options.signal, "options.signal");
  return { limit, buffersize, kind, signal };
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
  const { limit, buffersize, kind, signal } = options;
  const input = openSource(source);
  /** Unsettled jobs, by input index; includes the cancelled ones until they settle. */
  const running = new Map<Job<R>, number>();
  /** Jobs the map aborted itself: how they end does not count. */
  const cancelled = new Set<Job<R>>();
  const finished = new Map<number, R>(); // map, imap: by index; imapUnordered: by finish number
  let started = 0;
  let finishedCount = 0;
  let yielded = 0;
  /** open; stopped: must not be pulled again (return() still due); ended: exhausted or threw. */
  let sourceState: "open" | "stopped" | "ended" = "open";
  let pulling = false;
  /** The error, thrown once `at` results have been yielded. */
  let failure: { readonly error: unknown; readonly at: number } | undefined;
  let filling = false;
  /** Notified when an item settles, a pull ends or the map fails. */
  const changed = new Condition();

  /** How many results come out before a failure at input position `index`. */
  function failurePoint(index: number): number {
    if (kind === "imap") return index;
    if (kind === "imapUnordered") return yielded + finished.size;
    return yielded;
  }

  /** No more pulls; the source is still closed (`return()`) at the end. */
  function stopSource(): void {
    if (sourceState === "open") sourceState = "stopped";
  }

  /** Whether the source ended by itself (exhausted or threw): no `return()` is due. */
  function sourceEnded(): boolean {
    return sourceState === "ended";
  }

  function cancel(job: Job<R>, reason: unknown): void {
    cancelled.add(job);
    abortJob(job, reason);
  }

  /** The map fails with `error` after `at` results; items that could only come later are aborted. */
  function fail(error: unknown, at: number): void {
    if (failure && failure.at <= at) return;
    failure = { error, at };
    stopSource();
    for (const [job, index] of [...running]) {
      if (kind !== "imap" || index >= at) cancel(job, error);
    }
    changed.notify();
  }

  function onSettled(job: Job<R>, index: number): void {
    running.delete(job);
    if (cancelled.delete(job)) {
      // Aborted by the map: neither its value nor its error is wanted.
    } else if (job.successful()) {
      finished.set(kind === "imapUnordered" ? finishedCount++ : index, job.value as R);
    } else {
      fail(job.error, failurePoint(index));
    }
    changed.notify();
    fill();
  }

  function startItem(item: T): void {
    const index = started++;
    const job = spawnItem((jobSignal) => fn(item, jobSignal), (done) => onSettled(done, index));
    if (!job.ready()) running.set(job, index);
  }

  function onSourceError(error: unknown): void {
    sourceState = "ended";
    fail(error, failurePoint(started));
  }

  function canStart(): boolean {
    return sourceState === "open" && !pulling && running.size < limit &&
      started - yielded < buffersize;
  }

  function onPulled(result: IteratorResult<T>): void {
    pulling = false;
    if (result.done) sourceState = "ended";
    else if (sourceState === "open") startItem(result.value);
    changed.notify();
    fill();
  }

  function onPullError(error: unknown): void {
    pulling = false;
    onSourceError(error);
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
        if (result.done) sourceState = "ended";
        else startItem(result.value);
      }
    } catch (error) {
      onSourceError(error);
    } finally {
      filling = false;
    }
  }

  /** The next result to yield, if it is there and comes before the failure. */
  function takeNext(): { value: R } | undefined {
    if (failure && yielded >= failure.at) return undefined;
    const key = kind === "imapUnordered" ? finishedCount - finished.size : yielded;
    if (!finished.has(key)) return undefined;
    const value = finished.get(key) as R;
    finished.delete(key);
    yielded++;
    return { value };
  }

  function failed(): boolean {
    return failure !== undefined && yielded >= failure.at;
  }

  const onAbort = () => fail(signal!.reason, yielded);
  if (signal?.aborted) fail(signal.reason, yielded);
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    fill();
    while (true) {
      const next = takeNext();
      if (next) {
        yield next.value;
        fill();
        continue;
      }
      if (failed()) throw failure!.error;
      if (sourceState !== "open" && !pulling && running.size === 0) return;
      await changed.next();
    }
  } finally {
    signal?.removeEventListener("abort", onAbort);
    stopSource();
    const reason = failed() ? failure!.error : stoppedEarly();
    for (const job of [...running.keys()]) cancel(job, reason);
    await changed.until(() => running.size === 0 && !pulling);
    if (!sourceEnded()) await input.return?.();
  }
}
