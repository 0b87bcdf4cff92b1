/**
 * The runner inside a worker: runs one chunk at a time, in the order they
 * came (a chunk that returns a promise is awaited before the next starts,
 * as when each came alone), so that the host knows which chunks have
 * started. Answers of chunks that finish synchronously, one after another,
 * go back together in one message. After a message in which a chunk failed it waits for
 * the host's `resume`, which says which waiting chunks to skip (a map that
 * fails fast cancels the rest before they start).
 *
 * @module
 */

import type { BatchDoneTuple, ChunkItems, DoneTuple, FromWorker, TaskSpec } from "./_protocol.ts";
import { JSON_BUDGET, jsonSafe, toErrorData } from "./_protocol.ts";

/** Sends a message to the host, transferring `transfer`. */
export type Post = (message: FromWorker, transfer?: Transferable[]) => void;

/** A chunk to run, unpacked from its message. */
export interface RunMessage {
  readonly id: number;
  readonly task: TaskSpec;
  readonly items: ChunkItems;
  readonly star: boolean;
}

/** How a worker reports a failed chunk. */
export type ErrorReport = Extract<FromWorker, { type: "error" }>;

/** Where the answers of a message's chunks go. */
export interface Answer {
  /** Chunk `id` succeeded. */
  done(id: number, results: unknown[] | Float64Array, transfer: readonly Transferable[]): void;
  /** A chunk failed: `report` says which and how. */
  failed(report: ErrorReport, transfer?: Transferable[]): void;
}

/** Runs one chunk, answering through `answer` (at once or later). */
export type RunChunk = (chunk: RunMessage, answer: Answer) => void;

/**
 * The message being run, and the {@linkcode Answer} of its chunks (one
 * object per message, no closures: the hot path of `apply` is a message
 * of one chunk).
 */
class Current implements Answer {
  chunks: readonly RunMessage[];
  /** The next chunk to start. */
  next = 0;
  /**
   * The chunk started and not answered: one at most, because the next
   * starts only once it has answered.
   */
  running: number | undefined;
  /** Answers collected while chunks run synchronously, sent together after (made when needed). */
  ids: number[] | undefined;
  results: (unknown[] | Float64Array)[] | undefined;
  moved: Transferable[] | undefined;
  collecting = false;
  /** A chunk of it failed: the host is waited for before the next message. */
  anyFailed = false;
  readonly #post: Post;
  /** Called when the running chunk answered while not collecting. */
  readonly #settled: (current: Current) => void;

  constructor(chunks: readonly RunMessage[], post: Post, settled: (current: Current) => void) {
    this.chunks = chunks;
    this.#post = post;
    this.#settled = settled;
  }

