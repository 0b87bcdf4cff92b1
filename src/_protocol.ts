/**
 * Message shapes between the main thread and pool workers. One
 * request/response protocol serves Pool and Process: the main thread sends
 * chunks (a task, a batch of arguments, a chunk id); the worker answers each
 * chunk with one message holding every result, or one error.
 *
 * @module
 */

import type { WasmAbi } from "./_wasm_call.ts";

/**
 * Where the code of a task lives, in a form that survives structured clone.
 *
 * @example
 * ```ts
 * import { taskModule, type TaskSpec } from "@multipool/multipool";
 * const tasks = taskModule<{ square(x: number): number }>("https://example.com/tasks.ts");
 * const spec: TaskSpec = tasks.square.spec;
 * console.log(spec.kind); // "module"
 * ```
 */
export type TaskSpec =
  | { readonly kind: "module"; readonly url: string; readonly name: string }
  | { readonly kind: "source"; readonly source: string; readonly name: string }
  | {
    readonly kind: "wasm";
    readonly key: string;
    readonly name: string;
    /** How arguments and result cross into WASM; omitted: the module's ABI section decides. */
    readonly abi?: WasmAbi;
  };

/**
 * The items of a chunk: one entry per call (the single argument, or the
 * argument tuple of a star chunk), or plain numbers packed in a
 * `Float64Array` (transferred, not cloned).
 */
export type ChunkItems = readonly unknown[] | Float64Array<ArrayBuffer>;

/** An error flattened for postMessage; `cause` nests the same shape. */
export interface ErrorData {
  name: string;
  message: string;
  stack?: string;
  cause?: ErrorData;
}

/**
 * A chunk to run, as it travels: a flat tuple, because structured clone of
 * a small array costs far less than of an object (the hot path of `apply`).
 * `task` is the number under which the task's spec was sent before (see the
 * `task` message); `items` holds one entry per call: the single argument, or
 * the argument tuple when `star` is 1. A chunk of plain numbers travels
 * packed (see {@linkcode packNumbers}).
 */
export type RunTuple = readonly [
  id: number,
  task: number,
  items: ChunkItems,
  star: 0 | 1,
];

/**
 * Several chunks of one task in one message (small calls coalesced):
 * `items[i]` are the items of chunk `ids[i]`. The worker runs the chunks of
 * one message, then those of the next: one message at a time.
 */
export type BatchTuple = readonly [
  ids: readonly number[],
  task: number,
  items: readonly ChunkItems[],
  star: 0 | 1,
];

/** A chunk's results, as they travel back: `[id, results]`. */
export type DoneTuple = readonly [id: number, results: unknown[] | Float64Array];

/** The results of several chunks in one message: `results[i]` are those of chunk `ids[i]`. */
export type BatchDoneTuple = readonly [
  ids: readonly number[],
  results: readonly (unknown[] | Float64Array)[],
];

/**
 * A call of one number, right after the last chunk sent to the same worker:
 * the bare number `n` stands for `[lastId + 1, lastTask, [[n]], lastStar]`
 * (`[n]` when not star). A number posts for a fraction of a JSON string,
 * and both sides know the rest: the worker keeps the last chunk it got.
 */
export type NextCall = number;

/**
 * The one result of the oldest chunk the worker holds that is not
 * answered yet, when it is a number (chunks are answered in the order
 * sent: see `_worker_runner.ts`).
 */
export type SoleResult = number;

/** Whether a message is a tuple (chunks to run, or chunks' results) rather than an object. */
export function isTuple<T extends readonly unknown[], O>(message: T | O): message is T {
  return Array.isArray(message);
}

/**
 * Main thread to worker: a {@linkcode RunTuple} or {@linkcode BatchTuple},
 * either as JSON text (small chunks of plain values: see
 * {@linkcode jsonSafe}), a {@linkcode NextCall}, or a control message.
 */
export type ToWorker =
  | RunTuple
  | string
  | NextCall
  | BatchTuple
  | {
    readonly type: "init";
    readonly initializer?: TaskSpec;
    readonly initArgs?: readonly unknown[];
  }
  /** Sent once per worker and task, before the first chunk that refers to it. */
  | { readonly type: "task"; readonly task: number; readonly spec: TaskSpec }
  | { readonly type: "wasm"; readonly key: string; readonly module: WebAssembly.Module }
  /**
   * After a message in which a chunk failed, the worker waits for this
   * before it starts the next message; it skips the chunks in `drop`.
   */
  | { readonly type: "resume"; readonly drop: readonly number[] }
  /** Skip these chunks if they have not started; the worker answers with `dropped`. */
  | { readonly type: "drop"; readonly ids: readonly number[] }
  /** End on your own, as a program that returns does: exit handlers run. */
  | { readonly type: "exit" };

/** A message from the main thread that is not chunks: `init`, `task`, `wasm`, `resume`, `drop`, `exit`. */
export type ControlMessage = Exclude<ToWorker, RunTuple | BatchTuple | string | NextCall>;

/** `message` when it is a control message, else `undefined` (chunks, as a tuple or as text). */
export function controlOf(message: ToWorker): ControlMessage | undefined {
  return typeof message === "object" && !Array.isArray(message)
    ? message as ControlMessage
    : undefined;
}

/**
 * Worker to main thread: a {@linkcode DoneTuple} or {@linkcode BatchDoneTuple}
 * (as a tuple or as JSON text), a {@linkcode SoleResult}, or a message object.
 */
export type FromWorker = DoneTuple | BatchDoneTuple | string | SoleResult | WorkerMessage;

/** Worker to main thread, other than results; "done" is what a {@linkcode DoneTuple} becomes on arrival. */
export type WorkerMessage =
  | { readonly type: "ready" }
  | { readonly type: "init-error"; readonly error: ErrorData }
  /** Chunks it was told to drop and skipped (never started). */
  | { readonly type: "dropped"; readonly ids: readonly number[] }
  | { readonly type: "done"; readonly id: number; readonly results: unknown[] | Float64Array }
  | {
    readonly type: "error";
    readonly id: number;
    /** The first item that failed. */
    readonly index: number;
    readonly error: ErrorData;
    /** Results of the items before `index`, when they could be sent. */
    readonly results?: unknown[] | Float64Array;
  }
  /**
   * The worker is going away on its own: `self.close()`, `Deno.exit()` /
   * `process.exit()` (with its `code`), an uncaught error or rejection, or
   * its heap limit was reached (`error` says which).
   */
  | {
    readonly type: "exit";
    readonly reason: "close" | "exit" | "uncaught" | "oom";
    readonly error?: ErrorData;
    readonly code?: number;
    /**
     * The chunks that had started and were not answered: the ones the
     * worker ends with. Other chunks it was sent never started.
     */
    readonly held?: readonly number[];
  };

/** Turns any thrown value into {@linkcode ErrorData}. */
export function toErrorData(value: unknown, depth = 0): ErrorData {
  if (value instanceof Error) {
    const data: ErrorData = { name: value.name, message: value.message };
    if (value.stack !== undefined) data.stack = value.stack;
    if (value.cause !== undefined && depth < 4) data.cause = toErrorData(value.cause, depth + 1);
    return data;
  }
  let message: string;
  try {
    message = typeof value === "string" ? value : JSON.stringify(value) ?? String(value);
  } catch {
    message = String(value);
  }
  return { name: "Error", message };
}

/** Below this many items, packing is not worth a loop. */
export const PACK_MIN = 16;

/**
 * Packs an array of plain numbers into a `Float64Array` (transferred, not
 * cloned: about 10x cheaper for big chunks); returns `undefined` when an
 * item is not a number or the array is short.
 */
export function packNumbers(values: readonly unknown[]): Float64Array<ArrayBuffer> | undefined {
  return values.length < PACK_MIN ? undefined : packRange(values, 0, values.length);
}

/**
 * Whether moving `view`'s buffer moves nothing else: false for a view into
 * part of a buffer (a decoder's pool, a subarray) or into shared memory.
 */
export function ownsBuffer(view: ArrayBufferView): boolean {
  const buffer = view.buffer;
  return buffer instanceof ArrayBuffer && view.byteOffset === 0 &&
    view.byteLength === buffer.byteLength;
}

/**
 * The index of the first item from `start` to `end` of `values` that is
 * not a number, or `end`. One small loop for every such scan (the check of
 * a map's array and the packing of its chunks), so it is optimized early.
 */
export function firstNonNumber(values: readonly unknown[], start: number, end: number): number {
  for (let i = start; i < end; i++) if (typeof values[i] !== "number") return i;
  return end;
}

/**
 * Items `start` to `end` of `values` packed in a `Float64Array` when they
 * are all plain numbers, else `undefined`.
 */
export function packRange(
  values: readonly unknown[],
  start: number,
  end: number,
): Float64Array<ArrayBuffer> | undefined {
  if (firstNonNumber(values, start, end) < end) return undefined;
  // set() from an array copies natively: about twice as fast as a loop that stores each item.
  const packed = new Float64Array(end - start);
  packed.set(values.slice(start, end) as number[]);
  return packed;
}

/**
 * Whether JSON keeps `value` exactly (finite numbers but -0, strings,
 * booleans, null, dense plain arrays and plain objects of those), within
 * `budget.left` nodes. Such small messages travel as JSON text: a string
 * costs a fraction of a structured clone of even a small array.
 */
export function jsonSafe(value: unknown, budget: { left: number }): boolean {
  if (--budget.left < 0) return false;
  switch (typeof value) {
    case "string":
    case "boolean":
      return true;
    case "number":
      return Number.isFinite(value) && !Object.is(value, -0);
    case "object": {
      if (value === null) return true;
      if (Array.isArray(value)) {
        if (Object.getPrototypeOf(value) !== Array.prototype) return false;
        for (let i = 0; i < value.length; i++) {
          if (!(i in value) || !jsonSafe(value[i], budget)) return false;
        }
        return true;
      }
      if (Object.getPrototypeOf(value) !== Object.prototype) return false;
      for (const key in value) {
        if (key === "__proto__" || !Object.hasOwn(value, key)) return false;
        if (!jsonSafe((value as Record<string, unknown>)[key], budget)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

/**
 * Most nodes of a value sent as JSON text (a chunk, an answer, a process
 * frame); a message of several chunks may hold this many per chunk.
 */
export const JSON_BUDGET = 64;