  done(id: number, value: unknown[] | Float64Array, transfer: readonly Transferable[]): void {
    if (this.running !== id) return;
    if (this.collecting) {
      (this.ids ??= []).push(id);
      (this.results ??= []).push(value);
      if (transfer.length > 0) (this.moved ??= []).push(...transfer);
    } else {
      sendDone(this.#post, id, value, transfer);
    }
    this.#finished();
  }

  failed(report: ErrorReport, transfer?: Transferable[]): void {
    if (this.running !== report.id) return;
    this.anyFailed = true;
    postError(this.#post, report, transfer);
    this.#finished();
  }

  #finished(): void {
    this.running = undefined;
    if (!this.collecting) this.#settled(this);
  }

  /** Sends the answers collected so far, in one message. */
  flush(): void {
    const { ids, results } = this;
    if (ids === undefined || results === undefined) return;
    const moved = this.moved === undefined ? [] : [...new Set(this.moved)];
    this.ids = this.results = this.moved = undefined;
    if (ids.length === 1) sendDone(this.#post, ids[0], results[0], moved);
    else sendBatch(this.#post, ids, results, moved);
  }
}

/** See the module doc. */
export class Runner {
  readonly #post: Post;
  readonly #run: RunChunk;
  /** Messages received while another one runs (or while paused). */
  #backlog: RunMessage[][] = [];
  #state: "idle" | "busy" | "paused" | "halted" = "idle";
  #current: Current | undefined;
  readonly #settled = (current: Current) => this.#continue(current);

  constructor(post: Post, run: RunChunk) {
    this.#post = post;
    this.#run = run;
  }

  /** Runs the chunks of one message now, or once the messages before it are done. */
  receive(chunks: RunMessage[]): void {
    if (this.#state === "idle") this.#runMessage(chunks);
    else if (this.#state !== "halted") this.#backlog.push(chunks);
  }

  /** Goes on after a failed message, skipping the chunks in `drop`. */
  resume(drop: readonly number[]): void {
    if (drop.length > 0) {
      const skip = new Set(drop);
      this.#backlog = this.#backlog
        .map((chunks) => chunks.filter((chunk) => !skip.has(chunk.id)))
        .filter((chunks) => chunks.length > 0);
    }
    if (this.#state === "paused") this.#next(false);
  }

  /** Skips the chunks of `ids` that have not started, and tells the host which. */
  drop(ids: readonly number[]): void {
    const skip = new Set(ids);
    const dropped: number[] = [];
    const keep = (chunk: RunMessage) => {
      if (!skip.has(chunk.id)) return true;
      dropped.push(chunk.id);
      return false;
    };
    this.#backlog = this.#backlog.map((chunks) => chunks.filter(keep)).filter((c) => c.length > 0);
    const current = this.#current;
    if (current !== undefined) {
      const started = current.chunks.slice(0, current.next);
      current.chunks = [...started, ...current.chunks.slice(current.next).filter(keep)];
    }
    if (dropped.length > 0) this.#post({ type: "dropped", ids: dropped });
  }

  /**
   * Stops for good: sends the answers collected so far and returns the
   * chunks started and not answered.
   */
  halt(): number[] {
    this.#state = "halted";
    this.#backlog = [];
    const current = this.#current;
    if (current === undefined) return [];
    if (current.collecting) {
      current.collecting = false;
      current.flush();
    }
    return current.running === undefined ? [] : [current.running];
  }

  #runMessage(chunks: RunMessage[]): void {
    this.#state = "busy";
    const current = new Current(chunks, this.#post, this.#settled);
    this.#current = current;
    this.#continue(current);
  }

  /** Starts chunks until one does not answer at once, then sends the answers collected. */
  #continue(current: Current): void {
    if (this.#current !== current) return;
    current.collecting = true;
    while (current.next < current.chunks.length) {
      if (this.#isHalted()) return;
      const chunk = current.chunks[current.next++];
      current.running = chunk.id;
      this.#run(chunk, current);
      if (current.running !== undefined) break; // it answers later: wait for it
    }
    if (!current.collecting) return; // halted meanwhile
    current.collecting = false;
    current.flush();
    if (current.running === undefined && current.next >= current.chunks.length) this.#done(current);
  }

  /** Whether halt() was called (a task may call it, through close() or Deno.exit()). */
  #isHalted(): boolean {
    return this.#state === "halted";
  }

  #done(current: Current): void {
    if (this.#current !== current || this.#state === "halted") return;
    this.#current = undefined;
    this.#next(current.anyFailed);
  }

  /** A message is done: run the next one, or wait for the host after a failure. */
  #next(failed: boolean): void {
    if (failed) {
      this.#state = "paused";
      return;
    }
    const chunks = this.#backlog.shift();
    if (chunks === undefined) {
      this.#state = "idle";
      return;
    }
    // In a microtask of its own, as if it had come alone: what the last one queued runs first.
    this.#state = "busy";
    queueMicrotask(() => {
      if (this.#state === "busy") this.#runMessage(chunks);
    });
  }
}

/** Posts an error report; without the results before the failure when they cannot be sent. */
function postError(post: Post, report: ErrorReport, transfer?: Transferable[]): void {
  try {
    post(report, transfer);
  } catch {
    const { type, id, index, error } = report;
    post({ type, id, index, error });
  }
}

/** Sends the results of several chunks; if one cannot be sent, each goes alone. */
function sendBatch(
  post: Post,
  ids: number[],
  results: (unknown[] | Float64Array)[],
  transfer: Transferable[],
): void {
  try {
    postAnswer(post, [ids, results], { results, transfer, count: ids.length });
  } catch {
    for (let i = 0; i < ids.length; i++) {
      const value = results[i];
      const own = value instanceof Float64Array ? [value.buffer as ArrayBuffer] : buffersOf(value);
      sendDone(post, ids[i], value, own);
    }
  }
}

/**
 * Posts the answer of `count` chunks: with what it moves, if anything;
 * else, when its results are small plain values, as JSON text (a string
 * posts for a fraction of a clone); else as a clone.
 */
function postAnswer(
  post: Post,
  message: DoneTuple | BatchDoneTuple,
  answer: { results: unknown; transfer: readonly Transferable[]; count: number },
): void {
  if (answer.transfer.length > 0) post(message, [...answer.transfer]);
  else if (jsonSafe(answer.results, { left: JSON_BUDGET * answer.count })) {
    post(JSON.stringify(message));
  } else post(message);
}

/** Buffers of the typed arrays and buffers among `values`. */
export function buffersOf(values: readonly unknown[]): Transferable[] {
  let found: Set<ArrayBuffer> | undefined;
  for (const value of values) {
    let buffer: ArrayBufferLike | undefined;
    if (value instanceof ArrayBuffer) buffer = value;
    else if (ArrayBuffer.isView(value)) buffer = value.buffer;
    if (buffer instanceof ArrayBuffer) (found ??= new Set()).add(buffer);
  }
  return found === undefined ? [] : [...found];
}

function sendDone(
  post: Post,
  id: number,
  results: unknown[] | Float64Array,
  transfer: readonly Transferable[],
): void {
  try {
    if (transfer.length === 0 && results.length === 1 && typeof results[0] === "number") {
      // One number: it alone says it (the host takes it as the oldest chunk's, see SoleResult).
      post(results[0]);
    } else postAnswer(post, [id, results], { results, transfer, count: 1 });
  } catch (error) {
    const values = Array.from(results as ArrayLike<unknown>);
    const index = Math.max(0, values.findIndex((value) => !cloneable(value)));
    const reason = error instanceof Error ? error.message : String(error);
    const cloneError = new TypeError(
      `Result ${index} of the chunk could not be sent to the main thread: ${reason}`,
    );
    post({ type: "error", id, index, error: toErrorData(cloneError) });
  }
}

function cloneable(value: unknown): boolean {
  try {
    structuredClone(value);
    return true;
  } catch {
    return false;
  }
}
